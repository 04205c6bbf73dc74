//! Producer/consumer: a downloader thread fills a queue, an analyser thread empties it.
//! Seed: 003 (download_from_web / analysis_data 通过队列通讯)
//! Example: 003 § 【多进程通讯】 — def download_from_web(q):
//! Time bound: 10 s
//!
//! Seed 003 passes a queue between a "downloader" that puts 11, 22, 33, 44 and an
//! "analyser" that collects them. The notes stop the analyser with `if q.empty(): break`,
//! which races with the producer (the queue can be empty just because the producer is
//! slow). Here the producer says "no more" with `shutdown()`, and the consumer's
//! `for data in &q` ends exactly when everything was taken. A second part runs two
//! producers and two consumers over a bounded queue of 2, so puts really block.

use std::thread;
use std::time::Duration;

use skein_queue::Queue;

fn download_from_web(q: &Queue<i32>) {
    for data in [11, 22, 33, 44] {
        q.put(data).unwrap();
        thread::sleep(Duration::from_millis(20)); // a slow network
    }
    println!("--downloader: all data is in the queue--");
    q.shutdown();
}

fn analysis_data(q: &Queue<i32>) -> Vec<i32> {
    let mut waiting_analysis_data = Vec::new();
    for data in q {
        waiting_analysis_data.push(data);
    }
    waiting_analysis_data
}

fn main() {
    println!("== one producer, one consumer (seed 003) ==");
    let q = Queue::unbounded();
    let (p, c) = (q.clone(), q.clone());
    let downloader = thread::spawn(move || download_from_web(&p));
    let analyser = thread::spawn(move || analysis_data(&c));
    downloader.join().unwrap();
    println!("analyser got {:?}", analyser.join().unwrap());

    println!("\n== two producers, two consumers, Queue(2) ==");
    let q = Queue::new(2);
    let producers: Vec<_> = (0..2)
        .map(|id| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..5 {
                    q.put(format!("P{id}-item{i}")).unwrap();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|id| {
            let q = q.clone();
            thread::spawn(move || {
                let got: Vec<String> = q.iter().collect();
                println!(
                    "consumer C{id} took {} items: {}",
                    got.len(),
                    got.join(", ")
                );
                got.len()
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    q.shutdown();
    let total: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    println!("total taken: {total} (10 put, none lost)");
}
