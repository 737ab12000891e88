//! Value types shared by the generated notification types.
//!
//! - [`Int`]: a 64-bit integer that also accepts a JSON string of digits (some published
//!   payloads quote integers), remembering which form it came in.
//! - [`OpenEnum`]: what every generated enum offers. WeChat Pay adds enum values over time, so
//!   an unknown value is kept as `Unknown("…")`, never rejected.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A 64-bit integer field (amounts in fen, counts, durations).
///
/// Accepts a JSON number or a JSON string of decimal digits; the string form is reported by
/// validation as a `format` violation and serialized back as a string, so a round trip keeps
/// the payload as it was.
///
/// ```
/// use wechatpay_notify::types::Int;
///
/// let n: Int = serde_json::from_str("528800").unwrap();
/// assert_eq!(n, 528800);
/// let quoted: Int = serde_json::from_str("\"528800\"").unwrap();
/// assert_eq!(quoted.get(), 528800);
/// assert!(quoted.was_quoted());
/// assert!(serde_json::from_str::<Int>("\"52.8\"").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Int {
    value: i64,
    quoted: bool,
}

impl Int {
    /// An integer as a JSON number.
    pub const fn new(value: i64) -> Self {
        Int {
            value,
            quoted: false,
        }
    }

    /// The value.
    pub const fn get(self) -> i64 {
        self.value
    }

    /// `true` when the payload sent it as a JSON string.
    pub const fn was_quoted(self) -> bool {
        self.quoted
    }
}

impl From<i64> for Int {
    fn from(value: i64) -> Self {
        Int::new(value)
    }
}

impl From<Int> for i64 {
    fn from(value: Int) -> Self {
        value.value
    }
}

impl PartialEq<i64> for Int {
    fn eq(&self, other: &i64) -> bool {
        self.value == *other
    }
}

impl fmt::Debug for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

impl Serialize for Int {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.quoted {
            s.collect_str(&self.value)
        } else {
            s.serialize_i64(self.value)
        }
    }
}

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int::new(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v)
                    .map(Int::new)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                let digits = v.strip_prefix('-').unwrap_or(v);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::invalid_value(de::Unexpected::Str(v), &self));
                }
                v.parse::<i64>()
                    .map(|value| Int {
                        value,
                        quoted: true,
                    })
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(IntVisitor)
    }
}

impl schemars::JsonSchema for Int {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Int".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // Strictly, an integer; the string form is tolerated by the parser but is a violation.
        schemars::json_schema!({ "type": "integer" })
    }
}

/// What every generated enum offers: its known values, and the raw text of an unknown one.
///
/// Generated enums are `#[non_exhaustive]` with an `Unknown(String)` variant; their
/// `FromStr` is infallible and agrees with their `Deserialize`; `try_parse` is the strict
/// form.
pub trait OpenEnum: Sized + 'static {
    /// The wire values the catalogue lists, in catalogue order.
    const VALUES: &'static [&'static str];

    /// The value for `raw`: a known variant, or `Unknown(raw)`.
    fn parse(raw: &str) -> Self;

    /// The wire text of the value.
    fn as_str(&self) -> &str;

    /// `Some(raw)` for a value the catalogue does not list.
    fn unknown_value(&self) -> Option<&str>;

    /// The known variant for `raw`, or an error naming the value.
    ///
    /// # Errors
    /// [`UnknownEnumValue`] when `raw` is not among [`OpenEnum::VALUES`].
    fn try_parse(raw: &str) -> Result<Self, UnknownEnumValue> {
        let v = Self::parse(raw);
        match v.unknown_value() {
            None => Ok(v),
            Some(_) => Err(UnknownEnumValue {
                value: raw.to_owned(),
                expected: Self::VALUES,
            }),
        }
    }
}

/// A value outside an enum's known set, from [`OpenEnum::try_parse`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {value:?}, expected one of {}", expected.join(", "))]
pub struct UnknownEnumValue {
    /// The value received.
    pub value: String,
    /// The values the catalogue lists.
    pub expected: &'static [&'static str],
}

/// Deserializes an [`OpenEnum`] from a JSON string; used by the generated `Deserialize` impls.
///
/// # Errors
/// When the JSON value is not a string.
pub fn deserialize_open_enum<'de, D, E>(d: D) -> Result<E, D::Error>
where
    D: Deserializer<'de>,
    E: OpenEnum,
{
    struct EnumVisitor<E>(std::marker::PhantomData<E>);
    impl<E: OpenEnum> Visitor<'_> for EnumVisitor<E> {
        type Value = E;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<Er: de::Error>(self, v: &str) -> Result<E, Er> {
            Ok(E::parse(v))
        }
    }
    d.deserialize_str(EnumVisitor(std::marker::PhantomData))
}

/// The JSON Schema of an [`OpenEnum`]: a string, one of the known values (strict form).
pub fn open_enum_schema<E: OpenEnum>() -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": E::VALUES })
}
