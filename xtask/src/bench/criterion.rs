//! The Rust side: each criterion bench target of `skein-benches`, built once, listed
//! (`-- --list`) to know how many benchmarks are left, then run with its output read
//! line by line so the progress shows the benchmark under way.

use std::process::Command;
use std::time::Duration;

use super::Depth;
use super::lines::{self, Ended, Line};
use super::progress::Progress;
use crate::meta::{Metadata, workspace_root};

/// Bench targets that are part of a chapter without carrying its name: (target, chapter).
const CHAPTER_OF_TARGET: &[(&str, &str)] = &[("hub", "coroutine")];

/// The group each target runs under `--smoke`: small and quick. A target not listed
/// here smokes its first benchmark.
const SMOKE_GROUPS: &[(&str, &str)] = &[
    ("threads", "threads/spawn_join"),
    ("locks", "locks/uncontended_lock"),
    ("queue", "queue/task_done_join_1p2c"),
    ("pool", "pool/submit_wait_100k"),
    ("process", "process/pipe_round_trip"),
    ("coroutine", "coroutine/generator_resume"),
    ("hub", "hub/sleep_10k_10ms"),
    ("scenarios", "scenarios/io_timer"),
];

/// No target runs longer than this (a hung benchmark must not hang the run).
const BOUND: Duration = Duration::from_secs(3 * 3600);

/// The chapter a bench target measures: its own name, or the one listed above.
fn chapter_of(target: &str) -> &str {
    CHAPTER_OF_TARGET
        .iter()
        .find(|(t, _)| *t == target)
        .map_or(target, |(_, c)| c)
}

/// The bench targets in chapter order, then the others (scenarios) by name; only
/// `chapter`'s when given.
pub(crate) fn targets(metadata: &Metadata, chapter: Option<&str>) -> Result<Vec<String>, String> {
    let mut targets = metadata.bench_targets("skein-benches");
    targets.sort_by_key(|name| {
        let rank = crate::CHAPTERS
            .iter()
            .position(|c| *c == chapter_of(name))
            .unwrap_or(crate::CHAPTERS.len());
        (rank, name.clone())
    });
    if let Some(chapter) = chapter {
        targets.retain(|name| chapter_of(name) == chapter || name == chapter);
        if targets.is_empty() {
            return Err(format!(
                "no bench target named `{chapter}` in skein-benches"
            ));
        }
    }
    Ok(targets)
}

/// Criterion's arguments for a depth.
pub(crate) fn criterion_args(depth: Depth) -> Vec<&'static str> {
    match depth {
        Depth::Full => vec![],
        // Quick mode measures for at most `measurement-time` per benchmark (a group's
        // own setting wins); warm-up is skipped in quick mode.
        Depth::Quick | Depth::Smoke => vec!["--quick", "--noplot", "--measurement-time", "2"],
    }
}

fn cargo_bench(target: &str) -> Command {
    let mut cmd = Command::new(crate::cargo_program());
    cmd.args([
        "bench",
        "--quiet",
        "-p",
        "skein-benches",
        "--bench",
        target,
        "--",
    ])
    .current_dir(workspace_root());
    cmd
}

/// The benchmark ids a target would run with `filter` (criterion's `--list`).
fn list(target: &str, filter: &[String]) -> Result<Vec<String>, String> {
    let output = cargo_bench(target)
        .arg("--list")
        .args(filter)
        .output()
        .map_err(|e| format!("could not list bench `{target}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "listing bench `{target}` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(parse_list(&String::from_utf8_lossy(&output.stdout)))
}

/// Criterion's `--list` prints `<id>: benchmark` per benchmark.
pub(crate) fn parse_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": benchmark"))
        .map(str::to_string)
        .collect()
}

/// The id in criterion's `Benchmarking <id>[: <phase>]` lines.
pub(crate) fn benchmarking(line: &str) -> Option<&str> {
    let rest = line
        .trim_start_matches('\r')
        .strip_prefix("Benchmarking ")?;
    Some(rest.split_once(": ").map_or(rest, |(id, _)| id))
}

/// The smoke filter of `target`: its group from [`SMOKE_GROUPS`] as an anchored regex.
fn smoke_filter(target: &str) -> Option<Vec<String>> {
    SMOKE_GROUPS
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, group)| vec![format!("^{}/", regex_escape(group))])
}

/// What to run of `target` at `depth`: the filter arguments and the benchmark ids.
fn plan(target: &str, depth: Depth) -> Result<(Vec<String>, Vec<String>), String> {
    if depth == Depth::Smoke {
        if let Some(filter) = smoke_filter(target) {
            let ids = list(target, &filter)?;
            return Ok((filter, ids));
        }
        // A target without a smoke group smokes its first benchmark.
        let first: Vec<String> = list(target, &[])?.into_iter().take(1).collect();
        let filter = first
            .iter()
            .flat_map(|id| ["--exact".to_string(), id.clone()])
            .collect();
        return Ok((filter, first));
    }
    Ok((vec![], list(target, &[])?))
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// Builds, lists and runs `targets`; a failing target does not stop the others, and
/// the error names every one that failed.
pub(crate) fn run(targets: &[String], depth: Depth) -> Result<(), String> {
    println!("building the bench targets ({})…", targets.join(", "));
    let mut build = vec!["bench", "--no-run", "-p", "skein-benches"];
    for t in targets {
        build.extend(["--bench", t.as_str()]);
    }
    crate::cargo(&build)?;

    let mut runs = Vec::new();
    for target in targets {
        let (filter, ids) = plan(target, depth)?;
        runs.push((target.clone(), filter, ids));
    }
    let plan = runs;
    let total: usize = plan.iter().map(|(_, _, ids)| ids.len()).sum();
    let mut progress = Progress::new(total as u64, "benchmarks");
    let mut done = 0;
    let mut failures = Vec::new();
    for (i, (target, filter, ids)) in plan.iter().enumerate() {
        progress.stage(
            i + 1,
            plan.len(),
            &format!("bench `{target}` ({} benchmarks)", ids.len()),
        );
        let mut cmd = cargo_bench(target);
        cmd.args(criterion_args(depth)).args(filter);
        let mut current: Option<String> = None;
        // Criterion reports its phases (`Benchmarking <id>: …`) on stderr and its
        // results on stdout: the phases drive the progress, everything else is shown.
        let ended = lines::run(cmd, BOUND, |line| {
            let (Line::Out(l) | Line::Err(l)) = line;
            match benchmarking(&l) {
                Some(id) if current.as_deref() != Some(id) => {
                    if current.is_some() {
                        progress.step();
                    }
                    progress.current(id);
                    if !progress.is_drawn() {
                        println!("Benchmarking {id}");
                    }
                    current = Some(id.to_string());
                }
                Some(_) => {}
                None if l.trim().is_empty() || l.starts_with("Gnuplot not found") => {}
                None => progress.println(&l),
            }
        })?;
        done += ids.len();
        progress.set_done(done as u64);
        match ended {
            Ended::Exited(s) if s.success() => {}
            Ended::Exited(s) => failures.push(format!("bench `{target}` failed ({s})")),
            Ended::TimedOut(d) => failures.push(format!(
                "bench `{target}` ran past {} h and was killed",
                d.as_secs() / 3600
            )),
        }
    }
    progress.finish(&format!("{} bench targets, {total} benchmarks", plan.len()));
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_list_and_progress_lines() {
        let list = "locks/uncontended_lock/skein: benchmark\n\
                    locks/uncontended_lock/parking_lot: benchmark\n\nsomething else\n";
        assert_eq!(
            parse_list(list),
            [
                "locks/uncontended_lock/skein",
                "locks/uncontended_lock/parking_lot"
            ]
        );
        assert_eq!(
            benchmarking(
                "Benchmarking process/pool_map_100k/skein ProcessPool::map: Collecting 10 samples"
            ),
            Some("process/pool_map_100k/skein ProcessPool::map")
        );
        assert_eq!(benchmarking("Benchmarking a/b"), Some("a/b"));
        assert_eq!(benchmarking("a/b  time: [1 ns 2 ns 3 ns]"), None);
    }

    #[test]
    fn smoke_filters_one_group_per_target() {
        assert_eq!(
            smoke_filter("queue").unwrap(),
            ["^queue/task_done_join_1p2c/"]
        );
        assert_eq!(smoke_filter("a target added later"), None);
        assert_eq!(regex_escape("a.b(c)"), "a\\.b\\(c\\)");
        assert!(criterion_args(Depth::Quick).contains(&"--quick"));
        assert!(criterion_args(Depth::Full).is_empty());
    }

    #[test]
    fn every_smoke_group_exists_in_its_bench() {
        let benches = workspace_root().join("benches").join("benches");
        for (target, group) in SMOKE_GROUPS {
            let Ok(source) = std::fs::read_to_string(benches.join(format!("{target}.rs"))) else {
                continue; // a target another branch adds (scenarios)
            };
            // The group's own name: a bench may build `chapter/name` with format!.
            let name = group.rsplit('/').next().unwrap();
            assert!(source.contains(name), "{group} is not in {target}.rs");
        }
    }
}
