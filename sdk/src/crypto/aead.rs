//! AEAD_AES_256_GCM, as WeChat Pay uses it for v3 notification resources.

use super::backend::{Provider, active_backend};

/// The active backend's implementation, for keys prepared once.
#[cfg(feature = "aws-lc")]
type Active = super::AwsLc;
#[cfg(not(feature = "aws-lc"))]
type Active = super::RustCrypto;

/// GCM nonce length WeChat Pay uses: 12 bytes (the 12 characters of `resource.nonce`).
pub const NONCE_LEN: usize = 12;
/// GCM tag length: 16 bytes, appended to the ciphertext.
pub const TAG_LEN: usize = 16;

/// AES-256-GCM decryption failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AeadError {
    /// The nonce is not 12 bytes long.
    #[error("the AES-GCM nonce must be 12 bytes, found {0}")]
    NonceLength(usize),
    /// The ciphertext is too short to hold the 16-byte tag.
    #[error("the ciphertext is shorter than the 16-byte authentication tag")]
    TooShort,
    /// The authentication tag does not match.
    #[error(
        "authentication tag mismatch: wrong APIv3 key, nonce or associated data, or an altered ciphertext"
    )]
    TagMismatch,
}

/// Decrypt and authenticate AES-256-GCM: `ciphertext_with_tag` is the ciphertext followed by
/// its 16-byte tag (the base64-decoded `resource.ciphertext`), `nonce` the bytes of
/// `resource.nonce` and `aad` those of `resource.associated_data` (empty when absent).
///
/// Runs on the [`active_backend`](super::active_backend).
///
/// ```
/// use wechatpay_notify::crypto::{aes256gcm_open, aes256gcm_seal};
///
/// let key = [7u8; 32];
/// let sealed = aes256gcm_seal(&key, b"zyxwvutsrqpo", b"transaction", b"{}");
/// assert_eq!(aes256gcm_open(&key, b"zyxwvutsrqpo", b"transaction", &sealed).unwrap(), b"{}");
/// assert!(aes256gcm_open(&key, b"zyxwvutsrqpo", b"refund", &sealed).is_err());
/// ```
///
/// # Errors
/// [`AeadError::NonceLength`] unless the nonce is 12 bytes, [`AeadError::TooShort`] when
/// `ciphertext_with_tag` is shorter than 16 bytes, [`AeadError::TagMismatch`] when the tag does
/// not authenticate (wrong key, nonce or AAD, or altered data).
pub fn aes256gcm_open(
    key: &[u8; 32],
    nonce: &[u8],
    aad: &[u8],
    ciphertext_with_tag: &[u8],
) -> Result<Vec<u8>, AeadError> {
    active_backend().aes256gcm_open(key, nonce, aad, ciphertext_with_tag)
}

/// Encrypt with AES-256-GCM: the ciphertext followed by its 16-byte tag. The counterpart of
/// [`aes256gcm_open`], for the test kit and for sealing stored requests.
///
/// Never reuse a nonce with the same key; [`random_bytes`](super::random_bytes) makes fresh
/// ones.
///
/// # Panics
/// Only if the backend refuses a plaintext beyond GCM's limit (about 64 GiB).
pub fn aes256gcm_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    active_backend().aes256gcm_seal(key, nonce, aad, plaintext)
}

/// An AES-256-GCM key prepared once for the active backend (its key schedule and GHASH
/// table), as the receiver holds its APIv3 key: opening a resource then costs the AEAD alone.
pub(crate) struct OpeningKey(<Active as Provider>::AeadKey);

impl OpeningKey {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        OpeningKey(Active::aead_key(key))
    }

    /// Decrypts and authenticates `in_out` (ciphertext ‖ tag) in place, leaving the plaintext:
    /// [`aes256gcm_open`] without a copy.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        in_out: &mut Vec<u8>,
    ) -> Result<(), AeadError> {
        let nonce = check_open_input(nonce, in_out)?;
        let len = Active::aes256gcm_open_in_place(&self.0, nonce, aad, in_out)
            .ok_or(AeadError::TagMismatch)?;
        in_out.truncate(len);
        Ok(())
    }
}

/// The checks every backend shares, before any backend sees the input.
pub(crate) fn check_open_input<'n>(
    nonce: &'n [u8],
    ciphertext_with_tag: &[u8],
) -> Result<&'n [u8; NONCE_LEN], AeadError> {
    let nonce: &[u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| AeadError::NonceLength(nonce.len()))?;
    if ciphertext_with_tag.len() < TAG_LEN {
        return Err(AeadError::TooShort);
    }
    Ok(nonce)
}
