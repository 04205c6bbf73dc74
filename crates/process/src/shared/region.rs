//! `MAP_SHARED` mappings and typed headers of atomics inside them.

use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Arc;

use rustix::mm::{MapFlags, ProtFlags};

use super::rawlock::{Acquired, RawLock};
use crate::shm::{Plain, ShmError};

/// Page size used to round segment lengths.
pub(crate) const PAGE: usize = 4096;

/// Rounds `n` up to a multiple of `to` (a power of two).
pub(crate) const fn round_up(n: usize, to: usize) -> usize {
    (n + to - 1) & !(to - 1)
}

struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    /// Kept open for handle passing (and so the segment's identity is stable).
    fd: OwnedFd,
}

// SAFETY: the mapping is plain shared memory; every access goes through atomics or
// through raw-pointer copies whose callers document their own synchronisation.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what `mmap` returned, and no reference into the
        // mapping outlives the last `Region` clone, which owns this `Mapping`.
        unsafe {
            let _ = rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// A shared mapping of a whole file (memfd or POSIX shm), unmapped with its last clone.
#[derive(Clone)]
pub(crate) struct Region {
    map: Arc<Mapping>,
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region")
            .field("len", &self.map.len)
            .finish()
    }
}

impl Region {
    /// A new zero-filled anonymous segment of at least `len` bytes (a `memfd`: it has no
    /// name and the kernel frees it with the last mapping or descriptor, even after
    /// SIGKILL).
    pub(crate) fn anonymous(len: usize) -> Result<Region, ShmError> {
        let len = round_up(len.max(1), PAGE);
        let fd = rustix::fs::memfd_create("skein-shm", rustix::fs::MemfdFlags::CLOEXEC)
            .map_err(|e| ShmError::io("memfd_create", e.into()))?;
        rustix::fs::ftruncate(&fd, len as u64).map_err(|e| ShmError::io("ftruncate", e.into()))?;
        Region::map_fd(fd, len)
    }

    /// Maps the first `len` bytes of `fd` shared and read-write.
    pub(crate) fn map_fd(fd: OwnedFd, len: usize) -> Result<Region, ShmError> {
        if len == 0 {
            return Err(ShmError::invalid("a shared memory segment cannot be empty"));
        }
        // SAFETY: a fresh mapping chosen by the kernel (null hint) of a file we hold open;
        // it aliases no Rust object.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &fd,
                0,
            )
        }
        .map_err(|e| ShmError::io("mmap", e.into()))?;
        let ptr = NonNull::new(ptr.cast::<u8>()).expect("mmap returned null on success");
        Ok(Region {
            map: Arc::new(Mapping { ptr, len, fd }),
        })
    }

    /// The start of the mapping (page aligned).
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.map.ptr.as_ptr()
    }

    /// The mapping's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.map.len
    }

    /// Copies `bytes` into the mapping at `offset`.
    ///
    /// # Panics
    ///
    /// If the range does not fit (callers check first).
    pub(crate) fn copy_in(&self, offset: usize, bytes: &[u8]) {
        let end = offset.checked_add(bytes.len()).expect("offset overflows");
        assert!(end <= self.len(), "shared memory range out of bounds");
        // SAFETY: in bounds (asserted); a byte copy into shared memory that no Rust
        // reference points into (bytes have no invalid values, so a race with another
        // process can only mix bytes, never create an invalid value).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr().add(offset), bytes.len())
        }
    }

    /// Copies the mapping's bytes at `offset` into `out`.
    ///
    /// # Panics
    ///
    /// If the range does not fit (callers check first).
    pub(crate) fn copy_out(&self, offset: usize, out: &mut [u8]) {
        let end = offset.checked_add(out.len()).expect("offset overflows");
        assert!(end <= self.len(), "shared memory range out of bounds");
        // SAFETY: as `copy_in`, in the other direction; `out` is a distinct buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr().add(offset), out.as_mut_ptr(), out.len())
        }
    }
}

/// A header made only of atomics (and arrays of them).
///
/// # Safety
///
/// Implementors must be valid when all their bytes are zero, contain only types that may
/// be shared and mutated through `&` across processes (atomics), and have an alignment
/// of at most [`PAGE`].
pub(crate) unsafe trait AtomicHeader: Sync + Sized {}

// SAFETY: an atomic is valid when all zero, shared and mutated through `&` by design,
// and aligned to at most 8 bytes.
unsafe impl AtomicHeader for std::sync::atomic::AtomicU32 {}
// SAFETY: as above.
unsafe impl AtomicHeader for std::sync::atomic::AtomicU64 {}
// SAFETY: an array of such headers is one (no padding between elements of one type).
unsafe impl<T: AtomicHeader, const N: usize> AtomicHeader for [T; N] {}

/// `T` on a 128-byte line of its own (no false sharing with its neighbours).
#[repr(C, align(128))]
pub(crate) struct CacheLine<T>(pub(crate) T);

// SAFETY: `T` is one, and the alignment (128) is below a page.
unsafe impl<T: AtomicHeader> AtomicHeader for CacheLine<T> {}

/// Declares a `#[repr(C)]` struct whose fields are all [`AtomicHeader`]s (atomics,
/// arrays of them, `RawLock`, other such structs) and implements `AtomicHeader` for it:
/// the safe way for the layers above to define the header of a shared segment. The
/// macro checks every field's type at compile time, so the `unsafe impl` it writes
/// holds by construction.
macro_rules! atomic_header {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field : $ty ),*
        }

        const _: () = {
            const fn is_atomic_header<T: $crate::shared::region::AtomicHeader>() {}
            $( is_atomic_header::<$ty>(); )*
            assert!(::core::mem::align_of::<$name>() <= $crate::shared::region::PAGE);
        };

        // SAFETY: `#[repr(C)]` with every field an `AtomicHeader` (checked just above):
        // valid when all zero, shared and mutated only through atomics, and aligned to
        // at most a page.
        #[allow(unsafe_code)]
        unsafe impl $crate::shared::region::AtomicHeader for $name {}
    };
}
pub(crate) use atomic_header;

/// A segment whose first bytes hold an `H`, followed by a data area.
pub(crate) struct Shared<H> {
    region: Region,
    _header: PhantomData<H>,
}

impl<H> Clone for Shared<H> {
    fn clone(&self) -> Self {
        Shared {
            region: self.region.clone(),
            _header: PhantomData,
        }
    }
}

impl<H> std::fmt::Debug for Shared<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.region.fmt(f)
    }
}

impl<H: AtomicHeader> Shared<H> {
    /// Offset of the data area (the header rounded up to a cache line).
    pub(crate) const DATA_OFFSET: usize = round_up(size_of::<H>(), 128);

    /// A new anonymous segment holding a zeroed `H` and `data_len` data bytes.
    pub(crate) fn new(data_len: usize) -> Result<Self, ShmError> {
        let len = Self::DATA_OFFSET
            .checked_add(data_len)
            .ok_or_else(|| ShmError::invalid("shared memory size overflows"))?;
        Ok(Shared {
            region: Region::anonymous(len)?,
            _header: PhantomData,
        })
    }

    /// The header.
    pub(crate) fn header(&self) -> &H {
        debug_assert!(self.region.len() >= size_of::<H>());
        // SAFETY: the mapping is page aligned, at least `size_of::<H>()` long, zero-filled
        // or written only through `H`'s atomics (a valid `H` by the `AtomicHeader`
        // contract), and it lives as long as `self.region`, which the borrow ties to.
        unsafe { &*self.region.ptr().cast::<H>() }
    }

    /// The data area's start (aligned to 128 bytes).
    fn data(&self) -> *mut u8 {
        // SAFETY: DATA_OFFSET <= len by construction in `new` (and checked on receipt).
        unsafe { self.region.ptr().add(Self::DATA_OFFSET) }
    }

    /// A pointer to element `i` of the data area seen as an array of `T`, if it lies
    /// inside the data area.
    fn elem<T: Plain>(&self, i: usize) -> *mut T {
        const { assert!(align_of::<T>() <= 128) };
        let end = i
            .checked_add(1)
            .and_then(|n| n.checked_mul(size_of::<T>()))
            .expect("shared memory index overflows");
        assert!(end <= self.data_len(), "shared memory index out of range");
        // SAFETY: in bounds (asserted); the data area is 128-aligned, so element `i` of
        // a `T` array (alignment at most 128) is aligned.
        unsafe { self.data().cast::<T>().add(i) }
    }

    /// Reads element `i` of the data area seen as `[T]` with one volatile read.
    ///
    /// Another process may write it meanwhile; `T: Plain` makes whatever bytes are read
    /// a valid `T` (at worst a torn mix of two values).
    pub(crate) fn load<T: Plain>(&self, i: usize) -> T {
        // SAFETY: aligned and in bounds (`elem`); the mapping lives as long as `self`;
        // any bytes are a valid `T`; no Rust reference points into the data area except
        // the `Guarded` views below, which exist only under the data's lock.
        unsafe { self.elem::<T>(i).read_volatile() }
    }

    /// Writes element `i` of the data area seen as `[T]` with one volatile write.
    pub(crate) fn store<T: Plain>(&self, i: usize, value: T) {
        // SAFETY: as `load`.
        unsafe { self.elem::<T>(i).write_volatile(value) }
    }

    /// Copies `bytes` into the data area at byte `offset` (panics out of bounds).
    pub(crate) fn copy_in(&self, offset: usize, bytes: &[u8]) {
        let at = offset
            .checked_add(Self::DATA_OFFSET)
            .expect("offset overflows");
        self.region.copy_in(at, bytes);
    }

    /// Copies the data area's bytes at `offset` into `out` (panics out of bounds).
    pub(crate) fn copy_out(&self, offset: usize, out: &mut [u8]) {
        let at = offset
            .checked_add(Self::DATA_OFFSET)
            .expect("offset overflows");
        self.region.copy_out(at, out);
    }

    /// Appends the data area's bytes at `offset..offset + len` to `out` (no zero-fill).
    pub(crate) fn extend_from(&self, offset: usize, len: usize, out: &mut Vec<u8>) {
        let end = offset.checked_add(len).expect("offset overflows");
        assert!(end <= self.data_len(), "shared memory range out of bounds");
        out.reserve(len);
        let at = out.len();
        // SAFETY: in bounds (asserted); `out` has room for `len` more bytes (reserved),
        // which the copy initialises before `set_len` exposes them.
        unsafe {
            std::ptr::copy_nonoverlapping(self.data().add(offset), out.as_mut_ptr().add(at), len);
            out.set_len(at + len);
        }
    }

    /// The data area's length in bytes (at least what `new` was asked for).
    pub(crate) fn data_len(&self) -> usize {
        self.region.len() - Self::DATA_OFFSET
    }

    /// Checks, after receiving a handle, that the data area holds `bytes` bytes.
    pub(crate) fn check_data<E: serde::de::Error>(&self, bytes: Option<usize>) -> Result<(), E> {
        match bytes {
            Some(b) if b <= self.data_len() => Ok(()),
            _ => Err(E::custom(
                "received shared segment is smaller than its contents",
            )),
        }
    }
}

// ---- handle passing: a region crosses into a child as its descriptor + length ----

struct FdRef<'a>(BorrowedFd<'a>);

impl serde::Serialize for FdRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::handle::serialize_fd(self.0, s)
    }
}

impl serde::Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&FdRef(self.map.fd.as_fd()))?;
        t.serialize_element(&(self.map.len as u64))?;
        t.end()
    }
}

impl<'de> serde::Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Region, D::Error> {
        use serde::de::Error;
        let (fd, len): (crate::handle::HandleFd, u64) = serde::Deserialize::deserialize(d)?;
        Region::map_fd(fd.into_inner(), len as usize).map_err(D::Error::custom)
    }
}

impl<H> serde::Serialize for Shared<H> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.region.serialize(s)
    }
}

impl<'de, H: AtomicHeader> serde::Deserialize<'de> for Shared<H> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Shared<H>, D::Error> {
        use serde::de::Error;
        let region = Region::deserialize(d)?;
        if region.len() < Self::DATA_OFFSET {
            return Err(D::Error::custom("shared segment too small for its header"));
        }
        Ok(Shared {
            region,
            _header: PhantomData,
        })
    }
}

/// The first `len` elements of a data area seen as `[T]`, borrowed while holding the
/// lock that guards them (every locked access to those elements takes that same lock),
/// released on drop: the safe form of `with value.get_lock(): ...`.
pub(crate) struct Guarded<'a, T: Plain> {
    lock: &'a RawLock,
    first: *mut T,
    len: usize,
}

impl<H: AtomicHeader> Shared<H> {
    /// Takes `lock` (forever if need be) and borrows the first `len` elements of the
    /// data area as `[T]` until the guard drops.
    ///
    /// `lock` must be the lock that guards this data area: the callers (`Value`,
    /// `Array`) fix it when the cell is built and use no other.
    pub(crate) fn lock_elems<'a, T: Plain>(
        &'a self,
        lock: &'a RawLock,
        me: super::ident::Me,
        len: usize,
    ) -> (Guarded<'a, T>, Acquired) {
        let first = if len == 0 {
            NonNull::<T>::dangling().as_ptr()
        } else {
            let _last = self.elem::<T>(len - 1); // bounds check of the whole range
            self.elem::<T>(0)
        };
        let how = lock
            .lock(me, None)
            .expect("an untimed lock cannot time out");
        (Guarded { lock, first, len }, how)
    }
}

impl<T: Plain> std::ops::Deref for Guarded<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `first` points to `len` aligned, initialised `T`s (checked in
        // `lock_elems`; `T: Plain` has no invalid values) in a mapping that outlives the
        // borrow `'a`; the lock held for the guard's life keeps every other locked
        // access out.
        unsafe { std::slice::from_raw_parts(self.first, self.len) }
    }
}

impl<T: Plain> std::ops::DerefMut for Guarded<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as `deref`; `&mut self` makes this the guard's only live reference.
        unsafe { std::slice::from_raw_parts_mut(self.first, self.len) }
    }
}

impl<T: Plain> Drop for Guarded<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

// SAFETY: a `Guarded` is a lock-holding borrow of `[T]`, and `T: Plain` is `Send + Sync`:
// moving or sharing it between threads moves or shares a `&mut [T]` (the lock belongs to
// the process, not to a thread, so releasing it from another thread is allowed).
unsafe impl<T: Plain> Send for Guarded<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Plain> Sync for Guarded<'_, T> {}
