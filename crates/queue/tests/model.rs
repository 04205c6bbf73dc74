//! Model-based tests: random operation sequences run against each queue kind and against a
//! plain sequential model of Python's `queue` semantics (3.13 shutdown included); every
//! result and every observable (qsize, empty, full, unfinished tasks, shutdown, join) must
//! match after every step.

use std::collections::VecDeque;
use std::time::Duration;

use proptest::prelude::*;
use skein_queue::{
    GetTimeoutError, LifoQueue, PriorityQueue, PutTimeoutError, Queue, SimpleQueue, TaskDoneError,
    TryGetError, TryPutError,
};

#[derive(Clone, Copy, Debug)]
enum Op {
    TryPut(u8),
    PutTimeoutZero(u8),
    TryGet,
    GetTimeoutZero,
    TaskDone,
    Shutdown,
    ShutdownImmediate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<u8>().prop_map(Op::TryPut),
        2 => any::<u8>().prop_map(Op::PutTimeoutZero),
        5 => Just(Op::TryGet),
        2 => Just(Op::GetTimeoutZero),
        3 => Just(Op::TaskDone),
        1 => Just(Op::Shutdown),
        1 => Just(Op::ShutdownImmediate),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    Fifo,
    Lifo,
    Smallest,
}

/// Python's `queue.Queue` as a plain sequential value.
struct Model {
    items: VecDeque<u8>,
    order: Order,
    cap: Option<usize>,
    shut: bool,
    immediate: bool,
    unfinished: usize,
}

/// Outcome of one step, comparable between model and real queue.
#[derive(Debug, PartialEq)]
enum Out {
    Put(Result<(), TryPutError<u8>>),
    PutT(Result<(), PutTimeoutError<u8>>),
    Get(Result<u8, TryGetError>),
    GetT(Result<u8, GetTimeoutError>),
    Done(Result<(), TaskDoneError>),
    Drained(Vec<u8>),
    Unit,
}

impl Model {
    fn new(order: Order, cap: Option<usize>) -> Self {
        Self {
            items: VecDeque::new(),
            order,
            cap,
            shut: false,
            immediate: false,
            unfinished: 0,
        }
    }

    fn full(&self) -> bool {
        self.cap.is_some_and(|c| self.items.len() >= c)
    }

    fn pop(&mut self) -> Option<u8> {
        match self.order {
            Order::Fifo => self.items.pop_front(),
            Order::Lifo => self.items.pop_back(),
            Order::Smallest => {
                let (i, _) = self.items.iter().enumerate().min_by_key(|(_, v)| **v)?;
                self.items.remove(i)
            }
        }
    }

    fn try_put(&mut self, v: u8) -> Result<(), TryPutError<u8>> {
        if self.shut {
            Err(TryPutError::ShutDown(v))
        } else if self.full() {
            Err(TryPutError::Full(v))
        } else {
            self.items.push_back(v);
            self.unfinished += 1;
            Ok(())
        }
    }

    fn try_get(&mut self) -> Result<u8, TryGetError> {
        if self.immediate {
            return Err(TryGetError::ShutDown);
        }
        match self.pop() {
            Some(v) => Ok(v),
            None if self.shut => Err(TryGetError::ShutDown),
            None => Err(TryGetError::Empty),
        }
    }

    fn step(&mut self, op: Op) -> Out {
        match op {
            Op::TryPut(v) => Out::Put(self.try_put(v)),
            Op::PutTimeoutZero(v) => Out::PutT(self.try_put(v).map_err(|e| match e {
                TryPutError::Full(v) => PutTimeoutError::Timeout(v),
                TryPutError::ShutDown(v) => PutTimeoutError::ShutDown(v),
            })),
            Op::TryGet => Out::Get(self.try_get()),
            Op::GetTimeoutZero => Out::GetT(self.try_get().map_err(|e| match e {
                TryGetError::Empty => GetTimeoutError::Timeout,
                TryGetError::ShutDown => GetTimeoutError::ShutDown,
            })),
            Op::TaskDone => Out::Done(if self.unfinished == 0 {
                Err(TaskDoneError)
            } else {
                self.unfinished -= 1;
                Ok(())
            }),
            Op::Shutdown => {
                self.shut = true;
                Out::Unit
            }
            Op::ShutdownImmediate => {
                self.shut = true;
                self.immediate = true;
                let drained: Vec<u8> = std::iter::from_fn(|| self.pop()).collect();
                self.unfinished = self.unfinished.saturating_sub(drained.len());
                Out::Drained(drained)
            }
        }
    }
}

/// Applies `ops` to the model and to a real queue, comparing after each step.
macro_rules! check_against_model {
    ($q:expr, $model:expr, $ops:expr) => {{
        let q = $q;
        let mut model = $model;
        for (i, &op) in $ops.iter().enumerate() {
            let zero = Duration::ZERO;
            let real = match op {
                Op::TryPut(v) => Out::Put(q.try_put(v)),
                Op::PutTimeoutZero(v) => Out::PutT(q.put_timeout(v, zero)),
                Op::TryGet => Out::Get(q.try_get()),
                Op::GetTimeoutZero => Out::GetT(q.get_timeout(zero)),
                Op::TaskDone => Out::Done(q.task_done()),
                Op::Shutdown => {
                    q.shutdown();
                    Out::Unit
                }
                Op::ShutdownImmediate => Out::Drained(q.shutdown_immediate()),
            };
            let want = model.step(op);
            prop_assert_eq!(&real, &want, "step {} ({:?})", i, op);
            prop_assert_eq!(q.len(), model.items.len(), "qsize after step {}", i);
            prop_assert_eq!(q.is_empty(), model.items.is_empty());
            prop_assert_eq!(q.is_full(), model.full());
            prop_assert_eq!(q.unfinished_tasks(), model.unfinished);
            prop_assert_eq!(q.is_shutdown(), model.shut);
            prop_assert_eq!(q.join_timeout(Duration::ZERO), model.unfinished == 0);
        }
    }};
}

fn cap() -> impl Strategy<Value = usize> {
    0usize..6 // 0 = unbounded
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 0..120)
}

fn bound(cap: usize) -> Option<usize> {
    (cap != 0).then_some(cap)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn fifo_queue_matches_model(cap in cap(), ops in ops()) {
        check_against_model!(Queue::new(cap), Model::new(Order::Fifo, bound(cap)), ops);
    }

    #[test]
    fn lifo_queue_matches_model(cap in cap(), ops in ops()) {
        check_against_model!(LifoQueue::new(cap), Model::new(Order::Lifo, bound(cap)), ops);
    }

    #[test]
    fn priority_queue_matches_model(cap in cap(), ops in ops()) {
        check_against_model!(
            PriorityQueue::new(cap),
            Model::new(Order::Smallest, bound(cap)),
            ops
        );
    }

    #[test]
    fn simple_queue_matches_model(ops in prop::collection::vec(prop::option::of(any::<u8>()), 0..120)) {
        // Some(v): put v; None: try_get.
        let q = SimpleQueue::new();
        let mut model = VecDeque::new();
        for op in ops {
            match op {
                Some(v) => {
                    q.put(v);
                    model.push_back(v);
                }
                None => prop_assert_eq!(q.try_get(), model.pop_front()),
            }
            prop_assert_eq!(q.len(), model.len());
            prop_assert_eq!(q.is_empty(), model.is_empty());
        }
    }
}
