//! crd-schema: validates, defaults and prunes custom resources against a CRD's structural schema, as kube-apiserver does.
//!
//! [`StructuralSchema::compile`] takes a CRD version's `schema.openAPIV3Schema`;
//! [`StructuralSchema::admit`] then runs kube-apiserver's admission steps on an object —
//! pruning, defaulting, OpenAPI validation, list-type checks and `x-kubernetes-validations`
//! CEL rules — and reports errors as Kubernetes' `field.Error` prints them.
//!
//! ```
//! use crd_schema::{StructuralSchema, invalid_message};
//! use serde_json::json;
//!
//! let schema = StructuralSchema::compile(&json!({
//!     "type": "object",
//!     "properties": {"spec": {
//!         "type": "object",
//!         "required": ["interval"],
//!         "properties": {"interval": {
//!             "type": "string",
//!             "pattern": "^\\d+[mhd]$",
//!             "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "interval is immutable"}],
//!         }},
//!     }},
//! }))?;
//!
//! let mut obj = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
//!                      "spec": {"interval": "3s", "typo": true}});
//! let admission = schema.admit(&mut obj, None);
//! assert_eq!(admission.pruned, ["spec.typo"]);
//! assert_eq!(
//!     invalid_message("Thing.example.com", "t", &admission.errors),
//!     r#"Thing.example.com "t" is invalid: spec.interval: Invalid value: "3s": spec.interval in body should match '^\d+[mhd]$'"#,
//! );
//!
//! let old = json!({"spec": {"interval": "1m"}});
//! let mut new = json!({"spec": {"interval": "5m"}});
//! let update = schema.admit(&mut new, Some(&old));
//! assert_eq!(update.errors[0].to_string(), r#"spec.interval: Invalid value: "string": interval is immutable"#);
//! # Ok::<(), crd_schema::SchemaError>(())
//! ```
#![warn(missing_docs)]

mod defaults;
mod field_error;
mod formats;
mod go_format;
mod list_types;
mod openapi;
mod path;
mod prune;
mod rules;
mod schema;

use serde_json::Value;

pub use field_error::{FieldError, FieldErrorKind, invalid_message};
pub use schema::SchemaError;

use schema::Node;

/// The detail of the error kube adds when OpenAPI validation failed in a way that stops CEL
/// rules from running (`hasBlockingErr` in apiextensions-apiserver).
pub const RULES_SKIPPED_DETAIL: &str = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/// A compiled structural schema: regexes and CEL programs are compiled once, then
/// [`admit`](Self::admit) can run any number of times.
#[derive(Debug)]
pub struct StructuralSchema {
    root: Node,
}

/// The outcome of [`StructuralSchema::admit`].
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Admission {
    /// Paths of the fields pruned as unknown, in kube's form (`spec.foo`,
    /// `spec.items[0].bar`): what `kubectl --validate=strict` reports as `unknown field`.
    pub pruned: Vec<String>,
    /// Validation errors; the object is acceptable when this is empty.
    pub errors: Vec<FieldError>,
    /// Failures kube tolerates on update because the value did not change (ratcheting of
    /// `x-kubernetes-validations` rules), as the texts kube sends in `Warning` headers.
    pub warnings: Vec<String>,
}

impl Admission {
    /// Whether the object passed validation.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

impl StructuralSchema {
    /// Compile from a CRD version's `schema.openAPIV3Schema` (JSON value). Errors on a schema
    /// it cannot use (a keyword of the wrong type, a bad regex, CEL that fails to compile).
    pub fn compile(open_api_v3_schema: &Value) -> Result<Self, SchemaError> {
        Ok(Self {
            root: Node::compile(open_api_v3_schema, "openAPIV3Schema", 0)?,
        })
    }

    /// Admission of a whole object (apiVersion/kind/metadata/spec/status...) on create
    /// (`old = None`) or update (`old = Some(previous stored object)`).
    ///
    /// In kube-apiserver's order: (1) prune unknown fields (never `apiVersion`, `kind`,
    /// `metadata` at the root) and non-nullable nulls without a default; (2) apply
    /// `default`s; (3) validate OpenAPI constraints, then list types; (4) evaluate CEL
    /// `x-kubernetes-validations`, unless (3) produced a blocking error (required, type,
    /// enum, too long, too many), in which case kube's "some validation rules were not
    /// checked" note is added instead. `obj` is left pruned and defaulted.
    ///
    /// On update, as kube-apiserver 1.30+ (CRD validation ratcheting), values equal to their
    /// previous version are not re-validated against OpenAPI constraints, and failures of
    /// rules without `oldSelf` on such values become [`Admission::warnings`].
    pub fn admit(&self, obj: &mut Value, old: Option<&Value>) -> Admission {
        let pruned = self.prepare(obj);
        // The stored object went through the same steps when it was written; repeating them
        // (as kube does when it reads an object back) makes the comparison like for like.
        let old = old.map(|o| {
            let mut o = o.clone();
            self.prepare(&mut o);
            o
        });

        let mut errors = Vec::new();
        openapi::validate(obj, old.as_ref(), &self.root, "", &mut errors);

        // On update kube ratchets list-type errors: an old object that already broke them
        // does not block the update.
        let old_list_ok = old.as_ref().is_none_or(|o| {
            let mut old_errors = Vec::new();
            list_types::validate_list_types(o, &self.root, "", &mut old_errors);
            old_errors.is_empty()
        });
        if old_list_ok {
            list_types::validate_list_types(obj, &self.root, "", &mut errors);
        }

        let mut warnings = Vec::new();
        if errors.iter().any(|e| e.kind.blocks_cel()) {
            errors.push(FieldError::invalid("<nil>", None, RULES_SKIPPED_DETAIL));
        } else {
            let mut findings = rules::Findings::default();
            rules::validate_rules(obj, old.as_ref(), &self.root, "", &mut findings);
            errors.extend(findings.errors);
            warnings = findings.warnings;
        }
        // kube's nil field.Path (the object itself) prints as `<nil>`.
        for e in &mut errors {
            if e.field.is_empty() {
                e.field = "<nil>".to_string();
            }
        }
        Admission {
            pruned,
            errors,
            warnings,
        }
    }

    /// Prunes and defaults `obj` in place without validating it, as kube does to objects it
    /// decodes (and to stored objects it reads back). Returns the pruned paths.
    pub fn prune_and_default(&self, obj: &mut Value) -> Vec<String> {
        self.prepare(obj)
    }

    fn prepare(&self, obj: &mut Value) -> Vec<String> {
        let pruned = prune::prune_resource(obj, &self.root);
        prune::prune_non_nullable_nulls(obj, Some(&self.root));
        defaults::apply_defaults(obj, &self.root);
        pruned
    }
}
