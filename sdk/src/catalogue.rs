//! The catalogue at run time: what the generator knows about each kind.
//!
//! [`Kind`](crate::Kind) (generated) names every kind; [`Kind::info`](crate::Kind::info) gives
//! its [`KindInfo`]. Each generated kind type implements [`KindType`], which ties the type to
//! its kind, its reply and its business fact.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::validate::Validate;

/// How a notification travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum WireFormat {
    /// APIv3: JSON body, RSA-SHA256 signature headers, AEAD_AES_256_GCM `resource`.
    #[serde(rename = "v3-json")]
    V3Json,
    /// APIv2: XML body, `sign` by MD5 or HMAC-SHA256.
    #[serde(rename = "v2-xml")]
    V2Xml,
}

impl WireFormat {
    /// `v3-json` or `v2-xml`, as the catalogue writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            WireFormat::V3Json => "v3-json",
            WireFormat::V2Xml => "v2-xml",
        }
    }
}

/// How far a kind's payload can be trusted once it has been opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Trust {
    /// Signed by WeChat Pay and verified (every APIv3 kind).
    Authenticated,
    /// Decrypted, but nothing proves who sent it (APIv2 refund `req_info`, AES-256-ECB): the
    /// merchant must confirm it (business cross-check or a query) before acting.
    DecryptedUnauthenticated,
}

/// Everything the catalogue says about one kind, generated from its schema file.
///
/// Not `#[non_exhaustive]`: the generated table builds it with a struct literal, and the
/// generator's snapshot tests compile that table outside this crate. A literal also makes the
/// compiler insist that the generator fills every field.
#[derive(Debug)]
pub struct KindInfo {
    /// The kind id (`TRANSACTION.SUCCESS#PARKING`, `REFUND.SUCCESS`, `v2:refund-processed`).
    pub id: &'static str,
    /// The event_type on the wire (`None` for classic APIv2 kinds, which carry none).
    pub event_type: Option<&'static str>,
    /// The variant after `#`, if any.
    pub variant: Option<&'static str>,
    /// The wire format.
    pub format: WireFormat,
    /// The Chinese title of the notification page.
    pub title: &'static str,
    /// The Rust type's name.
    pub rust_type: &'static str,
    /// The schema file, relative to the repository root.
    pub schema: &'static str,
    /// Links to the official documentation.
    pub docs: &'static [&'static str],
    /// The envelope's `resource.original_type`, where the reference gives one.
    pub original_type: Option<&'static str>,
    /// Retry intervals in seconds WeChat Pay uses when a delivery fails (empty: none stated).
    pub retry_schedule: &'static [u32],
    /// The fields that identify the business object.
    pub business_key: &'static [&'static str],
    /// The fields compared with the merchant's expectation by the kind's
    /// [`CrossCheck`](crate::cross_check::CrossCheck) impl, as paths (`amount.total`), in the
    /// order mismatches are reported.
    pub cross_check: &'static [&'static str],
    /// How far the opened payload can be trusted.
    pub trust: Trust,
    /// The APIv2 specifics (sign, encryption, recognition, layout); `None` for APIv3 kinds.
    pub v2: Option<&'static V2Spec>,
}

/// What an APIv2 (XML) kind's schema says about its wire form: generated from the `v2:`
/// section of its schema file, read by [`crate::v2`].
#[derive(Debug)]
pub struct V2Spec {
    /// Whether and how the body is signed.
    pub sign: V2Sign,
    /// Whether and how the business data is encrypted.
    pub encryption: V2Encryption,
    /// How a body is recognised as this kind.
    pub recognise: V2Recognise,
    /// Which reply elements WeChat Pay expects for this kind.
    pub reply: V2ReplyStyle,
    /// For encrypted kinds: the outer elements kept in the typed value (the rest of it comes
    /// from the decrypted plaintext). Ignored for unencrypted kinds, whose whole body is the
    /// plaintext.
    pub envelope: &'static [&'static str],
    /// Indexed families of elements (`coupon_id_$n`) gathered into typed lists.
    pub repeated: &'static [V2Repeated],
    /// Elements whose text is JSON (`sub_order_list`, `promotion_detail`), parsed into their
    /// typed value.
    pub json: &'static [&'static str],
    /// The elements naming the merchant, first present wins (for the delivery key).
    pub merchant: &'static [&'static str],
    /// The element stating the business object's state, if any (for the delivery key).
    pub state: Option<&'static str>,
}

/// Whether an APIv2 kind carries a `sign`, and how its algorithm is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum V2Sign {
    /// No `sign` (the refund notification): authenticity cannot be checked.
    Absent,
    /// A `sign` is required: a body without one is rejected.
    Required {
        /// The element naming the algorithm (`sign_type`, or `algorithm`).
        algorithm_field: &'static str,
        /// The algorithm when that element is absent.
        default: V2SignDefault,
    },
}

/// The sign algorithm an APIv2 kind assumes when the body does not name one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum V2SignDefault {
    /// MD5.
    Md5,
    /// HMAC-SHA256.
    HmacSha256,
    /// By the sign's length: 64 hex characters HMAC-SHA256, otherwise MD5.
    ByLength,
}

/// How an APIv2 kind's business data is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum V2Encryption {
    /// Not encrypted: the body is the plaintext.
    None,
    /// AES-256-ECB (PKCS#7), key = md5(APIv2 key) in lower-case hex, base64 (refund `req_info`).
    ApiV2KeyEcb {
        /// The element holding the ciphertext.
        field: &'static str,
        /// The plaintext XML's root element.
        root: &'static str,
    },
    /// AEAD_AES_256_GCM with the APIv3 key (the payscore-style events' `event_ciphertext`).
    ApiV3KeyGcm {
        /// The element holding the base64 ciphertext and tag.
        field: &'static str,
        /// The element holding the nonce.
        nonce: &'static str,
        /// The element holding the associated data (may be absent or empty).
        associated_data: &'static str,
        /// The element naming the algorithm (`AEAD_AES_256_GCM`), if the kind has one.
        algorithm: Option<&'static str>,
        /// The plaintext XML's root element.
        root: &'static str,
    },
}

/// How a body is recognised as an APIv2 kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum V2Recognise {
    /// The body's `event_type` element equals this.
    EventType(&'static str),
    /// Any of these elements is present (with a non-empty value); kinds are tried by
    /// priority, highest first.
    AnyPresent {
        /// The elements.
        fields: &'static [&'static str],
        /// Higher is tried first.
        priority: i64,
    },
}

/// The reply elements an APIv2 kind expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum V2ReplyStyle {
    /// `<return_code>` / `<return_msg>` (the classic pages).
    ReturnCode,
    /// `<code>` / `<message>` (the payscore-style event pages).
    CodeMessage,
}

/// An indexed family: elements `<member>_<n>` (n = 0, 1, …) gathered into a list field whose
/// elements are objects with those members.
#[derive(Debug)]
pub struct V2Repeated {
    /// The list field of the typed value (`coupons`).
    pub field: &'static str,
    /// The members, as named without the index (`coupon_id`).
    pub members: &'static [&'static str],
    /// Members also accepted without an index, as element 0 (the official example's
    /// `coupon_id`).
    pub unnumbered: &'static [&'static str],
}

/// Implemented by every kind whose notifications are authenticated (every APIv3 kind and the
/// signed APIv2 kinds): only these can be handed to a handler as they are
/// ([`Dispatcher::on`](crate::Dispatcher::on)). Kinds that are decrypted but unauthenticated
/// go through [`Dispatcher::on_unconfirmed`](crate::Dispatcher::on_unconfirmed), whose
/// handlers must confirm them before acting.
pub trait AuthenticatedKind: KindType {}

/// What identifies the business fact a notification reports, for de-duplication across
/// deliveries (a fact re-sent under a new notification id is still the same fact).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct BusinessFact {
    /// The merchant (first present of the schema's `merchant` fields).
    pub merchant: Option<String>,
    /// The values of the schema's `business_key` fields, in order (empty string when absent).
    pub key: Vec<String>,
    /// The value of the schema's `state` field, if any.
    pub state: Option<String>,
}

/// A value that can stand in a [`BusinessFact`]: strings, integers, enums.
pub trait FactValue {
    /// The value as text, or `None` when absent.
    fn fact_value(&self) -> Option<String>;
}

impl FactValue for String {
    fn fact_value(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl FactValue for crate::types::Int {
    fn fact_value(&self) -> Option<String> {
        Some(self.get().to_string())
    }
}

impl<T: crate::types::OpenEnum> FactValue for T {
    fn fact_value(&self) -> Option<String> {
        Some(self.as_str().to_owned())
    }
}

impl<T: FactValue> FactValue for Option<T> {
    fn fact_value(&self) -> Option<String> {
        self.as_ref().and_then(FactValue::fact_value)
    }
}

/// The reply data of a kind whose reply carries none (almost all of them): its handlers
/// return `Ok(())`.
pub type NoReply = ();

/// Implemented by every generated kind type.
///
/// Each generated type also converts to and from [`Notification`](crate::Notification)
/// (`From<T> for Notification`, `TryFrom<Notification> for T`); the generated code names no
/// item of this crate outside its runtime modules, so the generator's snapshots compile on
/// their own.
pub trait KindType:
    Sized + DeserializeOwned + Serialize + Validate + Send + Sync + 'static
{
    /// The kind id this type carries (`TRANSACTION.SUCCESS#PARKING`).
    const ID: &'static str;

    /// The data a handler of this kind returns for the reply ([`NoReply`] for most kinds).
    type Reply: Serialize + Send + 'static;

    /// The business fact this notification reports.
    fn business_fact(&self) -> BusinessFact;
}

/// A notification whose event_type the catalogue does not know, handed to the fallback
/// handler with its decrypted resource as raw JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnknownNotification {
    /// The envelope's event_type.
    pub event_type: String,
    /// The decrypted resource, as JSON.
    pub resource: serde_json::Value,
}
