//! The container and queue methods of manager proxies that CPython's
//! `_test_multiprocessing.py` checks (`_TestContainers.test_list` / `test_dict`,
//! `_TestQueue.test_put` / `test_task_done`): one round trip each, atomic on the
//! manager, also when several processes race.

use std::collections::HashMap;
use std::time::Duration;

use skein_process::{
    Connection, DictProxy, ListProxy, Manager, ManagerError, QueueProxy, StartMethod,
};

#[macro_use]
mod common;

skein_process::test_support!();

const LONG: Duration = Duration::from_secs(60);

matrix!(
    setdefault_racing_from_many_processes_stores_one_value,
    a_sort_never_undoes_pushes_from_another_process,
    manager_queue_join_waits_for_task_done_in_a_child,
);

fn manager(method: StartMethod) -> Manager {
    Manager::builder()
        .start_method(method)
        .start()
        .expect("manager")
}

// ---------------------------------------------------------------- dict

#[test]
fn dict_methods_follow_python() {
    // _TestContainers.test_dict: popitem is LIFO, setdefault, get with a default,
    // update from pairs, copy to a local dict.
    let m = manager(StartMethod::Fork);
    let d = m.dict::<String, i32>().unwrap();
    for (i, k) in ["b", "a", "c"].iter().enumerate() {
        d.set(&k.to_string(), &(i as i32)).unwrap();
    }
    // Replacing a value keeps the key's place, as in Python.
    d.set(&"b".into(), &10).unwrap();
    assert_eq!(d.keys().unwrap(), ["b", "a", "c"]);
    assert_eq!(d.items().unwrap()[0], ("b".to_string(), 10));
    assert_eq!(d.get_or(&"zz".into(), -1).unwrap(), -1);
    assert_eq!(d.get_or(&"a".into(), -1).unwrap(), 1);
    assert_eq!(d.setdefault(&"a".into(), &99).unwrap(), 1);
    assert_eq!(d.setdefault(&"d".into(), &4).unwrap(), 4);
    assert_eq!(d.get(&"d".into()).unwrap(), Some(4));
    let (k1, k2) = ("a".to_string(), "e".to_string());
    d.update_from([(&k1, &11), (&k2, &5)]).unwrap();
    let copy: HashMap<String, i32> = d.copy().unwrap();
    let want: HashMap<String, i32> = [("b", 10), ("a", 11), ("c", 2), ("d", 4), ("e", 5)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(copy, want);
    // The copy is local: changing the dict afterwards does not change it.
    d.set(&"b".into(), &0).unwrap();
    assert_eq!(copy["b"], 10);
    // popitem: last inserted first ("e", then "d" from setdefault, then "c", …).
    assert_eq!(d.popitem().unwrap(), ("e".to_string(), 5));
    assert_eq!(d.popitem().unwrap(), ("d".to_string(), 4));
    assert_eq!(d.popitem().unwrap(), ("c".to_string(), 2));
    assert_eq!(d.popitem().unwrap(), ("a".to_string(), 11));
    assert_eq!(d.popitem().unwrap(), ("b".to_string(), 0));
    // Python: KeyError('popitem(): dictionary is empty').
    assert!(matches!(d.popitem(), Err(ManagerError::Empty)));
    // A removed key inserted again goes last.
    d.update_from([(&k1, &1), (&k2, &2)]).unwrap();
    d.remove(&k1).unwrap();
    d.set(&k1, &3).unwrap();
    assert_eq!(d.popitem().unwrap(), (k1, 3));
}

fn claim((d, key, value, got): (DictProxy<String, i32>, String, i32, ListProxy<i32>)) {
    got.push(&d.setdefault(&key, &value).unwrap()).unwrap();
}

fn setdefault_racing_from_many_processes_stores_one_value(method: StartMethod) {
    let m = manager(method);
    let d = m.dict::<String, i32>().unwrap();
    let got = m.list::<i32>().unwrap();
    let kids: Vec<_> = (0..4)
        .map(|i| {
            common::start(
                method,
                claim,
                (d.clone(), "winner".to_string(), i, got.clone()),
            )
        })
        .collect();
    for k in kids {
        assert_eq!(k.join().unwrap(), 0);
    }
    let got = got.to_vec().unwrap();
    assert_eq!(got.len(), 4);
    let stored = d.get(&"winner".into()).unwrap().unwrap();
    assert!(got.iter().all(|&g| g == stored), "{got:?} vs {stored}");
    assert_eq!(d.len().unwrap(), 1);
}

// ---------------------------------------------------------------- list

#[test]
fn list_methods_follow_python() {
    // _TestContainers.test_list: count, index, remove, reverse, sort, slices.
    let m = manager(StartMethod::Fork);
    let l = m.list::<i32>().unwrap();
    l.extend(&[3, 1, 4, 1, 5, 9, 2, 6]).unwrap();
    assert_eq!(l.len().unwrap(), 8);
    assert_eq!(l.count(&1).unwrap(), 2);
    assert_eq!(l.count(&7).unwrap(), 0);
    assert_eq!(l.index(&1).unwrap(), 1);
    assert_eq!(l.index_in(&1, 2..).unwrap(), 3);
    assert_eq!(l.index_in(&6, -1..).unwrap(), 7);
    // Python: ValueError: 7 is not in list; 3 is not in l[1:].
    assert!(matches!(l.index(&7), Err(ManagerError::NotInList)));
    assert!(matches!(l.index_in(&3, 1..), Err(ManagerError::NotInList)));
    // Slices: l[2:5], l[-2:], l[:2], l[-3:2] (empty), l[-100:100] (clamped).
    assert_eq!(l.get_range(2..5).unwrap(), [4, 1, 5]);
    assert_eq!(l.get_range(-2..).unwrap(), [2, 6]);
    assert_eq!(l.get_range(..2).unwrap(), [3, 1]);
    assert_eq!(l.get_range(..=-1).unwrap().len(), 8);
    // l[-3:2] on 8 items is l[5:2]: empty.
    assert!(l.get_range(-3..2).unwrap().is_empty());
    assert_eq!(l.get_range(-100..100).unwrap().len(), 8);
    l.remove(&1).unwrap();
    assert_eq!(l.to_vec().unwrap(), [3, 4, 1, 5, 9, 2, 6]);
    assert!(matches!(l.remove(&7), Err(ManagerError::NotInList)));
    l.reverse().unwrap();
    assert_eq!(l.to_vec().unwrap(), [6, 2, 9, 5, 1, 4, 3]);
    l.sort().unwrap();
    assert_eq!(l.to_vec().unwrap(), [1, 2, 3, 4, 5, 6, 9]);
    l.sort_by(|a, b| b.cmp(a)).unwrap();
    assert_eq!(l.to_vec().unwrap(), [9, 6, 5, 4, 3, 2, 1]);
    // l[1:3] = [7]: shrinks; l[0:0] = [0, 0]: inserts; del l[-2:].
    l.set_range(1..3, &[7]).unwrap();
    assert_eq!(l.to_vec().unwrap(), [9, 7, 4, 3, 2, 1]);
    l.set_range(0..0, &[0, 0]).unwrap();
    assert_eq!(l.to_vec().unwrap(), [0, 0, 9, 7, 4, 3, 2, 1]);
    l.delete_range(-2..).unwrap();
    assert_eq!(l.to_vec().unwrap(), [0, 0, 9, 7, 4, 3]);
    l.delete_range(1..=2).unwrap();
    assert_eq!(l.to_vec().unwrap(), [0, 7, 4, 3]);
    l.clear().unwrap();
    assert_eq!(l.len().unwrap(), 0);
    // Sorting strings: T: Ord of the proxy's type, not of the stored bytes.
    let s = m.list::<String>().unwrap();
    s.extend(&["pear".into(), "fig".into(), "apple".into()])
        .unwrap();
    s.sort().unwrap();
    assert_eq!(s.to_vec().unwrap(), ["apple", "fig", "pear"]);
}

fn push_many((l, n): (ListProxy<u32>, u32)) {
    for i in 0..n {
        l.push(&(1000 + i)).unwrap();
    }
}

fn a_sort_never_undoes_pushes_from_another_process(method: StartMethod) {
    let m = manager(method);
    let l = m.list::<u32>().unwrap();
    l.extend(&[5, 3, 1]).unwrap();
    let n = 300;
    let k = common::start(method, push_many, (l.clone(), n));
    // Sort while the child pushes, until it is done and once more after.
    loop {
        l.sort_by(|a, b| b.cmp(a)).unwrap();
        if k.is_alive() {
            continue;
        }
        l.sort_by(|a, b| b.cmp(a)).unwrap();
        break;
    }
    assert_eq!(k.join().unwrap(), 0);
    let v = l.to_vec().unwrap();
    assert_eq!(v.len(), 3 + n as usize, "a sort dropped a concurrent push");
    assert!(v.windows(2).all(|w| w[0] >= w[1]));
}

// ---------------------------------------------------------------- queue

#[test]
fn queue_full_and_maxsize_follow_python() {
    // _TestQueue.test_put: full() after maxsize puts, maxsize attribute.
    let m = manager(StartMethod::Fork);
    let q = m.queue_bounded::<u8>(2).unwrap();
    assert_eq!(q.maxsize().unwrap(), 2);
    assert!(!q.is_full().unwrap());
    q.put(1).unwrap();
    assert!(!q.is_full().unwrap());
    q.put(2).unwrap();
    assert!(q.is_full().unwrap());
    assert!(q.try_put(3).unwrap_err().is_full());
    q.get().unwrap();
    assert!(!q.is_full().unwrap());
    let u = m.queue::<u8>().unwrap();
    assert_eq!(u.maxsize().unwrap(), 0);
    for i in 0..100 {
        u.put(i).unwrap();
    }
    assert!(!u.is_full().unwrap(), "an unbounded queue is never full");
    // A named lookup sees the capacity it was made with.
    let named = m.queue_named::<u8>("jobs", 7).unwrap();
    assert_eq!(named.maxsize().unwrap(), 7);
    assert_eq!(
        m.queue_named::<u8>("jobs", 1).unwrap().maxsize().unwrap(),
        7
    );
}

#[test]
fn task_done_counts_items_and_join_returns_at_zero() {
    let m = manager(StartMethod::Fork);
    let q = m.queue::<u8>().unwrap();
    // Nothing put: join returns at once; task_done is Python's ValueError.
    q.join().unwrap();
    assert!(matches!(q.task_done(), Err(ManagerError::TooManyTaskDone)));
    q.put(1).unwrap();
    q.put(2).unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    q.join().unwrap();
    assert!(matches!(q.task_done(), Err(ManagerError::TooManyTaskDone)));
}

fn worker((q, report, go): (QueueProxy<u32>, Connection, Connection)) {
    let mut sum = 0;
    for _ in 0..3 {
        sum += q.get().unwrap();
    }
    report.send(&sum).unwrap();
    // Wait for the parent's go before marking the tasks done.
    let () = go.recv().unwrap();
    for _ in 0..3 {
        q.task_done().unwrap();
    }
}

fn manager_queue_join_waits_for_task_done_in_a_child(method: StartMethod) {
    // _TestQueue.test_task_done through a manager queue (Python's
    // `m.JoinableQueue()`): join returns only once every item is marked done.
    let m = manager(method);
    let q = m.queue::<u32>().unwrap();
    let (report_here, report_there) = skein_process::pipe(true).unwrap();
    let (go_here, go_there) = skein_process::pipe(true).unwrap();
    let k = common::start(method, worker, (q.clone(), report_there, go_there));
    for i in 1..=3 {
        q.put(i).unwrap();
    }
    // The child has taken all three items but marked none done.
    assert_eq!(report_here.recv_timeout::<u32>(LONG).unwrap(), 6);
    assert!(q.is_empty().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = {
        let q = q.clone();
        std::thread::spawn(move || {
            q.join().unwrap();
            tx.send(()).unwrap();
        })
    };
    assert!(
        rx.try_recv().is_err(),
        "join returned with three tasks unfinished"
    );
    go_here.send(&()).unwrap();
    rx.recv_timeout(LONG)
        .expect("join returns after the tasks are done");
    waiter.join().unwrap();
    assert_eq!(k.join().unwrap(), 0);
    assert!(matches!(q.task_done(), Err(ManagerError::TooManyTaskDone)));
}
