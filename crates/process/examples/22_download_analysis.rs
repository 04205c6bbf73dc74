//! A downloader process and an analysis process connected by a queue.
//!
//! Seed: 003 (download_from_web / analysis_data over multiprocessing.Queue)
//! Example: 003 § 【多进程通讯】 — def download_from_web(q):
//!
//! The notes' analysis loop breaks when `q.empty()` — a race: the queue can be empty
//! just because the downloader is slow. Here the downloader shuts the queue down when it
//! is done (`shutdown(false)`), and the analyser reads until `get` reports the shutdown,
//! having drained everything first.

use skein_process::{Process, Queue};

fn download_from_web(q: Queue<i32>) {
    let data = [11, 22, 33, 44];
    for temp in data {
        q.put(temp).unwrap();
    }
    println!("--下载器已经下载完了数据并且存入到队列中-- (downloaded, all in the queue)");
    q.shutdown(false);
}

fn analysis_data(q: Queue<i32>) {
    let mut waiting_analysis_data = Vec::new();
    while let Ok(data) = q.get() {
        waiting_analysis_data.push(data);
    }
    println!("analysis got {waiting_analysis_data:?}");
}

fn main() {
    skein_process::init();
    let q = Queue::new().expect("shared memory");
    let p1 = Process::new(download_from_web, q.clone())
        .start()
        .expect("start");
    let p2 = Process::new(analysis_data, q).start().expect("start");
    p1.join().expect("join");
    p2.join().expect("join");
}
