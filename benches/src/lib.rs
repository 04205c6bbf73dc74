//! skein-benches: criterion benchmarks that put every skein primitive beside its peers.
//!
//! Each chapter has one bench target in `benches/` (`threads`, `locks`, `queue`, `pool`,
//! `process`, …). Every criterion group holds skein and its peers side by side, with the
//! skein entry's function id starting with `skein`, so `cargo xtask report` can turn each
//! group into ratios. Run them with `cargo bench -p skein-benches` or
//! `cargo xtask bench [--quick] [--chapter NAME]`.
//!
//! This library target gives the package a home and holds workloads that more than one
//! harness runs: [`scenarios`] (the CPU-bound scenario) is shared by two bench targets,
//! [`fifo`] is timed both by the criterion queue groups and by the interleaved A/B runner
//! `examples/queue_ab.rs`, and [`pipe_small`] both by `process/pipe_small_8b` and by
//! `examples/pipe_small_ab.rs`, and [`echo`] (the hub's echo beside tokio's) both by
//! `hub/echo_1000_clients` and by `examples/echo_ab.rs`. [`raw`] holds the fork,
//! socketpair and reaping every cross-process workload uses, [`stats`] the median the A/B
//! runners print. [`pipe_small`] (the raw
//! socketpair peer) and [`raw`] are the two modules allowed unsafe code.
//!
//! Workloads whose peers are dev-dependencies (which this library cannot use) live in
//! `workloads/` and are included with `#[path]` by the harnesses that time them:
//! `workloads/queue_small.rs` is `process/queue_100k_small` (skein's cross-process
//! `Queue` beside iceoryx2, ipc-channel, a raw socketpair and in-process crossbeam) and
//! `examples/queue_small_ab.rs`.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod echo;
pub mod fifo;
#[allow(unsafe_code)]
pub mod pipe_small;
#[allow(unsafe_code)]
pub mod raw;
pub mod scenarios;
pub mod stats;
