//! The process pool's one `unsafe` call (named in the crate docs as an unsafe boundary):
//! a worker turning the function bytes its pool sent into an [`FnRef`].

use skein_process::{FN_REF_BYTES, FnRef, WrongExecutable};

/// Rebuilds the function a task names. Worker side only.
pub(crate) fn fn_ref(bytes: &[u8; FN_REF_BYTES]) -> Result<FnRef, WrongExecutable> {
    // SAFETY: a worker reads these bytes from its work connection: one end of an anonymous
    // socket pair that its pool created for it alone (nobody else can connect to or write
    // on it). The pool writes only `FnRef::to_bytes` of references made by `FnRef::of` /
    // `FnRef::of2` (in `Call::new`, the map methods and the initializer) in the parent,
    // which runs this same binary: a fork is a copy, and spawn/forkserver exec
    // `/proc/self/exe` (or an executable the user vouched for with `with_executable`, which
    // the executable check verifies is the same executable).
    unsafe { FnRef::from_bytes(bytes) }
}
