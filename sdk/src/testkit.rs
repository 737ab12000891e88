//! Sign and seal notifications as WeChat Pay does, for tests and the simulator (feature
//! `testkit`).
//!
//! A [`TestSigner`] holds an RSA private key and the key id it answers to (a `PUB_KEY_ID_…` id
//! or a certificate serial), and signs the way WeChat Pay signs a v3 notification.
//! [`seal_resource`] encrypts a resource the way WeChat Pay encrypts it with the merchant's
//! APIv3 key. Both use keys you control: nothing here is for production traffic.
//!
//! ```
//! use wechatpay_notify::crypto::{aes256gcm_open, verify_rsa_sha256};
//! use wechatpay_notify::keys::{ApiV3Key, Keyring};
//! use wechatpay_notify::testkit::{TestSigner, seal_resource};
//! use base64::Engine as _;
//! use base64::engine::general_purpose::STANDARD;
//!
//! // WeChat Pay's side: a signing key (a fixed test key: generating one is slow in debug
//! // builds) and the merchant's APIv3 key.
//! let signer = TestSigner::fixed("PUB_KEY_ID_0114232134912410000");
//! let api_v3_key = ApiV3Key::from_text("0123456789abcdefghijklmnopqrstuv")?;
//! let sealed = seal_resource(&api_v3_key, "{\"trade_state\":\"SUCCESS\"}".as_bytes(), "transaction", None);
//! let body = format!(
//!     r#"{{"id":"EV-1","resource":{{"ciphertext":"{}","nonce":"{}","associated_data":"{}"}}}}"#,
//!     sealed.ciphertext_b64, sealed.nonce, sealed.associated_data,
//! );
//! let signature = signer.sign_v3("1700000000", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", body.as_bytes());
//!
//! // The merchant's side: the public key registered under its id.
//! let mut keyring = Keyring::new();
//! keyring.add_public_key_pem(signer.key_id(), &signer.public_key_pem())?;
//! let key = keyring.get("PUB_KEY_ID_0114232134912410000").expect("registered");
//! let message = format!("1700000000\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n{body}\n");
//! assert!(verify_rsa_sha256(key, message.as_bytes(), &STANDARD.decode(&signature)?));
//!
//! // Only the right APIv3 key opens it.
//! let ciphertext = STANDARD.decode(&sealed.ciphertext_b64)?;
//! let (nonce, aad) = (sealed.nonce.as_bytes(), sealed.associated_data.as_bytes());
//! assert!(aes256gcm_open(&[0u8; 32], nonce, aad, &ciphertext).is_err());
//! let plaintext = aes256gcm_open(b"0123456789abcdefghijklmnopqrstuv", nonce, aad, &ciphertext)?;
//! assert_eq!(plaintext, b"{\"trade_state\":\"SUCCESS\"}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod certificate;
mod fixed_keys;
mod request;
pub mod simulator;
mod v2;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{Keypair, SignatureEncoding, Signer};
use sha2::Sha256;

pub use fixed_keys::{OTHER_TEST_PRIVATE_KEY_PEM, TEST_PRIVATE_KEY_PEM};
pub use request::{SignedRequest, V3RequestBuilder};
pub use v2::V2Sealer;

use crate::crypto::{self, NONCE_LEN};
use crate::keys::{ApiV3Key, KeyError, Keyring, VerifyingKey};

/// Characters of WeChat Pay's nonces (`resource.nonce`, `Wechatpay-Nonce`).
const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// An RSA private key and the key id it answers to: WeChat Pay's side of a signature, for
/// tests. TEST ONLY.
///
/// Signatures are RSA-SHA256 PKCS#1 v1.5, base64 — the `Wechatpay-Signature` header. `Debug`
/// shows the key id and size, never the key.
#[derive(Clone)]
pub struct TestSigner {
    key: SigningKey<Sha256>,
    key_id: String,
}

impl TestSigner {
    /// A fresh RSA-2048 key answering to `key_id` (a `PUB_KEY_ID_…` id or a certificate
    /// serial). Slow in debug builds (seconds); [`fixed`](Self::fixed) is instant.
    ///
    /// # Panics
    /// If the operating system's random number generator fails.
    pub fn generate(key_id: impl Into<String>) -> Self {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
            .expect("RSA-2048 key generation with the OS random number generator");
        TestSigner {
            key: SigningKey::new(key),
            key_id: key_id.into(),
        }
    }

    /// The fixed test key [`TEST_PRIVATE_KEY_PEM`] answering to `key_id`. TEST ONLY: the
    /// private key is public.
    pub fn fixed(key_id: impl Into<String>) -> Self {
        Self::from_pkcs8_pem(TEST_PRIVATE_KEY_PEM, key_id).expect("the fixed test key loads")
    }

    /// A signer from an RSA private key in PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`, as
    /// OpenSSL 3 writes it) or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`).
    ///
    /// # Errors
    /// [`KeyError::Malformed`] when the PEM does not hold an RSA private key.
    pub fn from_pkcs8_pem(pem: &str, key_id: impl Into<String>) -> Result<Self, KeyError> {
        let key = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            rsa::PrivateKey::from_pkcs1_pem(pem)
                .map_err(|e| KeyError::malformed("PKCS#1 RSA private key", e))?
        } else {
            rsa::PrivateKey::from_pkcs8_pem(pem)
                .map_err(|e| KeyError::malformed("PKCS#8 RSA private key", e))?
        };
        Ok(TestSigner {
            key: SigningKey::new(key),
            key_id: key_id.into(),
        })
    }

    /// The key id this signer answers to (the `Wechatpay-Serial` header).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The same key answering to another id.
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = key_id.into();
        self
    }

    /// Sign `message`: RSA-SHA256 PKCS#1 v1.5, base64 (standard alphabet, padded).
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.key.sign(message).to_bytes())
    }

    /// Sign a v3 notification as WeChat Pay does: over `"{timestamp}\n{nonce}\n{body}\n"`.
    pub fn sign_v3(&self, timestamp: &str, nonce: &str, body: &[u8]) -> String {
        let mut message = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
        for part in [timestamp.as_bytes(), nonce.as_bytes(), body] {
            message.extend_from_slice(part);
            message.push(b'\n');
        }
        self.sign(&message)
    }

    /// The public key, PEM `SubjectPublicKeyInfo` (`-----BEGIN PUBLIC KEY-----`), as WeChat
    /// Pay hands out its public key.
    pub fn public_key_pem(&self) -> String {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("an RSA public key encodes")
    }

    /// The private key, PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`), for test key files.
    pub fn private_key_pem(&self) -> String {
        use rsa::pkcs8::EncodePrivateKey;
        self.key
            .as_ref()
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an RSA private key encodes")
            .to_string()
    }

    /// The public key, loaded as a receiver loads it.
    pub fn verifying_key(&self) -> VerifyingKey {
        let der = self
            .key
            .verifying_key()
            .to_public_key_der()
            .expect("an RSA public key encodes");
        VerifyingKey::from_spki_der(der.as_bytes()).expect("the test key is a valid RSA-2048 key")
    }

    /// A keyring holding this signer's public key under its key id.
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`] when the key id is neither a `PUB_KEY_ID_…` id nor a hex
    /// serial.
    pub fn keyring(&self) -> Result<Keyring, KeyError> {
        let mut keyring = Keyring::new();
        keyring.add_key(&self.key_id, self.verifying_key())?;
        Ok(keyring)
    }

    /// A self-signed X.509 certificate (PEM) for this key with the given hexadecimal `serial`,
    /// valid from an hour ago for ten years: a stand-in for a WeChat Pay platform certificate.
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`] when `serial` is not hexadecimal or does not fit the 20
    /// octets X.509 allows once DER-encoded (a 40-digit serial must start with 0–7).
    pub fn self_signed_certificate_pem(&self, serial: &str) -> Result<String, KeyError> {
        certificate::self_signed(&self.key, serial)
    }
}

impl fmt::Debug for TestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestSigner")
            .field("key_id", &self.key_id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// An encrypted v3 `resource`, as WeChat Pay puts it in a notification (algorithm
/// [`SealedResource::ALGORITHM`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedResource {
    /// `resource.ciphertext`: base64 of the ciphertext followed by the 16-byte tag.
    pub ciphertext_b64: String,
    /// `resource.nonce`: 12 characters whose UTF-8 bytes are the GCM nonce.
    pub nonce: String,
    /// `resource.associated_data`: its UTF-8 bytes are the AAD.
    pub associated_data: String,
}

impl SealedResource {
    /// `resource.algorithm`.
    pub const ALGORITHM: &'static str = "AEAD_AES_256_GCM";
}

/// Encrypt `plaintext` (the resource JSON) with the APIv3 key as WeChat Pay does:
/// AES-256-GCM, the nonce a 12-character string used as raw bytes, the AAD the bytes of
/// `associated_data` (often `"transaction"`, `"refund"`, or empty).
///
/// `nonce` fixes the nonce for reproducible tests; `None` draws a random alphanumeric one, as
/// WeChat Pay does.
///
/// # Panics
/// If a given `nonce` is not valid UTF-8 (WeChat Pay's are ASCII letters and digits): the wire
/// carries the nonce as a string.
pub fn seal_resource(
    api_v3_key: &ApiV3Key,
    plaintext: &[u8],
    associated_data: &str,
    nonce: Option<[u8; NONCE_LEN]>,
) -> SealedResource {
    let nonce_bytes = nonce.unwrap_or_else(|| {
        random_alphanumeric(NONCE_LEN)
            .into_bytes()
            .try_into()
            .expect("12 ASCII characters are 12 bytes")
    });
    let nonce = String::from_utf8(nonce_bytes.to_vec())
        .expect("the nonce travels as a string, so it must be UTF-8");
    let sealed = crypto::aes256gcm_seal(
        api_v3_key.expose(),
        &nonce_bytes,
        associated_data.as_bytes(),
        plaintext,
    );
    SealedResource {
        ciphertext_b64: STANDARD.encode(sealed),
        nonce,
        associated_data: associated_data.to_owned(),
    }
}

/// `len` random ASCII letters and digits, as WeChat Pay's nonces are (12 for
/// `resource.nonce`, 32 for `Wechatpay-Nonce`).
pub fn random_alphanumeric(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in crypto::random_bytes::<32>() {
            // 62 * 4 = 248: reject 248..=255 so every character is equally likely.
            if byte < 248 && out.len() < len {
                out.push(char::from(ALPHANUMERIC[usize::from(byte % 62)]));
            }
        }
    }
    out
}
