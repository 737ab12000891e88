//! SHA-256: the digest of a v3 signed message, computed once and used both to verify the
//! signature (prehashed) and to key the verified-request cache, and the SDK's other hashing.
//! aws-lc-rs when it is compiled in, the `sha2` crate otherwise.

use crate::keys::VerifyingKey;

/// SHA-256 of a v3 signed message `"{timestamp}\n{nonce}\n{body}\n"`, in the form the active
/// backend verifies against.
pub(crate) struct MessageDigest {
    #[cfg(feature = "aws-lc")]
    digest: aws_lc_rs::digest::Digest,
    #[cfg(not(feature = "aws-lc"))]
    digest: [u8; 32],
}

impl MessageDigest {
    /// Hashes the message WeChat Pay signs, streaming its parts (no copy of the body).
    pub(crate) fn of_v3_message(timestamp: &str, nonce: &str, body: &[u8]) -> Self {
        let parts: [&[u8]; 6] = [
            timestamp.as_bytes(),
            b"\n",
            nonce.as_bytes(),
            b"\n",
            body,
            b"\n",
        ];
        #[cfg(feature = "aws-lc")]
        {
            let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
            for part in parts {
                ctx.update(part);
            }
            MessageDigest {
                digest: ctx.finish(),
            }
        }
        #[cfg(not(feature = "aws-lc"))]
        {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            for part in parts {
                h.update(part);
            }
            MessageDigest {
                digest: h.finalize().into(),
            }
        }
    }

    /// The 32 digest bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.digest.as_ref()
    }

    /// Verifies an RSA-SHA256 PKCS#1 v1.5 `signature` of the hashed message with `key`, on the
    /// active backend: the same check as [`super::verify_rsa_sha256`] over the message.
    pub(crate) fn verify_rsa(&self, key: &VerifyingKey, signature: &[u8]) -> bool {
        #[cfg(feature = "aws-lc")]
        {
            key.aws_lc()
                .verify_digest_sig(&self.digest, signature)
                .is_ok()
        }
        #[cfg(not(feature = "aws-lc"))]
        {
            use rsa::signature::hazmat::PrehashVerifier;
            match rsa::pkcs1v15::Signature::try_from(signature) {
                Ok(sig) => key.rust_crypto().verify_prehash(&self.digest, &sig).is_ok(),
                Err(_) => false,
            }
        }
    }
}

/// SHA-256 over `parts`, each preceded by its length as 8 little-endian bytes, so that no two
/// different lists of parts give the same input.
pub(crate) fn sha256_length_prefixed(parts: &[&[u8]]) -> [u8; 32] {
    #[cfg(feature = "aws-lc")]
    {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for part in parts {
            ctx.update(&(part.len() as u64).to_le_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
    #[cfg(not(feature = "aws-lc"))]
    {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in parts {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "testkit")]
    fn prehashed_verification_agrees_with_message_verification() {
        let signer = crate::testkit::TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000");
        let key = signer.verifying_key();
        let body = "{\"id\":\"EV-1\",\"summary\":\"支付成功\"}".as_bytes();
        let sig = signer.sign_v3("1700000000", "nonce", body);
        let sig = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sig).unwrap();
        let d = MessageDigest::of_v3_message("1700000000", "nonce", body);
        assert!(d.verify_rsa(&key, &sig));
        let message = [b"1700000000\nnonce\n".as_slice(), body, b"\n"].concat();
        assert!(super::super::verify_rsa_sha256(&key, &message, &sig));
        for (ts, nonce, body) in [
            ("1700000001", "nonce", body),
            ("1700000000", "nonc3", body),
            ("1700000000", "nonce", &body[1..]),
        ] {
            assert!(!MessageDigest::of_v3_message(ts, nonce, body).verify_rsa(&key, &sig));
        }
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(!d.verify_rsa(&key, &bad));
        assert!(
            !d.verify_rsa(&key, &sig[1..]),
            "a short signature is simply false"
        );
    }

    #[test]
    fn prefixes_keep_parts_apart_and_match_a_known_digest() {
        assert_ne!(
            sha256_length_prefixed(&[b"ab", b"c"]),
            sha256_length_prefixed(&[b"a", b"bc"])
        );
        // SHA-256 of 8 zero bytes (one empty part), computed independently.
        assert_eq!(
            hex_encode(&sha256_length_prefixed(&[b""])),
            "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc"
        );
    }

    fn hex_encode(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
