//! Stack overflow into a guard page: a SIGSEGV/SIGBUS handler, run on an alternate signal
//! stack, that recognises a fault address inside a coroutine's guard page, prints
//! `stack overflow in coroutine ...` and aborts. Faults anywhere else go to the handler
//! that was installed before (Rust's own, which reports overflows of thread stacks).
//!
//! Why abort instead of unwinding the coroutine: corosensei can make a trapping
//! coroutine return (`CoroutineTrapHandler`), but only when the coroutine has written no
//! memory outside itself except through volatile operations — not true of ordinary Rust
//! code, whose half-done writes (a `RefCell` borrowed, a `Vec` mid-push) would be left
//! behind. Rust treats thread stack overflow the same way: report, then abort.

use std::cell::Cell;
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::region::registry;

/// Signals a guard-page hit can arrive as (Linux: SIGSEGV; macOS: SIGBUS).
const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// The handlers installed before ours, as raw `sigaction` words (handler, flags).
static PREV_HANDLER: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static PREV_FLAGS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// Installs the process-wide handler (once) and makes sure the calling thread has an
/// alternate signal stack (once per thread). Called by the pool before it hands out the
/// first stack on a thread.
pub(crate) fn ensure_installed() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(install_handler);
    ALT_STACK.with(|a| a.ensure());
}

fn install_handler() {
    for (i, &sig) in SIGNALS.iter().enumerate() {
        // SAFETY: sigaction is given valid pointers to zero-initialised (valid) structs;
        // the handler we install is async-signal-safe (atomics, write(2), abort(3)).
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_fault as *const () as usize;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut new.sa_mask);
            if libc::sigaction(sig, &new, &mut old) == 0 {
                PREV_HANDLER[i].store(old.sa_sigaction, Ordering::Relaxed);
                PREV_FLAGS[i].store(old.sa_flags as usize, Ordering::Relaxed);
            }
        }
    }
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(hit) = registry::find_guard(addr) {
        report(addr, hit);
        // SAFETY: abort is async-signal-safe and never returns.
        unsafe { libc::abort() };
    }
    chain(sig, info, ctx);
}

/// Hands a fault that is not ours to the previous handler.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let i = if sig == libc::SIGSEGV { 0 } else { 1 };
    let handler = PREV_HANDLER[i].load(Ordering::Relaxed);
    let flags = PREV_FLAGS[i].load(Ordering::Relaxed) as libc::c_int;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction runs again
        // and the process dies of the signal, as it would have without us.
        // SAFETY: valid zeroed sigaction with SIG_DFL.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, ptr::null_mut());
        }
    } else if flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this
        // signature; calling it with our arguments is what the kernel would have done.
        unsafe {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(handler);
            f(sig, info, ctx);
        }
    } else {
        // SAFETY: a handler installed without SA_SIGINFO takes the signal number only.
        unsafe {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
            f(sig);
        }
    }
}

/// Writes the report with write(2) from a stack buffer: no allocation, no locks.
fn report(addr: usize, hit: registry::GuardHit) {
    let mut buf = Buf {
        bytes: [0; 400],
        len: 0,
    };
    buf.push(b"\nstack overflow in coroutine: fault at ");
    buf.hex(addr);
    buf.push(b" in the guard page of the coroutine stack ");
    buf.hex(hit.stack_lo + hit.guard);
    buf.push(b"..");
    buf.hex(hit.stack_hi);
    buf.push(b" (");
    buf.dec((hit.stack_hi - hit.stack_lo - hit.guard) / 1024);
    buf.push(b" KiB usable), thread ");
    buf.dec(thread_id());
    buf.push(b"; give the coroutine a bigger stack (`stack_size` on its builder). Aborting.\n");
    // SAFETY: write(2) on fd 2 with a valid buffer and length.
    unsafe {
        libc::write(2, buf.bytes.as_ptr().cast(), buf.len);
    }
}

#[cfg(target_os = "linux")]
fn thread_id() -> usize {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as usize }
}

#[cfg(not(target_os = "linux"))]
fn thread_id() -> usize {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as usize }
}

struct Buf {
    bytes: [u8; 400],
    len: usize,
}

impl Buf {
    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }
    fn hex(&mut self, mut v: usize) {
        let mut tmp = [0u8; 18];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b"0123456789abcdef"[v & 15];
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        i -= 2;
        tmp[i] = b'0';
        tmp[i + 1] = b'x';
        self.push(&tmp[i..]);
    }
    fn dec(&mut self, mut v: usize) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&tmp[i..]);
    }
}

thread_local! {
    static ALT_STACK: AltStack = const { AltStack { mapped: Cell::new(0), checked: Cell::new(false) } };
}

/// The calling thread's alternate signal stack, when skein had to make one (threads
/// started by Rust's std already have one; threads started from C may not).
struct AltStack {
    /// Length of the mapping we created (0: none of ours).
    mapped: Cell<usize>,
    checked: Cell<bool>,
}

const ALT_SIZE: usize = 64 * 1024;

impl AltStack {
    fn ensure(&self) {
        if self.checked.replace(true) {
            return;
        }
        // SAFETY: sigaltstack with a null new stack only reads the current setting.
        let mut cur: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid out-pointer.
        if unsafe { libc::sigaltstack(ptr::null(), &mut cur) } != 0 {
            return;
        }
        if cur.ss_flags & libc::SS_DISABLE == 0 {
            return; // the thread already has one
        }
        let page = super::region::page_size();
        let len = ALT_SIZE + page;
        // SAFETY: a fresh anonymous mapping; checked below.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return; // overflow reports then fall back to the plain SIGSEGV
        }
        // SAFETY: the low page of our own mapping becomes its guard; the rest is handed
        // to the kernel as this thread's signal stack until the thread exits.
        unsafe {
            libc::mprotect(p, page, libc::PROT_NONE);
            let st = libc::stack_t {
                ss_sp: p.cast::<u8>().add(page).cast(),
                ss_flags: 0,
                ss_size: ALT_SIZE,
            };
            if libc::sigaltstack(&st, ptr::null_mut()) != 0 {
                libc::munmap(p, len);
                return;
            }
        }
        self.mapped.set(p as usize);
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let p = self.mapped.get();
        if p == 0 {
            return;
        }
        // SAFETY: disable our alternate stack before unmapping it; the thread is exiting
        // and runs no signal handler on it at this point.
        unsafe {
            let st = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: ALT_SIZE,
            };
            libc::sigaltstack(&st, ptr::null_mut());
            libc::munmap(
                p as *mut libc::c_void,
                ALT_SIZE + super::region::page_size(),
            );
        }
    }
}
