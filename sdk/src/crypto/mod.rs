//! The crypto a notification needs: RSA-SHA256 signature verification (PKCS#1 v1.5),
//! AEAD_AES_256_GCM, AES-256-ECB (APIv2 refund `req_info`) and random nonces.
//!
//! Two backends implement it, chosen by Cargo features: aws-lc-rs (`aws-lc`, the default and
//! the faster RSA-2048 verification; the README's speed section has the figures) and the
//! pure-Rust `rsa` and `aes-gcm` crates (`rustcrypto`). When both are compiled aws-lc-rs is used, and [`Backend`]
//! reaches either directly so tests can hold them to the same vectors.
//!
//! ```
//! use wechatpay_notify::crypto::{active_backend, aes256gcm_open, aes256gcm_seal, random_bytes};
//!
//! let key: [u8; 32] = random_bytes();
//! let sealed = aes256gcm_seal(&key, b"0123456789ab", b"transaction", b"{\"a\":1}");
//! let opened = aes256gcm_open(&key, b"0123456789ab", b"transaction", &sealed)?;
//! assert_eq!(opened, b"{\"a\":1}");
//! println!("sealed and opened with {}", active_backend().name());
//! # Ok::<(), wechatpay_notify::crypto::AeadError>(())
//! ```

mod aead;
mod backend;
mod digest;
mod ecb;

#[cfg(feature = "aws-lc")]
mod aws_lc;
#[cfg(feature = "rustcrypto")]
mod rust_crypto;

pub(crate) use aead::OpeningKey;
pub use aead::{AeadError, NONCE_LEN, TAG_LEN, aes256gcm_open, aes256gcm_seal};
pub use backend::{Backend, active_backend};
pub use ecb::{BLOCK_LEN, EcbError, aes256ecb_decrypt, aes256ecb_encrypt};

#[cfg(feature = "aws-lc")]
pub(crate) use aws_lc::AwsLc;
pub(crate) use backend::{Provider, RsaComponents};
pub(crate) use digest::{MessageDigest, sha256_length_prefixed};
#[cfg(feature = "rustcrypto")]
pub(crate) use rust_crypto::RustCrypto;

use crate::keys::VerifyingKey;

/// Verify an RSA-SHA256 PKCS#1 v1.5 `signature` (raw bytes, base64-decoded from
/// `Wechatpay-Signature`) of `message` (for v3, `"{timestamp}\n{nonce}\n{body}\n"`) with
/// `key`, on the [`active_backend`].
///
/// A wrong-length or malformed signature is simply `false`.
pub fn verify_rsa_sha256(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    active_backend().verify(key, message, signature)
}

/// `N` bytes from the operating system's random number generator (nonces, ids).
///
/// # Panics
/// If the operating system cannot provide random bytes: there is no safe way to go on without them.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_differ() {
        let a: [u8; 16] = random_bytes();
        let b: [u8; 16] = random_bytes();
        assert_ne!(a, b);
        assert_eq!(random_bytes::<0>(), [0u8; 0]);
    }

    #[test]
    fn aead_input_errors() {
        let key = [1u8; 32];
        for backend in Backend::compiled() {
            assert_eq!(
                backend.aes256gcm_open(&key, b"short", b"", &[0; 32]),
                Err(AeadError::NonceLength(5))
            );
            assert_eq!(
                backend.aes256gcm_open(&key, &[0; 16], b"", &[0; 32]),
                Err(AeadError::NonceLength(16))
            );
            assert_eq!(
                backend.aes256gcm_open(&key, &[0; 12], b"", &[0; 15]),
                Err(AeadError::TooShort)
            );
            assert_eq!(
                backend.aes256gcm_open(&key, &[0; 12], b"", &[0; 16]),
                Err(AeadError::TagMismatch)
            );
            let sealed = backend.aes256gcm_seal(&key, &[0; 12], b"aad", b"");
            assert_eq!(sealed.len(), TAG_LEN);
            assert_eq!(
                backend
                    .aes256gcm_open(&key, &[0; 12], b"aad", &sealed)
                    .unwrap(),
                b""
            );
        }
    }

    #[test]
    fn backends_agree_on_seal() {
        let key = [9u8; 32];
        let nonce = *b"abcdefghijkl";
        let outputs: Vec<Vec<u8>> = Backend::compiled()
            .iter()
            .map(|b| b.aes256gcm_seal(&key, &nonce, b"certificate", "支付成功".as_bytes()))
            .collect();
        assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    }
}
