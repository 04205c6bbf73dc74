//! `Value<T>` (with a lock) and `RawValue<T>` (without).

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use super::{Plain, ShmError};
use crate::shared::ident;
use crate::shared::rawlock::{Acquired, RawLock};
use crate::shared::region::{Guarded, Shared};
use crate::sync::{Lock, OwnerDied};

/// A cell of `len` `T`s in a new segment whose header is the cell's own lock.
pub(crate) fn new_cells<T: Plain>(
    len: usize,
    fill: impl Fn(usize) -> T,
) -> Result<Shared<RawLock>, ShmError> {
    let bytes = len
        .checked_mul(size_of::<T>())
        .ok_or_else(|| ShmError::invalid("array size overflows"))?;
    let shared = Shared::<RawLock>::new(bytes)?;
    for i in 0..len {
        shared.store(i, fill(i));
    }
    Ok(shared)
}

/// The lock that guards a cell: its own (the segment's header), or one the caller gave.
pub(crate) fn guard_of<'a>(shared: &'a Shared<RawLock>, lock: &'a Option<Lock>) -> &'a RawLock {
    match lock {
        Some(l) => l.raw(),
        None => shared.header(),
    }
}

/// The cell's lock as a [`Lock`] handle (`get_lock()`).
pub(crate) fn lock_handle(shared: &Shared<RawLock>, lock: &Option<Lock>) -> Lock {
    match lock {
        Some(l) => l.clone(),
        None => Lock::from_shared(shared.clone()),
    }
}

/// A `T` in shared memory with a process-shared lock —
/// `multiprocessing.Value(typecode, value)`.
///
/// [`get`](Self::get) and [`set`](Self::set) take the lock for one access, like Python's
/// `v.value`; [`lock`](Self::lock) holds it across a read-modify-write, like
/// `with v.get_lock(): v.value += 1`. Clones (and copies inherited by children) share the
/// same value. A holder that dies with the lock taken is reported as [`OwnerDied`] to the
/// next [`lock`](Self::lock); `get`/`set` simply take the lock over.
///
/// The lock is the value's own unless one is given with [`with_lock`](Self::with_lock)
/// (`Value('i', 0, lock=lock)`), so that several values and arrays share one lock;
/// [`get_lock`](Self::get_lock) returns it either way, and [`get_obj`](Self::get_obj)
/// the unsynchronised [`RawValue`] underneath.
///
/// # Examples
///
/// ```
/// use skein_process::{Lock, Value};
///
/// let counter = Value::new(0i32)?;
/// *counter.lock().unwrap() += 1;
/// assert_eq!(counter.get(), 1);
///
/// // Two values behind one lock: `Value('i', 0, lock=lock)`.
/// let lock = Lock::new()?;
/// let (a, b) = (Value::with_lock(1u64, lock.clone())?, Value::with_lock(2u64, lock.clone())?);
/// {
///     let _both = lock.lock().unwrap();
///     assert!(a.get_lock().locked() && b.get_lock().locked());
///     let (ra, rb) = (a.get_obj(), b.get_obj()); // the raw cells, read under our lock
///     ra.set(rb.get() + ra.get());
/// }
/// assert_eq!(a.get(), 3);
/// # Ok::<(), skein_process::ShmError>(())
/// ```
pub struct Value<T: Plain> {
    shared: Shared<RawLock>,
    /// A lock the caller gave (`lock=lock`); `None`: the cell's own.
    lock: Option<Lock>,
    _t: PhantomData<T>,
}

impl<T: Plain> Clone for Value<T> {
    fn clone(&self) -> Self {
        Value {
            shared: self.shared.clone(),
            lock: self.lock.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value").field("value", &self.get()).finish()
    }
}

impl<T: Plain> Value<T> {
    /// A new shared value with its own lock — `Value('i', value)`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new(value: T) -> Result<Value<T>, ShmError> {
        Ok(Value {
            shared: new_cells(1, |_| value)?,
            lock: None,
            _t: PhantomData,
        })
    }

    /// A new shared value guarded by `lock`, which other values, arrays or code may
    /// share — `Value('i', value, lock=lock)`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn with_lock(value: T, lock: Lock) -> Result<Value<T>, ShmError> {
        Ok(Value {
            shared: new_cells(1, |_| value)?,
            lock: Some(lock),
            _t: PhantomData,
        })
    }

    fn guard(&self) -> (Guarded<'_, T>, Acquired) {
        let lock = guard_of(&self.shared, &self.lock);
        self.shared.lock_elems(lock, ident::process(), 1)
    }

    /// Reads the value under the lock — `v.value`.
    pub fn get(&self) -> T {
        self.guard().0[0]
    }

    /// Writes the value under the lock — `v.value = x`.
    pub fn set(&self, value: T) {
        self.guard().0[0] = value;
    }

    /// Takes the lock and gives access to the value until the guard drops —
    /// `with v.get_lock():`.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] (holding the guard) when the previous holder died with the lock
    /// taken: the value may be half-updated.
    pub fn lock(&self) -> Result<ValueGuard<'_, T>, OwnerDied<ValueGuard<'_, T>>> {
        let (cells, acquired) = self.guard();
        let guard = ValueGuard { cells };
        match acquired {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied => Err(OwnerDied::new(guard)),
        }
    }

    /// The lock that guards the value (its own, or the one given to
    /// [`with_lock`](Self::with_lock)) — `v.get_lock()`.
    pub fn get_lock(&self) -> Lock {
        lock_handle(&self.shared, &self.lock)
    }

    /// The same shared cell without the lock — `v.get_obj()`. Its accesses do not take
    /// the lock: hold [`get_lock`](Self::get_lock) around them when others may write.
    pub fn get_obj(&self) -> RawValue<T> {
        RawValue {
            shared: self.shared.clone(),
            _t: PhantomData,
        }
    }
}

/// Access to a [`Value`] while holding its lock; releases on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ValueGuard<'a, T: Plain> {
    cells: Guarded<'a, T>,
}

impl<T: Plain + fmt::Debug> fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ValueGuard").field(&**self).finish()
    }
}

impl<T: Plain> Deref for ValueGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.cells[0]
    }
}

impl<T: Plain> DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.cells[0]
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
    shared: Shared<RawLock>,
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
            shared: new_cells(1, |_| value)?,
            _t: PhantomData,
        })
    }

    /// Reads the value (one volatile read; may observe a concurrent write half done).
    pub fn get(&self) -> T {
        self.shared.load(0)
    }

    /// Writes the value (one volatile write).
    pub fn set(&self, value: T) {
        self.shared.store(0, value);
    }
}

impl<T: Plain> serde::Serialize for Value<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Value", 2)?;
        st.serialize_field("shared", &self.shared)?;
        st.serialize_field("lock", &self.lock)?;
        st.end()
    }
}

impl<'de, T: Plain> serde::Deserialize<'de> for Value<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Parts {
            shared: Shared<RawLock>,
            lock: Option<Lock>,
        }
        let parts = Parts::deserialize(d)?;
        parts.shared.check_data::<D::Error>(Some(size_of::<T>()))?;
        Ok(Value {
            shared: parts.shared,
            lock: parts.lock,
            _t: PhantomData,
        })
    }
}

impl<'de, T: Plain> serde::Deserialize<'de> for RawValue<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Parts {
            shared: Shared<RawLock>,
        }
        let parts = Parts::deserialize(d)?;
        parts.shared.check_data::<D::Error>(Some(size_of::<T>()))?;
        Ok(RawValue {
            shared: parts.shared,
            _t: PhantomData,
        })
    }
}
