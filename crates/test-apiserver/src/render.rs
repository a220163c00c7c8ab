//! Alternative renderings clients ask for in `Accept`: `meta.k8s.io/v1` Tables (kubectl `get`
//! output: kube-apiserver's columns for the built-in kinds, a CRD's `additionalPrinterColumns`,
//! else Name and Age) and `PartialObjectMetadata` (kube's metadata-only API).

use serde_json::{Value, json};

/// How to render objects in a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Render {
    /// The objects themselves.
    Full,
    /// A Table; the string is `includeObject` (`None`, `Metadata`, `Object`).
    Table(String),
    /// `PartialObjectMetadata` / `PartialObjectMetadataList`.
    Metadata,
}

impl Render {
    /// The rendering an Accept header asks for (the first acceptable media type wins).
    pub fn from_accept(accept: Option<&str>, include_object: Option<&str>) -> Self {
        let first = accept
            .unwrap_or_default()
            .split(',')
            .next()
            .unwrap_or_default();
        if first.contains("as=Table") {
            // kube-apiserver's default `includeObject` is Metadata.
            Render::Table(include_object.unwrap_or("Metadata").to_string())
        } else if first.contains("as=PartialObjectMetadata") {
            Render::Metadata
        } else {
            Render::Full
        }
    }

    /// Renders a list or single object (`with_columns`: include Table column definitions;
    /// `columns`: a CRD's additionalPrinterColumns, empty for the default Name and Age).
    pub fn apply(&self, body: Value, with_columns: bool, columns: &[PrinterColumn]) -> Value {
        if body.get("kind").and_then(Value::as_str) == Some("Status") {
            return body;
        }
        match self {
            Render::Full => body,
            Render::Table(include) => to_table(&body, include, with_columns, columns),
            Render::Metadata => to_metadata(&body),
        }
    }
}

fn partial(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata")})
}

/// `PartialObjectMetadata` for an object, `PartialObjectMetadataList` for a list.
pub fn to_metadata(body: &Value) -> Value {
    match body.get("items").and_then(Value::as_array) {
        Some(items) => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": body.get("metadata"),
            "items": items.iter().map(partial).collect::<Vec<_>>(),
        }),
        None => partial(body),
    }
}

fn age(created: Option<&str>) -> String {
    let Some(ts) = created.and_then(|c| c.parse::<jiff::Timestamp>().ok()) else {
        return "<unknown>".into();
    };
    let secs = (jiff::Timestamp::now().as_second() - ts.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// A CRD `additionalPrinterColumns` entry.
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// Optional format.
    pub format: String,
    /// Description.
    pub description: String,
    /// 0 = always shown; higher = `-o wide`.
    pub priority: i64,
    /// JSONPath of the value.
    pub json_path: String,
    /// For a built-in kind's column: the cell, computed (then `json_path` is unused).
    pub compute: Option<fn(&Value) -> Value>,
}

/// The number of entries of the maps at `fields` (a ConfigMap's or Secret's `DATA`).
fn count(obj: &Value, fields: &[&str]) -> Value {
    let n: usize = fields
        .iter()
        .filter_map(|f| obj.get(*f).and_then(Value::as_object))
        .map(|m| m.len())
        .sum();
    json!(n)
}

impl PrinterColumn {
    fn computed(name: &str, description: &str, compute: fn(&Value) -> Value) -> Self {
        PrinterColumn {
            name: name.into(),
            type_: "string".into(),
            format: String::new(),
            description: description.into(),
            priority: 0,
            json_path: String::new(),
            compute: Some(compute),
        }
    }

    /// kube-apiserver's columns for a built-in kind (after Name); empty for Name and Age.
    pub fn builtin(group: &str, plural: &str) -> Vec<PrinterColumn> {
        let mut columns = match (group, plural) {
            ("", "configmaps") => vec![Self::computed(
                "Data",
                "Data contains the configuration data.",
                |o| count(o, &["data", "binaryData"]),
            )],
            ("", "secrets") => vec![
                Self::computed("Type", "The type of the secret.", |o| {
                    json!(o.get("type").and_then(Value::as_str).unwrap_or_default())
                }),
                Self::computed("Data", "Data contains the secret data.", |o| {
                    count(o, &["data"])
                }),
            ],
            ("", "namespaces") => vec![Self::computed(
                "Status",
                "The status of the namespace",
                |o| {
                    json!(
                        o.pointer("/status/phase")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    )
                },
            )],
            ("coordination.k8s.io", "leases") => {
                vec![Self::computed("Holder", "The holder of the lease.", |o| {
                    json!(
                        o.pointer("/spec/holderIdentity")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    )
                })]
            }
            _ => return Vec::new(),
        };
        columns.push(Self::computed(
            "Age",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
            |o| json!(age(crate::meta::meta_str(o, "creationTimestamp"))),
        ));
        columns
    }

    /// The columns of a CRD version (`additionalPrinterColumns`).
    pub fn from_crd_version(version: &Value) -> Vec<PrinterColumn> {
        let s = |c: &Value, k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        version
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .map(|c| PrinterColumn {
                        name: s(c, "name"),
                        type_: s(c, "type"),
                        format: s(c, "format"),
                        description: s(c, "description"),
                        priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                        json_path: s(c, "jsonPath"),
                        compute: None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn cell(&self, obj: &Value) -> Value {
        if let Some(compute) = self.compute {
            return compute(obj);
        }
        match crate::jsonpath::text(obj, &self.json_path) {
            None => Value::Null,
            Some(Value::String(t)) if self.type_ == "date" => json!(age(Some(&t))),
            // kube-apiserver prints lists and maps as JSON (`["east","west"]`).
            Some(v @ (Value::Array(_) | Value::Object(_))) => json!(v.to_string()),
            Some(v) => v,
        }
    }
}

fn row(obj: &Value, include_object: &str, columns: &[PrinterColumn]) -> Value {
    let name = crate::meta::name(obj);
    let object = match include_object {
        "None" => Value::Null,
        "Metadata" => partial(obj),
        _ => obj.clone(),
    };
    let mut cells = vec![json!(name)];
    if columns.is_empty() {
        cells.push(json!(age(crate::meta::meta_str(obj, "creationTimestamp"))));
    } else {
        cells.extend(columns.iter().map(|c| c.cell(obj)));
    }
    json!({"cells": cells, "object": object})
}

/// Column definitions: Name, then the printer columns (or Age).
fn column_definitions(columns: &[PrinterColumn]) -> Value {
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    if columns.is_empty() {
        defs.push(json!({"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority": 0}));
    }
    for c in columns {
        defs.push(json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority}));
    }
    Value::Array(defs)
}

/// A Table for a list (`items`) or a single object.
pub fn to_table(
    body: &Value,
    include_object: &str,
    with_columns: bool,
    columns: &[PrinterColumn],
) -> Value {
    let rows: Vec<Value> = match body.get("items").and_then(Value::as_array) {
        Some(items) => items
            .iter()
            .map(|o| row(o, include_object, columns))
            .collect(),
        None => vec![row(body, include_object, columns)],
    };
    let mut md = json!({});
    if let Some(rv) = body.pointer("/metadata/resourceVersion") {
        md["resourceVersion"] = rv.clone();
    }
    if let Some(c) = body.pointer("/metadata/continue") {
        md["continue"] = c.clone();
    }
    let mut t =
        json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md, "rows": rows});
    if with_columns {
        t["columnDefinitions"] = column_definitions(columns);
    }
    t
}
