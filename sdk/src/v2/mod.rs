//! APIv2 (XML) notifications: parse, recognise, verify the `sign`, decrypt, and parse into
//! the kind's type — from the same catalogue, into the same [`Notification`] as APIv3.
//!
//! ```text
//! body       ≤ 64 KiB, UTF-8, a flat <xml> (no DTD, no entities, no duplicates, depth 2)
//! recognise  event_type (payscore-style events) or the kind's marker elements (classic pages)
//! sign       MD5 or HMAC-SHA256 with the APIv2 key, by sign_type / algorithm or the kind's
//!            default, among the algorithms the merchant accepts; constant-time comparison
//! decrypt    refund req_info: AES-256-ECB, key = md5(APIv2 key) hex, PKCS#7 checked
//!            event_ciphertext: AEAD_AES_256_GCM with the APIv3 key
//! parse      envelope + plaintext elements → `_$n` lists, JSON text → the kind's type
//! ```
//!
//! [`check`] is the first half (what must hold before a request may be kept), [`Checked::parse`]
//! the second. [`Receiver::receive`](crate::Receiver::receive) runs both for a body whose first
//! non-whitespace byte is `<`.

mod service;
mod sign;
mod tree;
mod xml;

use std::collections::BTreeMap;

use base64::Engine as _;
use md5::Digest as _;

pub use sign::{SignType, SignTypes, SignTypesError, sign, sign_string};
pub use xml::{FlatXml, MAX_ELEMENTS, XmlError, XmlFault, parse_flat};

use crate::catalogue::{V2Encryption, V2Recognise, V2ReplyStyle, V2Sign, V2SignDefault, V2Spec};
use crate::error::{DecryptError, Error, ResourceError, ResourceFault, V2Error};
use crate::keys::{ApiV2Key, ApiV3Key};
use crate::ledger::DeliveryKey;
use crate::validate::{Validate, Violation};
use crate::{Kind, Notification};

/// The largest APIv2 body accepted by default: 64 KiB (the richest notification is a few KiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// `true` when `body` is APIv2 XML: its first non-whitespace byte is `<`.
///
/// ```
/// assert!(wechatpay_notify::v2::is_xml(b"\n <xml></xml>"));
/// assert!(!wechatpay_notify::v2::is_xml(b"{\"id\":1}"));
/// ```
pub fn is_xml(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// The reply elements for a body: its kind's, or, when it cannot be recognised, `code` /
/// `message` for a body with an `event_type` and `return_code` / `return_msg` otherwise.
pub fn reply_style(body: &[u8]) -> V2ReplyStyle {
    let Ok(outer) = parse_flat(body, "xml", "xml") else {
        return V2ReplyStyle::ReturnCode;
    };
    match recognise(&outer) {
        Ok(kind) => spec(kind).reply,
        Err(_) if outer.non_empty("event_type").is_some() => V2ReplyStyle::CodeMessage,
        Err(_) => V2ReplyStyle::ReturnCode,
    }
}

/// What checking an APIv2 body needs: the keys, the accepted sign types, the size limit.
#[derive(Clone, Copy, Debug)]
pub struct CheckConfig<'a> {
    /// The APIv2 key (signs, refund `req_info`).
    pub api_v2_key: Option<&'a ApiV2Key>,
    /// The APIv3 key (`event_ciphertext`).
    pub api_v3_key: Option<&'a ApiV3Key>,
    /// The sign algorithms accepted.
    pub sign_types: SignTypes,
    /// The largest body accepted, in bytes.
    pub body_limit: usize,
}

/// An APIv2 body that passed [`check`]: recognised, its sign verified (for kinds without one,
/// its encrypted part decrypted with valid padding), its business data decrypted. What a
/// ledger may keep; [`Checked::parse`] gives the typed notification.
#[derive(Clone, Debug)]
pub struct Checked {
    kind: Kind,
    outer: FlatXml,
    body: Vec<u8>,
    plaintext: Option<Vec<u8>>,
    parsed_plaintext: Option<Result<FlatXml, XmlError>>,
    sign_type: Option<SignType>,
    delivery: DeliveryKey,
}

/// An APIv2 notification parsed into its kind's type.
#[derive(Debug)]
pub struct ParsedV2 {
    /// The typed notification.
    pub notification: Notification,
    /// Lengths, formats and enum values outside the catalogue's constraints.
    pub violations: Vec<Violation>,
}

fn spec(kind: Kind) -> &'static V2Spec {
    kind.info()
        .v2
        .expect("APIv2 kinds carry their V2Spec (the generator emits it)")
}

/// Recognises, verifies and decrypts an APIv2 body.
///
/// # Errors
/// [`Error::Request`] (body too large) or [`Error::V2`]: malformed XML, an unknown kind, a
/// `return_code` FAIL with nothing to process, a missing or wrong sign, an algorithm the
/// merchant does not accept, a missing key, bad base64, bad padding, a failed AES-GCM.
pub fn check(body: &[u8], config: &CheckConfig<'_>) -> Result<Checked, Error> {
    if body.len() > config.body_limit {
        return Err(crate::error::RequestError::BodyTooLarge {
            size: body.len(),
            limit: config.body_limit,
        }
        .into());
    }
    let outer = parse_flat(body, "xml", "xml").map_err(V2Error::Xml)?;
    let kind = recognise(&outer)?;
    let spec = spec(kind);
    let sign_type = verify_sign(kind, spec, &outer, config)?;
    let plaintext = decrypt(kind, spec, &outer, config)?;
    let parsed_plaintext = plaintext.as_ref().map(|p| {
        let root = match spec.encryption {
            V2Encryption::ApiV2KeyEcb { root, .. } | V2Encryption::ApiV3KeyGcm { root, .. } => root,
            V2Encryption::None => "xml",
        };
        parse_flat(p, root, encrypted_field(spec).unwrap_or("xml"))
    });
    let mut checked = Checked {
        kind,
        outer,
        body: body.to_vec(),
        plaintext,
        parsed_plaintext,
        sign_type,
        delivery: DeliveryKey::from_stored(String::new()),
    };
    checked.delivery = checked.derive_delivery();
    Ok(checked)
}

fn encrypted_field(spec: &V2Spec) -> Option<&'static str> {
    match spec.encryption {
        V2Encryption::None => None,
        V2Encryption::ApiV2KeyEcb { field, .. } | V2Encryption::ApiV3KeyGcm { field, .. } => {
            Some(field)
        }
    }
}

/// Names the kind of an APIv2 body: by `event_type`, else by the classic kinds' marker
/// elements, highest priority first.
///
/// # Errors
/// [`V2Error::ReturnFail`] for a `return_code` FAIL body that carries nothing else a kind is
/// recognised by; [`V2Error::UnknownKind`] otherwise.
pub fn recognise(outer: &FlatXml) -> Result<Kind, V2Error> {
    if let Some(event_type) = outer.non_empty("event_type") {
        return Kind::ALL
            .iter()
            .copied()
            .find(|k| {
                k.info().v2.is_some_and(
                    |s| matches!(s.recognise, V2Recognise::EventType(e) if e == event_type),
                )
            })
            .ok_or(V2Error::UnknownKind);
    }
    let mut classic: Vec<(i64, Kind, &'static [&'static str])> = Kind::ALL
        .iter()
        .filter_map(|k| match k.info().v2?.recognise {
            V2Recognise::AnyPresent { fields, priority } => Some((priority, *k, fields)),
            V2Recognise::EventType(_) => None,
        })
        .collect();
    classic.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, kind, fields) in classic {
        if fields.iter().any(|f| outer.non_empty(f).is_some()) {
            return Ok(kind);
        }
    }
    if outer.get("return_code") == Some("FAIL") {
        return Err(V2Error::ReturnFail {
            message: outer.non_empty("return_msg").map(str::to_owned),
        });
    }
    Err(V2Error::UnknownKind)
}

fn verify_sign(
    kind: Kind,
    spec: &V2Spec,
    outer: &FlatXml,
    config: &CheckConfig<'_>,
) -> Result<Option<SignType>, V2Error> {
    let V2Sign::Required {
        algorithm_field,
        default,
    } = spec.sign
    else {
        return Ok(None);
    };
    let key = config.api_v2_key.ok_or(V2Error::KeyNotConfigured {
        kind: kind.id(),
        key: "APIv2 key",
    })?;
    let sign = outer.non_empty("sign").ok_or(V2Error::MissingSign)?;
    let not_accepted = |found: &str| V2Error::SignTypeNotAccepted {
        field: algorithm_field,
        found: found.to_owned(),
        accepted: config.sign_types.to_string(),
    };
    let ty = match outer.non_empty(algorithm_field) {
        Some(name) => SignType::from_wire(name).ok_or_else(|| not_accepted(name))?,
        None => match default {
            V2SignDefault::Md5 => SignType::Md5,
            V2SignDefault::HmacSha256 => SignType::HmacSha256,
            V2SignDefault::ByLength if sign.len() == 64 => SignType::HmacSha256,
            V2SignDefault::ByLength => SignType::Md5,
        },
    };
    if !config.sign_types.accepts(ty) {
        return Err(not_accepted(ty.as_str()));
    }
    if !sign::matches(outer, key, ty, sign) {
        return Err(V2Error::SignMismatch {
            sign_type: ty.as_str(),
        });
    }
    Ok(Some(ty))
}

/// The AES-256-ECB key of refund `req_info`: md5(APIv2 key) as 32 lower-case hex characters.
pub(crate) fn req_info_key(key: &ApiV2Key) -> zeroize::Zeroizing<[u8; 32]> {
    let digest = md5::Md5::digest(key.expose());
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    for (i, b) in digest.iter().enumerate() {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    out
}

fn decrypt(
    kind: Kind,
    spec: &V2Spec,
    outer: &FlatXml,
    config: &CheckConfig<'_>,
) -> Result<Option<Vec<u8>>, V2Error> {
    let b64 = |field: &'static str| {
        let text = outer.non_empty(field).ok_or(V2Error::BadBase64 { field })?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| V2Error::BadBase64 { field })
    };
    match spec.encryption {
        V2Encryption::None => Ok(None),
        V2Encryption::ApiV2KeyEcb { field, .. } => {
            let key = config.api_v2_key.ok_or(V2Error::KeyNotConfigured {
                kind: kind.id(),
                key: "APIv2 key",
            })?;
            let ciphertext = b64(field)?;
            crate::crypto::aes256ecb_decrypt(&req_info_key(key), &ciphertext)
                .map(Some)
                .map_err(|source| V2Error::BadPadding { field, source })
        }
        V2Encryption::ApiV3KeyGcm {
            field,
            nonce,
            associated_data,
            algorithm,
            ..
        } => {
            let key = config.api_v3_key.ok_or(V2Error::KeyNotConfigured {
                kind: kind.id(),
                key: "APIv3 key",
            })?;
            if let Some(algorithm) = algorithm {
                let named = outer.get(algorithm).unwrap_or_default();
                if named != "AEAD_AES_256_GCM" {
                    return Err(V2Error::Decrypt {
                        field: algorithm,
                        source: DecryptError::UnsupportedAlgorithm(named.to_owned()),
                    });
                }
            }
            let ciphertext = b64(field)?;
            let nonce_bytes = outer.get(nonce).unwrap_or_default().as_bytes();
            let aad = outer.get(associated_data).unwrap_or_default().as_bytes();
            crate::crypto::aes256gcm_open(key.expose(), nonce_bytes, aad, &ciphertext)
                .map(Some)
                .map_err(|e| match e {
                    crate::crypto::AeadError::NonceLength(n) => V2Error::Decrypt {
                        field: nonce,
                        source: DecryptError::NonceLength(n),
                    },
                    crate::crypto::AeadError::TooShort => V2Error::Decrypt {
                        field,
                        source: DecryptError::TooShort,
                    },
                    _ => V2Error::Decrypt {
                        field,
                        source: DecryptError::TagMismatch,
                    },
                })
        }
    }
}

impl Checked {
    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The body's elements.
    pub fn outer(&self) -> &FlatXml {
        &self.outer
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The decrypted plaintext (XML), for encrypted kinds.
    pub fn plaintext(&self) -> Option<&[u8]> {
        self.plaintext.as_deref()
    }

    /// The algorithm the sign verified with; `None` for kinds without a sign.
    pub fn sign_type(&self) -> Option<SignType> {
        self.sign_type
    }

    /// The reply elements of the kind.
    pub fn reply_style(&self) -> V2ReplyStyle {
        spec(self.kind).reply
    }

    /// The ledger's key of this delivery: [`DeliveryKey::v2`] over the kind id, the merchant
    /// (the first present of the kind's merchant elements) and the kind's identifying
    /// elements — its business key, then its state (`out_refund_no`, `refund_status`). When
    /// the decrypted plaintext is not XML, its SHA-256 stands in for the identifying elements.
    pub fn delivery(&self) -> &DeliveryKey {
        &self.delivery
    }

    /// The notification id: the body's `event_id` when it has one, else the delivery key.
    pub fn id(&self) -> String {
        self.outer
            .non_empty("event_id")
            .map_or_else(|| self.delivery.as_str().to_owned(), str::to_owned)
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        let plain = match &self.parsed_plaintext {
            Some(Ok(p)) => p.non_empty(name),
            _ => None,
        };
        plain.or_else(|| self.outer.non_empty(name))
    }

    fn derive_delivery(&self) -> DeliveryKey {
        let spec = spec(self.kind);
        let merchant = spec
            .merchant
            .iter()
            .find_map(|m| self.lookup(m))
            .unwrap_or_default();
        let digest;
        let mut fields: Vec<&str> = Vec::new();
        if let Some(Err(_)) = &self.parsed_plaintext {
            let bytes = self.plaintext.as_deref().unwrap_or_default();
            digest = hex(&crate::crypto::sha256_length_prefixed(&[bytes]));
            fields.push(&digest);
        } else {
            for key in self.kind.info().business_key {
                fields.push(self.lookup(key).unwrap_or_default());
            }
            fields.push(spec.state.and_then(|s| self.lookup(s)).unwrap_or_default());
        }
        DeliveryKey::v2(self.kind.id(), merchant, &fields)
    }

    /// Parses the body (and plaintext) into the kind's type and validates it.
    ///
    /// # Errors
    /// [`ResourceError`]: the plaintext is not flat XML (`malformed_resource`), a family member
    /// is given twice, a JSON element is not JSON, a required element is missing, or a value
    /// does not fit its type — with the path at fault.
    pub fn parse(&self) -> Result<ParsedV2, ResourceError> {
        let spec = spec(self.kind);
        let id = Some(self.kind.id());
        let fields: Vec<(&str, &str)> = match &self.parsed_plaintext {
            None => self
                .outer
                .entries()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            Some(Err(e)) => {
                return Err(ResourceError {
                    kind: id,
                    reason: ResourceFault::MalformedXml,
                    path: Some(e.path.clone()),
                    message: e.message.clone(),
                });
            }
            Some(Ok(plain)) => {
                let mut out: Vec<(&str, &str)> = self
                    .outer
                    .entries()
                    .iter()
                    .filter(|(k, _)| spec.envelope.contains(&k.as_str()))
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                for (k, v) in plain.entries() {
                    if !out.iter().any(|(o, _)| *o == k) {
                        out.push((k, v));
                    }
                }
                out
            }
        };
        let tree = tree::build(spec, fields.into_iter()).map_err(|f| ResourceError {
            kind: id,
            reason: if f.duplicate {
                ResourceFault::MalformedXml
            } else {
                ResourceFault::WrongType
            },
            path: Some(f.path),
            message: f.message,
        })?;
        let notification = deserialize(self.kind, tree)?;
        let violations = notification.validate();
        Ok(ParsedV2 {
            notification,
            violations,
        })
    }
}

fn deserialize(
    kind: Kind,
    tree: BTreeMap<String, tree::Node>,
) -> Result<Notification, ResourceError> {
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(tree::map_deserializer(tree), &mut track);
    match kind.deserialize(de) {
        Ok(n) => Ok(n),
        Err(e) => {
            let message = e.to_string();
            let mut path = track.path().to_string();
            if path == "." {
                path.clear();
            }
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                path = if path.is_empty() {
                    field.to_owned()
                } else {
                    format!("{path}.{field}")
                };
            }
            let reason = if message.starts_with("missing field") {
                ResourceFault::MissingField
            } else {
                ResourceFault::WrongType
            };
            Err(ResourceError {
                kind: Some(kind.id()),
                reason,
                path: (!path.is_empty()).then_some(path),
                message,
            })
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_req_info_key_is_the_md5_hex_of_the_api_v2_key() {
        let key = ApiV2Key::from_text("192006250b4c09247ec02edce69f6a2d").unwrap();
        // md5("192006250b4c09247ec02edce69f6a2d"), computed independently (Python hashlib).
        assert_eq!(
            std::str::from_utf8(&*req_info_key(&key)).unwrap(),
            "d96eb16afdd491fa1e705096edbc2205"
        );
    }
}
