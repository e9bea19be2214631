//! [`LazyVec`] and [`LazyMap`]: values that, loaded from the parsed cache,
//! stay in their binary (postcard) form until first read.
//!
//! Why: a warm `plan` loads whole indices from the cache (45,000 sources,
//! 70,000 binaries) but reads a few hundred of them; decoding every value
//! (and allocating its strings) was most of its time. The names are
//! decoded at load, the values on first [`LazyMap::get`].

use std::sync::OnceLock;

use rustc_hash::FxHashMap as HashMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A sequence of values, decoded one at a time.
pub struct LazyVec<V> {
    /// The values' postcard bytes, one after the other (none for values
    /// that were never encoded: a freshly parsed sequence), in one buffer
    /// per appended part: `(index of its first value, bytes)`. Appending
    /// moves the other's buffers instead of copying them (sid's sources
    /// are 20 MB).
    parts: Vec<(usize, Vec<u8>)>,
    /// Value i's bytes end at `ends[i]` in its part's buffer, and start
    /// where value i-1's end, or at 0 for a part's first value.
    ends: Vec<u32>,
    cells: Vec<OnceLock<V>>,
}

impl<V> Default for LazyVec<V> {
    fn default() -> Self {
        LazyVec {
            parts: Vec::new(),
            ends: Vec::new(),
            cells: Vec::new(),
        }
    }
}

impl<V: Clone> Clone for LazyVec<V> {
    fn clone(&self) -> Self {
        LazyVec {
            parts: self.parts.clone(),
            ends: self.ends.clone(),
            cells: self.cells.clone(),
        }
    }
}

impl<V> std::fmt::Debug for LazyVec<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LazyVec({} values)", self.cells.len())
    }
}

impl<V> LazyVec<V> {
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Appends a decoded value.
    pub fn push(&mut self, v: V) {
        if self.parts.is_empty() {
            self.parts.push((self.cells.len(), Vec::new()));
        }
        let end = self.parts.last().map_or(0, |(_, b)| b.len());
        self.ends.push(end as u32);
        self.cells.push(OnceLock::from(v));
    }

    /// Appends `other`'s values, read or not.
    pub fn append(&mut self, other: LazyVec<V>) {
        let base = self.cells.len();
        self.parts.extend(
            other
                .parts
                .into_iter()
                .map(|(first, blob)| (base + first, blob)),
        );
        self.ends.extend(other.ends);
        self.cells.extend(other.cells);
    }

    fn bytes(&self, i: usize) -> &[u8] {
        // The part holding value i: the last one starting at or before it.
        let p = self.parts.partition_point(|(first, _)| *first <= i) - 1;
        let (first, blob) = &self.parts[p];
        let start = if i == *first {
            0
        } else {
            self.ends[i - 1] as usize
        };
        &blob[start..self.ends[i] as usize]
    }
}

impl<V: DeserializeOwned> LazyVec<V> {
    pub fn get(&self, i: usize) -> &V {
        self.cells[i].get_or_init(|| {
            // The file's checksum was verified when it was read and its
            // format version matched (`archive::cache`): these bytes are
            // what `serialize` wrote for a value of this type.
            postcard::from_bytes(self.bytes(i))
                .expect("a value of a verified parsed-cache file decodes")
        })
    }

    /// Every value (decoding those not read yet), in order.
    pub fn iter(&self) -> impl Iterator<Item = &V> {
        (0..self.cells.len()).map(|i| self.get(i))
    }

    /// Replaces value `i` (its bytes, if any, are no longer read).
    pub fn set(&mut self, i: usize, v: V) {
        self.cells[i] = OnceLock::from(v);
    }

    /// The values, every one decoded.
    pub fn into_vec(self) -> Vec<V> {
        for i in 0..self.cells.len() {
            self.get(i);
        }
        self.cells
            .into_iter()
            .filter_map(OnceLock::into_inner)
            .collect()
    }
}

impl<V: Serialize> Serialize for LazyVec<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.slice(0..self.len()).serialize(s)
    }
}

impl<V> LazyVec<V> {
    /// Values `range`, serialised as a `LazyVec` of just those values.
    pub fn slice(&self, range: std::ops::Range<usize>) -> LazySlice<'_, V> {
        LazySlice { vec: self, range }
    }
}

/// [`LazyVec::slice`].
pub struct LazySlice<'a, V> {
    vec: &'a LazyVec<V>,
    range: std::ops::Range<usize>,
}

impl<V: Serialize> Serialize for LazySlice<'_, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let whole = self.range.len() == self.vec.len();
        let size = self.vec.parts.iter().map(|(_, b)| b.len()).sum();
        let mut blob = Vec::with_capacity(if whole { size } else { 0 });
        let mut ends = Vec::with_capacity(self.range.len());
        for i in self.range.clone() {
            match self.vec.cells[i].get() {
                Some(v) => {
                    blob = postcard::to_extend(v, blob).map_err(serde::ser::Error::custom)?;
                }
                None => blob.extend_from_slice(self.vec.bytes(i)),
            }
            let end = u32::try_from(blob.len()).map_err(serde::ser::Error::custom)?;
            ends.push(end);
        }
        (ends, Bytes(blob)).serialize(s)
    }
}

impl<'de, V> Deserialize<'de> for LazyVec<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (ends, Bytes(blob)) = <(Vec<u32>, Bytes)>::deserialize(d)?;
        let fits = ends.windows(2).all(|w| w[0] <= w[1])
            && ends.last().is_none_or(|&e| e as usize <= blob.len());
        if !fits {
            return Err(serde::de::Error::custom("lazy values: bad offsets"));
        }
        let cells = (0..ends.len()).map(|_| OnceLock::new()).collect();
        Ok(LazyVec {
            parts: vec![(0, blob)],
            ends,
            cells,
        })
    }
}

/// A map from names to values, decoded one value at a time.
#[derive(Clone, Debug)]
pub struct LazyMap<V> {
    /// Name → index into `values`.
    index: HashMap<String, u32>,
    values: LazyVec<V>,
}

impl<V> Default for LazyMap<V> {
    fn default() -> Self {
        LazyMap {
            index: HashMap::default(),
            values: LazyVec::default(),
        }
    }
}

impl<V> LazyMap<V> {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}

impl<V: DeserializeOwned> LazyMap<V> {
    /// Every value decoded and set: what a parse builds.
    pub fn new(map: HashMap<String, V>) -> LazyMap<V> {
        let mut m = LazyMap::default();
        for (name, v) in map {
            m.index.insert(name, m.values.len() as u32);
            m.values.push(v);
        }
        m
    }

    pub fn get(&self, name: &str) -> Option<&V> {
        self.index.get(name).map(|&i| self.values.get(i as usize))
    }

    /// Sets `name`'s value, in place of the one it had; the others stay
    /// as they are, read or not.
    pub fn insert(&mut self, name: String, v: V) {
        match self.index.get(&name) {
            Some(&i) => self.values.set(i as usize, v),
            None => {
                self.index.insert(name, self.values.len() as u32);
                self.values.push(v);
            }
        }
    }

    /// Every value (decoding those not read yet), in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.values.iter()
    }

    /// The map, every value decoded.
    pub fn into_map(self) -> HashMap<String, V> {
        let mut values: Vec<Option<V>> = self.values.into_vec().into_iter().map(Some).collect();
        self.index
            .into_iter()
            .filter_map(|(name, i)| Some((name, values[i as usize].take()?)))
            .collect()
    }
}

impl<V: Serialize> Serialize for LazyMap<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut names = vec![""; self.values.len()];
        for (name, &i) in &self.index {
            names[i as usize] = name;
        }
        (names, &self.values).serialize(s)
    }
}

impl<'de, V> Deserialize<'de> for LazyMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (names, values) = <(Vec<String>, LazyVec<V>)>::deserialize(d)?;
        if names.len() != values.len() {
            return Err(serde::de::Error::custom(
                "lazy map: names and values differ",
            ));
        }
        let mut index = HashMap::with_capacity_and_hasher(names.len(), Default::default());
        for (i, name) in names.into_iter().enumerate() {
            index.insert(name, i as u32);
        }
        Ok(LazyMap { index, values })
    }
}

/// A byte buffer serialised as bytes (one copy), not as a sequence of u8s.
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> LazyMap<Vec<String>> {
        let mut m = HashMap::default();
        m.insert("a".to_string(), vec!["x".to_string()]);
        m.insert("b".to_string(), vec![]);
        m.insert("c".to_string(), vec!["y".to_string(), "z".to_string()]);
        LazyMap::new(m)
    }

    #[test]
    fn values_survive_the_binary_form_read_or_not() {
        let bytes = postcard::to_stdvec(&map()).unwrap();
        let back: LazyMap<Vec<String>> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back.get("c").unwrap(), &["y", "z"]);
        assert!(back.get("d").is_none());
        // Written again with one value read and two still encoded.
        let again: LazyMap<Vec<String>> =
            postcard::from_bytes(&postcard::to_stdvec(&back).unwrap()).unwrap();
        assert_eq!(again.get("a").unwrap(), &["x"]);
        assert_eq!(again.get("b").unwrap(), &Vec::<String>::new());
        assert_eq!(again.get("c").unwrap(), &["y", "z"]);
        let mut all: Vec<_> = again.into_map().into_iter().collect();
        all.sort();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2], ("c".to_string(), vec!["y".into(), "z".into()]));
    }

    #[test]
    fn offsets_past_the_bytes_do_not_decode() {
        let bad = (vec!["a"], (vec![99u32], Bytes(vec![0])));
        let bytes = postcard::to_stdvec(&bad).unwrap();
        assert!(postcard::from_bytes::<LazyMap<Vec<String>>>(&bytes).is_err());
    }
}
