//! The schema files as written: strict serde structs, one per file format.
//!
//! Nothing here is interpreted: names are not resolved and numbers are not range-checked
//! (that is [`crate::check`]'s job, which can then report every problem with its path). Every
//! mapping rejects unknown keys; maps whose order matters keep it ([`Ordered`]).

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// A kind file, `schema/kinds/*.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindFile {
    /// The kind id (`TRANSACTION.SUCCESS#PARKING`).
    pub kind: String,
    /// The Rust type name, when the derived one is not wanted.
    pub rust_name: Option<String>,
    /// `v3-json` or `v2-xml`.
    pub format: WireFormat,
    /// The Chinese title of the notification page.
    pub title: String,
    /// Links to the official documentation: one string or a list.
    pub docs: OneOrMany,
    /// The envelope's `resource.original_type`, where known.
    pub original_type: Option<String>,
    /// The classification rule.
    #[serde(rename = "match")]
    pub rule: Option<Match>,
    /// Top-level fields that identify the business object.
    pub business_key: Vec<String>,
    /// Top-level fields that name the merchant, in order of preference.
    #[serde(default)]
    pub merchant: Vec<String>,
    /// The top-level field stating the business object's state.
    pub state: Option<String>,
    /// The fields compared with the merchant's own data: top-level names or dotted paths
    /// through objects (`amount.total`). Absent: the `merchant` and `business_key` fields.
    pub cross_check: Option<Vec<String>>,
    /// The retry schedule.
    pub retry: Option<Retry>,
    /// The object type of the handler's reply data.
    pub reply: Option<String>,
    /// How far the opened payload can be trusted (default: authenticated).
    pub trust: Option<Trust>,
    /// The APIv2 wire form (required for `v2-xml` kinds, refused for others).
    pub v2: Option<V2Section>,
    /// The plaintext's fields, in wire order.
    pub fields: Ordered<Field>,
    /// Object types used by this kind only.
    #[serde(default)]
    pub objects: Ordered<LocalObject>,
    /// Enums used by this kind only.
    #[serde(default)]
    pub enums: Ordered<LocalEnum>,
    /// Example payloads.
    pub examples: Vec<Example>,
    /// Where the facts come from.
    pub sources: Vec<String>,
    /// What was decided where the reference is silent or contradicts itself.
    #[serde(default)]
    pub decisions: Vec<String>,
}

/// The `v2:` section of an APIv2 kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2Section {
    /// `none`, or how the sign's algorithm is chosen.
    pub sign: V2SignSpec,
    /// How the business data is encrypted, if it is.
    pub encrypted: Option<V2Encrypted>,
    /// For encrypted kinds: the outer elements kept in the typed value.
    #[serde(default)]
    pub envelope: Vec<String>,
    /// For classic kinds (no event_type): the elements that recognise the kind.
    pub recognise: Option<V2RecogniseSpec>,
    /// `return-code` or `code-message`.
    pub reply: String,
}

/// `sign: none` or `sign: {algorithm: sign_type, default: MD5}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum V2SignSpec {
    /// `none`.
    Named(String),
    /// A required sign.
    Required {
        /// The element naming the algorithm.
        algorithm: String,
        /// `MD5`, `HMAC-SHA256` or `by-length`.
        default: String,
    },
}

/// `encrypted:` of a `v2` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2Encrypted {
    /// The element holding the ciphertext.
    pub field: String,
    /// `aes-256-ecb` (key md5(APIv2 key)) or `aead-aes-256-gcm` (APIv3 key).
    pub cipher: String,
    /// The plaintext XML's root element.
    pub root: String,
    /// GCM: the element holding the nonce.
    pub nonce: Option<String>,
    /// GCM: the element holding the associated data.
    pub associated_data: Option<String>,
    /// GCM: the element naming the algorithm.
    pub algorithm: Option<String>,
}

/// `recognise:` of a classic APIv2 kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2RecogniseSpec {
    /// Any of these elements present (non-empty) recognises the kind.
    pub any_present: Vec<String>,
    /// Higher is tried first.
    pub priority: i64,
}

/// A shared object file, `schema/objects/*.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectFile {
    /// The type name.
    pub object: String,
    /// The description.
    pub doc: Option<String>,
    /// The fields, in wire order.
    pub fields: Ordered<Field>,
    /// Where the facts come from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Decisions taken where the reference is silent.
    #[serde(default)]
    pub decisions: Vec<String>,
}

/// A shared enum file, `schema/enums/*.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumFile {
    /// The type name.
    #[serde(rename = "enum")]
    pub name: String,
    /// The description.
    pub doc: Option<String>,
    /// Wire value → description, in catalogue order.
    pub values: Ordered<Option<String>>,
    /// Where the facts come from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Decisions taken where the reference is silent.
    #[serde(default)]
    pub decisions: Vec<String>,
}

/// An object type declared inside a kind file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalObject {
    /// The description.
    pub doc: Option<String>,
    /// The fields, in wire order.
    pub fields: Ordered<Field>,
}

/// An enum declared inside a kind file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalEnum {
    /// The description.
    pub doc: Option<String>,
    /// Wire value → description, in catalogue order.
    pub values: Ordered<Option<String>>,
}

/// One field of an object or a kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// A built-in type or the name of an object or enum.
    #[serde(rename = "type")]
    pub ty: String,
    /// The element type of an array.
    pub items: Option<String>,
    /// `[min, max]` elements of an array.
    pub count: Option<Vec<i64>>,
    /// Whether the field must be present (and not null).
    #[serde(default)]
    pub required: bool,
    /// `[min, max]` characters of a string.
    pub length: Option<Vec<i64>>,
    /// The string format.
    pub format: Option<String>,
    /// The description.
    pub doc: Option<String>,
    /// Personal data, redacted from `Debug`.
    #[serde(default)]
    pub sensitive: bool,
    /// A fact about the field was inferred rather than read in a source.
    #[serde(default)]
    pub inferred: bool,
    /// An example value, for documentation only.
    pub example: Option<serde_norway::Value>,
    /// APIv2: an array of objects whose members arrive as `<member>_<n>` elements.
    #[serde(default)]
    pub indexed: bool,
    /// APIv2: members of an indexed family also accepted without the index, as element 0.
    #[serde(default)]
    pub unnumbered: Vec<String>,
    /// APIv2: `json` for an element whose text is JSON, parsed into the field's type.
    pub encoding: Option<String>,
}

/// `v3-json` or `v2-xml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum WireFormat {
    /// APIv3 JSON.
    #[serde(rename = "v3-json")]
    V3Json,
    /// APIv2 XML.
    #[serde(rename = "v2-xml")]
    V2Xml,
}

/// The trust level a kind file may state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Signed and verified.
    Authenticated,
    /// Decrypted, but nothing proves who sent it.
    DecryptedUnauthenticated,
}

/// A classification rule: `{priority, all}` or `{default: true}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// Higher is tried first.
    pub priority: Option<i64>,
    /// Conditions that must all hold.
    pub all: Option<Vec<Condition>>,
    /// This kind takes what no sibling's rule claimed.
    pub default: Option<bool>,
}

/// One condition of a rule, as written; [`crate::check`] decides which form it is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// A top-level field of the plaintext.
    pub field: Option<String>,
    /// The value the field must equal.
    pub equals: Option<String>,
    /// Whether the field must be present (not null) or absent.
    pub present: Option<bool>,
    /// The value the envelope's `resource.original_type` must equal.
    pub original_type: Option<String>,
}

/// An example payload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// The file, relative to `schema/`.
    pub file: String,
    /// APIv2 encrypted kinds: the decrypted plaintext of `file`'s encrypted element.
    pub plaintext: Option<String>,
    /// Where the example comes from.
    pub note: Option<String>,
}

/// `docs:` — one link or a list of links.
#[derive(Debug)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a link or a list of links")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `retry:` — `official`, `none`, or a list of intervals (`15s`, `3m`, `1h`).
#[derive(Debug)]
pub enum Retry {
    /// A named schedule (`official`, `none`; anything else is reported by the checker).
    Named(String),
    /// A list of intervals, parsed by the checker.
    Intervals(Vec<String>),
}

impl<'de> Deserialize<'de> for Retry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Retry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`official`, `none` or a list of intervals")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Retry, E> {
                Ok(Retry::Named(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Retry, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(Retry::Intervals(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping whose order is kept (fields are emitted in wire order) and whose keys are
/// unique (a repeated key is a load error, not a silent overwrite).
#[derive(Debug)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<V>, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
                    }
                    let value = map.next_value()?;
                    out.push((key, value));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(OrderedVisitor(PhantomData))
    }
}
