//! The marker for types that may live in shared memory.

/// A type that can be stored in shared memory and read by another process: plain data
/// with no pointers, no references, no drop glue, and **every bit pattern a valid value**
/// (so a value torn by a concurrent unlocked write is still a value). Python's ctypes
/// type codes map to these: `'i'` → `i32`, `'d'` → `f64`, `'b'` → `i8`, …
///
/// # Safety
///
/// Implement it only for `Copy` types with no padding-dependent invariants, no pointers
/// (an address means nothing in another process) and no invalid bit patterns — so not
/// `bool`, `char`, references, `Box`, `String`, or enums.
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => { $(
        // SAFETY: a primitive number: no pointers, every bit pattern valid.
        unsafe impl Plain for $t {}
    )* };
}

plain!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64
);

// SAFETY: an array of plain values is plain (no padding between elements of one type).
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}
