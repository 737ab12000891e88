//! The SDK against independent vectors: an RSA key pair, signatures and AES-256-GCM
//! ciphertexts made by Python's `cryptography` (OpenSSL) with `tests/vectors/make_vectors.py`.
//! Every check runs on the active backend and on each compiled backend; tampered inputs fail.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use wechatpay_notify::crypto::{self, AeadError, Backend};
use wechatpay_notify::keys::{ApiV3Key, VerifyingKey};

const VECTORS: &str = include_str!("vectors/vectors.json");
const SPKI_PEM: &str = include_str!("vectors/public_key.pem");
const PKCS1_PEM: &str = include_str!("vectors/public_key_pkcs1.pem");
const CERT_PEM: &str = include_str!("vectors/certificate.pem");
const OTHER_PEM: &str = include_str!("vectors/other_public_key.pem");

struct SignatureVector {
    label: String,
    timestamp: String,
    nonce: String,
    body: String,
    message: Vec<u8>,
    signature: Vec<u8>,
    #[cfg_attr(not(feature = "testkit"), allow(dead_code))]
    signature_b64: String,
}

struct CipherVector {
    label: String,
    nonce: String,
    associated_data: String,
    plaintext: String,
    sealed: Vec<u8>,
}

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors.json parses")
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string"))
        .to_owned()
}

fn b64(v: &Value, field: &str) -> Vec<u8> {
    STANDARD.decode(text(v, field)).expect("base64")
}

fn signature_vectors() -> Vec<SignatureVector> {
    let all = vectors()["signatures"]
        .as_array()
        .expect("signatures")
        .clone();
    assert!(all.len() >= 4);
    all.iter()
        .map(|v| SignatureVector {
            label: text(v, "label"),
            timestamp: text(v, "timestamp"),
            nonce: text(v, "nonce"),
            body: text(v, "body"),
            message: b64(v, "message_b64"),
            signature: b64(v, "signature_b64"),
            signature_b64: text(v, "signature_b64"),
        })
        .collect()
}

fn cipher_vectors() -> Vec<CipherVector> {
    let all = vectors()["ciphertexts"]
        .as_array()
        .expect("ciphertexts")
        .clone();
    assert!(all.len() >= 4);
    all.iter()
        .map(|v| CipherVector {
            label: text(v, "label"),
            nonce: text(v, "nonce"),
            associated_data: text(v, "associated_data"),
            plaintext: text(v, "plaintext"),
            sealed: b64(v, "ciphertext_b64"),
        })
        .collect()
}

#[cfg_attr(not(feature = "testkit"), allow(dead_code))]
fn api_v3_key() -> ApiV3Key {
    ApiV3Key::from_text(&text(&vectors(), "api_v3_key")).expect("32-byte key")
}

/// The bytes of `ApiV3Key`, which the SDK keeps to itself: tests read the text again.
fn api_v3_key_bytes() -> [u8; 32] {
    text(&vectors(), "api_v3_key")
        .as_bytes()
        .try_into()
        .expect("32 bytes")
}

fn v3_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    [
        timestamp.as_bytes(),
        b"\n",
        nonce.as_bytes(),
        b"\n",
        body,
        b"\n",
    ]
    .concat()
}

/// `data` with one bit flipped at `index`.
fn flipped(data: &[u8], index: usize) -> Vec<u8> {
    let mut out = data.to_vec();
    out[index] ^= 0x01;
    out
}

#[test]
fn vectors_cover_what_they_claim() {
    let v = vectors();
    assert_eq!(v["modulus_bits"], 2048);
    let sigs = signature_vectors();
    assert!(sigs.iter().any(|s| {
        s.body
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }));
    assert!(sigs.iter().any(|s| s.body.contains('\n')));
    let ciphers = cipher_vectors();
    assert!(ciphers.iter().any(|c| c.associated_data.is_empty()));
    assert!(ciphers.iter().any(|c| !c.associated_data.is_empty()));
    for c in &ciphers {
        assert_eq!(c.nonce.len(), 12);
        assert!(c.nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}

#[test]
fn signatures_verify_with_every_key_form_and_backend() {
    let keys = [
        VerifyingKey::from_pem(SPKI_PEM).unwrap(),
        VerifyingKey::from_pem(PKCS1_PEM).unwrap(),
        VerifyingKey::from_pem(CERT_PEM).unwrap(),
    ];
    for v in signature_vectors() {
        // The message is exactly "timestamp\nnonce\nbody\n" over the body's UTF-8 bytes.
        assert_eq!(
            v.message,
            v3_message(&v.timestamp, &v.nonce, v.body.as_bytes()),
            "{}",
            v.label
        );
        for key in &keys {
            assert!(
                crypto::verify_rsa_sha256(key, &v.message, &v.signature),
                "{}",
                v.label
            );
            for backend in Backend::compiled() {
                assert!(
                    backend.verify(key, &v.message, &v.signature),
                    "{} on {backend}",
                    v.label
                );
            }
        }
    }
}

#[test]
fn tampered_signatures_and_messages_fail_on_every_backend() {
    let key = VerifyingKey::from_pem(SPKI_PEM).unwrap();
    let other = VerifyingKey::from_pem(OTHER_PEM).unwrap();
    for v in signature_vectors() {
        let (m, s) = (&v.message, &v.signature);
        let mut longer = s.clone();
        longer.push(0);
        let mut cases: Vec<(String, &VerifyingKey, Vec<u8>, Vec<u8>)> = vec![
            ("signature first bit".into(), &key, m.clone(), flipped(s, 0)),
            (
                "signature last bit".into(),
                &key,
                m.clone(),
                flipped(s, s.len() - 1),
            ),
            (
                "truncated signature".into(),
                &key,
                m.clone(),
                s[..s.len() - 1].to_vec(),
            ),
            ("longer signature".into(), &key, m.clone(), longer),
            ("empty signature".into(), &key, m.clone(), Vec::new()),
            ("zero signature".into(), &key, m.clone(), vec![0; s.len()]),
            (
                "message without final newline".into(),
                &key,
                m[..m.len() - 1].to_vec(),
                s.clone(),
            ),
            ("message first bit".into(), &key, flipped(m, 0), s.clone()),
            ("other key".into(), &other, m.clone(), s.clone()),
        ];
        if !v.body.is_empty() {
            let body_start = v.timestamp.len() + v.nonce.len() + 2;
            cases.push((
                "body first bit".into(),
                &key,
                flipped(m, body_start),
                s.clone(),
            ));
        }
        for (what, key, message, signature) in cases {
            assert!(
                !crypto::verify_rsa_sha256(key, &message, &signature),
                "{}: {what}",
                v.label
            );
            for backend in Backend::compiled() {
                assert!(
                    !backend.verify(key, &message, &signature),
                    "{}: {what} on {backend}",
                    v.label
                );
            }
        }
    }
}

#[test]
fn ciphertexts_open_and_seal_identically_on_every_backend() {
    let key = api_v3_key_bytes();
    for c in cipher_vectors() {
        let (nonce, aad) = (c.nonce.as_bytes(), c.associated_data.as_bytes());
        let opened = crypto::aes256gcm_open(&key, nonce, aad, &c.sealed).unwrap();
        assert_eq!(opened, c.plaintext.as_bytes(), "{}", c.label);
        let nonce12: &[u8; 12] = nonce.try_into().unwrap();
        assert_eq!(
            crypto::aes256gcm_seal(&key, nonce12, aad, c.plaintext.as_bytes()),
            c.sealed
        );
        for backend in Backend::compiled() {
            let opened = backend.aes256gcm_open(&key, nonce, aad, &c.sealed).unwrap();
            assert_eq!(opened, c.plaintext.as_bytes(), "{} on {backend}", c.label);
            let sealed = backend.aes256gcm_seal(&key, nonce12, aad, c.plaintext.as_bytes());
            assert_eq!(sealed, c.sealed, "{} on {backend}", c.label);
        }
    }
}

/// One altered decryption input and the error it must give.
struct Tampered {
    what: &'static str,
    key: [u8; 32],
    nonce: Vec<u8>,
    aad: Vec<u8>,
    data: Vec<u8>,
    expected: AeadError,
}

#[test]
fn tampered_ciphertexts_fail_on_every_backend() {
    let key = api_v3_key_bytes();
    let mut wrong_key = key;
    wrong_key[31] ^= 0x80;
    for c in cipher_vectors() {
        let (nonce, aad, sealed) = (c.nonce.as_bytes(), c.associated_data.as_bytes(), &c.sealed);
        let case = |what, key, nonce: &[u8], aad: &[u8], data: &[u8], expected| Tampered {
            what,
            key,
            nonce: nonce.to_vec(),
            aad: aad.to_vec(),
            data: data.to_vec(),
            expected,
        };
        // Shorter than a tag is `TooShort`; anything else altered is `TagMismatch`.
        let short_or_mismatch = |len: usize| {
            if len < 16 {
                AeadError::TooShort
            } else {
                AeadError::TagMismatch
            }
        };
        let mismatch = AeadError::TagMismatch;
        let mut cases = vec![
            case("wrong key", wrong_key, nonce, aad, sealed, mismatch),
            case(
                "other nonce",
                key,
                &flipped(nonce, 11),
                aad,
                sealed,
                mismatch,
            ),
            case(
                "longer aad",
                key,
                nonce,
                &[aad, b"x"].concat(),
                sealed,
                mismatch,
            ),
            case(
                "tag last bit",
                key,
                nonce,
                aad,
                &flipped(sealed, sealed.len() - 1),
                mismatch,
            ),
            case(
                "tag first bit",
                key,
                nonce,
                aad,
                &flipped(sealed, sealed.len() - 16),
                mismatch,
            ),
            case(
                "tag dropped",
                key,
                nonce,
                aad,
                &sealed[..sealed.len() - 16],
                short_or_mismatch(sealed.len() - 16),
            ),
            case(
                "one byte short",
                key,
                nonce,
                aad,
                &sealed[..sealed.len() - 1],
                short_or_mismatch(sealed.len() - 1),
            ),
            case(
                "13-byte nonce",
                key,
                &[nonce, b"x"].concat(),
                aad,
                sealed,
                AeadError::NonceLength(13),
            ),
            case(
                "11-byte nonce",
                key,
                &nonce[..11],
                aad,
                sealed,
                AeadError::NonceLength(11),
            ),
        ];
        if sealed.len() > 16 {
            cases.push(case(
                "ciphertext first bit",
                key,
                nonce,
                aad,
                &flipped(sealed, 0),
                mismatch,
            ));
        }
        if aad.is_empty() {
            cases.push(case(
                "aad added",
                key,
                nonce,
                b"transaction",
                sealed,
                mismatch,
            ));
        } else {
            cases.push(case("aad removed", key, nonce, b"", sealed, mismatch));
        }
        for t in cases {
            let label = format!("{}: {}", c.label, t.what);
            let got = crypto::aes256gcm_open(&t.key, &t.nonce, &t.aad, &t.data);
            assert_eq!(got, Err(t.expected), "{label}");
            for backend in Backend::compiled() {
                let got = backend.aes256gcm_open(&t.key, &t.nonce, &t.aad, &t.data);
                assert_eq!(got, Err(t.expected), "{label} on {backend}");
            }
        }
    }
}

#[cfg(feature = "testkit")]
mod testkit {
    use super::*;
    use wechatpay_notify::testkit::{TestSigner, seal_resource};

    const PRIVATE_PEM: &str = include_str!("vectors/private_key.pem");

    /// PKCS#1 v1.5 signatures are deterministic: the test kit signing with the vectors' private
    /// key must produce OpenSSL's signatures byte for byte.
    #[test]
    fn test_signer_reproduces_openssl_signatures() {
        let signer = TestSigner::from_pkcs8_pem(PRIVATE_PEM, "PUB_KEY_ID_1").unwrap();
        for v in signature_vectors() {
            assert_eq!(
                signer.sign_v3(&v.timestamp, &v.nonce, v.body.as_bytes()),
                v.signature_b64,
                "{}",
                v.label
            );
            assert_eq!(signer.sign(&v.message), v.signature_b64, "{}", v.label);
        }
    }

    /// Same for AES-GCM with a fixed nonce: `seal_resource` must produce the vectors exactly.
    #[test]
    fn seal_resource_reproduces_openssl_ciphertexts() {
        let key = api_v3_key();
        for c in cipher_vectors() {
            let nonce: [u8; 12] = c.nonce.as_bytes().try_into().unwrap();
            let sealed = seal_resource(
                &key,
                c.plaintext.as_bytes(),
                &c.associated_data,
                Some(nonce),
            );
            assert_eq!(
                sealed.ciphertext_b64,
                STANDARD.encode(&c.sealed),
                "{}",
                c.label
            );
            assert_eq!(sealed.nonce, c.nonce);
            assert_eq!(sealed.associated_data, c.associated_data);
        }
        let random = seal_resource(&key, b"{}", "transaction", None);
        assert_eq!(random.nonce.len(), 12);
        assert!(random.nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
        let opened = crypto::aes256gcm_open(
            &api_v3_key_bytes(),
            random.nonce.as_bytes(),
            b"transaction",
            &STANDARD.decode(&random.ciphertext_b64).unwrap(),
        );
        assert_eq!(opened.unwrap(), b"{}");
    }

    #[test]
    fn generated_signers_sign_verifiably() {
        let signer = TestSigner::generate("PUB_KEY_ID_9");
        let keyring = signer.keyring().unwrap();
        let key = keyring.get("PUB_KEY_ID_9").unwrap();
        let signature = STANDARD.decode(signer.sign_v3("1", "n", b"{}")).unwrap();
        for backend in Backend::compiled() {
            assert!(backend.verify(key, b"1\nn\n{}\n", &signature), "{backend}");
            assert!(!backend.verify(key, b"1\nn\n{}", &signature), "{backend}");
        }
    }
}
