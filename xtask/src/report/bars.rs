//! The performance bars of SPEC.md ("Workloads and performance bars"), keyed by the
//! criterion group and function ids of `benches/benches/*.rs`, and whether a run met them.
//!
//! Every bar compares skein's time with one peer's in the same group (same run): either
//! skein's time may be at most `k ×` the peer's ([`Kind::TimeAtMost`]), or skein's speed
//! must be at least `k ×` the peer's, i.e. `peer time ÷ skein time ≥ k`
//! ([`Kind::SpeedAtLeast`]; a speedup over sequential is this with the sequential run as
//! the peer).

use super::collect::Results;
use super::workload::Workload;

/// How a bar compares skein with its peer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// `skein time ÷ peer time ≤ k`.
    TimeAtMost(f64),
    /// `peer time ÷ skein time ≥ k`.
    SpeedAtLeast(f64),
}

/// One bar: a row of SPEC.md's table applied to one skein entry and one peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bar {
    /// The SPEC.md row, as written there.
    pub(crate) workload: &'static str,
    pub(crate) group: &'static str,
    pub(crate) skein: &'static str,
    pub(crate) peer: &'static str,
    pub(crate) kind: Kind,
}

use Kind::{SpeedAtLeast as Speed, TimeAtMost as Time};

const fn bar(
    workload: &'static str,
    group: &'static str,
    skein: &'static str,
    peer: &'static str,
    kind: Kind,
) -> Bar {
    Bar {
        workload,
        group,
        skein,
        peer,
        kind,
    }
}

const LOCK: &str = "Lock / RLock uncontended acquire+release";
const CONTENDED: &str = "Lock / RLock contended, 2 threads";
const PING: &str = "Event / Condition ping-pong, 2 threads";
const FIFO: &str = "Queue FIFO, SPSC and 2P/2C MPMC";
const JOINABLE: &str = "Queue with task_done/join, 2 consumers";
const POOL: &str = "thread pool: submit+wait, map";
const SPAWN: &str = "process spawn+join";
const CPU: &str = "CPU scenario on 2 cores (primes)";
const IO: &str = "IO scenarios, 200 tasks";

/// SPEC.md's bars. Rows SPEC.md gives that no bench measures yet are in [`UNMEASURED`].
pub(crate) const BARS: &[Bar] = &[
    bar(
        LOCK,
        "locks/uncontended_lock",
        "skein",
        "parking_lot",
        Time(1.1),
    ),
    bar(
        LOCK,
        "locks/uncontended_rlock",
        "skein",
        "parking_lot",
        Time(1.1),
    ),
    bar(
        CONTENDED,
        "locks/contended_counter_2_threads",
        "skein",
        "parking_lot",
        Speed(0.9),
    ),
    bar(
        CONTENDED,
        "locks/contended_rlock_counter_2_threads",
        "skein",
        "parking_lot",
        Speed(0.9),
    ),
    bar(
        PING,
        "locks/ping_pong",
        "skein/event",
        "crossbeam-channel",
        Time(1.2),
    ),
    bar(
        PING,
        "locks/ping_pong",
        "skein/condition",
        "crossbeam-channel",
        Time(1.2),
    ),
    bar(
        FIFO,
        "queue/spsc_bounded_1024",
        "skein",
        "crossbeam-channel",
        Speed(1.0),
    ),
    bar(
        FIFO,
        "queue/mpmc_2x2_bounded_1024",
        "skein",
        "crossbeam-channel",
        Speed(1.0),
    ),
    bar(
        FIFO,
        "queue/spsc_unbounded",
        "skein/unbounded",
        "crossbeam-channel",
        Speed(1.0),
    ),
    bar(
        FIFO,
        "queue/mpmc_2x2_unbounded",
        "skein/unbounded",
        "crossbeam-channel",
        Speed(1.0),
    ),
    bar(
        JOINABLE,
        "queue/task_done_join_1p2c",
        "skein",
        "crossbeam-channel+counter",
        Speed(1.0),
    ),
    bar(
        JOINABLE,
        "queue/task_done_join_1p2c",
        "skein",
        "cpython",
        Speed(20.0),
    ),
    bar(
        "thread spawn+join",
        "threads/spawn_join",
        "skein",
        "std",
        Time(1.1),
    ),
    bar(
        POOL,
        "pool/submit_wait_100k",
        "skein",
        "rayon/scope_spawn",
        Speed(1.0),
    ),
    bar(
        POOL,
        "pool/map_100k_chunksize1",
        "skein",
        "rayon/scope_spawn",
        Speed(1.0),
    ),
    bar(
        POOL,
        "pool/map_100k_default",
        "skein",
        "rayon/par_iter_collect",
        Speed(1.0),
    ),
    bar(
        SPAWN,
        "process/spawn_join",
        "skein/fork",
        "raw fork+waitpid",
        Time(1.1),
    ),
    bar(
        SPAWN,
        "process/spawn_join",
        "skein/forkserver",
        "raw fork+waitpid",
        Time(1.5),
    ),
    bar(
        SPAWN,
        "process/spawn_join",
        "skein/spawn",
        "procspawn",
        Time(0.7),
    ),
    bar(
        "cross-process queue, small messages",
        "process/queue_100k_small",
        "skein",
        "ipc-channel",
        Speed(10.0),
    ),
    bar(
        "cross-process queue, small messages",
        "process/queue_100k_small",
        "skein",
        "iceoryx2 blocking",
        Speed(1.0),
    ),
    bar(
        "Pipe small messages (8-byte payload)",
        "process/pipe_small_8b",
        "skein bytes",
        "raw socketpair",
        Speed(1.0),
    ),
    bar(
        "bulk transfer, 64 KiB messages",
        "process/bulk_64k",
        "skein",
        "raw socketpair",
        Speed(1.0),
    ),
    bar(
        "shared Array writes by a child, 10M i32",
        "process/array_writes_10M_i32",
        "skein",
        "raw mmap",
        Speed(0.95),
    ),
    bar(
        "process pool map, 100k tiny tasks",
        "process/pool_map_100k",
        "skein ProcessPool::map",
        "procspawn Pool, same chunks",
        Speed(1.0),
    ),
    bar(
        "process pool map, 100k tiny tasks",
        "process/pool_map_100k",
        "skein ProcessPool::map",
        "cpython/Pool(2).map",
        Speed(3.0),
    ),
    bar(
        "process pool apply_async round trip",
        "process/pool_apply_round_trip",
        "skein ProcessPool::apply",
        "procspawn Pool::spawn+join",
        Speed(10.0),
    ),
    bar(
        "Manager proxy round trip",
        "process/manager_round_trip",
        "skein/dict_get",
        "cpython/dict_get",
        Speed(10.0),
    ),
    bar(
        "Manager proxy round trip",
        "process/manager_round_trip",
        "skein/dict_set",
        "cpython/dict_set",
        Speed(10.0),
    ),
    bar(
        "Manager proxy round trip",
        "process/manager_round_trip",
        "skein/queue_put_get",
        "cpython/queue_put_get",
        Speed(10.0),
    ),
    bar(
        "generator resume/yield",
        "coroutine/generator_resume",
        "skein Generator::next",
        "raw corosensei",
        Time(1.3),
    ),
    bar(
        "hub spawn+join of 100k green tasks",
        "hub/spawn_join_100k",
        "skein",
        "tokio_current_thread",
        Speed(1.0),
    ),
    bar(
        "10k green tasks sleeping 10 ms",
        "hub/sleep_10k_10ms",
        "skein",
        "tokio_current_thread",
        Time(1.2),
    ),
    bar(
        "echo round trips, 1,000 green clients",
        "hub/echo_1000_clients",
        "skein",
        "tokio_current_thread",
        Speed(1.0),
    ),
    bar(
        CPU,
        "scenarios/cpu_primes",
        "skein/threads",
        "skein/sequential",
        Speed(1.8),
    ),
    bar(
        CPU,
        "scenarios/cpu_primes",
        "skein/processes",
        "skein/sequential",
        Speed(1.8),
    ),
    // Issue 12's CPU-bound map: the pool already running (the scenario above pays for
    // its forks inside every iteration).
    bar(
        CPU,
        "process/pool_cpu_map",
        "skein ProcessPool::map (2 workers)",
        "sequential",
        Speed(1.8),
    ),
    bar(
        IO,
        "scenarios/io_timer",
        "skein/green",
        "tokio/current_thread",
        Time(1.1),
    ),
    bar(
        IO,
        "scenarios/io_echo",
        "skein/green",
        "tokio/current_thread",
        Time(1.1),
    ),
];

/// Bars of SPEC.md that the benches do not measure (the peer or the quantity is not
/// in any group), listed so the report says so instead of dropping them.
pub(crate) const UNMEASURED: &[(&str, &str)] = &[(
    "hub spawn+join of 100k green tasks",
    "≤ 8 KiB resident per live task (memory, not time: not a criterion figure)",
)];

impl Bar {
    /// The bar in SPEC.md's words: `≤ 1.1× parking_lot's time`, `≥ 1.8× skein/sequential`.
    pub(crate) fn text(&self) -> String {
        // SPEC.md writes `1.0×`, not `1×`.
        let k = |k: f64| {
            if k.fract() == 0.0 {
                format!("{k:.1}")
            } else {
                k.to_string()
            }
        };
        match self.kind {
            Kind::TimeAtMost(x) => format!("≤ {}× {}'s time", k(x), self.peer),
            Kind::SpeedAtLeast(x) if self.peer.ends_with("sequential") => {
                format!("≥ {}× speedup over {}", k(x), self.peer)
            }
            Kind::SpeedAtLeast(x) => format!("≥ {}× {}'s speed", k(x), self.peer),
        }
    }
}

/// One bar applied to one workload of a run.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub(crate) bar: Bar,
    /// The workload's name (group, and parameter when it has one).
    pub(crate) workload: String,
    pub(crate) skein_ns: Option<f64>,
    pub(crate) peer_ns: Option<f64>,
}

impl Verdict {
    /// The measured value in the bar's own terms (time ratio or speed ratio).
    pub(crate) fn achieved(&self) -> Option<f64> {
        let (s, p) = (self.skein_ns?, self.peer_ns?);
        Some(match self.bar.kind {
            Kind::TimeAtMost(_) => s / p,
            Kind::SpeedAtLeast(_) => p / s,
        })
    }

    /// `Some(true)` met, `Some(false)` missed, `None` not measured in this run.
    pub(crate) fn met(&self) -> Option<bool> {
        let a = self.achieved()?;
        Some(match self.bar.kind {
            Kind::TimeAtMost(k) => a <= k,
            Kind::SpeedAtLeast(k) => a >= k,
        })
    }
}

/// Every bar against `results`: one verdict per bar and workload parameter (a bar whose
/// group is absent gives one "not measured" verdict).
pub(crate) fn evaluate(results: &Results) -> Vec<Verdict> {
    let mut out = Vec::new();
    for bar in BARS {
        let workloads: Vec<Workload<'_>> = results
            .get(bar.group)
            .map(|g| Workload::of_group(bar.group, g).collect())
            .unwrap_or_default();
        if workloads.is_empty() {
            out.push(Verdict {
                bar: *bar,
                workload: bar.group.to_string(),
                skein_ns: None,
                peer_ns: None,
            });
        }
        for w in workloads {
            out.push(Verdict {
                bar: *bar,
                workload: w.name(),
                skein_ns: w.times.get(bar.skein).copied(),
                peer_ns: w.times.get(bar.peer).copied(),
            });
        }
    }
    out
}

/// `(met, measured)` over `verdicts`.
pub(crate) fn tally(verdicts: &[Verdict]) -> (usize, usize) {
    let measured = verdicts.iter().filter(|v| v.met().is_some()).count();
    let met = verdicts.iter().filter(|v| v.met() == Some(true)).count();
    (met, measured)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::record;

    fn results(rows: &[(&str, &str, f64)]) -> Results {
        let mut r = Results::new();
        for (g, f, ns) in rows {
            record(&mut r, g, "", f, *ns);
        }
        r
    }

    fn verdict<'a>(v: &'a [Verdict], group: &str, skein: &str, peer: &str) -> &'a Verdict {
        v.iter()
            .find(|v| v.bar.group == group && v.bar.skein == skein && v.bar.peer == peer)
            .unwrap()
    }

    #[test]
    fn time_bars_and_speed_bars_compare_the_right_way() {
        let r = results(&[
            ("locks/uncontended_lock", "skein", 5.0),
            ("locks/uncontended_lock", "parking_lot", 4.7),
            ("locks/uncontended_rlock", "skein", 6.0),
            ("locks/uncontended_rlock", "parking_lot", 5.0),
            ("queue/spsc_bounded_1024", "skein", 3.0),
            ("queue/spsc_bounded_1024", "crossbeam-channel", 4.0),
            ("scenarios/cpu_primes", "skein/sequential", 400.0),
            ("scenarios/cpu_primes", "skein/threads", 210.0),
            ("scenarios/cpu_primes", "skein/processes", 230.0),
        ]);
        let v = evaluate(&r);
        // 5.0 / 4.7 = 1.064 ≤ 1.1: met; 6.0 / 5.0 = 1.2 > 1.1: missed.
        assert_eq!(
            verdict(&v, "locks/uncontended_lock", "skein", "parking_lot").met(),
            Some(true)
        );
        let rlock = verdict(&v, "locks/uncontended_rlock", "skein", "parking_lot");
        assert_eq!(rlock.met(), Some(false));
        assert!((rlock.achieved().unwrap() - 1.2).abs() < 1e-9);
        // Speed: crossbeam's time ÷ skein's = 1.33 ≥ 1.0.
        let fifo = verdict(&v, "queue/spsc_bounded_1024", "skein", "crossbeam-channel");
        assert_eq!(fifo.met(), Some(true));
        // Speedups: 400/210 = 1.90 met; 400/230 = 1.74 missed.
        let cpu = |s| verdict(&v, "scenarios/cpu_primes", s, "skein/sequential").met();
        assert_eq!(cpu("skein/threads"), Some(true));
        assert_eq!(cpu("skein/processes"), Some(false));
        // Absent groups and absent peers are "not measured", never "met".
        let absent = verdict(&v, "hub/sleep_10k_10ms", "skein", "tokio_current_thread");
        assert_eq!(absent.met(), None);
        assert_eq!(tally(&v), (3, 5));
    }

    #[test]
    fn bars_apply_to_every_parameter_of_a_group() {
        let mut r = Results::new();
        for (p, seq, thr) in [("2", 100.0, 50.0), ("4", 100.0, 80.0)] {
            record(&mut r, "scenarios/cpu_primes", p, "skein/sequential", seq);
            record(&mut r, "scenarios/cpu_primes", p, "skein/threads", thr);
        }
        let v: Vec<_> = evaluate(&r)
            .into_iter()
            .filter(|v| v.bar.skein == "skein/threads")
            .collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].workload, "scenarios/cpu_primes (2)");
        assert_eq!((v[0].met(), v[1].met()), (Some(true), Some(false)));
    }

    #[test]
    fn bar_texts_read_like_spec() {
        assert_eq!(BARS[0].text(), "≤ 1.1× parking_lot's time");
        assert_eq!(BARS[6].text(), "≥ 1.0× crossbeam-channel's speed");
        let cpu = BARS
            .iter()
            .find(|b| b.group == "scenarios/cpu_primes")
            .unwrap();
        assert_eq!(cpu.text(), "≥ 1.8× speedup over skein/sequential");
    }

    /// Every bar names a group and functions the benches really have. The scenario
    /// ids are the contract with `benches/benches/scenarios.rs` and are not checked
    /// here (that bench may build its group names at run time).
    #[test]
    fn bars_name_real_bench_ids() {
        let root = crate::meta::workspace_root().join("benches");
        let mut sources = String::new();
        for dir in ["benches", "python"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                sources += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
            }
        }
        for bar in BARS {
            if bar.group.starts_with("scenarios/") {
                continue;
            }
            for id in [bar.group, bar.skein, bar.peer] {
                // `skein/fork` and its kin are built as `format!("skein/{}", method.name())`.
                let built = id.starts_with("skein/") && sources.contains("\"skein/{}\"");
                assert!(
                    sources.contains(&format!("\"{id}\"")) || built,
                    "{id} of {bar:?} is in no bench"
                );
            }
        }
    }
}
