//! The scenarios' answer to the notes' question, in numbers and in words: speedup of
//! each model over running sequentially, for Rust and for CPython side by side.
//!
//! Speedup = time of `<side>/sequential` ÷ time of the model, where the side is CPython
//! for `cpython/…` ids and Rust (`skein/sequential`) for every other one (tokio, std).

use super::workload::{Workload, times};

/// One model's speedup in one scenario.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Speedup {
    /// The function id (`skein/threads`, `cpython/gevent`).
    pub(crate) function: String,
    /// The model in words (`threads`, `green tasks`, `tokio`).
    pub(crate) label: String,
    /// Whether it runs in CPython.
    pub(crate) python: bool,
    pub(crate) speedup: f64,
}

/// `cpu_primes` → "CPU-bound (primes)".
pub(crate) fn title(group: &str) -> String {
    match group.rsplit('/').next().unwrap_or(group) {
        "cpu_primes" => "CPU-bound (primes)".into(),
        "io_timer" => "IO-bound (timers)".into(),
        "io_echo" => "IO-bound (loopback echo)".into(),
        other => other.replace('_', " "),
    }
}

fn label(function: &str) -> String {
    match function {
        "skein/green" => "green tasks".into(),
        "tokio/current_thread" => "tokio".into(),
        "std/threads" => "std threads".into(),
        f => f.split_once('/').map_or(f, |(_, m)| m).to_string(),
    }
}

fn is_python(function: &str) -> bool {
    function.starts_with("cpython/")
}

/// Every model's speedup in `w`, Rust first, each side fastest first. Models whose
/// side has no sequential run are left out.
pub(crate) fn speedups(w: &Workload<'_>) -> Vec<Speedup> {
    let mut out: Vec<Speedup> = w
        .times
        .iter()
        .filter(|(f, _)| !f.ends_with("/sequential"))
        .filter_map(|(f, &ns)| {
            let python = is_python(f);
            let base = if python {
                "cpython/sequential"
            } else {
                "skein/sequential"
            };
            let seq = *w.times.get(base)?;
            Some(Speedup {
                function: f.clone(),
                label: label(f),
                python,
                speedup: seq / ns,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.python, b.speedup)
            .partial_cmp(&(b.python, a.speedup))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

fn find(s: &[Speedup], function: &str) -> Option<f64> {
    s.iter().find(|x| x.function == function).map(|x| x.speedup)
}

fn list(s: &[Speedup], python: bool) -> Option<String> {
    let items: Vec<String> = s
        .iter()
        .filter(|x| x.python == python)
        .map(|x| format!("{} {}", x.label, times(x.speedup)))
        .collect();
    (!items.is_empty()).then(|| items.join(", "))
}

/// The verdict for one scenario workload, in one sentence.
pub(crate) fn sentence(w: &Workload<'_>) -> String {
    let s = speedups(w);
    let mut text = title(w.group);
    if !w.parameter.is_empty() {
        text += &format!(" [{}]", w.parameter);
    }
    let python = list(&s, true).map_or_else(
        || "CPython not measured (`cargo xtask bench --python`)".to_string(),
        |l| format!("{l} in CPython"),
    );
    let rust = list(&s, false).map_or_else(
        || "Rust not measured".to_string(),
        |l| format!("{l} in Rust"),
    );
    text += &format!(": {python}; {rust}");
    let conclusions = if w.group.ends_with("cpu_primes") || w.group.contains("/cpu") {
        cpu_conclusions(&s)
    } else {
        io_conclusions(w, &s)
    };
    if !conclusions.is_empty() {
        text += " — ";
        text += &conclusions.join("; ");
    }
    text.push('.');
    text
}

/// Above this a model really runs in parallel (or overlaps its waits).
const PARALLEL: f64 = 1.25;

fn cpu_conclusions(s: &[Speedup]) -> Vec<String> {
    let mut out = Vec::new();
    let (py_threads, py_processes) = (find(s, "cpython/threads"), find(s, "cpython/processes"));
    if let (Some(t), Some(p)) = (py_threads, py_processes) {
        if t < PARALLEL && p >= PARALLEL {
            out.push(
                "CPython's threads stay near 1× because the GIL runs one thread's Python at a time; its processes each have their own GIL"
                    .to_string(),
            );
        } else if t >= PARALLEL {
            out.push("CPython's threads ran in parallel here (a free-threaded build?)".to_string());
        }
    }
    let (threads, processes) = (find(s, "skein/threads"), find(s, "skein/processes"));
    match (threads, processes) {
        (Some(t), Some(p)) if t >= PARALLEL && t >= 0.9 * p => out.push(
            "Rust's threads are as fast as processes — no GIL, and no copying between address spaces"
                .to_string(),
        ),
        (Some(t), Some(p)) if t >= PARALLEL => out.push(format!(
            "Rust's threads run in parallel (no GIL); processes did better still ({})",
            times(p)
        )),
        (Some(t), _) if t < PARALLEL => {
            out.push("Rust's threads did not run in parallel in this run: was another job using the cores?".to_string())
        }
        _ => {}
    }
    out
}

fn io_conclusions(w: &Workload<'_>, s: &[Speedup]) -> Vec<String> {
    let mut out = Vec::new();
    let best = |python: bool| s.iter().find(|x| x.python == python);
    if let (Some(r), Some(p)) = (best(false), best(true)) {
        out.push(format!(
            "fastest: {} in Rust, {} in CPython",
            r.label, p.label
        ));
    }
    if let Some(t) = find(s, "cpython/threads").filter(|&t| t >= PARALLEL) {
        out.push(format!(
            "CPython's threads help here ({}): the GIL is released while a thread waits",
            times(t)
        ));
    }
    if let (Some(green), Some(tokio)) = (
        w.times.get("skein/green"),
        w.times.get("tokio/current_thread"),
    ) {
        out.push(format!(
            "skein's green tasks take {} tokio's time",
            times(green / tokio)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::{Results, record};

    fn workload<'a>(results: &'a mut Results, group: &str, rows: &[(&str, f64)]) -> Workload<'a> {
        for (f, ns) in rows {
            record(results, group, "", f, *ns);
        }
        Workload::all(results).next().unwrap()
    }

    #[test]
    fn speedups_are_per_side() {
        let mut r = Results::new();
        let w = workload(
            &mut r,
            "scenarios/cpu_primes",
            &[
                ("skein/sequential", 400.0),
                ("skein/threads", 200.0),
                ("tokio/current_thread", 400.0),
                ("cpython/sequential", 8000.0),
                ("cpython/processes", 4000.0),
            ],
        );
        let s = speedups(&w);
        let got: Vec<(&str, f64)> = s.iter().map(|x| (x.function.as_str(), x.speedup)).collect();
        assert_eq!(
            got,
            [
                ("skein/threads", 2.0),
                ("tokio/current_thread", 1.0),
                ("cpython/processes", 2.0)
            ]
        );
        assert_eq!(s[1].label, "tokio");
    }

    #[test]
    fn cpu_verdict_names_the_gil_on_one_side_only() {
        let mut r = Results::new();
        let w = workload(
            &mut r,
            "scenarios/cpu_primes",
            &[
                ("skein/sequential", 400.0),
                ("skein/threads", 210.0),
                ("skein/processes", 215.0),
                ("cpython/sequential", 8000.0),
                ("cpython/threads", 8400.0),
                ("cpython/processes", 4400.0),
            ],
        );
        let text = sentence(&w);
        assert!(
            text.starts_with(
                "CPU-bound (primes): processes 1.82×, threads 0.95× in CPython; threads 1.90×, processes 1.86× in Rust — "
            ),
            "{text}"
        );
        assert!(
            text.contains("GIL runs one thread's Python at a time"),
            "{text}"
        );
        assert!(
            text.contains("Rust's threads are as fast as processes"),
            "{text}"
        );
    }

    #[test]
    fn io_verdict_names_the_fastest_and_green_against_tokio() {
        let mut r = Results::new();
        let w = workload(
            &mut r,
            "scenarios/io_timer",
            &[
                ("skein/sequential", 4.0e9),
                ("skein/green", 22e6),
                ("tokio/current_thread", 20e6),
                ("cpython/sequential", 4.0e9),
                ("cpython/threads", 40e6),
                ("cpython/gevent", 25e6),
            ],
        );
        let text = sentence(&w);
        assert!(
            text.contains("fastest: tokio in Rust, gevent in CPython"),
            "{text}"
        );
        assert!(
            text.contains("green tasks take 1.10× tokio's time"),
            "{text}"
        );
        assert!(
            text.contains("GIL is released while a thread waits"),
            "{text}"
        );
    }

    #[test]
    fn missing_python_side_is_said() {
        let mut r = Results::new();
        let w = workload(
            &mut r,
            "scenarios/io_echo",
            &[("skein/sequential", 90.0), ("skein/green", 10.0)],
        );
        let text = sentence(&w);
        assert!(
            text.starts_with("IO-bound (loopback echo): CPython not measured"),
            "{text}"
        );
        assert!(text.contains("green tasks 9.00× in Rust"), "{text}");
    }
}
