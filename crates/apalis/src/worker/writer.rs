//! The store thread: writes each outcome to Redis — the reply, the acknowledgement and
//! the job entry's removal in one script — or, for a run whose process died, re-queues or
//! fails the job. It retries through connection failures: an outcome is given up only
//! when the worker is stopping and Redis stayed away a whole lease (the job then stays in
//! this worker's pending list and another worker takes it over).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use redis::RedisResult;

use super::{DoneRx, Finished, Shared};
use crate::engine::keys::GROUP;
use crate::engine::link::Link;
use crate::registry::RunOutcome;

pub(super) fn run(s: &Shared, rx: &DoneRx) {
    let Ok(mut link) = Link::new(&s.url, s.timeout) else {
        return;
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(f) => {
                let entry = f.entry.clone();
                store(s, &mut link, f);
                s.release(&entry);
            }
            Err(RecvTimeoutError::Timeout) => {
                if s.stopping() && s.inflight.lock().is_empty() {
                    break;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

fn store(s: &Shared, link: &mut Link, f: Finished) {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(20);
    let job = s.keys.job(&String::from_utf8_lossy(&f.id));
    loop {
        let r: RedisResult<()> = match &f.outcome {
            RunOutcome::Reply(reply) => link.run(Duration::ZERO, |c| {
                s.scripts
                    .finish
                    .key(&s.keys.stream)
                    .key(&job)
                    .arg(GROUP)
                    .arg(&f.entry)
                    .arg(&s.consumer)
                    .arg(&f.id)
                    .arg(reply.kind())
                    .arg(reply.data())
                    .invoke::<i64>(c)
                    .map(drop)
            }),
            RunOutcome::Died(why) => link.run(Duration::ZERO, |c| {
                s.scripts
                    .take
                    .key(&s.keys.stream)
                    .key(&job)
                    .arg(GROUP)
                    .arg(&f.entry)
                    .arg(&s.consumer)
                    .arg(s.max_retries)
                    .arg(format!("{why} (worker {})", s.consumer))
                    .arg(&f.id)
                    .arg(&f.func)
                    .arg(&f.args)
                    .arg(&f.limit)
                    .invoke::<String>(c)
                    .map(drop)
            }),
        };
        match r {
            Ok(()) => {
                s.completed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                if s.stopping() && started.elapsed() > s.lease {
                    eprintln!(
                        "skein-apalis: worker {} gives up storing a job's outcome: {e}; \
                         another worker will take the job over",
                        s.consumer
                    );
                    return;
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
