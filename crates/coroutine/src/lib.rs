//! # skein-coroutine — chapter 6: generators, greenlets and the hub
//!
//! Python's generators (`yield`, `send`, `throw`, `close`), greenlet and gevent, rebuilt
//! in Rust as stackful coroutines. The chapter teaches the notes' last model of
//! concurrency: one thread, many tasks, each giving up the CPU at a point it chooses
//! (协程: "a function that can pause and resume"), so switching costs nanoseconds and
//! needs no lock.
//!
//! The crate is being built; its modules and the full `Python → skein` table arrive with
//! them.
//!
//! ## Unsafe boundary
//!
//! `#![deny(unsafe_code)]` holds everywhere but in `stack/` (memory mappings, guard
//! pages, the stack-overflow signal handler).
//!
//! ## Python → skein
//!
//! | Python | skein |
//! |---|---|
#![deny(unsafe_code)]

mod error;
mod generator;
pub mod greenlet;
#[allow(unsafe_code)]
pub mod hub;
#[allow(unsafe_code)]
pub mod stack;

pub use error::{KillError, ParentError, SendError, StackError, StartError};
pub use generator::{Co, Generator, GeneratorBuilder, GeneratorState, Thrown};
pub use greenlet::{Greenlet, GreenletBuilder};
