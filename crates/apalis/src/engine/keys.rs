//! Key names. Everything of one queue lives under `skein:{queue}:`.

/// The consumer group every worker of a queue joins.
pub(crate) const GROUP: &str = "skein-workers";

/// The keys of one queue.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    ns: String,
    /// The job stream (`XADD` by submitters, `XREADGROUP` by workers).
    pub(crate) stream: String,
}

impl Keys {
    pub(crate) fn new(queue: &str) -> Keys {
        let ns = format!("skein:{{{queue}}}");
        Keys {
            stream: format!("{ns}:jobs"),
            ns,
        }
    }

    /// A job's state hash: `state`, `entry`, `reply`, `attempts`, `consumer`.
    pub(crate) fn job(&self, id: &str) -> String {
        format!("{}:job:{id}", self.ns)
    }

    /// The reply stream of one executor (submitter).
    pub(crate) fn reply(&self, executor: &str) -> String {
        format!("{}:reply:{executor}", self.ns)
    }

    /// A worker's lease: present while the worker lives.
    pub(crate) fn alive(&self, consumer: &str) -> String {
        format!("{}:alive:{consumer}", self.ns)
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn keys_share_one_hash_tag() {
        let k = Keys::new("q");
        assert_eq!(k.stream, "skein:{q}:jobs");
        assert_eq!(k.job("a-1"), "skein:{q}:job:a-1");
        assert_eq!(k.reply("a"), "skein:{q}:reply:a");
        assert_eq!(k.alive("w"), "skein:{q}:alive:w");
    }
}
