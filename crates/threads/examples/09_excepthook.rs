//! A panicking thread: reported with its name by the excepthook, returned by join as an error.
//! Seed: 004 (threading 的使用; the notes stop before failures — SPEC adds excepthook)
//! Time bound: 20 s
//!
//! Python prints `Exception in thread NAME:` and the traceback through
//! `threading.excepthook`, and the rest of the program goes on. skein does the same at the
//! thread's edge (after Rust's own panic message, which gives the location), and `join`
//! also returns the panic as an error. The hook can be replaced, e.g. to log.

use skein_threads::{Builder, enumerate, reset_excepthook, set_excepthook};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Rust's panic message goes to stderr; keep the demo's story on stdout.
    std::panic::set_hook(Box::new(|info| {
        println!("  (Rust's panic hook) {info}");
    }));

    println!("== the default excepthook (writes to stderr) ==");
    let handle = Builder::new()
        .name("worker-1")
        .spawn(|| -> u32 { panic!("division by zero") })?;
    let err = handle.join().expect_err("it panicked");
    println!("  join() -> Err: {err}");

    println!("\n== a replaced excepthook ==");
    set_excepthook(|args| {
        println!(
            "  (my excepthook) thread {:?} failed: {}",
            args.thread().name(),
            args.message()
        );
    });
    let handle = Builder::new()
        .name("worker-2")
        .spawn(|| -> u32 { panic!("bad input: {}", 42) })?;
    let err = handle.join().expect_err("it panicked");
    println!(
        "  join() -> Err: {err}; panic_message() = {:?}",
        err.panic_message()
    );
    reset_excepthook();

    println!("\n== the payload can be re-raised ==");
    let handle = Builder::new()
        .name("worker-3")
        .spawn(|| std::panic::panic_any(7u8))?;
    set_excepthook(|_| {});
    let payload = handle.join().expect_err("it panicked").try_into_panic();
    reset_excepthook();
    match payload {
        Ok(payload) => println!("  payload is a u8: {:?}", payload.downcast_ref::<u8>()),
        Err(err) => println!("  no payload: {err}"),
    }

    let names: Vec<String> = enumerate().iter().map(|t| t.name()).collect();
    println!("\nenumerate() afterwards: {names:?} — failed threads are gone");
    Ok(())
}
