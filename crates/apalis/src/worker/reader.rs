//! The take thread: renews the worker's lease, takes jobs (`XREADGROUP`) while the pool
//! has room, takes over the jobs of workers whose lease expired (`XPENDING` + `XCLAIM`),
//! and after a reconnect re-examines its own unacknowledged entries.

use std::time::{Duration, Instant};

use redis::{RedisResult, Value};

use super::Shared;
use crate::engine::keys::GROUP;
use crate::engine::link::Link;
use crate::stream::{Entry, parse_entries, parse_pending, parse_read};

/// How long one `XREADGROUP` blocks in Redis.
const BLOCK: Duration = Duration::from_millis(200);

pub(super) fn run(s: &Shared, mut link: Link) {
    let beat_every = s.lease / 3;
    let mut last_beat: Option<Instant> = None;
    let mut connected_since: Option<Instant> = None;
    let mut last_scan: Option<Instant> = None;
    let mut backoff = Duration::from_millis(20);
    let alive = s.keys.alive(&s.consumer);
    let lease_ms = s.lease.as_millis() as u64;
    loop {
        let stopping = s.stopping();
        if stopping && s.inflight.lock().is_empty() {
            break;
        }
        if last_beat.is_none_or(|t| t.elapsed() >= beat_every) {
            let r = link.run(Duration::ZERO, |c| {
                redis::cmd("SET")
                    .arg(&alive)
                    .arg(1)
                    .arg("PX")
                    .arg(lease_ms)
                    .exec(c)
            });
            if r.is_err() {
                connected_since = None;
                last_beat = None;
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
            backoff = Duration::from_millis(20);
            last_beat = Some(Instant::now());
            if connected_since.is_none() {
                // (Re)connected: the server may have restarted. Re-check the entries
                // delivered to this worker that it is not running.
                if link.ensure_group(&s.keys).is_err() || recheck_own(s, &mut link).is_err() {
                    last_beat = None;
                    continue;
                }
                connected_since = Some(Instant::now());
            }
        }
        if stopping {
            // Keep the lease while the running jobs finish; take nothing new.
            let mut inflight = s.inflight.lock();
            if !inflight.is_empty() {
                s.freed.wait_for(&mut inflight, beat_every);
            }
            continue;
        }
        // Take over dead workers' jobs only after a whole lease connected, so that live
        // workers had time to renew theirs after a server restart.
        if connected_since.is_some_and(|t| t.elapsed() >= s.lease)
            && last_scan.is_none_or(|t| t.elapsed() >= s.lease / 2)
        {
            last_scan = Some(Instant::now());
            if scan(s, &mut link).is_err() {
                connected_since = None;
                last_beat = None;
                continue;
            }
        }
        let free = {
            let mut inflight = s.inflight.lock();
            if inflight.len() >= s.concurrency {
                s.freed
                    .wait_for(&mut inflight, beat_every.min(Duration::from_millis(200)));
            }
            s.concurrency.saturating_sub(inflight.len())
        };
        if free == 0 || s.stopping() {
            continue;
        }
        let r = link.run(BLOCK, |c| {
            redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(&s.consumer)
                .arg("COUNT")
                .arg(free)
                .arg("BLOCK")
                .arg(BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&s.keys.stream)
                .arg(">")
                .query::<Value>(c)
        });
        let entries = match r {
            Ok(v) => parse_read(v),
            Err(_) => {
                connected_since = None;
                last_beat = None;
                continue;
            }
        };
        for e in entries {
            if take(s, &mut link, e, "").is_err() {
                // The entry stays in this worker's pending list: re-checked on reconnect.
                connected_since = None;
                last_beat = None;
                break;
            }
        }
    }
    let _ = link.run(Duration::ZERO, |c| redis::cmd("DEL").arg(&alive).exec(c));
}

/// Runs the take script on a delivered entry and dispatches the job if it is ours to run.
fn take(s: &Shared, link: &mut Link, mut e: Entry, reason: &str) -> RedisResult<()> {
    let id = e.fields.take("id");
    let func = e.fields.take("fn");
    let args = e.fields.take("args");
    let limit = e.fields.take("limit");
    let job = s.keys.job(&String::from_utf8_lossy(&id));
    let verdict: String = link.run(Duration::ZERO, |c| {
        s.scripts
            .take
            .key(&s.keys.stream)
            .key(&job)
            .arg(GROUP)
            .arg(&e.id)
            .arg(&s.consumer)
            .arg(s.max_retries)
            .arg(reason)
            .arg(&id)
            .arg(&func)
            .arg(&args)
            .arg(&limit)
            .invoke(c)
    })?;
    if verdict == "run" {
        s.dispatch(e.id, id, func, args, limit);
    }
    Ok(())
}

/// After a reconnect: entries delivered to this worker that it is not running (its take
/// script's reply was lost with the connection) are taken again — a job the script had
/// marked running here is then treated as a dead run (retried or failed).
fn recheck_own(s: &Shared, link: &mut Link) -> RedisResult<()> {
    let v = link.run(Duration::ZERO, |c| {
        redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(&s.consumer)
            .arg("COUNT")
            .arg(1000)
            .arg("STREAMS")
            .arg(&s.keys.stream)
            .arg("0")
            .query::<Value>(c)
    })?;
    for e in parse_read(v) {
        if s.inflight.lock().contains(&e.id) {
            continue;
        }
        let reason = format!(
            "worker {} lost its connection to Redis while taking the job",
            s.consumer
        );
        take(s, link, e, &reason)?;
    }
    Ok(())
}

/// Takes over the entries of workers whose lease expired.
fn scan(s: &Shared, link: &mut Link) -> RedisResult<()> {
    let lease_ms = s.lease.as_millis() as u64;
    let v = link.run(Duration::ZERO, |c| {
        redis::cmd("XPENDING")
            .arg(&s.keys.stream)
            .arg(GROUP)
            .arg("IDLE")
            .arg(lease_ms)
            .arg("-")
            .arg("+")
            .arg(256)
            .query::<Value>(c)
    })?;
    let rows = parse_pending(v);
    let mut consumers: Vec<&str> = rows
        .iter()
        .map(|r| r.consumer.as_str())
        .filter(|c| *c != s.consumer)
        .collect();
    consumers.sort_unstable();
    consumers.dedup();
    for dead in consumers {
        let alive: bool = link.run(Duration::ZERO, |c| {
            redis::cmd("EXISTS").arg(s.keys.alive(dead)).query(c)
        })?;
        if alive {
            continue;
        }
        let ids: Vec<&str> = rows
            .iter()
            .filter(|r| r.consumer == dead)
            .map(|r| r.id.as_str())
            .collect();
        let v = link.run(Duration::ZERO, |c| {
            redis::cmd("XCLAIM")
                .arg(&s.keys.stream)
                .arg(GROUP)
                .arg(&s.consumer)
                .arg(lease_ms)
                .arg(&ids)
                .query::<Value>(c)
        })?;
        let reason = format!("worker {dead} stopped renewing its lease (killed, or cut off)");
        for e in parse_entries(v) {
            take(s, link, e, &reason)?;
        }
    }
    Ok(())
}
