//! Running a child with its output read line by line (stdout and stderr both), under a
//! time bound; the child runs in its own process group so a bound that runs out ends
//! the helpers it started too (multiprocessing's forkserver, resource tracker, …).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One line of a child's output.
#[derive(Debug)]
pub(crate) enum Line {
    Out(String),
    Err(String),
}

/// How a child ended.
#[derive(Debug)]
pub(crate) enum Ended {
    Exited(ExitStatus),
    /// The bound ran out; the child's process group was killed.
    TimedOut(Duration),
}

fn pump(source: impl Read + Send + 'static, tx: mpsc::Sender<Line>, err: bool) {
    std::thread::spawn(move || {
        for line in BufReader::new(source).lines() {
            let Ok(line) = line else { break };
            let line = if err {
                Line::Err(line)
            } else {
                Line::Out(line)
            };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

/// Runs `command`, handing each output line to `on_line` as it comes, for at most
/// `bound`.
pub(crate) fn run(
    mut command: Command,
    bound: Duration,
    mut on_line: impl FnMut(Line),
) -> Result<Ended, String> {
    let program = format!("{:?}", command.get_program());
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    let (tx, rx) = mpsc::channel();
    pump(child.stdout.take().expect("piped"), tx.clone(), false);
    pump(child.stderr.take().expect("piped"), tx, true);
    let deadline = Instant::now() + bound;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => on_line(line),
            // Both pipes closed: the child (and whatever inherited them) is done.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() > deadline {
            kill_group(child.id());
            let _ = child.wait();
            return Ok(Ended::TimedOut(bound));
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("could not wait for {program}: {e}"))?;
    Ok(Ended::Exited(status))
}

fn kill_group(pid: u32) {
    let Some(pid) = rustix::process::Pid::from_raw(pid as i32) else {
        return;
    };
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_streams_and_the_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let mut lines = Vec::new();
        let ended = run(cmd, Duration::from_secs(30), |l| lines.push(l)).unwrap();
        assert!(matches!(ended, Ended::Exited(s) if s.code() == Some(3)));
        assert!(
            lines
                .iter()
                .any(|l| matches!(l, Line::Out(s) if s == "out"))
        );
        assert!(
            lines
                .iter()
                .any(|l| matches!(l, Line::Err(s) if s == "err"))
        );
    }

    #[test]
    fn a_bound_that_runs_out_kills_the_whole_group() {
        let mut cmd = Command::new("sh");
        // The grandchild keeps the pipes open: only a group kill ends it.
        cmd.args(["-c", "sleep 600 & echo started; wait"]);
        let started = Instant::now();
        let ended = run(cmd, Duration::from_millis(500), |_| {}).unwrap();
        assert!(matches!(ended, Ended::TimedOut(_)));
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}
