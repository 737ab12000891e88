//! The APIv3 path end to end: every rejection with its own error kind, classification of every
//! shipped example, the fallback, dispatch and replies.
#![cfg(feature = "testkit")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{HeaderMap, HeaderValue};
use wechatpay_notify::dispatch::{Delivery, Dispatcher};
use wechatpay_notify::error::HandlerError;
use wechatpay_notify::generated::kinds::{RefundSuccess, TransactionSuccessParking};
use wechatpay_notify::keys::{ApiV3Key, Keyring};
use wechatpay_notify::testkit::{
    OTHER_TEST_PRIVATE_KEY_PEM, SignedRequest, TestSigner, V3RequestBuilder,
};
use wechatpay_notify::time::FixedClock;
use wechatpay_notify::v3::Verifier;
use wechatpay_notify::{ErrorKind, Kind, Notification, Receiver, Strictness};

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const NOW: i64 = 1_710_048_759;
const API_V3_KEY: &str = "0123456789abcdefghijklmnopqrstuv";

fn signer() -> TestSigner {
    TestSigner::fixed(KEY_ID)
}

fn api_key() -> ApiV3Key {
    ApiV3Key::from_text(API_V3_KEY).unwrap()
}

fn receiver() -> Receiver {
    let verifier = Verifier::new(signer().keyring().unwrap()).with_clock(FixedClock(NOW));
    Receiver::with_verifier(verifier, api_key())
}

fn example(name: &str) -> String {
    let path = format!(
        "{}/../schema/examples/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn request(event_type: &str, plaintext: &str) -> SignedRequest {
    V3RequestBuilder::new(event_type, plaintext)
        .id("EV-2018022511223320873")
        .timestamp(NOW)
        .original_type("transaction")
        .sign(&signer(), &api_key())
}

fn parking() -> SignedRequest {
    request(
        "TRANSACTION.SUCCESS",
        &example("transaction-success-parking"),
    )
}

fn reject(req: &SignedRequest) -> wechatpay_notify::Error {
    receiver()
        .receive(&req.headers, &req.body)
        .expect_err("must be rejected")
}

fn with_header(req: &SignedRequest, name: &'static str, value: &str) -> SignedRequest {
    let mut r = req.clone();
    r.headers
        .insert(name, HeaderValue::from_str(value).unwrap());
    r
}

#[test]
fn a_parking_payment_arrives_typed() {
    let req = parking();
    let got = receiver().receive(&req.headers, &req.body).unwrap();
    assert_eq!(got.kind(), Some(Kind::TransactionSuccessParking));
    assert_eq!(got.meta.id, "EV-2018022511223320873");
    let Notification::TransactionSuccessParking(p) = &got.notification else {
        panic!("wrong variant: {:?}", got.notification.id())
    };
    assert_eq!(p.out_trade_no, "20150806125346");
    assert_eq!(p.amount.total, 528800);
    assert!(got.violations.is_empty(), "{:?}", got.violations);
    assert!(!got.signature_from_cache);
}

#[test]
fn every_example_lands_on_its_own_kind() {
    for kind in Kind::ALL {
        let info = kind.info();
        if info.format != wechatpay_notify::catalogue::WireFormat::V3Json {
            continue; // APIv2 kinds: tests/v2_vectors.rs and the tests crate's v2_examples.rs
        }
        let file = info
            .schema
            .trim_start_matches("schema/kinds/")
            .trim_end_matches(".yaml");
        let event_type = info.event_type.expect("v3 kinds have an event_type");
        let req = V3RequestBuilder::new(event_type, example(file))
            .timestamp(NOW)
            .original_type(info.original_type.unwrap_or("transaction"))
            .sign(&signer(), &api_key());
        let got = receiver()
            .receive(&req.headers, &req.body)
            .unwrap_or_else(|e| panic!("{}: {e}", info.id));
        assert_eq!(got.kind(), Some(*kind), "{}", info.id);
        assert!(
            got.violations.is_empty(),
            "{}: {:?}",
            info.id,
            got.violations
        );
    }
}

#[test]
fn a_partner_parking_payment_is_parking() {
    let mut v: serde_json::Value =
        serde_json::from_str(&example("transaction-success-parking")).unwrap();
    v["sp_mchid"] = "1900000100".into();
    v["sub_mchid"] = "1900000109".into();
    let req = request("TRANSACTION.SUCCESS", &v.to_string());
    let got = receiver().receive(&req.headers, &req.body).unwrap();
    assert_eq!(got.kind(), Some(Kind::TransactionSuccessParking));
}

#[test]
fn a_payload_that_fits_no_variant_fails_with_the_missing_path() {
    // A partner payment (sp_mchid + sub_mchid) without out_trade_no: never moved to #BASIC.
    let mut v: serde_json::Value =
        serde_json::from_str(&example("transaction-success-partner")).unwrap();
    v.as_object_mut().unwrap().remove("out_trade_no");
    let req = request("TRANSACTION.SUCCESS", &v.to_string());
    let e = reject(&req);
    assert_eq!(e.kind(), ErrorKind::MissingField);
    assert_eq!(e.path().as_deref(), Some("out_trade_no"));
    assert!(
        e.to_string().contains("TRANSACTION.SUCCESS#PARTNER")
            || e.to_string().contains("out_trade_no"),
        "{e}"
    );

    let mut v: serde_json::Value = serde_json::from_str(&example("refund-success")).unwrap();
    v["amount"].as_object_mut().unwrap().remove("refund");
    let e = reject(&request("REFUND.SUCCESS", &v.to_string()));
    assert_eq!(e.kind(), ErrorKind::MissingField);
    assert_eq!(e.path().as_deref(), Some("amount.refund"));

    let mut v: serde_json::Value = serde_json::from_str(&example("refund-success")).unwrap();
    v["amount"]["refund"] = serde_json::json!({"fen": 1});
    let e = reject(&request("REFUND.SUCCESS", &v.to_string()));
    assert_eq!(e.kind(), ErrorKind::WrongType);
    assert_eq!(e.path().as_deref(), Some("amount.refund"));
}

#[test]
fn an_unknown_event_type_goes_to_the_fallback() {
    let req = request("SOMETHING.NEW", r#"{"anything":[1,2,3]}"#);
    let got = receiver().receive(&req.headers, &req.body).unwrap();
    assert_eq!(got.kind(), None);
    let Notification::Unknown(u) = &got.notification else {
        panic!()
    };
    assert_eq!(u.event_type, "SOMETHING.NEW");
    assert_eq!(u.resource["anything"][2], 3);
}

#[test]
fn violations_are_reported_leniently_and_rejected_strictly() {
    let mut v: serde_json::Value =
        serde_json::from_str(&example("transaction-success-parking")).unwrap();
    v["attach"] = "x".repeat(200).into();
    v["trade_state"] = "BRAND_NEW_STATE".into();
    v["amount"]["total"] = "528800".into();
    let req = request("TRANSACTION.SUCCESS", &v.to_string());
    let got = receiver().receive(&req.headers, &req.body).unwrap();
    let found: Vec<(String, &str)> = got
        .violations
        .iter()
        .map(|v| (v.path.clone(), v.rule.as_str()))
        .collect();
    assert!(
        found.contains(&("attach".to_owned(), "length")),
        "{found:?}"
    );
    assert!(
        found.contains(&("trade_state".to_owned(), "enum")),
        "{found:?}"
    );
    assert!(
        found.contains(&("amount.total".to_owned(), "format")),
        "{found:?}"
    );
    let Notification::TransactionSuccessParking(p) = &got.notification else {
        panic!()
    };
    assert_eq!(
        p.trade_state.as_str(),
        "BRAND_NEW_STATE",
        "unknown values are kept"
    );

    let strict = receiver().with_strictness(Strictness::Strict);
    let e = strict.receive(&req.headers, &req.body).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert!(e.is_retryable());
}

#[test]
fn each_rejection_has_its_own_kind() {
    let good = parking();
    let cases: Vec<(&str, SignedRequest, ErrorKind)> = vec![
        (
            "tampered body",
            {
                let mut r = good.clone();
                let pos = r.body.iter().position(|b| *b == b'E').unwrap();
                r.body[pos] = b'F';
                r
            },
            ErrorKind::SignatureMismatch,
        ),
        (
            "tampered nonce header",
            with_header(&good, "wechatpay-nonce", "tampered"),
            ErrorKind::SignatureMismatch,
        ),
        (
            "tampered timestamp",
            with_header(&good, "wechatpay-timestamp", &(NOW - 1).to_string()),
            ErrorKind::SignatureMismatch,
        ),
        (
            "wrong key",
            {
                let other = TestSigner::from_pkcs8_pem(OTHER_TEST_PRIVATE_KEY_PEM, KEY_ID).unwrap();
                V3RequestBuilder::new(
                    "TRANSACTION.SUCCESS",
                    example("transaction-success-parking"),
                )
                .timestamp(NOW)
                .sign(&other, &api_key())
            },
            ErrorKind::SignatureMismatch,
        ),
        (
            "unknown serial",
            with_header(
                &good,
                "wechatpay-serial",
                "PUB_KEY_ID_0000000000000000000000000000",
            ),
            ErrorKind::UnknownSerial,
        ),
        (
            "probe",
            with_header(&good, "wechatpay-signature", "WECHATPAY/SIGNTEST/abcdef"),
            ErrorKind::SignatureProbe,
        ),
        (
            "too old",
            V3RequestBuilder::new("TRANSACTION.SUCCESS", "{}")
                .timestamp(NOW - 301)
                .sign(&signer(), &api_key()),
            ErrorKind::TimestampTooOld,
        ),
        (
            "in the future",
            V3RequestBuilder::new("TRANSACTION.SUCCESS", "{}")
                .timestamp(NOW + 301)
                .sign(&signer(), &api_key()),
            ErrorKind::TimestampInFuture,
        ),
        (
            "SM2 signature type",
            with_header(&good, "wechatpay-signature-type", "WECHATPAY2-SM2-WITH-SM3"),
            ErrorKind::UnsupportedSignatureType,
        ),
        (
            "bad base64",
            with_header(&good, "wechatpay-signature", "not*base64"),
            ErrorKind::BadSignatureBase64,
        ),
        (
            "non-canonical base64",
            {
                // Change the last character's unused low bits: decodes leniently, not canonically.
                let sig = good.headers["wechatpay-signature"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let (head, tail) = sig.split_at(sig.trim_end_matches('=').len() - 1);
                let bumped = match tail.as_bytes()[0] {
                    b'A' => 'B',
                    b'Q' => 'R',
                    b'g' => 'h',
                    b'w' => 'x',
                    c => (c + 1) as char,
                };
                with_header(
                    &good,
                    "wechatpay-signature",
                    &format!("{head}{bumped}{}", &tail[1..]),
                )
            },
            ErrorKind::BadSignatureBase64,
        ),
        (
            "bad nonce length",
            {
                let body = String::from_utf8(good.body.clone()).unwrap();
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                let nonce = v["resource"]["nonce"].as_str().unwrap().to_owned();
                let tampered = body.replace(&nonce, "short");
                resign(&tampered)
            },
            ErrorKind::BadNonceLength,
        ),
        (
            "AEAD tag mismatch",
            {
                let other_key = ApiV3Key::from_text("vutsrqponmlkjihgfedcba9876543210").unwrap();
                V3RequestBuilder::new("TRANSACTION.SUCCESS", "{}")
                    .timestamp(NOW)
                    .sign(&signer(), &other_key)
            },
            ErrorKind::DecryptFailed,
        ),
        (
            "malformed JSON",
            resign("{\"id\":\"EV-1\",\"event_type\":"),
            ErrorKind::MalformedEnvelope,
        ),
        (
            "malformed resource JSON",
            V3RequestBuilder::new("REFUND.SUCCESS", "{not json")
                .timestamp(NOW)
                .sign(&signer(), &api_key()),
            ErrorKind::MalformedResource,
        ),
        (
            "oversize body",
            {
                let mut r = good.clone();
                r.body.extend(std::iter::repeat_n(
                    b' ',
                    wechatpay_notify::v3::DEFAULT_MAX_BODY,
                ));
                r
            },
            ErrorKind::BodyTooLarge,
        ),
        (
            "duplicated header",
            {
                let mut r = good.clone();
                r.headers
                    .append("wechatpay-serial", HeaderValue::from_static(KEY_ID));
                r
            },
            ErrorKind::DuplicateHeader,
        ),
        (
            "missing header",
            {
                let mut r = good.clone();
                r.headers.remove("wechatpay-timestamp");
                r
            },
            ErrorKind::MissingHeader,
        ),
    ];
    for (name, req, kind) in cases {
        let e = reject(&req);
        assert_eq!(e.kind(), kind, "{name}: {e}");
        let expect_4xx = kind.is_unauthenticated();
        assert_eq!(
            e.http_status() < 500,
            expect_4xx,
            "{name}: status {}",
            e.http_status()
        );
    }
}

/// Signs `body` as-is (for envelopes the builder would not make).
fn resign(body: &str) -> SignedRequest {
    let signer = signer();
    let ts = NOW.to_string();
    let sig = signer.sign_v3(&ts, "nonce", body.as_bytes());
    let mut headers = HeaderMap::new();
    headers.insert("wechatpay-timestamp", HeaderValue::from_str(&ts).unwrap());
    headers.insert("wechatpay-nonce", HeaderValue::from_static("nonce"));
    headers.insert("wechatpay-signature", HeaderValue::from_str(&sig).unwrap());
    headers.insert("wechatpay-serial", HeaderValue::from_static(KEY_ID));
    SignedRequest {
        headers,
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn absent_signature_type_is_accepted() {
    let req = V3RequestBuilder::new(
        "TRANSACTION.SUCCESS",
        example("transaction-success-parking"),
    )
    .timestamp(NOW)
    .without_signature_type()
    .sign(&signer(), &api_key());
    assert!(receiver().receive(&req.headers, &req.body).is_ok());
}

#[test]
fn mismatch_diagnoses_a_re_serialized_body() {
    let good = parking();
    let v: serde_json::Value = serde_json::from_slice(&good.body).unwrap();
    let mut r = good.clone();
    r.body = serde_json::to_vec_pretty(&v).unwrap();
    let e = reject(&r);
    assert_eq!(e.kind(), ErrorKind::SignatureMismatch);
    assert!(e.to_string().contains("pretty-printed"), "{e}");
}

#[test]
fn unknown_serial_of_the_other_kind_says_so() {
    let req = with_header(
        &parking(),
        "wechatpay-serial",
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    );
    let e = reject(&req);
    assert_eq!(e.kind(), ErrorKind::UnknownSerial);
    assert!(e.to_string().contains("only WeChat Pay public keys"), "{e}");
}

#[test]
fn a_byte_identical_copy_skips_rsa_but_not_the_window() {
    let req = parking();
    let r = receiver();
    assert!(
        !r.receive(&req.headers, &req.body)
            .unwrap()
            .signature_from_cache
    );
    assert!(
        r.receive(&req.headers, &req.body)
            .unwrap()
            .signature_from_cache
    );

    // The same verifier, later: the copy is now outside the window and rejected.
    let keyring = signer().keyring().unwrap();
    let verifier = Verifier::new(keyring).with_clock(FixedClock(NOW));
    let first = Receiver::with_verifier(verifier.clone().with_clock(FixedClock(NOW)), api_key());
    first.receive(&req.headers, &req.body).unwrap();
    let later = Receiver::with_verifier(verifier.with_clock(FixedClock(NOW + 301)), api_key());
    assert_eq!(
        later.receive(&req.headers, &req.body).unwrap_err().kind(),
        ErrorKind::TimestampTooOld
    );
}

#[test]
fn the_merchant_certificate_is_refused_as_a_platform_key() {
    let mut keyring = Keyring::new();
    keyring
        .set_merchant_serial("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        .unwrap();
    let e = keyring
        .add_public_key_pem(
            "5157f09efdc096de15ebe81a47057a7232f1b8e1",
            &signer().public_key_pem(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("merchant"), "{e}");
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn dispatch_runs_the_kind_handler_and_replies() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let d = Dispatcher::new(receiver()).on(move |d: Delivery<TransactionSuccessParking>| {
        let c = c.clone();
        async move {
            assert_eq!(d.resource.out_trade_no, "20150806125346");
            c.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let req = parking();
    let out = block_on(d.handle(&req.headers, &req.body));
    assert_eq!(out.reply.status, 204);
    assert_eq!(
        out.result.unwrap().kind,
        Some("TRANSACTION.SUCCESS#PARKING")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // No handler for refunds and no fallback: 5XX, so WeChat Pay retries.
    let refund = request("REFUND.SUCCESS", &example("refund-success"));
    let out = block_on(d.handle(&refund.headers, &refund.body));
    assert_eq!(out.reply.status, 500);
    assert_eq!(out.result.unwrap_err().kind(), ErrorKind::NoHandler);

    // A failing handler: 5XX with the FAIL body.
    let failing = Dispatcher::new(receiver())
        .on(|_: Delivery<RefundSuccess>| async { Err(HandlerError::failed("database down")) });
    let out = block_on(failing.handle(&refund.headers, &refund.body));
    assert_eq!(out.reply.status, 500);
    assert!(out.reply.body.contains("\"code\":\"FAIL\""));
    assert!(
        !out.reply.body.contains("database"),
        "no internals in the reply"
    );

    // A forged request never reaches a handler.
    let forged = with_header(&req, "wechatpay-nonce", "forged");
    let out = block_on(d.handle(&forged.headers, &forged.body));
    assert_eq!(out.reply.status, 401);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // The fallback takes the unknown.
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let d = d.fallback(move |d: Delivery<Notification>| {
        let s = s.clone();
        async move {
            assert!(d.resource.kind().is_none() || d.resource.kind() == Some(Kind::RefundSuccess));
            s.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let unknown = request("SOMETHING.NEW", "{}");
    assert_eq!(
        block_on(d.handle(&unknown.headers, &unknown.body))
            .reply
            .status,
        204
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[test]
fn a_retention_handler_replies_with_typed_data() {
    use wechatpay_notify::generated::kinds::{
        EntrustTerminateRetention, EntrustTerminateRetentionCouponInfo,
        EntrustTerminateRetentionCouponState, EntrustTerminateRetentionReply,
        EntrustTerminateRetentionType,
    };
    let d = Dispatcher::new(receiver()).on(|d: Delivery<EntrustTerminateRetention>| async move {
        assert_eq!(
            d.resource.out_contract_code.as_deref(),
            Some("wxwtdk20200910100000")
        );
        Ok(EntrustTerminateRetentionReply {
            retention_type: Some(EntrustTerminateRetentionType::Coupon),
            coupon_info: Some(EntrustTerminateRetentionCouponInfo {
                state: Some(EntrustTerminateRetentionCouponState::SendCoupon),
                coupon_id: Some("9867041".to_owned()),
            }),
        })
    });
    let req = V3RequestBuilder::new(
        "ENTRUST.TERMINATE_RETENTION",
        example("entrust-terminate-retention"),
    )
    .timestamp(NOW)
    .original_type("entrust")
    .sign(&signer(), &api_key());
    let out = block_on(d.handle(&req.headers, &req.body));
    assert_eq!(out.reply.status, 200);
    let body: serde_json::Value = serde_json::from_str(&out.reply.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "code": "SUCCESS",
            "message": "",
            "retention_type": "COUPON",
            "coupon_info": { "state": "SEND_COUPON", "coupon_id": "9867041" }
        })
    );
    assert_eq!(
        Kind::EntrustTerminateRetention.info().retry_schedule,
        &[] as &[u32],
        "a synchronous fetch: no retries"
    );
}

#[test]
fn business_facts_read_nested_fields() {
    use wechatpay_notify::resource::parse_kind;
    let paid = parse_kind(
        Kind::DiscountCardUserPaid,
        example("discount-card-user-paid").as_bytes(),
    )
    .unwrap();
    let fact = paid.business_fact().unwrap();
    assert_eq!(
        fact.state.as_deref(),
        Some("PAYING"),
        "pay_information.pay_state, not the card's state"
    );

    let signed = parse_kind(Kind::EntrustSigning, example("entrust-signing").as_bytes()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&example("entrust-signing")).unwrap();
    let fact = signed.business_fact().unwrap();
    assert_eq!(
        fact.key,
        [
            v["plan_id"].as_str().unwrap().to_owned(),
            v["contract_information"]["contract_id"]
                .as_str()
                .unwrap()
                .to_owned()
        ]
    );
    assert_eq!(
        fact.state.as_deref(),
        v["contract_information"]["contract_status"].as_str()
    );
}
