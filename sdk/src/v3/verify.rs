//! Verification of APIv3 notifications, and the type-state that keeps unverified data out of
//! reach: the decrypted resource is only available from a [`Verified`] request, and only
//! [`Verifier::verify`] makes one (or, loudly, [`Verified::insecure_assume_verified_for_tests`]).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;

use super::diagnose::body_hints;
use super::envelope::Envelope;
use super::headers::SignatureHeaders;
use super::signature_cache::{self, SignatureCache, SignedParts};
use crate::crypto::MessageDigest;
use crate::error::{DecryptError, Error, RequestError, SignatureError};
use crate::keys::{ApiV3Key, KeyIdKind, Keyring};
use crate::time::{Clock, SystemClock};

/// The default largest accepted body: 1 MiB of base64 ciphertext (the reference's limit for
/// `resource.ciphertext`) plus its envelope.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024 + 4096;

/// The default allowed difference between `Wechatpay-Timestamp` and now, in seconds.
pub const DEFAULT_WINDOW_SECS: i64 = 300;

/// Checks the signature of APIv3 notifications against a [`Keyring`].
///
/// ```
/// use wechatpay_notify::keys::Keyring;
/// use wechatpay_notify::time::FixedClock;
/// use wechatpay_notify::v3::Verifier;
///
/// let verifier = Verifier::new(Keyring::new())
///     .with_clock(FixedClock(1_710_048_759))
///     .with_window_secs(120);
/// let headers = http::HeaderMap::new();
/// let err = verifier.verify(&headers, b"{}").unwrap_err();
/// assert_eq!(err.kind(), wechatpay_notify::ErrorKind::MissingHeader);
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    keyring: Arc<Keyring>,
    clock: Arc<dyn Clock>,
    window: Option<i64>,
    max_body: usize,
    cache: Arc<SignatureCache>,
}

impl Verifier {
    /// A verifier with the system clock, a 300-second window, a 1 MiB body limit and a cache
    /// of 4096 verified requests.
    pub fn new(keyring: Keyring) -> Self {
        Verifier {
            keyring: Arc::new(keyring),
            clock: Arc::new(SystemClock),
            window: Some(DEFAULT_WINDOW_SECS),
            max_body: DEFAULT_MAX_BODY,
            cache: Arc::new(SignatureCache::new(signature_cache::DEFAULT_CAPACITY)),
        }
    }

    /// Uses `clock` for "now".
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Allows `secs` seconds between `Wechatpay-Timestamp` and now, either way.
    #[must_use]
    pub fn with_window_secs(mut self, secs: u32) -> Self {
        self.window = Some(i64::from(secs));
        self
    }

    /// Accepts any timestamp: for inspecting captured requests offline, never for serving.
    /// The signature is still verified.
    #[must_use]
    pub fn without_time_check(mut self) -> Self {
        self.window = None;
        self
    }

    /// Rejects bodies larger than `bytes`.
    #[must_use]
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Remembers up to `entries` verified requests (0 turns the cache off). The default is
    /// 4096 entries of 40 bytes each.
    #[must_use]
    pub fn with_signature_cache(mut self, entries: usize) -> Self {
        self.cache = Arc::new(SignatureCache::new(entries));
        self
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The largest body accepted.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Verifies a request over its raw body bytes, then parses its envelope.
    ///
    /// Checks, in order: body size; headers (present once each, signature type RSA or absent,
    /// probe); timestamp window; base64; the key for `Wechatpay-Serial`; RSA-SHA256 over
    /// `"{timestamp}\n{nonce}\n{body}\n"` (skipped for a byte-identical copy of a request that
    /// verified within the window); then the envelope JSON.
    ///
    /// # Errors
    /// [`Error::Request`], [`Error::Signature`] (with diagnoses when the signature does not
    /// match) or [`Error::Envelope`].
    pub fn verify<'a>(&self, headers: &HeaderMap, body: &'a [u8]) -> Result<Verified<'a>, Error> {
        if body.len() > self.max_body {
            return Err(RequestError::BodyTooLarge {
                size: body.len(),
                limit: self.max_body,
            }
            .into());
        }
        let h = SignatureHeaders::read(headers)?;
        let timestamp = h.unix_timestamp()?;
        let now = self.clock.now_unix();
        if let Some(window) = self.window {
            let skew = now.saturating_sub(timestamp);
            if skew > window {
                return Err(SignatureError::TooOld { age: skew, window }.into());
            }
            if -skew > window {
                return Err(SignatureError::InFuture {
                    ahead: -skew,
                    window,
                }
                .into());
            }
        }
        let key = self
            .keyring
            .get(h.serial)
            .ok_or_else(|| unknown_serial(&self.keyring, h.serial))?;

        // One hash of the signed message serves the signature check and the cache key.
        let message = MessageDigest::of_v3_message(h.timestamp, h.nonce, body);
        let digest = self.cache.is_enabled().then(|| {
            SignedParts {
                serial: h.serial,
                signature: h.signature,
                message_digest: message.as_bytes(),
            }
            .digest()
        });
        let cached = digest.is_some_and(|d| self.cache.contains(&d, now));
        if !cached {
            // A cache hit equals, byte for byte, a request whose signature decoded and
            // verified: only a miss needs decoding.
            let signature = STANDARD
                .decode(h.signature)
                .map_err(|_| SignatureError::BadBase64)?;
            if !message.verify_rsa(key, &signature) {
                return Err(SignatureError::Mismatch {
                    hints: body_hints(body),
                }
                .into());
            }
            // Trusted as long as its timestamp stays in the window.
            let until = self
                .window
                .map_or(i64::MAX, |w| timestamp.saturating_add(w));
            if let Some(d) = digest {
                self.cache.insert(d, until);
            }
        }
        let envelope = Envelope::parse(body)?;
        Ok(Verified {
            envelope,
            body,
            serial: h.serial.to_owned(),
            timestamp,
            from_cache: cached,
        })
    }
}

fn unknown_serial(keyring: &Keyring, serial: &str) -> Error {
    let kind = KeyIdKind::of(serial);
    let hint = if keyring.is_empty() {
        Some("the keyring is empty".to_owned())
    } else {
        match kind {
            KeyIdKind::PublicKeyId if !keyring.contains_kind(KeyIdKind::PublicKeyId) => Some(
                "a WeChat Pay public key id, but the keyring holds only platform certificates".to_owned(),
            ),
            KeyIdKind::CertificateSerial if !keyring.contains_kind(KeyIdKind::CertificateSerial) => Some(
                "a platform certificate serial, but the keyring holds only WeChat Pay public keys".to_owned(),
            ),
            _ => None,
        }
    };
    SignatureError::UnknownSerial {
        serial: serial.to_owned(),
        hint,
    }
    .into()
}

/// A request whose signature verified, with its parsed envelope.
#[derive(Debug, Clone)]
pub struct Verified<'a> {
    envelope: Envelope<'a>,
    body: &'a [u8],
    serial: String,
    timestamp: i64,
    from_cache: bool,
}

impl<'a> Verified<'a> {
    /// The envelope.
    pub fn envelope(&self) -> &Envelope<'a> {
        &self.envelope
    }

    /// The raw body, as verified.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The `Wechatpay-Serial` the signature verified under.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// `Wechatpay-Timestamp`, Unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// `true` when a byte-identical request had verified before and the RSA step was skipped.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// Decrypts the resource with the APIv3 key.
    ///
    /// # Errors
    /// [`Error::Decrypt`] naming the fault (algorithm, base64, nonce length, tag).
    pub fn decrypt(&self, key: &ApiV3Key) -> Result<Vec<u8>, Error> {
        let r = &self.envelope.resource;
        if r.algorithm != "AEAD_AES_256_GCM" {
            return Err(DecryptError::UnsupportedAlgorithm(r.algorithm.to_string()).into());
        }
        // Decoded once, then opened where it lies: the buffer becomes the plaintext.
        let mut buffer = STANDARD
            .decode(r.ciphertext.as_bytes())
            .map_err(|_| DecryptError::BadBase64)?;
        // The AEAD checks the nonce's length (12 bytes) and the tag's presence first.
        let nonce = r.nonce.as_bytes();
        let aad = r.associated_data.as_deref().unwrap_or("");
        match key
            .opening()
            .open_in_place(nonce, aad.as_bytes(), &mut buffer)
        {
            Ok(()) => Ok(buffer),
            Err(e) => Err(match e {
                crate::crypto::AeadError::NonceLength(n) => DecryptError::NonceLength(n),
                crate::crypto::AeadError::TooShort => DecryptError::TooShort,
                _ => DecryptError::TagMismatch,
            }
            .into()),
        }
    }

    /// Treats a body as verified without checking anything. **Only for tests** of code that
    /// consumes verified notifications; never call it on a request from the network.
    ///
    /// # Errors
    /// [`Error::Envelope`] when the body is not an envelope.
    pub fn insecure_assume_verified_for_tests(body: &'a [u8]) -> Result<Self, Error> {
        Ok(Verified {
            envelope: Envelope::parse(body)?,
            body,
            serial: String::new(),
            timestamp: 0,
            from_cache: false,
        })
    }
}
