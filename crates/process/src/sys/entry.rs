//! Naming a function across `exec`: a code address relative to an anchor function.
//!
//! A spawned child and a forkserver are fresh executions of the *same* binary
//! (`/proc/self/exe`, which names the running file even if its path was replaced). With
//! address-space randomisation the image loads at a different base in each process, but
//! every function keeps its distance from every other. The parent therefore sends
//! `address(f) - address(anchor)`, and the child adds its own `address(anchor)`.
//!
//! That holds only in the *same* executable: the child checks its parent's executable
//! identity against its own ([`image`](super::image): the ELF build-id) before it
//! decodes an [`Entry`], and [`Entry`] values are only ever produced by [`Entry::of`]
//! in the parent. (A check that measured the distance between two functions of this
//! crate was not enough: it is the same in every binary that links the crate.)

use serde::de::DeserializeOwned;

use super::image::{self, ImageId};

#[inline(never)]
fn anchor() -> u32 {
    std::hint::black_box(0x5E1_u32)
}

pub(crate) fn base() -> usize {
    anchor as fn() -> u32 as usize
}

/// The signature every child entry shares: decode the arguments from `bytes`, call
/// `decoded` (which closes the handle descriptors nobody claimed, before the target
/// runs), then run the target named by `target` with them. An error means the
/// arguments did not decode, and nothing ran. (Nothing is boxed: a forked child that
/// allocates writes heap pages, a copy-on-write fault each.)
pub(crate) type EntryFn =
    fn(target: usize, bytes: &[u8], decoded: &mut dyn FnMut()) -> Result<(), postcard::Error>;

/// A child's entry point and target, as offsets valid in any process of this binary,
/// with the identity of the binary they were taken in.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Entry {
    image: ImageId,
    entry: usize,
    target: usize,
}

/// Why an [`Entry`] did not run.
#[derive(Debug)]
pub(crate) enum EntryError {
    /// It was made in another executable: its offsets mean nothing here.
    WrongImage { theirs: ImageId, ours: ImageId },
    /// The arguments did not decode; nothing ran.
    Decode(postcard::Error),
}

impl std::fmt::Display for EntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryError::WrongImage { theirs, ours } => write!(
                f,
                "the target was named in an executable with {theirs}, this one is {ours}"
            ),
            EntryError::Decode(e) => write!(f, "cannot decode the arguments: {e}"),
        }
    }
}

impl Entry {
    /// For a plain-function target `f(A)`.
    pub(crate) fn of<A: DeserializeOwned + 'static>(f: fn(A)) -> Entry {
        let entry: EntryFn = call_fn::<A>;
        Entry {
            image: *image::own(),
            entry: (entry as usize).wrapping_sub(base()),
            target: (f as usize).wrapping_sub(base()),
        }
    }

    /// Runs the entry in this process (a fresh exec of the parent's binary): decodes
    /// the arguments, calls `decoded`, and runs the target.
    ///
    /// Refuses (and runs nothing) unless the entry was made in a process of this very
    /// executable: same [`image`] identity.
    pub(crate) fn run(self, bytes: &[u8], decoded: &mut dyn FnMut()) -> Result<(), EntryError> {
        let ours = image::own();
        if self.image != *ours {
            return Err(EntryError::WrongImage {
                theirs: self.image,
                ours: *ours,
            });
        }
        let addr = self.entry.wrapping_add(base());
        // SAFETY: `self.entry` was produced by `Entry::of` in a process of this same
        // executable (its image identity, checked above, is ours), from a function of
        // type `EntryFn`; adding our base gives that function's address here.
        let f: EntryFn = unsafe { std::mem::transmute::<usize, EntryFn>(addr) };
        f(self.target, bytes, decoded).map_err(EntryError::Decode)
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
        assert!(matches!(
            e.run(&[], &mut || decoded = true),
            Err(EntryError::Decode(_))
        ));
        assert!(!decoded);
    }

    #[test]
    fn an_entry_from_another_executable_is_refused() {
        let mut e = Entry::of(target);
        e.image =
            postcard::from_bytes(&postcard::to_allocvec(&(1u8, 20u8, [7u8; 32])).unwrap()).unwrap();
        let bytes = postcard::to_allocvec(&5u64).unwrap();
        let err = e.run(&bytes, &mut || panic!("nothing runs")).unwrap_err();
        assert!(matches!(err, EntryError::WrongImage { .. }));
        assert!(err.to_string().contains("0707070707"), "{err}");
    }
}
