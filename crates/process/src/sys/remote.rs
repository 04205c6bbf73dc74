//! Calling a plain `fn` with serialised arguments in another process of this binary (the
//! raw half of [`FnRef`](crate::FnRef)): the same anchor-relative offsets as
//! [`entry`](super::entry), for functions that *return* a serialised value.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::entry::base;
use super::image;
use crate::remote::{CallStage, set_stage};

/// Decodes the arguments from `args`, calls the target, encodes its value into `out`.
pub(crate) type Trampoline =
    fn(target: usize, args: &[u8], out: &mut Vec<u8>) -> Result<(), TrampolineError>;

/// Why a trampoline did not produce a value (a panic of the target unwinds through it).
#[derive(Debug)]
pub(crate) enum TrampolineError {
    Decode(postcard::Error),
    Encode(postcard::Error),
}

/// A trampoline and its target as offsets from the anchor, plus the tag of the executable
/// they were taken in ([`image`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RawFnRef {
    pub(crate) trampoline: usize,
    pub(crate) target: usize,
    pub(crate) image: u64,
}

impl RawFnRef {
    pub(crate) fn of1<A: DeserializeOwned + 'static, R: Serialize + 'static>(
        f: fn(A) -> R,
    ) -> RawFnRef {
        let t: Trampoline = call1::<A, R>;
        RawFnRef::from_parts(t, f as usize)
    }

    pub(crate) fn of2<A, B, R>(f: fn(A, B) -> R) -> RawFnRef
    where
        A: DeserializeOwned + 'static,
        B: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        let t: Trampoline = call2::<A, B, R>;
        RawFnRef::from_parts(t, f as usize)
    }

    pub(crate) fn of_map1<A: DeserializeOwned + 'static, R: Serialize + 'static>(
        f: fn(A) -> R,
    ) -> RawFnRef {
        let t: Trampoline = call_map1::<A, R>;
        RawFnRef::from_parts(t, f as usize)
    }

    pub(crate) fn of_map2<A, B, R>(f: fn(A, B) -> R) -> RawFnRef
    where
        A: DeserializeOwned + 'static,
        B: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        let t: Trampoline = call_map2::<A, B, R>;
        RawFnRef::from_parts(t, f as usize)
    }

    fn from_parts(t: Trampoline, target: usize) -> RawFnRef {
        RawFnRef {
            trampoline: (t as usize).wrapping_sub(base()),
            target: target.wrapping_sub(base()),
            image: image::own().tag(),
        }
    }

    /// Calls the function this names.
    ///
    /// # Safety
    ///
    /// `self` was made by `of1`/`of2` in a process of this same binary (the public
    /// constructors guarantee it, or the caller of `FnRef::from_bytes` promised it), and
    /// its image tag matches this process's.
    pub(crate) unsafe fn call(
        &self,
        args: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TrampolineError> {
        let addr = self.trampoline.wrapping_add(base());
        // SAFETY: per this function's contract `trampoline` is the offset of a `Trampoline`
        // monomorphisation in this binary; adding our base gives its address here.
        let t: Trampoline = unsafe { std::mem::transmute::<usize, Trampoline>(addr) };
        t(self.target, args, out)
    }
}

fn call1<A: DeserializeOwned + 'static, R: Serialize + 'static>(
    target: usize,
    args: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), TrampolineError> {
    let a: A = {
        set_stage(CallStage::Decode);
        postcard::from_bytes(args).map_err(TrampolineError::Decode)?
    };
    set_stage(CallStage::Run);
    let addr = target.wrapping_add(base());
    // SAFETY: `target` was paired with this monomorphisation by `RawFnRef::of1::<A, R>`
    // from a `fn(A) -> R` of this binary, so the address is a `fn(A) -> R` here.
    let f: fn(A) -> R = unsafe { std::mem::transmute::<usize, fn(A) -> R>(addr) };
    let r = f(a);
    set_stage(CallStage::Encode);
    out.clear();
    let bytes = postcard::to_extend(&r, std::mem::take(out)).map_err(TrampolineError::Encode)?;
    *out = bytes;
    Ok(())
}

fn call2<A, B, R>(target: usize, args: &[u8], out: &mut Vec<u8>) -> Result<(), TrampolineError>
where
    A: DeserializeOwned + 'static,
    B: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    let (a, b): (A, B) = {
        set_stage(CallStage::Decode);
        postcard::from_bytes(args).map_err(TrampolineError::Decode)?
    };
    set_stage(CallStage::Run);
    let addr = target.wrapping_add(base());
    // SAFETY: `target` was paired with this monomorphisation by `RawFnRef::of2::<A, B, R>`
    // from a `fn(A, B) -> R` of this binary, so the address is a `fn(A, B) -> R` here.
    let f: fn(A, B) -> R = unsafe { std::mem::transmute::<usize, fn(A, B) -> R>(addr) };
    let r = f(a, b);
    set_stage(CallStage::Encode);
    out.clear();
    let bytes = postcard::to_extend(&r, std::mem::take(out)).map_err(TrampolineError::Encode)?;
    *out = bytes;
    Ok(())
}

fn encode_into<R: Serialize + ?Sized>(r: &R, out: &mut Vec<u8>) -> Result<(), TrampolineError> {
    set_stage(CallStage::Encode);
    out.clear();
    let bytes = postcard::to_extend(r, std::mem::take(out)).map_err(TrampolineError::Encode)?;
    *out = bytes;
    Ok(())
}

fn call_map1<A: DeserializeOwned + 'static, R: Serialize + 'static>(
    target: usize,
    args: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), TrampolineError> {
    let items: Vec<A> = {
        set_stage(CallStage::Decode);
        postcard::from_bytes(args).map_err(TrampolineError::Decode)?
    };
    set_stage(CallStage::Run);
    let addr = target.wrapping_add(base());
    // SAFETY: `target` was paired with this monomorphisation by
    // `RawFnRef::of_map1::<A, R>` from a `fn(A) -> R` of this binary.
    let f: fn(A) -> R = unsafe { std::mem::transmute::<usize, fn(A) -> R>(addr) };
    let values: Vec<R> = items.into_iter().map(f).collect();
    encode_into(&values, out)
}

fn call_map2<A, B, R>(target: usize, args: &[u8], out: &mut Vec<u8>) -> Result<(), TrampolineError>
where
    A: DeserializeOwned + 'static,
    B: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    let items: Vec<(A, B)> = {
        set_stage(CallStage::Decode);
        postcard::from_bytes(args).map_err(TrampolineError::Decode)?
    };
    set_stage(CallStage::Run);
    let addr = target.wrapping_add(base());
    // SAFETY: `target` was paired with this monomorphisation by
    // `RawFnRef::of_map2::<A, B, R>` from a `fn(A, B) -> R` of this binary.
    let f: fn(A, B) -> R = unsafe { std::mem::transmute::<usize, fn(A, B) -> R>(addr) };
    let values: Vec<R> = items.into_iter().map(|(a, b)| f(a, b)).collect();
    encode_into(&values, out)
}
