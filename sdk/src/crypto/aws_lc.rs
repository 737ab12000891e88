//! The aws-lc-rs backend (feature `aws-lc`, the default).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    AES_256, DecryptingKey, DecryptionContext, EncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

use super::backend::{Provider, RsaComponents};

/// aws-lc-rs: RSA through a [`ParsedPublicKey`] built once per key, AES-GCM through a
/// [`LessSafeKey`] built once per APIv3 key (its key schedule and GHASH table).
pub(crate) struct AwsLc;

impl Provider for AwsLc {
    type PublicKey = ParsedPublicKey;

    fn parse_rsa_public_key(key: &RsaComponents<'_>) -> Result<ParsedPublicKey, String> {
        RsaPublicKeyComponents { n: key.n, e: key.e }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(|e| e.to_string())
    }

    fn verify_rsa_sha256(key: &ParsedPublicKey, message: &[u8], signature: &[u8]) -> bool {
        key.verify_sig(message, signature).is_ok()
    }

    type AeadKey = LessSafeKey;

    fn aead_key(key: &[u8; 32]) -> LessSafeKey {
        less_safe_key(key)
    }

    fn aes256gcm_open_in_place(
        key: &LessSafeKey,
        nonce: &[u8; 12],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Option<usize> {
        key.open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), in_out)
            .ok()
            .map(|plaintext| plaintext.len())
    }

    fn aes256gcm_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let key = less_safe_key(key);
        let mut in_out = Vec::with_capacity(plaintext.len() + super::aead::TAG_LEN);
        in_out.extend_from_slice(plaintext);
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut in_out,
        )
        .expect("AES-256-GCM plaintext within GCM's length limit");
        in_out
    }

    fn aes256ecb_decrypt_blocks(key: &[u8; 32], blocks: &mut [u8]) {
        let key = DecryptingKey::ecb(aes256(key)).expect("ECB is a supported AES-256 mode");
        key.decrypt(blocks, DecryptionContext::None)
            .expect("whole blocks decrypt in ECB mode");
    }

    fn aes256ecb_encrypt_blocks(key: &[u8; 32], blocks: &mut [u8]) {
        let key = EncryptingKey::ecb(aes256(key)).expect("ECB is a supported AES-256 mode");
        key.encrypt(blocks)
            .expect("whole blocks encrypt in ECB mode");
    }
}

fn aes256(key: &[u8; 32]) -> UnboundCipherKey {
    UnboundCipherKey::new(&AES_256, key).expect("a 32-byte key is a valid AES-256 key")
}

fn less_safe_key(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key is a valid AES-256-GCM key"),
    )
}
