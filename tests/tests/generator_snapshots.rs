//! The generator's snapshots compile outside the SDK, warning-free, and work: the expected
//! output of each fixture under `codegen/tests/fixtures/` is compiled here as a module.
#![deny(warnings)]

// `pub`, as the SDK's `generated` module is: this test uses only part of the API, and a
// private module would make the rest dead code.
#[rustfmt::skip]
#[path = "../../codegen/tests/fixtures/basic/expected/mod.rs"]
pub mod basic;

#[rustfmt::skip]
#[path = "../../codegen/tests/fixtures/empty/expected/mod.rs"]
pub mod empty;

#[rustfmt::skip]
#[path = "../../codegen/tests/fixtures/v2/expected/mod.rs"]
pub mod v2;

use wechatpay_notify::catalogue::{KindType, Trust, WireFormat};
use wechatpay_notify::types::OpenEnum;
use wechatpay_notify::validate::{Rule, Validate};

fn example(name: &str) -> String {
    let path = format!(
        "{}/../codegen/tests/fixtures/basic/schema/examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_kind_parses_validates_and_round_trips() {
    let text = example("pay-success-parking.json");
    let mut de = serde_json::Deserializer::from_str(&text);
    let n = basic::Kind::PaySuccessParking.deserialize(&mut de).unwrap();
    assert_eq!(n.kind(), Some(basic::Kind::PaySuccessParking));
    assert_eq!(n.id(), Some("PAY.SUCCESS#PARKING"));
    assert!(n.validate().is_empty(), "{:?}", n.validate());

    let back = serde_json::to_value(&n).unwrap();
    let original: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, original);

    let fact = n.business_fact().unwrap();
    assert_eq!(fact.merchant.as_deref(), Some("1900000109"));
    assert_eq!(fact.key, ["1217752501201407033233368018"]);
    assert_eq!(fact.state.as_deref(), Some("NORMAL"));

    let kind = basic::kinds::PaySuccessParking::try_from(n).unwrap();
    assert_eq!(kind.parking_state, basic::kinds::ParkingState::Normal);
    let n: basic::Notification = kind.into();
    assert!(matches!(n, basic::Notification::PaySuccessParking(_)));
}

#[test]
fn a_kind_is_cross_checked_against_the_merchants_expectation() {
    use wechatpay_notify::cross_check::{CrossCheck, Mismatch};
    let kind: basic::kinds::PaySuccessBasic =
        serde_json::from_str(&example("pay-success-basic.json")).unwrap();
    let agreed = basic::kinds::PaySuccessBasicExpected::default()
        .mchid("1230000109")
        .amount_total(100)
        .trade_type(basic::enums::TradeType::Jsapi)
        .r#type("x");
    assert_eq!(kind.cross_check(&agreed), []);
    // A struct literal builds it too (ending in `..Default::default()` or, here, another value).
    let wrong = basic::kinds::PaySuccessBasicExpected {
        out_trade_no: Some("1217752501201407033233368019".into()),
        amount_total: Some(99),
        amount_currency: Some("CNY".into()),
        trade_type: Some(basic::enums::TradeType::Native),
        ..agreed
    };
    let mismatch = |path, expected: &str, found: &str| Mismatch {
        path,
        expected: expected.into(),
        found: Some(found.into()),
    };
    assert_eq!(
        kind.cross_check(&wrong),
        [
            mismatch(
                "out_trade_no",
                "1217752501201407033233368019",
                "1217752501201407033233368018"
            ),
            mismatch("amount.total", "99", "100"),
            mismatch("trade_type", "NATIVE", "JSAPI"),
        ]
    );
    assert_eq!(
        basic::Kind::PaySuccessBasic.info().cross_check,
        [
            "mchid",
            "out_trade_no",
            "amount.total",
            "amount.currency",
            "trade_type",
            "type"
        ]
    );

    // Through an optional object: absent, the expected values are reported as not found.
    let partner: basic::kinds::PaySuccessPartner =
        serde_json::from_str(&example("pay-success-partner.json")).unwrap();
    let expected = basic::kinds::PaySuccessPartnerExpected::default()
        .sub_mchid("1900000109")
        .amount_total(100)
        .amount_payer_total(90);
    let found: Vec<(&str, Option<String>)> = partner
        .cross_check(&expected)
        .into_iter()
        .map(|m| (m.path, m.found))
        .collect();
    assert_eq!(
        found,
        [("amount.total", None), ("amount.payer_total", None)]
    );
    // A local enum, and the default cross-check fields (merchant, then business key).
    let parking: basic::kinds::PaySuccessParking =
        serde_json::from_str(&example("pay-success-parking.json")).unwrap();
    let expected = basic::kinds::PaySuccessParkingExpected::default()
        .parking_state(basic::kinds::ParkingState::Blocked);
    assert_eq!(
        parking.cross_check(&expected),
        [mismatch("parking_state", "BLOCKED", "NORMAL")]
    );
    assert_eq!(
        basic::Kind::V2RefundProcessed.info().cross_check,
        ["mch_id", "out_refund_no"]
    );
}

#[test]
fn violations_carry_paths_and_parse_failures_name_the_field() {
    let text = r#"{"out_trade_no":"","trade_scene":"PARKING","parking_state":"GONE",
        "counts":["7"],"entered_at":"2018","promotion_detail":[{"coupon_id":"","amount":1}]}"#;
    let kind: basic::kinds::PaySuccessParking = serde_json::from_str(text).unwrap();
    let found: Vec<(String, Rule)> = kind
        .validate()
        .into_iter()
        .map(|v| (v.path, v.rule))
        .collect();
    assert_eq!(
        found,
        [
            ("out_trade_no".to_owned(), Rule::Length),
            ("parking_state".to_owned(), Rule::Enum),
            ("promotion_detail[0].coupon_id".to_owned(), Rule::Length),
            ("counts[0]".to_owned(), Rule::Format),
            ("entered_at".to_owned(), Rule::Format),
        ]
    );

    let missing = r#"{"trade_scene":"PARKING"}"#;
    let err = serde_json::from_str::<basic::kinds::PaySuccessParking>(missing).unwrap_err();
    assert!(err.to_string().contains("out_trade_no"), "{err}");
}

#[test]
fn classification_follows_the_rules() {
    use basic::{Classified, Kind, classify};
    let run = |original_type, plaintext: &str| {
        classify("PAY.SUCCESS", original_type, plaintext.as_bytes()).unwrap()
    };
    assert_eq!(
        run(
            None,
            r#"{"trade_scene":"PARKING","sp_mchid":"1","sub_mchid":"2"}"#
        ),
        Classified::Kind(Kind::PaySuccessParking)
    );
    assert_eq!(
        run(None, r#"{"sp_mchid":"1","sub_mchid":"2"}"#),
        Classified::Kind(Kind::PaySuccessPartner)
    );
    assert_eq!(
        run(None, r#"{"sp_mchid":"1","sub_mchid":null}"#),
        Classified::Kind(Kind::PaySuccessBasic)
    );
    assert_eq!(
        run(Some("profitsharing"), "{}"),
        Classified::Kind(Kind::PaySuccessSharing)
    );
    assert_eq!(
        run(Some("transaction"), "{}"),
        Classified::Kind(Kind::PaySuccessBasic)
    );
    assert!(classify("PAY.SUCCESS", None, b"[1]").is_err());
    // One kind on its event_type: the plaintext is not read.
    assert_eq!(
        classify("ENTRUST.RETAIN", None, b"not json").unwrap(),
        Classified::Kind(Kind::EntrustRetention)
    );
    assert_eq!(
        classify("NOPE", None, b"").unwrap(),
        Classified::UnknownEventType
    );
    // APIv2 kinds are not classified by event_type here.
    assert_eq!(
        classify("CHECK.SUCCESS", None, b"{}").unwrap(),
        Classified::UnknownEventType
    );
}

#[test]
fn the_kind_table() {
    use basic::Kind;
    assert_eq!(Kind::ALL.len(), basic::KINDS.len());
    for (i, kind) in Kind::ALL.iter().enumerate() {
        assert_eq!(Kind::from_id(kind.id()), Some(*kind));
        assert!(std::ptr::eq(kind.info(), &basic::KINDS[i]));
    }
    let parking = Kind::PaySuccessParking.info();
    assert_eq!(parking.event_type, Some("PAY.SUCCESS"));
    assert_eq!(parking.variant, Some("PARKING"));
    assert_eq!(parking.retry_schedule, [15, 180, 5400]);
    assert_eq!(parking.rust_type, "PaySuccessParking");
    assert_eq!(parking.schema, "schema/kinds/pay-success-parking.yaml");
    let v2 = Kind::V2RefundProcessed.info();
    assert_eq!(
        (v2.event_type, v2.format, v2.trust),
        (None, WireFormat::V2Xml, Trust::DecryptedUnauthenticated)
    );
    assert!(v2.retry_schedule.len() == 15);
    assert_eq!(
        Kind::V2CheckSuccess.info().event_type,
        Some("CHECK.SUCCESS")
    );
    assert!(Kind::EntrustRetention.info().retry_schedule.is_empty());
    assert_eq!(
        <basic::kinds::EntrustRetention as KindType>::ID,
        "ENTRUST.RETAIN"
    );
    // Reply data is built by handlers: its types can be constructed outside the crate.
    let coupon = basic::kinds::CouponInfo {
        coupon_id: Some("9867041".into()),
    };
    let reply = basic::kinds::RetentionReply {
        retention_type: "COUPON".into(),
        coupon_info: Some(coupon),
    };
    let _: &<basic::kinds::EntrustRetention as KindType>::Reply = &reply;
    assert_eq!(
        serde_json::to_string(&reply).unwrap(),
        r#"{"retention_type":"COUPON","coupon_info":{"coupon_id":"9867041"}}"#
    );
}

#[test]
fn enums_are_open_and_agree_with_serde() {
    use basic::enums::TradeType;
    let t: TradeType = serde_json::from_str("\"NATIVE\"").unwrap();
    assert_eq!(t, TradeType::Native);
    assert_eq!("NATIVE".parse::<TradeType>().unwrap(), t);
    let u: TradeType = serde_json::from_str("\"FACEPAY\"").unwrap();
    assert_eq!(u, TradeType::Unknown("FACEPAY".into()));
    assert_eq!(u.to_string(), "FACEPAY");
    assert_eq!(serde_json::to_string(&u).unwrap(), "\"FACEPAY\"");
    assert!(TradeType::try_parse("FACEPAY").is_err());
    assert_eq!(TradeType::VALUES, ["JSAPI", "NATIVE", "MICROPAY"]);
}

#[test]
fn sensitive_fields_are_redacted() {
    let text = example("pay-success-basic.json");
    let kind: basic::kinds::PaySuccessBasic = serde_json::from_str(&text).unwrap();
    let shown = format!("{kind:?}");
    assert!(!shown.contains("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), "{shown}");
    assert!(shown.contains("openid: \"<redacted>\""), "{shown}");
    assert!(shown.contains("nickname: None"), "{shown}");
    assert_eq!(kind.r#type.as_deref(), Some("x"));
    assert_eq!(kind.goods_tag.as_deref(), Some("WXG"));
}

#[test]
fn an_empty_catalogue_still_works() {
    assert!(empty::Kind::ALL.is_empty());
    assert!(empty::KINDS.is_empty());
    assert_eq!(empty::Kind::from_id("REFUND.SUCCESS"), None);
    assert_eq!(
        empty::classify("REFUND.SUCCESS", None, b"{}").unwrap(),
        empty::Classified::UnknownEventType
    );
    let n = empty::Notification::Unknown(wechatpay_notify::catalogue::UnknownNotification {
        event_type: "REFUND.SUCCESS".into(),
        resource: serde_json::json!({"a": 1}),
    });
    assert_eq!((n.kind(), n.id(), n.business_fact()), (None, None, None));
    assert!(n.validate().is_empty());
    assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"a":1}"#);
}

#[test]
fn an_apiv2_fixture_carries_its_wire_form() {
    use wechatpay_notify::catalogue::{
        V2Encryption, V2Recognise, V2ReplyStyle, V2Sign, V2SignDefault,
    };
    let info = v2::Kind::V2PayResult.info();
    assert_eq!(info.format, WireFormat::V2Xml);
    let spec = info.v2.unwrap();
    assert_eq!(
        spec.sign,
        V2Sign::Required {
            algorithm_field: "sign_type",
            default: V2SignDefault::ByLength
        }
    );
    assert_eq!(
        spec.recognise,
        V2Recognise::AnyPresent {
            fields: &["out_trade_no"],
            priority: 10
        }
    );
    assert_eq!(spec.repeated[0].members, ["coupon_id", "coupon_fee"]);
    assert_eq!(spec.json, ["detail"]);
    let event = v2::Kind::V2OrderConfirmed.info().v2.unwrap();
    assert_eq!(event.reply, V2ReplyStyle::CodeMessage);
    assert!(matches!(
        event.encryption,
        V2Encryption::ApiV3KeyGcm {
            nonce: "event_nonce",
            ..
        }
    ));
    assert_eq!(event.recognise, V2Recognise::EventType("ORDER.CONFIRMED"));
    assert_eq!(v2::Kind::V2PayResult.info().trust, Trust::Authenticated);
    fn authenticated<K: wechatpay_notify::catalogue::AuthenticatedKind>() {}
    authenticated::<v2::kinds::V2PayResult>();
    let _: fn() -> &'static str = || <v2::kinds::V2OrderConfirmed as KindType>::ID;
}
