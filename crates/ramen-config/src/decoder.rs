//! A serde `Deserializer` over the located YAML tree that reads values the way Ramen's Go
//! decoder (`sigs.k8s.io/yaml` → go-yaml v2 → `encoding/json`) does, and records warnings.
//!
//! The derived `Deserialize` impls tell the decoder what each field expects (boolean, integer,
//! string, struct with these field names), which is exactly the information needed to apply
//! Ramen's rules: YAML 1.1 booleans, scalars converted to strings, case-insensitive keys, unknown
//! keys ignored, `null` leaving a field at its default. Every error is stamped with the key path
//! and position of the node it arose at.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::fmt;

use serde::de::value::{StrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::names;
use crate::scalar::{Resolved, go_string, is_yaml12_bool};
use crate::tree::{Entry, Mark, Node, NodeKind};
use crate::warning::{Warning, WarningKind};

/// Most warnings kept; the rest are counted in one [`WarningKind::Omitted`], so a document of
/// thousands of unknown keys costs no more than a few.
pub(crate) const MAX_WARNINGS: usize = 100;

/// Warnings gathered while decoding, and where the values the caller asked about were.
#[derive(Default)]
pub(crate) struct Diagnostics {
    warnings: RefCell<Vec<Warning>>,
    /// Warnings beyond [`MAX_WARNINGS`], and where the first of them was.
    omitted: Cell<usize>,
    first_omitted: Cell<Option<Mark>>,
    /// Positions of the values at the paths [`names::is_remembered`] picks.
    remembered: RefCell<HashMap<String, Mark>>,
}

impl Diagnostics {
    /// Whether a further warning is kept; counts it as omitted otherwise.
    fn has_room(&self, mark: Mark) -> bool {
        if self.warnings.borrow().len() < MAX_WARNINGS {
            return true;
        }
        if self.first_omitted.get().is_none() {
            self.first_omitted.set(Some(mark));
        }
        self.omitted.set(self.omitted.get().saturating_add(1));
        false
    }

    fn warn(&self, path: &str, mark: Mark, kind: WarningKind) {
        if self.has_room(mark) {
            self.warnings.borrow_mut().push(Warning {
                path: path.to_owned(),
                line: mark.line,
                column: mark.column,
                kind,
            });
        }
    }

    /// The warnings in document order, then how many more there were, if any.
    pub(crate) fn into_warnings(self) -> Vec<Warning> {
        let mut warnings = self.warnings.into_inner();
        warnings.sort_by_key(|w| (w.line, w.column));
        if let Some(mark) = self.first_omitted.get() {
            warnings.push(Warning {
                path: String::new(),
                line: mark.line,
                column: mark.column,
                kind: WarningKind::Omitted {
                    count: self.omitted.get(),
                },
            });
        }
        warnings
    }

    pub(crate) fn push(&self, warning: Warning) {
        let mark = Mark {
            line: warning.line,
            column: warning.column,
        };
        if self.has_room(mark) {
            self.warnings.borrow_mut().push(warning);
        }
    }

    /// Where the value at `path` was, if [`names::is_remembered`] picks the path and the value
    /// was decoded.
    pub(crate) fn mark_of(&self, path: &str) -> Option<Mark> {
        self.remembered.borrow().get(path).copied()
    }
}

/// A decoding failure; `at` is filled in by the innermost node that sees it.
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub(crate) message: String,
    pub(crate) at: Option<(String, Mark)>,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            at: None,
        }
    }
}

/// Deserializes one node found at `path`.
pub(crate) struct NodeDe<'a> {
    pub(crate) node: &'a Node,
    pub(crate) path: String,
    pub(crate) diagnostics: &'a Diagnostics,
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The Go string of a scalar key, as `sigs.k8s.io/yaml` builds JSON object keys.
fn key_string(key: &Node) -> Result<String, String> {
    match &key.kind {
        NodeKind::Scalar { text, resolved } => match resolved {
            Resolved::Null | Resolved::Uint(_) => {
                Err(format!("unsupported mapping key {}", key.describe()))
            }
            _ => go_string(text, resolved)
                .ok_or_else(|| format!("unsupported mapping key {}", key.describe())),
        },
        _ => Err(format!(
            "mapping keys must be scalars, found {}",
            key.describe()
        )),
    }
}

/// Largest edit distance a "did you mean" suggestion may have.
const MAX_SUGGESTION_DISTANCE: usize = 2;

/// The case-insensitive edit distance between `key` and `field` if it is at most
/// [`MAX_SUGGESTION_DISTANCE`], for "did you mean" suggestions on unknown keys. Keys whose length
/// alone rules that out cost nothing, however long they are.
fn suggestion_distance(key: &str, field: &str) -> Option<usize> {
    let (key_len, field_len) = (key.chars().count(), field.chars().count());
    if key_len.abs_diff(field_len) > MAX_SUGGESTION_DISTANCE {
        return None;
    }
    let field: Vec<char> = field.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=field.len()).collect();
    let mut cur = vec![0; field.len() + 1];
    for (i, ca) in key.chars().map(|c| c.to_ascii_lowercase()).enumerate() {
        cur[0] = i + 1;
        for (j, cb) in field.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[field.len()]).filter(|d| *d <= MAX_SUGGESTION_DISTANCE)
}

/// Pairs of one mapping keyed by their key string, the last of equal keys kept where it stands
/// (go-yaml v2 semantics), found through a hash map so that many keys cost linear time.
struct LastWins<'a> {
    slots: Vec<Option<(String, &'a Entry)>>,
    index: HashMap<String, usize>,
}

impl<'a> LastWins<'a> {
    fn new() -> Self {
        Self {
            slots: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// Keeps `entry` under `key`, dropping an earlier pair with that key; returns whether both the
    /// dropped pair and this one were written in the mapping itself (not merged in), which is a
    /// duplicate key worth a warning.
    fn insert(&mut self, key: String, entry: &'a Entry) -> bool {
        let position = self.slots.len();
        let duplicate = match self.index.entry(key.clone()) {
            Slot::Occupied(mut slot) => {
                let earlier = std::mem::replace(slot.get_mut(), position);
                self.slots[earlier]
                    .take()
                    .is_some_and(|(_, old)| !old.merged && !entry.merged)
            }
            Slot::Vacant(slot) => {
                slot.insert(position);
                false
            }
        };
        self.slots.push(Some((key, entry)));
        duplicate
    }

    /// The kept pairs, in the order of their last occurrence.
    fn into_pairs(self) -> impl Iterator<Item = (String, &'a Entry)> {
        self.slots.into_iter().flatten()
    }
}

impl<'a> NodeDe<'a> {
    fn child(&self, node: &'a Node, path: String) -> NodeDe<'a> {
        NodeDe {
            node,
            path,
            diagnostics: self.diagnostics,
        }
    }

    fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError {
            message: message.into(),
            at: Some((self.path.clone(), self.node.mark)),
        }
    }

    fn type_error(&self, expected: &str) -> DecodeError {
        self.error(format!(
            "expected {expected}, found {}",
            self.node.describe()
        ))
    }

    /// Stamps an error from a visitor with this node's path and position.
    fn locate<T>(&self, result: Result<T, DecodeError>) -> Result<T, DecodeError> {
        result.map_err(|mut e| {
            if e.at.is_none() {
                e.at = Some((self.path.clone(), self.node.mark));
            }
            e
        })
    }

    fn scalar(&self) -> Option<(&'a str, &'a Resolved)> {
        match &self.node.kind {
            NodeKind::Scalar { text, resolved } => Some((text.as_str(), resolved)),
            _ => None,
        }
    }

    fn integer<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let result = match self.scalar() {
            Some((_, Resolved::Null)) => visitor.visit_i64(0),
            Some((_, Resolved::Int(i))) => visitor.visit_i64(*i),
            Some((_, Resolved::Uint(u))) => visitor.visit_u64(*u),
            // encoding/json sees go-yaml's float64 re-marshalled as JSON: `1e3` is `1000`.
            Some((_, Resolved::Float(f)))
                if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 =>
            {
                #[allow(clippy::cast_possible_truncation)]
                visitor.visit_i64(*f as i64)
            }
            _ => return Err(self.type_error("an integer")),
        };
        self.locate(result)
    }

    fn seq<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let items: Vec<(&'a Node, String)> = match &self.node.kind {
            NodeKind::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (item.as_ref(), format!("{}[{i}]", self.path)))
                .collect(),
            _ if self.node.is_null() => Vec::new(),
            _ => return Err(self.type_error("a sequence")),
        };
        let access = SeqDe {
            items: items.into_iter(),
            diagnostics: self.diagnostics,
        };
        let result = visitor.visit_seq(access);
        self.locate(result)
    }

    /// Pairs of a free-form mapping (`map[string]T`): keys as Go strings, the last of equal
    /// keys kept.
    fn map_entries(&self) -> Result<Vec<(String, &'a Node, String)>, DecodeError> {
        let entries: &'a [Entry] = match &self.node.kind {
            NodeKind::Map(entries) => entries,
            _ if self.node.is_null() => &[],
            _ => return Err(self.type_error("a mapping")),
        };
        let mut kept = LastWins::new();
        for entry in entries {
            let key = key_string(&entry.key)
                .map_err(|m| self.child(&entry.key, self.path.clone()).error(m))?;
            let path = child_path(&self.path, &key);
            if kept.insert(key, entry) {
                self.diagnostics
                    .warn(&path, entry.key.mark, WarningKind::DuplicateKey);
            }
        }
        Ok(kept
            .into_pairs()
            .map(|(key, entry)| {
                let path = child_path(&self.path, &key);
                (key, entry.value.as_ref(), path)
            })
            .collect())
    }

    /// Matches the mapping's keys to `fields` like Go's `encoding/json` (exact, else
    /// case-insensitive), warns about the rest, and keeps one value per field.
    fn struct_entries(
        &self,
        fields: &'static [&'static str],
    ) -> Result<Vec<(&'static str, &'a Node, String)>, DecodeError> {
        let entries: &'a [Entry] = match &self.node.kind {
            NodeKind::Map(entries) => entries,
            _ if self.node.is_null() => &[],
            _ => return Err(self.type_error("a mapping")),
        };
        // Per field: the keys written for it, the last of equal keys kept (go-yaml v2).
        let mut candidates: Vec<LastWins<'a>> = fields.iter().map(|_| LastWins::new()).collect();
        for entry in entries {
            let key = key_string(&entry.key)
                .map_err(|m| self.child(&entry.key, self.path.clone()).error(m))?;
            let index = match fields.iter().position(|f| *f == key) {
                Some(i) => i,
                None => match fields.iter().position(|f| f.eq_ignore_ascii_case(&key)) {
                    Some(i) => {
                        self.diagnostics.warn(
                            &child_path(&self.path, &key),
                            entry.key.mark,
                            WarningKind::CaseInsensitiveKey {
                                key: key.clone(),
                                canonical: fields[i].to_owned(),
                            },
                        );
                        i
                    }
                    None => {
                        let did_you_mean = fields
                            .iter()
                            .filter_map(|f| suggestion_distance(&key, f).map(|d| (d, f)))
                            .min_by_key(|(d, _)| *d)
                            .map(|(_, f)| (*f).to_owned());
                        self.diagnostics.warn(
                            &child_path(&self.path, &key),
                            entry.key.mark,
                            WarningKind::UnknownKey { did_you_mean },
                        );
                        continue;
                    }
                },
            };
            let mark = entry.key.mark;
            let path = child_path(&self.path, &key);
            if candidates[index].insert(key, entry) {
                self.diagnostics
                    .warn(&path, mark, WarningKind::DuplicateKey);
            }
        }
        let mut out = Vec::new();
        for (field, kept) in fields.iter().zip(candidates) {
            let path = child_path(&self.path, field);
            let kept: Vec<(String, &'a Entry)> = kept.into_pairs().collect();
            // Different spellings: the JSON object has sorted keys and the last assignment wins.
            let Some((used, winner)) = kept.iter().max_by(|a, b| a.0.cmp(&b.0)).cloned() else {
                continue;
            };
            if kept.len() > 1 {
                self.diagnostics.warn(
                    &path,
                    winner.key.mark,
                    WarningKind::ConflictingKeys {
                        keys: kept.iter().map(|(k, _)| k.clone()).collect(),
                        used,
                    },
                );
            }
            // `null` leaves a Go field as it was: the default.
            if !winner.value.is_null() {
                out.push((*field, winner.value.as_ref(), path));
            }
        }
        Ok(out)
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let result = match &self.node.kind {
            NodeKind::Scalar { text, resolved } => match resolved {
                Resolved::Null => visitor.visit_unit(),
                Resolved::Bool(b) => visitor.visit_bool(*b),
                Resolved::Int(i) => visitor.visit_i64(*i),
                Resolved::Uint(u) => visitor.visit_u64(*u),
                Resolved::Float(f) => visitor.visit_f64(*f),
                Resolved::Str => visitor.visit_str(text),
            },
            NodeKind::Seq(_) => return self.seq(visitor),
            NodeKind::Map(_) => {
                let entries = self.map_entries()?;
                visitor.visit_map(MapDe::new(entries, self.diagnostics))
            }
        };
        self.locate(result)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let result = match self.scalar() {
            Some((_, Resolved::Null)) => visitor.visit_bool(false),
            Some((text, Resolved::Bool(b))) => {
                if !is_yaml12_bool(text) {
                    self.diagnostics.warn(
                        &self.path,
                        self.node.mark,
                        WarningKind::Yaml11Boolean {
                            text: text.to_owned(),
                            value: *b,
                        },
                    );
                }
                visitor.visit_bool(*b)
            }
            _ => return Err(self.type_error("a boolean")),
        };
        self.locate(result)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let result = match self.scalar() {
            Some((_, Resolved::Null)) => visitor.visit_f64(0.0),
            Some((_, Resolved::Float(f))) => visitor.visit_f64(*f),
            #[allow(clippy::cast_precision_loss)]
            Some((_, Resolved::Int(i))) => visitor.visit_f64(*i as f64),
            #[allow(clippy::cast_precision_loss)]
            Some((_, Resolved::Uint(u))) => visitor.visit_f64(*u as f64),
            _ => return Err(self.type_error("a number")),
        };
        self.locate(result)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let Some((text, resolved)) = self.scalar() else {
            return Err(self.type_error("a string"));
        };
        let value = go_string(text, resolved).unwrap_or_default();
        names::check(&self.path, &value).map_err(|message| self.error(message))?;
        if !value.is_empty() && names::is_remembered(&self.path) {
            self.diagnostics
                .remembered
                .borrow_mut()
                .insert(self.path.clone(), self.node.mark);
        }
        if !matches!(resolved, Resolved::Null | Resolved::Str) && value != text {
            self.diagnostics.warn(
                &self.path,
                self.node.mark,
                WarningKind::ScalarConverted {
                    text: text.to_owned(),
                    value: value.clone(),
                },
            );
        }
        let result = visitor.visit_string(value);
        self.locate(result)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.node.is_null() {
            let result = visitor.visit_none();
            self.locate(result)
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let result = visitor.visit_unit();
        self.locate(result)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let entries = self.map_entries()?;
        let result = visitor.visit_map(MapDe::new(entries, self.diagnostics));
        self.locate(result)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let entries = self.struct_entries(fields)?;
        let access = StructDe {
            entries: entries.into_iter(),
            value: None,
            diagnostics: self.diagnostics,
        };
        let result = visitor.visit_map(access);
        self.locate(result)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let Some((text, Resolved::Str)) = self.scalar() else {
            return Err(self.type_error("a string"));
        };
        let de: StrDeserializer<'_, DecodeError> = text.into_deserializer();
        let result = visitor.visit_enum(de);
        self.locate(result)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }
}

/// Sequence items with their paths.
struct SeqDe<'a, I: Iterator<Item = (&'a Node, String)>> {
    items: I,
    diagnostics: &'a Diagnostics,
}

impl<'de, 'a, I: Iterator<Item = (&'a Node, String)>> SeqAccess<'de> for SeqDe<'a, I> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        match self.items.next() {
            None => Ok(None),
            Some((node, path)) => seed
                .deserialize(NodeDe {
                    node,
                    path,
                    diagnostics: self.diagnostics,
                })
                .map(Some),
        }
    }
}

/// Struct fields (already matched to their canonical names) with their values and paths.
struct StructDe<'a> {
    entries: std::vec::IntoIter<(&'static str, &'a Node, String)>,
    value: Option<(&'a Node, String)>,
    diagnostics: &'a Diagnostics,
}

impl<'de> MapAccess<'de> for StructDe<'_> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        match self.entries.next() {
            None => Ok(None),
            Some((field, node, path)) => {
                self.value = Some((node, path));
                let de: StrDeserializer<'_, DecodeError> = field.into_deserializer();
                seed.deserialize(de).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let (node, path) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value requested before its key"))?;
        seed.deserialize(NodeDe {
            node,
            path,
            diagnostics: self.diagnostics,
        })
    }
}

/// Free-form mapping pairs (Go `map[string]T`).
struct MapDe<'a> {
    entries: std::vec::IntoIter<(String, &'a Node, String)>,
    value: Option<(&'a Node, String)>,
    diagnostics: &'a Diagnostics,
}

impl<'a> MapDe<'a> {
    fn new(entries: Vec<(String, &'a Node, String)>, diagnostics: &'a Diagnostics) -> Self {
        Self {
            entries: entries.into_iter(),
            value: None,
            diagnostics,
        }
    }
}

impl<'de> MapAccess<'de> for MapDe<'_> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, node, path)) => {
                self.value = Some((node, path));
                let de: StringDeserializer<DecodeError> = key.into_deserializer();
                seed.deserialize(de).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let (node, path) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value requested before its key"))?;
        seed.deserialize(NodeDe {
            node,
            path,
            diagnostics: self.diagnostics,
        })
    }
}
