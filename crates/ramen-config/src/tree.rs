//! A YAML node tree that remembers where each node starts, built from the event parser.
//!
//! Decoding the typed config from this tree (instead of straight from text) is what lets every
//! error and warning name a key path *and* a line/column, and lets the decoder apply go-yaml v2's
//! YAML 1.1 rules, which a YAML 1.2 deserializer does not.

use std::collections::HashMap;
use std::rc::Rc;

use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, ScanError, Span};

use crate::scalar::{Resolved, resolve_plain};

/// Deepest nesting accepted; deeper documents are rejected instead of risking the stack.
const MAX_DEPTH: usize = 128;
/// Most nodes a document may expand to, every alias (and so every merge key) counted at each use
/// ("billion laughs" guard). Ramen configs have hundreds; this bounds what decoding the tree can
/// allocate (a decoded node costs at most a few hundred bytes) and the tree itself.
const MAX_NODES: usize = 50_000;
/// Most scalar text that aliases may repeat, in bytes: every use of an alias to a long string is
/// decoded into a string of its own, so a short document of `*a` could otherwise ask for gigabytes.
/// Text written out in the document is not counted: it is bounded by the document's size.
const MAX_ALIAS_BYTES: usize = 4 << 20;

/// A 1-based line and column in the YAML source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mark {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Mark {
    fn from_span(span: &Span) -> Self {
        Self {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// One YAML node and where it starts.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) mark: Mark,
    pub(crate) kind: NodeKind,
    /// Nodes this one stands for once aliases are expanded (itself included), saturating.
    weight: usize,
    /// Bytes of scalar text this one stands for once aliases are expanded, saturating.
    bytes: usize,
}

/// The shape of a node.
#[derive(Debug)]
pub(crate) enum NodeKind {
    /// A scalar: its text, and how go-yaml v2 resolves it.
    Scalar { text: String, resolved: Resolved },
    /// A sequence.
    Seq(Vec<Rc<Node>>),
    /// A mapping, merge keys (`<<`) already expanded in place.
    Map(Vec<Entry>),
}

/// One key/value pair of a mapping.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) key: Rc<Node>,
    pub(crate) value: Rc<Node>,
    /// The pair came from a merge key (`<<: *anchor`), not from the mapping itself.
    pub(crate) merged: bool,
}

impl Node {
    /// Whether the node is a YAML null.
    pub(crate) fn is_null(&self) -> bool {
        matches!(
            self.kind,
            NodeKind::Scalar {
                resolved: Resolved::Null,
                ..
            }
        )
    }

    /// How the node reads in a message: a scalar's text in quotes, otherwise its kind.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            NodeKind::Scalar {
                resolved: Resolved::Null,
                ..
            } => "null".to_owned(),
            NodeKind::Scalar { text, .. } => format!("{text:?}"),
            NodeKind::Seq(_) => "a sequence".to_owned(),
            NodeKind::Map(_) => "a mapping".to_owned(),
        }
    }
}

/// Why the text is not a YAML document this crate can read.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    /// Key path of the node being read when the error occurred.
    pub(crate) path: String,
    pub(crate) mark: Mark,
    pub(crate) message: String,
}

impl SyntaxError {
    fn scan(err: &ScanError, path: String) -> Self {
        let info = err.info();
        Self {
            path,
            mark: Mark {
                line: err.marker().line(),
                column: err.marker().col() + 1,
            },
            message: if info.is_empty() {
                "invalid YAML".to_owned()
            } else {
                info
            },
        }
    }
}

/// The first document of a YAML stream, and whether more documents followed it.
#[derive(Debug)]
pub(crate) struct Document {
    /// `None` for an empty stream.
    pub(crate) root: Option<Rc<Node>>,
    /// Where a second document starts, if there is one (go-yaml v2 reads only the first).
    pub(crate) extra_document: Option<Mark>,
}

/// Parses the first YAML document of `text` into a [`Node`] tree.
pub(crate) fn parse(text: &str) -> Result<Document, SyntaxError> {
    let mut options = Options::default();
    // Comments are presentation, not data; don't have the parser report them.
    options.set_emit_comments(false);
    let mut builder = Builder {
        parser: Parser::new_from_str_with_options(text, options),
        anchors: HashMap::new(),
        last_mark: Mark { line: 1, column: 1 },
        path: Vec::new(),
        expanded_nodes: 0,
        alias_bytes: 0,
    };
    builder.document()
}

struct Builder<'a> {
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    anchors: HashMap<usize, Rc<Node>>,
    last_mark: Mark,
    /// Keys and `[index]`es leading to the node being built, for syntax error messages.
    path: Vec<String>,
    /// Nodes of the document so far, aliases counted at each use (see [`MAX_NODES`]).
    expanded_nodes: usize,
    /// Scalar bytes repeated by aliases so far (see [`MAX_ALIAS_BYTES`]).
    alias_bytes: usize,
}

impl<'a> Builder<'a> {
    fn path(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            if !out.is_empty() && !segment.starts_with('[') {
                out.push('.');
            }
            out.push_str(segment);
        }
        out
    }

    fn error(&self, mark: Mark, message: String) -> SyntaxError {
        SyntaxError {
            path: self.path(),
            mark,
            message,
        }
    }

    /// The next event that is part of the data model (anchor metadata skipped).
    fn next(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        loop {
            match self.parser.next_event() {
                None => {
                    return Err(
                        self.error(self.last_mark, "unexpected end of YAML stream".to_owned())
                    );
                }
                Some(Err(err)) => return Err(SyntaxError::scan(&err, self.path())),
                Some(Ok((event, span))) => {
                    self.last_mark = Mark::from_span(&span);
                    match event {
                        Event::Anchor(..) => {}
                        event => return Ok((event, span)),
                    }
                }
            }
        }
    }

    fn document(&mut self) -> Result<Document, SyntaxError> {
        let mut root = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart => {}
                Event::StreamEnd => {
                    return Ok(Document {
                        root,
                        extra_document: None,
                    });
                }
                Event::DocumentStart(..) => {
                    let (event, span) = self.next()?;
                    let node = self.node(event, span, 0)?;
                    let (end, _) = self.next()?;
                    if !matches!(end, Event::DocumentEnd) {
                        return Err(self.unexpected("the end of the document"));
                    }
                    root = Some(node);
                    // go-yaml v2 decodes only the first document; look for another one without
                    // failing on it, as go-yaml never parses it.
                    let extra_document = match self.parser.peek() {
                        Some(Ok((Event::DocumentStart(..), span))) => Some(Mark::from_span(span)),
                        _ => None,
                    };
                    return Ok(Document {
                        root,
                        extra_document,
                    });
                }
                _ => {
                    return Err(self.error(
                        Mark::from_span(&span),
                        "unexpected YAML event outside a document".to_owned(),
                    ));
                }
            }
        }
    }

    /// Counts `nodes` more nodes of the expanded document, and `alias_bytes` more bytes repeated
    /// by an alias; an error at `mark` once a budget is exceeded.
    fn spend(&mut self, mark: Mark, nodes: usize, alias_bytes: usize) -> Result<(), SyntaxError> {
        self.expanded_nodes = self.expanded_nodes.saturating_add(nodes);
        self.alias_bytes = self.alias_bytes.saturating_add(alias_bytes);
        if self.expanded_nodes > MAX_NODES {
            return Err(self.error(
                mark,
                format!(
                    "document expands to more than {MAX_NODES} nodes (aliases and merge keys \
                     counted at each use)"
                ),
            ));
        }
        if self.alias_bytes > MAX_ALIAS_BYTES {
            return Err(self.error(
                mark,
                format!("aliases repeat more than {MAX_ALIAS_BYTES} bytes of scalar text"),
            ));
        }
        Ok(())
    }

    fn unexpected(&self, expected: &str) -> SyntaxError {
        self.error(self.last_mark, format!("expected {expected}"))
    }

    fn node(
        &mut self,
        event: Event<'a>,
        span: Span,
        depth: usize,
    ) -> Result<Rc<Node>, SyntaxError> {
        let mark = Mark::from_span(&span);
        if depth > MAX_DEPTH {
            return Err(self.error(mark, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        if !matches!(event, Event::Alias(_)) {
            self.spend(mark, 1, 0)?;
        }
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag.as_deref().is_some_and(|t| {
                    t.core_suffix() == Some("str") || (t.handle() == "!" && t.suffix().is_empty())
                });
                let resolved = if forced_str || !matches!(style, ScalarStyle::Plain) {
                    Resolved::Str
                } else {
                    resolve_plain(&text)
                };
                let node = Node {
                    mark,
                    bytes: text.len(),
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        resolved,
                    },
                    weight: 1,
                };
                (node, anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                let mut weight = 1usize;
                let mut bytes = 0usize;
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    self.path.push(format!("[{}]", items.len()));
                    let item = self.node(event, span, depth + 1);
                    self.path.pop();
                    let item = item?;
                    weight = weight.saturating_add(item.weight);
                    bytes = bytes.saturating_add(item.bytes);
                    items.push(item);
                }
                let node = Node {
                    mark,
                    kind: NodeKind::Seq(items),
                    weight,
                    bytes,
                };
                (node, anchor)
            }
            Event::MappingStart(_, anchor, _) => (self.mapping(mark, depth)?, anchor),
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| {
                    self.error(
                        mark,
                        "alias refers to an anchor that is not defined (or not complete)"
                            .to_owned(),
                    )
                })?;
                self.spend(mark, node.weight, node.bytes)?;
                return Ok(node);
            }
            _ => return Err(self.unexpected("a YAML node")),
        };
        let node = Rc::new(node);
        if anchor != 0 {
            self.anchors.insert(anchor, Rc::clone(&node));
        }
        Ok(node)
    }

    fn mapping(&mut self, mark: Mark, depth: usize) -> Result<Node, SyntaxError> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut weight = 1usize;
        let mut bytes = 0usize;
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let is_merge =
                matches!(&event, Event::Scalar(text, ScalarStyle::Plain, _, None) if text == "<<");
            let key = self.node(event, span, depth + 1)?;
            self.path.push(match &key.kind {
                NodeKind::Scalar { text, .. } => text.clone(),
                _ => "?".to_owned(),
            });
            let value = self
                .next()
                .and_then(|(event, span)| self.node(event, span, depth + 1));
            self.path.pop();
            let value = value?;
            weight = weight
                .saturating_add(key.weight)
                .saturating_add(value.weight);
            bytes = bytes.saturating_add(key.bytes).saturating_add(value.bytes);
            if is_merge {
                merge_into(&mut entries, &value)
                    .map_err(|message| self.error(value.mark, message))?;
            } else {
                entries.push(Entry {
                    key,
                    value,
                    merged: false,
                });
            }
        }
        Ok(Node {
            mark,
            kind: NodeKind::Map(entries),
            weight,
            bytes,
        })
    }
}

/// Expands a merge key the way go-yaml v2 does: the merged pairs are applied where `<<` stands
/// (later keys override them), and of a sequence of mappings the earlier ones win.
fn merge_into(entries: &mut Vec<Entry>, value: &Node) -> Result<(), String> {
    let merged = |map: &Node| -> Option<Vec<Entry>> {
        match &map.kind {
            NodeKind::Map(pairs) => Some(
                pairs
                    .iter()
                    .map(|e| Entry {
                        merged: true,
                        ..e.clone()
                    })
                    .collect(),
            ),
            _ => None,
        }
    };
    let error = || "map merge requires map or sequence of maps as the value".to_owned();
    match &value.kind {
        NodeKind::Map(_) => entries.extend(merged(value).ok_or_else(error)?),
        NodeKind::Seq(items) => {
            for item in items.iter().rev() {
                entries.extend(merged(item).ok_or_else(error)?);
            }
        }
        NodeKind::Scalar { .. } => return Err(error()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Rc<Node> {
        match parse(text) {
            Ok(Document {
                root: Some(root), ..
            }) => root,
            other => panic!("unexpected parse result {other:?}"),
        }
    }

    #[test]
    fn empty_stream_has_no_root() {
        assert!(matches!(parse(""), Ok(Document { root: None, .. })));
        assert!(matches!(
            parse("# only a comment\n"),
            Ok(Document { root: None, .. })
        ));
    }

    #[test]
    fn marks_are_one_based() {
        let node = root("a:\n  b: c\n");
        let NodeKind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        let NodeKind::Map(inner) = &entries[0].value.kind else {
            panic!("not a map")
        };
        assert_eq!(inner[0].value.mark, Mark { line: 2, column: 6 });
    }

    #[test]
    fn merge_keys_and_aliases_expand() {
        let node = root("base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n");
        let NodeKind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        let NodeKind::Map(m) = &entries[1].value.kind else {
            panic!("not a map")
        };
        assert_eq!(m.len(), 2);
        assert!(m[0].merged);
        assert!(!m[1].merged);
    }

    #[test]
    fn billion_laughs_is_rejected() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse(&doc).expect_err("must be rejected");
        assert!(
            err.message
                .starts_with("document expands to more than 50000 nodes"),
            "{}",
            err.message
        );
        // The alias that went over: in `a4`'s list, on line 5.
        assert_eq!(err.mark.line, 5);
        assert_eq!(err.path, "a4[3]");
    }

    #[test]
    fn aliases_repeating_long_text_are_rejected_at_the_alias_over_budget() {
        let long = "x".repeat(1 << 20);
        let doc = format!(
            "a: &a {long}
b: [*a, *a, *a, *a, *a]
"
        );
        let err = parse(&doc).expect_err("must be rejected");
        assert_eq!(
            err.message,
            "aliases repeat more than 4194304 bytes of scalar text"
        );
        assert_eq!((err.mark.line, err.mark.column), (2, 21));
        assert_eq!(err.path, "b[4]");
        // The same text written out, and four uses of the alias, are fine.
        assert!(
            parse(&format!(
                "a: &a {long}
b: [*a, *a, *a, *a]
"
            ))
            .is_ok()
        );
    }

    #[test]
    fn undefined_alias_is_a_syntax_error() {
        assert!(parse("a: *nope\n").is_err());
    }
}
