//! Shared memory across processes: `SharedMemory`, `Value`, `Array` and their raw forms.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{eventually, fork, shm_exists, wait};
use skein_process::{Array, Event, RawArray, RawValue, SharedMemory, Value};

#[test]
fn shared_memory_is_private_unguessable_and_unlinked_by_the_last_drop() {
    let _serial = common::serial();
    let shm = SharedMemory::create(100).unwrap();
    let name = shm.name().to_owned();
    assert!(
        name.starts_with("/skein-") && name.len() == "/skein-".len() + 32,
        "{name}"
    );
    let meta = std::fs::metadata(format!("/dev/shm{name}")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(shm.size(), 100);
    assert_ne!(SharedMemory::create(100).unwrap().name(), name);
    drop(shm);
    assert!(eventually(Duration::from_secs(10), || !shm_exists(&name)));
    assert!(SharedMemory::attach(&name).unwrap_err().is_not_found());
}

#[test]
fn attach_by_name_from_another_process() {
    let _serial = common::serial();
    let shm = SharedMemory::create(4096).unwrap();
    shm.write(0, b"from parent").unwrap();
    let name = shm.name().to_owned();
    let child = fork(move || {
        let other = SharedMemory::attach(&name).unwrap();
        let mut buf = [0u8; 11];
        other.read(0, &mut buf).unwrap();
        assert_eq!(&buf, b"from parent");
        other.write(100, b"from child").unwrap();
        0
    });
    assert_eq!(wait(child), 0);
    let mut buf = [0u8; 10];
    shm.read(100, &mut buf).unwrap();
    assert_eq!(&buf, b"from child");
    assert!(shm.write(4090, b"too long").is_err());
}

#[test]
fn the_name_stays_while_any_handle_maps_it() {
    let _serial = common::serial();
    let creator = SharedMemory::create(64).unwrap();
    let name = creator.name().to_owned();
    let attached = SharedMemory::attach(&name).unwrap();
    drop(creator);
    assert!(
        shm_exists(&name),
        "unlinked while another handle still maps it"
    );
    let again = SharedMemory::attach(&name).unwrap();
    drop(attached);
    assert!(shm_exists(&name));
    drop(again); // the last one unlinks (or, if a child forked meanwhile by another test
    // inherited the handles, the janitor does as soon as that child exits)
    assert!(eventually(Duration::from_secs(10), || !shm_exists(&name)));
}

#[test]
fn the_name_survives_its_creator_while_a_child_maps_it() {
    let _serial = common::serial();
    let shm = SharedMemory::create(64).unwrap();
    let name = shm.name().to_owned();
    let attached = Event::new().unwrap();
    let creator_gone = Event::new().unwrap();
    let (a, c) = (attached.clone(), creator_gone.clone());
    let n = name.clone();
    let child = fork(move || {
        let mine = SharedMemory::attach(&n).unwrap();
        a.set();
        c.wait();
        // The creator dropped its handle: the name must still be attachable.
        let again = SharedMemory::attach(&n).unwrap();
        again.write(0, b"ok").unwrap();
        drop((again, mine));
        0
    });
    attached.wait();
    drop(shm);
    assert!(shm_exists(&name), "unlinked while the child still maps it");
    creator_gone.set();
    assert_eq!(wait(child), 0);
    // The forked child also inherited the creator's handle without dropping it, so the
    // name goes when this test binary's process tree ends (the janitor unlinks it).
}

#[test]
fn array_i_10_filled_by_ten_processes() {
    let _serial = common::serial();
    let li = Array::<i32>::new(10).unwrap();
    let children: Vec<_> = (0..10)
        .map(|i| {
            let li = li.clone();
            fork(move || {
                li.set(i, i as i32).unwrap();
                0
            })
        })
        .collect();
    for c in children {
        assert_eq!(wait(c), 0);
    }
    assert_eq!(li.to_vec(), (0..10).collect::<Vec<i32>>());
    assert!(li.get(10).is_none());
    assert!(li.set(10, 1).is_err());
}

#[test]
fn value_counter_with_its_lock_loses_nothing() {
    let _serial = common::serial();
    const CHILDREN: usize = 4;
    const EACH: i64 = 2000;
    let counter = Value::new(0i64).unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            let counter = counter.clone();
            fork(move || {
                for _ in 0..EACH {
                    *counter.lock().unwrap() += 1;
                }
                0
            })
        })
        .collect();
    for c in children {
        assert_eq!(wait(c), 0);
    }
    assert_eq!(counter.get(), CHILDREN as i64 * EACH);
}

#[test]
fn raw_value_and_raw_array_are_shared_without_a_lock() {
    let _serial = common::serial();
    let v = RawValue::new(0u64).unwrap();
    let a = RawArray::<f64>::new(3).unwrap();
    let (v2, a2) = (v.clone(), a.clone());
    let child = fork(move || {
        v2.set(42);
        a2.set(2, 2.5).unwrap();
        0
    });
    assert_eq!(wait(child), 0);
    assert_eq!(v.get(), 42);
    assert_eq!(a.to_vec(), [0.0, 0.0, 2.5]);
    assert_eq!(a.get(3), None);
}

#[test]
fn value_lock_reports_owner_died() {
    let _serial = common::serial();
    let v = Value::new(7u32).unwrap();
    let v2 = v.clone();
    let child = fork(move || {
        let mut g = v2.lock().unwrap();
        *g = 8;
        std::mem::forget(g);
        0 // exits holding the lock
    });
    assert_eq!(wait(child), 0);
    let g = v.lock().expect_err("the holder died").into_inner();
    assert_eq!(*g, 8);
    drop(g);
    assert!(
        v.lock().is_ok(),
        "clean again once the taken-over guard is dropped"
    );
}

/// Python's `test_shared_memory_basics` / `test_invalid_shared_memory_creation`: a
/// zero size is refused; attaching by a name nobody created, or one with a NUL in it,
/// is a clear error (no panic); an attached handle sees the creator's size and bytes;
/// `Debug` shows name and size (Python's repr).
#[test]
fn bad_sizes_and_names_are_clear_errors_and_attach_sees_the_same_segment() {
    let _serial = common::serial();
    assert!(SharedMemory::create(0).is_err());
    assert!(
        SharedMemory::attach("/skein-not-there-at-all")
            .unwrap_err()
            .is_not_found()
    );
    let shm = SharedMemory::create(512).unwrap();
    let with_nul = format!("{}\0a", shm.name());
    assert!(SharedMemory::attach(&with_nul).is_err());
    shm.write(0, &[42]).unwrap();
    let also = SharedMemory::attach(shm.name()).unwrap();
    assert_eq!(also.size(), 512);
    let mut b = [0u8];
    also.read(0, &mut b).unwrap();
    assert_eq!(b, [42]);
    let dbg = format!("{shm:?}");
    assert!(dbg.contains(shm.name()) && dbg.contains("512"), "{dbg}");
}
