//! Go `time.Duration` values as Ramen's config carries them: `metav1.Duration` strings such as
//! `"10h"` or `"1m30s"`, parsed and printed exactly like Go's `time.ParseDuration` and
//! `Duration.String`.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use go_text::quote;

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
const NANOS_PER_MINUTE: u64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MINUTE;
/// `1 << 63`: one more than the largest positive Go duration, the magnitude of the smallest.
const LIMIT: u64 = 1 << 63;

/// A Go `time.Duration` (signed nanoseconds) that reads and writes as a `metav1.Duration`
/// string (`"10h"` in, `"10h0m0s"` out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(i64);

impl GoDuration {
    /// A duration of `nanos` nanoseconds (negative allowed, as in Go).
    #[must_use]
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// The duration in nanoseconds.
    #[must_use]
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// The duration as a [`std::time::Duration`], or `None` when it is negative.
    #[must_use]
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.0)
            .ok()
            .map(std::time::Duration::from_nanos)
    }

    /// Parses a duration string like Go's `time.ParseDuration` (`"300ms"`, `"-1.5h"`,
    /// `"2h45m"`; units `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`).
    ///
    /// # Errors
    /// Returns Go's message, e.g. `time: missing unit in duration "10"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || format!("time: invalid duration {}", quote(text));
        let mut s = text;
        let mut neg = false;
        if let Some(rest) = s.strip_prefix('-') {
            neg = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        if s == "0" {
            return Ok(Self(0));
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !s.is_empty() {
            let first = s.as_bytes()[0];
            if !(first == b'.' || first.is_ascii_digit()) {
                return Err(invalid());
            }
            let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
            let mut value: u64 = 0;
            for b in s[..int_len].bytes() {
                if value > LIMIT / 10 {
                    return Err(invalid());
                }
                value = value * 10 + u64::from(b - b'0');
                if value > LIMIT {
                    return Err(invalid());
                }
            }
            s = &s[int_len..];
            let mut fraction: u64 = 0;
            let mut scale: f64 = 1.0;
            let mut post = false;
            if let Some(rest) = s.strip_prefix('.') {
                s = rest;
                let frac_len = s.bytes().take_while(u8::is_ascii_digit).count();
                post = frac_len > 0;
                let mut overflow = false;
                for b in s[..frac_len].bytes() {
                    if overflow {
                        continue;
                    }
                    if fraction > (LIMIT - 1) / 10 {
                        overflow = true;
                        continue;
                    }
                    let next = fraction * 10 + u64::from(b - b'0');
                    if next > LIMIT {
                        overflow = true;
                        continue;
                    }
                    fraction = next;
                    scale *= 10.0;
                }
                s = &s[frac_len..];
            }
            if int_len == 0 && !post {
                return Err(invalid());
            }
            let unit_len = s
                .char_indices()
                .find(|(_, c)| *c == '.' || c.is_ascii_digit())
                .map_or(s.len(), |(i, _)| i);
            if unit_len == 0 {
                return Err(format!("time: missing unit in duration {}", quote(text)));
            }
            let unit_text = &s[..unit_len];
            s = &s[unit_len..];
            let unit = match unit_text {
                "ns" => 1,
                "us" | "\u{b5}s" | "\u{3bc}s" => NANOS_PER_MICRO,
                "ms" => NANOS_PER_MILLI,
                "s" => NANOS_PER_SECOND,
                "m" => NANOS_PER_MINUTE,
                "h" => NANOS_PER_HOUR,
                _ => {
                    return Err(format!(
                        "time: unknown unit {} in duration {}",
                        quote(unit_text),
                        quote(text)
                    ));
                }
            };
            if value > LIMIT / unit {
                return Err(invalid());
            }
            value *= unit;
            if fraction > 0 {
                #[allow(
                    clippy::cast_precision_loss,
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss
                )]
                let extra = (fraction as f64 * (unit as f64 / scale)) as u64;
                value = value.saturating_add(extra);
                if value > LIMIT {
                    return Err(invalid());
                }
            }
            total = total.saturating_add(value);
            if total > LIMIT {
                return Err(invalid());
            }
        }
        if neg {
            // total <= 2^63, so the negation fits.
            let magnitude = i128::from(total);
            return i64::try_from(-magnitude).map(Self).map_err(|_| invalid());
        }
        i64::try_from(total).map(Self).map_err(|_| invalid())
    }
}

impl From<std::time::Duration> for GoDuration {
    /// Saturates at Go's largest duration (about 292 years).
    fn from(d: std::time::Duration) -> Self {
        Self(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for GoDuration {
    /// Formats like Go's `Duration.String`: `10h0m0s`, `1.5s`, `300ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let mut u = self.0.unsigned_abs();
        let mut out = String::new();
        if u < NANOS_PER_SECOND {
            if u == 0 {
                return f.write_str("0s");
            }
            let (prec, unit) = if u < NANOS_PER_MICRO {
                (0, "ns")
            } else if u < NANOS_PER_MILLI {
                (3, "\u{b5}s")
            } else {
                (6, "ms")
            };
            let frac = fmt_frac(&mut u, prec);
            out.push_str(&u.to_string());
            out.push_str(&frac);
            out.push_str(unit);
        } else {
            let frac = fmt_frac(&mut u, 9);
            let seconds = u % 60;
            u /= 60;
            if u > 0 {
                let minutes = u % 60;
                u /= 60;
                if u > 0 {
                    out.push_str(&format!("{u}h"));
                }
                out.push_str(&format!("{minutes}m"));
            }
            out.push_str(&format!("{seconds}{frac}s"));
        }
        if neg {
            f.write_str("-")?;
        }
        f.write_str(&out)
    }
}

/// Splits off the `prec` low decimal digits of `v` as a fraction (`".5"`, trailing zeros and a
/// bare point omitted) and leaves the integer part in `v`.
fn fmt_frac(v: &mut u64, prec: u32) -> String {
    let divisor = 10u64.pow(prec);
    let frac = *v % divisor;
    *v /= divisor;
    if frac == 0 {
        return String::new();
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    format!(".{}", digits.trim_end_matches('0'))
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = GoDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"10h\" or \"1m30s\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<GoDuration, E> {
                GoDuration::parse(v).map_err(E::custom)
            }
        }

        // `deserialize_any`, not `deserialize_str`: like `metav1.Duration`, only a YAML string
        // is a duration; a bare number (`syncPeriod: 10`) is a type error.
        deserializer.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> i64 {
        match GoDuration::parse(s) {
            Ok(d) => d.as_nanos(),
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn parses_like_go_parse_duration() {
        assert_eq!(parse("10h"), 36_000 * 1_000_000_000);
        assert_eq!(parse("1m30s"), 90 * 1_000_000_000);
        assert_eq!(parse("1.5h"), 5_400 * 1_000_000_000);
        assert_eq!(parse("300ms"), 300_000_000);
        assert_eq!(parse("-2us"), -2_000);
        assert_eq!(parse("1µs"), 1_000);
        assert_eq!(parse(".5s"), 500_000_000);
        assert_eq!(parse("0"), 0);
        assert_eq!(parse("+0s"), 0);
        assert_eq!(parse("-9223372036854775808ns"), i64::MIN);
        assert_eq!(parse("9223372036854775807ns"), i64::MAX);
    }

    #[test]
    fn rejects_with_go_messages() {
        assert_eq!(
            GoDuration::parse("10"),
            Err("time: missing unit in duration \"10\"".to_owned())
        );
        assert_eq!(
            GoDuration::parse("1d"),
            Err("time: unknown unit \"d\" in duration \"1d\"".to_owned())
        );
        assert_eq!(
            GoDuration::parse(""),
            Err("time: invalid duration \"\"".to_owned())
        );
        assert_eq!(
            GoDuration::parse("9223372036854775808ns"),
            Err("time: invalid duration \"9223372036854775808ns\"".to_owned())
        );
        assert!(GoDuration::parse("h").is_err());
        assert!(GoDuration::parse(".s").is_err());
        assert!(GoDuration::parse("1h-1m").is_err());
    }

    #[test]
    fn prints_like_go_duration_string() {
        let s = |nanos| GoDuration::from_nanos(nanos).to_string();
        assert_eq!(s(0), "0s");
        assert_eq!(s(36_000 * 1_000_000_000), "10h0m0s");
        assert_eq!(s(90 * 1_000_000_000), "1m30s");
        assert_eq!(s(1_500_000_000), "1.5s");
        assert_eq!(s(300_000_000), "300ms");
        assert_eq!(s(1_500), "1.5µs");
        assert_eq!(s(7), "7ns");
        assert_eq!(s(-15_000_000_000), "-15s");
        assert_eq!(s(i64::MIN), "-2562047h47m16.854775808s");
    }

    #[test]
    fn display_parses_back() {
        for nanos in [
            0,
            1,
            999,
            1_000_001,
            59_999_999_999,
            3_600_000_000_001,
            i64::MAX,
            i64::MIN,
        ] {
            let d = GoDuration::from_nanos(nanos);
            assert_eq!(GoDuration::parse(&d.to_string()), Ok(d), "{d}");
        }
    }
}
