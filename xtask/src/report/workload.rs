//! Reading one workload's figures: who is skein, who is a peer, who is CPython; the
//! chapter a group belongs to; times and rates for people.

use std::collections::BTreeMap;

use super::collect::{Group, Results, Throughput};

/// Who an implementation is, from its function id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Family {
    /// skein itself (`skein`, `skein/…`, `skein …`).
    Skein,
    /// A Rust peer (std, parking_lot, crossbeam-channel, tokio, …).
    RustPeer,
    /// CPython or a Python package (`cpython…`, `gevent`).
    Python,
}

impl Family {
    pub(crate) fn of(function: &str) -> Family {
        let first = function.split(['/', ' ']).next().unwrap_or("");
        match first {
            "skein" => Family::Skein,
            "cpython" | "gevent" | "greenlet" => Family::Python,
            _ => Family::RustPeer,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Family::Skein => "skein",
            Family::RustPeer => "Rust peers",
            Family::Python => "CPython",
        }
    }
}

/// The chapters of the report, in the order of the notes, with the title shown.
pub(crate) const CHAPTERS: &[(&str, &str)] = &[
    ("threads", "1 · threads"),
    ("locks", "2 · locks"),
    ("queue", "3 · queues"),
    ("pool", "4 · pools"),
    ("process", "5 · processes"),
    ("coroutine", "6 · coroutines"),
    ("scenarios", "Scenarios: CPU-bound and IO-bound work"),
];

/// The chapter of a group id: its first segment, with the hub's benches in chapter 6.
pub(crate) fn chapter_of(group: &str) -> &str {
    match group.split('/').next().unwrap_or(group) {
        "hub" => "coroutine",
        first => first,
    }
}

/// One workload: a group and one of its parameters, with every implementation's time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Workload<'a> {
    pub(crate) group: &'a str,
    pub(crate) parameter: &'a str,
    pub(crate) times: &'a BTreeMap<String, f64>,
    pub(crate) throughput: Option<Throughput>,
}

impl<'a> Workload<'a> {
    /// Every workload of `results`, in group then parameter order.
    pub(crate) fn all(results: &'a Results) -> impl Iterator<Item = Workload<'a>> {
        results
            .iter()
            .flat_map(|(group, g)| Workload::of_group(group, g))
    }

    pub(crate) fn of_group(group: &'a str, g: &'a Group) -> impl Iterator<Item = Workload<'a>> {
        g.workloads.iter().map(move |(parameter, times)| Workload {
            group,
            parameter,
            times,
            throughput: g.throughput,
        })
    }

    /// `group` or `group (parameter)`.
    pub(crate) fn name(&self) -> String {
        if self.parameter.is_empty() {
            self.group.to_string()
        } else {
            format!("{} ({})", self.group, self.parameter)
        }
    }

    /// The reference the ratios are taken against: skein's fastest entry (a group may
    /// hold several skein variants, e.g. one per start method).
    pub(crate) fn reference(&self) -> Option<(&'a str, f64)> {
        self.times
            .iter()
            .filter(|(f, _)| Family::of(f) == Family::Skein)
            .map(|(f, &ns)| (f.as_str(), ns))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// `time ÷ skein's time` for `function` (above 1: skein is faster).
    pub(crate) fn ratio(&self, function: &str) -> Option<f64> {
        let (_, reference) = self.reference()?;
        Some(self.times.get(function)? / reference)
    }

    /// Implementations ordered skein first, then Rust peers, then Python, each by time.
    pub(crate) fn ordered(&self) -> Vec<(&'a str, f64)> {
        let mut v: Vec<(&str, f64)> = self.times.iter().map(|(f, &ns)| (f.as_str(), ns)).collect();
        v.sort_by(|a, b| {
            (Family::of(a.0), a.1)
                .partial_cmp(&(Family::of(b.0), b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        v
    }

    /// Items or bytes per second at `ns` per iteration, when the group declares a
    /// throughput (CPython rows do the same unit of work per iteration, by contract).
    pub(crate) fn rate(&self, ns: f64) -> Option<String> {
        let per_second = |n: u64| n as f64 / (ns / 1e9);
        match self.throughput? {
            Throughput::Elements(n) => Some(format!("{}/s", si(per_second(n)))),
            Throughput::Bytes(n) => Some(format!("{}B/s", si(per_second(n)))),
        }
    }
}

/// `1.23 M`, `456 k`, `7.8 G`.
fn si(x: f64) -> String {
    let (v, unit) = if x >= 1e9 {
        (x / 1e9, " G")
    } else if x >= 1e6 {
        (x / 1e6, " M")
    } else if x >= 1e3 {
        (x / 1e3, " k")
    } else {
        (x, " ")
    };
    format!("{}{unit}", sig3(v))
}

/// Three significant figures, without trailing noise: `1.23`, `45.6`, `789`.
pub(crate) fn sig3(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A ratio for people: `1.05×`, `0.31×`, `240×`.
pub(crate) fn times(ratio: f64) -> String {
    format!("{}×", sig3(ratio))
}

/// A duration in ns for people: `4.70 ns`, `1.23 µs`, `45.6 ms`, `2.10 s`.
pub(crate) fn human_time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{} ns", sig3(ns))
    } else if ns < 1e6 {
        format!("{} µs", sig3(ns / 1e3))
    } else if ns < 1e9 {
        format!("{} ms", sig3(ns / 1e6))
    } else {
        format!("{} s", sig3(ns / 1e9))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::record;

    #[test]
    fn families_from_function_ids() {
        assert_eq!(Family::of("skein"), Family::Skein);
        assert_eq!(Family::of("skein/fork"), Family::Skein);
        assert_eq!(Family::of("skein Generator::next"), Family::Skein);
        assert_eq!(Family::of("parking_lot"), Family::RustPeer);
        assert_eq!(Family::of("raw fork+waitpid"), Family::RustPeer);
        assert_eq!(Family::of("tokio/current_thread"), Family::RustPeer);
        assert_eq!(Family::of("cpython"), Family::Python);
        assert_eq!(Family::of("cpython/Pool(2).map"), Family::Python);
        assert_eq!(Family::of("gevent"), Family::Python);
        assert_eq!(chapter_of("hub/echo_1000_clients"), "coroutine");
        assert_eq!(chapter_of("locks/ping_pong"), "locks");
    }

    #[test]
    fn ratios_are_against_skeins_fastest_entry() {
        let mut results = Results::new();
        for (f, ns) in [
            ("raw fork+waitpid", 190.0),
            ("skein/fork", 200.0),
            ("skein/spawn", 1200.0),
            ("cpython/fork", 3600.0),
        ] {
            record(&mut results, "process/spawn_join", "", f, ns);
        }
        let w = Workload::all(&results).next().unwrap();
        assert_eq!(w.reference(), Some(("skein/fork", 200.0)));
        assert!((w.ratio("raw fork+waitpid").unwrap() - 0.95).abs() < 1e-9);
        assert!((w.ratio("cpython/fork").unwrap() - 18.0).abs() < 1e-9);
        let order: Vec<_> = w.ordered().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            order,
            [
                "skein/fork",
                "skein/spawn",
                "raw fork+waitpid",
                "cpython/fork"
            ]
        );
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(human_time(4.7), "4.70 ns");
        assert_eq!(human_time(1234.0), "1.23 µs");
        assert_eq!(human_time(45.6e6), "45.6 ms");
        assert_eq!(human_time(2.1e9), "2.10 s");
        assert_eq!(times(240.4), "240×");
        assert_eq!(times(0.304), "0.30×");
        let mut results = Results::new();
        record(&mut results, "q", "", "skein", 2e6);
        results.get_mut("q").unwrap().throughput = Some(Throughput::Elements(200_000));
        let w = Workload::all(&results).next().unwrap();
        assert_eq!(w.rate(2e6).as_deref(), Some("100 M/s"));
    }
}
