//! The `Wechatpay-*` headers of an APIv3 notification, read strictly.

use http::{HeaderMap, HeaderValue};

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
        let found = Found::collect(headers);
        if let Some(kind) = found.optional(Header::SignatureType)?
            && kind != RSA_SIGNATURE_TYPE
        {
            return Err(SignatureError::UnsupportedType(kind.to_owned()).into());
        }
        let signature = found.required(Header::Signature)?;
        if signature.starts_with(PROBE_PREFIX) {
            return Err(SignatureError::Probe.into());
        }
        Ok(SignatureHeaders {
            timestamp: found.required(Header::Timestamp)?,
            nonce: found.required(Header::Nonce)?,
            signature,
            serial: found.required(Header::Serial)?,
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

/// The headers read, in the order of `Found::values`.
#[derive(Clone, Copy)]
enum Header {
    SignatureType,
    Signature,
    Timestamp,
    Nonce,
    Serial,
}

impl Header {
    #[cfg(test)]
    const ALL: [Header; 5] = [
        Header::SignatureType,
        Header::Signature,
        Header::Timestamp,
        Header::Nonce,
        Header::Serial,
    ];

    /// The name as errors give it.
    fn name(self) -> &'static str {
        match self {
            Header::SignatureType => SIGNATURE_TYPE,
            Header::Signature => SIGNATURE,
            Header::Timestamp => TIMESTAMP,
            Header::Nonce => NONCE,
            Header::Serial => SERIAL,
        }
    }

    /// The header a lowercase name (as a header map stores names) is, if one of these.
    fn of(name: &str) -> Option<Header> {
        // Every name here is `wechatpay-` and a distinct rest.
        match name.strip_prefix("wechatpay-")? {
            "signature-type" => Some(Header::SignatureType),
            "signature" => Some(Header::Signature),
            "timestamp" => Some(Header::Timestamp),
            "nonce" => Some(Header::Nonce),
            "serial" => Some(Header::Serial),
            _ => None,
        }
    }
}

/// The values of the five headers, found in one pass over the map: looking each up by name
/// would hash every name again. A second value of a header is remembered as a duplicate.
struct Found<'a> {
    values: [Option<&'a HeaderValue>; 5],
    duplicated: [bool; 5],
}

impl<'a> Found<'a> {
    fn collect(headers: &'a HeaderMap) -> Self {
        let mut found = Found {
            values: [None; 5],
            duplicated: [false; 5],
        };
        for (name, value) in headers {
            if let Some(header) = Header::of(name.as_str()) {
                let i = header as usize;
                if found.values[i].is_some() {
                    found.duplicated[i] = true;
                } else {
                    found.values[i] = Some(value);
                }
            }
        }
        found
    }

    fn required(&self, header: Header) -> Result<&'a str, RequestError> {
        self.optional(header)?
            .ok_or(RequestError::MissingHeader(header.name()))
    }

    fn optional(&self, header: Header) -> Result<Option<&'a str>, RequestError> {
        let name = header.name();
        let Some(value) = self.values[header as usize] else {
            return Ok(None);
        };
        if self.duplicated[header as usize] {
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
    fn each_header_is_found_by_its_stored_name_only() {
        for (i, header) in Header::ALL.into_iter().enumerate() {
            assert_eq!(header as usize, i);
            let stored = header.name().to_ascii_lowercase();
            assert!(matches!(Header::of(&stored), Some(h) if h as usize == i));
            assert!(
                Header::of(header.name()).is_none(),
                "a map stores names lowercase"
            );
        }
        for other in [
            "wechatpay-",
            "wechatpay-signature-typ",
            "x-wechatpay-nonce",
            "host",
        ] {
            assert!(Header::of(other).is_none(), "{other}");
        }
        let mut extra = OK.to_vec();
        extra.extend([
            ("content-type", "application/json"),
            ("x-wechatpay-serial", "x"),
        ]);
        let h = map(&extra);
        let s = SignatureHeaders::read(&h).unwrap();
        assert_eq!(s.serial, "PUB_KEY_ID_0114232134912410000000000000");
    }

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
