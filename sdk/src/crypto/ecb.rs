//! AES-256-ECB with PKCS#7 padding, as APIv2 refund notifications use it for `req_info`.
//!
//! ECB has no integrity: a plaintext that decrypts with valid padding proves nothing about
//! who made it. The SDK marks the kinds that rely on it as
//! [`Trust::DecryptedUnauthenticated`](crate::catalogue::Trust).

use super::backend::active_backend;

/// AES block size.
pub const BLOCK_LEN: usize = 16;

/// AES-256-ECB decryption failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EcbError {
    /// The ciphertext is empty or not a whole number of 16-byte blocks.
    #[error("the ciphertext is {0} bytes, not a positive multiple of 16")]
    Length(usize),
    /// The PKCS#7 padding of the last block is not valid: a wrong key, or altered data.
    #[error("bad PKCS#7 padding (wrong key, or altered data)")]
    Padding,
}

/// Decrypts AES-256-ECB and removes its PKCS#7 padding, which is checked: the last byte `n`
/// must be 1 to 16 and the last `n` bytes must all be `n`.
///
/// ```
/// use wechatpay_notify::crypto::{aes256ecb_decrypt, aes256ecb_encrypt, EcbError};
///
/// let key = [3u8; 32];
/// let sealed = aes256ecb_encrypt(&key, b"<root></root>");
/// assert_eq!(sealed.len(), 16);
/// assert_eq!(aes256ecb_decrypt(&key, &sealed).unwrap(), b"<root></root>");
/// assert_eq!(aes256ecb_decrypt(&key, &sealed[..15]), Err(EcbError::Length(15)));
/// ```
///
/// # Errors
/// [`EcbError::Length`] unless the input is a positive multiple of 16 bytes,
/// [`EcbError::Padding`] when the padding is not valid PKCS#7.
pub fn aes256ecb_decrypt(key: &[u8; 32], ciphertext: &[u8]) -> Result<Vec<u8>, EcbError> {
    active_backend().aes256ecb_decrypt(key, ciphertext)
}

/// Encrypts with AES-256-ECB after PKCS#7 padding (1 to 16 bytes, always added): the
/// counterpart of [`aes256ecb_decrypt`], for the test kit.
pub fn aes256ecb_encrypt(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    active_backend().aes256ecb_encrypt(key, plaintext)
}

/// Appends PKCS#7 padding.
pub(crate) fn pad(plaintext: &[u8]) -> Vec<u8> {
    let n = BLOCK_LEN - plaintext.len() % BLOCK_LEN;
    let mut out = Vec::with_capacity(plaintext.len() + n);
    out.extend_from_slice(plaintext);
    // `n` is 1..=16, so the cast cannot truncate.
    out.resize(plaintext.len() + n, n as u8);
    out
}

/// Checks the input length before a backend sees it.
pub(crate) fn check_length(ciphertext: &[u8]) -> Result<(), EcbError> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK_LEN) {
        return Err(EcbError::Length(ciphertext.len()));
    }
    Ok(())
}

/// Checks and removes PKCS#7 padding from a decrypted buffer (a whole number of blocks).
pub(crate) fn unpad(mut plain: Vec<u8>) -> Result<Vec<u8>, EcbError> {
    let Some(&last) = plain.last() else {
        return Err(EcbError::Padding);
    };
    let n = usize::from(last);
    if n == 0 || n > BLOCK_LEN || n > plain.len() {
        return Err(EcbError::Padding);
    }
    if plain[plain.len() - n..].iter().any(|&b| b != last) {
        return Err(EcbError::Padding);
    }
    plain.truncate(plain.len() - n);
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Backend;

    #[test]
    fn padding_is_checked_on_every_backend() {
        let key = [7u8; 32];
        for backend in Backend::compiled() {
            for len in [0usize, 1, 15, 16, 17, 40] {
                let msg = vec![b'x'; len];
                let sealed = backend.aes256ecb_encrypt(&key, &msg);
                assert_eq!(sealed.len(), (len / 16 + 1) * 16);
                assert_eq!(backend.aes256ecb_decrypt(&key, &sealed).unwrap(), msg);
            }
            // A block whose padding byte is 0, or 17, or inconsistent.
            for bad in [pad_with(0), pad_with(17), {
                let mut p = pad(b"0123456789");
                p[11] = 5;
                p
            }] {
                let sealed = raw_encrypt(*backend, &key, &bad);
                assert_eq!(
                    backend.aes256ecb_decrypt(&key, &sealed),
                    Err(EcbError::Padding)
                );
            }
            assert_eq!(
                backend.aes256ecb_decrypt(&key, &[]),
                Err(EcbError::Length(0))
            );
            assert_eq!(
                backend.aes256ecb_decrypt(&key, &[0; 17]),
                Err(EcbError::Length(17))
            );
        }
    }

    #[test]
    fn backends_agree() {
        let key = [1u8; 32];
        let outputs: Vec<Vec<u8>> = Backend::compiled()
            .iter()
            .map(|b| b.aes256ecb_encrypt(&key, "退款成功".as_bytes()))
            .collect();
        assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    }

    fn pad_with(byte: u8) -> Vec<u8> {
        let mut block = vec![b'a'; 16];
        block[15] = byte;
        block
    }

    /// Encrypts whole blocks without adding padding (to make bad padding).
    fn raw_encrypt(backend: Backend, key: &[u8; 32], blocks: &[u8]) -> Vec<u8> {
        // Encrypting `blocks` plus a full padding block, then dropping that block, leaves the
        // ECB encryption of `blocks` alone (ECB encrypts each block on its own).
        let mut sealed = backend.aes256ecb_encrypt(key, blocks);
        sealed.truncate(blocks.len());
        sealed
    }
}
