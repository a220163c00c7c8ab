//! The syntax Kubernetes requires of namespace and object names: DNS-1123 labels and subdomains,
//! as apimachinery's `validation.IsDNS1123Label` and `IsDNS1123Subdomain` check them.

/// Longest DNS-1123 label (a namespace name).
pub const MAX_LABEL_LENGTH: usize = 63;
/// Longest DNS-1123 subdomain (most object names, a Secret's among them).
pub const MAX_SUBDOMAIN_LENGTH: usize = 253;

/// The bytes a label may start and end with.
fn is_lowercase_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

/// Whether `name` is a DNS-1123 label, as a namespace name must be: lowercase letters, digits and
/// `-` (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`), starting and ending with a letter or digit, at most 63
/// characters.
pub fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    let ends_ok = |end: Option<&u8>| end.is_some_and(|&b| is_lowercase_alphanumeric(b));
    bytes.len() <= MAX_LABEL_LENGTH
        && ends_ok(bytes.first())
        && ends_ok(bytes.last())
        && bytes
            .iter()
            .all(|&b| is_lowercase_alphanumeric(b) || b == b'-')
}

/// Whether `name` is a DNS-1123 subdomain, as a Secret's (and most objects') name must be: labels
/// joined by `.`, at most 253 characters.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    // The empty name splits into one empty part, which is no label.
    name.len() <= MAX_SUBDOMAIN_LENGTH && name.split('.').all(is_dns1123_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_accept_namespace_names_and_refuse_the_rest() {
        for good in [
            "ramen-system",
            "openshift-dr-ops",
            "velero",
            "a",
            "123",
            "x-1",
            "a--b",
        ] {
            assert!(is_dns1123_label(good), "{good}");
        }
        let too_long = "a".repeat(64);
        for bad in [
            "",
            "-a",
            "a-",
            "-",
            "A",
            "a.b",
            "a_b",
            "a b",
            "ä",
            "a\nb",
            "x\" \"{{hub",
            too_long.as_str(),
        ] {
            assert!(!is_dns1123_label(bad), "{bad:?}");
        }
        assert!(is_dns1123_label(&"a".repeat(63)));
    }

    #[test]
    fn subdomains_accept_dotted_names_up_to_253_characters() {
        for good in [
            "ramen-s3-secret-dr1",
            "a.b.c",
            "odr.v4-14",
            "0",
            "hub.ramendr.openshift.io",
        ] {
            assert!(is_dns1123_subdomain(good), "{good}");
        }
        let long_ok = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(long_ok.len(), MAX_SUBDOMAIN_LENGTH);
        assert!(is_dns1123_subdomain(&long_ok));
        let too_long = format!("{long_ok}e");
        let long_part = format!("{}.b", "a".repeat(64));
        for bad in [
            "",
            ".",
            "a..b",
            "a.",
            ".a",
            "a.-b",
            "A.b",
            "a/b",
            "{{",
            "}}",
            too_long.as_str(),
            long_part.as_str(),
        ] {
            assert!(!is_dns1123_subdomain(bad), "{bad:?}");
        }
    }
}
