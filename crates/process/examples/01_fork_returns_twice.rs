//! `fork()` is called once and returns twice: the child's pid in the parent, `Child` in the child.
//!
//! Seed: 002 (os.fork 只在类 Linux 平台)
//! Example: 002 § os.fork() — pid = os.fork()
//! Example: 004 § 案例19
//!
//! The notes' first multiprocessing example: the process copies itself; both copies
//! continue from the same line, each learning which one it is from the return value.
//! The child sees its parent through `getppid()`. The parent waits for the child so it
//! leaves no zombie (a `Process` does that for you).

use skein_process::{Fork, fork, getpid, getppid};

fn main() {
    skein_process::init();
    println!("== fork() returns twice ==");
    println!("Process ({}) start...", getpid());
    // SAFETY: this demo is single-threaded, so the child holds every lock there is.
    match unsafe { fork() }.expect("fork") {
        Fork::Child => {
            println!(
                "I am child process ({}) and my parent is {}.",
                getpid(),
                getppid()
            );
            std::process::exit(0);
        }
        Fork::Parent { child } => {
            println!(
                "I am parent process ({}), just created a child process ({child}).",
                getpid()
            );
            let mut status = 0;
            // SAFETY: `status` is a valid out-pointer; `child` is our child.
            unsafe { libc::waitpid(child, &mut status, 0) };
            println!(
                "child {child} exited with status {}",
                libc::WEXITSTATUS(status)
            );
        }
    }
}
