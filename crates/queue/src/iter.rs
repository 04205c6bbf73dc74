//! Draining iterators over any queue kind.

use std::fmt;
use std::iter::FusedIterator;

use crate::blocking::Source;

/// Blocking iterator: yields items as they arrive and ends once the queue is shut down
/// and empty (Python: `for item in iter(q.get, sentinel)` without the sentinel).
///
/// Created by [`Queue::iter`](crate::Queue::iter) and its siblings, or by `for x in &q`.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct Iter<'a, T> {
    pub(crate) src: &'a (dyn Source<T> + 'a),
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.src.get().ok()
    }
}

impl<T> FusedIterator for Iter<'_, T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Iter { .. }")
    }
}

/// Non-blocking iterator: yields what is in the queue now and ends at the first
/// empty (or shut-down) result.
///
/// Created by [`Queue::try_iter`](crate::Queue::try_iter) and its siblings.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct TryIter<'a, T> {
    pub(crate) src: &'a (dyn Source<T> + 'a),
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.src.try_get().ok()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryIter { .. }")
    }
}
