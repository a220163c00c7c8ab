//! String `format`s kube-apiserver checks (kube-openapi's `strfmt.Default` registry).
//! Formats it does not know are accepted, as kube does.

use std::sync::LazyLock;

use regex::Regex;

static TIME_OF_DAY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$").ok()
});
static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$").ok()
});
static BASE64: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$").ok()
});

/// Whether `value` is a valid instance of `format`.
pub(crate) fn check_format(format: &str, value: &str) -> bool {
    match format {
        "date-time" => is_date_time(value),
        "date" => is_date(value),
        "byte" => matches_opt(&BASE64, value),
        "uuid" => matches_opt(&UUID, value),
        "ipv4" => value.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => value.parse::<std::net::Ipv6Addr>().is_ok(),
        _ => true,
    }
}

fn matches_opt(re: &LazyLock<Option<Regex>>, value: &str) -> bool {
    re.as_ref().is_none_or(|re| re.is_match(value))
}

/// `strfmt.IsDate`: `time.Parse("2006-01-02", s)`.
fn is_date(value: &str) -> bool {
    value.len() == 10 && value.parse::<jiff::civil::Date>().is_ok()
}

/// `strfmt.IsDateTime`: a date, `t`, then `hh:mm:ss[.frac](z|±hh:mm)`, case-insensitive.
fn is_date_time(value: &str) -> bool {
    if value.len() < 4 {
        return false;
    }
    let lower = value.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let Some(re) = TIME_OF_DAY.as_ref() else {
        return true;
    };
    let Some(caps) = re.captures(parts[1]) else {
        return false;
    };
    let field = |i: usize| {
        caps.get(i)
            .and_then(|m| m.as_str().parse::<u32>().ok())
            .unwrap_or(99)
    };
    field(1) <= 23 && field(2) <= 59 && field(3) <= 59
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_accepts_rfc3339_with_zone_and_fraction() {
        assert!(check_format("date-time", "2024-05-02T10:11:12Z"));
        assert!(check_format("date-time", "2024-05-02T10:11:12.123+02:00"));
    }

    #[test]
    fn date_time_rejects_missing_zone_bad_month_and_bad_hour() {
        assert!(!check_format("date-time", "2024-05-02T10:11:12"));
        assert!(!check_format("date-time", "2024-13-02T10:11:12Z"));
        assert!(!check_format("date-time", "2024-05-02T24:11:12Z"));
        assert!(!check_format("date-time", "yesterday"));
    }

    #[test]
    fn unknown_format_is_accepted() {
        assert!(check_format("int32", "anything"));
    }
}
