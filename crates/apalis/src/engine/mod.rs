//! What lives in Redis and how it is touched: key names ([`keys`]), the Lua scripts that
//! change a job's state atomically ([`scripts`]), and a connection that reconnects
//! ([`link`]).

pub(crate) mod keys;
pub(crate) mod link;
pub(crate) mod scripts;

/// How a job ended, as carried in a reply entry's `kind` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// The function returned; its value, postcard-encoded.
    Ok(Vec<u8>),
    /// The function panicked; the message.
    Panicked(String),
    /// The job failed for another reason reported by its worker (unknown function,
    /// arguments that do not decode, a value that does not encode, a task timeout).
    Failed(String),
    /// Its worker died (or lost its lease) as often as the retry policy allows.
    Lost(String),
    /// Removed from the queue by `cancel()` (never travels through Redis).
    Cancelled,
}

impl Reply {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Reply::Ok(_) => "ok",
            Reply::Panicked(_) => "panic",
            Reply::Failed(_) => "failed",
            Reply::Lost(_) => "lost",
            Reply::Cancelled => "cancelled",
        }
    }

    pub(crate) fn data(&self) -> &[u8] {
        match self {
            Reply::Ok(b) => b,
            Reply::Panicked(m) | Reply::Failed(m) | Reply::Lost(m) => m.as_bytes(),
            Reply::Cancelled => b"",
        }
    }

    pub(crate) fn parse(kind: &[u8], data: Vec<u8>) -> Reply {
        let text = || String::from_utf8_lossy(&data).into_owned();
        match kind {
            b"ok" => Reply::Ok(data),
            b"panic" => Reply::Panicked(text()),
            b"lost" => Reply::Lost(text()),
            b"cancelled" => Reply::Cancelled,
            _ => Reply::Failed(text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Reply;

    #[test]
    fn replies_round_trip_through_kind_and_data() {
        for r in [
            Reply::Ok(vec![1, 2]),
            Reply::Panicked("boom".into()),
            Reply::Failed("bad".into()),
            Reply::Lost("gone".into()),
            Reply::Cancelled,
        ] {
            assert_eq!(Reply::parse(r.kind().as_bytes(), r.data().to_vec()), r);
        }
    }
}
