//! A single pass over a JSON object's top level, for the generated classifiers: it finds the
//! few fields that tell sibling kinds apart, borrowing their raw text and skipping every other
//! value without building it, so telling `TRANSACTION.SUCCESS#PARKING` from `#PARTNER` costs a
//! fraction of the typed parse that follows, and a field of the wrong type is named.
//!
//! The classifiers read the fields through a [`Source`]: the plaintext itself, or the SDK's
//! receiver, which records them during the typed parse of the event_type's default kind so
//! that kind needs no separate pass.
//!
//! ```
//! use wechatpay_notify::probe::top_level;
//!
//! let json = br#"{"sp_mchid":"1900000100","amount":{"total":1},"trade_scene":"PARKING"}"#;
//! let [scene, sub] = top_level(json, ["trade_scene", "sub_mchid"]).unwrap();
//! assert!(scene.equals("PARKING").unwrap());
//! assert!(!sub.is_present());
//! ```

use std::borrow::Cow;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

mod record;

pub(crate) use record::recording;

/// A top-level field as found by [`top_level`]: its raw JSON text, or absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    name: &'static str,
    raw: Option<&'a [u8]>,
}

impl<'a> Field<'a> {
    /// `true` when the field is present and not `null`.
    pub fn is_present(&self) -> bool {
        self.raw.is_some_and(|r| r != b"null")
    }

    /// `true` when the field is a string equal to `value`; `false` when it is absent or
    /// `null`.
    ///
    /// # Errors
    /// [`ProbeError`] naming the field when it is present but not a string.
    pub fn equals(&self, value: &str) -> Result<bool, ProbeError> {
        match self.raw {
            None | Some(b"null") => Ok(false),
            Some(raw) => Ok(self.as_str(raw)? == value),
        }
    }

    fn as_str(&self, raw: &'a [u8]) -> Result<Cow<'a, str>, ProbeError> {
        let wrong = || ProbeError {
            path: Some(self.name.to_owned()),
            message: format!("invalid type: expected a string at {}", self.name),
        };
        let inner = raw
            .strip_prefix(b"\"")
            .and_then(|r| r.strip_suffix(b"\""))
            .ok_or_else(wrong)?;
        if inner.contains(&b'\\') {
            serde_json::from_slice::<String>(raw)
                .map(Cow::Owned)
                .map_err(|_| wrong())
        } else {
            std::str::from_utf8(inner)
                .map(Cow::Borrowed)
                .map_err(|_| wrong())
        }
    }
}

/// Why a payload could not be probed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProbeError {
    /// The field at fault, when the structure was fine but a field had the wrong type.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Finds the fields `names` at the top level of the JSON object `json`, in one pass that
/// borrows each wanted value's raw text and skips the rest without building it.
///
/// The first occurrence of a name counts (the typed parse rejects duplicates of the fields it
/// knows).
///
/// # Errors
/// [`ProbeError`] when `json` is not a JSON object.
pub fn top_level<'a, const N: usize>(
    json: &'a [u8],
    names: [&'static str; N],
) -> Result<[Field<'a>; N], ProbeError> {
    let malformed = |e: serde_json::Error| ProbeError {
        path: None,
        message: e.to_string(),
    };
    // One UTF-8 check for the whole text lets serde_json borrow keys and values unchecked.
    let text = std::str::from_utf8(json).map_err(|e| ProbeError {
        path: None,
        message: format!("not UTF-8: {e}"),
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let found =
        serde::Deserializer::deserialize_map(&mut de, TopLevel { names }).map_err(malformed)?;
    de.end().map_err(malformed)?;
    Ok(found)
}

/// Where a generated classifier reads the top-level fields its rules compare: the plaintext
/// itself (`&[u8]`: one [`top_level`] pass before the typed parse), or the SDK's receiver,
/// which parses the plaintext as the event_type's likely kind and records the fields in the
/// same pass, so a notification of that kind is read once.
pub trait Source<'a, K> {
    /// The fields `names` at the plaintext's top level, as [`top_level`] finds them. `likely`
    /// is the kind most notifications of the event_type are (its default kind, if it has one).
    ///
    /// # Errors
    /// As [`top_level`].
    fn top_level<const N: usize>(
        &mut self,
        likely: Option<K>,
        names: [&'static str; N],
    ) -> Result<[Field<'a>; N], ProbeError>;
}

impl<'a, K> Source<'a, K> for &'a [u8] {
    fn top_level<const N: usize>(
        &mut self,
        _likely: Option<K>,
        names: [&'static str; N],
    ) -> Result<[Field<'a>; N], ProbeError> {
        top_level(self, names)
    }
}

struct TopLevel<const N: usize> {
    names: [&'static str; N],
}

impl<'de, const N: usize> Visitor<'de> for TopLevel<N> {
    type Value = [Field<'de>; N];

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = self.names.map(|name| Field { name, raw: None });
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match found.iter_mut().find(|f| f.raw.is_none() && f.name == key) {
                Some(field) => {
                    let raw: &'de RawValue = map.next_value()?;
                    field.raw = Some(raw.get().as_bytes());
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// A key, borrowed from the text unless it has escapes (`Cow<str>` alone always copies).
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_fields_only() {
        let json = br#" { "a" : {"trade_scene":"X","b":[1,{"c":"]"}]}, "trade_scene" : "PARKING" , "n": null, "k": 12 } "#;
        let [scene, n, k, missing] = top_level(json, ["trade_scene", "n", "k", "zz"]).unwrap();
        assert!(scene.equals("PARKING").unwrap());
        assert!(!n.is_present());
        assert!(!n.equals("x").unwrap());
        assert!(k.is_present());
        assert_eq!(k.equals("12").unwrap_err().path.as_deref(), Some("k"));
        assert!(!missing.is_present());
    }

    #[test]
    fn escapes_in_keys_and_values() {
        let json = br#"{"trade\u005fscene":"PARK\u0049NG"}"#;
        let [scene] = top_level(json, ["trade_scene"]).unwrap();
        assert!(scene.equals("PARKING").unwrap());
    }

    #[test]
    fn malformed_structures_are_refused() {
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":[1}",
            b"{\"a\":\"x",
            b"{\"a\":1} x",
        ] {
            assert!(
                top_level(bad, ["a"]).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(top_level(b"{}", ["a"]).is_ok());
        // Skipped values are walked without recursion: deep nesting cannot overflow the stack.
        let deep = format!("{{\"b\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(top_level(deep.as_bytes(), ["a"]).is_ok());
    }
}
