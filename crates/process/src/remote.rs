//! `FnRef`: a plain function named so that another process of this binary can call it
//! with serialised arguments and send back its serialised value — what a process pool
//! needs to run *many* calls in one long-lived worker (a [`Process`](crate::Process)
//! target runs once per child).
//!
//! Added for skein-pool's process pools (issue 12); additive: nothing else in the crate
//! uses it. The mechanism is the one `Process` uses across `exec` (see `DESIGN.md`,
//! "Targets across exec"): a code address as an offset from an anchor function, plus a
//! tag of the executable's identity (its ELF build-id) that refuses a different binary.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::sys::image;
use crate::sys::remote::{RawFnRef, TrampolineError};

/// The length of [`FnRef::to_bytes`].
pub const FN_REF_BYTES: usize = 24;

/// A plain `fn(A) -> R` (or `fn(A, B) -> R`) that any process of this binary — a forked,
/// spawned or forkserver child — can call by value: arguments and result travel as
/// postcard bytes.
///
/// Only [`FnRef::of`]/[`FnRef::of2`] make one from a real function; the bytes form
/// ([`to_bytes`](FnRef::to_bytes)) goes to a child over a private channel and comes back
/// with the `unsafe` [`from_bytes`](FnRef::from_bytes), whose caller promises where they
/// came from.
///
/// # Examples
///
/// ```
/// use skein_process::FnRef;
///
/// fn double(x: u64) -> u64 {
///     x * 2
/// }
///
/// let f = FnRef::of(double);
/// let args = postcard::to_allocvec(&21u64).unwrap();
/// let mut out = Vec::new();
/// f.call(&args, &mut out).unwrap();
/// assert_eq!(postcard::from_bytes::<u64>(&out).unwrap(), 42);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FnRef {
    raw: RawFnRef,
}

impl FnRef {
    /// Names `f`, a plain function of one serialisable argument.
    pub fn of<A, R>(f: fn(A) -> R) -> FnRef
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        FnRef {
            raw: RawFnRef::of1(f),
        }
    }

    /// Names `f`, a plain function of two serialisable arguments; its arguments travel
    /// as the tuple `(A, B)` (what Python's `starmap` unpacks).
    pub fn of2<A, B, R>(f: fn(A, B) -> R) -> FnRef
    where
        A: DeserializeOwned + 'static,
        B: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        FnRef {
            raw: RawFnRef::of2(f),
        }
    }

    /// Names `f` mapped over a list: [`call`](FnRef::call) takes a postcard `Vec<A>` (or
    /// any sequence of `A`) and returns a postcard `Vec<R>` — a whole chunk of a process
    /// pool's `map` in one call, decoded and encoded in one pass. A panic of `f` on any
    /// item unwinds out of the call (the chunk fails as a whole, as in Python's `Pool`).
    pub fn of_map<A, R>(f: fn(A) -> R) -> FnRef
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        FnRef {
            raw: RawFnRef::of_map1(f),
        }
    }

    /// [`of_map`](FnRef::of_map) for a two-argument `f`, over a list of `(A, B)` tuples.
    pub fn of_map2<A, B, R>(f: fn(A, B) -> R) -> FnRef
    where
        A: DeserializeOwned + 'static,
        B: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        FnRef {
            raw: RawFnRef::of_map2(f),
        }
    }

    /// The bytes to send to another process of this binary.
    pub fn to_bytes(&self) -> [u8; FN_REF_BYTES] {
        let mut b = [0u8; FN_REF_BYTES];
        b[..8].copy_from_slice(&(self.raw.trampoline as u64).to_le_bytes());
        b[8..16].copy_from_slice(&(self.raw.target as u64).to_le_bytes());
        b[16..].copy_from_slice(&self.raw.image.to_le_bytes());
        b
    }

    /// Rebuilds a reference from [`to_bytes`](FnRef::to_bytes).
    ///
    /// # Errors
    ///
    /// [`WrongExecutable`] when the bytes were made by a different executable.
    ///
    /// # Safety
    ///
    /// `bytes` must be the output of `to_bytes` of an `FnRef` made by [`FnRef::of`] or
    /// [`FnRef::of2`] in a process running this same binary (typically received from
    /// the parent over a private [`Connection`](crate::Connection)). Bytes of any other
    /// origin would make [`call`](FnRef::call) jump to an arbitrary address. The identity
    /// check catches a different executable, not forged bytes.
    pub unsafe fn from_bytes(bytes: &[u8; FN_REF_BYTES]) -> Result<FnRef, WrongExecutable> {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        let raw = RawFnRef {
            trampoline: word(0) as usize,
            target: word(1) as usize,
            image: word(2),
        };
        if raw.image != image::own().tag() {
            return Err(WrongExecutable);
        }
        Ok(FnRef { raw })
    }

    /// Decodes the arguments from `args` (postcard), calls the function, and writes its
    /// postcard-encoded value into `out` (replacing its contents). A panic of the
    /// function unwinds out of this call.
    ///
    /// # Errors
    ///
    /// [`CallError::Decode`] when `args` are not the function's arguments (nothing ran),
    /// [`CallError::Encode`] when the value could not be serialised (it ran).
    pub fn call(&self, args: &[u8], out: &mut Vec<u8>) -> Result<(), CallError> {
        // SAFETY: an `FnRef` exists only through `of`/`of2` (this binary, this process)
        // or `from_bytes`, whose caller promised the same origin and whose executable
        // check passed.
        match unsafe { self.raw.call(args, out) } {
            Ok(()) => Ok(()),
            Err(TrampolineError::Decode(e)) => Err(CallError::Decode(e.to_string())),
            Err(TrampolineError::Encode(e)) => Err(CallError::Encode(e.to_string())),
        }
    }
}

impl fmt::Debug for FnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnRef")
            .field("target", &format_args!("{:#x}", self.raw.target))
            .finish_non_exhaustive()
    }
}

/// [`FnRef::from_bytes`] was given bytes made by a different executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongExecutable;

impl fmt::Display for WrongExecutable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("function reference made by a different executable (its build-id differs)")
    }
}

impl std::error::Error for WrongExecutable {}

/// Why [`FnRef::call`] produced no value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// The arguments did not decode as the function's argument type; nothing ran.
    Decode(String),
    /// The function ran but its value could not be serialised.
    Encode(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Decode(e) => write!(f, "the arguments could not be decoded: {e}"),
            CallError::Encode(e) => write!(f, "the result could not be serialised: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

/// The stage a [`FnRef::call`] on this thread reached: read it after a call panicked (or
/// from a panic hook) to tell a panic of the arguments' `Deserialize` or the value's
/// `Serialize` from one of the function itself — what CPython's `ProcessPoolExecutor`
/// tells apart as an error "unpickling the task" or "pickling the result".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallStage {
    /// No call has run on this thread yet.
    Idle,
    /// Decoding the arguments (their `Deserialize` impls).
    Decode,
    /// Running the function.
    Run,
    /// Encoding the value (its `Serialize` impl).
    Encode,
}

thread_local! {
    static STAGE: std::cell::Cell<CallStage> = const { std::cell::Cell::new(CallStage::Idle) };
}

pub(crate) fn set_stage(stage: CallStage) {
    STAGE.with(|s| s.set(stage));
}

impl FnRef {
    /// The stage the last [`call`](FnRef::call) on this thread reached (it stays set
    /// after the call returns or unwinds).
    pub fn last_stage() -> CallStage {
        STAGE.with(std::cell::Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(a: u32, b: u32) -> u32 {
        a + b
    }

    fn boom(_: ()) -> u32 {
        panic!("boom")
    }

    #[test]
    fn round_trips_through_bytes() {
        let f = FnRef::of2(add);
        // SAFETY: made by `of2` just above, in this process.
        let g = unsafe { FnRef::from_bytes(&f.to_bytes()) }.unwrap();
        assert_eq!(f, g);
        let mut out = Vec::new();
        g.call(&postcard::to_allocvec(&(2u32, 3u32)).unwrap(), &mut out)
            .unwrap();
        assert_eq!(postcard::from_bytes::<u32>(&out).unwrap(), 5);
    }

    #[test]
    fn bad_arguments_and_other_executables_are_errors() {
        let f = FnRef::of2(add);
        let mut out = Vec::new();
        assert!(matches!(f.call(&[], &mut out), Err(CallError::Decode(_))));
        let mut b = f.to_bytes();
        b[16] ^= 0xff;
        // SAFETY: the bytes' origin is `of2` above; only the identity word is changed,
        // which `from_bytes` checks before anything could be called.
        assert_eq!(unsafe { FnRef::from_bytes(&b) }, Err(WrongExecutable));
    }

    #[test]
    fn map_references_run_a_whole_list() {
        let f = FnRef::of_map2(add);
        let mut out = Vec::new();
        let args = postcard::to_allocvec(&[(1u32, 2u32), (3, 4)][..]).unwrap();
        f.call(&args, &mut out).unwrap();
        assert_eq!(postcard::from_bytes::<Vec<u32>>(&out).unwrap(), [3, 7]);
    }

    #[test]
    fn a_panic_unwinds_out_of_call() {
        let f = FnRef::of(boom);
        let args = postcard::to_allocvec(&()).unwrap();
        let r = std::panic::catch_unwind(|| f.call(&args, &mut Vec::new()));
        assert!(r.is_err());
    }
}
