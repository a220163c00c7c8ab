//! Go's `url.ParseRequestURI`, reduced to accept/reject with Go's error text, for Ramen's S3
//! endpoint check. (The `url` crate follows the WHATWG standard, which accepts and rejects
//! different strings than Go does.)

use go_text::quote;

/// Checks `raw` like Go's `url.ParseRequestURI`: an absolute URI or an absolute path.
///
/// # Errors
/// Go's `*url.Error` text, e.g. `parse "minio": invalid URI for request`.
pub(crate) fn parse_request_uri(raw: &str) -> Result<(), String> {
    check(raw).map_err(|reason| format!("parse {}: {reason}", quote(raw)))
}

fn check(raw: &str) -> Result<(), String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".to_owned());
    }
    if raw.is_empty() {
        return Err("empty url".to_owned());
    }
    if raw == "*" {
        return Ok(());
    }
    let (scheme, rest) = split_scheme(raw)?;
    // ParseRequestURI keeps any `#fragment` in the path; only the query is split off.
    let rest = match rest.find('?') {
        Some(i) => &rest[..i],
        None => rest,
    };
    if !rest.starts_with('/') {
        if !scheme.is_empty() {
            // A rootless path after a scheme is an opaque URI (`mailto:x`).
            return Ok(());
        }
        return Err("invalid URI for request".to_owned());
    }
    let mut path = rest;
    if !scheme.is_empty()
        && let Some(after) = rest.strip_prefix("//")
    {
        let (authority, tail) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        check_authority(authority)?;
        path = tail;
    }
    unescape_check(path, Mode::Path)
}

/// Go's `getScheme`.
fn split_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, b) in raw.bytes().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".to_owned());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

/// Go's `parseAuthority`.
fn check_authority(authority: &str) -> Result<(), String> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    check_host(host)?;
    if let Some(userinfo) = userinfo {
        let valid = userinfo.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b':'
                        | b'~'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b'%'
                        | b'@'
                )
                || b >= 0x80
        });
        if !valid {
            return Err("net/url: invalid userinfo".to_owned());
        }
        unescape_check(userinfo, Mode::Userinfo)?;
    }
    Ok(())
}

/// Go's `parseHost` (without the IPv6 zone details).
fn check_host(host: &str) -> Result<(), String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".to_owned());
        };
        let port = &host[i + 1..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {} after host", quote(port)));
        }
        return unescape_check(&host[..=i], Mode::Host);
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {} after host", quote(port)));
        }
    }
    unescape_check(host, Mode::Host)
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Userinfo,
}

/// The validation half of Go's `unescape`: well-formed `%XX` escapes, and in a host only the
/// characters Go allows there.
fn unescape_check(s: &str, mode: Mode) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                let end = (i + 3).min(b.len());
                let bad = String::from_utf8_lossy(&b[i..end]);
                return Err(format!("invalid URL escape {}", quote(&bad)));
            }
            if mode == Mode::Host && hex_value(b[i + 1]) < 8 && &s[i..i + 3] != "%25" {
                return Err(format!("invalid URL escape {}", quote(&s[i..i + 3])));
            }
            i += 3;
            continue;
        }
        if mode == Mode::Host && b[i] < 0x80 && !host_char_allowed(b[i]) {
            let bad = char::from(b[i]).to_string();
            return Err(format!("invalid character {} in host name", quote(&bad)));
        }
        i += 1;
    }
    Ok(())
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Go's `shouldEscape(c, encodeHost) == false`.
fn host_char_allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_go_accepts() {
        for ok in [
            "http://192.168.124.246:30000",
            "https://s3.us-east-1.amazonaws.com",
            "http://minio.minio.svc.cluster.local:9000/",
            "http://user:p%40ss@host:80/path?x=1",
            "http://[::1]:9000",
            "/just/a/path",
            "minio:9000",
            "http://",
            "*",
        ] {
            assert_eq!(parse_request_uri(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_with_go_messages() {
        let cases = [
            ("minio", "parse \"minio\": invalid URI for request"),
            (
                "192.168.1.1:9000",
                "parse \"192.168.1.1:9000\": invalid URI for request",
            ),
            (":9000", "parse \":9000\": missing protocol scheme"),
            ("", "parse \"\": empty url"),
            (
                "http://host:port",
                "parse \"http://host:port\": invalid port \":port\" after host",
            ),
            (
                "http://ho st:80",
                "parse \"http://ho st:80\": invalid character \" \" in host name",
            ),
            ("http://[::1", "parse \"http://[::1\": missing ']' in host"),
            ("/a%zz", "parse \"/a%zz\": invalid URL escape \"%zz\""),
            (
                "http://x\n",
                "parse \"http://x\\n\": net/url: invalid control character in URL",
            ),
            (
                "http://a b@host",
                "parse \"http://a b@host\": net/url: invalid userinfo",
            ),
        ];
        for (raw, message) in cases {
            assert_eq!(parse_request_uri(raw), Err(message.to_owned()), "{raw}");
        }
    }
}
