//! The syntax Kubernetes requires of namespace and object names (DNS-1123 labels and subdomains),
//! checked before a name is put into an object or a template we build.
//!
//! A name that fails these checks can never name an existing namespace or object, so refusing it
//! costs nothing; a name that passes them holds only `a-z`, `0-9`, `-` and `.`, none of which can
//! open, close or quote anything in an OCM template.
//!
//! The checks live in `go-text`, below this crate, so that `ramen-config` (which must not depend
//! on this crate and its kube types) checks config values with the very same rules; this module
//! keeps them where the hub's other names are.

pub use go_text::{MAX_LABEL_LENGTH, MAX_SUBDOMAIN_LENGTH, is_dns1123_label, is_dns1123_subdomain};
