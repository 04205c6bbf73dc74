//! A greenlet's shared state, the thread's greenlet registry, and the trampoline that
//! turns corosensei's asymmetric resume/suspend into greenlet's symmetric switch.
//!
//! Every non-root greenlet is a corosensei coroutine. The thread's root greenlet (the
//! code that was running before any greenlet) drives them all: `switch` from the root
//! runs [`trampoline`], which resumes the target; a greenlet that switches elsewhere
//! suspends back to the trampoline with a [`Request`] naming the next target, and a
//! greenlet that finishes returns to it with its result, which goes to its parent. So a
//! switch between two non-root greenlets is one suspend plus one resume.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::current;
use crate::stack::PooledStack;

/// What a greenlet receives when switched to.
pub(crate) enum Message {
    /// `switch(value)`: the value waits in the receiver's [`Inbox`] (no allocation per
    /// switch).
    Value,
    /// The return value of a finished child (its stack is gone by the time the parent
    /// reads it, so it travels boxed; once per greenlet, not per switch).
    Returned(Box<dyn Any>),
    /// `throw(err)` / the panic of a finished child: raised where the receiver switched.
    Throw(Box<dyn Any + Send>),
}

/// What a suspending greenlet asks the trampoline for.
pub(crate) struct Request {
    /// The live greenlet to run next.
    pub(crate) to: Rc<Node>,
    pub(crate) msg: Message,
}

/// How a greenlet's `run` ended.
pub(crate) enum Finish {
    Returned(Box<dyn Any>),
    Panicked(Box<dyn Any + Send>),
}

/// Where a switched value waits for its receiver: a `Cell<Option<T>>` allocated at the
/// greenlet's first `switch` and reused by every later one (a greenlet group agrees on
/// `T`; the root, which fits every `T`, re-allocates only when the type changes).
#[derive(Default)]
pub(crate) struct Inbox(Cell<Option<Box<dyn Any>>>);

impl Inbox {
    /// Leaves `value` for the owner's next receive.
    pub(crate) fn put<T: 'static>(&self, value: T) {
        let mut slot = self.0.take();
        match slot
            .as_deref()
            .and_then(|s| s.downcast_ref::<Cell<Option<T>>>())
        {
            Some(cell) => cell.set(Some(value)),
            None => slot = Some(Box::new(Cell::new(Some(value)))),
        }
        self.0.set(slot);
    }

    /// Takes the value left by the last `put`, if it has type `T`.
    pub(crate) fn take<T: 'static>(&self) -> Option<T> {
        let slot = self.0.take();
        let value = slot
            .as_deref()
            .and_then(|s| s.downcast_ref::<Cell<Option<T>>>())
            .and_then(Cell::take);
        self.0.set(slot);
        value
    }
}

pub(crate) type GreenCoroutine = Coroutine<Message, Request, Finish, PooledStack>;
pub(crate) type GreenYielder = Yielder<Message, Request>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Created,
    Active,
    Dead,
}

pub(crate) struct Node {
    pub(crate) id: u64,
    pub(crate) is_root: bool,
    pub(crate) type_id: Option<TypeId>,
    pub(crate) parent: RefCell<Option<Rc<Node>>>,
    /// The coroutine; borrowed by the trampoline while it runs, `None` when dead.
    pub(crate) co: RefCell<Option<GreenCoroutine>>,
    pub(crate) status: Cell<Status>,
    /// Set while `kill` unwinds this greenlet: a panic then is corosensei's forced unwind.
    pub(crate) unwinding: Cell<bool>,
    /// The running coroutine's yielder (set on its first resume).
    pub(crate) yielder: Cell<*const GreenYielder>,
    /// The greenlet's stack, `[lo, hi)` (guard included); `(0, 0)` for the root.
    pub(crate) stack: (usize, usize),
    /// The value switched to this greenlet, until it reads it.
    pub(crate) inbox: Inbox,
}

/// The thread's greenlets: its root, and the one running now (one thread-local, so a
/// switch looks it up once).
struct Registry {
    root: Rc<Node>,
    current: RefCell<Rc<Node>>,
}

thread_local! {
    static REGISTRY: Registry = {
        let root = Rc::new(Node {
            id: 0,
            is_root: true,
            type_id: None,
            parent: RefCell::new(None),
            co: RefCell::new(None),
            status: Cell::new(Status::Active),
            unwinding: Cell::new(false),
            yielder: Cell::new(std::ptr::null()),
            stack: (0, 0),
            inbox: Inbox::default(),
        });
        Registry { current: RefCell::new(root.clone()), root }
    };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

pub(crate) fn next_id() -> u64 {
    NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// The thread's root greenlet.
pub(crate) fn root() -> Rc<Node> {
    REGISTRY.with(|r| r.root.clone())
}

/// The running greenlet (the root when none runs).
pub(crate) fn current() -> Rc<Node> {
    REGISTRY.with(|r| r.current.borrow().clone())
}

/// Runs `f` on the running greenlet without taking a handle to it. `f` must not switch.
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Node>) -> R) -> R {
    REGISTRY.with(|r| f(&r.current.borrow()))
}

/// Makes `n` the running greenlet.
fn set_current(n: Rc<Node>) {
    REGISTRY.with(|r| drop(r.current.replace(n)));
}

/// The greenlet a switch to `n` really goes to: `n`, or its first live ancestor when
/// `n` is dead (greenlet's rule).
pub(crate) fn live_target(n: &Rc<Node>) -> Rc<Node> {
    if n.status.get() != Status::Dead {
        return n.clone();
    }
    let mut n = n.clone();
    while n.status.get() == Status::Dead {
        let p = n.parent.borrow().clone();
        n = p.unwrap_or_else(root);
    }
    n
}

/// Switches from the current greenlet to `to` (or its first live ancestor) with
/// `value`; returns the value the current greenlet is switched back with.
///
/// The hot path of greenlet: the value waits in the receiver's [`Inbox`], so a switch
/// allocates nothing; the running greenlet is looked up once and not cloned.
pub(crate) fn switch_value<T: 'static>(to: &Rc<Node>, value: T) -> T {
    let target = live_target(to);
    // Check first (before the value is left anywhere) that we may switch from here.
    let from = with_current(|cur| {
        if Rc::ptr_eq(cur, &target) {
            None
        } else if cur.is_root {
            Some(None)
        } else {
            Some(Some(current::on_own_stack(cur)))
        }
    });
    let msg = match from {
        None => return value, // switch to oneself
        Some(from) => {
            target.inbox.put(value);
            match from {
                None => trampoline(target, Message::Value),
                Some(token) => current::suspend(
                    token,
                    Request {
                        to: target,
                        msg: Message::Value,
                    },
                ),
            }
        }
    };
    receive(msg)
}

/// Switches from the current greenlet to `to` (or its first live ancestor) with `msg`;
/// returns what the current greenlet receives when it is switched back to.
pub(crate) fn switch_to(to: &Rc<Node>, msg: Message) -> Message {
    let target = live_target(to);
    let from = with_current(|cur| {
        if Rc::ptr_eq(cur, &target) {
            None
        } else if cur.is_root {
            Some(None)
        } else {
            Some(Some(current::on_own_stack(cur)))
        }
    });
    match from {
        None => msg,
        Some(None) => trampoline(target, msg),
        Some(Some(token)) => current::suspend(token, Request { to: target, msg }),
    }
}

/// What a greenlet does with the message it was switched back with: take the value
/// from its inbox, or re-raise a throw.
pub(crate) fn receive<T: 'static>(msg: Message) -> T {
    match msg {
        Message::Value => match with_current(|cur| cur.inbox.take::<T>()) {
            Some(v) => v,
            None => wrong_type::<T>(),
        },
        Message::Returned(v) => match v.downcast::<T>() {
            Ok(v) => *v,
            Err(_) => wrong_type::<T>(),
        },
        Message::Throw(p) => std::panic::resume_unwind(p),
    }
}

#[cold]
fn wrong_type<T>() -> ! {
    panic!(
        "a greenlet received a value of another type than {}: greenlets that switch to \
         each other must share their value type",
        std::any::type_name::<T>()
    )
}

/// Runs greenlets on the root's stack until one switches to the root (or the last one
/// finishes into it).
fn trampoline(mut target: Rc<Node>, mut msg: Message) -> Message {
    loop {
        debug_assert!(!target.is_root && target.status.get() != Status::Dead);
        target.status.set(Status::Active);
        set_current(target.clone());
        // The coroutine stays in its node while it runs (no move per switch): only the
        // running greenlet's own coroutine is borrowed, and nothing borrows that one
        // while it runs (`kill` refuses the current greenlet; the node cannot be dropped
        // while `target` holds it).
        let res = target
            .co
            .borrow_mut()
            .as_mut()
            .expect("a live greenlet has its coroutine")
            .resume(msg);
        match res {
            CoroutineResult::Yield(Request { to, msg: m }) => {
                target = to;
                msg = m;
            }
            CoroutineResult::Return(finish) => {
                // The stack goes back to the pool.
                let co = target.co.borrow_mut().take();
                drop(co);
                target.status.set(Status::Dead);
                msg = match finish {
                    Finish::Returned(v) => Message::Returned(v),
                    Finish::Panicked(p) => Message::Throw(p),
                };
                let parent = target.parent.borrow().clone().unwrap_or_else(root);
                target = live_target(&parent);
            }
        }
        if target.is_root {
            set_current(target);
            return msg;
        }
    }
}

/// Unwinds a suspended (or never started) greenlet in place, running its destructors.
pub(crate) fn kill_in_place(n: &Rc<Node>) {
    let co = n.co.borrow_mut().take();
    if let Some(mut co) = co {
        let prev = current();
        n.unwinding.set(true);
        set_current(n.clone());
        co.force_unwind();
        set_current(prev);
        n.unwinding.set(false);
    }
    n.status.set(Status::Dead);
}
