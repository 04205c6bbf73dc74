//! `cargo xtask bench --python`: CPython's side of every workload. Runs each
//! `benches/python/*.py` (with `--quick` passed through) and collects the JSON lines they
//! print into `target/skein-report/python.jsonl`, which `cargo xtask report` reads.
//!
//! Nothing is installed system-wide: greenlet and gevent go into a virtual environment
//! at `target/skein-python-venv` when the package registry is reachable, and the scripts
//! run with that environment's interpreter. When `python3` is missing the CPython side is
//! skipped with a note; when pip fails, only the greenlet/gevent figures are.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::lines::{self, Ended, Line};
use super::progress::Progress;
use crate::report::collect::{PythonRow, parse_python_line};
use crate::report::human_time;

/// The packages the venv gets: the third-party half of chapter 6.
const PACKAGES: &[&str] = &["greenlet", "gevent"];

/// How long one script may run.
fn bound(quick: bool) -> Duration {
    Duration::from_secs(if quick { 150 } else { 1800 })
}

/// The scripts, in name order.
pub(crate) fn scripts(dir: &Path) -> Vec<PathBuf> {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "py"))
                .collect()
        })
        .unwrap_or_default();
    scripts.sort();
    scripts
}

fn succeeds(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The interpreter to run the scripts with: the venv's, with greenlet and gevent when
/// they could be installed; else the system `python3`. `None` when there is no python3.
fn interpreter(target: &Path) -> Option<PathBuf> {
    let system = PathBuf::from("python3");
    if !succeeds(&system, &["--version"]) {
        println!("note: python3 is not on the PATH: the CPython side is skipped");
        return None;
    }
    let venv = target.join("skein-python-venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        println!(
            "creating a Python virtual environment in {}",
            venv.display()
        );
        let created = Command::new(&system)
            .args(["-m", "venv"])
            .arg(&venv)
            .output();
        if !created.is_ok_and(|o| o.status.success()) {
            println!(
                "note: `python3 -m venv` failed (Debian needs python3-venv): running the \
                 scripts with python3, without greenlet/gevent"
            );
            return Some(system);
        }
    }
    let import = format!("import {}", PACKAGES.join(", "));
    if succeeds(&python, &["-c", &import]) {
        return Some(python);
    }
    println!(
        "installing {} into {} (pip)…",
        PACKAGES.join(" and "),
        venv.display()
    );
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--quiet",
        "--retries",
        "1",
        "--timeout",
        "20",
    ])
    .args(PACKAGES);
    let mut last = Vec::new();
    let ended = lines::run(pip, Duration::from_secs(600), |line| {
        let (Line::Out(l) | Line::Err(l)) = line;
        last.push(l);
    });
    match ended {
        Ok(Ended::Exited(s)) if s.success() => {}
        _ => {
            let tail = last[last.len().saturating_sub(3)..].join("\n  ");
            println!(
                "note: pip could not install {} (is the package registry reachable?); \
                 their figures are skipped.\n  {tail}",
                PACKAGES.join("/")
            );
        }
    }
    Some(python)
}

/// The CPython side: finds an interpreter (making the venv), runs every script and
/// writes `python.jsonl` under `out`.
pub(crate) fn run(
    scripts_dir: &Path,
    target: &Path,
    out: &Path,
    quick: bool,
) -> Result<(), String> {
    if scripts(scripts_dir).is_empty() {
        println!(
            "note: no scripts in {}: the CPython side is skipped",
            scripts_dir.display()
        );
        return Ok(());
    }
    match interpreter(target) {
        Some(python) => run_scripts(scripts_dir, &python, out, quick),
        None => Ok(()),
    }
}

/// Runs every script with `python` and writes `python.jsonl`; fails (after writing what
/// it has) when a script failed or ran past its bound.
fn run_scripts(scripts_dir: &Path, python: &Path, out: &Path, quick: bool) -> Result<(), String> {
    let scripts = scripts(scripts_dir);
    let mut progress = Progress::new(scripts.len() as u64, "scripts");
    let mut rows: Vec<PythonRow> = Vec::new();
    let mut failures = Vec::new();
    for (i, script) in scripts.iter().enumerate() {
        let name = script
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        progress.stage(i + 1, scripts.len(), &format!("CPython {name}"));
        progress.current("starting");
        let mut command = Command::new(python);
        command.arg(script);
        if quick {
            command.arg("--quick");
        }
        let ended = lines::run(command, bound(quick), |line| match line {
            Line::Out(l) => match parse_python_line(&l) {
                Ok(row) => {
                    progress.current(&format!("{} · {}", row.group, row.function));
                    progress.println(&format!(
                        "  {} · {}: {}",
                        row.group,
                        row.function,
                        human_time(row.mean_ns)
                    ));
                    rows.push(row);
                }
                Err(_) => progress.println(&format!("  {name}: {l}")),
            },
            Line::Err(l) => progress.println(&format!("  {name} (stderr): {l}")),
        })?;
        match ended {
            Ended::Exited(s) if s.success() => {}
            Ended::Exited(s) => failures.push(format!("{name} failed ({s})")),
            Ended::TimedOut(d) => failures.push(format!(
                "{name} ran past its bound of {} s and was killed",
                d.as_secs()
            )),
        }
        progress.step();
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let path = out.join("python.jsonl");
    let text: String = rows
        .iter()
        .map(|r| serde_json::to_string(r).expect("a row serialises") + "\n")
        .collect();
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    progress.finish(&format!(
        "CPython side: {} rows from {} scripts written to {}",
        rows.len(),
        scripts.len(),
        path.display()
    ));
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("CPython side: {}", failures.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_scripts_and_keeps_their_rows_and_failures() {
        if !succeeds(Path::new("python3"), &["--version"]) {
            eprintln!("python3 missing: runner test skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let scripts = dir.path().join("python");
        std::fs::create_dir_all(&scripts).unwrap();
        std::fs::write(
            scripts.join("a_ok.py"),
            "import json, sys\n\
             q = '--quick' in sys.argv\n\
             print('a chatty line')\n\
             print(json.dumps({'group': 'g/x', 'parameter': None, 'function': 'cpython', 'mean_ns': 5.0 if q else 9.0}))\n",
        )
        .unwrap();
        std::fs::write(scripts.join("b_fails.py"), "raise SystemExit(2)\n").unwrap();
        let out = dir.path().join("report");
        // The system python3 as it is: the test installs nothing.
        let err = run_scripts(&scripts, Path::new("python3"), &out, true);
        let text = std::fs::read_to_string(out.join("python.jsonl")).unwrap();
        assert_eq!(
            text,
            "{\"group\":\"g/x\",\"parameter\":null,\"function\":\"cpython\",\"mean_ns\":5.0}\n"
        );
        let err = err.unwrap_err();
        assert!(err.contains("b_fails.py failed"), "{err}");
    }
}
