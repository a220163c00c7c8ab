//! The leak check: no object the operator wrote and no line of its log carries a Secret value, in clear
//! or base64-encoded (as a Secret's `data` holds it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// What a leak check looks for: every form a secret value can take in JSON or a log.
#[derive(Debug, Clone)]
pub struct Needles {
    forms: Vec<String>,
}

impl Needles {
    /// The clear and base64 forms of each value (values shorter than 8 bytes would match by chance
    /// and are refused by the harness' own choice of values, not here).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Needles {
        let mut forms = Vec::new();
        for value in values {
            forms.push(value.to_owned());
            let encoded = STANDARD.encode(value);
            // Padding depends on what follows the value in a longer encoding; match the stable prefix.
            forms.push(encoded.trim_end_matches('=').to_owned());
        }
        Needles { forms }
    }

    /// The first form found in `text`, if any.
    pub fn find_in(&self, text: &str) -> Option<&str> {
        self.forms
            .iter()
            .find(|form| text.contains(form.as_str()))
            .map(String::as_str)
    }
}

/// Where a secret value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// What held it (`DRPolicy x`, `operator log line 12`, …).
    pub place: String,
}

/// Checks `objects` (a description and the object's JSON each) and the operator `log`.
pub fn check<'a>(
    needles: &Needles,
    objects: impl IntoIterator<Item = (String, &'a str)>,
    log: &str,
) -> Vec<Leak> {
    let mut leaks: Vec<Leak> = objects
        .into_iter()
        .filter(|(_, json)| needles.find_in(json).is_some())
        .map(|(place, _)| Leak { place })
        .collect();
    for (number, line) in log.lines().enumerate() {
        if needles.find_in(line).is_some() {
            leaks.push(Leak {
                place: format!("operator log line {}", number + 1),
            });
        }
    }
    leaks
}

/// Where `needles` appear in what the operator of a run wrote (`raw`) and in its `log`: the places.
pub fn places(
    needles: &Needles,
    raw: &crate::state::Raw,
    log: &str,
) -> anyhow::Result<Vec<String>> {
    let objects = raw.written_objects()?;
    let leaks = check(
        needles,
        objects.iter().map(|(p, j)| (p.clone(), j.as_str())),
        log,
    );
    Ok(leaks.into_iter().map(|l| l.place).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_clear_and_base64_values_and_nothing_else() {
        let needles = Needles::new(["s3-secret-value-123"]);
        let encoded = STANDARD.encode("s3-secret-value-123");
        let objects = [
            ("clean".to_owned(), r#"{"a":"b"}"#),
            ("clear".to_owned(), r#"{"a":"s3-secret-value-123"}"#),
            ("encoded".to_owned(), encoded.as_str()),
        ];
        let leaks = check(&needles, objects, "ok\nleaked s3-secret-value-123\n");
        let places: Vec<&str> = leaks.iter().map(|l| l.place.as_str()).collect();
        assert_eq!(places, ["clear", "encoded", "operator log line 2"]);
    }
}
