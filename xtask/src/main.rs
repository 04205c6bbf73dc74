//! skein's task runner, reached as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask demos [--chapter NAME]` builds every chapter's examples once (release)
//!   and runs them in chapter order, each under a header taken from the example's own
//!   doc comment, each with a time bound; exits non-zero if any demo failed or overran.
//! - `cargo xtask demos --list` prints the map: every example of the five seed notes (seed,
//!   title, first code line) with the demo that reproduces it, or the chapter it waits on.
//! - `cargo xtask bench [--quick | --smoke] [--chapter NAME] [--python | --no-python]`
//!   runs the criterion bench targets of `skein-benches` one after another, then the
//!   CPython workloads of `benches/python/`, with progress shown.
//! - `cargo xtask report` turns criterion's results in `target/criterion` and the CPython
//!   rows into `target/skein-report/index.html` and `index.md`: every workload beside its
//!   peers, SPEC.md's bars, charts and the scenario verdict.
//! - `cargo xtask ci` runs what `.ci/run` runs.
//!
//! # The demo header convention
//!
//! Every example starts with a `//!` doc comment: its first line says what the demo shows;
//! a line `//! Seed: NNN …` names the seed note it comes from; an optional line
//! `//! Time bound: N s` raises the default bound of 60 seconds. A line
//! `//! Example: NNN § SECTION — KEY` (one per example) says the demo reproduces the example
//! of seed NNN that the note titles SECTION and whose code has a line containing KEY (the
//! key is needed only when the section holds several examples). The rest of the comment
//! is the explanation a learner reads in the source.
//!
//! The `Example:` lines are the map's only record of which demo reproduces what; the
//! examples no demo reproduces yet are listed in `notes/tables.rs` with the chapter they
//! wait on, and a test checks both against the notes in `../shared/seeds`.

mod bench;
mod demos;
mod header;
mod meta;
mod notes;
mod readme;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The chapters, in the order of the study notes; then `apalis`, the executor past one
/// machine (its demos need redis-server).
pub(crate) const CHAPTERS: &[&str] = &[
    "threads",
    "locks",
    "queue",
    "pool",
    "process",
    "coroutine",
    "apalis",
];

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "skein's task runner",
    bin_name = "cargo xtask"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build and run every chapter's demos, in order, each with a time bound.
    Demos {
        /// Run only this chapter's demos (threads, locks, queue, pool, process, coroutine).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(CHAPTERS))]
        chapter: Option<String>,
        /// Run only demos whose name contains this text.
        #[arg(long)]
        only: Option<String>,
        /// Run nothing: print every example of the notes with the demo that reproduces it,
        /// or the chapter it waits on.
        #[arg(long, conflicts_with_all = ["chapter", "only"])]
        list: bool,
    },
    /// Run the criterion benches, one target at a time with progress, then the CPython
    /// side (benches/python/*.py → target/skein-report/python.jsonl).
    Bench {
        /// Criterion's quick mode and the scripts' `--quick`: under 10 minutes on 2 cores.
        #[arg(long)]
        quick: bool,
        /// One small group per target, quick, and the CPython side quick: CI's check
        /// that the benches, the runner and the report still work.
        #[arg(long, conflicts_with = "quick")]
        smoke: bool,
        /// Run only this chapter's bench target (or `scenarios`); leaves CPython out.
        #[arg(long)]
        chapter: Option<String>,
        /// Run only the CPython side (greenlet/gevent in a venv under target/).
        #[arg(long, conflicts_with_all = ["chapter", "no_python"])]
        python: bool,
        /// Leave the CPython side out.
        #[arg(long)]
        no_python: bool,
    },
    /// Turn criterion's results and the CPython rows into target/skein-report/index.html
    /// and index.md: every workload beside its peers, SPEC.md's bars, charts, the
    /// scenario verdict. Runs nothing itself.
    Report {
        /// criterion's results folder [default: target/criterion].
        #[arg(long, value_name = "DIR")]
        criterion: Option<std::path::PathBuf>,
        /// The Python runner's rows [default: target/skein-report/python.jsonl].
        #[arg(long, value_name = "FILE")]
        python: Option<std::path::PathBuf>,
        /// Where to write the report [default: target/skein-report].
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
    },
    /// Run the checks of .ci/run: fmt, clippy, tests, demos, a bench smoke run and the
    /// report (installing Chromium is left to .ci/chromium).
    Ci,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demos { list: true, .. } => notes::map::list(),
        Command::Demos { chapter, only, .. } => demos::run(chapter.as_deref(), only.as_deref()),
        Command::Bench {
            quick,
            smoke,
            chapter,
            python,
            no_python,
        } => bench::run(&bench::Options {
            depth: if smoke {
                bench::Depth::Smoke
            } else if quick {
                bench::Depth::Quick
            } else {
                bench::Depth::Full
            },
            chapter,
            python_only: python,
            no_python,
        }),
        Command::Report {
            criterion,
            python,
            out,
        } => report::run(criterion, python, out),
        Command::Ci => ci(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The cargo that runs xtask (`$CARGO`), else `cargo` from the PATH.
pub(crate) fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs `cargo` with `args` from the workspace root, failing with a readable message.
pub(crate) fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = cargo_program();
    let status = std::process::Command::new(&cargo)
        .args(args)
        .current_dir(meta::workspace_root())
        .status()
        .map_err(|e| format!("could not run `{cargo}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace"])?;
    demos::run(None, None)?;
    bench::run(&bench::Options {
        depth: bench::Depth::Smoke,
        chapter: None,
        python_only: false,
        no_python: false,
    })?;
    report::run(None, None, None)
}
