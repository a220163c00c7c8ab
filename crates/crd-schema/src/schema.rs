//! The compiled form of a structural schema: one [`Node`] per schema object, with regexes and
//! CEL programs compiled once so admission never re-parses the schema.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

use crate::rules::{CompiledRule, compile_rules};

/// Why a schema cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A keyword has a value of the wrong JSON type (e.g. `required: "a"`).
    #[error("{path}: {keyword} must be {expected}")]
    BadKeyword {
        /// Schema path of the node, e.g. `properties.spec.properties.x`.
        path: String,
        /// The offending keyword.
        keyword: String,
        /// What the keyword should hold.
        expected: &'static str,
    },
    /// A `type` outside the OpenAPI set.
    #[error("{path}: unsupported type {type_name:?}")]
    UnsupportedType {
        /// Schema path of the node.
        path: String,
        /// The type given.
        type_name: String,
    },
    /// A `pattern` the RE2-compatible regex engine rejects.
    #[error("{path}: invalid pattern {pattern:?}: {message}")]
    BadPattern {
        /// Schema path of the node.
        path: String,
        /// The pattern given.
        pattern: String,
        /// The regex engine's explanation.
        message: String,
    },
    /// An `x-kubernetes-validations` rule (or its `messageExpression`) that does not compile.
    #[error("{path}: x-kubernetes-validations[{index}]: {message}")]
    BadRule {
        /// Schema path of the node.
        path: String,
        /// Index of the rule in the node's list.
        index: usize,
        /// The compiler's explanation.
        message: String,
    },
    /// A schema nested deeper than this crate walks.
    #[error("{path}: schema nested deeper than {max} levels")]
    TooDeep {
        /// Schema path where the limit was hit.
        path: String,
        /// The limit.
        max: usize,
    },
}

/// Deepest schema nesting accepted; real CRDs stay far below it, and the limit keeps the
/// recursive walks from overflowing the stack.
pub(crate) const MAX_DEPTH: usize = 64;

/// An OpenAPI `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Type {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Type::Object => "object",
            Type::Array => "array",
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Boolean => "boolean",
        }
    }
}

/// `additionalProperties`.
#[derive(Debug)]
pub(crate) enum Additional {
    /// Absent or `false`: unknown keys are pruned.
    None,
    /// `true`: any value is kept as is.
    Any,
    /// A schema every unknown key's value follows.
    Schema(Box<Node>),
}

/// `x-kubernetes-list-type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// One compiled schema node.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) type_: Option<Type>,
    pub(crate) nullable: bool,
    pub(crate) int_or_string: bool,
    pub(crate) format: Option<String>,
    pub(crate) properties: BTreeMap<String, Node>,
    pub(crate) additional: Additional,
    pub(crate) items: Option<Box<Node>>,
    pub(crate) required: Vec<String>,
    pub(crate) pattern: Option<(String, Regex)>,
    pub(crate) enum_values: Option<Vec<Value>>,
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) exclusive_maximum: bool,
    pub(crate) multiple_of: Option<f64>,
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) min_items: Option<u64>,
    pub(crate) max_items: Option<u64>,
    pub(crate) unique_items: bool,
    pub(crate) min_properties: Option<u64>,
    pub(crate) max_properties: Option<u64>,
    pub(crate) default: Option<Value>,
    pub(crate) preserve_unknown: bool,
    pub(crate) embedded: bool,
    pub(crate) list_type: ListType,
    pub(crate) all_of: Vec<Node>,
    pub(crate) any_of: Vec<Node>,
    pub(crate) one_of: Vec<Node>,
    pub(crate) not: Option<Box<Node>>,
    pub(crate) rules: Vec<CompiledRule>,
}

impl Node {
    /// The type name kube reports as the bad value of a CEL rule failure
    /// (`sts.Type`; empty for int-or-string and untyped nodes).
    pub(crate) fn type_name(&self) -> &'static str {
        self.type_.map(Type::name).unwrap_or("")
    }

    /// Whether the node is a map (`additionalProperties` set) rather than an object with
    /// named properties: map keys are data, not field names.
    pub(crate) fn is_map(&self) -> bool {
        !matches!(self.additional, Additional::None)
    }

    /// Compiles the schema rooted at `schema`; `path` names it in errors.
    pub(crate) fn compile(schema: &Value, path: &str, depth: usize) -> Result<Node, SchemaError> {
        if depth > MAX_DEPTH {
            return Err(SchemaError::TooDeep {
                path: path.to_string(),
                max: MAX_DEPTH,
            });
        }
        let empty = Map::new();
        let obj = match schema {
            Value::Object(o) => o,
            Value::Bool(true) => &empty,
            _ => return Err(bad(path, "schema", "an object")),
        };
        let kw = Keywords { obj, path };

        let type_ = match kw.str("type")? {
            None | Some("") => None,
            Some(t) => Some(match t {
                "object" => Type::Object,
                "array" => Type::Array,
                "string" => Type::String,
                "integer" => Type::Integer,
                "number" => Type::Number,
                "boolean" => Type::Boolean,
                other => {
                    return Err(SchemaError::UnsupportedType {
                        path: path.to_string(),
                        type_name: other.to_string(),
                    });
                }
            }),
        };

        let mut properties = BTreeMap::new();
        if let Some(props) = kw.object("properties")? {
            for (name, sub) in props {
                let p = format!("{path}.properties.{name}");
                properties.insert(name.clone(), Node::compile(sub, &p, depth + 1)?);
            }
        }

        let additional = match obj.get("additionalProperties") {
            None | Some(Value::Bool(false)) => Additional::None,
            Some(Value::Bool(true)) => Additional::Any,
            Some(sub @ Value::Object(_)) => Additional::Schema(Box::new(Node::compile(
                sub,
                &format!("{path}.additionalProperties"),
                depth + 1,
            )?)),
            Some(_) => return Err(bad(path, "additionalProperties", "a boolean or a schema")),
        };

        let items = match obj.get("items") {
            None => None,
            Some(sub @ Value::Object(_)) => Some(Box::new(Node::compile(
                sub,
                &format!("{path}.items"),
                depth + 1,
            )?)),
            Some(_) => return Err(bad(path, "items", "a schema")),
        };

        let pattern = match kw.str("pattern")? {
            None => None,
            Some(p) => {
                let re = Regex::new(p).map_err(|e| SchemaError::BadPattern {
                    path: path.to_string(),
                    pattern: p.to_string(),
                    message: e.to_string(),
                })?;
                Some((p.to_string(), re))
            }
        };

        let list_type = match kw.str("x-kubernetes-list-type")? {
            None | Some("atomic") => ListType::Atomic,
            Some("set") => ListType::Set,
            Some("map") => {
                let keys = kw.strings("x-kubernetes-list-map-keys")?;
                if keys.is_empty() {
                    return Err(bad(
                        path,
                        "x-kubernetes-list-map-keys",
                        "a non-empty list of strings",
                    ));
                }
                ListType::Map(keys)
            }
            Some(_) => return Err(bad(path, "x-kubernetes-list-type", "atomic, set or map")),
        };

        let sub_list = |key: &str| -> Result<Vec<Node>, SchemaError> {
            match obj.get(key) {
                None => Ok(Vec::new()),
                Some(Value::Array(list)) => list
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Node::compile(s, &format!("{path}.{key}[{i}]"), depth + 1))
                    .collect(),
                Some(_) => Err(bad(path, key, "a list of schemas")),
            }
        };

        let not = match obj.get("not") {
            None => None,
            Some(sub) => Some(Box::new(Node::compile(
                sub,
                &format!("{path}.not"),
                depth + 1,
            )?)),
        };

        let rules = match obj.get("x-kubernetes-validations") {
            None => Vec::new(),
            Some(Value::Array(list)) => compile_rules(list, path)?,
            Some(_) => return Err(bad(path, "x-kubernetes-validations", "a list of rules")),
        };

        Ok(Node {
            type_,
            nullable: kw.bool("nullable")?,
            int_or_string: kw.bool("x-kubernetes-int-or-string")?,
            format: kw
                .str("format")?
                .filter(|f| !f.is_empty())
                .map(str::to_string),
            properties,
            additional,
            items,
            required: kw.strings("required")?,
            pattern,
            enum_values: match obj.get("enum") {
                None => None,
                Some(Value::Array(values)) => Some(values.clone()),
                Some(_) => return Err(bad(path, "enum", "a list")),
            },
            minimum: kw.number("minimum")?,
            maximum: kw.number("maximum")?,
            exclusive_minimum: kw.bool("exclusiveMinimum")?,
            exclusive_maximum: kw.bool("exclusiveMaximum")?,
            multiple_of: kw.number("multipleOf")?,
            min_length: kw.count("minLength")?,
            max_length: kw.count("maxLength")?,
            min_items: kw.count("minItems")?,
            max_items: kw.count("maxItems")?,
            unique_items: kw.bool("uniqueItems")?,
            min_properties: kw.count("minProperties")?,
            max_properties: kw.count("maxProperties")?,
            default: obj.get("default").cloned(),
            preserve_unknown: kw.bool("x-kubernetes-preserve-unknown-fields")?,
            embedded: kw.bool("x-kubernetes-embedded-resource")?,
            list_type,
            all_of: sub_list("allOf")?,
            any_of: sub_list("anyOf")?,
            one_of: sub_list("oneOf")?,
            not,
            rules,
        })
    }
}

fn bad(path: &str, keyword: &str, expected: &'static str) -> SchemaError {
    SchemaError::BadKeyword {
        path: path.to_string(),
        keyword: keyword.to_string(),
        expected,
    }
}

/// Typed access to one schema object's keywords.
struct Keywords<'a> {
    obj: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Keywords<'a> {
    fn str(&self, key: &str) -> Result<Option<&'a str>, SchemaError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(bad(self.path, key, "a string")),
        }
    }

    fn bool(&self, key: &str) -> Result<bool, SchemaError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad(self.path, key, "a boolean")),
        }
    }

    fn number(&self, key: &str) -> Result<Option<f64>, SchemaError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(bad(self.path, key, "a number")),
        }
    }

    fn count(&self, key: &str) -> Result<Option<u64>, SchemaError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(c) => Ok(Some(c)),
                None => Err(bad(self.path, key, "a non-negative integer")),
            },
            Some(_) => Err(bad(self.path, key, "a non-negative integer")),
        }
    }

    fn object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, SchemaError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(bad(self.path, key, "an object")),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, SchemaError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(self.path, key, "a list of strings"))
                })
                .collect(),
            Some(_) => Err(bad(self.path, key, "a list of strings")),
        }
    }
}
