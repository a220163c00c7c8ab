//! Field paths in kube's printed form (`spec.items[0].name`).

/// `parent.key`, or `key` at the root.
pub(crate) fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[i]`.
pub(crate) fn index_path(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// `parent[key]`: a map entry, as `field.Path.Key` prints it.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    format!("{parent}[{key}]")
}
