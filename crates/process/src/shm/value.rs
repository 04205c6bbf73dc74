//! `Value<T>` (with a lock) and `RawValue<T>` (without).

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::AtomicU32;

use super::{Plain, ShmError};
use crate::shared::ident;
use crate::shared::rawlock::{self, Acquired};
use crate::shared::region::{AtomicHeader, Shared};
use crate::sync::OwnerDied;

#[repr(C)]
pub(crate) struct LockHeader {
    lock: AtomicU32,
}

// SAFETY: one atomic; all-zero is "unlocked".
unsafe impl AtomicHeader for LockHeader {}

impl LockHeader {
    /// Takes the cell's lock for this process, waiting as long as it takes.
    pub(crate) fn lock(&self) -> Acquired {
        rawlock::lock(&self.lock, ident::pid(), None).expect("an untimed lock cannot time out")
    }

    pub(crate) fn unlock(&self) {
        rawlock::unlock(&self.lock);
    }
}

/// A `T` in shared memory with its own process-shared lock —
/// `multiprocessing.Value(typecode, value)`.
///
/// [`get`](Self::get) and [`set`](Self::set) take the lock for one access, like Python's
/// `v.value`; [`lock`](Self::lock) holds it across a read-modify-write, like
/// `with v.get_lock(): v.value += 1`. Clones (and copies inherited by children) share the
/// same value. A holder that dies with the lock taken is reported as [`OwnerDied`] to the
/// next [`lock`](Self::lock); `get`/`set` simply take the lock over.
///
/// # Examples
///
/// ```
/// use skein_process::Value;
///
/// let counter = Value::new(0i32)?;
/// *counter.lock().unwrap() += 1;
/// assert_eq!(counter.get(), 1);
/// # Ok::<(), skein_process::ShmError>(())
/// ```
#[derive(serde::Serialize)]
#[serde(bound = "")]
pub struct Value<T: Plain> {
    shared: Shared<LockHeader>,
    _t: PhantomData<T>,
}

impl<T: Plain> Clone for Value<T> {
    fn clone(&self) -> Self {
        Value {
            shared: self.shared.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value").field("value", &self.get()).finish()
    }
}

fn new_cell<T: Plain>(value: T) -> Result<Shared<LockHeader>, ShmError> {
    const { assert!(align_of::<T>() <= 128) };
    let shared = Shared::<LockHeader>::new(size_of::<T>())?;
    // SAFETY: the data area is 128-aligned and at least size_of::<T>() long; the segment
    // is new, so nobody else can see it yet.
    unsafe { shared.data().cast::<T>().write(value) };
    Ok(shared)
}

impl<T: Plain> Value<T> {
    /// A new shared value with a lock — `Value('i', value)`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new(value: T) -> Result<Value<T>, ShmError> {
        Ok(Value {
            shared: new_cell(value)?,
            _t: PhantomData,
        })
    }

    fn ptr(&self) -> *mut T {
        self.shared.data().cast::<T>()
    }

    /// Reads the value under the lock — `v.value`.
    pub fn get(&self) -> T {
        self.shared.header().lock();
        // SAFETY: we hold the lock that every access to the cell takes.
        let v = unsafe { self.ptr().read_volatile() };
        self.shared.header().unlock();
        v
    }

    /// Writes the value under the lock — `v.value = x`.
    pub fn set(&self, value: T) {
        self.shared.header().lock();
        // SAFETY: we hold the lock that every access to the cell takes.
        unsafe { self.ptr().write_volatile(value) };
        self.shared.header().unlock();
    }

    /// Takes the lock and gives access to the value until the guard drops —
    /// `with v.get_lock():`.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] (holding the guard) when the previous holder died with the lock
    /// taken: the value may be half-updated.
    pub fn lock(&self) -> Result<ValueGuard<'_, T>, OwnerDied<ValueGuard<'_, T>>> {
        let acquired = self.shared.header().lock();
        let guard = ValueGuard { value: self };
        match acquired {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied => Err(OwnerDied::new(guard)),
        }
    }
}

/// Access to a [`Value`] while holding its lock; releases on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ValueGuard<'a, T: Plain> {
    value: &'a Value<T>,
}

impl<T: Plain + fmt::Debug> fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ValueGuard").field(&**self).finish()
    }
}

impl<T: Plain> Deref for ValueGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock every access takes; the cell is aligned and
        // initialised, and `T: Plain` has no invalid bit patterns.
        unsafe { &*self.value.ptr() }
    }
}

impl<T: Plain> DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `deref`; `&mut self` makes this the only reference from this guard.
        unsafe { &mut *self.value.ptr() }
    }
}

impl<T: Plain> Drop for ValueGuard<'_, T> {
    fn drop(&mut self) {
        self.value.shared.header().unlock();
    }
}

/// A `T` in shared memory with no lock — `Value('i', 0, lock=False)` / `RawValue`.
///
/// Each `get`/`set` is one volatile access; a read-modify-write from two processes loses
/// updates (the demo `25_value_counter` shows it). Use [`Value`] when you need the lock.
///
/// # Examples
///
/// ```
/// use skein_process::RawValue;
///
/// let v = RawValue::new(1.5f64)?;
/// v.set(2.5);
/// assert_eq!(v.get(), 2.5);
/// # Ok::<(), skein_process::ShmError>(())
/// ```
#[derive(serde::Serialize)]
#[serde(bound = "")]
pub struct RawValue<T: Plain> {
    shared: Shared<LockHeader>,
    _t: PhantomData<T>,
}

impl<T: Plain> Clone for RawValue<T> {
    fn clone(&self) -> Self {
        RawValue {
            shared: self.shared.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for RawValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawValue")
            .field("value", &self.get())
            .finish()
    }
}

impl<T: Plain> RawValue<T> {
    /// A new shared value without a lock.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new(value: T) -> Result<RawValue<T>, ShmError> {
        Ok(RawValue {
            shared: new_cell(value)?,
            _t: PhantomData,
        })
    }

    /// Reads the value (one volatile read; may observe a concurrent write half done).
    pub fn get(&self) -> T {
        // SAFETY: aligned, initialised cell; `T: Plain` makes any bytes a valid `T`.
        unsafe { self.shared.data().cast::<T>().read_volatile() }
    }

    /// Writes the value (one volatile write).
    pub fn set(&self, value: T) {
        // SAFETY: aligned cell in shared memory that no Rust reference points into.
        unsafe { self.shared.data().cast::<T>().write_volatile(value) }
    }
}

macro_rules! deserialize_cell {
    ($name:ident) => {
        impl<'de, T: Plain> serde::Deserialize<'de> for $name<T> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                struct Parts {
                    shared: Shared<LockHeader>,
                }
                let parts = Parts::deserialize(d)?;
                parts.shared.check_data::<D::Error>(Some(size_of::<T>()))?;
                Ok($name {
                    shared: parts.shared,
                    _t: PhantomData,
                })
            }
        }
    };
}

deserialize_cell!(Value);
deserialize_cell!(RawValue);
