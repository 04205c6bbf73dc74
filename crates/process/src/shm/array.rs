//! `Array<T>` (with a lock) and `RawArray<T>` (without).

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use super::value::{guard_of, lock_handle, new_cells};
use super::{IndexError, Plain, ShmError};
use crate::shared::ident;
use crate::shared::rawlock::{Acquired, RawLock};
use crate::shared::region::{Guarded, Shared};
use crate::sync::{Lock, OwnerDied};

/// A fixed-length array of `T` in shared memory with a process-shared lock —
/// `multiprocessing.Array('i', 10)`.
///
/// [`get`](Self::get)/[`set`](Self::set) take the lock per element (as Python's
/// synchronized wrapper does); [`lock`](Self::lock) gives the whole slice for bulk work.
/// The lock is the array's own unless one is given with
/// [`with_lock`](Self::with_lock) (`Array('i', 10, lock=lock)`);
/// [`get_lock`](Self::get_lock) returns it, [`get_obj`](Self::get_obj) the
/// unsynchronised [`RawArray`] underneath.
///
/// # Examples
///
/// ```
/// use skein_process::Array;
///
/// let li = Array::<i32>::new(10)?;          // Array('i', 10)
/// li.set(3, 3)?;
/// li.lock().unwrap()[4] = 4;
/// assert_eq!(li.to_vec(), [0, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(serde::Serialize)]
#[serde(bound = "")]
pub struct Array<T: Plain> {
    shared: Shared<RawLock>,
    len: usize,
    /// A lock the caller gave (`lock=lock`); `None`: the array's own.
    lock: Option<Lock>,
    _t: PhantomData<T>,
}

impl<T: Plain> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array {
            shared: self.shared.clone(),
            len: self.len,
            lock: self.lock.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Array").field(&self.to_vec()).finish()
    }
}

impl<T: Plain + Default> Array<T> {
    /// `len` default (zero) elements — `Array('i', 10)`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new(len: usize) -> Result<Array<T>, ShmError> {
        Ok(Array {
            shared: new_cells(len, |_| T::default())?,
            len,
            lock: None,
            _t: PhantomData,
        })
    }

    /// `len` default (zero) elements guarded by `lock`, which other arrays, values or
    /// code may share — `Array('i', 10, lock=lock)`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn with_lock(len: usize, lock: Lock) -> Result<Array<T>, ShmError> {
        Ok(Array {
            shared: new_cells(len, |_| T::default())?,
            len,
            lock: Some(lock),
            _t: PhantomData,
        })
    }
}

impl<T: Plain> Array<T> {
    /// An array holding a copy of `items` — `Array('i', [1, 2, 3])`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn from_slice(items: &[T]) -> Result<Array<T>, ShmError> {
        Ok(Array {
            shared: new_cells(items.len(), |i| items[i])?,
            len: items.len(),
            lock: None,
            _t: PhantomData,
        })
    }

    /// An array holding a copy of `items`, guarded by `lock` —
    /// `Array('i', [1, 2, 3], lock=lock)`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn from_slice_with_lock(items: &[T], lock: Lock) -> Result<Array<T>, ShmError> {
        Ok(Array {
            shared: new_cells(items.len(), |i| items[i])?,
            len: items.len(),
            lock: Some(lock),
            _t: PhantomData,
        })
    }

    /// The lock that guards the array (its own, or the one given) — `arr.get_lock()`.
    pub fn get_lock(&self) -> Lock {
        lock_handle(&self.shared, &self.lock)
    }

    /// The same shared elements without the lock — `arr.get_obj()`. Its accesses do not
    /// take the lock: hold [`get_lock`](Self::get_lock) around them when others may
    /// write.
    pub fn get_obj(&self) -> RawArray<T> {
        RawArray {
            shared: self.shared.clone(),
            len: self.len,
            _t: PhantomData,
        }
    }

    /// The number of elements — `len(arr)`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads element `i` under the lock — `arr[i]`; `None` past the end.
    pub fn get(&self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        let guard = self.lock().unwrap_or_else(OwnerDied::into_inner);
        Some(guard[i])
    }

    /// Writes element `i` under the lock — `arr[i] = v`.
    ///
    /// # Errors
    ///
    /// [`IndexError`] past the end.
    pub fn set(&self, i: usize, value: T) -> Result<(), IndexError> {
        if i >= self.len {
            return Err(IndexError {
                index: i,
                len: self.len,
            });
        }
        let mut guard = self.lock().unwrap_or_else(OwnerDied::into_inner);
        guard[i] = value;
        Ok(())
    }

    /// A copy of all elements, read under the lock — `list(arr)` / `arr[:]`.
    pub fn to_vec(&self) -> Vec<T> {
        self.lock().unwrap_or_else(OwnerDied::into_inner).to_vec()
    }

    /// Takes the lock and gives the whole array as a slice until the guard drops —
    /// `with arr.get_lock():`.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] (holding the guard) when the previous holder died with the lock taken.
    pub fn lock(&self) -> Result<ArrayGuard<'_, T>, OwnerDied<ArrayGuard<'_, T>>> {
        let lock = guard_of(&self.shared, &self.lock);
        let (cells, acquired) = self.shared.lock_elems(lock, ident::process(), self.len);
        let guard = ArrayGuard { cells };
        match acquired {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied => Err(OwnerDied::new(guard)),
        }
    }
}

/// The elements of an [`Array`] while holding its lock; releases on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ArrayGuard<'a, T: Plain> {
    cells: Guarded<'a, T>,
}

impl<T: Plain + fmt::Debug> fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ArrayGuard").field(&&**self).finish()
    }
}

impl<T: Plain> Deref for ArrayGuard<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.cells
    }
}

impl<T: Plain> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.cells
    }
}

/// A fixed-length array of `T` in shared memory without a lock —
/// `Array('i', 10, lock=False)` / `RawArray`.
///
/// Every element access is one volatile read or write; concurrent writers to one element
/// race (each `T: Plain` value read is still valid).
///
/// # Examples
///
/// ```
/// use skein_process::RawArray;
///
/// let a = RawArray::<u8>::new(4)?;
/// a.set(1, 7)?;
/// assert_eq!(a.to_vec(), [0, 7, 0, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(serde::Serialize)]
#[serde(bound = "")]
pub struct RawArray<T: Plain> {
    shared: Shared<RawLock>,
    len: usize,
    _t: PhantomData<T>,
}

impl<T: Plain> Clone for RawArray<T> {
    fn clone(&self) -> Self {
        RawArray {
            shared: self.shared.clone(),
            len: self.len,
            _t: PhantomData,
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for RawArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawArray").field(&self.to_vec()).finish()
    }
}

impl<T: Plain + Default> RawArray<T> {
    /// `len` default (zero) elements.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new(len: usize) -> Result<RawArray<T>, ShmError> {
        Ok(RawArray {
            shared: new_cells(len, |_| T::default())?,
            len,
            _t: PhantomData,
        })
    }
}

impl<T: Plain> RawArray<T> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads element `i`; `None` past the end.
    pub fn get(&self, i: usize) -> Option<T> {
        (i < self.len).then(|| self.shared.load(i))
    }

    /// Writes element `i`.
    ///
    /// # Errors
    ///
    /// [`IndexError`] past the end.
    pub fn set(&self, i: usize, value: T) -> Result<(), IndexError> {
        if i >= self.len {
            return Err(IndexError {
                index: i,
                len: self.len,
            });
        }
        self.shared.store(i, value);
        Ok(())
    }

    /// A copy of all elements (each read once, volatile).
    pub fn to_vec(&self) -> Vec<T> {
        (0..self.len).filter_map(|i| self.get(i)).collect()
    }
}

impl<'de, T: Plain> serde::Deserialize<'de> for Array<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Parts {
            shared: Shared<RawLock>,
            len: usize,
            lock: Option<Lock>,
        }
        let parts = Parts::deserialize(d)?;
        parts
            .shared
            .check_data::<D::Error>(parts.len.checked_mul(size_of::<T>()))?;
        Ok(Array {
            shared: parts.shared,
            len: parts.len,
            lock: parts.lock,
            _t: PhantomData,
        })
    }
}

impl<'de, T: Plain> serde::Deserialize<'de> for RawArray<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Parts {
            shared: Shared<RawLock>,
            len: usize,
        }
        let parts = Parts::deserialize(d)?;
        parts
            .shared
            .check_data::<D::Error>(parts.len.checked_mul(size_of::<T>()))?;
        Ok(RawArray {
            shared: parts.shared,
            len: parts.len,
            _t: PhantomData,
        })
    }
}
