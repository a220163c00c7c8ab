//! `spec.schedulingInterval` → seconds, as the `ramen_policy_schedule_interval_seconds` gauge reports it.

use thiserror::Error;

/// A scheduling interval the CRD pattern `^(|\d+[mhd])$` would reject.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "invalid scheduling interval {interval:?}: expected digits followed by m, h or d, or empty"
)]
pub struct IntervalError {
    /// The rejected value.
    pub interval: String,
}

/// Seconds of a scheduling interval: `""` → 0, `<n>m` → n·60, `<n>h` → n·3600, `<n>d` → n·86400.
///
/// Unlike Ramen (Go's `time.ParseDuration` overflows past ~292 years and the gauge then reads 0), every
/// value the CRD pattern accepts converts, however many digits it has: the result is an `f64`, which is
/// what the gauge holds anyway, and saturates at `+Inf` beyond ~10^308.
///
/// ```
/// use drpolicy_validator::scheduling_interval_seconds;
/// assert_eq!(scheduling_interval_seconds("5m"), Ok(300.0));
/// assert_eq!(scheduling_interval_seconds(""), Ok(0.0));
/// assert!(scheduling_interval_seconds("3s").is_err());
/// ```
pub fn scheduling_interval_seconds(interval: &str) -> Result<f64, IntervalError> {
    if interval.is_empty() {
        return Ok(0.0);
    }
    let invalid = || IntervalError {
        interval: interval.to_owned(),
    };
    let unit = interval.chars().last().ok_or_else(invalid)?;
    let digits = &interval[..interval.len() - unit.len_utf8()];
    let factor = match unit {
        'm' => 60.0,
        'h' => 3600.0,
        'd' => 86400.0,
        _ => return Err(invalid()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let count: f64 = digits.parse().map_err(|_| invalid())?;
    Ok(count * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramen_examples_convert_like_ramen() {
        assert_eq!(scheduling_interval_seconds("00m"), Ok(0.0));
        assert_eq!(scheduling_interval_seconds("1m"), Ok(60.0));
        assert_eq!(scheduling_interval_seconds("2h"), Ok(7200.0));
        assert_eq!(
            scheduling_interval_seconds("9999999d"),
            Ok(863_999_913_600.0)
        );
    }

    #[test]
    fn huge_minute_values_that_overflow_go_durations_still_convert() {
        assert_eq!(
            scheduling_interval_seconds("99999999999999999999m"),
            Ok(99_999_999_999_999_999_999.0 * 60.0)
        );
        let absurd = format!("{}d", "9".repeat(400));
        assert_eq!(scheduling_interval_seconds(&absurd), Ok(f64::INFINITY));
    }

    #[test]
    fn values_the_pattern_rejects_are_errors() {
        for bad in ["3s", "0", "m", "1.5h", "-1m", "1mm", " 1m", "1m ", "١m"] {
            assert!(scheduling_interval_seconds(bad).is_err(), "{bad:?}");
        }
    }
}
