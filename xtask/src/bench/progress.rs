//! Progress of a long run, shown with indicatif when stdout is a terminal: a bar over
//! all steps with the elapsed time, the current target or script, the current group or
//! benchmark, and how many steps are left. When stdout is not a terminal (CI, a pipe,
//! a log file) it prints plain lines instead and draws nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display over `total` steps (benchmarks, or Python scripts).
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    total: u64,
    done: u64,
}

impl Progress {
    /// A bar on a terminal, plain lines elsewhere. `unit` names a step ("benchmarks").
    pub(crate) fn new(total: u64, unit: &str) -> Progress {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout());
            let template = format!(
                "{{elapsed_precise}} [{{bar:24.cyan/blue}}] {{pos}}/{{len}} {unit} · {{prefix}}\n  now: {{wide_msg}}"
            );
            bar.set_style(
                ProgressStyle::with_template(&template)
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            total,
            done: 0,
        }
    }

    /// Whether a bar is drawn (stdout is a terminal).
    pub(crate) fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    /// A new stage (a bench target, a script): shown as the bar's prefix, or printed.
    pub(crate) fn stage(&self, index: usize, count: usize, what: &str) {
        let label = format!("[{index}/{count}] {what}");
        match &self.bar {
            Some(bar) => bar.set_prefix(label),
            None => println!(
                "\n=== {label} · {} elapsed, {} of {} steps left ===",
                elapsed(self.started.elapsed()),
                self.total.saturating_sub(self.done),
                self.total
            ),
        }
    }

    /// What is running now (a group, a benchmark id); only drawn on a terminal.
    pub(crate) fn current(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_string());
        }
    }

    /// One step done.
    pub(crate) fn step(&mut self) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.set_position(self.done.min(self.total));
        }
    }

    /// Sets the steps done (after a stage whose steps could not all be seen).
    pub(crate) fn set_done(&mut self, done: u64) {
        self.done = done;
        if let Some(bar) = &self.bar {
            bar.set_position(done.min(self.total));
        }
    }

    /// A line of output, printed above the bar (or plainly).
    pub(crate) fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    /// Clears the bar and prints the closing line with the elapsed time.
    pub(crate) fn finish(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        println!("{what} in {}", elapsed(self.started.elapsed()));
    }
}

/// `1m05s`, `42s`.
pub(crate) fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_reads_as_minutes_and_seconds() {
        assert_eq!(elapsed(Duration::from_secs(42)), "42s");
        assert_eq!(elapsed(Duration::from_secs(65)), "1m05s");
    }

    #[test]
    fn counts_steps_without_a_terminal() {
        // Under `cargo test` stdout is captured, not a terminal: no bar, plain lines.
        let mut p = Progress::new(3, "steps");
        assert!(!p.is_drawn());
        p.stage(1, 2, "first");
        p.step();
        p.step();
        p.set_done(3);
        assert_eq!(p.done, 3);
        p.finish("done");
    }
}
