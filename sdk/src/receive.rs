//! The whole APIv3 path in one call: verify, decrypt, classify, parse, validate.

use http::HeaderMap;
use serde::Serialize;

use crate::error::Error;
use crate::keys::{ApiV3Key, Keyring};
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
    api_v3_key: std::sync::Arc<ApiV3Key>,
    strictness: Strictness,
}

/// Where a notification came from and when: the envelope's plain fields.
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
            api_v3_key: std::sync::Arc::new(api_v3_key),
            strictness: Strictness::Lenient,
        }
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

    /// Verifies, decrypts, classifies, parses and validates one request.
    ///
    /// # Errors
    /// Any stage's [`Error`]; its [`Error::http_status`] is the answer to give.
    pub fn receive(&self, headers: &HeaderMap, body: &[u8]) -> Result<Received, Error> {
        let verified = self.verifier.verify(headers, body)?;
        self.open(&verified)
    }

    /// Decrypts, classifies, parses and validates a request [`Verifier::verify`] accepted:
    /// the second half of [`receive`](Self::receive), for callers (such as
    /// [`Service`](crate::service::Service)) that record the verified request before opening it.
    ///
    /// # Errors
    /// [`Error::Decrypt`], [`Error::Resource`] or, in strict mode, [`Error::Invalid`].
    pub fn open(&self, verified: &Verified<'_>) -> Result<Received, Error> {
        let plaintext = verified.decrypt(&self.api_v3_key)?;
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
