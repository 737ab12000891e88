//! The classifier's fields, read during a typed parse: while the plaintext is parsed as the
//! kind its event_type usually is, the top-level fields the rules compare are recorded as they
//! go by, so the usual kind costs one pass over the plaintext instead of a probe and a parse.
//!
//! The recording deserializer wraps serde_json's: it sees every top-level key on its way to
//! the typed visitor, and takes a wanted field's value as raw text (borrowed) before handing
//! it to the visitor through a deserializer over that text. Nothing below the top level is
//! touched.

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::Field;

/// Runs `parse` (a typed parse) over `text`, recording the top-level fields `names` on the way.
///
/// The parse's result (checked for trailing characters) goes to `parsed`, where the caller
/// keeps it (the value is large: it is not moved again). Returns, when the whole top-level
/// object was read, the fields as [`top_level`](super::top_level) finds them. The object was
/// read whole when the parse succeeded, or failed only at the object's end (a required field
/// of this kind missing: the payload may be of another kind) with nothing after it but
/// whitespace. Otherwise — a value of the wrong type, malformed JSON, an array where the object
/// should be — `None`: the caller probes the plaintext on its own.
pub(crate) fn recording<'a, T, const N: usize>(
    text: &'a str,
    names: [&'static str; N],
    parsed: &mut Option<Result<T, serde_json::Error>>,
    parse: impl FnOnce(Recorder<'a, '_>) -> Result<T, serde_json::Error>,
) -> Option<[Field<'a>; N]> {
    let mut found = names.map(|name| Field { name, raw: None });
    let mut de = serde_json::Deserializer::from_str(text);
    let mut ended = false;
    let result = parsed.insert(parse(Recorder {
        de: &mut de,
        found: &mut found,
        ended: &mut ended,
    }));
    let end = de.end();
    let whole = ended && end.is_ok();
    if let (Ok(_), Err(trailing)) = (&result, end) {
        *result = Err(trailing);
    }
    whole.then_some(found)
}

/// The deserializer [`recording`] hands the typed parse: serde_json's, recording the top-level
/// fields of a struct.
pub(crate) struct Recorder<'a, 'r> {
    de: &'r mut serde_json::Deserializer<serde_json::de::StrRead<'a>>,
    found: &'r mut [Field<'a>],
    ended: &'r mut bool,
}

impl<'de> Deserializer<'de> for Recorder<'de, '_> {
    type Error = serde_json::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        self.de.deserialize_struct(
            name,
            fields,
            RecordingVisitor {
                inner: visitor,
                found: self.found,
                ended: self.ended,
            },
        )
    }

    /// Anything but a struct is parsed without recording (the caller then probes).
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        self.de.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

struct RecordingVisitor<'a, 'r, V> {
    inner: V,
    found: &'r mut [Field<'a>],
    ended: &'r mut bool,
}

impl<'a, V: Visitor<'a>> Visitor<'a> for RecordingVisitor<'a, '_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_map<A: MapAccess<'a>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(RecordingMap {
            map,
            found: self.found,
            ended: self.ended,
            pending: None,
        })
    }

    /// A struct written as an array: no fields to record.
    fn visit_seq<A: de::SeqAccess<'a>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(seq)
    }
}

struct RecordingMap<'a, 'r, A> {
    map: A,
    found: &'r mut [Field<'a>],
    ended: &'r mut bool,
    /// The wanted field whose key was just read.
    pending: Option<usize>,
}

impl<'a, A: MapAccess<'a>> MapAccess<'a> for RecordingMap<'a, '_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = self.map.next_key_seed(KeySeed {
            seed,
            found: self.found,
            pending: &mut self.pending,
        })?;
        if key.is_none() {
            *self.ended = true;
        }
        Ok(key)
    }

    fn next_value_seed<S: DeserializeSeed<'a>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let Some(i) = self.pending.take() else {
            return self.map.next_value_seed(seed);
        };
        let raw: &'a RawValue = self.map.next_value()?;
        self.found[i].raw = Some(raw.get().as_bytes());
        // The value is one complete JSON value: the typed field reads it from its text.
        seed.deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
            .map_err(de::Error::custom)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// Reads a key, notes whether it is a wanted field not yet found, and hands it on.
struct KeySeed<'a, 'r, K> {
    seed: K,
    found: &'r [Field<'a>],
    pending: &'r mut Option<usize>,
}

impl<'a, K: DeserializeSeed<'a>> DeserializeSeed<'a> for KeySeed<'a, '_, K> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<K::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a, K: DeserializeSeed<'a>> KeySeed<'a, '_, K> {
    fn note(&mut self, key: &str) {
        // The first occurrence counts, as in `top_level`.
        *self.pending = self
            .found
            .iter()
            .position(|f| f.raw.is_none() && f.name == key);
    }
}

impl<'a, K: DeserializeSeed<'a>> Visitor<'a> for KeySeed<'a, '_, K> {
    type Value = K::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(mut self, key: &'a str) -> Result<K::Value, E> {
        self.note(key);
        self.seed.deserialize(BorrowedStrDeserializer::new(key))
    }

    fn visit_str<E: de::Error>(mut self, key: &str) -> Result<K::Value, E> {
        self.note(key);
        self.seed.deserialize(StrDeserializer::new(key))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Basic {
        mchid: String,
        trade_type: Option<String>,
        amount: Option<Amount>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Amount {
        total: i64,
    }

    fn record(text: &str) -> (Result<Basic, serde_json::Error>, Option<[Field<'_>; 3]>) {
        let mut parsed = None;
        let found = recording(
            text,
            ["trade_type", "sp_mchid", "total"],
            &mut parsed,
            |d| Basic::deserialize(d),
        );
        (parsed.unwrap(), found)
    }

    #[test]
    fn records_top_level_fields_while_parsing() {
        let text = r#"{"mchid":"1","trade_type":"PAP","sp_mchid":null,"amount":{"total":5},"trade_type":"X"}"#;
        let (parsed, found) = record(text);
        // serde rejects the duplicate field it knows; the record still took the first one.
        assert!(parsed.unwrap_err().to_string().contains("duplicate field"));
        assert!(
            found.is_none(),
            "a parse that failed midway reads no fields"
        );

        let text = r#" {"mchid":"1","trade_type":"PAP","sp_mchid":null,"amount":{"total":5}} "#;
        let (parsed, found) = record(text);
        let parsed = parsed.unwrap();
        assert_eq!(parsed.trade_type.as_deref(), Some("PAP"));
        assert_eq!(parsed.amount, Some(Amount { total: 5 }));
        let [trade_type, sp_mchid, total] = found.unwrap();
        assert!(trade_type.equals("PAP").unwrap());
        assert!(!sp_mchid.is_present());
        assert!(!total.is_present(), "only the top level is recorded");
    }

    #[test]
    fn agrees_with_top_level() {
        for text in [
            r#"{"mchid":"1","trade\u005ftype":"P\u0041P","sp_mchid":"2"}"#,
            r#"{"mchid":"1","trade_type":null,"sp_mchid":{"a":[1,2]}}"#,
            r#"{"mchid":"1"}"#,
        ] {
            let (parsed, found) = record(text);
            assert!(parsed.is_ok(), "{text}");
            let names = ["trade_type", "sp_mchid", "total"];
            assert_eq!(
                found.unwrap(),
                super::super::top_level(text.as_bytes(), names).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_parse_failing_at_the_end_of_the_object_still_reads_every_field() {
        // Another kind's payload: this type's required field is missing.
        let text = r#"{"sp_mchid":"1","trade_type":"PAP"}"#;
        let (parsed, found) = record(text);
        assert!(
            parsed
                .unwrap_err()
                .to_string()
                .contains("missing field `mchid`")
        );
        let [trade_type, sp_mchid, _] = found.unwrap();
        assert!(trade_type.equals("PAP").unwrap() && sp_mchid.is_present());
    }

    #[test]
    fn incomplete_reads_give_no_fields() {
        for text in [
            r#"{"sp_mchid":"1"} x"#,
            r#"{"mchid":"1","trade_type":7}"#,
            r#"{"mchid":"1","amount":"x"}"#,
            r#"{"mchid":"1","trade_type":"P""#,
            r#"["1","PAP",null]"#,
            "",
        ] {
            let (_, found) = record(text);
            assert!(found.is_none(), "{text}");
        }
    }
}
