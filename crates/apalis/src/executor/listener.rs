//! The reply thread: reads this executor's reply stream (`XREAD BLOCK`) and completes
//! futures. It reconnects after a dropped connection or a server restart and resumes after
//! the last entry it read, so no reply is missed; entries are deleted once delivered.

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use redis::Value;

use super::Shared;
use crate::engine::Reply;
use crate::engine::link::Link;
use crate::stream::{Entry, parse_read};

/// How long one `XREAD` blocks in Redis before the thread checks whether it should stop.
const BLOCK: Duration = Duration::from_millis(250);

pub(super) fn start(shared: Arc<Shared>) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("skein-apalis-replies".into())
        .spawn(move || run(&shared))
}

fn run(shared: &Shared) {
    let mut link = match Link::new(&shared.url, shared.timeout) {
        Ok(l) => l,
        Err(_) => return, // the URL parsed when the executor was built
    };
    let mut last = String::from("0-0");
    let mut backoff = Duration::from_millis(20);
    while !shared.finished() {
        let r = link.run(BLOCK, |c| {
            redis::cmd("XREAD")
                .arg("COUNT")
                .arg(1024)
                .arg("BLOCK")
                .arg(BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&shared.reply)
                .arg(&last)
                .query::<Value>(c)
        });
        let entries = match r {
            Ok(v) => {
                backoff = Duration::from_millis(20);
                parse_read(v)
            }
            Err(_) => {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        if entries.is_empty() {
            continue;
        }
        let mut ids = Vec::with_capacity(entries.len());
        for Entry { id, mut fields } in entries {
            let job = fields.take("id");
            let kind = fields.take("kind");
            let data = fields.take("data");
            if let Some(seq) = shared.seq_of(&job) {
                shared.complete(seq, Reply::parse(&kind, data));
            }
            last.clone_from(&id);
            ids.push(id);
        }
        // Delivered: drop them from Redis (a failure here only leaves garbage behind).
        let _ = link.run(Duration::ZERO, |c| {
            redis::cmd("XDEL").arg(&shared.reply).arg(&ids).exec(c)
        });
    }
    let _ = link.run(Duration::ZERO, |c| {
        redis::cmd("DEL").arg(&shared.reply).exec(c)
    });
}
