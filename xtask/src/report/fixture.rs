//! Fixture data for the report's tests: `tests/fixtures/results.jsonl` holds made-up
//! figures at the scale SPEC.md gives, one JSON line per implementation; this module
//! writes them out as criterion would (`<dir>/…/new/{benchmark,estimates}.json`) and as
//! the Python runner would (`python.jsonl`). Shared by the unit tests and the Chromium
//! test in `tests/report_page.rs` (which includes this file by path), so it uses only
//! std and serde_json.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// (group, function, parameter, mean ns, elements per iteration)
pub type Row<'a> = (&'a str, &'a str, Option<&'a str>, f64, Option<u64>);

/// The fixture lines, as shipped in `tests/fixtures/results.jsonl`.
pub const RESULTS: &str = include_str!("../../tests/fixtures/results.jsonl");

/// Whether a function id belongs to the Python side (written to `python.jsonl`).
pub fn is_python(function: &str) -> bool {
    function == "cpython" || function.starts_with("cpython/") || function == "gevent"
}

/// Writes one criterion result directory per row under `dir`.
pub fn write_criterion(dir: &Path, rows: &[Row<'_>]) {
    for (i, (group, function, parameter, ns, elements)) in rows.iter().enumerate() {
        let new = dir.join(format!("bench{i}")).join("new");
        std::fs::create_dir_all(&new).unwrap();
        let throughput = match elements {
            Some(n) => serde_json::json!({ "Elements": n }),
            None => serde_json::Value::Null,
        };
        let full_id = match parameter {
            Some(p) => format!("{group}/{function}/{p}"),
            None => format!("{group}/{function}"),
        };
        let id = serde_json::json!({
            "group_id": group, "function_id": function, "value_str": parameter,
            "throughput": throughput, "full_id": full_id, "directory_name": full_id,
            "title": full_id,
        });
        let estimate = |x: f64| {
            serde_json::json!({
                "confidence_interval": {"confidence_level": 0.95, "lower_bound": x * 0.98, "upper_bound": x * 1.02},
                "point_estimate": x, "standard_error": x * 0.01,
            })
        };
        let estimates = serde_json::json!({
            "mean": estimate(*ns), "median": estimate(*ns), "median_abs_dev": estimate(ns * 0.01),
            "slope": estimate(*ns), "std_dev": estimate(ns * 0.02),
        });
        std::fs::write(new.join("benchmark.json"), id.to_string()).unwrap();
        std::fs::write(new.join("estimates.json"), estimates.to_string()).unwrap();
    }
}

/// Writes the whole fixture under `dir`: `criterion/` and `python.jsonl`; returns both
/// paths.
pub fn write_all(dir: &Path) -> (PathBuf, PathBuf) {
    let mut criterion_rows = Vec::new();
    let mut python = String::new();
    let values: Vec<serde_json::Value> = RESULTS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for v in &values {
        let function = v["function"].as_str().unwrap();
        if is_python(function) {
            let mut row = v.clone();
            row.as_object_mut().unwrap().remove("elements");
            python.push_str(&row.to_string());
            python.push('\n');
        } else {
            criterion_rows.push((
                v["group"].as_str().unwrap(),
                function,
                v["parameter"].as_str(),
                v["mean_ns"].as_f64().unwrap(),
                v["elements"].as_u64(),
            ));
        }
    }
    let criterion = dir.join("criterion");
    write_criterion(&criterion, &criterion_rows);
    let python_path = dir.join("python.jsonl");
    std::fs::write(&python_path, python).unwrap();
    (criterion, python_path)
}
