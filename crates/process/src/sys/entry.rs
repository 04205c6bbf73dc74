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

fn base() -> usize {
    anchor as fn() -> u32 as usize
}

/// The distance between the two anchors: the same in every process of one binary.
pub(crate) fn layout_check() -> usize {
    (anchor2 as fn() -> u32 as usize).wrapping_sub(base())
}

/// What an entry returns: the decoded target, ready to run.
pub(crate) type Ready = Box<dyn FnOnce()>;

/// The signature every child entry shares: decode the arguments from `bytes` and
/// return the target named by `target` bound to them (decoding and running are
/// separate so that handle descriptors nobody claimed are closed before the target
/// runs).
pub(crate) type EntryFn = fn(target: usize, bytes: &[u8]) -> Result<Ready, postcard::Error>;

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
        Entry { entry: (entry as usize).wrapping_sub(base()), target: 0 }
    }

    /// Runs the entry in this process (a fresh exec of the parent's binary).
    ///
    /// The caller has checked [`layout_check`] against the parent's value.
    pub(crate) fn decode(self, bytes: &[u8]) -> Result<Ready, postcard::Error> {
        let addr = self.entry.wrapping_add(base());
        // SAFETY: `self.entry` was produced by `Entry::of`/`Entry::of_run` in a process
        // of this same binary (the layout check matched), from a function of type
        // `EntryFn`; adding our base gives that function's address here.
        let f: EntryFn = unsafe { std::mem::transmute::<usize, EntryFn>(addr) };
        f(self.target, bytes)
    }
}

fn call_fn<A: DeserializeOwned + 'static>(target: usize, bytes: &[u8]) -> Result<Ready, postcard::Error> {
    let args: A = postcard::from_bytes(bytes)?;
    let addr = target.wrapping_add(base());
    // SAFETY: `target` was produced by `Entry::of::<A>` from a `fn(A)` in a process of
    // this same binary, and this monomorphisation is the entry `Entry::of::<A>` paired
    // with it, so the address is a `fn(A)` here.
    let f: fn(A) = unsafe { std::mem::transmute::<usize, fn(A)>(addr) };
    Ok(Box::new(move || f(args)))
}

fn call_run<R: crate::Run>(_target: usize, bytes: &[u8]) -> Result<Ready, postcard::Error> {
    let r: R = postcard::from_bytes(bytes)?;
    Ok(Box::new(move || r.run()))
}
