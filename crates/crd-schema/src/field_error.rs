//! Field errors shaped and printed like `k8s.io/apimachinery/pkg/util/validation/field.Error`,
//! so an API server built on this crate answers with the text kube-apiserver would.

use std::fmt;

use go_text::quote;
use serde_json::Value;

use crate::go_format::{go_sharp_v, go_v_float};

/// The kind of a [`FieldError`], as `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    /// `FieldValueRequired`: a required value is missing.
    Required,
    /// `FieldValueInvalid`: a malformed value (pattern, range, CEL rule...).
    Invalid,
    /// `FieldValueNotSupported`: a value outside an enum.
    NotSupported,
    /// `FieldValueTooLong`: a string longer than `maxLength`.
    TooLong,
    /// `FieldValueTooMany`: a list or object with too many items.
    TooMany,
    /// `FieldValueTypeInvalid`: a value of the wrong JSON type or format.
    TypeInvalid,
    /// `FieldValueForbidden`: a CEL rule with `reason: FieldValueForbidden`.
    Forbidden,
    /// `FieldValueDuplicate`: a repeated entry in a set or map list.
    Duplicate,
}

impl FieldErrorKind {
    /// The machine-readable reason kube puts in `Status.details.causes[].reason`,
    /// e.g. `FieldValueRequired`.
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::TypeInvalid => "FieldValueTypeInvalid",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
        }
    }

    /// The human text of the kind, as `field.ErrorType.String()` (`Required value`, ...).
    pub fn text(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid | FieldErrorKind::TypeInvalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::Duplicate => "Duplicate value",
        }
    }

    /// Whether kube-apiserver skips CEL rules when OpenAPI validation produced this kind
    /// (`hasBlockingErr` in apiextensions-apiserver's customresource strategy).
    pub fn blocks_cel(self) -> bool {
        matches!(
            self,
            FieldErrorKind::NotSupported
                | FieldErrorKind::Required
                | FieldErrorKind::TooLong
                | FieldErrorKind::TooMany
                | FieldErrorKind::TypeInvalid
        )
    }
}

/// One validation failure of one field, as kube's `field.Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Path of the field, e.g. `spec.schedulingInterval` or `spec.items[0].name`;
    /// `<nil>` for object-wide errors, as kube prints a nil `field.Path`.
    pub field: String,
    /// What went wrong.
    pub kind: FieldErrorKind,
    /// The offending value; `None` stands for Go's `nil` (printed `"null"`).
    pub bad_value: Option<Value>,
    /// Explanation appended after the value.
    pub detail: String,
}

impl FieldError {
    /// A `field.Required(path, detail)` error.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            field,
            FieldErrorKind::Required,
            Some(Value::from("")),
            detail,
        )
    }

    /// A `field.Invalid(path, value, detail)` error.
    pub fn invalid(
        field: impl Into<String>,
        value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(field, FieldErrorKind::Invalid, value, detail)
    }

    /// An error of any kind.
    pub fn new(
        field: impl Into<String>,
        kind: FieldErrorKind,
        bad_value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            kind,
            bad_value,
            detail: detail.into(),
        }
    }

    /// The message without the field path, as `field.Error.ErrorBody()`; this is what kube
    /// puts in `Status.details.causes[].message`.
    pub fn body(&self) -> String {
        let mut s = match self.kind {
            FieldErrorKind::Required | FieldErrorKind::Forbidden | FieldErrorKind::TooLong => {
                self.kind.text().to_string()
            }
            _ => format!(
                "{}: {}",
                self.kind.text(),
                go_value(self.bad_value.as_ref())
            ),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

/// Renders a bad value as `field.Error.ErrorBody()` does: `%v` for numbers and booleans,
/// `%q` for strings, `"null"` for nil and Go's `%#v` for lists and maps.
fn go_value(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => quote("null"),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => go_v_float(f),
            (None, None, None) => n.to_string(),
        },
        Some(Value::String(s)) => quote(s),
        Some(v) => go_sharp_v(v),
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// The message of kube's `StatusError` for an invalid object (`apierrors.NewInvalid`), e.g.
/// `DRPolicy.ramendr.openshift.io "drpolicy0" is invalid: [spec.drClusters: Required value, ...]`.
///
/// `kind_group` is the qualified kind (`Kind.group`, or `Kind` for the core group). Errors
/// with identical text are reported once, and a single error is printed without brackets,
/// as `field.ErrorList.ToAggregate()` does.
pub fn invalid_message(kind_group: &str, name: &str, errors: &[FieldError]) -> String {
    let mut seen = std::collections::HashSet::new();
    let messages: Vec<String> = errors
        .iter()
        .map(ToString::to_string)
        .filter(|m| seen.insert(m.clone()))
        .collect();
    let head = format!("{kind_group} {} is invalid", quote(name));
    match messages.len() {
        0 => head,
        1 => format!("{head}: {}", messages[0]),
        _ => format!("{head}: [{}]", messages.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn required_prints_without_value() {
        let e = FieldError::required("spec.drClusters", "");
        assert_eq!(e.to_string(), "spec.drClusters: Required value");
    }

    #[test]
    fn nil_bad_value_prints_as_quoted_null() {
        let e = FieldError::invalid("<nil>", None, "some validation rules were not checked");
        assert_eq!(
            e.to_string(),
            "<nil>: Invalid value: \"null\": some validation rules were not checked"
        );
    }

    #[test]
    fn not_supported_prints_quoted_value() {
        let e = FieldError::new(
            "spec.action",
            FieldErrorKind::NotSupported,
            Some(json!("Foo")),
            "supported values: \"Failover\", \"Relocate\"",
        );
        assert_eq!(
            e.to_string(),
            "spec.action: Unsupported value: \"Foo\": supported values: \"Failover\", \"Relocate\""
        );
    }

    #[test]
    fn too_many_prints_count() {
        let e = FieldError::new(
            "spec.l",
            FieldErrorKind::TooMany,
            Some(json!(3)),
            "must have at most 2 items",
        );
        assert_eq!(
            e.to_string(),
            "spec.l: Too many: 3: must have at most 2 items"
        );
    }

    #[test]
    fn duplicate_map_key_prints_go_map_syntax() {
        let e = FieldError::new(
            "spec.l[1]",
            FieldErrorKind::Duplicate,
            Some(json!({"name": "a", "port": 80})),
            "",
        );
        assert_eq!(
            e.to_string(),
            "spec.l[1]: Duplicate value: map[string]interface {}{\"name\":\"a\", \"port\":80}"
        );
    }

    #[test]
    fn invalid_message_single_error_has_no_brackets() {
        let e = FieldError::invalid("spec.x", Some(json!("3s")), "bad");
        assert_eq!(
            invalid_message("DRPolicy.ramendr.openshift.io", "drpolicy0", &[e]),
            "DRPolicy.ramendr.openshift.io \"drpolicy0\" is invalid: spec.x: Invalid value: \"3s\": bad"
        );
    }

    #[test]
    fn invalid_message_brackets_and_dedups_several_errors() {
        let a = FieldError::required("spec.a", "");
        let b = FieldError::required("spec.b", "");
        assert_eq!(
            invalid_message("K.g", "n", &[a.clone(), b, a]),
            "K.g \"n\" is invalid: [spec.a: Required value, spec.b: Required value]"
        );
    }
}
