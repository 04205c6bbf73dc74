//! The report's tables as plain data (headers and cells), rendered by `markdown.rs`
//! and `html.rs` alike so the two pages cannot disagree.

use super::bars::{UNMEASURED, Verdict};
use super::collect::Results;
use super::verdict::{speedups, title};
use super::workload::{Workload, chapter_of, human_time, times};

/// A table: a header row and rows of cells; `numeric[i]` right-aligns column `i`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub(crate) headers: Vec<&'static str>,
    pub(crate) numeric: Vec<bool>,
    pub(crate) rows: Vec<Vec<String>>,
}

fn status(v: &Verdict) -> String {
    match v.met() {
        Some(true) => "✅ met".into(),
        Some(false) => "❌ missed".into(),
        None => "— not measured".into(),
    }
}

fn time_or_dash(ns: Option<f64>) -> String {
    ns.map_or_else(|| "—".into(), human_time)
}

/// SPEC.md's bars with this run's figures.
pub(crate) fn bars(verdicts: &[Verdict]) -> Table {
    let mut rows: Vec<Vec<String>> = verdicts
        .iter()
        .map(|v| {
            vec![
                status(v),
                v.bar.workload.to_string(),
                v.achieved().map_or_else(|| "—".into(), times),
                v.bar.text(),
                format!("{} vs {}", v.bar.skein, v.bar.peer),
                time_or_dash(v.skein_ns),
                time_or_dash(v.peer_ns),
                v.workload.clone(),
            ]
        })
        .collect();
    for (workload, bar) in UNMEASURED {
        rows.push(vec![
            "— not measured".into(),
            workload.to_string(),
            "—".into(),
            bar.to_string(),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
        ]);
    }
    Table {
        // Status first: on a phone it is the column that shows without scrolling.
        headers: vec![
            "status",
            "workload (SPEC.md)",
            "achieved",
            "bar",
            "skein vs peer",
            "skein",
            "peer",
            "criterion group",
        ],
        numeric: vec![false, false, true, false, false, true, true, false],
        rows,
    }
}

/// One chapter's workloads: every implementation's mean, rate and time ÷ skein's.
pub(crate) fn chapter(results: &Results, chapter: &str) -> Table {
    let mut rows = Vec::new();
    for w in Workload::all(results).filter(|w| chapter_of(w.group) == chapter) {
        let name = w.name();
        for (i, (function, ns)) in w.ordered().into_iter().enumerate() {
            rows.push(vec![
                if i == 0 { name.clone() } else { String::new() },
                function.to_string(),
                human_time(ns),
                w.rate(ns).unwrap_or_default(),
                w.ratio(function).map_or_else(|| "—".into(), times),
            ]);
        }
    }
    Table {
        headers: vec![
            "workload",
            "implementation",
            "mean time",
            "rate",
            "× skein's time",
        ],
        numeric: vec![false, false, true, true, true],
        rows,
    }
}

/// The scenarios: each model's time and speedup over its side's sequential run.
pub(crate) fn scenarios(results: &Results) -> Table {
    let mut rows = Vec::new();
    for w in Workload::all(results).filter(|w| chapter_of(w.group) == "scenarios") {
        let mut name = title(w.group);
        if !w.parameter.is_empty() {
            name += &format!(" [{}]", w.parameter);
        }
        let mut first = true;
        for (side, base) in [
            ("Rust", "skein/sequential"),
            ("CPython", "cpython/sequential"),
        ] {
            let python = side == "CPython";
            if let Some(&seq) = w.times.get(base) {
                rows.push(vec![
                    if first { name.clone() } else { String::new() },
                    side.into(),
                    "sequential".into(),
                    human_time(seq),
                    times(1.0),
                ]);
                first = false;
            }
            for s in speedups(&w).into_iter().filter(|s| s.python == python) {
                rows.push(vec![
                    if first { name.clone() } else { String::new() },
                    side.into(),
                    s.label.clone(),
                    human_time(w.times[&s.function]),
                    times(s.speedup),
                ]);
                first = false;
            }
        }
    }
    Table {
        headers: vec!["scenario", "side", "model", "wall time", "speedup"],
        numeric: vec![false, false, false, true, true],
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::bars::evaluate;
    use crate::report::collect::record;

    #[test]
    fn bars_table_lists_every_bar_and_the_unmeasured_ones() {
        let mut r = Results::new();
        record(&mut r, "locks/uncontended_lock", "", "skein", 5.0);
        record(&mut r, "locks/uncontended_lock", "", "parking_lot", 4.7);
        let v = evaluate(&r);
        let t = bars(&v);
        assert_eq!(t.rows.len(), v.len() + UNMEASURED.len());
        let row = &t.rows[0];
        assert_eq!(
            row[..],
            [
                "✅ met",
                "Lock / RLock uncontended acquire+release",
                "1.06×",
                "≤ 1.1× parking_lot's time",
                "skein vs parking_lot",
                "5.00 ns",
                "4.70 ns",
                "locks/uncontended_lock",
            ]
        );
        // Bars no bench measures are listed as such (`UNMEASURED`).
        assert!(
            t.rows
                .iter()
                .any(|r| r[0] == "— not measured" && r[3].contains("KiB resident"))
        );
        // The queue's iceoryx2 bar is a real bar, on the queue's group.
        assert!(
            t.rows
                .iter()
                .any(|r| r[3] == "≥ 1.0× iceoryx2 blocking's speed"
                    && r[7] == "process/queue_100k_small")
        );
    }

    #[test]
    fn scenario_table_puts_both_sides_with_their_own_sequential() {
        let mut r = Results::new();
        for (f, ns) in [
            ("skein/sequential", 400e6),
            ("skein/threads", 200e6),
            ("cpython/sequential", 8e9),
            ("cpython/threads", 8.4e9),
        ] {
            record(&mut r, "scenarios/cpu_primes", "", f, ns);
        }
        let t = scenarios(&r);
        let cells: Vec<Vec<&str>> = t
            .rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            cells,
            [
                vec![
                    "CPU-bound (primes)",
                    "Rust",
                    "sequential",
                    "400 ms",
                    "1.00×"
                ],
                vec!["", "Rust", "threads", "200 ms", "2.00×"],
                vec!["", "CPython", "sequential", "8.00 s", "1.00×"],
                vec!["", "CPython", "threads", "8.40 s", "0.95×"],
            ]
        );
    }
}
