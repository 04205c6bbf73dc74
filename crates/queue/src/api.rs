//! The method set shared by `Queue`, `LifoQueue` and `PriorityQueue`, written once.
//!
//! Each queue type is a handle `{ core: Arc<Core<T, Storage>> }`; this macro forwards
//! Python's `queue.Queue` API to the core, with the docs (and doctests) of every method.

macro_rules! queue_api {
    ($name:ident, [$($bound:tt)*]) => {
        impl<T: Send $($bound)*> $name<T> {
            #[doc = concat!("`maxsize` as Python reports it: the bound, or 0 when unbounded.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = skein_queue::", stringify!($name), "::<i32>::new(3);")]
            /// assert_eq!(q.maxsize(), 3);
            #[doc = concat!("assert_eq!(skein_queue::", stringify!($name), "::<i32>::unbounded().maxsize(), 0);")]
            /// ```
            pub fn maxsize(&self) -> usize {
                self.core.capacity().unwrap_or(0)
            }

            /// The bound, or `None` when unbounded.
            pub fn capacity(&self) -> Option<usize> {
                self.core.capacity()
            }

            /// Number of items in the queue now (Python `qsize()`).
            ///
            /// Exact when nothing else touches the queue; under concurrency it is a
            /// snapshot that was true at some moment during the call.
            pub fn len(&self) -> usize {
                self.core.len()
            }

            /// Python's name for [`len`](Self::len).
            pub fn qsize(&self) -> usize {
                self.core.len()
            }

            /// Whether the queue holds no item now (Python `empty()`).
            pub fn is_empty(&self) -> bool {
                self.core.is_empty()
            }

            /// Whether the queue holds `maxsize` items now (Python `full()`); never true
            /// for an unbounded queue.
            pub fn is_full(&self) -> bool {
                self.core.is_full()
            }

            /// Puts an item, waiting for room as long as it takes (Python `put(item)`).
            ///
            /// # Errors
            ///
            /// [`PutError`](crate::PutError) with the item if the queue is (or gets)
            /// shut down (Python `ShutDown`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = skein_queue::", stringify!($name), "::new(1);")]
            /// q.put(7).unwrap();
            /// q.shutdown();
            /// assert_eq!(q.put(8).unwrap_err().into_inner(), 8);
            /// ```
            pub fn put(&self, item: T) -> Result<(), crate::PutError<T>> {
                self.core.put_until(item, None).map_err(|e| crate::PutError(e.into_inner()))
            }

            /// Puts an item only if there is room now (Python `put_nowait(item)` /
            /// `put(item, block=False)`).
            ///
            /// # Errors
            ///
            /// [`TryPutError::Full`](crate::TryPutError::Full) or
            /// [`TryPutError::ShutDown`](crate::TryPutError::ShutDown), with the item.
            ///
            /// # Examples
            ///
            /// ```
            /// use skein_queue::TryPutError;
            #[doc = concat!("let q = skein_queue::", stringify!($name), "::new(1);")]
            /// q.try_put(1).unwrap();
            /// assert_eq!(q.try_put(2), Err(TryPutError::Full(2)));
            /// ```
            pub fn try_put(&self, item: T) -> Result<(), crate::TryPutError<T>> {
                self.core.try_put(item)
            }

            /// Puts an item, waiting at most `timeout` for room (Python
            /// `put(item, timeout=t)`).
            ///
            /// # Errors
            ///
            /// [`PutTimeoutError::Timeout`](crate::PutTimeoutError::Timeout) (Python
            /// `Full`) or [`PutTimeoutError::ShutDown`](crate::PutTimeoutError::ShutDown),
            /// with the item.
            ///
            /// # Examples
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let q = skein_queue::", stringify!($name), "::new(1);")]
            /// q.put(1).unwrap();
            /// let err = q.put_timeout(2, Duration::from_millis(10)).unwrap_err();
            /// assert!(err.is_timeout());
            /// assert_eq!(err.into_inner(), 2);
            /// ```
            pub fn put_timeout(
                &self,
                item: T,
                timeout: std::time::Duration,
            ) -> Result<(), crate::PutTimeoutError<T>> {
                self.core.put_until(item, crate::blocking::deadline_after(timeout))
            }

            /// Puts an item, waiting for room until `deadline`.
            ///
            /// # Errors
            ///
            /// As [`put_timeout`](Self::put_timeout).
            pub fn put_deadline(
                &self,
                item: T,
                deadline: std::time::Instant,
            ) -> Result<(), crate::PutTimeoutError<T>> {
                self.core.put_until(item, Some(deadline))
            }

            /// Takes the next item, waiting as long as it takes (Python `get()`).
            ///
            /// After [`shutdown`](Self::shutdown) it still returns what is left; after
            /// [`shutdown_immediate`](Self::shutdown_immediate) it fails at once.
            ///
            /// # Errors
            ///
            /// [`GetError`](crate::GetError) once the queue is shut down and empty
            /// (Python `ShutDown`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = skein_queue::", stringify!($name), "::new(0);")]
            /// q.put("job").unwrap();
            /// q.shutdown();
            /// assert_eq!(q.get(), Ok("job"));
            /// assert!(q.get().is_err());
            /// ```
            pub fn get(&self) -> Result<T, crate::GetError> {
                self.core.get()
            }

            /// Takes the next item if there is one now (Python `get_nowait()` /
            /// `get(block=False)`).
            ///
            /// # Errors
            ///
            /// [`TryGetError::Empty`](crate::TryGetError::Empty) (Python `Empty`) or
            /// [`TryGetError::ShutDown`](crate::TryGetError::ShutDown).
            pub fn try_get(&self) -> Result<T, crate::TryGetError> {
                self.core.try_get()
            }

            /// Takes the next item, waiting at most `timeout` (Python
            /// `get(timeout=t)`).
            ///
            /// # Errors
            ///
            /// [`GetTimeoutError::Timeout`](crate::GetTimeoutError::Timeout) (Python
            /// `Empty`) or [`GetTimeoutError::ShutDown`](crate::GetTimeoutError::ShutDown).
            ///
            /// # Examples
            ///
            /// ```
            /// use std::time::Duration;
            /// use skein_queue::GetTimeoutError;
            #[doc = concat!("let q = skein_queue::", stringify!($name), "::<u8>::new(2);")]
            /// assert_eq!(q.get_timeout(Duration::from_millis(5)), Err(GetTimeoutError::Timeout));
            /// ```
            pub fn get_timeout(
                &self,
                timeout: std::time::Duration,
            ) -> Result<T, crate::GetTimeoutError> {
                self.core.get_until(crate::blocking::deadline_after(timeout))
            }

            /// Takes the next item, waiting until `deadline`.
            ///
            /// # Errors
            ///
            /// As [`get_timeout`](Self::get_timeout).
            pub fn get_deadline(
                &self,
                deadline: std::time::Instant,
            ) -> Result<T, crate::GetTimeoutError> {
                self.core.get_until(Some(deadline))
            }

            /// Marks one item taken from the queue as processed (Python `task_done()`).
            ///
            /// Every `put` adds one unfinished task; every `task_done` removes one;
            /// [`join`](Self::join) waits for zero.
            ///
            /// # Errors
            ///
            /// [`TaskDoneError`](crate::TaskDoneError) when called more times than items
            /// were put (Python `ValueError`); the count is left unchanged.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = skein_queue::", stringify!($name), "::new(4);")]
            /// q.put(1).unwrap();
            /// let _ = q.get().unwrap();
            /// assert_eq!(q.unfinished_tasks(), 1);
            /// q.task_done().unwrap();
            /// assert!(q.task_done().is_err());
            /// q.join(); // returns at once: nothing unfinished
            /// ```
            pub fn task_done(&self) -> Result<(), crate::TaskDoneError> {
                self.core.task_done()
            }

            /// Items put and not yet marked [`task_done`](Self::task_done) (Python's
            /// `unfinished_tasks` attribute).
            pub fn unfinished_tasks(&self) -> usize {
                self.core.unfinished()
            }

            /// Waits until every item put has been marked done (Python `join()`).
            ///
            /// Returns as soon as the unfinished count reaches zero, even if new items are
            /// put before this thread wakes up.
            pub fn join(&self) {
                self.core.join_until(None);
            }

            /// [`join`](Self::join) waiting at most `timeout`; `true` if all tasks were
            /// done (Python has no such call: cpython#86586).
            #[must_use = "false means tasks are still unfinished"]
            pub fn join_timeout(&self, timeout: std::time::Duration) -> bool {
                self.core.join_until(crate::blocking::deadline_after(timeout))
            }

            /// [`join`](Self::join) waiting until `deadline`; `true` if all tasks were done.
            #[must_use = "false means tasks are still unfinished"]
            pub fn join_deadline(&self, deadline: std::time::Instant) -> bool {
                self.core.join_until(Some(deadline))
            }

            /// Shuts the queue down (Python 3.13 `shutdown()`): puts fail from now on,
            /// gets drain what is left and then fail; every blocked caller wakes up.
            pub fn shutdown(&self) {
                self.core.shutdown();
            }

            /// Shuts the queue down at once (Python 3.13 `shutdown(immediate=True)`):
            /// puts and gets fail from now on, the items left are removed and each one
            /// counts as done for [`join`](Self::join) (so `join` returns once the items
            /// already taken are done too).
            ///
            /// Unlike Python, which drops them, the removed items are handed back.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = skein_queue::", stringify!($name), "::new(0);")]
            /// q.put(1).unwrap();
            /// q.put(2).unwrap();
            /// let left = q.shutdown_immediate();
            /// assert_eq!(left.len(), 2);
            /// assert!(q.get().is_err());
            /// assert_eq!(q.unfinished_tasks(), 0);
            /// ```
            #[must_use = "the items left in the queue are returned, not dropped"]
            pub fn shutdown_immediate(&self) -> Vec<T> {
                self.core.shutdown_immediate()
            }

            /// Whether [`shutdown`](Self::shutdown) (or the immediate form) was called
            /// (Python's `is_shutdown` attribute).
            pub fn is_shutdown(&self) -> bool {
                self.core.is_shutdown()
            }

            /// A blocking iterator that takes items until the queue is shut down and
            /// empty; also `for item in &q`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = skein_queue::", stringify!($name), "::new(0);")]
            /// for i in 0..3 { q.put(i).unwrap(); }
            /// q.shutdown();
            /// assert_eq!(q.iter().count(), 3);
            /// ```
            pub fn iter(&self) -> crate::Iter<'_, T> {
                crate::Iter { src: &*self.core }
            }

            /// A non-blocking iterator over what is in the queue now.
            pub fn try_iter(&self) -> crate::TryIter<'_, T> {
                crate::TryIter { src: &*self.core }
            }

            /// Test support, not part of the API: how many callers are blocked in `get`, `put` or
            /// `join` and need a wakeup to go on (a getter or putter is counted once it stopped
            /// spinning and registered to sleep, until a `put`, `get` or `shutdown` picks it; a
            /// joiner while it waits). Tests wait for this count instead of sleeping, so that
            /// "blocked, then woken" is forced rather than made likely.
            #[doc(hidden)]
            pub fn waiters(&self) -> usize {
                self.core.waiters()
            }
        }

        impl<T> Clone for $name<T> {
            /// Another handle to the same queue (not a copy of its items).
            fn clone(&self) -> Self {
                Self { core: std::sync::Arc::clone(&self.core) }
            }
        }

        impl<T: Send $($bound)*> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("qsize", &self.len())
                    .field("maxsize", &self.maxsize())
                    .field("unfinished_tasks", &self.unfinished_tasks())
                    .field("is_shutdown", &self.is_shutdown())
                    .finish()
            }
        }

        impl<T: Send $($bound)*> Default for $name<T> {
            /// An unbounded queue.
            fn default() -> Self {
                Self::unbounded()
            }
        }

        impl<'a, T: Send $($bound)*> IntoIterator for &'a $name<T> {
            type Item = T;
            type IntoIter = crate::Iter<'a, T>;
            fn into_iter(self) -> Self::IntoIter {
                self.iter()
            }
        }
    };
}

pub(crate) use queue_api;
