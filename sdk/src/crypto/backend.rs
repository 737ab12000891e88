//! Which implementation does the arithmetic: [`Backend`], and the small trait each backend
//! implements.

use std::fmt;

use crate::keys::VerifyingKey;

use super::aead::{self, AeadError};
use super::ecb::{self, EcbError};

/// A compiled crypto backend.
///
/// Only the backends enabled by Cargo features exist as variants; [`active_backend`] is the
/// one the SDK uses (aws-lc-rs whenever it is compiled). Tests call each compiled backend
/// directly through [`Backend::verify`], [`Backend::aes256gcm_open`] and
/// [`Backend::aes256gcm_seal`] to check that they agree.
///
/// ```
/// use wechatpay_notify::crypto::{active_backend, Backend};
///
/// assert!(Backend::compiled().contains(&active_backend()));
/// println!("verifying with {}", active_backend().name());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// [aws-lc-rs](https://crates.io/crates/aws-lc-rs) (feature `aws-lc`, the default).
    #[cfg(feature = "aws-lc")]
    AwsLc,
    /// The pure-Rust [`rsa`](https://crates.io/crates/rsa) and
    /// [`aes-gcm`](https://crates.io/crates/aes-gcm) crates (feature `rustcrypto`).
    #[cfg(feature = "rustcrypto")]
    RustCrypto,
}

/// The backend the SDK uses: aws-lc-rs when the `aws-lc` feature is on, else RustCrypto.
pub const fn active_backend() -> Backend {
    #[cfg(feature = "aws-lc")]
    {
        Backend::AwsLc
    }
    #[cfg(not(feature = "aws-lc"))]
    {
        Backend::RustCrypto
    }
}

impl Backend {
    /// Every backend compiled into this build, the active one first.
    pub const fn compiled() -> &'static [Backend] {
        &[
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc,
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto,
        ]
    }

    /// The backend's name: `"aws-lc-rs"` or `"rustcrypto"`.
    pub const fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => "aws-lc-rs",
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => "rustcrypto",
        }
    }

    /// Verify an RSA-SHA256 PKCS#1 v1.5 `signature` (raw bytes, not base64) of `message` with
    /// `key`, on this backend. [`verify_rsa_sha256`](super::verify_rsa_sha256) does the same on
    /// the active backend.
    pub fn verify(self, key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => {
                super::aws_lc::AwsLc::verify_rsa_sha256(key.aws_lc(), message, signature)
            }
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => super::rust_crypto::RustCrypto::verify_rsa_sha256(
                key.rust_crypto(),
                message,
                signature,
            ),
        }
    }

    /// [`aes256gcm_open`](super::aes256gcm_open) on this backend.
    ///
    /// # Errors
    /// As [`aes256gcm_open`](super::aes256gcm_open).
    pub fn aes256gcm_open(
        self,
        key: &[u8; 32],
        nonce: &[u8],
        aad: &[u8],
        ciphertext_with_tag: &[u8],
    ) -> Result<Vec<u8>, AeadError> {
        let nonce = aead::check_open_input(nonce, ciphertext_with_tag)?;
        let mut in_out = ciphertext_with_tag.to_vec();
        let opened = match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => open_with::<super::aws_lc::AwsLc>(key, nonce, aad, &mut in_out),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => {
                open_with::<super::rust_crypto::RustCrypto>(key, nonce, aad, &mut in_out)
            }
        };
        let len = opened.ok_or(AeadError::TagMismatch)?;
        in_out.truncate(len);
        Ok(in_out)
    }

    /// [`aes256gcm_seal`](super::aes256gcm_seal) on this backend.
    pub fn aes256gcm_seal(
        self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => super::aws_lc::AwsLc::aes256gcm_seal(key, nonce, aad, plaintext),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => {
                super::rust_crypto::RustCrypto::aes256gcm_seal(key, nonce, aad, plaintext)
            }
        }
    }
}

impl Backend {
    /// [`aes256ecb_decrypt`](super::aes256ecb_decrypt) on this backend.
    ///
    /// # Errors
    /// As [`aes256ecb_decrypt`](super::aes256ecb_decrypt).
    pub fn aes256ecb_decrypt(self, key: &[u8; 32], ciphertext: &[u8]) -> Result<Vec<u8>, EcbError> {
        ecb::check_length(ciphertext)?;
        let mut buf = ciphertext.to_vec();
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => super::aws_lc::AwsLc::aes256ecb_decrypt_blocks(key, &mut buf),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => {
                super::rust_crypto::RustCrypto::aes256ecb_decrypt_blocks(key, &mut buf);
            }
        }
        ecb::unpad(buf)
    }

    /// [`aes256ecb_encrypt`](super::aes256ecb_encrypt) on this backend.
    pub fn aes256ecb_encrypt(self, key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
        let mut buf = ecb::pad(plaintext);
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => super::aws_lc::AwsLc::aes256ecb_encrypt_blocks(key, &mut buf),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => {
                super::rust_crypto::RustCrypto::aes256ecb_encrypt_blocks(key, &mut buf);
            }
        }
        buf
    }
}

fn open_with<P: Provider>(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    in_out: &mut [u8],
) -> Option<usize> {
    P::aes256gcm_open_in_place(&P::aead_key(key), nonce, aad, in_out)
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The RSA public key as the DER decoder found it, handed to each backend once at load.
pub(crate) struct RsaComponents<'a> {
    /// Modulus, big-endian, no leading zero.
    pub(crate) n: &'a [u8],
    /// Public exponent, big-endian, no leading zero.
    pub(crate) e: &'a [u8],
    /// The modulus sizes the SDK accepts (already checked), for backends that check again.
    #[cfg_attr(not(feature = "rustcrypto"), allow(dead_code))]
    pub(crate) bits_range: std::ops::RangeInclusive<usize>,
}

/// What a backend implements. Deliberately small: one signature scheme, one AEAD.
///
/// Inputs are checked before a backend sees them (key size and shape, nonce and ciphertext
/// lengths), so a backend only reports "no".
pub(crate) trait Provider {
    /// The backend's own parsed RSA public key, built once when the key is loaded.
    type PublicKey: Send + Sync;

    /// Parse the public key for this backend.
    fn parse_rsa_public_key(key: &RsaComponents<'_>) -> Result<Self::PublicKey, String>;

    /// RSA-SHA256 PKCS#1 v1.5 verification.
    fn verify_rsa_sha256(key: &Self::PublicKey, message: &[u8], signature: &[u8]) -> bool;

    /// The backend's AES-256-GCM key, prepared once per APIv3 key (key schedule, GHASH
    /// table); wiped when dropped.
    type AeadKey: Send + Sync;

    /// Prepare an AES-256-GCM key.
    fn aead_key(key: &[u8; 32]) -> Self::AeadKey;

    /// AES-256-GCM decryption of `in_out` (ciphertext followed by the 16-byte tag, at least 16
    /// bytes) in place: the plaintext's length (it is `in_out`'s start), or `None` when the tag
    /// does not match.
    fn aes256gcm_open_in_place(
        key: &Self::AeadKey,
        nonce: &[u8; 12],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Option<usize>;

    /// AES-256-GCM encryption: ciphertext followed by the 16-byte tag.
    fn aes256gcm_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8>;

    /// AES-256-ECB decryption in place of whole 16-byte blocks (length already checked).
    fn aes256ecb_decrypt_blocks(key: &[u8; 32], blocks: &mut [u8]);

    /// AES-256-ECB encryption in place of whole 16-byte blocks (already padded).
    fn aes256ecb_encrypt_blocks(key: &[u8; 32], blocks: &mut [u8]);
}
