//! `cargo xtask report`: criterion's results as one Markdown table per group.
//!
//! Criterion writes `target/criterion/<group>/<function>[/<parameter>]/new/` with
//! `benchmark.json` (ids) and `estimates.json` (mean, median, … in ns). Each group holds
//! skein and its peers; the entry whose function id starts with `skein` is the reference,
//! and every row gives `peer time ÷ skein time` (above 1: skein is faster).
//!
//! When `python3` is on the PATH, every `benches/python/*.py` is run too; each prints
//! JSON lines `{"group": …, "parameter": …, "function": …, "mean_ns": …}` that join the
//! same tables as a CPython column.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::meta::{Metadata, workspace_root};

#[derive(Deserialize)]
struct BenchmarkId {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct PythonRow {
    group: String,
    parameter: Option<String>,
    function: String,
    mean_ns: f64,
}

/// group → parameter → function → mean time in ns.
type Results = BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>;

pub(crate) fn run() -> Result<(), String> {
    let metadata = Metadata::load()?;
    let criterion_dir = metadata.target_directory.join("criterion");
    let mut results = Results::new();
    let mut files = Vec::new();
    find_new_dirs(&criterion_dir, &mut files);
    for dir in files {
        let (Ok(id), Ok(estimates)) = (
            read_json::<BenchmarkId>(&dir.join("benchmark.json")),
            read_json::<Estimates>(&dir.join("estimates.json")),
        ) else {
            continue;
        };
        record(
            &mut results,
            id.group_id,
            id.value_str.unwrap_or_default(),
            id.function_id.unwrap_or_else(|| "—".into()),
            estimates.mean.point_estimate,
        );
    }
    if results.is_empty() {
        return Err(format!(
            "no criterion results under {}; run `cargo xtask bench` first",
            criterion_dir.display()
        ));
    }
    run_python(&mut results);

    let mut out = String::from("# skein benchmark report\n\n");
    out.push_str("Mean time per iteration from criterion; `× vs skein` is the peer's time divided by skein's (above 1: skein is faster).\n");
    out.push_str("Criterion's own plots are in `target/criterion/report/index.html`.\n");
    for (group, parameters) in &results {
        let _ = writeln!(
            out,
            "\n## {group}\n\n| workload | implementation | mean | × vs skein |\n|---|---|---:|---:|"
        );
        for (parameter, functions) in parameters {
            let skein = functions
                .iter()
                .find(|(name, _)| name.starts_with("skein"))
                .map(|(_, &ns)| ns);
            let workload = if parameter.is_empty() {
                "—"
            } else {
                parameter.as_str()
            };
            for (function, &ns) in functions {
                let ratio = match skein {
                    Some(reference) if reference > 0.0 => format!("{:.2}", ns / reference),
                    _ => "—".into(),
                };
                let _ = writeln!(
                    out,
                    "| {workload} | {function} | {} | {ratio} |",
                    human_time(ns)
                );
            }
        }
    }
    let report_dir = metadata.target_directory.join("skein-report");
    std::fs::create_dir_all(&report_dir)
        .map_err(|e| format!("cannot create {}: {e}", report_dir.display()))?;
    let path = report_dir.join("report.md");
    std::fs::write(&path, &out).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    print!("{out}");
    println!("\nwritten to {}", path.display());
    Ok(())
}

/// Files one mean time under its group, workload parameter and function.
fn record(results: &mut Results, group: String, parameter: String, function: String, ns: f64) {
    results
        .entry(group)
        .or_default()
        .entry(parameter)
        .or_default()
        .insert(function, ns);
}

fn find_new_dirs(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            found.push(path);
        } else {
            find_new_dirs(&path, found);
        }
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn run_python(results: &mut Results) {
    let dir = workspace_root().join("benches").join("python");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut scripts: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    scripts.sort();
    for script in scripts {
        println!("running CPython workload {} …", script.display());
        let output = match Command::new("python3").arg(&script).output() {
            Ok(output) if output.status.success() => output,
            Ok(output) => {
                eprintln!(
                    "{} failed: {}",
                    script.display(),
                    String::from_utf8_lossy(&output.stderr)
                );
                continue;
            }
            Err(e) => {
                eprintln!("python3 is not available ({e}); the CPython column is left out");
                return;
            }
        };
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if let Ok(row) = serde_json::from_str::<PythonRow>(line) {
                record(
                    results,
                    row.group,
                    row.parameter.unwrap_or_default(),
                    row.function,
                    row.mean_ns,
                );
            }
        }
    }
}

fn human_time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}
