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
    /// `switch(value)` / the return value of a finished child.
    Value(Box<dyn Any>),
    /// `throw(err)` / the panic of a finished child: raised where the receiver switched.
    Throw(Box<dyn Any + Send>),
}

/// What a suspending greenlet asks the trampoline for.
pub(crate) struct Request {
    pub(crate) to: Rc<Node>,
    pub(crate) msg: Message,
}

/// How a greenlet's `run` ended.
pub(crate) enum Finish {
    Returned(Box<dyn Any>),
    Panicked(Box<dyn Any + Send>),
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
    /// The coroutine; taken out by the trampoline while it runs, `None` when dead.
    pub(crate) co: RefCell<Option<GreenCoroutine>>,
    pub(crate) status: Cell<Status>,
    /// Set while `kill` unwinds this greenlet: a panic then is corosensei's forced unwind.
    pub(crate) unwinding: Cell<bool>,
    /// The running coroutine's yielder (set on its first resume).
    pub(crate) yielder: Cell<*const GreenYielder>,
    /// The greenlet's stack, `[lo, hi)` (guard included); `(0, 0)` for the root.
    pub(crate) stack: (usize, usize),
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Node>>> = const { RefCell::new(None) };
    static ROOT: RefCell<Option<Rc<Node>>> = const { RefCell::new(None) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

pub(crate) fn next_id() -> u64 {
    NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// The thread's root greenlet, made on first use.
pub(crate) fn root() -> Rc<Node> {
    ROOT.with(|r| {
        r.borrow_mut()
            .get_or_insert_with(|| {
                Rc::new(Node {
                    id: 0,
                    is_root: true,
                    type_id: None,
                    parent: RefCell::new(None),
                    co: RefCell::new(None),
                    status: Cell::new(Status::Active),
                    unwinding: Cell::new(false),
                    yielder: Cell::new(std::ptr::null()),
                    stack: (0, 0),
                })
            })
            .clone()
    })
}

/// The running greenlet (the root when none runs).
pub(crate) fn current() -> Rc<Node> {
    CURRENT.with(|c| c.borrow().clone()).unwrap_or_else(root)
}

fn set_current(n: Rc<Node>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(n));
}

/// The greenlet a switch to `n` really goes to: `n`, or its first live ancestor when
/// `n` is dead (greenlet's rule).
pub(crate) fn live_target(mut n: Rc<Node>) -> Rc<Node> {
    while n.status.get() == Status::Dead {
        let p = n.parent.borrow().clone();
        n = p.unwrap_or_else(root);
    }
    n
}

/// Switches from the current greenlet to `target` with `msg`; returns what the current
/// greenlet receives when it is switched back to.
pub(crate) fn switch_to(target: Rc<Node>, msg: Message) -> Message {
    let cur = current();
    let target = live_target(target);
    if Rc::ptr_eq(&target, &cur) {
        return msg;
    }
    if cur.is_root {
        trampoline(target, msg)
    } else {
        current::suspend(cur, Request { to: target, msg })
    }
}

/// Runs greenlets on the root's stack until one switches to the root (or the last one
/// finishes into it).
fn trampoline(mut target: Rc<Node>, mut msg: Message) -> Message {
    let root = root();
    loop {
        debug_assert!(!target.is_root && target.status.get() != Status::Dead);
        let mut co = target
            .co
            .borrow_mut()
            .take()
            .expect("a live greenlet has its coroutine");
        target.status.set(Status::Active);
        set_current(target.clone());
        let res = co.resume(msg);
        match res {
            CoroutineResult::Yield(Request { to, msg: m }) => {
                *target.co.borrow_mut() = Some(co);
                target = live_target(to);
                msg = m;
            }
            CoroutineResult::Return(finish) => {
                drop(co); // the stack goes back to the pool
                target.status.set(Status::Dead);
                msg = match finish {
                    Finish::Returned(v) => Message::Value(v),
                    Finish::Panicked(p) => Message::Throw(p),
                };
                let parent = target
                    .parent
                    .borrow()
                    .clone()
                    .unwrap_or_else(|| root.clone());
                target = live_target(parent);
            }
        }
        if target.is_root {
            set_current(root);
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
