//! The whole path in one call: verify, decrypt, classify, parse, validate — APIv3 (JSON)
//! and APIv2 (XML) alike.

use http::HeaderMap;
use serde::Serialize;

use crate::error::Error;
use crate::keys::{ApiV2Key, ApiV3Key, Keyring};
use crate::resource::parse_v3;
use crate::v3::{Verified, Verifier};
use crate::validate::Violation;
use crate::{Kind, Notification};

/// What the receiver does with constraint violations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strictness {
    /// Report violations beside the notification, and deliver it (the default: an SDK that
    /// rejects a real payment over an over-long field is worse than one that reports it).
    #[default]
    Lenient,
    /// Reject a notification with any violation ([`Error::Invalid`]).
    Strict,
}

/// Turns raw requests into verified, typed notifications.
///
/// ```
/// use wechatpay_notify::keys::{ApiV3Key, Keyring};
/// use wechatpay_notify::Receiver;
///
/// let key = ApiV3Key::new(b"0123456789abcdef0123456789abcdef").unwrap();
/// let receiver = Receiver::new(Keyring::new(), key);
/// let err = receiver.receive(&http::HeaderMap::new(), b"{}").unwrap_err();
/// assert_eq!(err.http_status(), 400);
/// ```
#[derive(Debug, Clone)]
pub struct Receiver {
    verifier: Verifier,
    api_v3_key: Option<std::sync::Arc<ApiV3Key>>,
    api_v2_key: Option<std::sync::Arc<ApiV2Key>>,
    v2_sign_types: crate::v2::SignTypes,
    v2_body_limit: usize,
    strictness: Strictness,
}

/// Where a notification came from and when: the envelope's plain fields.
///
/// For APIv2 notifications: `id` is the body's `event_id`, or the derived delivery key
/// (`v2:…`) for kinds without one; `event_type` is the body's `event_type`, empty for the
/// classic kinds, which carry none; `create_time` is `event_create_time`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Meta {
    /// The notification id.
    pub id: String,
    /// The event_type.
    pub event_type: String,
    /// The envelope's create_time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// The envelope's summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `resource.original_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_type: Option<String>,
}

/// A verified, decrypted, typed notification.
#[derive(Debug)]
#[non_exhaustive]
pub struct Received {
    /// The envelope's plain fields.
    pub meta: Meta,
    /// The typed notification.
    pub notification: Notification,
    /// Constraint violations (empty in strict mode, which rejects them).
    pub violations: Vec<Violation>,
    /// The decrypted resource as received (fields the catalogue does not list are here).
    pub plaintext: Vec<u8>,
    /// `true` when the RSA step was skipped for a byte-identical copy.
    pub signature_from_cache: bool,
}

impl Received {
    /// The kind, or `None` for an event_type the catalogue lacks.
    pub fn kind(&self) -> Option<Kind> {
        self.notification.kind()
    }
}

impl Receiver {
    /// A receiver with a default [`Verifier`] over `keyring`.
    pub fn new(keyring: Keyring, api_v3_key: ApiV3Key) -> Self {
        Receiver::with_verifier(Verifier::new(keyring), api_v3_key)
    }

    /// A receiver with a configured verifier.
    pub fn with_verifier(verifier: Verifier, api_v3_key: ApiV3Key) -> Self {
        Receiver {
            verifier,
            api_v3_key: Some(std::sync::Arc::new(api_v3_key)),
            api_v2_key: None,
            v2_sign_types: crate::v2::SignTypes::default(),
            v2_body_limit: crate::v2::DEFAULT_BODY_LIMIT,
            strictness: Strictness::Lenient,
        }
    }

    /// A receiver of APIv2 notifications only: no APIv3 key (APIv3 requests, and the APIv2
    /// kinds whose `event_ciphertext` needs it, answer `key_not_configured`) and an empty
    /// keyring.
    pub fn for_v2(api_v2_key: ApiV2Key) -> Self {
        Receiver {
            verifier: Verifier::new(Keyring::new()),
            api_v3_key: None,
            api_v2_key: Some(std::sync::Arc::new(api_v2_key)),
            v2_sign_types: crate::v2::SignTypes::default(),
            v2_body_limit: crate::v2::DEFAULT_BODY_LIMIT,
            strictness: Strictness::Lenient,
        }
    }

    /// Sets the APIv2 key: APIv2 notifications' `sign`, and the refund notification's
    /// `req_info`.
    #[must_use]
    pub fn with_api_v2_key(mut self, key: ApiV2Key) -> Self {
        self.api_v2_key = Some(std::sync::Arc::new(key));
        self
    }

    /// Sets the APIv2 sign algorithms accepted (both by default). A notification naming, or
    /// defaulting to, another one is rejected (`sign_type_not_accepted`).
    #[must_use]
    pub fn with_v2_sign_types(mut self, types: crate::v2::SignTypes) -> Self {
        self.v2_sign_types = types;
        self
    }

    /// Sets the largest APIv2 body accepted ([`DEFAULT_BODY_LIMIT`](crate::v2::DEFAULT_BODY_LIMIT)
    /// by default).
    #[must_use]
    pub fn with_v2_body_limit(mut self, limit: usize) -> Self {
        self.v2_body_limit = limit;
        self
    }

    /// Sets what happens to violations.
    #[must_use]
    pub fn with_strictness(mut self, strictness: Strictness) -> Self {
        self.strictness = strictness;
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Verifies, decrypts, classifies, parses and validates one request: APIv2 when the
    /// body's first non-whitespace byte is `<` ([`receive_v2`](Self::receive_v2)), APIv3
    /// otherwise.
    ///
    /// # Errors
    /// Any stage's [`Error`]; its [`Error::http_status`] is the answer to give.
    pub fn receive(&self, headers: &HeaderMap, body: &[u8]) -> Result<Received, Error> {
        if crate::v2::is_xml(body) {
            return self.receive_v2(body);
        }
        let verified = self.verifier.verify(headers, body)?;
        self.open(&verified)
    }

    /// Receives an APIv2 (XML) body: [`check_v2`](Self::check_v2), then
    /// [`open_v2`](Self::open_v2).
    ///
    /// # Errors
    /// As those two.
    pub fn receive_v2(&self, body: &[u8]) -> Result<Received, Error> {
        let checked = self.check_v2(body)?;
        self.open_v2(&checked)
    }

    /// The first half of the APIv2 path: parse, recognise, verify the sign, decrypt.
    ///
    /// # Errors
    /// See [`crate::v2::check`].
    pub fn check_v2(&self, body: &[u8]) -> Result<crate::v2::Checked, Error> {
        let config = crate::v2::CheckConfig {
            api_v2_key: self.api_v2_key.as_deref(),
            api_v3_key: self.api_v3_key.as_deref(),
            sign_types: self.v2_sign_types,
            body_limit: self.v2_body_limit,
        };
        crate::v2::check(body, &config)
    }

    /// The second half of the APIv2 path: the typed parse and validation of a checked body.
    ///
    /// # Errors
    /// [`Error::Resource`] or, in strict mode, [`Error::Invalid`].
    pub fn open_v2(&self, checked: &crate::v2::Checked) -> Result<Received, Error> {
        let parsed = checked.parse()?;
        if self.strictness == Strictness::Strict && !parsed.violations.is_empty() {
            return Err(Error::Invalid {
                kind: checked.kind().id(),
                violations: parsed.violations,
            });
        }
        let outer = checked.outer();
        Ok(Received {
            meta: Meta {
                id: checked.id(),
                event_type: outer.non_empty("event_type").unwrap_or_default().to_owned(),
                create_time: outer.non_empty("event_create_time").map(str::to_owned),
                summary: None,
                original_type: None,
            },
            notification: parsed.notification,
            violations: parsed.violations,
            plaintext: checked
                .plaintext()
                .unwrap_or_else(|| checked.body())
                .to_vec(),
            signature_from_cache: false,
        })
    }

    /// Decrypts, classifies, parses and validates a request [`Verifier::verify`] accepted:
    /// the second half of [`receive`](Self::receive), for callers (such as
    /// [`Service`](crate::service::Service)) that record the verified request before opening it.
    ///
    /// # Errors
    /// [`Error::Decrypt`], [`Error::Resource`] or, in strict mode, [`Error::Invalid`].
    pub fn open(&self, verified: &Verified<'_>) -> Result<Received, Error> {
        let Some(api_v3_key) = &self.api_v3_key else {
            return Err(crate::error::V2Error::KeyNotConfigured {
                kind: "APIv3 notifications",
                key: "APIv3 key",
            }
            .into());
        };
        let plaintext = verified.decrypt(api_v3_key)?;
        let env = verified.envelope();
        let parsed = parse_v3(
            &env.event_type,
            env.resource.original_type.as_deref(),
            &plaintext,
        )?;
        if self.strictness == Strictness::Strict && !parsed.violations.is_empty() {
            return Err(Error::Invalid {
                kind: parsed.notification.id().unwrap_or("unknown"),
                violations: parsed.violations,
            });
        }
        Ok(Received {
            meta: Meta {
                id: env.id.to_string(),
                event_type: env.event_type.to_string(),
                create_time: env.create_time.as_deref().map(str::to_owned),
                summary: env.summary.as_deref().map(str::to_owned),
                original_type: env.resource.original_type.as_deref().map(str::to_owned),
            },
            notification: parsed.notification,
            violations: parsed.violations,
            plaintext,
            signature_from_cache: verified.from_cache(),
        })
    }
}
