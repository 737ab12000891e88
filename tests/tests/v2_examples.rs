//! Every APIv2 kind's examples, and negative cases made from its schema, through the SDK.
//!
//! For each `v2-xml` kind of the checked catalogue and each example it lists, the example is
//! sealed and signed with test keys (its page's sign and ciphertexts are placeholders or made
//! with keys nobody has) and must:
//!
//! 1. be recognised as its own kind, verify, decrypt and parse without violations;
//! 2. round-trip: the typed value serialized and parsed again is equal;
//! 3. give, for every constraint its schema states on a top-level field, exactly the failure
//!    or violation promised when an element breaks it (removed when required, one character
//!    too long, a broken format, an unknown enum value, a non-integer or a leading zero in an
//!    integer) — at that field's path;
//! 4. be refused when its sign is altered, and unchanged by an element the schema does not
//!    list (which the sign covers).

mod common;

use std::collections::BTreeSet;

use codegen::model::{DefKind, FieldType, Format, Scalar, V2Encryption, WireFormat};
use common::*;
use wechatpay_notify::error::{ErrorKind, ResourceFault};
use wechatpay_notify::keys::{ApiV2Key, ApiV3Key, Keyring};
use wechatpay_notify::testkit::V2Sealer;
use wechatpay_notify::v2::{FlatXml, parse_flat};
use wechatpay_notify::{Error, Kind, Receiver};

const V2_KEY: &str = "Tq7Vw2Xz9Ab4Cd6Ef8Gh1Jk3Lm5Np0Rs";
const V3_KEY: &str = "Kx3Pq8Rt2Wv6Yz1Bc5Df9Gh4Jm7Ln0Sr";

fn sealer() -> V2Sealer {
    V2Sealer::new(
        ApiV2Key::from_text(V2_KEY).unwrap(),
        ApiV3Key::from_text(V3_KEY).unwrap(),
    )
}

fn receiver() -> Receiver {
    Receiver::new(Keyring::new(), ApiV3Key::from_text(V3_KEY).unwrap())
        .with_api_v2_key(ApiV2Key::from_text(V2_KEY).unwrap())
}

struct Example {
    kind: &'static codegen::model::Kind,
    file: String,
    outer: FlatXml,
    plaintext: Option<FlatXml>,
    root: &'static str,
}

impl Example {
    fn body(&self, outer: FlatXml, plaintext: Option<&FlatXml>) -> String {
        let bytes = plaintext.map(|p| p.to_xml(self.root));
        sealer().seal(self.rt_kind(), outer, bytes.as_deref().map(str::as_bytes))
    }

    fn rt_kind(&self) -> Kind {
        Kind::from_id(&self.kind.id).expect("the SDK has every kind of the catalogue")
    }

    fn encrypted(&self, wire: &str) -> bool {
        let v2 = self.kind.v2.as_ref().unwrap();
        v2.encryption != V2Encryption::None && !v2.envelope.iter().any(|e| e == wire)
    }

    /// The body with `f` applied to the document holding `wire`.
    fn mutated(&self, wire: &str, f: impl FnOnce(&mut FlatXml)) -> String {
        let mut outer = self.outer.clone();
        let mut plain = self.plaintext.clone();
        if self.encrypted(wire) {
            f(plain.as_mut().unwrap());
        } else {
            f(&mut outer);
        }
        self.body(outer, plain.as_ref())
    }
}

fn examples() -> Vec<Example> {
    let root = root();
    let loaded = codegen::load::load(&root).unwrap();
    let cat = catalogue();
    let mut out = Vec::new();
    for src in &loaded.kinds {
        let Some(kind) = cat
            .model
            .kinds_by_id()
            .into_iter()
            .find(|k| k.id == src.body.kind && k.format == WireFormat::V2Xml)
        else {
            continue;
        };
        let proot = match &kind.v2.as_ref().unwrap().encryption {
            V2Encryption::Ecb { root, .. } | V2Encryption::Gcm { root, .. } => {
                &*Box::leak(root.clone().into_boxed_str())
            }
            V2Encryption::None => "xml",
        };
        for ex in &src.body.examples {
            let read = |f: &str| std::fs::read(root.join("schema").join(f)).unwrap();
            let outer = parse_flat(&read(&ex.file), "xml", "xml").unwrap();
            let plaintext = ex
                .plaintext
                .as_ref()
                .map(|p| parse_flat(&read(p), proot, "plaintext").unwrap());
            out.push(Example {
                kind,
                file: ex.file.clone(),
                outer,
                plaintext,
                root: proot,
            });
        }
    }
    out
}

#[test]
fn every_v2_kind_has_examples_that_parse_cleanly_and_round_trip() {
    let exs = examples();
    let kinds: BTreeSet<&str> = exs.iter().map(|e| e.kind.id.as_str()).collect();
    assert_eq!(kinds.len(), 8, "{kinds:?}");
    for ex in &exs {
        let body = ex.body(ex.outer.clone(), ex.plaintext.as_ref());
        let received = receiver()
            .receive_v2(body.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e} at {:?}", ex.file, e.path()));
        assert_eq!(received.kind(), Some(ex.rt_kind()), "{}", ex.file);
        assert!(
            received.violations.is_empty(),
            "{}: {:?}",
            ex.file,
            received.violations
        );
        let json = serde_json::to_value(&received.notification).unwrap();
        let back = ex.rt_kind().deserialize(&json).unwrap();
        assert_eq!(back, received.notification, "{}", ex.file);
        // The business fact reads the schema's key and state.
        let fact = received.notification.business_fact().unwrap();
        assert!(
            fact.key.iter().all(|k| !k.is_empty()),
            "{}: {fact:?}",
            ex.file
        );
    }
}

/// Elements whose mutation would not test the typed parse: the sign and what it names, what
/// recognises the kind, what carries the ciphertext.
fn untouchable(wire: &str) -> bool {
    matches!(
        wire,
        "sign" | "sign_type" | "algorithm" | "event_type" | "req_info" | "event_ciphertext"
    ) || wire.starts_with("event_nonce")
        || wire.starts_with("event_associated")
        || wire == "event_algorithm"
}

enum Expect {
    Violation(&'static str),
    Fails(ResourceFault),
}

#[test]
fn every_constraint_of_a_top_level_field_is_enforced() {
    let cat = catalogue();
    let mut cases = 0;
    for ex in examples() {
        for field in &ex.kind.body.fields {
            let wire = field.wire.as_str();
            if untouchable(wire) {
                continue;
            }
            let v2 = ex.kind.v2.as_ref().unwrap();
            if v2.repeated.iter().any(|r| r.0 == wire) || v2.json.iter().any(|j| j == wire) {
                continue; // covered below
            }
            let mut muts: Vec<(String, Option<String>, Expect)> = Vec::new();
            if field.required {
                muts.push((
                    "removed".into(),
                    None,
                    Expect::Fails(ResourceFault::MissingField),
                ));
            }
            match &field.ty {
                FieldType::Scalar(Scalar::String) => {
                    if let (Some(b), None) = (field.length, field.format) {
                        let long = "x".repeat(b.max as usize + 1);
                        muts.push((
                            "one too long".into(),
                            Some(long),
                            Expect::Violation("length"),
                        ));
                    }
                    if let Some(f) = field.format {
                        muts.push((
                            "broken format".into(),
                            Some(broken(f).into()),
                            Expect::Violation("format"),
                        ));
                        if f == Format::CompactDateTime {
                            muts.push((
                                "no such date".into(),
                                Some("20180230112233".into()),
                                Expect::Violation("format"),
                            ));
                        }
                    }
                }
                FieldType::Scalar(Scalar::Integer) => {
                    muts.push((
                        "not an integer".into(),
                        Some("12a".into()),
                        Expect::Fails(ResourceFault::WrongType),
                    ));
                    muts.push((
                        "a leading zero".into(),
                        Some("007".into()),
                        Expect::Violation("format"),
                    ));
                }
                FieldType::Named(t) if t.def == DefKind::Enum => {
                    let _ = cat.enumeration(&t.name);
                    muts.push((
                        "unknown value".into(),
                        Some("NOT_LISTED".into()),
                        Expect::Violation("enum"),
                    ));
                }
                _ => {}
            }
            for (what, value, expect) in muts {
                let body = ex.mutated(wire, |doc| match &value {
                    None => {
                        doc.remove(wire);
                    }
                    Some(v) => doc.set(wire, v.clone()),
                });
                let here = format!("{} `{wire}` {what}", ex.file);
                let result = receiver().receive_v2(body.as_bytes());
                match (expect, result) {
                    (Expect::Violation(rule), Ok(r)) => {
                        let got: Vec<(String, &str)> = r
                            .violations
                            .iter()
                            .map(|v| (v.path.clone(), v.rule.as_str()))
                            .collect();
                        assert_eq!(got, [(wire.to_owned(), rule)], "{here}");
                    }
                    (Expect::Fails(fault), Err(Error::Resource(e))) => {
                        assert_eq!(
                            (e.reason, e.path.as_deref()),
                            (fault, Some(wire)),
                            "{here}: {e}"
                        );
                        assert_eq!(e.kind, Some(ex.kind.id.as_str()), "{here}");
                    }
                    (_, other) => panic!("{here}: {other:?}"),
                }
                cases += 1;
            }
        }
    }
    assert!(cases > 60, "{cases} cases");
}

#[test]
fn indexed_families_and_json_elements() {
    let exs = examples();
    let partner = exs
        .iter()
        .find(|e| e.file.ends_with("transaction-success-partner.xml"))
        .unwrap();
    let r = receiver()
        .receive_v2(partner.body(partner.outer.clone(), None).as_bytes())
        .unwrap();
    let json = serde_json::to_value(&r.notification).unwrap();
    assert_eq!(json["coupons"][0]["coupon_id"], "10000");
    assert_eq!(json["coupons"][0]["coupon_fee"], 6);
    assert!(json["coupons"][0].get("coupon_type").is_none());
    assert_eq!(json["coupons"][1]["coupon_type"], "NO_CASH");
    assert_eq!(json["coupon_fee"], 10);

    let page = exs
        .iter()
        .find(|e| e.file.ends_with("v2/transaction-success.xml"))
        .unwrap();
    let r = receiver()
        .receive_v2(page.body(page.outer.clone(), None).as_bytes())
        .unwrap();
    let json = serde_json::to_value(&r.notification).unwrap();
    assert_eq!(
        json["coupons"][0],
        serde_json::json!({"coupon_type": "CASH", "coupon_id": "10000"})
    );

    let cases: [(&str, &str, &str, Expect); 4] = [
        (
            "coupon_fee_0",
            "6x",
            "coupons[0].coupon_fee",
            Expect::Fails(ResourceFault::WrongType),
        ),
        (
            "coupon_id_1",
            &"9".repeat(21),
            "coupons[1].coupon_id",
            Expect::Violation("length"),
        ),
        (
            "coupon_type_0",
            "GOLD",
            "coupons[0].coupon_type",
            Expect::Violation("enum"),
        ),
        (
            "coupon_id",
            "10009",
            "coupon_id",
            Expect::Fails(ResourceFault::MalformedXml),
        ),
    ];
    for (element, value, path, expect) in cases {
        let mut outer = partner.outer.clone();
        outer.set(element, value);
        let result = receiver().receive_v2(partner.body(outer, None).as_bytes());
        match (expect, result) {
            (Expect::Violation(rule), Ok(r)) => {
                let got: Vec<(String, &str)> = r
                    .violations
                    .iter()
                    .map(|v| (v.path.clone(), v.rule.as_str()))
                    .collect();
                assert_eq!(got, [(path.to_owned(), rule)], "{element}");
            }
            (Expect::Fails(fault), Err(Error::Resource(e))) => {
                assert_eq!(
                    (e.reason, e.path.as_deref()),
                    (fault, Some(path)),
                    "{element}: {e}"
                );
            }
            (_, other) => panic!("{element}: {other:?}"),
        }
    }

    let combined = exs
        .iter()
        .find(|e| e.kind.id == "v2:combined-transactions-success")
        .unwrap();
    let r = receiver()
        .receive_v2(combined.body(combined.outer.clone(), None).as_bytes())
        .unwrap();
    let json = serde_json::to_value(&r.notification).unwrap();
    assert_eq!(json["sub_order_list"]["order_list"][2]["total_fee"], 300);
    for (value, fault, path) in [
        ("{not json", ResourceFault::WrongType, "sub_order_list"),
        (
            r#"{"order_num":1}"#,
            ResourceFault::MissingField,
            "sub_order_list.order_list",
        ),
        (
            r#"{"order_list":[{"mch_id":"1"}]}"#,
            ResourceFault::MissingField,
            "sub_order_list.order_list[0].total_fee",
        ),
    ] {
        let mut outer = combined.outer.clone();
        outer.set("sub_order_list", value);
        match receiver().receive_v2(combined.body(outer, None).as_bytes()) {
            Err(Error::Resource(e)) => {
                assert_eq!(
                    (e.reason, e.path.as_deref()),
                    (fault, Some(path)),
                    "{value}: {e}"
                )
            }
            other => panic!("{value}: {other:?}"),
        }
    }
}

#[test]
fn an_altered_sign_is_refused_and_an_unlisted_element_changes_nothing() {
    for ex in examples() {
        let body = ex.body(ex.outer.clone(), ex.plaintext.as_ref());
        let signed = ex.kind.v2.as_ref().unwrap().sign.is_some();
        if signed {
            let mut doc = parse_flat(body.as_bytes(), "xml", "xml").unwrap();
            let sign = doc.get("sign").unwrap().to_owned();
            let flipped = if sign.starts_with('A') { "B" } else { "A" };
            doc.set("sign", format!("{flipped}{}", &sign[1..]));
            let e = receiver()
                .receive_v2(doc.to_xml("xml").as_bytes())
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::SignatureMismatch, "{}", ex.file);
        }
        let mut outer = ex.outer.clone();
        outer.set("zz_added_later", "1");
        let r = receiver()
            .receive_v2(ex.body(outer, ex.plaintext.as_ref()).as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", ex.file));
        assert!(r.violations.is_empty(), "{}", ex.file);
    }
}
