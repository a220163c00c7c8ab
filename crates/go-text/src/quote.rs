//! Go's `strconv.Quote` (what `%q` prints for a string), so messages that Go writes, or that
//! mirror Go's, quote values byte for byte as Go does.

use std::fmt::Write as _;

/// `text` as Go's `strconv.Quote` writes it: in double quotes, with `"` and `\` escaped, the
/// control characters that have a short escape as `\a \b \f \n \r \t \v`, other ASCII controls
/// (and DEL) as `\xNN`, the C1 controls (U+0080 to U+009F) as `\uNNNN`; every other character
/// as itself.
///
/// Go also escapes printable-looking runes that its `unicode.IsPrint` refuses (format
/// characters, unassigned code points); those are kept as they are here, since the names, keys
/// and config values quoted in our messages do not hold them in practice.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        push_escaped(&mut quoted, c);
    }
    quoted.push('"');
    quoted
}

/// Appends `c` to `out` as it stands inside a Go-quoted string.
fn push_escaped(out: &mut String, c: char) {
    let short = match c {
        '"' => "\\\"",
        '\\' => "\\\\",
        '\u{7}' => "\\a",
        '\u{8}' => "\\b",
        '\u{c}' => "\\f",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\u{b}' => "\\v",
        _ => "",
    };
    let code = u32::from(c);
    // Writing to a String cannot fail.
    let _ = if !short.is_empty() {
        out.write_str(short)
    } else if code < 0x20 || code == 0x7f {
        write!(out, "\\x{code:02x}")
    } else if c.is_control() {
        // Rust's control characters are Unicode's Cc: below U+0100, so always four digits.
        write!(out, "\\u{code:04x}")
    } else {
        out.write_char(c)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote(""), r#""""#);
    }

    #[test]
    fn controls_with_a_short_escape_use_it() {
        assert_eq!(quote("\u{7}\u{8}\u{c}\n\r\t\u{b}"), r#""\a\b\f\n\r\t\v""#);
    }

    #[test]
    fn other_ascii_controls_and_del_are_hex_escaped() {
        assert_eq!(
            quote("\u{0}\u{1}\u{1b}\u{1f}\u{7f}"),
            r#""\x00\x01\x1b\x1f\x7f""#
        );
    }

    #[test]
    fn c1_controls_are_unicode_escaped() {
        assert_eq!(quote("\u{80}\u{9f}"), r#""\u0080\u009f""#);
    }

    #[test]
    fn printable_text_including_non_ascii_stays_as_it_is() {
        assert_eq!(
            quote("ramen-system ünï✓ 🚀 {{x}}"),
            "\"ramen-system ünï✓ 🚀 {{x}}\""
        );
    }

    #[test]
    fn mixed_text_is_escaped_character_by_character() {
        assert_eq!(quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }
}
