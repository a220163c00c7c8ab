//! The syntax Kubernetes requires of namespace and object names (DNS-1123 labels and subdomains),
//! checked before a name is put into an object or a template we build.
//!
//! A name that fails these checks can never name an existing namespace or object, so refusing it
//! costs nothing; a name that passes them holds only `a-z`, `0-9`, `-` and `.`, none of which can
//! open, close or quote anything in an OCM template.

/// Longest DNS-1123 label (a namespace name).
pub const MAX_LABEL_LENGTH: usize = 63;
/// Longest DNS-1123 subdomain (most object names, a Secret's among them).
pub const MAX_SUBDOMAIN_LENGTH: usize = 253;

fn is_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

/// One `.`-separated part of a subdomain: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 bytes.
fn is_label_syntax(part: &str) -> bool {
    let bytes = part.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            bytes.len() <= MAX_LABEL_LENGTH
                && is_alphanumeric(first)
                && is_alphanumeric(last)
                && bytes.iter().all(|&b| is_alphanumeric(b) || b == b'-')
        }
        _ => false,
    }
}

/// Whether `name` is a DNS-1123 label, as a namespace name must be: lowercase letters, digits and
/// `-`, starting and ending with a letter or digit, at most 63 characters.
pub fn is_dns1123_label(name: &str) -> bool {
    is_label_syntax(name)
}

/// Whether `name` is a DNS-1123 subdomain, as a Secret's (and most objects') name must be: labels
/// joined by `.`, at most 253 characters.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_SUBDOMAIN_LENGTH && name.split('.').all(is_label_syntax)
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
        ] {
            assert!(is_dns1123_label(good), "{good}");
        }
        let too_long = "a".repeat(64);
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a.b",
            "a_b",
            "a b",
            "ä",
            "x\" \"{{hub",
            too_long.as_str(),
        ] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
        assert!(is_dns1123_label(&"a".repeat(63)));
    }

    #[test]
    fn subdomains_accept_dotted_names_up_to_253_characters() {
        for good in ["ramen-s3-secret-dr1", "a.b.c", "odr.v4-14", "0"] {
            assert!(is_dns1123_subdomain(good), "{good}");
        }
        let long_ok = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(long_ok.len(), 253);
        assert!(is_dns1123_subdomain(&long_ok));
        let too_long = format!("{long_ok}e");
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
            too_long.as_str(),
        ] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }
}
