//! `Local<T>`: one value per thread, in an object created at run time
//! (Python's `threading.local()`).

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

type Init<T> = Box<dyn Fn() -> T + Send + Sync + 'static>;

/// What every `Local` shares with the per-thread slots: its id and whether it is alive.
struct Key<T> {
    id: u64,
    init: Option<Init<T>>,
    _values: PhantomData<fn() -> T>,
}

/// A weak reference to `key` that tells, type-erased, when its `Local` is gone.
fn owner_of<T: 'static>(key: &Arc<Key<T>>) -> Weak<dyn Any + Send + Sync> {
    Arc::<Key<T>>::downgrade(key)
}

/// One thread's value of one `Local`, and a way to tell when that `Local` is gone.
struct Slot {
    owner: Weak<dyn Any + Send + Sync>,
    value: Rc<dyn Any>,
}

/// All the `Local` values of one thread; dropped (values and all) when the thread exits.
#[derive(Default)]
struct Slots {
    map: HashMap<u64, Slot>,
    /// Purge slots of dropped `Local`s when the map grows past this.
    purge_at: usize,
}

impl Slots {
    /// Takes out the slots of dropped `Local`s (the caller drops them with no borrow
    /// held, since a value's destructor may use other `Local`s).
    fn purge_dead(&mut self) -> Vec<Slot> {
        let dead: Vec<u64> = self
            .map
            .iter()
            .filter(|(_, slot)| slot.owner.strong_count() == 0)
            .map(|(id, _)| *id)
            .collect();
        let removed = dead.iter().filter_map(|id| self.map.remove(id)).collect();
        self.purge_at = (self.map.len() * 2).max(16);
        removed
    }
}

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::new(Slots::default());
}

/// A value per thread, in an ordinary object you create at run time and share (Python's
/// `threading.local()`): each thread that touches it sees only its own value.
///
/// Unlike `thread_local!`, a `Local` is not a `static` declared at compile time: make as
/// many as you like, put them in an `Arc` or a struct, drop them. Each thread's value is
/// created on that thread when it first needs one — by the initialiser given to
/// [`with_init`](Local::with_init) (Python: a `local` subclass with `__init__`), or by
/// [`set`](Local::set) (Python: `local.x = …`) — and is dropped when that thread exits.
/// The values never move between threads, so `T` needs neither `Send` nor `Sync`.
///
/// When a `Local` is dropped, the dropping thread's value goes at once; other threads'
/// values go when those threads exit, or earlier, swept up as those threads store values
/// of other `Local`s (Python frees them through weak references at once; Rust cannot
/// reach into another thread's storage).
///
/// # Examples
///
/// Seed 002's `local_school`:
///
/// ```
/// use std::sync::Arc;
/// use skein_threads::{Builder, Local, current_thread};
///
/// let local_school: Arc<Local<String>> = Arc::new(Local::new());
///
/// let mut handles = Vec::new();
/// for (student, thread) in [("Alice", "Thread-A"), ("Bob", "Thread-B")] {
///     let school = local_school.clone();
///     handles.push(Builder::new().name(thread).spawn(move || {
///         school.set(student.to_string());
///         // … deeper in the call stack, no argument passing needed:
///         school.with(|std| format!("Hello, {std} (in {})", current_thread().name()))
///     }).unwrap());
/// }
/// let greetings: Vec<_> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
/// assert_eq!(greetings, ["Hello, Alice (in Thread-A)", "Hello, Bob (in Thread-B)"]);
/// assert_eq!(local_school.get(), None); // the main thread never set one
/// ```
pub struct Local<T: 'static> {
    key: Arc<Key<T>>,
}

impl<T: 'static> Local<T> {
    /// A `Local` with no value in any thread until that thread calls [`set`](Local::set).
    pub fn new() -> Local<T> {
        Local::from_init(None)
    }

    /// A `Local` whose value in each thread is made by `init` on that thread, the first
    /// time the thread uses it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// let counter = skein_threads::Local::with_init(|| Cell::new(0));
    /// counter.with(|c| c.set(c.get() + 1));
    /// assert_eq!(counter.with(|c| c.get()), Some(1));
    /// ```
    pub fn with_init<F>(init: F) -> Local<T>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        Local::from_init(Some(Box::new(init)))
    }

    fn from_init(init: Option<Init<T>>) -> Local<T> {
        Local {
            key: Arc::new(Key {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                init,
                _values: PhantomData,
            }),
        }
    }

    /// This thread's cell, if it has one.
    fn cell(&self) -> Option<Rc<RefCell<Option<T>>>> {
        let found = SLOTS
            .try_with(|slots| {
                let slots = slots.borrow();
                slots.map.get(&self.key.id).map(|slot| slot.value.clone())
            })
            .ok()??;
        found.downcast::<RefCell<Option<T>>>().ok()
    }

    /// Inserts a fresh cell for this thread (holding `value`) and returns it.
    fn insert(&self, value: Option<T>) -> Option<Rc<RefCell<Option<T>>>> {
        let cell = Rc::new(RefCell::new(value));
        let owner = owner_of(&self.key);
        let dead = SLOTS
            .try_with(|slots| {
                let mut slots = slots.borrow_mut();
                let dead = if slots.map.len() >= slots.purge_at {
                    slots.purge_dead()
                } else {
                    Vec::new()
                };
                slots.map.insert(
                    self.key.id,
                    Slot {
                        owner,
                        value: cell.clone(),
                    },
                );
                dead
            })
            .ok()?;
        drop(dead);
        Some(cell)
    }

    /// This thread's cell, creating it with the initialiser when there is one.
    fn cell_or_init(&self) -> Option<Rc<RefCell<Option<T>>>> {
        if let Some(cell) = self.cell() {
            if cell.borrow().is_some() || self.key.init.is_none() {
                return Some(cell);
            }
        }
        let init = self.key.init.as_ref()?;
        // The initialiser runs with no borrow held, so it may use other `Local`s.
        let value = init();
        match self.cell() {
            Some(cell) => {
                let mut slot = cell.borrow_mut();
                if slot.is_none() {
                    *slot = Some(value);
                }
                drop(slot);
                Some(cell)
            }
            None => self.insert(Some(value)),
        }
    }

    /// Sets this thread's value (Python's `local.x = value`), returning the previous one.
    ///
    /// # Panics
    ///
    /// When called inside [`with`](Local::with) or [`with_mut`](Local::with_mut) of the
    /// same `Local` on the same thread (the value is borrowed), like `RefCell`.
    pub fn set(&self, value: T) -> Option<T> {
        match self.cell() {
            Some(cell) => cell.borrow_mut().replace(value),
            None => {
                self.insert(Some(value));
                None
            }
        }
    }

    /// Removes this thread's value and returns it (Python's `del local.x`). With an
    /// initialiser, the next use makes a fresh one.
    ///
    /// # Panics
    ///
    /// As [`set`](Local::set).
    pub fn take(&self) -> Option<T> {
        self.cell()?.borrow_mut().take()
    }

    /// Whether this thread has a value (without running the initialiser).
    pub fn is_set(&self) -> bool {
        self.cell().is_some_and(|cell| cell.borrow().is_some())
    }

    /// Calls `f` with this thread's value and returns its result; `None` when this thread
    /// has no value and there is no initialiser (Python's `AttributeError`).
    ///
    /// `f` may use other `Local`s, and read this one again.
    ///
    /// # Panics
    ///
    /// When this thread's value is mutably borrowed by an enclosing
    /// [`with_mut`](Local::with_mut), like `RefCell`.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let cell = self.cell_or_init()?;
        let slot = cell.borrow();
        slot.as_ref().map(f)
    }

    /// Calls `f` with this thread's value, mutably; `None` when there is no value and no
    /// initialiser.
    ///
    /// # Panics
    ///
    /// When this thread's value is already borrowed by an enclosing [`with`](Local::with)
    /// or `with_mut`, like `RefCell`.
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let cell = self.cell_or_init()?;
        let mut slot = cell.borrow_mut();
        slot.as_mut().map(f)
    }

    /// A clone of this thread's value (Python's `local.x`); `None` when there is no value
    /// and no initialiser.
    pub fn get(&self) -> Option<T>
    where
        T: Clone,
    {
        self.with(T::clone)
    }
}

impl<T: 'static> Default for Local<T> {
    fn default() -> Self {
        Local::new()
    }
}

impl<T: 'static> Drop for Local<T> {
    fn drop(&mut self) {
        let id = self.key.id;
        // Take the slot out first and drop it with no borrow held: a value's destructor may
        // use other `Local`s.
        let slot = SLOTS
            .try_with(|slots| slots.borrow_mut().map.remove(&id))
            .ok()
            .flatten();
        drop(slot);
    }
}

impl<T: 'static> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local")
            .field("id", &self.key.id)
            .field("has_init", &self.key.init.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_removes_only_slots_whose_local_is_gone() {
        let alive = Local::new();
        alive.set(1u32);
        let mut slots = Slots::default();
        let dead_key: Arc<Key<u32>> = Arc::new(Key {
            id: u64::MAX,
            init: None,
            _values: PhantomData,
        });
        let owner = owner_of(&dead_key);
        slots.map.insert(
            u64::MAX,
            Slot {
                owner,
                value: Rc::new(RefCell::new(Some(5u32))),
            },
        );
        let live_owner = owner_of(&alive.key);
        slots.map.insert(
            alive.key.id,
            Slot {
                owner: live_owner,
                value: Rc::new(RefCell::new(Some(1u32))),
            },
        );
        assert!(slots.purge_dead().is_empty(), "both owners alive");
        drop(dead_key);
        let removed = slots.purge_dead();
        assert_eq!(removed.len(), 1);
        assert!(slots.map.contains_key(&alive.key.id));
        assert!(!slots.map.contains_key(&u64::MAX));
    }
}
