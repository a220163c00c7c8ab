//! The subset of kubectl's JSONPath that CRD `additionalPrinterColumns` use: `.a.b`, `[0]`,
//! `[*]`, `['key']` and `[?(@.type=="Ready")]` filters.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter(Vec<String>, String),
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                steps.push(Step::Field(r[..end].to_string()));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            rest = &r[end + 1..];
            if inner == "*" {
                steps.push(Step::All);
            } else if let Ok(i) = inner.parse::<usize>() {
                steps.push(Step::Index(i));
            } else if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                let (lhs, rhs) = f.split_once("==")?;
                let field: Vec<String> = lhs
                    .trim()
                    .strip_prefix("@.")?
                    .split('.')
                    .map(str::to_string)
                    .collect();
                let value = rhs.trim().trim_matches('"').trim_matches('\'').to_string();
                steps.push(Step::Filter(field, value));
            } else {
                steps.push(Step::Field(
                    inner.trim_matches('\'').trim_matches('"').to_string(),
                ));
            }
        } else {
            // A path without a leading dot: treat the head as a field name.
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            steps.push(Step::Field(rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
    Some(steps)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Evaluates `path` against `obj`: every value it selects, in order.
pub fn select<'a>(obj: &'a Value, path: &str) -> Vec<&'a Value> {
    let Some(steps) = parse(path) else {
        return Vec::new();
    };
    let mut cur = vec![obj];
    for step in &steps {
        let mut next = Vec::new();
        for v in cur {
            match step {
                Step::Field(f) => next.extend(v.get(f)),
                Step::Index(i) => next.extend(v.get(*i)),
                Step::All => match v {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => next.extend(m.values()),
                    _ => {}
                },
                Step::Filter(field, want) => {
                    for item in v.as_array().into_iter().flatten() {
                        let got = field.iter().try_fold(item, |c, f| c.get(f));
                        if got.is_some_and(|g| scalar_text(g) == *want) {
                            next.push(item);
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

/// The text kubectl would print for `path`: values joined with commas, `""` when none.
pub fn text(obj: &Value, path: &str) -> Option<Value> {
    let found = select(obj, path);
    match found.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => Some(Value::String(
            many.iter()
                .map(|v| scalar_text(v))
                .collect::<Vec<_>>()
                .join(","),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_fields_indexes_and_filters() {
        let obj = json!({"spec": {"n": 3, "l": [{"name": "a"}, {"name": "b"}]},
                         "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "X", "status": "False"}]}});
        assert_eq!(text(&obj, ".spec.n"), Some(json!(3)));
        assert_eq!(text(&obj, ".spec.l[1].name"), Some(json!("b")));
        assert_eq!(text(&obj, ".spec.l[*].name"), Some(json!("a,b")));
        assert_eq!(
            text(&obj, r#".status.conditions[?(@.type=="Ready")].status"#),
            Some(json!("True"))
        );
        assert_eq!(text(&obj, ".spec['n']"), Some(json!(3)));
        assert_eq!(text(&obj, ".spec.missing"), None);
    }
}
