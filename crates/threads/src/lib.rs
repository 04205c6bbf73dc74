//! Chapter 1 — threads: Python's `threading` thread surface for Rust.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
