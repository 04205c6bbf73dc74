//! Where a map's items come from ([`Items`]): a buffer the iterator was gathered into
//! ([`Gathered`], any iterator, as Python makes a list), or a range of integers counted
//! by index ([`Counted`], nothing gathered: Python's `pool.map(f, range(n))`).
//!
//! A range is recognised by its type (`Range<u8>` … `Range<u128>`, `Range<i8>` …
//! `Range<isize>`): stable Rust has no specialization, so [`as_range`] compares type
//! identities (`typeid::of`, which works for types with lifetimes, the way tokio picks
//! its own fast paths) and, when they match, moves the value over as the type it is.
//! Counting yields exactly the items the range's iterator would, in the same order, and a
//! range's iterator has no side effects, so the result is the same; only the caller no
//! longer writes every item into a list the workers then read back.

use std::any::TypeId;
use std::mem::ManuallyDrop;
use std::ops::Range;

/// The items of one map, read by index: item `i` once, by the runner that claimed its
/// chunk (see the parent module's safety argument).
///
/// # Safety
///
/// Implementations hand out each item at most once when the caller keeps the contracts of
/// the methods below.
pub(crate) unsafe trait Items: Send + Sync + 'static {
    /// The item type.
    type Item;
    /// A copy of what `read` needs, kept in a local by the hot loop.
    type Reader: Copy;
    /// How many items.
    fn len(&self) -> usize;
    /// The reader.
    fn reader(&self) -> Self::Reader;
    /// Item `i`.
    ///
    /// # Safety
    ///
    /// `i < len`, and item `i` was neither read nor dropped before.
    unsafe fn read(reader: Self::Reader, i: usize) -> Self::Item;
    /// Drops items `from..to`.
    ///
    /// # Safety
    ///
    /// None of them was read or dropped before, and nobody else touches them.
    unsafe fn drop_range(&self, from: usize, to: usize);
    /// Frees the storage.
    ///
    /// # Safety
    ///
    /// Once, after every item was read or dropped, and not if [`reuse`](Items::reuse)
    /// handed the storage out.
    unsafe fn free(&self);
    /// The buffer `reader` reads, as slots of `T` (for the in-place loop, so the compiler
    /// sees one base pointer for both sides); `None` if there is no buffer.
    fn base<T>(reader: Self::Reader) -> Option<*mut T>;
    /// The storage as a buffer of `len` slots of `T` the results can be written over
    /// (item `i` read before result `i` is written), when an item and a `T` have the same
    /// layout: its address and capacity.
    fn reuse<T>(&self) -> Option<(*mut T, usize)>;
}

/// Items gathered into a `Vec`, moved out one by one.
pub(crate) struct Gathered<A> {
    ptr: *mut A,
    capacity: usize,
    len: usize,
}

impl<A> Gathered<A> {
    pub(crate) fn new(items: Vec<A>) -> Gathered<A> {
        let mut items = ManuallyDrop::new(items);
        Gathered {
            ptr: items.as_mut_ptr(),
            capacity: items.capacity(),
            len: items.len(),
        }
    }
}

// SAFETY: the buffer is owned; each item (`A: Send`) is moved out by the one thread that
// claimed its slot, and the buffer is freed by the last runner (the parent module's
// safety argument), so sharing `&Gathered` between runners moves items, never shares them.
unsafe impl<A: Send> Send for Gathered<A> {}
// SAFETY: as above.
unsafe impl<A: Send> Sync for Gathered<A> {}

// SAFETY: each slot is read with `ptr::read` once, under the callers' contracts.
unsafe impl<A: Send + 'static> Items for Gathered<A> {
    type Item = A;
    type Reader = *mut A;

    fn len(&self) -> usize {
        self.len
    }

    fn reader(&self) -> *mut A {
        self.ptr
    }

    unsafe fn read(reader: *mut A, i: usize) -> A {
        // SAFETY: `i < len` holds an item never read (the caller's contract).
        unsafe { reader.add(i).read() }
    }

    unsafe fn drop_range(&self, from: usize, to: usize) {
        // SAFETY: the caller's contract.
        unsafe { super::drop_range(self.ptr, from, to) }
    }

    unsafe fn free(&self) {
        // SAFETY: allocated by a `Vec<A>` with this capacity; every item is gone (length 0).
        drop(unsafe { Vec::from_raw_parts(self.ptr, 0, self.capacity) });
    }

    fn base<T>(reader: *mut A) -> Option<*mut T> {
        Some(reader.cast::<T>())
    }

    fn reuse<T>(&self) -> Option<(*mut T, usize)> {
        // Same size and alignment: `capacity` slots of `A` are as many bytes, aligned the
        // same, as `capacity` slots of `T`, so the allocation can become a `Vec<T>`.
        (std::alloc::Layout::new::<A>() == std::alloc::Layout::new::<T>())
            .then(|| (self.ptr.cast::<T>(), self.capacity))
    }
}

/// An integer that counts: item `i` of a range is `start.nth(i)`.
pub(crate) trait Step: Copy + Send + Sync + 'static {
    /// `self + i`, where the true sum is known to fit (`i` < the range's length).
    fn nth(self, i: usize) -> Self;
    /// The length of `start..end`, if it fits in a `usize`.
    fn distance(start: Self, end: Self) -> Option<usize>;
}

macro_rules! step {
    ($($int:ty),*) => {$(
        impl Step for $int {
            #[inline(always)]
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            fn nth(self, i: usize) -> $int {
                // The sum fits, so adding modulo 2^bits gives it exactly, even where `i`
                // does not fit in the type (an `i8` range of length 255).
                self.wrapping_add(i as $int)
            }

            fn distance(start: $int, end: $int) -> Option<usize> {
                if end <= start {
                    Some(0)
                } else {
                    usize::try_from(end.abs_diff(start)).ok()
                }
            }
        }
    )*};
}

step!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

/// A range of integers, item `i` computed from its start: nothing to gather or drop.
pub(crate) struct Counted<X> {
    start: X,
    len: usize,
}

// SAFETY: items are computed, not stored: reading one twice could not even go wrong.
unsafe impl<X: Step> Items for Counted<X> {
    type Item = X;
    type Reader = X;

    fn len(&self) -> usize {
        self.len
    }

    fn reader(&self) -> X {
        self.start
    }

    #[inline(always)]
    unsafe fn read(start: X, i: usize) -> X {
        start.nth(i)
    }

    unsafe fn drop_range(&self, _: usize, _: usize) {}

    unsafe fn free(&self) {}

    fn base<T>(_: X) -> Option<*mut T> {
        None
    }

    fn reuse<T>(&self) -> Option<(*mut T, usize)> {
        None
    }
}

/// `items` as `Range<X>` when that is its type, with the length counted; else `items` back
/// (also for a range longer than `usize::MAX`, which gathering will refuse as before).
pub(crate) fn as_range<I, X: Step>(items: I) -> Result<Counted<X>, I> {
    if typeid::of::<I>() != TypeId::of::<Range<X>>() {
        return Err(items);
    }
    // SAFETY: `I` is `Range<X>` up to lifetimes, and `Range<X>` (`X: Step` is a plain
    // integer) has none, so `I` is exactly `Range<X>`.
    let range: Range<X> = unsafe { same_type(items) };
    match X::distance(range.start, range.end) {
        Some(len) => Ok(Counted {
            start: range.start,
            len,
        }),
        // SAFETY: as above, the other way round.
        None => Err(unsafe { same_type(range) }),
    }
}

/// `value` moved over as a `U`.
///
/// # Safety
///
/// `V` and `U` are the same type.
pub(crate) unsafe fn same_type<V, U>(value: V) -> U {
    assert_eq!(size_of::<V>(), size_of::<U>());
    let value = ManuallyDrop::new(value);
    // SAFETY: same type (the caller's contract), so the bits are a valid `U`; the original
    // is forgotten, so the value is moved, not copied.
    unsafe { std::ptr::read((&raw const *value).cast::<U>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted<I, X: Step>(items: I) -> Option<Vec<X>> {
        let c = as_range::<I, X>(items).ok()?;
        // SAFETY: each index read once.
        Some(
            (0..c.len())
                .map(|i| unsafe { Counted::read(c.reader(), i) })
                .collect(),
        )
    }

    #[test]
    fn a_range_counts_the_items_its_iterator_yields() {
        assert_eq!(counted::<_, u64>(3..7u64), Some(vec![3, 4, 5, 6]));
        assert_eq!(counted::<_, i8>(-128..127i8), Some((-128..127i8).collect()));
        assert_eq!(counted::<_, u8>(0..=255u8), None, "not a Range");
        let (seven, three) = (7u64, 3u64);
        assert_eq!(counted::<_, u64>(seven..three), Some(vec![]));
        assert_eq!(counted::<_, u32>(3..7u64), None, "another integer type");
        assert_eq!(
            counted::<_, i128>(i128::MIN..i128::MIN + 3),
            Some(vec![i128::MIN, i128::MIN + 1, i128::MIN + 2])
        );
        assert_eq!(counted::<_, u64>((3..7u64).step_by(1)), None, "not a Range");
    }

    #[test]
    fn a_range_too_long_to_count_is_handed_back_whole() {
        let back = as_range::<_, u128>(0..u128::MAX).err().unwrap();
        assert_eq!(back, 0..u128::MAX);
    }
}
