//! `subprocess`'s counterpart is std's `Command`: run another program, capture its output.
//!
//! Seed: 004 (subprocess)
//!
//! `multiprocessing` runs *this* program's functions in children; `subprocess` runs
//! *other* programs. Rust's standard library already has the latter, so skein shows it
//! instead of wrapping it: `subprocess.run([...], capture_output=True)` is
//! `Command::new(..).args(..).output()`, and `Popen` with pipes is `spawn()` with
//! `Stdio::piped()`.

use std::io::Write;
use std::process::{Command, Stdio};

fn main() {
    skein_process::init();
    println!("== subprocess.run(['echo', 'hello'], capture_output=True) ==");
    let out = Command::new("echo").arg("hello from echo").output().expect("run echo");
    println!("  returncode={:?} stdout={:?}", out.status.code(), String::from_utf8_lossy(&out.stdout));

    println!("\n== subprocess.run('exit 3', shell=True).returncode ==");
    let status = Command::new("sh").args(["-c", "exit 3"]).status().expect("run sh");
    println!("  returncode={:?}", status.code());

    println!("\n== Popen(['tr', 'a-z', 'A-Z'], stdin=PIPE, stdout=PIPE).communicate(b'...') ==");
    let mut child = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn tr");
    child.stdin.take().unwrap().write_all(b"shout this\n").unwrap();
    let out = child.wait_with_output().unwrap();
    println!("  stdout={:?}", String::from_utf8_lossy(&out.stdout));
}
