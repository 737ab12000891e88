//! The APIv2 `sign`: MD5 or HMAC-SHA256 with the APIv2 key over the received fields.
//!
//! The sign string is every received element with a non-empty value except `sign`, sorted by
//! name (byte order), written `name=value` and joined by `&`, then `&key=` and the APIv2 key.
//! MD5 hashes that string; HMAC-SHA256 keys it with the APIv2 key. Both are upper-case hex.
//! It covers what was received — elements the catalogue does not list included — never a
//! re-serialization of the typed value.

use std::fmt;

use hmac::{KeyInit, Mac};
use md5::Digest;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::xml::FlatXml;
use crate::keys::ApiV2Key;

/// An APIv2 sign algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum SignType {
    /// MD5 (`MD5`): 32 hex characters.
    #[serde(rename = "MD5")]
    Md5,
    /// HMAC-SHA256 (`HMAC-SHA256`): 64 hex characters.
    #[serde(rename = "HMAC-SHA256")]
    HmacSha256,
}

impl SignType {
    /// The name the wire uses: `MD5` or `HMAC-SHA256`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// The algorithm a `sign_type` / `algorithm` value names (ASCII case ignored), if any.
    pub fn from_wire(name: &str) -> Option<SignType> {
        if name.eq_ignore_ascii_case("MD5") {
            Some(SignType::Md5)
        } else if name.eq_ignore_ascii_case("HMAC-SHA256") {
            Some(SignType::HmacSha256)
        } else {
            None
        }
    }

    fn digest_len(self) -> usize {
        match self {
            SignType::Md5 => 16,
            SignType::HmacSha256 => 32,
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sign algorithms the merchant accepts (both by default). A body naming, or defaulting
/// to, an algorithm outside the set is rejected: configuring only HMAC-SHA256 refuses every
/// MD5 sign, so a forger cannot downgrade.
///
/// ```
/// use wechatpay_notify::v2::{SignType, SignTypes};
///
/// let only_hmac: SignTypes = "hmac-sha256".parse().unwrap();
/// assert!(only_hmac.accepts(SignType::HmacSha256));
/// assert!(!only_hmac.accepts(SignType::Md5));
/// assert_eq!(SignTypes::default().to_string(), "md5,hmac-sha256");
/// assert!("sha1".parse::<SignTypes>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignTypes {
    md5: bool,
    hmac_sha256: bool,
}

impl Default for SignTypes {
    fn default() -> Self {
        SignTypes {
            md5: true,
            hmac_sha256: true,
        }
    }
}

impl SignTypes {
    /// Only `ty`.
    pub fn only(ty: SignType) -> Self {
        SignTypes {
            md5: ty == SignType::Md5,
            hmac_sha256: ty == SignType::HmacSha256,
        }
    }

    /// `true` when `ty` is accepted.
    pub fn accepts(self, ty: SignType) -> bool {
        match ty {
            SignType::Md5 => self.md5,
            SignType::HmacSha256 => self.hmac_sha256,
        }
    }
}

impl fmt::Display for SignTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        if self.md5 {
            names.push("md5");
        }
        if self.hmac_sha256 {
            names.push("hmac-sha256");
        }
        f.write_str(&names.join(","))
    }
}

/// A `--v2-sign-types` list that is empty or names an unknown algorithm.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: expected a comma-separated list of md5, hmac-sha256")]
pub struct SignTypesError(pub String);

impl std::str::FromStr for SignTypes {
    type Err = SignTypesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = SignTypes {
            md5: false,
            hmac_sha256: false,
        };
        for name in s.split(',').map(str::trim) {
            match SignType::from_wire(name) {
                Some(SignType::Md5) => set.md5 = true,
                Some(SignType::HmacSha256) => set.hmac_sha256 = true,
                None => return Err(SignTypesError(s.to_owned())),
            }
        }
        Ok(set)
    }
}

/// The string that is signed, `&key=` and the key included (wiped on drop).
pub fn sign_string(xml: &FlatXml, key: &ApiV2Key) -> Zeroizing<Vec<u8>> {
    let mut fields: Vec<&(String, String)> = xml
        .entries()
        .iter()
        .filter(|(k, v)| k != "sign" && !v.is_empty())
        .collect();
    fields.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Zeroizing::new(Vec::new());
    for (k, v) in fields {
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
        out.push(b'&');
    }
    out.extend_from_slice(b"key=");
    out.extend_from_slice(key.expose());
    out
}

/// The sign of `xml` with `key` by `ty`: upper-case hex.
///
/// ```
/// use wechatpay_notify::keys::ApiV2Key;
/// use wechatpay_notify::v2::{FlatXml, SignType, sign};
///
/// // The example of the official 签名算法 page.
/// let fields = [("appid", "wxd930ea5d5a258f4f"), ("mch_id", "10000100"), ("device_info", "1000"),
///               ("body", "test"), ("nonce_str", "ibuaiVcKdpRxkhJA")];
/// let xml = FlatXml::from_entries(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
/// let key = ApiV2Key::from_text("192006250b4c09247ec02edce69f6a2d").unwrap();
/// assert_eq!(sign(&xml, &key, SignType::Md5), "9A0A8659F005D6984697E2CA0A9CF3B7");
/// ```
pub fn sign(xml: &FlatXml, key: &ApiV2Key, ty: SignType) -> String {
    let digest = digest(xml, key, ty);
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

fn digest(xml: &FlatXml, key: &ApiV2Key, ty: SignType) -> Vec<u8> {
    let message = sign_string(xml, key);
    match ty {
        SignType::Md5 => md5::Md5::digest(&*message).to_vec(),
        SignType::HmacSha256 => {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.expose())
                .expect("HMAC takes a key of any length");
            mac.update(&message);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// `true` when `received` (hex, either case) is the sign of `xml` by `ty`; compared in
/// constant time.
pub(crate) fn matches(xml: &FlatXml, key: &ApiV2Key, ty: SignType, received: &str) -> bool {
    let Some(received) = decode_hex(received) else {
        return false;
    };
    if received.len() != ty.digest_len() {
        return false;
    }
    bool::from(digest(xml, key, ty).ct_eq(&received))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(fields: &[(&str, &str)]) -> FlatXml {
        FlatXml::from_entries(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn the_sign_string_sorts_skips_empty_and_sign_keeps_zero() {
        let key = ApiV2Key::from_text("K").unwrap();
        let x = xml(&[
            ("b", "2"),
            ("sign", "X"),
            ("a", "1"),
            ("empty", ""),
            ("z", "0"),
            ("B", "u"),
        ]);
        assert_eq!(&**sign_string(&x, &key), b"B=u&a=1&b=2&z=0&key=K");
    }

    #[test]
    fn hex_in_either_case_and_wrong_lengths() {
        let key = ApiV2Key::from_text("K").unwrap();
        let x = xml(&[("a", "1")]);
        let s = sign(&x, &key, SignType::HmacSha256);
        assert!(matches(&x, &key, SignType::HmacSha256, &s));
        assert!(matches(&x, &key, SignType::HmacSha256, &s.to_lowercase()));
        assert!(!matches(&x, &key, SignType::HmacSha256, &s[..62]));
        assert!(!matches(&x, &key, SignType::Md5, &s));
        assert!(!matches(&x, &key, SignType::HmacSha256, "zz"));
        assert!(!matches(&x, &key, SignType::HmacSha256, ""));
    }

    #[test]
    fn sign_types_parse() {
        assert_eq!(
            "MD5, HMAC-SHA256".parse::<SignTypes>().unwrap(),
            SignTypes::default()
        );
        assert_eq!(
            "hmac-sha256".parse::<SignTypes>().unwrap(),
            SignTypes::only(SignType::HmacSha256)
        );
        assert!("".parse::<SignTypes>().is_err());
        assert!("md5,".parse::<SignTypes>().is_err());
    }
}
