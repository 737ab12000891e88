//! The merchant's symmetric secrets: the APIv3 key and the APIv2 key.

use std::fmt;
use std::sync::Arc;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::KeyError;
use crate::crypto::OpeningKey;

/// The merchant's APIv3 key (APIv3密钥): the AES-256-GCM key that opens v3 notification
/// resources.
///
/// Exactly 32 bytes — in practice 32 ASCII characters set in the merchant platform. Zeroed on
/// drop; `Debug` never shows it. The AES key schedule is prepared once, when the key is made,
/// and wiped by the crypto backend when the last clone is dropped.
///
/// ```
/// use wechatpay_notify::keys::ApiV3Key;
///
/// let key = ApiV3Key::from_text(" 0123456789abcdef0123456789abcdef\n").unwrap();
/// assert_eq!(format!("{key:?}"), "ApiV3Key(<redacted>)");
/// let err = ApiV3Key::from_text("too short").unwrap_err();
/// assert_eq!(err.to_string(), "the APIv3 key must be exactly 32 bytes, found 9");
/// ```
#[derive(Clone, ZeroizeOnDrop)]
pub struct ApiV3Key {
    bytes: [u8; 32],
    /// Dropped with the key (the backend wipes it when no clone holds it).
    #[zeroize(skip)]
    opening: Arc<OpeningKey>,
}

impl Zeroize for ApiV3Key {
    /// Zeroes the key; the prepared schedule, which holds the key too, is let go of and
    /// replaced by the all-zero key's, as the bytes are.
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        self.opening = Arc::new(OpeningKey::new(&self.bytes));
    }
}

impl ApiV3Key {
    /// The key from its raw bytes.
    ///
    /// # Errors
    /// [`KeyError::ApiV3KeyLength`] (stating the length found) unless `bytes` is 32 bytes long.
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::ApiV3KeyLength { found: bytes.len() })?;
        Ok(ApiV3Key {
            opening: Arc::new(OpeningKey::new(&key)),
            bytes: key,
        })
    }

    /// The key from text, as stored in a file or an environment variable: surrounding
    /// whitespace (a trailing newline, say) is trimmed, and the UTF-8 bytes that remain are the
    /// key.
    ///
    /// # Errors
    /// [`KeyError::ApiV3KeyLength`] unless 32 bytes remain after trimming.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        Self::new(text.trim().as_bytes())
    }

    /// The raw key bytes, for the AEAD.
    #[allow(dead_code, reason = "used by the v3 pipeline and the test kit")]
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key prepared for the AEAD.
    pub(crate) fn opening(&self) -> &OpeningKey {
        &self.opening
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(<redacted>)")
    }
}

/// The merchant's APIv2 key (API密钥): the secret of APIv2's MD5 / HMAC-SHA256 `sign` and,
/// through its MD5, the AES-256-ECB key of refund notifications' `req_info`.
///
/// WeChat Pay issues it as 32 ASCII characters, but only emptiness is refused here: the key is
/// whatever the merchant set, and a sign computed with a wrong key fails loudly anyway. Zeroed
/// on drop; `Debug` never shows it.
///
/// ```
/// use wechatpay_notify::keys::ApiV2Key;
///
/// let key = ApiV2Key::from_text("192006250b4c09247ec02edce69f6a2d\n").unwrap();
/// assert_eq!(format!("{key:?}"), "ApiV2Key(<redacted>)");
/// assert!(ApiV2Key::from_text("  \n").is_err());
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ApiV2Key(Box<[u8]>);

impl ApiV2Key {
    /// The key from its raw bytes.
    ///
    /// # Errors
    /// [`KeyError::EmptyApiV2Key`] when `bytes` is empty.
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.is_empty() {
            return Err(KeyError::EmptyApiV2Key);
        }
        Ok(ApiV2Key(bytes.into()))
    }

    /// The key from text: surrounding whitespace is trimmed, and the UTF-8 bytes that remain
    /// are the key.
    ///
    /// # Errors
    /// [`KeyError::EmptyApiV2Key`] when nothing remains after trimming.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        Self::new(text.trim().as_bytes())
    }

    /// The raw key bytes, for the APIv2 sign and `req_info` decryption.
    #[allow(dead_code, reason = "used by the APIv2 pipeline")]
    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for ApiV2Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV2Key(<redacted>)")
    }
}

/// The merchant's key for data at rest: the service seals each APIv2 body with it
/// (AES-256-GCM) before the ledger stores it, so no personal data an APIv2 body carries in
/// clear (openid, plate numbers) is stored in clear. (APIv3 bodies are stored as received:
/// their resource is already sealed with the APIv3 key.)
///
/// Exactly 32 bytes. Zeroed on drop; `Debug` never shows it. Keep it as long as the stored
/// requests: without it they cannot be replayed.
///
/// ```
/// use wechatpay_notify::keys::StorageKey;
///
/// let key = StorageKey::from_hex(&"ab".repeat(32)).unwrap();
/// assert_eq!(format!("{key:?}"), "StorageKey(<redacted>)");
/// assert!(StorageKey::from_hex("abcd").is_err());
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StorageKey([u8; 32]);

impl StorageKey {
    /// The key from its 32 raw bytes.
    ///
    /// # Errors
    /// [`KeyError::StorageKey`] unless `bytes` is 32 bytes long.
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::StorageKey { found: bytes.len() })?;
        Ok(StorageKey(key))
    }

    /// The key from 64 hexadecimal digits (surrounding whitespace trimmed), as a file or an
    /// environment variable holds it.
    ///
    /// # Errors
    /// [`KeyError::StorageKey`] unless 64 hexadecimal digits remain.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let bytes: Option<Vec<u8>> = text
            .as_bytes()
            .chunks(2)
            .map(|p| Some(digit(p[0])? << 4 | digit(*p.get(1)?)?))
            .collect();
        match bytes {
            Some(b) if b.len() == 32 => StorageKey::new(&b),
            _ => Err(KeyError::StorageKey {
                found: text.len() / 2,
            }),
        }
    }

    /// A fresh random key (store it: requests sealed with it cannot be opened without it).
    pub fn generate() -> Self {
        StorageKey(crate::crypto::random_bytes())
    }

    /// The raw key bytes, for the AEAD.
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroizing_the_api_v3_key_lets_go_of_its_prepared_schedule() {
        let sealed = crate::crypto::aes256gcm_seal(&[0; 32], b"0123456789ab", b"", b"{}");
        let mut key = ApiV3Key::new(&[7; 32]).unwrap();
        let mut buffer = sealed.clone();
        assert!(
            key.opening()
                .open_in_place(b"0123456789ab", b"", &mut buffer)
                .is_err()
        );
        key.zeroize();
        assert_eq!(key.expose(), &[0; 32]);
        let mut buffer = sealed;
        key.opening()
            .open_in_place(b"0123456789ab", b"", &mut buffer)
            .unwrap();
        assert_eq!(buffer, b"{}");
    }
}
