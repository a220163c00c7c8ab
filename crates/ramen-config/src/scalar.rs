//! YAML 1.1 scalar resolution as go-yaml v2 does it, and the scalar-to-string conversion that
//! `sigs.k8s.io/yaml` applies before Go's `encoding/json` sees the document.
//!
//! Ramen decodes its config with `sigs.k8s.io/yaml` (go-yaml v2 underneath), so a plain `yes` is a
//! boolean and a plain `0x10` is the integer 16. Reproducing that here is what makes this crate
//! read a config the way Ramen reads it.

/// The value a YAML scalar resolves to under go-yaml v2's (YAML 1.1) rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    /// `~`, `null`, `Null`, `NULL` or an empty plain scalar.
    Null,
    /// One of go-yaml v2's boolean spellings.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// A positive integer that only fits `u64`.
    Uint(u64),
    /// A floating point number (including `.inf` / `.nan`).
    Float(f64),
    /// Anything else: the scalar is a string.
    Str,
}

/// Resolves a plain (unquoted, untagged) scalar like go-yaml v2's `resolve`.
pub(crate) fn resolve_plain(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        _ => {}
    }
    if let Some(b) = yaml11_bool(text) {
        return Resolved::Bool(b);
    }
    match text {
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Resolved::Str;
    }
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    if let Some(r) = go_parse_int(&plain) {
        return r;
    }
    if is_yaml_style_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return Resolved::Float(f);
    }
    // go-yaml v2 also accepts binary literals written as `0b...` / `-0b...` (already covered by
    // Go's base-0 ParseInt above).
    Resolved::Str
}

/// go-yaml v2's boolean spellings (YAML 1.1), with their value.
pub(crate) fn yaml11_bool(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            Some(false)
        }
        _ => None,
    }
}

/// Whether a boolean spelling is also a YAML 1.2 core-schema boolean (no warning needed).
pub(crate) fn is_yaml12_bool(text: &str) -> bool {
    matches!(text, "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
}

/// Go's `strconv.ParseInt(s, 0, 64)` falling back to `ParseUint(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<Resolved> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if neg {
        let limit = u128::from(i64::MAX.unsigned_abs()) + 1;
        if magnitude > limit {
            return None;
        }
        let value = i128::try_from(magnitude).ok()?;
        i64::try_from(-value).ok().map(Resolved::Int)
    } else if let Ok(v) = i64::try_from(magnitude) {
        Some(Resolved::Int(v))
    } else {
        u64::try_from(magnitude).ok().map(Resolved::Uint)
    }
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// The string `sigs.k8s.io/yaml` hands to a Go `string` field (or map key) for a resolved
/// scalar; `None` for null, which leaves a Go string unchanged.
pub(crate) fn go_string(text: &str, resolved: &Resolved) -> Option<String> {
    match resolved {
        Resolved::Null => None,
        Resolved::Bool(b) => Some(b.to_string()),
        Resolved::Int(i) => Some(i.to_string()),
        Resolved::Uint(u) => Some(u.to_string()),
        Resolved::Float(f) => Some(go_format_float32(*f)),
        Resolved::Str => Some(text.to_owned()),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` with `sigs.k8s.io/yaml`'s `.inf`/`.nan` spellings.
pub(crate) fn go_format_float32(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    #[allow(clippy::cast_possible_truncation)]
    let single = f as f32;
    if single.is_infinite() {
        return if single > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    if single == 0.0 {
        return if single.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // `{:e}` prints the shortest round-tripping digits, as Go's `-1` precision does.
    let sci = format!("{single:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // Go uses %e when exp < -4 || exp >= eprec, and eprec is 6 for the shortest precision.
    if !(-4..6).contains(&exp) {
        let mut out = String::from(sign);
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
        return out;
    }
    let mut out = String::from(sign);
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = usize::try_from(exp + 1).unwrap_or(0);
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_yaml11_scalars_like_go_yaml_v2() {
        assert_eq!(resolve_plain(""), Resolved::Null);
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("Yes"), Resolved::Bool(true));
        assert_eq!(resolve_plain("OFF"), Resolved::Bool(false));
        assert_eq!(resolve_plain("yES"), Resolved::Str);
        assert_eq!(resolve_plain("123"), Resolved::Int(123));
        assert_eq!(resolve_plain("-1_000"), Resolved::Int(-1000));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("017"), Resolved::Int(15));
        assert_eq!(resolve_plain("0b101"), Resolved::Int(5));
        assert_eq!(resolve_plain("09"), Resolved::Float(9.0));
        assert_eq!(resolve_plain("1.5"), Resolved::Float(1.5));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(
            resolve_plain("18446744073709551615"),
            Resolved::Uint(u64::MAX)
        );
        assert_eq!(
            resolve_plain("-9223372036854775808"),
            Resolved::Int(i64::MIN)
        );
        assert_eq!(resolve_plain(":8081"), Resolved::Str);
        assert_eq!(resolve_plain("127.0.0.1:9289"), Resolved::Str);
        assert_eq!(resolve_plain("-"), Resolved::Str);
        assert_eq!(resolve_plain("."), Resolved::Str);
    }

    #[test]
    fn formats_floats_like_go_format_float_g_32() {
        assert_eq!(go_format_float32(1.5), "1.5");
        assert_eq!(go_format_float32(1.0), "1");
        assert_eq!(go_format_float32(1000.0), "1000");
        assert_eq!(go_format_float32(1e6), "1e+06");
        assert_eq!(go_format_float32(123_456.0), "123456");
        assert_eq!(go_format_float32(0.0001), "0.0001");
        assert_eq!(go_format_float32(0.00001), "1e-05");
        assert_eq!(go_format_float32(1.234_567_891), "1.2345679");
        assert_eq!(go_format_float32(-2.5), "-2.5");
        assert_eq!(go_format_float32(f64::INFINITY), ".inf");
        assert_eq!(go_format_float32(f64::NAN), ".nan");
        assert_eq!(go_format_float32(1.234_567_8e7), "1.2345678e+07");
    }
}
