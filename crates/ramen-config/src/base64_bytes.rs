//! Serde glue for Go `[]byte` fields, which `encoding/json` writes as standard padded base64.

use std::fmt;

use base64::Engine as _;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::GeneralPurposeConfig;
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Go's `base64.StdEncoding`: padded, and lenient about the unused bits of the last symbol.
const GO_STD_ENCODING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Writes the bytes as a base64 string.
pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&GO_STD_ENCODING.encode(bytes))
}

/// Reads a base64 string; like Go, line breaks inside it are ignored.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    struct Base64Visitor;

    impl Visitor<'_> for Base64Visitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a base64 string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            let compact: String = v.chars().filter(|c| *c != '\n' && *c != '\r').collect();
            GO_STD_ENCODING
                .decode(compact.as_bytes())
                .map_err(|e| E::custom(format_args!("illegal base64 data: {e}")))
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
    }

    // Only a string is base64; a number or mapping is a type error, as for Go's `[]byte`.
    deserializer.deserialize_any(Base64Visitor)
}
