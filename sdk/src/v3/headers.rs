//! The `Wechatpay-*` headers of an APIv3 notification, read strictly.

use http::{HeaderMap, HeaderName};

use crate::error::{RequestError, SignatureError};

/// `Wechatpay-Timestamp`.
pub const TIMESTAMP: &str = "Wechatpay-Timestamp";
/// `Wechatpay-Nonce`.
pub const NONCE: &str = "Wechatpay-Nonce";
/// `Wechatpay-Signature`.
pub const SIGNATURE: &str = "Wechatpay-Signature";
/// `Wechatpay-Serial`.
pub const SERIAL: &str = "Wechatpay-Serial";
/// `Wechatpay-Signature-Type`.
pub const SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
/// The only signature type this SDK verifies.
pub const RSA_SIGNATURE_TYPE: &str = "WECHATPAY2-SHA256-RSA2048";
/// The prefix of WeChat Pay's deliberate bad-signature probes.
pub const PROBE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// The longest header value accepted (an RSA-4096 signature in base64 is 684 characters).
pub const MAX_HEADER_LEN: usize = 1024;

/// A header's name as the header map stores it (lowercase), with the name errors give.
#[derive(Clone, Copy)]
struct Name {
    stored: &'static HeaderName,
    display: &'static str,
}

// Looked up by `HeaderName`, a header name is not parsed and lowercased on every request.
static TIMESTAMP_NAME: HeaderName = HeaderName::from_static("wechatpay-timestamp");
static NONCE_NAME: HeaderName = HeaderName::from_static("wechatpay-nonce");
static SIGNATURE_NAME: HeaderName = HeaderName::from_static("wechatpay-signature");
static SERIAL_NAME: HeaderName = HeaderName::from_static("wechatpay-serial");
static SIGNATURE_TYPE_NAME: HeaderName = HeaderName::from_static("wechatpay-signature-type");

const TIMESTAMP_HEADER: Name = Name {
    stored: &TIMESTAMP_NAME,
    display: TIMESTAMP,
};
const NONCE_HEADER: Name = Name {
    stored: &NONCE_NAME,
    display: NONCE,
};
const SIGNATURE_HEADER: Name = Name {
    stored: &SIGNATURE_NAME,
    display: SIGNATURE,
};
const SERIAL_HEADER: Name = Name {
    stored: &SERIAL_NAME,
    display: SERIAL,
};
const SIGNATURE_TYPE_HEADER: Name = Name {
    stored: &SIGNATURE_TYPE_NAME,
    display: SIGNATURE_TYPE,
};

/// The signature headers of one request, borrowed from the header map.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignatureHeaders<'a> {
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub signature: &'a str,
    pub serial: &'a str,
}

impl<'a> SignatureHeaders<'a> {
    /// Reads and checks the headers: each present once, visible ASCII, bounded; the signature
    /// type absent or RSA; probes recognised before anything else is looked at.
    pub(crate) fn read(headers: &'a HeaderMap) -> Result<Self, crate::Error> {
        if let Some(kind) = optional(headers, SIGNATURE_TYPE_HEADER)?
            && kind != RSA_SIGNATURE_TYPE
        {
            return Err(SignatureError::UnsupportedType(kind.to_owned()).into());
        }
        let signature = required(headers, SIGNATURE_HEADER)?;
        if signature.starts_with(PROBE_PREFIX) {
            return Err(SignatureError::Probe.into());
        }
        Ok(SignatureHeaders {
            timestamp: required(headers, TIMESTAMP_HEADER)?,
            nonce: required(headers, NONCE_HEADER)?,
            signature,
            serial: required(headers, SERIAL_HEADER)?,
        })
    }

    /// The timestamp as Unix seconds.
    pub(crate) fn unix_timestamp(&self) -> Result<i64, RequestError> {
        let t = self.timestamp;
        if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RequestError::InvalidHeader {
                name: TIMESTAMP,
                reason: "expected decimal Unix seconds".to_owned(),
            });
        }
        // At most 12 digits: always fits.
        Ok(t.parse().unwrap_or(i64::MAX))
    }
}

fn required(headers: &HeaderMap, name: Name) -> Result<&str, RequestError> {
    optional(headers, name)?.ok_or(RequestError::MissingHeader(name.display))
}

fn optional(headers: &HeaderMap, name: Name) -> Result<Option<&str>, RequestError> {
    let (stored, name) = (name.stored, name.display);
    let mut values = headers.get_all(stored).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(RequestError::DuplicateHeader(name));
    }
    if value.len() > MAX_HEADER_LEN {
        return Err(RequestError::InvalidHeader {
            name,
            reason: format!("{} bytes, longer than {MAX_HEADER_LEN}", value.len()),
        });
    }
    let text = value.to_str().map_err(|_| RequestError::InvalidHeader {
        name,
        reason: "not visible ASCII".to_owned(),
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(RequestError::InvalidHeader {
            name,
            reason: "empty".to_owned(),
        });
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    const OK: &[(&str, &str)] = &[
        ("wechatpay-timestamp", "1710048759"),
        ("WECHATPAY-NONCE", "3d980fb850fdce97f6bfb3d248597f16"),
        ("Wechatpay-Signature", "c2lnbmF0dXJl"),
        (
            "Wechatpay-Serial",
            "PUB_KEY_ID_0114232134912410000000000000",
        ),
    ];

    #[test]
    fn names_are_case_insensitive_and_type_is_optional() {
        let h = map(OK);
        let s = SignatureHeaders::read(&h).unwrap();
        assert_eq!(s.timestamp, "1710048759");
        assert_eq!(s.unix_timestamp().unwrap(), 1_710_048_759);
    }

    #[test]
    fn each_fault_names_its_header() {
        let mut dup = OK.to_vec();
        dup.push(("wechatpay-nonce", "other"));
        let e = SignatureHeaders::read(&map(&dup)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DuplicateHeader);
        assert_eq!(e.path().as_deref(), Some(NONCE));

        let e = SignatureHeaders::read(&map(&OK[1..])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MissingHeader);
        assert_eq!(e.path().as_deref(), Some(TIMESTAMP));

        let mut sm2 = OK.to_vec();
        sm2.push((SIGNATURE_TYPE, "WECHATPAY2-SM2-WITH-SM3"));
        let e = SignatureHeaders::read(&map(&sm2)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedSignatureType);
        assert!(e.to_string().contains("WECHATPAY2-SM2-WITH-SM3"));

        let mut probe = OK.to_vec();
        probe[2] = (SIGNATURE, "WECHATPAY/SIGNTEST/abc");
        let e = SignatureHeaders::read(&map(&probe)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignatureProbe);

        let long = "A".repeat(MAX_HEADER_LEN + 1);
        let mut big = OK.to_vec();
        big[1] = (NONCE, &long);
        let e = SignatureHeaders::read(&map(&big)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidHeader);
    }
}
