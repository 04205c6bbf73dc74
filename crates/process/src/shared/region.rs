//! `MAP_SHARED` mappings and typed headers of atomics inside them.

use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Arc;

use rustix::mm::{MapFlags, ProtFlags};

use crate::shm::ShmError;

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
}

/// A header made only of atomics (and arrays of them).
///
/// # Safety
///
/// Implementors must be valid when all their bytes are zero, contain only types that may
/// be shared and mutated through `&` across processes (atomics), and have an alignment
/// of at most [`PAGE`].
pub(crate) unsafe trait AtomicHeader: Sync + Sized {}

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
    pub(crate) fn data(&self) -> *mut u8 {
        // SAFETY: DATA_OFFSET <= len by construction in `new`.
        unsafe { self.region.ptr().add(Self::DATA_OFFSET) }
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
