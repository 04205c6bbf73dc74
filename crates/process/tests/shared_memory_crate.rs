//! Why skein maps named segments itself instead of through the `shared_memory` crate
//! (the design card's choice): the two guarantees below hold for
//! `skein_process::SharedMemory` (see `shm.rs` and `cleanup.rs`) and fail for
//! `shared_memory` 0.12. The failing checks are `#[ignore]`d so the suite stays green;
//! run them with `cargo test -p skein-process --test shared_memory_crate -- --ignored`
//! to watch them fail. They clean up what the crate leaves behind.

mod common;

use std::time::Duration;

use common::{eventually, fork, kill, shm_exists, wait};
use shared_memory::ShmemConf;
use skein_process::Event;

/// Unlinks a leaked segment when the test ends, pass or fail.
struct Unlink(String);

impl Drop for Unlink {
    fn drop(&mut self) {
        let name = std::ffi::CString::new(self.0.clone()).unwrap();
        // SAFETY: unlinks a name; no memory is touched.
        unsafe { libc::shm_unlink(name.as_ptr()) };
    }
}

fn os_name(id: &str) -> String {
    if id.starts_with('/') {
        id.to_owned()
    } else {
        format!("/{id}")
    }
}

#[test]
#[ignore = "fails by design: shared_memory unlinks a segment another process still maps"]
fn shared_memory_crate_unlinks_while_another_process_maps_it() {
    let owner = ShmemConf::new().size(4096).create().unwrap();
    let name = os_name(owner.get_os_id());
    let _cleanup = Unlink(name.clone());
    let (attached, done) = (Event::new().unwrap(), Event::new().unwrap());
    let (a, d, id) = (attached.clone(), done.clone(), owner.get_os_id().to_owned());
    let child = fork(move || {
        let mut other = ShmemConf::new().os_id(&id).open().unwrap();
        other.set_owner(false);
        a.set();
        d.wait();
        0
    });
    attached.wait();
    drop(owner); // the owner leaves while the child still maps the segment
    let still_there = shm_exists(&name);
    done.set();
    wait(child);
    assert!(
        still_there,
        "shared_memory unlinked {name} while another process mapped it"
    );
}

#[test]
#[ignore = "fails by design: shared_memory leaks the segment when its owner is SIGKILLed"]
fn shared_memory_crate_leaks_after_sigkill() {
    let (created, name_out) = (Event::new().unwrap(), skein_process::Queue::new().unwrap());
    let (c, out) = (created.clone(), name_out.clone());
    let child = fork(move || {
        let shm = ShmemConf::new().size(4096).create().unwrap();
        out.put(os_name(shm.get_os_id())).unwrap();
        c.set();
        std::thread::sleep(Duration::from_secs(60));
        0
    });
    created.wait();
    let name: String = name_out.get().unwrap();
    let _cleanup = Unlink(name.clone());
    kill(child);
    assert!(
        eventually(Duration::from_secs(2), || !shm_exists(&name)),
        "shared_memory leaked {name} after SIGKILL of its owner (shared_memory#105)"
    );
}
