//! `Array('i', 10)` filled by ten processes, each writing its own slot.
//!
//! Seed: 000 (数据共享: li = Array('i', 10); li[num] = num)
//! Example: 000 § 数据共享 — li = Array('i', 10)
//!
//! Memory is not shared between processes — except what is put in shared memory on
//! purpose. As in the notes, each child sleeps a moment, sets `li[num] = num` and prints
//! the whole array as it sees it, and the parent starts all ten without joining and prints
//! "主进程结束！！！" — first, since the children are still asleep. The notes' program ends
//! there (the exit waits for the children); here the parent then joins them, to show
//! that every slot was written.

use skein_process::{Array, Process};

fn task((num, li): (usize, Array<i32>)) {
    std::thread::sleep(std::time::Duration::from_millis(100)); // time.sleep(1)
    li.set(num, num as i32).unwrap();
    println!("process {num}: {:?}", li.to_vec());
}

fn main() {
    skein_process::init();
    let li = Array::<i32>::new(10).expect("shared memory"); // Array('i', 10)
    let children: Vec<_> = (0..10)
        .map(|i| Process::new(task, (i, li.clone())).start().expect("start"))
        .collect();
    // p.join() is commented out in the notes: main goes on at once.
    println!("主进程结束！！！ (main is done; the children are still sleeping)");
    for c in children {
        c.join().expect("join");
    }
    println!("after joining them: {:?}", li.to_vec());
}
