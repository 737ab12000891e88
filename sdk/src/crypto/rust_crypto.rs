//! The pure-Rust backend (feature `rustcrypto`): the `rsa` and `aes-gcm` crates.

use aes_gcm::aead::{Aead, AeadInOut, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use rsa::BoxedUint;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::Sha256;

use super::backend::{Provider, RsaComponents};

/// RustCrypto: `rsa::pkcs1v15::VerifyingKey<Sha256>` built once per key, `aes_gcm::Aes256Gcm`.
pub(crate) struct RustCrypto;

impl Provider for RustCrypto {
    type PublicKey = VerifyingKey<Sha256>;

    fn parse_rsa_public_key(key: &RsaComponents<'_>) -> Result<VerifyingKey<Sha256>, String> {
        let n = BoxedUint::from_be_slice_vartime(key.n);
        let e = BoxedUint::from_be_slice_vartime(key.e);
        let public = rsa::PublicKey::new_with_size_limits(n, e, key.bits_range.clone())
            .map_err(|e| e.to_string())?;
        Ok(VerifyingKey::new(public))
    }

    fn verify_rsa_sha256(key: &VerifyingKey<Sha256>, message: &[u8], signature: &[u8]) -> bool {
        match Signature::try_from(signature) {
            Ok(signature) => key.verify(message, &signature).is_ok(),
            Err(_) => false,
        }
    }

    type AeadKey = Aes256Gcm;

    fn aead_key(key: &[u8; 32]) -> Aes256Gcm {
        Aes256Gcm::new(key.into())
    }

    fn aes256gcm_open_in_place(
        key: &Aes256Gcm,
        nonce: &[u8; 12],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Option<usize> {
        let len = in_out.len().checked_sub(super::aead::TAG_LEN)?;
        let (msg, tag) = in_out.split_at_mut(len);
        let tag = aes_gcm::Tag::try_from(&*tag).ok()?;
        key.decrypt_inout_detached(nonce.into(), aad, msg.into(), &tag)
            .ok()
            .map(|()| len)
    }

    fn aes256gcm_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        Aes256Gcm::new(key.into())
            .encrypt(
                nonce.into(),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-256-GCM plaintext within GCM's length limit")
    }

    fn aes256ecb_decrypt_blocks(key: &[u8; 32], blocks: &mut [u8]) {
        use aes::cipher::{BlockCipherDecrypt, KeyInit as _};
        let cipher = aes::Aes256::new(key.into());
        for block in blocks.chunks_exact_mut(16) {
            cipher.decrypt_block(block.try_into().expect("16-byte chunks"));
        }
    }

    fn aes256ecb_encrypt_blocks(key: &[u8; 32], blocks: &mut [u8]) {
        use aes::cipher::{BlockCipherEncrypt, KeyInit as _};
        let cipher = aes::Aes256::new(key.into());
        for block in blocks.chunks_exact_mut(16) {
            cipher.encrypt_block(block.try_into().expect("16-byte chunks"));
        }
    }
}
