//! `Value`/`Array` built with a lock the caller provides and shares (Python's
//! `Value(..., lock=lock)`, `get_lock()`, `get_obj()`; issue 17, item 6).

mod common;

skein_process::test_support!();

use skein_process::{Array, Lock, Value};

// ---- Value/Array built with a lock the caller provides: `Value(..., lock=lock)` ----

fn bump_through_the_shared_lock((lock, v, a, via_lock): (Lock, Value<u64>, Array<u64>, bool)) {
    for _ in 0..300 {
        if via_lock {
            // Raw cells under the shared lock: `with lock: v.get_obj().value += 1`.
            let _g = lock.lock().unwrap();
            let (rv, ra) = (v.get_obj(), a.get_obj());
            rv.set(rv.get() + 1);
            ra.set(1, ra.get(1).unwrap() + 1).unwrap();
        } else {
            // The value's and array's own guards: they take the same lock.
            *v.lock().unwrap() += 1;
            a.lock().unwrap()[1] += 1;
        }
    }
}

#[test]
fn values_and_arrays_share_a_lock_the_caller_provides_under_every_start_method() {
    for method in common::METHODS {
        let lock = Lock::new().unwrap();
        let v = Value::with_lock(0u64, lock.clone()).unwrap();
        let a = Array::<u64>::with_lock(3, lock.clone()).unwrap();
        let b = Array::from_slice_with_lock(&[5u8, 6], lock.clone()).unwrap();
        {
            let _held = lock.lock().unwrap();
            assert!(v.get_lock().locked() && a.get_lock().locked() && b.get_lock().locked());
        }
        assert!(!v.get_lock().locked());
        let kids: Vec<_> = [true, false, true]
            .into_iter()
            .map(|via_lock| {
                common::start(
                    method,
                    bump_through_the_shared_lock,
                    (lock.clone(), v.clone(), a.clone(), via_lock),
                )
            })
            .collect();
        for k in kids {
            assert_eq!(k.join().unwrap(), 0, "{method:?}");
        }
        assert_eq!(v.get(), 900, "{method:?}: no update lost");
        assert_eq!(a.to_vec(), [0, 900, 0], "{method:?}");
        assert_eq!(b.get_obj().to_vec(), [5, 6]);
    }
    // Without a lock given, get_lock() is the value's own lock.
    let own = Value::new(1i32).unwrap();
    let g = own.lock().unwrap();
    assert!(own.get_lock().locked());
    drop(g);
    assert!(!own.get_lock().locked());
    assert_eq!(own.get_obj().get(), 1);
}

// ---- Python's _TestValue / _TestArray: typed cells changed by a child ----

type Cells = (
    Value<i32>,
    Value<f64>,
    Value<i16>,
    Value<i64>,
    Value<u8>,
    skein_process::RawValue<i32>,
    Array<i32>,
);

fn change_every_cell((i, d, h, q, c, raw, arr): Cells) {
    i.set(24234);
    d.set(-4.25);
    h.set(234);
    q.set(1 << 34);
    c.set(b'y');
    raw.set(7);
    // The child's prefix sums, under the array's lock.
    let mut seq = arr.lock().unwrap();
    for k in 1..seq.len() {
        seq[k] += seq[k - 1];
    }
}

#[test]
fn values_of_each_type_and_an_array_are_changed_by_a_child_under_every_start_method() {
    let seq = [680, 626, 934, 821, 150, 233, 548, 982, 714, 831];
    let mut want = seq;
    for k in 1..want.len() {
        want[k] += want[k - 1];
    }
    for method in common::METHODS {
        let cells: Cells = (
            Value::new(4343).unwrap(),
            Value::new(3.625).unwrap(),
            Value::new(-232).unwrap(),
            Value::new(1 << 33).unwrap(),
            Value::new(b'x').unwrap(),
            skein_process::RawValue::new(5).unwrap(),
            Array::from_slice(&seq).unwrap(),
        );
        assert_eq!(
            (cells.0.get(), cells.3.get(), cells.4.get()),
            (4343, 1 << 33, b'x')
        );
        assert_eq!(cells.6.len(), 10);
        let k = common::start(method, change_every_cell, cells.clone());
        assert_eq!(k.join().unwrap(), 0, "{method:?}");
        let (i, d, h, q, c, raw, arr) = cells;
        assert_eq!(
            (i.get(), d.get(), h.get(), q.get(), c.get(), raw.get()),
            (24234, -4.25, 234, 1 << 34, b'y', 7),
            "{method:?}"
        );
        assert_eq!(arr.to_vec(), want, "{method:?}");
    }
    // A new array is zeroed, however often memory is reused (cpython#55884).
    for _ in 0..3 {
        let a = Array::<i32>::new(10).unwrap();
        assert_eq!(a.to_vec(), [0; 10]);
        for k in 0..10 {
            a.set(k, k as i32).unwrap();
        }
    }
}
