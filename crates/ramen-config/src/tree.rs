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
/// Most nodes a document may expand to through aliases and merge keys ("billion laughs" guard).
const MAX_NODES: usize = 1_000_000;

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
    };
    builder.document()
}

struct Builder<'a> {
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    anchors: HashMap<usize, Rc<Node>>,
    last_mark: Mark,
    /// Keys and `[index]`es leading to the node being built, for syntax error messages.
    path: Vec<String>,
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
                    if node.weight >= MAX_NODES {
                        return Err(self.error(
                            node.mark,
                            format!(
                                "document expands to more than {MAX_NODES} nodes through aliases"
                            ),
                        ));
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
                    items.push(item);
                }
                let node = Node {
                    mark,
                    kind: NodeKind::Seq(items),
                    weight,
                };
                (node, anchor)
            }
            Event::MappingStart(_, anchor, _) => (self.mapping(mark, depth)?, anchor),
            Event::Alias(id) => {
                return self.anchors.get(&id).cloned().ok_or_else(|| {
                    self.error(
                        mark,
                        "alias refers to an anchor that is not defined (or not complete)"
                            .to_owned(),
                    )
                });
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
            if weight >= MAX_NODES {
                return Err(self.error(
                    mark,
                    format!("document expands to more than {MAX_NODES} nodes through aliases"),
                ));
            }
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
        assert!(err.message.contains("through aliases"), "{}", err.message);
    }

    #[test]
    fn undefined_alias_is_a_syntax_error() {
        assert!(parse("a: *nope\n").is_err());
    }
}
