//! Glue between the server and `crd-schema`: one compiled structural schema per CRD version,
//! run on every write of a custom resource (validation, defaulting, pruning, CEL rules).

use serde_json::Value;

use crate::error::FieldCause;

/// A CRD version's compiled `openAPIV3Schema`.
#[derive(Debug)]
pub struct CrdSchema {
    /// The schema as written in the CRD (served in OpenAPI documents).
    pub raw: Value,
    compiled: crd_schema::StructuralSchema,
}

/// The outcome of admitting an object.
#[derive(Debug, Default)]
pub struct Admission {
    /// Pruned unknown fields (`spec.foo`).
    pub pruned: Vec<String>,
    /// 422 causes.
    pub errors: Vec<FieldCause>,
    /// Warnings (ratcheted rule failures).
    pub warnings: Vec<String>,
}

impl CrdSchema {
    /// Compiles a schema; the error text explains what is wrong with it.
    pub fn compile(raw: &Value) -> Result<Self, String> {
        let compiled = crd_schema::StructuralSchema::compile(raw).map_err(|e| e.to_string())?;
        Ok(CrdSchema {
            raw: raw.clone(),
            compiled,
        })
    }

    /// Validates, defaults and prunes `obj` (the whole object), with `old` on updates.
    pub fn admit(&self, obj: &mut Value, old: Option<&Value>) -> Admission {
        let adm = self.compiled.admit(obj, old);
        Admission {
            pruned: adm.pruned,
            errors: adm
                .errors
                .iter()
                .map(|e| FieldCause::new(e.kind.reason(), &e.field, e.to_string()))
                .collect(),
            warnings: adm.warnings,
        }
    }
}
