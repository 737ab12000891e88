//! Keys and the keyring through the public API: lengths, redaction, PEM forms, refusals, key
//! ids of both kinds, the merchant-serial guard.

use wechatpay_notify::keys::{ApiV2Key, ApiV3Key, KeyError, KeyIdKind, Keyring, VerifyingKey};

const SPKI_PEM: &str = include_str!("vectors/public_key.pem");
const PKCS1_PEM: &str = include_str!("vectors/public_key_pkcs1.pem");
const CERT_PEM: &str = include_str!("vectors/certificate.pem");
const PRIVATE_PEM: &str = include_str!("vectors/private_key.pem");
const EC_PEM: &str = include_str!("vectors/ec_public_key.pem");
const RSA1024_PEM: &str = include_str!("vectors/rsa1024_public_key.pem");
/// Another RSA-2048 public key.
const OTHER_PEM: &str = include_str!("vectors/other_public_key.pem");
/// The vectors certificate's serial, as `make_vectors.py` chose it (leading zero digit).
const CERT_SERIAL: &str = "0A3B5C7D9E1F2A4B6C8D0E1F3A5B7C9D1E2F4A6B";
const CERT_SERIAL_NORMALIZED: &str = "A3B5C7D9E1F2A4B6C8D0E1F3A5B7C9D1E2F4A6B";
const PUB_KEY_ID: &str = "PUB_KEY_ID_0114232134912410000";
const MERCHANT_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD00000000";

#[test]
fn api_v3_key_must_be_32_bytes() {
    assert!(ApiV3Key::new(&[b'k'; 32]).is_ok());
    for len in [0, 16, 31, 33, 64] {
        let err = ApiV3Key::new(&vec![b'k'; len]).unwrap_err();
        assert!(matches!(err, KeyError::ApiV3KeyLength { found } if found == len));
        assert_eq!(
            err.to_string(),
            format!("the APIv3 key must be exactly 32 bytes, found {len}")
        );
    }
    // Text: surrounding whitespace trimmed, then bytes counted (not characters).
    assert!(ApiV3Key::from_text("\t0123456789abcdefghijklmnopqrstuv \r\n").is_ok());
    let err = ApiV3Key::from_text("微信支付密钥微信支付密钥").unwrap_err();
    assert!(matches!(err, KeyError::ApiV3KeyLength { found: 36 }));
    assert!(
        !err.to_string().contains("微信"),
        "the key must not appear in the error"
    );
    let err = ApiV3Key::from_text("s3cr3t-but-too-short").unwrap_err();
    assert!(!err.to_string().contains("s3cr3t"));
}

#[test]
fn api_v2_key_must_not_be_empty() {
    assert!(ApiV2Key::from_text(" 192006250b4c09247ec02edce69f6a2d ").is_ok());
    assert!(
        ApiV2Key::new(b"x").is_ok(),
        "any non-empty length is accepted"
    );
    assert!(matches!(ApiV2Key::new(b""), Err(KeyError::EmptyApiV2Key)));
    assert!(matches!(
        ApiV2Key::from_text(" \n\t"),
        Err(KeyError::EmptyApiV2Key)
    ));
}

#[test]
fn secrets_are_redacted_from_debug() {
    let v3 = ApiV3Key::from_text("0123456789abcdefghijklmnopqrstuv").unwrap();
    let v2 = ApiV2Key::from_text("192006250b4c09247ec02edce69f6a2d").unwrap();
    assert_eq!(format!("{v3:?}"), "ApiV3Key(<redacted>)");
    assert_eq!(format!("{v3:#?}"), "ApiV3Key(<redacted>)");
    assert_eq!(format!("{v2:?}"), "ApiV2Key(<redacted>)");
    let key = VerifyingKey::from_pem(SPKI_PEM).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("bits: 2048"), "{debug}");
    assert!(!debug.contains("modulus") && debug.len() < 80, "{debug}");
}

#[test]
fn every_pem_form_loads_the_same_key() {
    let spki = VerifyingKey::from_pem(SPKI_PEM).unwrap();
    let pkcs1 = VerifyingKey::from_pem(PKCS1_PEM).unwrap();
    let cert = VerifyingKey::from_pem(CERT_PEM).unwrap();
    assert_eq!(spki, pkcs1);
    assert_eq!(spki, cert);
    assert_eq!(spki.bits(), 2048);
    assert_eq!(spki.id(), None);
    assert_eq!(spki.certificate_serial(), None);
    assert_eq!(cert.certificate_serial(), Some(CERT_SERIAL_NORMALIZED));
    assert_eq!(cert.id(), Some(CERT_SERIAL_NORMALIZED));
    assert!(cert.not_before() < cert.not_after());

    // Tolerant of CRLF, text around the block and rewrapped lines.
    let crlf = format!("subject=CN = test\r\n{}", SPKI_PEM.replace('\n', "\r\n"));
    assert_eq!(VerifyingKey::from_pem(&crlf).unwrap(), spki);
    let body: String = SPKI_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let one_line = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n");
    assert_eq!(VerifyingKey::from_pem(&one_line).unwrap(), spki);
}

#[test]
fn non_rsa_small_and_private_keys_are_refused() {
    let err = VerifyingKey::from_pem(EC_PEM).unwrap_err();
    assert!(
        matches!(&err, KeyError::NotRsa { algorithm } if algorithm == "1.2.840.10045.2.1"),
        "{err}"
    );
    assert!(err.to_string().starts_with("not an RSA key"), "{err}");

    let err = VerifyingKey::from_pem(RSA1024_PEM).unwrap_err();
    assert!(matches!(err, KeyError::KeySize { bits: 1024 }), "{err}");
    assert_eq!(
        err.to_string(),
        "unsupported RSA key size: 1024 bits (2048 to 8192 are supported)"
    );

    let err = VerifyingKey::from_pem(PRIVATE_PEM).unwrap_err();
    assert!(matches!(&err, KeyError::UnsupportedPem { label, .. } if label == "PRIVATE KEY"));
    assert!(err.to_string().contains("this is a private key"), "{err}");
    assert!(
        !err.to_string().contains("MII"),
        "no key material in messages: {err}"
    );

    assert!(matches!(
        VerifyingKey::from_pem("hello"),
        Err(KeyError::Pem { .. })
    ));
    let broken = SPKI_PEM.replace("MII", "MIJ");
    assert!(matches!(
        VerifyingKey::from_pem(&broken),
        Err(KeyError::Malformed { .. })
    ));
    let truncated = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----";
    assert!(matches!(
        VerifyingKey::from_pem(truncated),
        Err(KeyError::Malformed { .. })
    ));
}

#[test]
fn errors_are_lowercase_without_trailing_period() {
    let errors = [
        ApiV3Key::new(b"").unwrap_err(),
        ApiV2Key::new(b"").unwrap_err(),
        VerifyingKey::from_pem("x").unwrap_err(),
        VerifyingKey::from_pem(PRIVATE_PEM).unwrap_err(),
        VerifyingKey::from_pem(EC_PEM).unwrap_err(),
        VerifyingKey::from_pem(RSA1024_PEM).unwrap_err(),
        Keyring::new()
            .add_public_key_pem("nope", SPKI_PEM)
            .unwrap_err(),
        merchant_serial_error(),
        duplicate_error(),
    ];
    for err in errors {
        let text = err.to_string();
        assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
        assert!(!text.ends_with('.'), "{text}");
    }
}

fn merchant_serial_error() -> KeyError {
    let mut keyring = Keyring::new();
    keyring.set_merchant_serial(MERCHANT_SERIAL).unwrap();
    keyring
        .add_public_key_pem(MERCHANT_SERIAL, SPKI_PEM)
        .unwrap_err()
}

fn duplicate_error() -> KeyError {
    let mut keyring = Keyring::new();
    keyring.add_public_key_pem(PUB_KEY_ID, SPKI_PEM).unwrap();
    keyring
        .add_public_key_pem(PUB_KEY_ID, OTHER_PEM)
        .unwrap_err()
}

#[test]
fn key_id_kinds() {
    assert_eq!(KeyIdKind::of(PUB_KEY_ID), KeyIdKind::PublicKeyId);
    assert_eq!(KeyIdKind::of(CERT_SERIAL), KeyIdKind::CertificateSerial);
    assert_eq!(
        KeyIdKind::of("PUB_KEY_ID_"),
        KeyIdKind::PublicKeyId,
        "classifies only"
    );
    assert_eq!(KeyIdKind::parse(PUB_KEY_ID), Some(KeyIdKind::PublicKeyId));
    assert_eq!(
        KeyIdKind::parse(&CERT_SERIAL.to_lowercase()),
        Some(KeyIdKind::CertificateSerial)
    );
    assert_eq!(KeyIdKind::parse("PUB_KEY_ID_"), None);
    assert_eq!(KeyIdKind::parse("serial"), None);
}

#[test]
fn keyring_holds_both_kinds_at_once() {
    let mut keyring = Keyring::new();
    assert!(keyring.is_empty());
    keyring.add_public_key_pem(PUB_KEY_ID, SPKI_PEM).unwrap();
    assert!(keyring.contains_kind(KeyIdKind::PublicKeyId));
    assert!(!keyring.contains_kind(KeyIdKind::CertificateSerial));
    let serial = keyring.add_platform_certificate_pem(CERT_PEM).unwrap();
    assert_eq!(serial, CERT_SERIAL_NORMALIZED);
    assert!(keyring.contains_kind(KeyIdKind::CertificateSerial));
    assert_eq!(keyring.len(), 2);

    assert_eq!(keyring.get(PUB_KEY_ID).unwrap().id(), Some(PUB_KEY_ID));
    // Serials compare as hex numbers: any case, with or without leading zeros.
    for spelling in [
        CERT_SERIAL,
        CERT_SERIAL_NORMALIZED,
        &CERT_SERIAL.to_lowercase(),
        &format!("000{CERT_SERIAL_NORMALIZED}"),
    ] {
        let key = keyring
            .get(spelling)
            .unwrap_or_else(|| panic!("{spelling}"));
        assert_eq!(key.id(), Some(CERT_SERIAL_NORMALIZED));
    }
    assert!(keyring.get("PUB_KEY_ID_0114232134912410001").is_none());
    assert!(
        keyring.get("pub_key_id_0114232134912410000").is_none(),
        "ids are case-sensitive"
    );
    assert!(
        keyring
            .get("A3B5C7D9E1F2A4B6C8D0E1F3A5B7C9D1E2F4A6C")
            .is_none()
    );
    assert!(keyring.get("").is_none());
    assert_eq!(
        keyring.ids().collect::<Vec<_>>(),
        [CERT_SERIAL_NORMALIZED, PUB_KEY_ID]
    );

    let debug = format!("{keyring:?}");
    assert!(
        debug.contains(PUB_KEY_ID) && debug.contains(CERT_SERIAL_NORMALIZED),
        "{debug}"
    );
    assert!(!debug.contains("MII"), "{debug}");
}

#[test]
fn a_public_key_may_be_registered_under_a_serial_and_a_certificate_under_an_id() {
    let mut keyring = Keyring::new();
    keyring
        .add_public_key_pem("0a3b5c7d9e1f2a4b6c8d0e1f3a5b7c9d1e2f4a6b", PKCS1_PEM)
        .unwrap();
    keyring.add_public_key_pem(PUB_KEY_ID, CERT_PEM).unwrap();
    assert_eq!(keyring.len(), 2);
    // A certificate under a serial must carry that serial.
    let err = keyring.add_public_key_pem("ABCDEF", CERT_PEM).unwrap_err();
    assert!(
        matches!(&err, KeyError::SerialMismatch { id, certificate } if id == "ABCDEF" && certificate == CERT_SERIAL_NORMALIZED),
        "{err}"
    );
    // A public key is not a certificate.
    let err = keyring.add_platform_certificate_pem(SPKI_PEM).unwrap_err();
    assert!(matches!(err, KeyError::UnsupportedPem { .. }), "{err}");
    assert!(matches!(
        keyring.add_public_key_pem("G123", SPKI_PEM),
        Err(KeyError::InvalidKeyId { .. })
    ));
}

#[test]
fn duplicates_same_key_ok_different_key_refused() {
    let mut keyring = Keyring::new();
    keyring.add_public_key_pem(PUB_KEY_ID, SPKI_PEM).unwrap();
    keyring.add_public_key_pem(PUB_KEY_ID, PKCS1_PEM).unwrap();
    keyring.add_platform_certificate_pem(CERT_PEM).unwrap();
    keyring.add_platform_certificate_pem(CERT_PEM).unwrap();
    assert_eq!(keyring.len(), 2);
    let other = OTHER_PEM;
    let err = keyring.add_public_key_pem(PUB_KEY_ID, other).unwrap_err();
    assert!(
        matches!(&err, KeyError::DuplicateKeyId { id } if id == PUB_KEY_ID),
        "{err}"
    );
    let err = keyring
        .add_public_key_pem(&CERT_SERIAL.to_lowercase(), other)
        .unwrap_err();
    assert!(
        matches!(&err, KeyError::DuplicateKeyId { id } if id == CERT_SERIAL_NORMALIZED),
        "{err}"
    );
    assert_eq!(keyring.len(), 2);
}

#[test]
fn the_merchant_serial_is_refused_as_a_verification_key() {
    let mut keyring = Keyring::new();
    keyring
        .set_merchant_serial(&format!("00{}", MERCHANT_SERIAL.to_lowercase()))
        .unwrap();
    assert_eq!(keyring.merchant_serial(), Some(MERCHANT_SERIAL));
    let err = keyring
        .add_public_key_pem(MERCHANT_SERIAL, SPKI_PEM)
        .unwrap_err();
    assert!(
        matches!(&err, KeyError::MerchantSerial { serial } if serial == MERCHANT_SERIAL),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("merchant's own API certificate serial"),
        "{message}"
    );
    assert!(message.contains("platform certificate"), "{message}");
    assert!(keyring.is_empty());

    // The other order: a key already under the serial, then the serial declared.
    let mut keyring = Keyring::new();
    keyring.add_public_key_pem(CERT_SERIAL, CERT_PEM).unwrap();
    let err = keyring
        .set_merchant_serial(CERT_SERIAL_NORMALIZED)
        .unwrap_err();
    assert!(matches!(err, KeyError::MerchantSerial { .. }), "{err}");
    assert_eq!(keyring.merchant_serial(), None);
    // A public key id is not a certificate serial.
    assert!(matches!(
        keyring.set_merchant_serial(PUB_KEY_ID),
        Err(KeyError::InvalidKeyId { .. })
    ));
}

#[test]
fn the_merchant_serial_guard_covers_certificates() {
    let mut keyring = Keyring::new();
    keyring.set_merchant_serial(CERT_SERIAL).unwrap();
    let err = keyring.add_platform_certificate_pem(CERT_PEM).unwrap_err();
    assert!(matches!(err, KeyError::MerchantSerial { .. }), "{err}");
    // Under a public key id the same key is fine.
    keyring.add_public_key_pem(PUB_KEY_ID, CERT_PEM).unwrap();
}

#[test]
fn keyring_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Keyring>();
    assert_send_sync::<VerifyingKey>();
    assert_send_sync::<ApiV3Key>();
    assert_send_sync::<KeyError>();

    let mut keyring = Keyring::new();
    keyring.add_public_key_pem(PUB_KEY_ID, SPKI_PEM).unwrap();
    let shared = keyring.clone();
    assert!(std::ptr::eq(
        keyring.get(PUB_KEY_ID).unwrap(),
        shared.get(PUB_KEY_ID).unwrap()
    ));
    // Adding to one clone leaves the other as it was.
    keyring.add_platform_certificate_pem(CERT_PEM).unwrap();
    assert_eq!((keyring.len(), shared.len()), (2, 1));
    std::thread::spawn(move || assert!(shared.get(PUB_KEY_ID).is_some()))
        .join()
        .unwrap();
}

#[cfg(feature = "testkit")]
mod testkit {
    use super::*;
    use wechatpay_notify::testkit::{OTHER_TEST_PRIVATE_KEY_PEM, TestSigner};

    #[test]
    fn test_signer_keys_load_as_receivers_load_them() {
        let signer = TestSigner::fixed(PUB_KEY_ID);
        let other = TestSigner::from_pkcs8_pem(OTHER_TEST_PRIVATE_KEY_PEM, PUB_KEY_ID).unwrap();
        let key = VerifyingKey::from_pem(&signer.public_key_pem()).unwrap();
        assert_eq!(key, signer.verifying_key());
        assert_ne!(key, other.verifying_key());
        assert_eq!(key.bits(), 2048);
        let keyring = signer.keyring().unwrap();
        assert_eq!(keyring.get(PUB_KEY_ID), Some(&signer.verifying_key()));
        let debug = format!("{signer:?}");
        assert!(
            debug.contains(PUB_KEY_ID) && debug.contains("<redacted>"),
            "{debug}"
        );
        // The vectors' private key loads too, and matches the vectors' public key.
        let vectors = TestSigner::from_pkcs8_pem(PRIVATE_PEM, CERT_SERIAL).unwrap();
        assert_eq!(
            vectors.verifying_key(),
            VerifyingKey::from_pem(SPKI_PEM).unwrap()
        );
        assert!(matches!(
            TestSigner::from_pkcs8_pem(SPKI_PEM, "1"),
            Err(KeyError::Malformed { .. })
        ));
    }

    #[test]
    fn self_signed_certificates_register_under_their_serial() {
        let signer = TestSigner::fixed("00ab12");
        let pem = signer.self_signed_certificate_pem("00ab12").unwrap();
        let mut keyring = Keyring::new();
        assert_eq!(keyring.add_platform_certificate_pem(&pem).unwrap(), "AB12");
        assert_eq!(keyring.get("ab12"), Some(&signer.verifying_key()));
        // A serial with the high bit set (DER adds a zero byte) still reads back as written.
        let high = "F1E2D3C4B5A697887766554433221100FFEEDD";
        let pem = signer.self_signed_certificate_pem(high).unwrap();
        assert_eq!(keyring.add_platform_certificate_pem(&pem).unwrap(), high);
        assert!(matches!(
            signer.self_signed_certificate_pem("xyz"),
            Err(KeyError::InvalidKeyId { .. })
        ));
        assert!(
            signer.self_signed_certificate_pem(&"F".repeat(40)).is_err(),
            "21 bytes in DER"
        );
        assert!(signer.self_signed_certificate_pem(&"7".repeat(40)).is_ok());
    }
}
