//! `cargo xtask bench`: the criterion bench targets of `skein-benches`, one after
//! another with progress shown, then CPython's side (`python.rs`).
//!
//! - `--quick`: criterion's quick mode (each benchmark stops as soon as its estimate
//!   is stable, 2 s at most unless its group asks for more), no criterion plots, and
//!   the Python scripts' `--quick`; the whole run fits in 10 minutes on 2 cores.
//! - `--smoke`: one small group per target in quick mode, and the CPython side in
//!   `--quick`; what `.ci/run` runs so that neither the benches nor the report rot.
//! - `--chapter NAME`: one target (the CPython side is then left out).
//! - `--python`: the CPython side only; `--no-python`: the Rust side only.

mod criterion;
mod lines;
mod progress;
mod python;

use std::time::Instant;

use crate::meta::{Metadata, workspace_root};
use progress::elapsed;

/// How much of each target to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Criterion's defaults.
    Full,
    /// Criterion's quick mode.
    Quick,
    /// One small group per target, quick.
    Smoke,
}

/// What `cargo xtask bench` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) depth: Depth,
    pub(crate) chapter: Option<String>,
    pub(crate) python_only: bool,
    pub(crate) no_python: bool,
}

pub(crate) fn run(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let metadata = Metadata::load()?;
    let mut failures = Vec::new();
    if !options.python_only {
        let targets = criterion::targets(&metadata, options.chapter.as_deref())?;
        if options.chapter.is_none() {
            // The report leaves out criterion results older than this run (a smoke run
            // measures one group per target; the rest on disk are an older run's).
            let out = crate::report::Paths::under(&metadata.target_directory).out;
            let stamp = crate::report::bench_stamp(&out);
            std::fs::create_dir_all(&out)
                .and_then(|()| std::fs::write(&stamp, b""))
                .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
        }
        if let Err(e) = criterion::run(&targets, options.depth) {
            failures.push(e);
        }
    }
    let python = options.python_only || (options.chapter.is_none() && !options.no_python);
    if python {
        let target = &metadata.target_directory;
        let quick = options.depth != Depth::Full;
        if let Err(e) = python::run(
            &workspace_root().join("benches").join("python"),
            target,
            &crate::report::Paths::under(target).out,
            quick,
        ) {
            failures.push(e);
        }
    }
    println!(
        "\n`cargo xtask bench` took {}; `cargo xtask report` writes the report",
        elapsed(started.elapsed())
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}
