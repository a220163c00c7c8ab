//! `x-kubernetes-validations`: CEL rules compiled once with kube-cel's `cel` and Kubernetes
//! function library, then evaluated over an object as kube-apiserver's
//! `apiserver/schema/cel` validator does, including transition rules (`oldSelf`) on update.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use kube_cel::KubeCelExt;
use kube_cel::cel::objects::{Key, Map as CelMap};
use kube_cel::cel::{Context, ExecutionError, Program, Value as CelValue};
use serde_json::Value;

use crate::field_error::{FieldError, FieldErrorKind};
use crate::openapi::{correlate_item, json_equal};
use crate::path::{child_path, index_path, key_path};
use crate::schema::{Additional, Node, SchemaError, Type};

/// One compiled `x-kubernetes-validations` entry.
pub(crate) struct CompiledRule {
    rule: String,
    program: Program,
    message: Option<String>,
    message_program: Option<Program>,
    field_path: Option<String>,
    reason: Option<String>,
    uses_old_self: bool,
    optional_old_self: bool,
}

impl std::fmt::Debug for CompiledRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRule")
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

/// Compiles a node's rule list; `path` names the node in errors.
pub(crate) fn compile_rules(list: &[Value], path: &str) -> Result<Vec<CompiledRule>, SchemaError> {
    list.iter()
        .enumerate()
        .map(|(index, raw)| compile_rule(raw, path, index))
        .collect()
}

fn compile_rule(raw: &Value, path: &str, index: usize) -> Result<CompiledRule, SchemaError> {
    let bad = |message: String| SchemaError::BadRule {
        path: path.to_string(),
        index,
        message,
    };
    let text = |key: &str| -> Result<Option<String>, SchemaError> {
        match raw.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!("{key} must be a string"))),
        }
    };
    let rule = text("rule")?.ok_or_else(|| bad("rule is missing".into()))?;
    let program = compile_cel(&rule)
        .map_err(|e| bad(format!("compilation failed for rule {rule:?}: {e}")))?;
    let message_expression = text("messageExpression")?;
    let message_program = match &message_expression {
        None => None,
        Some(expr) => Some(compile_cel(expr).map_err(|e| {
            bad(format!(
                "compilation failed for messageExpression {expr:?}: {e}"
            ))
        })?),
    };
    let uses_old_self = program.references().has_variable("oldSelf");
    let optional_old_self = match raw.get("optionalOldSelf") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("optionalOldSelf must be a boolean".into())),
    };
    Ok(CompiledRule {
        program,
        message: text("message")?,
        message_program,
        field_path: text("fieldPath")?,
        reason: text("reason")?,
        uses_old_self,
        optional_old_self,
        rule,
    })
}

/// Parses a CEL expression; the parser is third-party code, so a panic in it is turned into
/// an error rather than taking the caller down.
fn compile_cel(expr: &str) -> Result<Program, String> {
    match catch_unwind(|| Program::compile(expr)) {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the CEL parser failed on this expression".into()),
    }
}

thread_local! {
    /// CEL standard library plus Kubernetes extensions, built once per thread: registering
    /// the functions is the expensive part of a context and never changes.
    static BASE_CONTEXT: Context<'static> = {
        let mut ctx = Context::default();
        ctx.register_all();
        ctx
    };
}

/// Where rule failures go.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Failures that reject the object.
    pub(crate) errors: Vec<FieldError>,
    /// Ratcheted failures, which kube returns as warnings.
    pub(crate) warnings: Vec<String>,
}

/// Evaluates every rule below `x` (at `path`, following `s`). `old` is the correlated value
/// of the previous object, if any: transition rules only run where it exists.
///
/// Failures of rules that do not use `oldSelf` are ratcheted where the value equals its
/// previous version (or sits below such a value without an identity of its own, like an
/// atomic list's items): kube reports them as warnings instead of errors.
pub(crate) fn validate_rules(
    x: &Value,
    old: Option<&Value>,
    s: &Node,
    path: &str,
    out: &mut Findings,
) {
    let unchanged = old.is_some_and(|o| json_equal(x, o));
    BASE_CONTEXT.with(|base| {
        let walker = Walker { base };
        walker.walk(x, old, unchanged, s, path, out);
    });
}

struct Walker<'b> {
    base: &'b Context<'static>,
}

impl Walker<'_> {
    fn walk(
        &self,
        x: &Value,
        old: Option<&Value>,
        unchanged: bool,
        s: &Node,
        path: &str,
        out: &mut Findings,
    ) {
        // kube validates only non-null values; rules about nulls live on the parent.
        if x.is_null() {
            return;
        }
        let old = old.filter(|o| !o.is_null());
        if !s.rules.is_empty() {
            self.evaluate_node(x, old, unchanged, s, path, out);
        }
        // A child with a previous version is unchanged when equal to it; a child without
        // one inherits the verdict of its nearest correlated ancestor.
        let child_unchanged =
            |v: &Value, old_v: Option<&Value>| old_v.map_or(unchanged, |o| json_equal(v, o));
        match x {
            Value::Object(map) => {
                let old_map = old.and_then(Value::as_object);
                // Schema order, not the object's key order, so errors come out deterministically.
                for (k, prop) in &s.properties {
                    if let Some(v) = map.get(k) {
                        let old_v = old_map.and_then(|m| m.get(k));
                        let same = child_unchanged(v, old_v);
                        self.walk(v, old_v, same, prop, &child_path(path, k), out);
                    }
                }
                if let Additional::Schema(sub) = &s.additional {
                    for (k, v) in map.iter().filter(|(k, _)| !s.properties.contains_key(*k)) {
                        let old_v = old_map.and_then(|m| m.get(k));
                        let same = child_unchanged(v, old_v);
                        self.walk(v, old_v, same, sub, &key_path(path, k), out);
                    }
                }
            }
            Value::Array(items) => {
                let Some(item_schema) = s.items.as_deref() else {
                    return;
                };
                let old_items = old.and_then(Value::as_array);
                for (i, item) in items.iter().enumerate() {
                    // Only map lists (by key) and sets (by value) correlate items with the
                    // previous version; atomic lists have no stable identity below them.
                    let old_item =
                        old_items.and_then(|olds| correlate_item(item, olds, &s.list_type));
                    let same = child_unchanged(item, old_item);
                    self.walk(item, old_item, same, item_schema, &index_path(path, i), out);
                }
            }
            _ => {}
        }
    }

    fn evaluate_node(
        &self,
        x: &Value,
        old: Option<&Value>,
        unchanged: bool,
        s: &Node,
        path: &str,
        out: &mut Findings,
    ) {
        let mut ctx = self.base.new_inner_scope();
        ctx.add_variable_from_value("self", to_cel(x, Some(s)));
        match old {
            Some(o) => ctx.add_variable_from_value("oldSelf", to_cel(o, Some(s))),
            None => ctx.add_variable_from_value("oldSelf", CelValue::Null),
        }
        for rule in &s.rules {
            if rule.uses_old_self && old.is_none() && !rule.optional_old_self {
                continue;
            }
            let field = rule_field_path(path, rule.field_path.as_deref());
            let type_value = Some(Value::from(s.type_name()));
            match execute(&rule.program, &ctx) {
                Ok(CelValue::Bool(true)) => {}
                Ok(CelValue::Bool(false)) => {
                    let detail = rule_message(rule, &ctx);
                    let error = error_for_reason(field, rule.reason.as_deref(), type_value, detail);
                    if unchanged && !rule.uses_old_self {
                        out.warnings.push(error.to_string());
                    } else {
                        out.errors.push(error);
                    }
                }
                Ok(other) => out.errors.push(FieldError::invalid(
                    field,
                    type_value,
                    format!(
                        "rule evaluated to {} instead of a boolean evaluating rule: {}",
                        other.type_of(),
                        rule_error_string(rule)
                    ),
                )),
                Err(e) => {
                    let detail = if e.starts_with("no such overload") {
                        format!(
                            "'{e}': call arguments did not match a supported operator, function or macro signature for rule: {}",
                            rule_error_string(rule)
                        )
                    } else {
                        format!("{e} evaluating rule: {}", rule_error_string(rule))
                    };
                    out.errors
                        .push(FieldError::invalid(field, type_value, detail));
                }
            }
        }
    }
}

/// Runs a program, turning evaluation errors (and any panic inside the CEL interpreter) into
/// kube-style lower-case error text.
fn execute(program: &Program, ctx: &Context<'_>) -> Result<CelValue, String> {
    match catch_unwind(AssertUnwindSafe(|| program.execute(ctx))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(error_text(&e)),
        Err(_) => Err("internal error".into()),
    }
}

fn error_text(e: &ExecutionError) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// The message of a failed rule: `messageExpression` when it yields a non-blank string,
/// else `message`, else `failed rule: <rule>` (kube's `ruleMessageOrDefault`).
fn rule_message(rule: &CompiledRule, ctx: &Context<'_>) -> String {
    if let Some(program) = &rule.message_program
        && let Ok(CelValue::String(s)) = execute(program, ctx)
        && !s.trim().is_empty()
        && !s.contains('\n')
    {
        return s.to_string();
    }
    match &rule.message {
        Some(m) if !m.trim().is_empty() => m.trim().to_string(),
        _ => format!("failed rule: {}", rule_error_string(rule)),
    }
}

/// kube's `ruleErrorString`: the message if any, else the rule text.
fn rule_error_string(rule: &CompiledRule) -> String {
    match &rule.message {
        Some(m) if !m.trim().is_empty() => m.trim().to_string(),
        _ => rule.rule.trim().to_string(),
    }
}

/// kube's `fieldErrorForReason`.
fn error_for_reason(
    field: String,
    reason: Option<&str>,
    value: Option<Value>,
    detail: String,
) -> FieldError {
    match reason {
        Some("FieldValueForbidden") => FieldError::new(
            field,
            FieldErrorKind::Forbidden,
            Some(Value::from("")),
            detail,
        ),
        Some("FieldValueRequired") => FieldError::required(field, detail),
        Some("FieldValueDuplicate") => FieldError::new(field, FieldErrorKind::Duplicate, value, ""),
        _ => FieldError::invalid(field, value, detail),
    }
}

/// The node path plus the rule's `fieldPath` (`.spec.x`, `['a.b']` or `x`).
/// The object itself (a nil `field.Path`) prints as `<nil>`.
fn rule_field_path(path: &str, field_path: Option<&str>) -> String {
    let full = match field_path.map(str::trim) {
        None | Some("") => path.to_string(),
        Some(fp) if fp.starts_with('[') => format!("{path}{fp}"),
        Some(fp) => child_path(path, fp.trim_start_matches('.')),
    };
    if full.is_empty() {
        "<nil>".to_string()
    } else {
        full
    }
}

/// Names CEL reserves (its literals and keywords, and the words its spec keeps for later): a
/// property with one of these names is bound as `__<name>__`, as in kube's `celReservedSymbols`.
const CEL_RESERVED: [&str; 21] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// kube's property-name escaping (`apiserver/pkg/cel.Escape`); `None` when the name cannot
/// be accessed from CEL.
fn escape_property(name: &str) -> Option<String> {
    if CEL_RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || "_.-/".contains(c));
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c)) {
        return None;
    }
    Some(
        name.replace("__", "__underscores__")
            .replace('.', "__dot__")
            .replace('-', "__dash__")
            .replace('/', "__slash__"),
    )
}

/// Converts a JSON value to CEL following its schema: object property names are escaped,
/// map keys are not, and `format: date-time` strings become timestamps.
fn to_cel(x: &Value, s: Option<&Node>) -> CelValue {
    match x {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        // kube binds numbers by schema type: `number` as double, `integer` as int.
        Value::Number(n) => match (s.and_then(|s| s.type_), n.as_i64(), n.as_u64()) {
            (Some(Type::Number), _, _) => CelValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            (_, Some(i), _) => CelValue::Int(i),
            (_, None, Some(u)) => CelValue::UInt(u),
            (Some(Type::Integer), None, None) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => CelValue::Int(f as i64),
                other => CelValue::Float(other.unwrap_or(f64::NAN)),
            },
            _ => CelValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(text) => {
            if s.is_some_and(|s| s.format.as_deref() == Some("date-time") && !s.int_or_string)
                && let Ok(ts) = chrono::DateTime::parse_from_rfc3339(text)
            {
                return CelValue::Timestamp(ts);
            }
            CelValue::String(Arc::new(text.clone()))
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            CelValue::List(Arc::new(
                items.iter().map(|v| to_cel(v, item_schema)).collect(),
            ))
        }
        Value::Object(map) => {
            let mut out = HashMap::with_capacity(map.len());
            for (k, v) in map {
                let (key, sub) = match s {
                    Some(s) if s.is_map() && !s.properties.contains_key(k) => {
                        (Some(k.clone()), additional(s))
                    }
                    Some(s) => (escape_property(k), s.properties.get(k)),
                    None => (Some(k.clone()), None),
                };
                if let Some(key) = key {
                    out.insert(Key::String(Arc::new(key)), to_cel(v, sub));
                }
            }
            CelValue::Map(CelMap { map: Arc::new(out) })
        }
    }
}

fn additional(s: &Node) -> Option<&Node> {
    match &s.additional {
        Additional::Schema(sub) => Some(sub),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_kube_rules() {
        assert_eq!(
            escape_property("foo-bar.baz/q__x").as_deref(),
            Some("foo__dash__bar__dot__baz__slash__q__underscores__x")
        );
        assert_eq!(
            escape_property("namespace").as_deref(),
            Some("__namespace__")
        );
        assert_eq!(escape_property("has space"), None);
    }

    #[test]
    fn while_is_reserved_like_the_other_cel_words() {
        assert_eq!(escape_property("while").as_deref(), Some("__while__"));
        assert_eq!(escape_property("loop").as_deref(), Some("__loop__"));
        // A name that merely starts like one stays as it is.
        assert_eq!(escape_property("whilst").as_deref(), Some("whilst"));
    }

    #[test]
    fn field_path_joins_dotted_and_bracketed_forms() {
        assert_eq!(rule_field_path("spec", Some(".a.b")), "spec.a.b");
        assert_eq!(rule_field_path("spec", Some("['a.b']")), "spec['a.b']");
        assert_eq!(rule_field_path("", Some(".spec")), "spec");
    }
}
