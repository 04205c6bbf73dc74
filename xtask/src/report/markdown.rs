//! `index.md`: the report as Markdown, charts linked from `charts/*.svg`.

use std::fmt::Write as _;

use super::Report;
use super::tables::{self, Table};

/// A Markdown table; `|` in cells is escaped.
pub(crate) fn table(t: &Table) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = format!("| {} |\n|", t.headers.join(" | "));
    for &numeric in &t.numeric {
        out += if numeric { "---:|" } else { "---|" };
    }
    out.push('\n');
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// The part printed by `cargo xtask report`: bars met, the bars table, the verdict.
pub(crate) fn summary(r: &Report) -> String {
    let (met, measured) = r.tally();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## SPEC.md's bars\n\n{met} of {measured} measured bars met ({} not measured in this run).\n",
        r.verdicts.len() - measured + super::bars::UNMEASURED.len()
    );
    if let Some(note) = r.stale_note() {
        let _ = writeln!(out, "{note}\n");
    }
    out += &table(&tables::bars(&r.verdicts));
    out += "\n## The notes' question: which model for which work\n\n";
    if r.scenario_verdicts.is_empty() {
        out += "No scenario results (`cargo xtask bench --chapter scenarios`).\n";
    }
    for v in &r.scenario_verdicts {
        let _ = writeln!(out, "- {v}");
    }
    out
}

/// The whole `index.md`.
pub(crate) fn page(r: &Report) -> String {
    let mut out = String::from("# skein benchmark report\n\n");
    out += "Mean time per iteration from criterion (Rust) and from `benches/python/` (CPython, \
            `cargo xtask bench --python`); ratios are taken within one run. \
            `× skein's time` is an implementation's time divided by skein's fastest entry in the \
            same workload (above 1: skein is faster). Criterion's own pages are in \
            `target/criterion/report/index.html`.\n\n";
    if r.python_rows == 0 {
        out += "_No CPython figures: run `cargo xtask bench --python` for the CPython column._\n\n";
    }
    out += &summary(r);
    if r.results.keys().any(|g| g.starts_with("scenarios/")) {
        out += "\n![Scenarios: speedup over sequential](charts/scenarios.svg)\n\n";
        out += &table(&tables::scenarios(&r.results));
    }
    for (chapter, heading) in r.chapters() {
        if chapter == "scenarios" {
            continue;
        }
        let _ = writeln!(out, "\n## {heading}\n");
        if r.charts.iter().any(|(stem, _, _)| stem == chapter) {
            let _ = writeln!(out, "![{heading}](charts/{chapter}.svg)\n");
        }
        out += &table(&tables::chapter(&r.results, chapter));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_pipes_and_align_numbers() {
        let t = Table {
            headers: vec!["a", "b"],
            numeric: vec![false, true],
            rows: vec![vec!["x|y".into(), "1 ns".into()]],
        };
        assert_eq!(table(&t), "| a | b |\n|---|---:|\n| x\\|y | 1 ns |\n");
    }
}
