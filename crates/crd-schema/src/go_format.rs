//! Go `fmt` renderings (`%v` of float64, `%#v` of decoded JSON) used by kube's error texts, so
//! messages match kube-apiserver byte for byte. `%q` of a string is `go_text::quote`, shared with
//! the crates that quote like Go outside this one.

use go_text::quote;
use serde_json::Value;

/// Go's `%v` of a float64 (shortest representation, exponent form outside `[1e-4, 1e21)`).
pub(crate) fn go_v_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        // Rust prints `1e21`/`1.5e-7`; Go prints `1e+21`/`1.5e-07`.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        let digits = if digits.len() < 2 {
            format!("0{digits}")
        } else {
            digits.to_string()
        };
        format!("{mantissa}e{sign}{digits}")
    } else {
        format!("{f}")
    }
}

/// Go's `%#v` of a JSON value decoded into `interface{}` (`[]interface {}{...}`,
/// `map[string]interface {}{...}` with sorted keys).
pub(crate) fn go_sharp_v(value: &Value) -> String {
    match value {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => go_v_float(f),
            (None, None, None) => n.to_string(),
        },
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_sharp_v).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", quote(k), go_sharp_v(&map[k])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn float_formatting_follows_go_v() {
        assert_eq!(go_v_float(1.5), "1.5");
        assert_eq!(go_v_float(10.0), "10");
        assert_eq!(go_v_float(1e21), "1e+21");
        assert_eq!(go_v_float(1.5e-7), "1.5e-07");
    }

    #[test]
    fn sharp_v_of_list_uses_go_slice_syntax() {
        assert_eq!(
            go_sharp_v(&json!(["a", 1, null])),
            "[]interface {}{\"a\", 1, interface {}(nil)}"
        );
    }
}
