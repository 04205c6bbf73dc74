//! The server's dict: byte keys to byte values in insertion order, as Python's `dict`
//! keeps them (so `popitem` takes the last key inserted, and `keys()` lists them in
//! the order they came).

use std::collections::{BTreeMap, HashMap};

/// A map that remembers insertion order: each key carries the sequence number of its
/// insertion (kept when its value is replaced, as in Python), `order` maps numbers
/// back to keys.
#[derive(Default)]
pub(crate) struct OrderedMap {
    entries: HashMap<Vec<u8>, (u64, Vec<u8>)>,
    order: BTreeMap<u64, Vec<u8>>,
    next: u64,
}

impl OrderedMap {
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Vec<u8>> {
        self.entries.get(key).map(|(_, v)| v)
    }

    pub(crate) fn contains_key(&self, key: &[u8]) -> bool {
        self.entries.contains_key(key)
    }

    /// `d[key] = value`: a new key goes last; an existing one keeps its place.
    pub(crate) fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) {
        if let Some((_, v)) = self.entries.get_mut(&key) {
            *v = value;
            return;
        }
        self.next += 1;
        self.order.insert(self.next, key.clone());
        self.entries.insert(key, (self.next, value));
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        let (seq, v) = self.entries.remove(key)?;
        self.order.remove(&seq);
        Some(v)
    }

    /// Python's `d.popitem()`: the last key inserted, with its value.
    pub(crate) fn pop_last(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        let (_, key) = self.order.pop_last()?;
        let (_, v) = self.entries.remove(&key).expect("order and entries agree");
        Some((key, v))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }

    /// Keys and values in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Vec<u8>)> {
        self.order
            .values()
            .map(|k| (k, &self.entries.get(k).expect("order and entries agree").1))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.order.values()
    }
}

#[cfg(test)]
mod tests {
    use super::OrderedMap;

    #[test]
    fn keeps_insertion_order_and_pops_the_last_key() {
        let mut m = OrderedMap::default();
        for k in [b"b", b"a", b"c"] {
            m.insert(k.to_vec(), k.to_vec());
        }
        m.insert(b"b".to_vec(), b"B".to_vec());
        let keys: Vec<_> = m.keys().cloned().collect();
        assert_eq!(keys, [b"b".to_vec(), b"a".to_vec(), b"c".to_vec()]);
        assert_eq!(m.remove(b"a"), Some(b"a".to_vec()));
        assert_eq!(m.pop_last(), Some((b"c".to_vec(), b"c".to_vec())));
        assert_eq!(m.pop_last(), Some((b"b".to_vec(), b"B".to_vec())));
        assert_eq!(m.pop_last(), None);
        assert_eq!(m.len(), 0);
    }
}
