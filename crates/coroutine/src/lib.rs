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
//! ## Python → skein
//!
//! | Python | skein |
//! |---|---|

#[allow(unsafe_code)]
pub mod hub;
