//! `cargo xtask report`: criterion's results and the Python runner's rows, turned into
//! `target/skein-report/index.html` (self-contained, charts inline) and `index.md`
//! (charts beside it in `charts/*.svg`).
//!
//! - `collect`: reading criterion's `new/{benchmark,estimates}.json` and `python.jsonl`;
//! - `workload`: who is skein, a Rust peer or CPython; ratios, times and rates;
//! - `bars`: SPEC.md's performance bars keyed by bench ids, and whether they are met;
//! - `verdict`: the scenarios' speedups and the verdict in words;
//! - `charts`: the SVG charts (plotters, SVG backend);
//! - `tables`, `markdown`, `html`: the two pages.
//!
//! The report runs nothing: `cargo xtask bench` measures (and `--python` runs the
//! CPython side, writing `python.jsonl`).

mod bars;
mod charts;
pub(crate) mod collect;
#[cfg(test)]
pub(crate) mod fixture;
mod html;
mod markdown;
mod tables;
mod verdict;
mod workload;

use std::path::{Path, PathBuf};

use collect::Results;
pub(crate) use workload::human_time;
use workload::{Workload, chapter_of};

/// Where the report reads from and writes to.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    /// criterion's output (`target/criterion`).
    pub(crate) criterion: PathBuf,
    /// The Python runner's rows (`target/skein-report/python.jsonl`).
    pub(crate) python: PathBuf,
    /// The report's folder (`target/skein-report`).
    pub(crate) out: PathBuf,
}

impl Paths {
    /// The default places under the workspace's target directory.
    pub(crate) fn under(target: &Path) -> Paths {
        let out = target.join("skein-report");
        Paths {
            criterion: target.join("criterion"),
            python: out.join("python.jsonl"),
            out,
        }
    }
}

/// Everything the two pages show.
pub(crate) struct Report {
    pub(crate) results: Results,
    pub(crate) verdicts: Vec<bars::Verdict>,
    /// (file stem, caption, SVG document)
    pub(crate) charts: Vec<(String, String, String)>,
    /// One sentence per scenario workload.
    pub(crate) scenario_verdicts: Vec<String>,
    pub(crate) python_rows: usize,
    /// Criterion results left out as older than the last whole `cargo xtask bench` run,
    /// and how long ago that run started.
    pub(crate) stale: Option<(usize, std::time::Duration)>,
}

/// The file whose modification time marks the start of the last `cargo xtask bench` over
/// every chapter (written in the report's folder).
pub(crate) fn bench_stamp(out: &Path) -> PathBuf {
    out.join("bench-started")
}

impl Report {
    /// Reads the results and works out bars, verdicts and charts.
    pub(crate) fn build(paths: &Paths) -> Result<Report, String> {
        let mut results = Results::new();
        let since = std::fs::metadata(bench_stamp(&paths.out))
            .and_then(|m| m.modified())
            .ok();
        let left_out = collect::read_criterion(&paths.criterion, &mut results, since);
        let stale = since.filter(|_| left_out > 0).map(|t| {
            let ago = std::time::SystemTime::now()
                .duration_since(t)
                .unwrap_or_default();
            (left_out, ago)
        });
        let criterion_groups = results.len();
        let python_rows = collect::read_python(&paths.python, &mut results)?;
        if criterion_groups == 0 {
            return Err(format!(
                "no criterion results under {}; run `cargo xtask bench` (or `--quick`) first",
                paths.criterion.display()
            ));
        }
        let verdicts = bars::evaluate(&results);
        let charts = charts::all(&results);
        let scenario_verdicts = Workload::all(&results)
            .filter(|w| chapter_of(w.group) == "scenarios")
            .map(|w| verdict::sentence(&w))
            .collect();
        Ok(Report {
            results,
            verdicts,
            charts,
            scenario_verdicts,
            python_rows,
            stale,
        })
    }

    /// The chapters that have figures, in order: (id, heading).
    pub(crate) fn chapters(&self) -> Vec<(&'static str, &'static str)> {
        workload::CHAPTERS
            .iter()
            .copied()
            .filter(|(c, _)| self.results.keys().any(|g| chapter_of(g) == *c))
            .collect()
    }

    /// A sentence saying how many older criterion results were left out, if any.
    pub(crate) fn stale_note(&self) -> Option<String> {
        let (n, ago) = self.stale?;
        let ago = match ago.as_secs() {
            s if s < 120 => format!("{s} s"),
            s if s < 7200 => format!("{} min", s / 60),
            s => format!("{} h", s / 3600),
        };
        Some(format!(
            "{n} criterion result(s) older than the last `cargo xtask bench` (started {ago} \
             ago) were left out: that run did not measure them (`--smoke` runs one group per \
             target); run `cargo xtask bench` or `--quick` for every figure."
        ))
    }

    /// `(met, measured)` over the bars.
    pub(crate) fn tally(&self) -> (usize, usize) {
        bars::tally(&self.verdicts)
    }
}

/// Writes `index.html`, `index.md` and `charts/*.svg` under `paths.out`; returns the
/// Markdown summary (bars and scenario verdict) to print.
pub(crate) fn write(paths: &Paths) -> Result<String, String> {
    let report = Report::build(paths)?;
    let charts_dir = paths.out.join("charts");
    std::fs::create_dir_all(&charts_dir)
        .map_err(|e| format!("cannot create {}: {e}", charts_dir.display()))?;
    for (stem, _, svg) in &report.charts {
        write_file(&charts_dir.join(format!("{stem}.svg")), svg)?;
    }
    write_file(&paths.out.join("index.md"), &markdown::page(&report))?;
    write_file(&paths.out.join("index.html"), &html::page(&report))?;
    Ok(markdown::summary(&report))
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `cargo xtask report [--criterion DIR] [--python FILE] [--out DIR]`.
pub(crate) fn run(
    criterion: Option<PathBuf>,
    python: Option<PathBuf>,
    out: Option<PathBuf>,
) -> Result<(), String> {
    let mut paths = match (&criterion, &python, &out) {
        (Some(_), Some(_), Some(_)) => Paths {
            criterion: PathBuf::new(),
            python: PathBuf::new(),
            out: PathBuf::new(),
        },
        _ => Paths::under(&crate::meta::Metadata::load()?.target_directory),
    };
    if let Some(c) = criterion {
        paths.criterion = c;
    }
    if let Some(p) = python {
        paths.python = p;
    }
    if let Some(o) = out {
        paths.out = o;
    }
    let summary = write(&paths)?;
    print!("{summary}");
    println!(
        "\nwritten: {} and {} (charts in {})",
        paths.out.join("index.html").display(),
        paths.out.join("index.md").display(),
        paths.out.join("charts").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_both_pages_and_the_charts_from_fixture_data() {
        let dir = tempfile::tempdir().unwrap();
        let (criterion, python) = fixture::write_all(dir.path());
        let out = dir.path().join("report");
        let paths = Paths {
            criterion,
            python,
            out: out.clone(),
        };
        let summary = write(&paths).unwrap();
        assert!(summary.contains("CPU-bound (primes)"), "{summary}");
        for f in [
            "index.html",
            "index.md",
            "charts/locks.svg",
            "charts/scenarios.svg",
        ] {
            assert!(out.join(f).is_file(), "{f} missing");
        }
        let report = Report::build(&paths).unwrap();
        assert_eq!(report.python_rows, 31);
        assert_eq!(report.chapters().len(), 7);
        let (met, measured) = report.tally();
        assert!(met > 0 && met < measured, "{met} of {measured}");
    }

    #[test]
    fn no_criterion_results_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let err = write(&paths).err().unwrap();
        assert!(err.contains("run `cargo xtask bench`"), "{err}");
    }
}
