//! Text rules that Go code (Ramen, kube-apiserver) applies and that our crates must apply the
//! same way: how Go quotes a string ([`quote`], Go's `strconv.Quote` / `%q`) and which strings
//! Kubernetes accepts as names ([`is_dns1123_label`], [`is_dns1123_subdomain`], apimachinery's
//! `validation.IsDNS1123Label` / `IsDNS1123Subdomain`).
//!
//! It has no dependencies, so the lowest crates of the workspace (`crd-schema`, `ramen-config`,
//! `drpolicy-api`) share one copy of each rule without pulling anything into each other.
//!
//! ```
//! assert_eq!(go_text::quote("a\"b\n"), r#""a\"b\n""#);
//! assert!(go_text::is_dns1123_label("ramen-system"));
//! assert!(!go_text::is_dns1123_subdomain("Ramen_System"));
//! ```
#![warn(missing_docs)]

mod dns1123;
mod quote;

pub use dns1123::{MAX_LABEL_LENGTH, MAX_SUBDOMAIN_LENGTH, is_dns1123_label, is_dns1123_subdomain};
pub use quote::quote;
