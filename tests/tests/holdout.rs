//! Hold-out payloads — page examples that mix variants, and shapes the examples do not show —
//! land on the variant the catalogue's rules give them, or on none (`tests/holdout/*.json`:
//! event_type, original_type, the payload and the expected kind id, or null for no variant).

use std::path::Path;

use wechatpay_notify::Kind;
use wechatpay_notify::generated::{Classified, classify};

#[test]
fn hold_out_payloads_land_on_their_variant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("holdout");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{} hold-out payloads", files.len());
    for path in files {
        let case: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let payload = serde_json::to_vec(&case["payload"]).unwrap();
        let got = classify(
            case["event_type"].as_str().unwrap(),
            case["original_type"].as_str(),
            &payload,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected = case["expected_kind"].as_str().map(|id| {
            Kind::from_id(id).unwrap_or_else(|| panic!("{}: unknown kind {id}", path.display()))
        });
        match expected {
            Some(kind) => assert_eq!(got, Classified::Kind(kind), "{}", path.display()),
            None => assert_eq!(got, Classified::NoVariant, "{}", path.display()),
        }
    }
}
