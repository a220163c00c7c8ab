//! Texts the operator writes into API objects, kept within the limits the API server enforces
//! whatever the number of DRPlacementControls, clusters or secrets they mention: condition messages
//! (32768 bytes, the CRD's `maxLength`), Event notes (1 KiB, events.k8s.io validation), and lists
//! shortened to their first entries plus "… and N more".

/// The CRD's `maxLength` of `status.conditions[].message`.
pub(crate) const CONDITION_MESSAGE_MAX: usize = 32768;

/// events.k8s.io/v1 rejects notes longer than 1 KiB.
pub(crate) const EVENT_NOTE_MAX: usize = 1024;

/// Entries a message lists before "… and N more".
pub(crate) const LISTED_MAX: usize = 10;

/// `items` joined with `separator`, at most [`LISTED_MAX`] of them, then "… and N more".
pub(crate) fn list<S: AsRef<str>>(items: &[S], separator: &str) -> String {
    let shown: Vec<&str> = items.iter().take(LISTED_MAX).map(AsRef::as_ref).collect();
    let mut text = shown.join(separator);
    if items.len() > LISTED_MAX {
        text.push_str(&format!(
            "{separator}… and {} more",
            items.len() - LISTED_MAX
        ));
    }
    text
}

/// `text` within `max` bytes: cut at a character boundary and marked with " …" when it was longer.
pub(crate) fn cut(text: String, max: usize) -> String {
    const MARK: &str = " …";
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub(MARK.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_at_a_character_boundary_within_the_byte_limit() {
        let note = "é".repeat(600); // 1200 bytes
        let cut_note = cut(note.clone(), 1024);
        assert!(cut_note.len() <= 1024, "{}", cut_note.len());
        assert!(cut_note.ends_with(" …"));
        assert_eq!(cut(note.clone(), 1023).len(), 1022);
        assert_eq!(cut("short".into(), 1024), "short");
        assert_eq!(cut(note.clone(), 1200), note);
    }

    #[test]
    fn long_lists_name_the_first_entries_and_count_the_rest() {
        let items: Vec<String> = (0..1000).map(|i| format!("ns/drpc-{i}")).collect();
        let text = list(&items, ", ");
        assert!(text.starts_with("ns/drpc-0, ns/drpc-1, "), "{text}");
        assert!(text.ends_with("ns/drpc-9, … and 990 more"), "{text}");
        assert_eq!(list(&items[..3], ", "), "ns/drpc-0, ns/drpc-1, ns/drpc-2");
        assert_eq!(list(&items[..10], " "), items[..10].join(" "));
    }
}
