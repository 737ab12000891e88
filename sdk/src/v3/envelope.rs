//! The APIv3 notification envelope: the JSON body around the encrypted `resource`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::EnvelopeError;

/// The outer JSON of an APIv3 notification, borrowed from the body where it can be.
///
/// Only what identifies and opens the notification is required (`id`, `event_type` and the
/// resource's `algorithm`, `ciphertext`, `nonce`); the rest is optional because published
/// deliveries omit it (`summary`, `original_type`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Envelope<'a> {
    /// The notification id: the delivery's identity for de-duplication.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// When the notification was created (RFC 3339; `yyyyMMddHHmmss` on some entrust pages).
    #[serde(
        borrow,
        default,
        deserialize_with = "borrowed_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_time: Option<Cow<'a, str>>,
    /// `encrypt-resource`.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrowed_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_type: Option<Cow<'a, str>>,
    /// The notification type, `TRANSACTION.SUCCESS`.
    #[serde(borrow)]
    pub event_type: Cow<'a, str>,
    /// A short human summary.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrowed_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub summary: Option<Cow<'a, str>>,
    /// The encrypted resource.
    #[serde(borrow)]
    pub resource: Resource<'a>,
}

/// The encrypted `resource` of an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Resource<'a> {
    /// `AEAD_AES_256_GCM`.
    #[serde(borrow)]
    pub algorithm: Cow<'a, str>,
    /// The type of the encrypted object (`transaction`, `refund`, `profitsharing`…).
    #[serde(
        borrow,
        default,
        deserialize_with = "borrowed_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub original_type: Option<Cow<'a, str>>,
    /// Base64 of ciphertext ‖ 16-byte tag.
    #[serde(borrow)]
    pub ciphertext: Cow<'a, str>,
    /// AEAD associated data (may be empty or absent).
    #[serde(
        borrow,
        default,
        deserialize_with = "borrowed_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub associated_data: Option<Cow<'a, str>>,
    /// The 12-character AEAD nonce.
    #[serde(borrow)]
    pub nonce: Cow<'a, str>,
}

/// An optional string borrowed from the body where it has no escapes: serde borrows a
/// `Cow<str>` field marked `borrow`, but not one inside an `Option`, which it would copy.
fn borrowed_opt<'de: 'a, 'a, D>(d: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Option::<Borrowed<'a>>::deserialize(d).map(|o| o.map(|b| b.0))
}

impl<'a> Envelope<'a> {
    /// Parses an envelope from the raw body.
    ///
    /// # Errors
    /// [`EnvelopeError`] with the JSON path at fault.
    pub fn parse(body: &'a [u8]) -> Result<Self, EnvelopeError> {
        // One UTF-8 check of the whole body instead of one per string (see `resource`).
        match std::str::from_utf8(body).map(serde_json::from_str) {
            Ok(Ok(env)) => Ok(env),
            _ => Err(Self::explain(body)),
        }
    }

    /// Re-parses with path tracking, only on the error path.
    #[cold]
    fn explain(body: &'a [u8]) -> EnvelopeError {
        let mut de = serde_json::Deserializer::from_slice(body);
        match serde_path_to_error::deserialize::<_, Envelope<'_>>(&mut de) {
            Ok(_) => EnvelopeError {
                path: None,
                message: "trailing characters after the JSON value".to_owned(),
            },
            Err(e) => {
                let (path, message) = crate::resource::split_path_error(e.path(), e.inner());
                EnvelopeError { path, message }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_published_envelope_borrowing_it() {
        let body = br#"{"id":"EV-2018022511223320873","create_time":"2015-05-20T13:29:35+08:00","resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","resource":{"algorithm":"AEAD_AES_256_GCM","original_type":"transaction","ciphertext":"abc","nonce":"fdasflkja484w","associated_data":""}}"#;
        let env = Envelope::parse(body).unwrap();
        assert!(matches!(env.id, Cow::Borrowed(_)));
        assert_eq!(env.resource.original_type.as_deref(), Some("transaction"));
        for optional in [
            &env.create_time,
            &env.resource_type,
            &env.resource.original_type,
            &env.resource.associated_data,
        ] {
            assert!(matches!(optional, Some(Cow::Borrowed(_))), "{optional:?}");
        }
        let escaped = Envelope::parse(
            br#"{"id":"x","event_type":"A","summary":"\u652f\u4ed8","resource":{"algorithm":"A","ciphertext":"c","nonce":"n","associated_data":null}}"#,
        )
        .unwrap();
        assert_eq!(escaped.summary.as_deref(), Some("支付"));
        assert_eq!(escaped.resource.associated_data, None);
        assert_eq!(env.summary, None);
    }

    #[test]
    fn errors_name_the_path() {
        let e = Envelope::parse(
            br#"{"id":"x","event_type":"A","resource":{"algorithm":"A","ciphertext":"c"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("resource.nonce"));
        assert!(e.message.contains("missing field"), "{e}");

        let e = Envelope::parse(br#"{"id":7}"#).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("id"));

        let e = Envelope::parse(b"{\"id\":").unwrap_err();
        assert!(e.message.contains("EOF"), "{e}");
    }
}
