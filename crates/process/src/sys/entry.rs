//! Naming a function across `exec`: a code address relative to an anchor function.
//!
//! A spawned child and a forkserver are fresh executions of the *same* binary
//! (`/proc/self/exe`, which names the running file even if its path was replaced). With
//! address-space randomisation the image loads at a different base in each process, but
//! every function keeps its distance from every other. The parent therefore sends
//! `address(f) - address(anchor)`, and the child adds its own `address(anchor)`.
//!
//! Two checks make a mismatch an error instead of a jump into the void: the child
//! compares the distance between two anchors (which differs if the binaries differ),
//! and [`Entry`] values are only ever produced by [`Entry::of`] in the parent.

use serde::de::DeserializeOwned;

#[inline(never)]
fn anchor() -> u32 {
    std::hint::black_box(0x5E1_u32)
}

#[inline(never)]
fn anchor2() -> u32 {
    std::hint::black_box(0x5E2_u32)
}

pub(crate) fn base() -> usize {
    anchor as fn() -> u32 as usize
}

/// The distance between the two anchors: the same in every process of one binary.
pub(crate) fn layout_check() -> usize {
    (anchor2 as fn() -> u32 as usize).wrapping_sub(base())
}

/// The signature every child entry shares: decode the arguments from `bytes`, call
/// `decoded` (which closes the handle descriptors nobody claimed, before the target
/// runs), then run the target named by `target` with them. An error means the
/// arguments did not decode, and nothing ran. (Nothing is boxed: a forked child that
/// allocates writes heap pages, a copy-on-write fault each.)
pub(crate) type EntryFn =
    fn(target: usize, bytes: &[u8], decoded: &mut dyn FnMut()) -> Result<(), postcard::Error>;

/// A child's entry point and target, as offsets valid in any process of this binary.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Entry {
    entry: usize,
    target: usize,
}

impl Entry {
    /// For a plain-function target `f(A)`.
    pub(crate) fn of<A: DeserializeOwned + 'static>(f: fn(A)) -> Entry {
        let entry: EntryFn = call_fn::<A>;
        Entry {
            entry: (entry as usize).wrapping_sub(base()),
            target: (f as usize).wrapping_sub(base()),
        }
    }

    /// For a [`Run`](crate::Run) value: the entry decodes `R` and calls `run`.
    pub(crate) fn of_run<R: crate::Run>() -> Entry {
        let entry: EntryFn = call_run::<R>;
        Entry {
            entry: (entry as usize).wrapping_sub(base()),
            target: 0,
        }
    }

    /// Runs the entry in this process (a fresh exec of the parent's binary): decodes
    /// the arguments, calls `decoded`, and runs the target.
    ///
    /// The caller has checked [`layout_check`] against the parent's value.
    pub(crate) fn run(
        self,
        bytes: &[u8],
        decoded: &mut dyn FnMut(),
    ) -> Result<(), postcard::Error> {
        let addr = self.entry.wrapping_add(base());
        // SAFETY: `self.entry` was produced by `Entry::of`/`Entry::of_run` in a process
        // of this same binary (the layout check matched), from a function of type
        // `EntryFn`; adding our base gives that function's address here.
        let f: EntryFn = unsafe { std::mem::transmute::<usize, EntryFn>(addr) };
        f(self.target, bytes, decoded)
    }
}

fn call_fn<A: DeserializeOwned + 'static>(
    target: usize,
    bytes: &[u8],
    decoded: &mut dyn FnMut(),
) -> Result<(), postcard::Error> {
    let args: A = postcard::from_bytes(bytes)?;
    decoded();
    let addr = target.wrapping_add(base());
    // SAFETY: `target` was produced by `Entry::of::<A>` from a `fn(A)` in a process of
    // this same binary, and this monomorphisation is the entry `Entry::of::<A>` paired
    // with it, so the address is a `fn(A)` here.
    let f: fn(A) = unsafe { std::mem::transmute::<usize, fn(A)>(addr) };
    f(args);
    Ok(())
}

fn call_run<R: crate::Run>(
    _target: usize,
    bytes: &[u8],
    decoded: &mut dyn FnMut(),
) -> Result<(), postcard::Error> {
    let r: R = postcard::from_bytes(bytes)?;
    decoded();
    r.run();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    static SEEN: AtomicU64 = AtomicU64::new(0);

    fn target(n: u64) {
        SEEN.store(n, Ordering::SeqCst);
    }

    #[test]
    fn entry_round_trips_in_one_process() {
        let e = Entry::of(target);
        let bytes = postcard::to_allocvec(&41u64).unwrap();
        let mut decoded = false;
        e.run(&bytes, &mut || {
            // The arguments are decoded, and the target has not run yet.
            assert_eq!(SEEN.load(Ordering::SeqCst), 0);
            decoded = true;
        })
        .unwrap();
        assert!(decoded);
        assert_eq!(SEEN.load(Ordering::SeqCst), 41);
    }

    #[test]
    fn bad_arguments_are_a_decode_error() {
        let e = Entry::of(target);
        let mut decoded = false;
        assert!(e.run(&[], &mut || decoded = true).is_err());
        assert!(!decoded);
    }

    #[test]
    fn layout_check_is_stable() {
        assert_eq!(layout_check(), layout_check());
        assert_ne!(layout_check(), 0);
    }
}
