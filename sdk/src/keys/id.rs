//! Key ids: the values of the `Wechatpay-Serial` header.

use std::fmt;

use super::KeyError;

/// The prefix of WeChat Pay public key ids (微信支付公钥ID).
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

/// The longest certificate serial accepted, in hex digits (X.509 allows 20 octets, 40 digits;
/// leading zeros beyond that are tolerated up to this length).
const MAX_SERIAL_DIGITS: usize = 64;

/// Which of WeChat Pay's two kinds of verification key an id names.
///
/// WeChat Pay signs a notification either with a platform certificate's key (平台证书,
/// `Wechatpay-Serial` is the certificate's hexadecimal serial) or with a WeChat Pay public key
/// (微信支付公钥, `Wechatpay-Serial` is its `PUB_KEY_ID_…` id). A merchant migrating from one
/// to the other receives both at once.
///
/// ```
/// use wechatpay_notify::keys::KeyIdKind;
///
/// assert_eq!(KeyIdKind::of("PUB_KEY_ID_0114232134912410000"), KeyIdKind::PublicKeyId);
/// assert_eq!(KeyIdKind::of("5157F09EFDC096DE15EBE81A47057A7232F1B8E1"), KeyIdKind::CertificateSerial);
/// // `of` only classifies; `parse` also checks the id is well-formed.
/// assert_eq!(KeyIdKind::parse("5157f09efdc096de15ebe81a47057a7232f1b8e1"), Some(KeyIdKind::CertificateSerial));
/// assert_eq!(KeyIdKind::parse("not a key id"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyIdKind {
    /// A WeChat Pay public key id, `PUB_KEY_ID_…`.
    PublicKeyId,
    /// A platform certificate serial, hexadecimal.
    CertificateSerial,
}

impl KeyIdKind {
    /// The kind of key `id` would name: [`PublicKeyId`](Self::PublicKeyId) when it starts
    /// with `PUB_KEY_ID_` (after surrounding whitespace), else
    /// [`CertificateSerial`](Self::CertificateSerial). It classifies without validating:
    /// use [`parse`](Self::parse) to also refuse malformed ids.
    pub fn of(id: &str) -> KeyIdKind {
        if id.trim_start().starts_with(PUBLIC_KEY_ID_PREFIX) {
            KeyIdKind::PublicKeyId
        } else {
            KeyIdKind::CertificateSerial
        }
    }

    /// The kind of key `id` names if it is well-formed — `PUB_KEY_ID_` followed by ASCII
    /// letters, digits or `_`, or hexadecimal digits (a certificate serial) — else `None`, for
    /// an id no key can be registered under. Surrounding whitespace is ignored.
    pub fn parse(id: &str) -> Option<KeyIdKind> {
        normalize_key_id(id).ok().map(|(kind, _)| kind)
    }

    /// A short English name: `"WeChat Pay public key"` or `"platform certificate"`.
    pub fn describe(self) -> &'static str {
        match self {
            KeyIdKind::PublicKeyId => "WeChat Pay public key",
            KeyIdKind::CertificateSerial => "platform certificate",
        }
    }
}

impl fmt::Display for KeyIdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The canonical form of a key id and its kind.
///
/// `PUB_KEY_ID_…` ids are kept as they are (case-sensitive); certificate serials are numbers
/// written in hex, so they become upper-case without leading zeros (`0a1B` → `A1B`, all zeros →
/// `0`).
pub(crate) fn normalize_key_id(id: &str) -> Result<(KeyIdKind, String), KeyError> {
    let trimmed = id.trim();
    let invalid = || KeyError::InvalidKeyId { id: id.to_owned() };
    if let Some(rest) = trimmed.strip_prefix(PUBLIC_KEY_ID_PREFIX) {
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(invalid());
        }
        return Ok((KeyIdKind::PublicKeyId, trimmed.to_owned()));
    }
    if trimmed.is_empty()
        || trimmed.len() > MAX_SERIAL_DIGITS
        || !trimmed.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(invalid());
    }
    let digits = trimmed.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    Ok((KeyIdKind::CertificateSerial, digits.to_ascii_uppercase()))
}

/// A certificate serial's big-endian bytes as a normalized serial.
pub(crate) fn serial_from_bytes(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push_str(&format!("{b:02X}"));
    }
    let digits = hex.trim_start_matches('0');
    if digits.is_empty() {
        "0".to_owned()
    } else {
        digits.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_compare_as_hex_numbers() {
        let norm = |s| normalize_key_id(s).unwrap();
        assert_eq!(
            norm("00ab12"),
            (KeyIdKind::CertificateSerial, "AB12".into())
        );
        assert_eq!(norm("AB12"), norm("0000ab12"));
        assert_eq!(
            norm(" 5157f09efdc096de15ebe81a47057a7232f1b8e1\n").1,
            "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
        );
        assert_eq!(norm("000").1, "0");
        assert_eq!(serial_from_bytes(&[0x00, 0x0A, 0xB1]), "AB1");
        assert_eq!(serial_from_bytes(&[]), "0");
    }

    #[test]
    fn public_key_ids_are_kept_verbatim() {
        let (kind, id) = normalize_key_id("PUB_KEY_ID_0114232134912410000").unwrap();
        assert_eq!(kind, KeyIdKind::PublicKeyId);
        assert_eq!(id, "PUB_KEY_ID_0114232134912410000");
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "  ",
            "PUB_KEY_ID_",
            "PUB_KEY_ID_12 34",
            "pub_key_id_1",
            "xyz",
            "12-34",
        ] {
            assert!(
                matches!(normalize_key_id(bad), Err(KeyError::InvalidKeyId { .. })),
                "{bad:?}"
            );
            assert_eq!(KeyIdKind::parse(bad), None);
        }
        let long = "1".repeat(MAX_SERIAL_DIGITS + 1);
        assert!(normalize_key_id(&long).is_err());
    }
}
