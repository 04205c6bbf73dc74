//! The frames between the pool and its workers (hand-framed little-endian: a map chunk of
//! thousands of items is one frame, decoded without allocating per item).
//!
//! Pool → worker: `BATCH` then tasks, each `id u64 | fn [24] | payload_len u32 | payload`,
//! where a payload is `n u32` then `n × (len u32 | postcard args)`; or `STOP`.
//! Worker → pool: `DONE id u64 | rss u64 | n u32 | n × (kind u8 | len u32 | bytes)` per
//! task, or `INIT_FAILED | text`.

use skein_process::FN_REF_BYTES;

pub(crate) const BATCH: u8 = 1;
pub(crate) const STOP: u8 = 2;
pub(crate) const DONE: u8 = 1;
pub(crate) const INIT_FAILED: u8 = 2;

/// An item's outcome kind in a `DONE` frame.
pub(crate) const OK: u8 = 0;
pub(crate) const PANICKED: u8 = 1;
pub(crate) const FAILED: u8 = 2;
/// The arguments did not decode in the worker (an error or a panic; text follows).
pub(crate) const BAD_ARGS: u8 = 3;
/// The value did not encode in the worker.
pub(crate) const BAD_RESULT: u8 = 4;
/// As `BAD_ARGS`/`BAD_RESULT`, the serde impl panicked.
pub(crate) const BAD_ARGS_PANIC: u8 = 5;
pub(crate) const BAD_RESULT_PANIC: u8 = 6;

/// The arguments of a task's items, framed: `n u32` then `n × (len u32 | bytes)`.
#[derive(Debug, Default)]
pub(crate) struct Payload {
    pub(crate) bytes: Vec<u8>,
    pub(crate) count: u32,
}

impl Payload {
    pub(crate) fn new() -> Payload {
        Payload {
            bytes: vec![0; 4],
            count: 0,
        }
    }

    /// Appends one item, serialised with postcard.
    pub(crate) fn push<A: serde::Serialize + ?Sized>(&mut self, arg: &A) -> Result<(), String> {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&[0; 4]);
        // A `Serialize` that panics is a refused submission, not a panic of the caller.
        let bytes = std::mem::take(&mut self.bytes);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            postcard::to_extend(arg, bytes)
        }));
        match r {
            Ok(Ok(b)) => self.bytes = b,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(payload) => {
                return Err(format!(
                    "the arguments' Serialize panicked: {}",
                    crate::error::panic_message(&*payload)
                ));
            }
        }
        let len = (self.bytes.len() - at - 4) as u32;
        self.bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
        self.count += 1;
        self.bytes[..4].copy_from_slice(&self.count.to_le_bytes());
        Ok(())
    }
}

/// Appends one task of a batch.
pub(crate) fn put_task(frame: &mut Vec<u8>, id: u64, f: &[u8; FN_REF_BYTES], payload: &[u8]) {
    frame.extend_from_slice(&id.to_le_bytes());
    frame.extend_from_slice(f);
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(payload);
}

/// A cursor over a frame.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.bytes(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// A `len u32 | bytes` field.
    pub(crate) fn field(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

/// One item's outcome in a `DONE` frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    pub(crate) kind: u8,
    pub(crate) bytes: &'a [u8],
}

/// The items of a `DONE` frame, in order.
#[derive(Debug)]
pub(crate) struct Items<'a> {
    reader: Reader<'a>,
    left: u32,
}

impl<'a> Items<'a> {
    pub(crate) fn new(reader: Reader<'a>, count: u32) -> Items<'a> {
        Items {
            reader,
            left: count,
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let kind = self.reader.u8()?;
        let bytes = self.reader.field()?;
        Some(Item { kind, bytes })
    }
}

/// Starts a `DONE` frame; items are appended with [`put_item`].
pub(crate) fn start_done(frame: &mut Vec<u8>, id: u64, rss: u64, count: u32) {
    frame.clear();
    frame.push(DONE);
    frame.extend_from_slice(&id.to_le_bytes());
    frame.extend_from_slice(&rss.to_le_bytes());
    frame.extend_from_slice(&count.to_le_bytes());
}

/// Appends one item's outcome; `write` fills the bytes in place.
pub(crate) fn put_item(frame: &mut Vec<u8>, kind: u8, bytes: &[u8]) {
    frame.push(kind);
    frame.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    frame.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_and_items_round_trip() {
        let mut p = Payload::new();
        p.push(&7u32).unwrap();
        p.push("hello").unwrap();
        let mut r = Reader::new(&p.bytes);
        assert_eq!(r.u32(), Some(2));
        assert_eq!(postcard::from_bytes::<u32>(r.field().unwrap()).unwrap(), 7);
        assert_eq!(
            postcard::from_bytes::<String>(r.field().unwrap()).unwrap(),
            "hello"
        );
        assert!(r.is_empty());

        let mut f = Vec::new();
        start_done(&mut f, 9, 100, 2);
        put_item(&mut f, OK, b"ab");
        put_item(&mut f, PANICKED, b"boom");
        let mut r = Reader::new(&f);
        assert_eq!(r.u8(), Some(DONE));
        assert_eq!((r.u64(), r.u64()), (Some(9), Some(100)));
        let n = r.u32().unwrap();
        let items: Vec<_> = Items::new(r, n)
            .map(|i| (i.kind, i.bytes.to_vec()))
            .collect();
        assert_eq!(items, [(OK, b"ab".to_vec()), (PANICKED, b"boom".to_vec())]);
    }

    #[test]
    fn truncated_frames_read_as_none() {
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.u32(), None);
    }
}
