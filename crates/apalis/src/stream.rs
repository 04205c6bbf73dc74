//! Reading stream replies (`XREAD`, `XREADGROUP`, `XCLAIM`, `XPENDING`) from raw values,
//! in RESP2 or RESP3 shape.

use redis::Value;

/// One stream entry: its id and its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) fields: Fields,
}

/// An entry's field/value pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Fields(Vec<(Vec<u8>, Vec<u8>)>);

impl Fields {
    /// Takes the value of `name` (empty if absent).
    pub(crate) fn take(&mut self, name: &str) -> Vec<u8> {
        self.0
            .iter_mut()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| std::mem::take(v))
            .unwrap_or_default()
    }
}

/// A job's time limit as its stream entry carries it: whole microseconds in decimal, or
/// empty for none.
pub(crate) fn encode_limit(limit: Option<std::time::Duration>) -> String {
    limit.map(|d| d.as_micros().to_string()).unwrap_or_default()
}

/// The time limit of an entry's `limit` field; none when empty, absent (an entry written
/// before limits travelled) or unreadable.
pub(crate) fn decode_limit(field: &[u8]) -> Option<std::time::Duration> {
    let micros: u64 = std::str::from_utf8(field).ok()?.parse().ok()?;
    Some(std::time::Duration::from_micros(micros))
}

pub(crate) fn bytes(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        Value::VerbatimString { text, .. } => Some(text.into_bytes()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        _ => None,
    }
}

fn text(v: Value) -> Option<String> {
    bytes(v).and_then(|b| String::from_utf8(b).ok())
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

/// The items of an array (or a RESP3 map flattened to key, value, key, value).
fn items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        Value::Map(m) => m.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

/// `[id, [field, value, ...]]`; `None` for a deleted entry (`nil`).
fn entry(v: Value) -> Option<Entry> {
    let mut it = items(v).into_iter();
    let id = text(it.next()?)?;
    let mut pairs = Vec::new();
    let mut flat = items(it.next()?).into_iter();
    while let (Some(k), Some(v)) = (flat.next(), flat.next()) {
        pairs.push((bytes(k)?, bytes(v)?));
    }
    Some(Entry {
        id,
        fields: Fields(pairs),
    })
}

/// A list of entries (`XRANGE`, `XCLAIM`), skipping deleted ones.
pub(crate) fn parse_entries(v: Value) -> Vec<Entry> {
    items(v).into_iter().filter_map(entry).collect()
}

/// An `XREAD`/`XREADGROUP` reply: `[[key, [entries]], ...]` or a map, or `nil`.
pub(crate) fn parse_read(v: Value) -> Vec<Entry> {
    let mut out = Vec::new();
    match v {
        Value::Map(m) => {
            for (_, entries) in m {
                out.extend(parse_entries(entries));
            }
        }
        v => {
            for stream in items(v) {
                let mut it = items(stream).into_iter();
                let _key = it.next();
                if let Some(entries) = it.next() {
                    out.extend(parse_entries(entries));
                }
            }
        }
    }
    out
}

/// One row of `XPENDING key group [IDLE ms] start end count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingRow {
    pub(crate) id: String,
    pub(crate) consumer: String,
}

pub(crate) fn parse_pending(v: Value) -> Vec<PendingRow> {
    items(v)
        .into_iter()
        .filter_map(|row| {
            let mut it = items(row).into_iter();
            let id = text(it.next()?)?;
            let consumer = text(it.next()?)?;
            let _idle = int(&it.next()?)?;
            Some(PendingRow { id, consumer })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn time_limits_travel_as_microseconds() {
        use std::time::Duration;
        let d = Duration::from_millis(1500);
        assert_eq!(encode_limit(Some(d)), "1500000");
        assert_eq!(decode_limit(encode_limit(Some(d)).as_bytes()), Some(d));
        assert_eq!(encode_limit(None), "");
        assert_eq!(decode_limit(b""), None);
        assert_eq!(decode_limit(b"soon"), None);
    }

    #[test]
    fn reads_resp2_stream_replies() {
        let e = Value::Array(vec![b("1-0"), Value::Array(vec![b("id"), b("x-1")])]);
        let v = Value::Array(vec![Value::Array(vec![
            b("k"),
            Value::Array(vec![e, Value::Nil]),
        ])]);
        let mut got = parse_read(v);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "1-0");
        assert_eq!(got[0].fields.take("id"), b"x-1");
        assert_eq!(got[0].fields.take("nope"), b"");
        assert!(parse_read(Value::Nil).is_empty());
    }

    #[test]
    fn reads_pending_rows() {
        let v = Value::Array(vec![Value::Array(vec![
            b("1-0"),
            b("w"),
            Value::Int(5),
            Value::Int(1),
        ])]);
        assert_eq!(
            parse_pending(v),
            [PendingRow {
                id: "1-0".into(),
                consumer: "w".into()
            }]
        );
    }
}
