//! The Lua scripts that move a job between states. Each runs atomically in Redis, so a
//! job's state hash, its stream entry and its reply always agree — the property the
//! failure semantics rest on (see the crate docs, "Architecture").
//!
//! A job's hash `skein:{q}:job:ID` holds `state` (`queued`, `running`, then `done`,
//! `cancelled` or `failed`, kept an hour so a resubmission is recognised), `entry` (its
//! current stream entry), `reply` (its submitter's reply stream), `attempts` (runs started)
//! and `consumer` (the worker running it).

use redis::Script;

/// Adds a job: `XADD` its entry and write its hash, together. Idempotent: a job id that
/// exists already is not added twice (a submit retried after a lost reply).
///
/// KEYS: stream, job. ARGV: id, fn, args, reply, limit (the time limit in µs, or empty).
const SUBMIT: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.call('HGET', KEYS[2], 'entry')
end
local e = redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'fn', ARGV[2], 'args', ARGV[3], 'reply', ARGV[4], 'limit', ARGV[5])
redis.call('HSET', KEYS[2], 'state', 'queued', 'entry', e, 'reply', ARGV[4], 'attempts', 0, 'consumer', '')
return e
";

/// Removes a job that no worker has started. Returns 1 if removed, 0 if it runs or ended.
///
/// KEYS: stream, job. ARGV: group.
const CANCEL: &str = r"
local s = redis.call('HMGET', KEYS[2], 'state', 'entry')
if s[1] ~= 'queued' then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], s[2])
redis.call('XDEL', KEYS[1], s[2])
redis.call('HSET', KEYS[2], 'state', 'cancelled')
redis.call('PEXPIRE', KEYS[2], 3600000)
return 1
";

/// A worker takes a stream entry it was delivered (fresh, or claimed from a dead worker),
/// or reports that the run it started died. Returns:
/// * `run` — the job was queued: it is now running here (attempts + 1);
/// * `drop` — the entry is stale (job cancelled, finished, or moved to a newer entry):
///   acknowledged, nothing to do;
/// * `retry` — the job was running and its run died: re-queued as a new entry;
/// * `failed` — the same, with no retries left: its submitter was told it is lost.
///
/// KEYS: stream, job. ARGV: group, entry, consumer, max_retries, reason, id, fn, args,
/// limit.
const TAKE: &str = r"
local s = redis.call('HMGET', KEYS[2], 'state', 'attempts', 'reply', 'entry')
if (s[1] ~= 'queued' and s[1] ~= 'running') or s[4] ~= ARGV[2] then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
  return 'drop'
end
if s[1] == 'queued' then
  redis.call('HSET', KEYS[2], 'state', 'running', 'consumer', ARGV[3], 'attempts', tonumber(s[2]) + 1)
  return 'run'
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if tonumber(s[2]) <= tonumber(ARGV[4]) then
  local e = redis.call('XADD', KEYS[1], '*', 'id', ARGV[6], 'fn', ARGV[7], 'args', ARGV[8], 'reply', s[3], 'limit', ARGV[9])
  redis.call('HSET', KEYS[2], 'state', 'queued', 'entry', e, 'consumer', '')
  return 'retry'
end
local why = ARGV[5] .. ' (after ' .. s[2] .. ' attempt(s); retries allowed: ' .. ARGV[4] .. ')'
redis.call('XADD', s[3], '*', 'id', ARGV[6], 'kind', 'lost', 'data', why)
redis.call('HSET', KEYS[2], 'state', 'failed')
redis.call('PEXPIRE', KEYS[2], 3600000)
return 'failed'
";

/// A worker stores a job's outcome: the reply entry, the acknowledgement and the removal
/// of the job entry happen together, only if this worker still holds the job. Returns 1
/// if stored, 0 if the job was taken from this worker meanwhile (the outcome is dropped).
///
/// KEYS: stream, job. ARGV: group, entry, consumer, id, kind, data.
const FINISH: &str = r"
local s = redis.call('HMGET', KEYS[2], 'state', 'consumer', 'entry', 'reply')
if s[1] ~= 'running' or s[2] ~= ARGV[3] or s[3] ~= ARGV[2] then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
redis.call('XADD', s[4], '*', 'id', ARGV[4], 'kind', ARGV[5], 'data', ARGV[6])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'state', 'done')
redis.call('PEXPIRE', KEYS[2], 3600000)
return 1
";

/// The scripts, loaded once per process (`EVALSHA`, falling back to `EVAL` after a
/// server restart emptied the script cache).
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) submit: Script,
    pub(crate) cancel: Script,
    pub(crate) take: Script,
    pub(crate) finish: Script,
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        Scripts {
            submit: Script::new(SUBMIT),
            cancel: Script::new(CANCEL),
            take: Script::new(TAKE),
            finish: Script::new(FINISH),
        }
    }
}
