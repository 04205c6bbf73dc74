//! `Array('i', 10)` filled by ten processes, each writing its own slot.
//!
//! Seed: 000 (数据共享: li = Array('i', 10); li[num] = num)
//! Example: 000 § 数据共享 — li = Array('i', 10)
//!
//! Memory is not shared between processes — except what is put in shared memory on
//! purpose. Each child sets `li[num] = num` and prints the whole array; the parent
//! prints the final state. (The notes' parent does not join and prints "主进程结束" first;
//! here it joins so the final array can be shown.)

use skein_process::{Array, Process};

fn task((num, li): (usize, Array<i32>)) {
    li.set(num, num as i32).unwrap();
    println!("process {num}: {:?}", li.to_vec());
}

fn main() {
    skein_process::init();
    let li = Array::<i32>::new(10).expect("shared memory"); // Array('i', 10)
    let children: Vec<_> = (0..10)
        .map(|i| Process::new(task, (i, li.clone())).start().expect("start"))
        .collect();
    for c in children {
        c.join().expect("join");
    }
    println!(
        "主进程结束！！！ (main process done) final: {:?}",
        li.to_vec()
    );
}
