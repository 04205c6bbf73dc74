//! `SharedMemory`: a named segment any process of the same user can attach to.

use std::fmt;
use std::os::fd::OwnedFd;

use rustix::fs::{FlockOperation, Mode};
use rustix::shm::OFlags;

use super::{IndexError, ShmError};
use crate::shared::janitor;
use crate::shared::region::Region;

/// A named shared-memory segment — Python's `multiprocessing.shared_memory.SharedMemory`.
///
/// [`create`](Self::create) makes a new segment of `size` zeroed bytes under a fresh
/// unguessable name (`/skein-` + 128 random bits, mode 0600); another process, related or
/// not, calls [`attach`](Self::attach) with that name.
///
/// **Lifetime.** The name stays attachable while any process maps the segment, and is
/// unlinked by the last handle dropped — no `unlink()` call to forget (Python requires
/// one and leaks without it, cpython#82300). If processes die without dropping their
/// handles, even by SIGKILL, the creator's janitor process unlinks it once every process
/// that mapped it is gone.
///
/// A child created by `fork` inherits this process's mappings and descriptors, so it
/// counts as a user of every segment the parent had open at the time, until it exits;
/// the janitor unlinks the name (within about 100 ms) once the last such process is gone.
/// To hand a segment to a `Spawn`/`Forkserver` child, pass its [`name`](Self::name) and
/// [`attach`](Self::attach) there, as in Python.
///
/// # Examples
///
/// ```
/// use skein_process::SharedMemory;
///
/// let shm = SharedMemory::create(16)?;
/// shm.write(0, b"hello")?;
/// let other = SharedMemory::attach(shm.name())?; // another process would do this
/// let mut buf = [0u8; 5];
/// other.read(0, &mut buf)?;
/// assert_eq!(&buf, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SharedMemory {
    name: String,
    size: usize,
    region: Option<Region>,
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish()
    }
}

fn random_name() -> Result<String, ShmError> {
    let mut bytes = [0u8; 16];
    crate::sys::shm::getrandom(&mut bytes).map_err(|e| ShmError::io("getrandom", e))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("/skein-{hex}"))
}

fn lock_shared(fd: &OwnedFd) -> Result<(), ShmError> {
    loop {
        match rustix::fs::flock(fd, FlockOperation::LockShared) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(ShmError::io("flock", e.into())),
        }
    }
}

impl SharedMemory {
    /// Creates a new segment of `size` zeroed bytes —
    /// `SharedMemory(create=True, size=size)`.
    ///
    /// # Errors
    ///
    /// A zero size, or the system refusing the segment (no memory, no descriptors).
    pub fn create(size: usize) -> Result<SharedMemory, ShmError> {
        if size == 0 {
            return Err(ShmError::invalid("a shared memory segment cannot be empty"));
        }
        let name = random_name()?;
        // Register first: a crash right after `shm_open` is then cleaned up too.
        janitor::register(&name).map_err(|e| ShmError::io("starting the janitor", e))?;
        match Self::create_named(&name, size) {
            Ok(region) => Ok(SharedMemory {
                name,
                size,
                region: Some(region),
            }),
            Err(e) => {
                let _ = rustix::shm::unlink(name.as_str());
                janitor::forget(&name);
                Err(e)
            }
        }
    }

    fn create_named(name: &str, size: usize) -> Result<Region, ShmError> {
        let fd = rustix::shm::open(
            name,
            OFlags::CREATE | OFlags::EXCL | OFlags::RDWR,
            Mode::RUSR | Mode::WUSR,
        )
        .map_err(|e| ShmError::io("shm_open", e.into()))?;
        lock_shared(&fd)?;
        rustix::fs::ftruncate(&fd, size as u64).map_err(|e| ShmError::io("ftruncate", e.into()))?;
        Region::map_fd(fd, size)
    }

    /// Attaches to an existing segment by name — `SharedMemory(name)`.
    ///
    /// # Errors
    ///
    /// [`ShmError::is_not_found`] when no segment has that name (or it is being
    /// unlinked); other errors when it cannot be opened or mapped.
    pub fn attach(name: &str) -> Result<SharedMemory, ShmError> {
        let fd = rustix::shm::open(name, OFlags::RDWR, Mode::empty())
            .map_err(|e| ShmError::io("shm_open", e.into()))?;
        lock_shared(&fd)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| ShmError::io("fstat", e.into()))?;
        if st.st_nlink == 0 {
            // Unlinked between our open and our lock: the last user just left.
            return Err(ShmError::io(
                "shm_open",
                std::io::ErrorKind::NotFound.into(),
            ));
        }
        let size = st.st_size as usize;
        let region = Region::map_fd(fd, size)?;
        Ok(SharedMemory {
            name: name.to_owned(),
            size,
            region: Some(region),
        })
    }

    /// The segment's name, to hand to [`attach`](Self::attach) — Python's `shm.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The size in bytes — Python's `shm.size`.
    pub fn size(&self) -> usize {
        self.size
    }

    fn region(&self) -> &Region {
        self.region.as_ref().expect("region present until drop")
    }

    /// The start of the mapping. Reads and writes through it race with other processes
    /// unless you synchronise them (for example with a [`crate::Lock`]).
    pub fn as_ptr(&self) -> *mut u8 {
        self.region().ptr()
    }

    /// The bytes as a slice — Python's `shm.buf`.
    ///
    /// # Safety
    ///
    /// No process may write the segment while the slice is alive.
    // The crate's one public `unsafe` API outside `sys/` and `shared/`: its contract is
    // the caller's (Python's `shm.buf` is a raw view too).
    #[allow(unsafe_code)]
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping is `size` bytes and lives as long as `self`; the caller
        // promises no concurrent writes.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.size) }
    }

    /// The bytes as a mutable slice.
    ///
    /// # Safety
    ///
    /// No other process or thread may access the segment while the slice is alive.
    #[allow(clippy::mut_from_ref, unsafe_code)]
    pub unsafe fn as_mut_slice(&self) -> &mut [u8] {
        // SAFETY: as `as_slice`, and the caller promises exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.as_ptr(), self.size) }
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), IndexError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(IndexError {
                index: offset.saturating_add(len),
                len: self.size,
            }),
        }
    }

    /// Copies `data` into the segment at `offset`.
    ///
    /// # Errors
    ///
    /// [`IndexError`] when the range does not fit.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), IndexError> {
        self.check(offset, data.len())?;
        self.region().copy_in(offset, data);
        Ok(())
    }

    /// Copies bytes from the segment at `offset` into `buf`.
    ///
    /// # Errors
    ///
    /// [`IndexError`] when the range does not fit.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), IndexError> {
        self.check(offset, buf.len())?;
        self.region().copy_out(offset, buf);
        Ok(())
    }
}

impl Drop for SharedMemory {
    /// Unmaps, and unlinks the name if no other process maps the segment any more.
    fn drop(&mut self) {
        // Unmap and close first: our own shared lock (which `fork`ed children may share)
        // must not count.
        drop(self.region.take());
        if janitor::unlink_if_unmapped(self.name.as_bytes()) {
            // Unlinked now (or by someone else already).
            janitor::forget(&self.name);
        } else {
            // Still mapped elsewhere (maybe only by a forked child that inherited our
            // handle): the janitor unlinks it as soon as nobody maps it.
            janitor::orphan(&self.name);
        }
    }
}
