//! Python's `greenlet`: symmetric coroutines that switch to each other by name.
//!
//! A [`Greenlet`] runs a function on its own pooled stack. `g.switch(v)` transfers
//! control to `g` (starting it, or resuming its pending `switch`, which returns `v`) and
//! returns when someone switches back. When a greenlet's function returns, its value
//! goes to its [`parent`](Greenlet::parent) — by default the greenlet that created it —
//! as the return value of the parent's pending `switch`. A panic does the same as an
//! exception in Python: it propagates to the parent.

#[allow(unsafe_code)]
mod current;
mod node;
#[cfg(test)]
mod test;

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::rc::{Rc, Weak};

use corosensei::Coroutine;
use corosensei::stack::Stack;

use self::node::{Finish, GreenYielder, Inbox, Message, Node, Status};
use crate::error::{KillError, ParentError, StackError};
use crate::stack::{self, DEFAULT_STACK_SIZE};

/// A greenlet: a function on its own stack that switches to and from other greenlets
/// explicitly (Python's `greenlet.greenlet`).
///
/// `T` is the type of the values switched between the greenlets of one group (Python
/// passes any object; in Rust the group agrees on a type, `()` by default). Handles are
/// cheap to clone (`Rc`) and `!Send`: a greenlet is pinned to the thread that made it,
/// as in Python.
///
/// # Examples
///
/// ```
/// use skein_coroutine::Greenlet;
///
/// // Python: g = greenlet(lambda x: x * 2); g.switch(21) == 42
/// let g = Greenlet::new(|x: i32| x * 2);
/// assert_eq!(g.switch(21), 42);
/// assert!(g.is_dead());
/// ```
pub struct Greenlet<T: 'static = ()> {
    node: Rc<Node>,
    marker: PhantomData<fn(T) -> T>,
}

impl<T: 'static> Clone for Greenlet<T> {
    fn clone(&self) -> Self {
        Greenlet {
            node: self.node.clone(),
            marker: PhantomData,
        }
    }
}

/// Configures a [`Greenlet`] before it is made (stack size, parent).
///
/// # Examples
///
/// ```
/// use skein_coroutine::Greenlet;
///
/// let g = Greenlet::<u8>::builder().stack_size(64 * 1024).build(|x| x + 1)?;
/// assert_eq!(g.switch(1), 2);
/// # Ok::<(), skein_coroutine::StackError>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct GreenletBuilder<T: 'static> {
    stack_size: usize,
    parent: Option<Greenlet<T>>,
}

impl<T: 'static> fmt::Debug for GreenletBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenletBuilder")
            .field("stack_size", &self.stack_size)
            .field("parent", &self.parent)
            .finish()
    }
}

impl<T: 'static> GreenletBuilder<T> {
    /// Usable bytes of the greenlet's stack (default
    /// [`DEFAULT_STACK_SIZE`]).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// The greenlet that receives control and the return value when this one finishes
    /// (Python's `greenlet(run, parent)`); default: the greenlet running `build`.
    pub fn parent(mut self, parent: &Greenlet<T>) -> Self {
        self.parent = Some(parent.clone());
        self
    }

    /// Makes the greenlet; `run` starts at the first `switch`, receiving its value.
    ///
    /// # Errors
    ///
    /// [`StackError`] when no stack can be mapped.
    pub fn build<F>(self, run: F) -> Result<Greenlet<T>, StackError>
    where
        F: FnOnce(T) -> T + 'static,
    {
        let stack = stack::acquire(self.stack_size)?;
        let bounds = (stack.limit().get(), stack.base().get());
        let parent = self.parent.map(|p| p.node).unwrap_or_else(node::current);
        let node = Rc::new_cyclic(|weak: &Weak<Node>| {
            let weak = weak.clone();
            let co = Coroutine::with_stack(stack, move |y: &GreenYielder, first: Message| {
                if let Some(n) = weak.upgrade() {
                    current::set_yielder(&n, y);
                }
                if let Message::Throw(p) = first {
                    // Python: throw() into a greenlet that never ran kills it before it
                    // starts; the exception goes to the parent.
                    return Finish::Panicked(p);
                }
                match panic::catch_unwind(AssertUnwindSafe(move || run(node::receive::<T>(first))))
                {
                    Ok(r) => Finish::Returned(Box::new(r)),
                    Err(p) => {
                        // kill() or the last handle's drop unwinds us with corosensei's
                        // own payload, which must reach corosensei's root.
                        let forced = weak.upgrade().is_none_or(|n| n.unwinding.get());
                        if forced {
                            panic::resume_unwind(p)
                        }
                        Finish::Panicked(p)
                    }
                }
            });
            Node {
                id: node::next_id(),
                is_root: false,
                type_id: Some(TypeId::of::<T>()),
                parent: RefCell::new(Some(parent)),
                co: RefCell::new(Some(co)),
                status: Cell::new(Status::Created),
                unwinding: Cell::new(false),
                yielder: Cell::new(std::ptr::null()),
                stack: bounds,
                inbox: Inbox::default(),
            }
        });
        Ok(Greenlet {
            node,
            marker: PhantomData,
        })
    }
}

impl<T: 'static> Greenlet<T> {
    /// Makes a greenlet that will run `run` (Python: `greenlet(run)`); it starts at the
    /// first [`switch`](Greenlet::switch), whose value becomes `run`'s argument. Its
    /// parent is the greenlet running now.
    ///
    /// # Panics
    ///
    /// If no stack can be mapped; use [`try_new`](Greenlet::try_new) or the
    /// [builder](Greenlet::builder) to get the [`StackError`].
    pub fn new<F>(run: F) -> Self
    where
        F: FnOnce(T) -> T + 'static,
    {
        match Self::try_new(run) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`new`](Greenlet::new) returning the [`StackError`] instead of panicking.
    ///
    /// # Errors
    ///
    /// [`StackError`] when no stack can be mapped.
    pub fn try_new<F>(run: F) -> Result<Self, StackError>
    where
        F: FnOnce(T) -> T + 'static,
    {
        Self::builder().build(run)
    }

    /// A builder to set the stack size or the parent.
    pub fn builder() -> GreenletBuilder<T> {
        GreenletBuilder {
            stack_size: DEFAULT_STACK_SIZE,
            parent: None,
        }
    }

    /// The running greenlet (Python: `greenlet.getcurrent()`); the thread's root
    /// greenlet when none runs.
    ///
    /// # Panics
    ///
    /// If the running greenlet was made as a `Greenlet<U>` with another `U` (the root
    /// fits every `T`).
    pub fn current() -> Self {
        let node = node::current();
        if let Some(t) = node.type_id {
            assert!(
                t == TypeId::of::<T>(),
                "Greenlet::<{}>::current() called in a greenlet of another value type",
                std::any::type_name::<T>()
            );
        }
        Greenlet {
            node,
            marker: PhantomData,
        }
    }

    /// Python's `g.switch(value)`: transfers control to this greenlet. If it has not
    /// started, `run(value)` starts; if it is paused in a `switch`, that `switch`
    /// returns `value`. Returns the value passed by whoever switches back to the caller
    /// (or the return value of a child that finished into it). Switching to a dead
    /// greenlet goes to its parent (greenlet's rule); switching to oneself returns
    /// `value` at once.
    ///
    /// # Panics
    ///
    /// Re-raises a panic (or a [`throw`](Greenlet::throw)) that reaches the caller: a
    /// child that panicked, as Python re-raises a child's exception in its parent. Also
    /// panics when called from a generator running inside a greenlet (switch from the
    /// greenlet's own code).
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::Greenlet;
    ///
    /// let main = Greenlet::<i32>::current();
    /// let g = Greenlet::new(move |x| {
    ///     let y = main.switch(x + 1); // to the main greenlet and back
    ///     y * 10
    /// });
    /// assert_eq!(g.switch(1), 2);
    /// assert_eq!(g.switch(3), 30); // g finished: its result came to its parent
    /// ```
    pub fn switch(&self, value: T) -> T {
        node::switch_value(&self.node, value)
    }

    /// Python's `g.throw(err)`: switches to this greenlet and raises `err` (as a panic
    /// payload, without running the panic hook) at its pending `switch`. Unless it
    /// catches it (`std::panic::catch_unwind`), the greenlet dies, its destructors run
    /// and the panic propagates to its parent. A greenlet that never ran dies at once.
    /// Returns like [`switch`](Greenlet::switch).
    ///
    /// # Panics
    ///
    /// As [`switch`](Greenlet::switch); throwing into the running greenlet raises `err`
    /// in the caller right away.
    pub fn throw<E: Any + Send>(&self, err: E) -> T {
        node::receive(node::switch_to(&self.node, Message::Throw(Box::new(err))))
    }

    /// Kills a paused or never-started greenlet in place: its stack is unwound from its
    /// pending `switch` (destructors run), it becomes dead, and control stays with the
    /// caller (Python's `g.throw(GreenletExit)` jumps into `g` and on to its parent;
    /// see "Differences from Python"). Killing a dead greenlet does nothing.
    ///
    /// # Errors
    ///
    /// [`KillError::Current`] for the running greenlet, [`KillError::Root`] for a
    /// thread's root greenlet.
    pub fn kill(&self) -> Result<(), KillError> {
        if self.node.is_root {
            return Err(KillError::Root);
        }
        if Rc::ptr_eq(&self.node, &node::current()) {
            return Err(KillError::Current);
        }
        node::kill_in_place(&self.node);
        Ok(())
    }

    /// Python's `g.dead`: its function returned, panicked or was killed.
    pub fn is_dead(&self) -> bool {
        self.node.status.get() == Status::Dead
    }

    /// Python's `bool(g)`: started and not dead.
    pub fn is_active(&self) -> bool {
        self.node.status.get() == Status::Active
    }

    /// True for the thread's root greenlet (the code that runs outside any greenlet).
    pub fn is_root(&self) -> bool {
        self.node.is_root
    }

    /// Python's `g.parent`: where control and the return value go when this greenlet
    /// finishes; `None` for the root.
    pub fn parent(&self) -> Option<Greenlet<T>> {
        self.node.parent.borrow().clone().map(|node| Greenlet {
            node,
            marker: PhantomData,
        })
    }

    /// Python's `g.parent = p`.
    ///
    /// # Errors
    ///
    /// [`ParentError::Cycle`] if `parent` is `self` or one of its descendants (Python's
    /// `ValueError: cyclic parent chain`), [`ParentError::Root`] for the root, which
    /// has no parent.
    pub fn set_parent(&self, parent: &Greenlet<T>) -> Result<(), ParentError> {
        if self.node.is_root {
            return Err(ParentError::Root);
        }
        let mut p = Some(parent.node.clone());
        while let Some(n) = p {
            if Rc::ptr_eq(&n, &self.node) {
                return Err(ParentError::Cycle);
            }
            p = n.parent.borrow().clone();
        }
        *self.node.parent.borrow_mut() = Some(parent.node.clone());
        Ok(())
    }

    /// True if both handles name the same greenlet.
    pub fn ptr_eq(&self, other: &Greenlet<T>) -> bool {
        Rc::ptr_eq(&self.node, &other.node)
    }
}

/// Python's `greenlet.getcurrent()`: the running greenlet, typed by the caller.
///
/// # Panics
///
/// As [`Greenlet::current`].
pub fn getcurrent<T: 'static>() -> Greenlet<T> {
    Greenlet::current()
}

impl<T: 'static> fmt::Debug for Greenlet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Like greenlet's repr: a live greenlet says whether it runs now.
        let running = if node::with_current(|cur| Rc::ptr_eq(cur, &self.node)) {
            "current"
        } else {
            "suspended"
        };
        let id = self.node.id;
        if self.node.is_root {
            return write!(f, "<Greenlet #{id} {running} root>");
        }
        match self.node.status.get() {
            Status::Created => write!(f, "<Greenlet #{id} created>"),
            Status::Active => write!(f, "<Greenlet #{id} {running} active>"),
            Status::Dead => write!(f, "<Greenlet #{id} dead>"),
        }
    }
}

impl<T: 'static> PartialEq for Greenlet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other)
    }
}

impl<T: 'static> Eq for Greenlet<T> {}
