//! APIv2 against independent vectors: signs, AES-256-ECB and AES-256-GCM ciphertexts made
//! by Python's hashlib, hmac and `cryptography` (`vectors/v2/make_v2_vectors.py`), never by
//! the SDK. Every example of the eight kinds, and the refusals: tampered sign, wrong key,
//! disallowed sign type, missing sign, bad padding, truncated XML, entity expansion,
//! duplicates, nesting, oversize body, a FAIL envelope, a wrong APIv3 key.

use serde_json::Value;
use wechatpay_notify::Receiver;
use wechatpay_notify::keys::{ApiV2Key, ApiV3Key, Keyring};
use wechatpay_notify::v2::{self, FlatXml, SignType, SignTypes};

fn vectors() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/v2/v2_vectors.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn receiver(v: &Value, sign_types: Option<&str>) -> Receiver {
    let v3 = ApiV3Key::from_text(v["api_v3_key"].as_str().unwrap()).unwrap();
    let v2key = ApiV2Key::from_text(v["api_v2_key"].as_str().unwrap()).unwrap();
    let mut r = Receiver::new(Keyring::new(), v3).with_api_v2_key(v2key);
    if let Some(types) = sign_types {
        r = r.with_v2_sign_types(types.parse::<SignTypes>().unwrap());
    }
    r
}

#[test]
fn the_official_sign_example_and_its_hmac() {
    let v = vectors();
    for ex in v["sign_examples"].as_array().unwrap() {
        let fields: Vec<(String, String)> = ex["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let xml = FlatXml::from_entries(fields);
        let key = ApiV2Key::from_text(ex["key"].as_str().unwrap()).unwrap();
        let ty = SignType::from_wire(ex["sign_type"].as_str().unwrap()).unwrap();
        assert_eq!(v2::sign(&xml, &key, ty), ex["sign"].as_str().unwrap());
        if let Some(s) = ex["sign_string"].as_str() {
            assert_eq!(&**v2::sign_string(&xml, &key), s.as_bytes());
        }
    }
    // The brief's figure, independently of the file.
    let v = &vectors()["sign_examples"][0];
    assert_eq!(v["sign"], "9A0A8659F005D6984697E2CA0A9CF3B7");
}

#[test]
fn every_body_gives_what_the_vectors_say() {
    let v = vectors();
    let mut ok = 0;
    let mut refused = 0;
    for case in v["bodies"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let body = case["body"].as_str().unwrap().as_bytes();
        let expect = &case["expect"];
        let r = receiver(&v, case["sign_types"].as_str());
        let result = r.receive_v2(body);
        if expect["ok"] == true {
            let received = result.unwrap_or_else(|e| panic!("{name}: {e} ({:?})", e.path()));
            assert_eq!(
                received.kind().map(|k| k.id()),
                expect["kind"].as_str(),
                "{name}"
            );
            assert!(
                received.violations.is_empty(),
                "{name}: {:?}",
                received.violations
            );
            if let Some(ty) = expect["sign_type"].as_str() {
                let checked = r.check_v2(body).unwrap();
                assert_eq!(
                    checked.sign_type().map(SignType::as_str),
                    Some(ty),
                    "{name}"
                );
            }
            ok += 1;
        } else {
            let e = match result {
                Ok(r) => panic!("{name}: accepted as {:?}", r.kind()),
                Err(e) => e,
            };
            assert_eq!(
                e.kind().as_str(),
                expect["error"].as_str().unwrap(),
                "{name}: {e}"
            );
            if let Some(path) = expect["path"].as_str() {
                assert_eq!(e.path().as_deref(), Some(path), "{name}: {e}");
            }
            refused += 1;
        }
    }
    assert!(
        ok >= 10 && refused >= 15,
        "{ok} accepted, {refused} refused"
    );
}

#[test]
fn a_v2_only_receiver_refuses_what_needs_the_apiv3_key() {
    let v = vectors();
    let r = Receiver::for_v2(ApiV2Key::from_text(v["api_v2_key"].as_str().unwrap()).unwrap());
    for case in v["bodies"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let kind = case["expect"]["kind"].as_str().unwrap_or_default();
        if case["expect"]["ok"] != true {
            continue;
        }
        let result = r.receive_v2(case["body"].as_str().unwrap().as_bytes());
        if kind.starts_with("v2:CHECK") || kind.starts_with("v2:TRANSACTION") {
            let e = result.unwrap_err();
            assert_eq!(e.kind().as_str(), "key_not_configured", "{name}");
        } else {
            assert!(result.is_ok(), "{name}");
        }
    }
}

/// Untrusted bytes never panic the APIv2 path: every prefix of every accepted body, and
/// bodies with bytes flipped or replaced by XML's special characters (a fixed pseudo-random
/// sequence, so failures reproduce), are answered with a result.
#[test]
fn truncations_and_mutations_never_panic() {
    let v = vectors();
    let r = receiver(&v, None);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut runs = 0;
    for case in v["bodies"].as_array().unwrap() {
        if case["expect"]["ok"] != true {
            continue;
        }
        let body = case["body"].as_str().unwrap().as_bytes();
        for end in (0..body.trim_ascii_end().len()).step_by(7) {
            assert!(r.receive_v2(&body[..end]).is_err(), "prefix {end} accepted");
            runs += 1;
        }
        for _ in 0..300 {
            let mut m = body.to_vec();
            for _ in 0..1 + next() % 3 {
                let i = (next() as usize) % m.len();
                m[i] = match next() % 4 {
                    0 => m[i] ^ (1 << (next() % 8)),
                    1 => b"<>&;/![]"[(next() % 8) as usize],
                    2 => b' ',
                    _ => 0xff,
                };
            }
            let _ = r.receive_v2(&m);
            runs += 1;
        }
    }
    assert!(runs > 3000, "{runs}");
}
