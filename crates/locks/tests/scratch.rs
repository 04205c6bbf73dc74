//! scratch
use skein_locks::Lock;
use std::time::Duration;
#[test]
fn scratch() {
    let lock = Lock::named("accounts");
    let g = lock.acquire();
    assert!(lock.is_locked());
    assert!(lock.try_acquire().is_none());
    let r = lock.acquire_timeout(Duration::from_millis(1));
    eprintln!("r = {:?}", r.is_some());
    drop(g);
}
