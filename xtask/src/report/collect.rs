//! Reading the figures: criterion's `target/criterion/**/new/{benchmark,estimates}.json`
//! and the Python runner's `python.jsonl`, into one [`Results`] table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What one iteration of a group processes, from criterion's `throughput` field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Throughput {
    /// Items (messages, tasks, elements) per iteration.
    Elements(u64),
    /// Bytes per iteration.
    Bytes(u64),
}

/// One group's figures: workload parameter → implementation (function id) → mean ns.
#[derive(Debug, Default, Clone)]
pub(crate) struct Group {
    /// The group's throughput, when its bench declares one.
    pub(crate) throughput: Option<Throughput>,
    /// parameter ("" when the group has none) → function id → mean time in ns.
    pub(crate) workloads: BTreeMap<String, BTreeMap<String, f64>>,
}

/// Every group's figures, by group id (`locks/uncontended_lock`).
pub(crate) type Results = BTreeMap<String, Group>;

/// Files one mean time under its group, workload parameter and function.
pub(crate) fn record(results: &mut Results, group: &str, parameter: &str, function: &str, ns: f64) {
    results
        .entry(group.to_string())
        .or_default()
        .workloads
        .entry(parameter.to_string())
        .or_default()
        .insert(function.to_string(), ns);
}

#[derive(Deserialize)]
struct BenchmarkId {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    #[serde(default)]
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

/// One line of `python.jsonl` (and of every `benches/python/*.py` script's output).
#[derive(Debug, Deserialize, serde::Serialize, PartialEq)]
pub(crate) struct PythonRow {
    pub(crate) group: String,
    pub(crate) parameter: Option<String>,
    pub(crate) function: String,
    pub(crate) mean_ns: f64,
}

/// Reads every finished benchmark under `criterion_dir` (criterion's `target/criterion`).
/// Directories without both JSON files (an interrupted run) are skipped, and so are
/// results written before `since` (an older run's figures must not pass for this one's);
/// returns how many were left out for that.
pub(crate) fn read_criterion(
    criterion_dir: &Path,
    results: &mut Results,
    since: Option<std::time::SystemTime>,
) -> usize {
    let mut dirs = Vec::new();
    find_new_dirs(criterion_dir, &mut dirs);
    dirs.sort();
    let mut stale = 0;
    for dir in dirs {
        if let Some(since) = since {
            let written = std::fs::metadata(dir.join("estimates.json")).and_then(|m| m.modified());
            if written.is_ok_and(|t| t < since) {
                stale += 1;
                continue;
            }
        }
        let (Ok(id), Ok(estimates)) = (
            read_json::<BenchmarkId>(&dir.join("benchmark.json")),
            read_json::<Estimates>(&dir.join("estimates.json")),
        ) else {
            continue;
        };
        let ns = estimates.mean.point_estimate;
        if !ns.is_finite() || ns <= 0.0 {
            continue;
        }
        let function = id.function_id.unwrap_or_else(|| "—".into());
        record(
            results,
            &id.group_id,
            id.value_str.as_deref().unwrap_or(""),
            &function,
            ns,
        );
        if let Some(t) = id.throughput.as_ref().and_then(parse_throughput) {
            results
                .get_mut(&id.group_id)
                .expect("just recorded")
                .throughput = Some(t);
        }
    }
    stale
}

/// Criterion serialises `Throughput::Elements(n)` as `{"Elements": n}`, bytes as
/// `{"Bytes": n}` or `{"BytesDecimal": n}`.
fn parse_throughput(value: &serde_json::Value) -> Option<Throughput> {
    let map = value.as_object()?;
    if let Some(n) = map.get("Elements").and_then(|v| v.as_u64()) {
        return Some(Throughput::Elements(n));
    }
    ["Bytes", "BytesDecimal"]
        .iter()
        .find_map(|k| map.get(*k).and_then(|v| v.as_u64()))
        .map(Throughput::Bytes)
}

/// Reads the Python runner's rows. A missing file is no error (the CPython column is
/// then empty); a malformed line is, with its line number.
pub(crate) fn read_python(path: &Path, results: &mut Results) -> Result<usize, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut rows = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row =
            parse_python_line(line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        record(
            results,
            &row.group,
            row.parameter.as_deref().unwrap_or(""),
            &row.function,
            row.mean_ns,
        );
        rows += 1;
    }
    Ok(rows)
}

/// Parses one JSON line of a Python script; a time that is not a positive number is an
/// error (a script that measured nothing must not look fast).
pub(crate) fn parse_python_line(line: &str) -> Result<PythonRow, String> {
    let row: PythonRow =
        serde_json::from_str(line).map_err(|e| format!("not a result row ({e}): {line}"))?;
    if !row.mean_ns.is_finite() || row.mean_ns <= 0.0 {
        return Err(format!("mean_ns must be a positive number: {line}"));
    }
    Ok(row)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn reads_criterion_tree_with_parameters_and_throughput() {
        let dir = tempfile::tempdir().unwrap();
        fixture::write_criterion(
            dir.path(),
            &[
                (
                    "queue/spsc_bounded_1024",
                    "skein",
                    None,
                    4.0e6,
                    Some(200_000),
                ),
                (
                    "queue/spsc_bounded_1024",
                    "kanal",
                    None,
                    2.0e6,
                    Some(200_000),
                ),
                ("threads/enumerate", "skein", Some("100"), 900.0, None),
            ],
        );
        // An interrupted run leaves a `new` directory without estimates: skipped.
        let broken = dir.path().join("x/y/new");
        std::fs::create_dir_all(&broken).unwrap();
        std::fs::write(broken.join("benchmark.json"), "{}").unwrap();

        let mut results = Results::new();
        read_criterion(dir.path(), &mut results, None);
        assert_eq!(results.len(), 2);
        let queue = &results["queue/spsc_bounded_1024"];
        assert_eq!(queue.throughput, Some(Throughput::Elements(200_000)));
        assert_eq!(queue.workloads[""]["kanal"], 2.0e6);
        assert_eq!(
            results["threads/enumerate"].workloads["100"]["skein"],
            900.0
        );
        assert_eq!(results["threads/enumerate"].throughput, None);

        // Results written before the last whole bench run began are left out.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        let mut results = Results::new();
        assert_eq!(read_criterion(dir.path(), &mut results, Some(later)), 3);
        assert!(results.is_empty());
        let earlier = std::time::SystemTime::UNIX_EPOCH;
        assert_eq!(read_criterion(dir.path(), &mut results, Some(earlier)), 0);
        assert_eq!(results.len(), 2);
    }

    #[test]
    fn reads_python_rows_and_rejects_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("python.jsonl");
        std::fs::write(
            &path,
            "{\"group\":\"locks/ping_pong\",\"parameter\":null,\"function\":\"cpython\",\"mean_ns\":70000.0}\n\n\
             {\"group\":\"scenarios/cpu_primes\",\"parameter\":\"2\",\"function\":\"cpython/threads\",\"mean_ns\":5.0e8}\n",
        )
        .unwrap();
        let mut results = Results::new();
        assert_eq!(read_python(&path, &mut results).unwrap(), 2);
        assert_eq!(results["locks/ping_pong"].workloads[""]["cpython"], 70000.0);
        assert_eq!(
            results["scenarios/cpu_primes"].workloads["2"]["cpython/threads"],
            5.0e8
        );

        // No file: no CPython column, no error.
        assert_eq!(
            read_python(&dir.path().join("none"), &mut results).unwrap(),
            0
        );

        std::fs::write(
            &path,
            "{\"group\":\"g\",\"function\":\"f\",\"mean_ns\":0}\n",
        )
        .unwrap();
        let err = read_python(&path, &mut results).unwrap_err();
        assert!(
            err.contains("python.jsonl:1") && err.contains("positive"),
            "{err}"
        );
        assert!(parse_python_line("Traceback (most recent call last):").is_err());
    }
}
