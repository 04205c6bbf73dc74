//! `cargo xtask demos`: build every chapter's examples once, then run them in order.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::header::parse_header;
use crate::meta::{Example, Metadata, workspace_root};
use crate::{CHAPTERS, cargo};

/// Bound for a demo whose header names none.
const DEFAULT_BOUND: Duration = Duration::from_secs(60);

enum Outcome {
    Passed,
    Failed(String),
    Overran,
}

struct Ran {
    chapter: &'static str,
    name: String,
    outcome: Outcome,
    took: Duration,
}

pub(crate) fn run(chapter: Option<&str>, only: Option<&str>) -> Result<(), String> {
    let metadata = Metadata::load()?;
    let mut plan: Vec<(&'static str, Example)> = Vec::new();
    for &name in CHAPTERS {
        if chapter.is_some_and(|c| c != name) {
            continue;
        }
        let Some(examples) = metadata.chapter_examples(name) else {
            if chapter.is_some() {
                return Err(format!("chapter `{name}` has no crate (crates/{name}) yet"));
            }
            continue;
        };
        for example in examples {
            if only.is_none_or(|text| example.name.contains(text)) {
                plan.push((name, example));
            }
        }
    }
    if plan.is_empty() {
        return Err("no demos matched".into());
    }

    let mut build = vec!["build", "--release", "--examples"];
    let mut packages: Vec<&str> = plan.iter().map(|(_, e)| e.package.as_str()).collect();
    packages.dedup();
    for package in &packages {
        build.extend(["-p", package]);
    }
    println!("building {} demos (release) …", plan.len());
    cargo(&build)?;

    let examples_dir = metadata.target_directory.join("release").join("examples");
    let mut results = Vec::new();
    for (chapter, example) in &plan {
        let source = std::fs::read_to_string(&example.src_path)
            .map_err(|e| format!("cannot read {}: {e}", example.src_path.display()))?;
        let header = parse_header(&source);
        let bound = header.bound.unwrap_or(DEFAULT_BOUND);
        println!();
        println!("{}", "═".repeat(78));
        println!(
            "chapter {chapter} · demo {} · seed {}",
            example.name,
            header.seed.as_deref().unwrap_or("—")
        );
        if !header.title.is_empty() {
            println!("{}", header.title);
        }
        for claim in &header.examples {
            println!("reproduces seed {claim}");
        }
        println!("{}", "═".repeat(78));
        let started = Instant::now();
        let outcome = run_one(&examples_dir.join(&example.name), bound);
        let took = started.elapsed();
        match &outcome {
            Outcome::Passed => println!("── {} passed in {:.2?}", example.name, took),
            Outcome::Failed(why) => println!("── {} FAILED: {why}", example.name),
            Outcome::Overran => println!(
                "── {} OVERRAN its bound of {bound:?} and was killed",
                example.name
            ),
        }
        results.push(Ran {
            chapter,
            name: example.name.clone(),
            outcome,
            took,
        });
    }

    println!("\n{}\nsummary", "═".repeat(78));
    let mut failures = 0;
    for ran in &results {
        let status = match &ran.outcome {
            Outcome::Passed => "ok".to_string(),
            Outcome::Failed(why) => {
                failures += 1;
                format!("FAILED ({why})")
            }
            Outcome::Overran => {
                failures += 1;
                "OVERRAN".to_string()
            }
        };
        println!(
            "  {:<10} {:<32} {:>9.2?}  {status}",
            ran.chapter, ran.name, ran.took
        );
    }
    let total = results.len();
    println!(
        "{} demos: {} passed, {failures} failed",
        total,
        total - failures
    );
    if failures == 0 {
        Ok(())
    } else {
        Err(format!("{failures} of {total} demos failed"))
    }
}

/// Runs one demo binary in its own process group, killing the whole group if it
/// overruns `bound` (and any leftover member once it has finished).
fn run_one(binary: &Path, bound: Duration) -> Outcome {
    let mut child = match Command::new(binary)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .env("SKEIN_DEMO", "1")
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Outcome::Failed(format!("could not start {}: {e}", binary.display())),
    };
    let group = rustix::process::Pid::from_raw(child.id() as i32);
    let kill_group = || {
        if let Some(group) = group {
            // The group may be gone already; that is the normal case.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    };
    let deadline = Instant::now() + bound;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                kill_group();
                let _ = child.wait();
                return Outcome::Overran;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Outcome::Failed(format!("waiting for the demo failed: {e}")),
        }
    };
    kill_group();
    if status.success() {
        Outcome::Passed
    } else if let Some(signal) = status.signal() {
        Outcome::Failed(format!("killed by signal {signal}"))
    } else {
        Outcome::Failed(format!("exit code {}", status.code().unwrap_or(-1)))
    }
}
