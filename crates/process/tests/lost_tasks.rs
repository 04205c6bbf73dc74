//! A `JoinableQueue` survives a consumer killed between `get` and `task_done`
//! (issue 17, item 5): `join` reports the lost tasks with the dead pid, or counts them
//! done — never a silent hang.

mod common;

skein_process::test_support!();

use std::time::Duration;

use common::{METHODS, start};
use skein_process::queue::OnLostTasks;
use skein_process::{Event, JoinableQueue};

/// Takes `take` items, marks the first done, reports, and hangs holding the rest.
fn take_and_hang((q, take, ready): (JoinableQueue<u32>, usize, Event)) {
    for i in 0..take {
        q.get().unwrap();
        if i == 0 {
            q.task_done().unwrap();
        }
    }
    ready.set();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn join_reports_the_tasks_of_a_consumer_killed_before_task_done() {
    for method in METHODS {
        let q = JoinableQueue::new().unwrap();
        for i in 0..4 {
            q.put(i).unwrap();
        }
        let ready = Event::new().unwrap();
        let k = start(method, take_and_hang, (q.clone(), 3, ready.clone()));
        assert!(ready.wait_timeout(Duration::from_secs(60)));
        let pid = k.pid() as u32;
        k.kill().unwrap();
        assert_eq!(k.join().unwrap(), -9);
        // Two tasks died with the consumer, one is still queued.
        assert_eq!(q.unfinished_tasks(), 3);
        // `join` has no timeout: bound it from outside.
        let (tx, rx) = std::sync::mpsc::channel();
        let q2 = q.clone();
        std::thread::spawn(move || {
            let _ = tx.send(q2.join());
        });
        let lost = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{method:?}: join() hung on a dead consumer's tasks"))
            .unwrap_err();
        assert_eq!(lost.count(), 2, "{method:?}: {lost}");
        assert_eq!(lost.holders(), [(pid, 2)], "{method:?}");
        assert!(lost.to_string().contains(&pid.to_string()));
        // Written off: the next join waits only for the queued one.
        assert_eq!(q.unfinished_tasks(), 1);
        assert_eq!(q.join_timeout(Duration::from_millis(20)), Ok(false));
        assert_eq!(q.get().unwrap(), 3);
        q.task_done().unwrap();
        assert_eq!(q.join_timeout(Duration::from_secs(30)), Ok(true));
    }
}

#[test]
fn join_timeout_counts_a_dead_consumers_tasks_done_when_asked_to() {
    for method in METHODS {
        let q = JoinableQueue::new().unwrap();
        q.on_lost_tasks(OnLostTasks::CountDone);
        q.put(1).unwrap();
        q.put(2).unwrap();
        let ready = Event::new().unwrap();
        let k = start(method, take_and_hang, (q.clone(), 2, ready.clone()));
        assert!(ready.wait_timeout(Duration::from_secs(60)));
        k.kill().unwrap();
        k.join().unwrap();
        assert_eq!(
            q.join_timeout(Duration::from_secs(30)),
            Ok(true),
            "{method:?}: the dead consumer's task counts as done"
        );
        assert_eq!(q.unfinished_tasks(), 0);
    }
}

fn work_and_finish(q: JoinableQueue<u32>) {
    while let Ok(v) = q.get() {
        q.task_done().unwrap();
        if v == u32::MAX {
            break;
        }
    }
}

#[test]
fn live_consumers_never_count_as_lost() {
    let q = JoinableQueue::bounded(4).unwrap();
    let kids: Vec<_> = (0..3)
        .map(|_| start(skein_process::StartMethod::Fork, work_and_finish, q.clone()))
        .collect();
    for i in 0..200 {
        q.put(i).unwrap();
    }
    for _ in 0..3 {
        q.put(u32::MAX).unwrap();
    }
    assert_eq!(q.join_timeout(Duration::from_secs(60)), Ok(true));
    for k in kids {
        assert_eq!(k.join().unwrap(), 0);
    }
    assert!(q.task_done().is_err());
}
