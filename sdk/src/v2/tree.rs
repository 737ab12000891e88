//! From flat XML fields to the typed value: `_$n` families gathered into lists, JSON text
//! parsed, and a serde deserializer over the result.
//!
//! XML text has no types, so the deserializer gives each target what it asks for: a string
//! to string and enum fields, an integer to [`Int`](crate::types::Int) fields (unquoted: text
//! is how APIv2 sends every integer, so it is no `format` violation here), a list to `_$n`
//! families. Empty elements count as absent (the sign leaves them out too).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};

use crate::catalogue::V2Spec;

/// A value of the tree.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Json(serde_json::Value),
    List(Vec<BTreeMap<String, Node>>),
}

/// Why the fields could not be gathered: a family member given twice (numbered and
/// unnumbered), or a JSON field whose text is not JSON.
#[derive(Debug)]
pub(crate) struct TreeFault {
    pub path: String,
    pub message: String,
    pub duplicate: bool,
}

/// Gathers `fields` (name, text) into the typed value's shape.
pub(crate) fn build<'a>(
    spec: &V2Spec,
    fields: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<BTreeMap<String, Node>, TreeFault> {
    let mut top: BTreeMap<String, Node> = BTreeMap::new();
    // family field → index → member → text
    let mut families: BTreeMap<&str, BTreeMap<usize, BTreeMap<String, Node>>> = BTreeMap::new();
    for (name, text) in fields {
        if text.is_empty() {
            continue;
        }
        if let Some((family, member, index)) = family_member(spec, name) {
            let slot = families
                .entry(family)
                .or_default()
                .entry(index)
                .or_default();
            if slot.contains_key(member) {
                return Err(TreeFault {
                    path: name.to_owned(),
                    message: format!(
                        "`{member}` is given both with and without its index 0 (`{name}`)"
                    ),
                    duplicate: true,
                });
            }
            slot.insert(member.to_owned(), Node::Text(text.to_owned()));
            continue;
        }
        if spec.json.contains(&name) {
            let value = serde_json::from_str(text).map_err(|e| TreeFault {
                path: name.to_owned(),
                message: format!("the text of <{name}> is not JSON: {e}"),
                duplicate: false,
            })?;
            top.insert(name.to_owned(), Node::Json(value));
            continue;
        }
        top.insert(name.to_owned(), Node::Text(text.to_owned()));
    }
    for (family, items) in families {
        top.insert(family.to_owned(), Node::List(items.into_values().collect()));
    }
    Ok(top)
}

/// The family, member and index an element name belongs to, if any: `coupon_id_3` →
/// (`coupons`, `coupon_id`, 3); an unnumbered member (`coupon_id`) is index 0.
fn family_member<'s>(spec: &'s V2Spec, name: &str) -> Option<(&'s str, &'s str, usize)> {
    for family in spec.repeated {
        for &member in family.members {
            if name == member && family.unnumbered.contains(&member) {
                return Some((family.field, member, 0));
            }
            let Some(index) = name
                .strip_prefix(member)
                .and_then(|rest| rest.strip_prefix('_'))
            else {
                continue;
            };
            let canonical = !index.is_empty()
                && index.len() <= 3
                && index.bytes().all(|b| b.is_ascii_digit())
                && (index == "0" || !index.starts_with('0'));
            if canonical {
                return Some((family.field, member, index.parse().ok()?));
            }
        }
    }
    None
}

/// The deserializer's error: a message (serde's `missing field …`, `invalid type …`).
#[derive(Debug)]
pub(crate) struct TreeError(pub String);

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TreeError {}

impl de::Error for TreeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TreeError(msg.to_string())
    }
}

/// A deserializer over a gathered map.
pub(crate) fn map_deserializer<'de>(
    map: BTreeMap<String, Node>,
) -> MapDeserializer<'de, std::collections::btree_map::IntoIter<String, Node>, TreeError> {
    MapDeserializer::new(map.into_iter())
}

impl<'de> IntoDeserializer<'de, TreeError> for Node {
    type Deserializer = Node;

    fn into_deserializer(self) -> Node {
        self
    }
}

fn json_error(e: serde_json::Error) -> TreeError {
    let message = e.to_string();
    TreeError(match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    })
}

impl<'de> de::Deserializer<'de> for Node {
    type Error = TreeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TreeError> {
        match self {
            Node::Text(s) => {
                let digits = s.strip_prefix('-').unwrap_or(&s);
                let integer = !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits == "0" || !digits.starts_with('0'));
                match s.parse::<i64>() {
                    Ok(n) if integer => visitor.visit_i64(n),
                    _ => visitor.visit_string(s),
                }
            }
            Node::Json(v) => de::Deserializer::deserialize_any(v, visitor).map_err(json_error),
            Node::List(items) => {
                let seq = SeqDeserializer::new(items.into_iter().map(map_deserializer));
                visitor.visit_seq(seq)
            }
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TreeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TreeError> {
        match self {
            Node::Text(s) => visitor.visit_string(s),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TreeError> {
        match self {
            Node::Text(s) if s == "true" => visitor.visit_bool(true),
            Node::Text(s) if s == "false" => visitor.visit_bool(false),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TreeError> {
        match self {
            Node::Text(s) => match s.parse::<f64>() {
                Ok(n) if n.is_finite() => visitor.visit_f64(n),
                _ => visitor.visit_string(s),
            },
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TreeError> {
        match self {
            Node::Json(serde_json::Value::Null) => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, TreeError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 char bytes byte_buf unit unit_struct
        seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{V2Encryption, V2Recognise, V2Repeated, V2ReplyStyle, V2Sign};

    static SPEC: V2Spec = V2Spec {
        sign: V2Sign::Absent,
        encryption: V2Encryption::None,
        recognise: V2Recognise::AnyPresent {
            fields: &["x"],
            priority: 0,
        },
        reply: V2ReplyStyle::ReturnCode,
        envelope: &[],
        repeated: &[V2Repeated {
            field: "coupons",
            members: &["coupon_id", "coupon_fee"],
            unnumbered: &["coupon_id"],
        }],
        json: &["detail"],
        merchant: &[],
        state: None,
    };

    #[test]
    fn families_unnumbered_json_and_empty() {
        let fields = [
            ("coupon_fee", "10"),
            ("coupon_id", "A"),
            ("coupon_fee_0", "4"),
            ("coupon_id_1", "B"),
            ("coupon_fee_01", "9"),
            ("detail", "{\"n\":1}"),
            ("empty", ""),
        ];
        let tree = build(&SPEC, fields.iter().copied()).unwrap();
        let text = |s: &str| Node::Text(s.to_owned());
        assert_eq!(tree["coupon_fee"], text("10"));
        assert_eq!(tree["coupon_fee_01"], text("9"));
        assert_eq!(tree["detail"], Node::Json(serde_json::json!({"n": 1})));
        assert!(!tree.contains_key("empty"));
        let Node::List(items) = &tree["coupons"] else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["coupon_id"], text("A"));
        assert_eq!(items[0]["coupon_fee"], text("4"));
        assert_eq!(items[1]["coupon_id"], text("B"));
    }

    #[test]
    fn numbered_and_unnumbered_together_is_a_duplicate() {
        let fields = [("coupon_id", "A"), ("coupon_id_0", "B")];
        let e = build(&SPEC, fields.iter().copied()).unwrap_err();
        assert!(e.duplicate);
        assert_eq!(e.path, "coupon_id_0");
    }

    #[test]
    fn integers_and_strings() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct T {
            n: crate::types::Int,
            s: String,
            o: Option<crate::types::Int>,
        }
        let fields = [("n", "1x"), ("s", "0012")];
        let tree = build(&SPEC, fields.iter().copied()).unwrap();
        assert!(<T as serde::Deserialize>::deserialize(map_deserializer(tree)).is_err());
        // A leading zero is not canonical: parsed, but flagged as a `format` violation.
        let fields = [("n", "0012"), ("s", "0012")];
        let tree = build(&SPEC, fields.iter().copied()).unwrap();
        let t = <T as serde::Deserialize>::deserialize(map_deserializer(tree)).unwrap();
        assert!(t.n.was_quoted());
        let fields = [("n", "12"), ("s", "0012"), ("o", "-3")];
        let tree = build(&SPEC, fields.iter().copied()).unwrap();
        let t = <T as serde::Deserialize>::deserialize(map_deserializer(tree)).unwrap();
        assert_eq!(t.n, 12);
        assert!(!t.n.was_quoted());
        assert_eq!(t.s, "0012");
        assert_eq!(t.o, Some(crate::types::Int::new(-3)));
    }
}
