//! skein-benches: criterion benchmarks that put every skein primitive beside its peers.
//!
//! Each chapter has one bench target in `benches/` (`threads`, `locks`, `queue`, `pool`,
//! `process`, …). Every criterion group holds skein and its peers side by side, with the
//! skein entry's function id starting with `skein`, so `cargo xtask report` can turn each
//! group into ratios. Run them with `cargo bench -p skein-benches` or
//! `cargo xtask bench [--quick] [--chapter NAME]`.
//!
//! This library target gives the package a home and holds workloads that more than one
//! harness runs: [`scenarios`] (the CPU-bound scenario) is shared by two bench targets, and
//! [`fifo`] is timed both by the criterion queue groups and by the interleaved A/B runner
//! `examples/queue_ab.rs`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod fifo;
pub mod scenarios;
