//! skein's task runner, reached as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask demos [--chapter NAME]` builds every chapter's examples once (release)
//!   and runs them in chapter order, each under a header taken from the example's own
//!   doc comment, each with a time bound; exits non-zero if any demo failed or overran.
//! - `cargo xtask demos --list` prints the map: every example of the five seed notes (seed,
//!   title, first code line) with the demo that reproduces it, or the chapter it waits on.
//! - `cargo xtask bench [--quick] [--chapter NAME]` runs the criterion bench targets of
//!   `skein-benches` one after another, with progress shown.
//! - `cargo xtask report` turns criterion's results in `target/criterion` into a Markdown
//!   table of ratios (skein beside each peer), written to `target/skein-report/`.
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
    /// Run the criterion benches, one target at a time.
    Bench {
        /// Criterion's quick mode: fewer samples, for a first look.
        #[arg(long)]
        quick: bool,
        /// Run only this chapter's bench target (or `scenarios`).
        #[arg(long)]
        chapter: Option<String>,
    },
    /// Turn criterion's results into target/skein-report/report.md (ratios per group).
    Report,
    /// Run the checks of .ci/run: fmt, clippy, tests, demos.
    Ci,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demos { list: true, .. } => notes::map::list(),
        Command::Demos { chapter, only, .. } => demos::run(chapter.as_deref(), only.as_deref()),
        Command::Bench { quick, chapter } => bench(quick, chapter.as_deref()),
        Command::Report => report::run(),
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

/// Bench targets that are part of a chapter without carrying its name: (target, chapter).
const CHAPTER_OF_TARGET: &[(&str, &str)] = &[("hub", "coroutine")];

/// The chapter a bench target measures: its own name, or the one listed above.
fn chapter_of(target: &str) -> &str {
    CHAPTER_OF_TARGET
        .iter()
        .find(|(t, _)| *t == target)
        .map_or(target, |(_, c)| c)
}

fn bench(quick: bool, chapter: Option<&str>) -> Result<(), String> {
    let metadata = meta::Metadata::load()?;
    let mut targets = metadata.bench_targets("skein-benches");
    // Chapter order first, then anything else (scenarios) in name order.
    targets.sort_by_key(|name| {
        let rank = CHAPTERS
            .iter()
            .position(|c| *c == chapter_of(name))
            .unwrap_or(CHAPTERS.len());
        (rank, name.clone())
    });
    if let Some(chapter) = chapter {
        targets.retain(|name| chapter_of(name) == chapter);
        if targets.is_empty() {
            return Err(format!(
                "no bench target named `{chapter}` in skein-benches"
            ));
        }
    }
    let total = targets.len();
    for (i, target) in targets.iter().enumerate() {
        println!(
            "\n=== [{}/{total}] bench `{target}`{} ===",
            i + 1,
            if quick { " (quick)" } else { "" }
        );
        let mut args = vec!["bench", "-p", "skein-benches", "--bench", target.as_str()];
        if quick {
            args.extend(["--", "--quick"]);
        }
        cargo(&args)?;
    }
    println!("\nall {total} bench targets ran; `cargo xtask report` tabulates the ratios");
    Ok(())
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
    demos::run(None, None)
}
