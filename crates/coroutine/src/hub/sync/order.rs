//! The orders of the hub's [`Queue`](super::Queue): FIFO, LIFO, priority.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

mod sealed {
    pub trait Sealed {}
}

/// The order in which a [`Queue`](super::Queue) hands out its items: [`Fifo`],
/// [`Lifo`] or [`Priority`]. Sealed.
pub trait Order<T>: sealed::Sealed {
    /// Where the items are kept.
    #[doc(hidden)]
    type Items: Default;
    /// The type's name in `Debug`.
    #[doc(hidden)]
    const NAME: &'static str;
    /// Stores an item.
    #[doc(hidden)]
    fn push(items: &mut Self::Items, item: T);
    /// Takes the next item.
    #[doc(hidden)]
    fn pop(items: &mut Self::Items) -> Option<T>;
    /// The next item, left in place.
    #[doc(hidden)]
    fn peek(items: &Self::Items) -> Option<&T>;
}

/// First in, first out: gevent's `Queue` (the default order of [`Queue`](super::Queue)).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;

/// Last in, first out: gevent's `LifoQueue` ([`LifoQueue`](super::LifoQueue)).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifo;

/// Smallest first: gevent's `PriorityQueue` ([`PriorityQueue`](super::PriorityQueue)).
#[derive(Debug, Clone, Copy, Default)]
pub struct Priority;

impl sealed::Sealed for Fifo {}
impl sealed::Sealed for Lifo {}
impl sealed::Sealed for Priority {}

impl<T> Order<T> for Fifo {
    type Items = VecDeque<T>;
    const NAME: &'static str = "Queue";
    fn push(items: &mut VecDeque<T>, item: T) {
        items.push_back(item);
    }
    fn pop(items: &mut VecDeque<T>) -> Option<T> {
        items.pop_front()
    }
    fn peek(items: &VecDeque<T>) -> Option<&T> {
        items.front()
    }
}

impl<T> Order<T> for Lifo {
    type Items = Vec<T>;
    const NAME: &'static str = "LifoQueue";
    fn push(items: &mut Vec<T>, item: T) {
        items.push(item);
    }
    fn pop(items: &mut Vec<T>) -> Option<T> {
        items.pop()
    }
    fn peek(items: &Vec<T>) -> Option<&T> {
        items.last()
    }
}

impl<T: Ord> Order<T> for Priority {
    type Items = BinaryHeap<Reverse<T>>;
    const NAME: &'static str = "PriorityQueue";
    fn push(items: &mut BinaryHeap<Reverse<T>>, item: T) {
        items.push(Reverse(item));
    }
    fn pop(items: &mut BinaryHeap<Reverse<T>>) -> Option<T> {
        items.pop().map(|Reverse(item)| item)
    }
    fn peek(items: &BinaryHeap<Reverse<T>>) -> Option<&T> {
        items.peek().map(|Reverse(item)| item)
    }
}
