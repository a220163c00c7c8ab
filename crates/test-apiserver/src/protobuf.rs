//! Decoding of the Kubernetes protobuf wire format for the built-in kinds `kubectl`'s
//! imperative commands send that way (`kubectl create namespace|configmap|secret`): Namespace,
//! ConfigMap and Secret. Responses are always JSON, which client-go accepts.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

const MAGIC: &[u8] = b"k8s\x00";

fn bad(why: &str) -> ApiError {
    ApiError::bad_request(format!("cannot decode protobuf body: {why}"))
}

/// One protobuf field: number and value.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .buf
                .split_first()
                .ok_or_else(|| bad("truncated varint"))?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint too long"))
    }

    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, ApiError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let field = match tag & 7 {
            0 => Field::Varint(self.varint()?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| bad("length"))?;
                if len > self.buf.len() {
                    return Err(bad("truncated field"));
                }
                let (data, rest) = self.buf.split_at(len);
                self.buf = rest;
                Field::Bytes(data)
            }
            1 => {
                if self.buf.len() < 8 {
                    return Err(bad("truncated fixed64"));
                }
                self.buf = &self.buf[8..];
                Field::Varint(0)
            }
            5 => {
                if self.buf.len() < 4 {
                    return Err(bad("truncated fixed32"));
                }
                self.buf = &self.buf[4..];
                Field::Varint(0)
            }
            _ => return Err(bad("unsupported wire type")),
        };
        Ok(Some((tag >> 3, field)))
    }
}

fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ApiError> {
    let mut r = Reader { buf };
    let mut out = Vec::new();
    while let Some(f) = r.next()? {
        out.push(f);
    }
    Ok(out)
}

fn text(b: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("invalid UTF-8"))
}

/// A `map<string, string>` (or `map<string, bytes>` base64-encoded) entry.
fn map_entry(b: &[u8], bytes_value: bool) -> Result<(String, Value), ApiError> {
    let mut key = String::new();
    let mut value = Value::String(String::new());
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(k)) => key = text(k)?,
            (2, Field::Bytes(v)) if bytes_value => {
                value = json!(base64::engine::general_purpose::STANDARD.encode(v))
            }
            (2, Field::Bytes(v)) => value = json!(text(v)?),
            _ => {}
        }
    }
    Ok((key, value))
}

fn insert_entry(
    obj: &mut Map<String, Value>,
    field: &str,
    b: &[u8],
    bytes_value: bool,
) -> Result<(), ApiError> {
    let (k, v) = map_entry(b, bytes_value)?;
    let m = obj.entry(field).or_insert_with(|| json!({}));
    if let Some(m) = m.as_object_mut() {
        m.insert(k, v);
    }
    Ok(())
}

fn object_meta(b: &[u8]) -> Result<Value, ApiError> {
    let mut md = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(v)) => {
                md.insert("name".into(), json!(text(v)?));
            }
            (2, Field::Bytes(v)) => {
                md.insert("generateName".into(), json!(text(v)?));
            }
            (3, Field::Bytes(v)) => {
                md.insert("namespace".into(), json!(text(v)?));
            }
            (6, Field::Bytes(v)) => {
                md.insert("resourceVersion".into(), json!(text(v)?));
            }
            (11, Field::Bytes(v)) => insert_entry(&mut md, "labels", v, false)?,
            (12, Field::Bytes(v)) => insert_entry(&mut md, "annotations", v, false)?,
            (14, Field::Bytes(v)) => {
                let list = md.entry("finalizers").or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(json!(text(v)?));
                }
            }
            _ => {}
        }
    }
    Ok(Value::Object(md))
}

fn decode_kind(kind: &str, raw: &[u8]) -> Result<Value, ApiError> {
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!(kind));
    for (n, f) in fields(raw)? {
        match (kind, n, f) {
            (_, 1, Field::Bytes(v)) => {
                obj.insert("metadata".into(), object_meta(v)?);
            }
            ("ConfigMap", 2, Field::Bytes(v)) => insert_entry(&mut obj, "data", v, false)?,
            ("ConfigMap", 3, Field::Bytes(v)) => insert_entry(&mut obj, "binaryData", v, true)?,
            ("ConfigMap", 4, Field::Varint(v)) | ("Secret", 5, Field::Varint(v)) => {
                obj.insert("immutable".into(), json!(v != 0));
            }
            ("Secret", 2, Field::Bytes(v)) => insert_entry(&mut obj, "data", v, true)?,
            ("Secret", 3, Field::Bytes(v)) => {
                obj.insert("type".into(), json!(text(v)?));
            }
            ("Secret", 4, Field::Bytes(v)) => insert_entry(&mut obj, "stringData", v, false)?,
            ("Namespace", 2, Field::Bytes(v)) => {
                let mut finalizers = Vec::new();
                for (n, f) in fields(v)? {
                    if let (1, Field::Bytes(s)) = (n, f) {
                        finalizers.push(json!(text(s)?));
                    }
                }
                obj.insert("spec".into(), json!({"finalizers": finalizers}));
            }
            _ => {}
        }
    }
    Ok(Value::Object(obj))
}

/// Decodes a `application/vnd.kubernetes.protobuf` body of a Namespace, ConfigMap or Secret.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing k8s protobuf magic"))?;
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, f) in fields(rest)? {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                for (m, g) in fields(tm)? {
                    if let (2, Field::Bytes(k)) = (m, g) {
                        kind = text(k)?;
                    }
                }
            }
            (2, Field::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    match kind.as_str() {
        "Namespace" | "ConfigMap" | "Secret" => decode_kind(&kind, raw),
        other => Err(ApiError::unsupported_media_type(&format!(
            "application/vnd.kubernetes.protobuf (kind {other:?}; only Namespace, ConfigMap and Secret are decoded)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, data: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, data.len() as u8];
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn decodes_a_configmap_envelope() {
        let meta = [
            field(1, b"cm1"),
            field(3, b"default"),
            field(11, &[field(1, b"app"), field(2, b"web")].concat()),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode(&body).expect("decodes");
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "cm1", "namespace": "default", "labels": {"app": "web"}},
                   "data": {"k": "v"}})
        );
    }

    #[test]
    fn rejects_garbage_and_other_kinds() {
        assert_eq!(decode(b"nope").unwrap_err().code, 400);
        let type_meta = [field(1, b"v1"), field(2, b"Pod")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta)].concat();
        assert_eq!(decode(&body).unwrap_err().code, 415);
    }
}
