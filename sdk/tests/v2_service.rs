//! APIv2 through the same handler API and ledger as APIv3: one dispatcher for a v2 refund and
//! a v3 refund, unconfirmed refunds, XML replies chosen from the kind, duplicates answered from
//! the ledger, bodies sealed at rest, replay.
#![cfg(feature = "testkit")]

use std::sync::{Arc, Mutex};

use wechatpay_notify::error::HandlerError;
use wechatpay_notify::generated::kinds::{
    RefundSuccess, V2CheckSuccess, V2RefundProcessed, V2RefundProcessedExpected,
};
use wechatpay_notify::keys::{ApiV2Key, ApiV3Key, StorageKey};
use wechatpay_notify::ledger::Ledger;
use wechatpay_notify::ledger::memory::MemoryLedger;
use wechatpay_notify::service::Service;
use wechatpay_notify::testkit::{TestSigner, V2Sealer, V3RequestBuilder};
use wechatpay_notify::time::FixedClock;
use wechatpay_notify::v2::{FlatXml, parse_flat};
use wechatpay_notify::v3::Verifier;
use wechatpay_notify::{Delivery, Dispatcher, Kind, Receiver};

const V2_KEY: &str = "Tq7Vw2Xz9Ab4Cd6Ef8Gh1Jk3Lm5Np0Rs";
const V3_KEY: &str = "Kx3Pq8Rt2Wv6Yz1Bc5Df9Gh4Jm7Ln0Sr";
const NOW: i64 = 1_700_000_000;

fn example(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../schema/examples/v2/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn sealer() -> V2Sealer {
    V2Sealer::new(
        ApiV2Key::from_text(V2_KEY).unwrap(),
        ApiV3Key::from_text(V3_KEY).unwrap(),
    )
}

fn refund_body(status: &str) -> String {
    let outer = parse_flat(&example("refund-processed.xml"), "xml", "xml").unwrap();
    let mut plain = parse_flat(&example("refund-processed.req_info.xml"), "root", "p").unwrap();
    plain.set("refund_status", status);
    sealer().seal(
        Kind::V2RefundProcessed,
        outer,
        Some(plain.to_xml("root").as_bytes()),
    )
}

fn check_body() -> String {
    let outer = parse_flat(&example("CHECK.SUCCESS.xml"), "xml", "xml").unwrap();
    sealer().seal(
        Kind::V2CheckSuccess,
        outer,
        Some(&example("CHECK.SUCCESS.event_ciphertext.xml")),
    )
}

fn receiver(signer: &TestSigner) -> Receiver {
    let verifier = Verifier::new(signer.keyring().unwrap()).with_clock(FixedClock(NOW));
    Receiver::with_verifier(verifier, ApiV3Key::from_text(V3_KEY).unwrap())
        .with_api_v2_key(ApiV2Key::from_text(V2_KEY).unwrap())
}

type Log = Arc<Mutex<Vec<String>>>;

fn dispatcher(signer: &TestSigner, log: &Log, expected_fee: i64) -> Dispatcher {
    let (a, b, c) = (log.clone(), log.clone(), log.clone());
    Dispatcher::new(receiver(signer))
        .on(move |d: Delivery<RefundSuccess>| {
            let log = a.clone();
            async move {
                log.lock()
                    .unwrap()
                    .push(format!("v3 {}", d.resource.out_refund_no));
                Ok(())
            }
        })
        .on_unconfirmed(
            move |n: wechatpay_notify::dispatch::Unconfirmed<V2RefundProcessed>| {
                let log = b.clone();
                async move {
                    let expected = V2RefundProcessedExpected::default()
                        .mch_id("1900000109")
                        .out_refund_no(n.claimed().out_refund_no.clone())
                        .refund_fee(expected_fee);
                    let d = n.confirm(&expected).map_err(|not| {
                        HandlerError::failed(format!("refund not confirmed: {:?}", not.mismatches))
                    })?;
                    log.lock().unwrap().push(format!(
                        "v2 {} {}",
                        d.resource.out_refund_no, d.resource.refund_status
                    ));
                    Ok(())
                }
            },
        )
        .on(move |d: Delivery<V2CheckSuccess>| {
            let log = c.clone();
            async move {
                log.lock()
                    .unwrap()
                    .push(format!("check {}", d.resource.out_order_no));
                Ok(())
            }
        })
}

fn service(signer: &TestSigner, log: &Log, ledger: Arc<MemoryLedger>) -> Service {
    Service::new(dispatcher(signer, log, 3960), ledger)
        .with_storage_key(StorageKey::from_hex(&"5a".repeat(32)).unwrap())
}

const SUCCESS_XML: &str = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

#[tokio::test]
async fn a_v2_and_a_v3_refund_through_one_dispatcher_and_one_ledger() {
    let signer = TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000");
    let log: Log = Arc::default();
    let ledger = Arc::new(MemoryLedger::new());
    let service = service(&signer, &log, ledger.clone());

    let v3 = V3RequestBuilder::new(
        "REFUND.SUCCESS",
        r#"{"mchid":"1900000100","out_trade_no":"T1","transaction_id":"42","out_refund_no":"R3","refund_id":"50","refund_status":"SUCCESS","amount":{"total":100,"refund":100,"payer_total":100,"payer_refund":100}}"#,
    )
    .id("EV-V3-REFUND")
    .timestamp(NOW)
    .sign(&signer, &ApiV3Key::from_text(V3_KEY).unwrap());
    let out = service.handle(&v3.headers, &v3.body).await;
    assert_eq!(out.reply.status, 204, "{:?}", out.result);

    let body = refund_body("SUCCESS");
    let out = service
        .handle(&http::HeaderMap::new(), body.as_bytes())
        .await;
    assert_eq!(
        (out.reply.status, out.reply.body.as_str()),
        (200, SUCCESS_XML),
        "{:?}",
        out.result
    );
    assert_eq!(out.reply.content_type(), "application/xml; charset=utf-8");

    // A copy: answered from the ledger with the same XML, the handler not run again.
    let again = service
        .handle(&http::HeaderMap::new(), body.as_bytes())
        .await;
    assert_eq!(
        (again.reply.status, again.reply.body.as_str()),
        (200, SUCCESS_XML)
    );
    let handled = again.result.unwrap();
    assert!(handled.duplicate_of.is_some());
    assert_eq!(service.counters().duplicates(), 1);
    assert_eq!(
        *log.lock().unwrap(),
        ["v3 R3", "v2 131811191610442717309 SUCCESS"]
    );

    // Stored sealed: the merchant id and the refund number are not in clear at rest.
    let delivery = handled.duplicate_of.unwrap();
    assert!(delivery.as_str().starts_with("v2:"));
    let stored = ledger.request(&delivery).await.unwrap().unwrap();
    assert_eq!(stored.format, "v2-xml");
    for clear in [
        &b"1900000109"[..],
        b"5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        b"<xml>",
    ] {
        assert!(!stored.body.windows(clear.len()).any(|w| w == clear));
    }
    // Replay opens it with the storage key; done already, it is answered from the ledger.
    let replayed = service.replay(&delivery).await.unwrap();
    assert_eq!(replayed.reply.body, SUCCESS_XML);
    assert_eq!(log.lock().unwrap().len(), 2);

    // Another state of the same refund is another delivery and another fact.
    let closed = service
        .handle(
            &http::HeaderMap::new(),
            refund_body("REFUNDCLOSE").as_bytes(),
        )
        .await;
    assert_eq!(closed.reply.status, 200);
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn an_unconfirmed_refund_is_not_acted_on_and_events_answer_code_message() {
    let signer = TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000");
    let log: Log = Arc::default();
    // The merchant's record says 100 fen: the cross-check fails, the handler refuses.
    let service = Service::new(
        dispatcher(&signer, &log, 100),
        Arc::new(MemoryLedger::new()),
    )
    .with_storage_key(StorageKey::generate());
    let out = service
        .handle(&http::HeaderMap::new(), refund_body("SUCCESS").as_bytes())
        .await;
    assert_eq!(out.reply.status, 500);
    assert!(
        out.reply
            .body
            .contains("<return_code><![CDATA[FAIL]]></return_code>"),
        "{}",
        out.reply.body
    );
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(service.counters().failed(), 1);

    let out = service
        .handle(&http::HeaderMap::new(), check_body().as_bytes())
        .await;
    assert_eq!(
        (out.reply.status, out.reply.body.as_str()),
        (
            200,
            "<xml><code><![CDATA[SUCCESS]]></code><message><![CDATA[OK]]></message></xml>"
        ),
        "{:?}",
        out.result
    );
    assert_eq!(*log.lock().unwrap(), ["check 1234352342545345454"]);
}

#[tokio::test]
async fn forged_bodies_are_counted_never_stored_and_a_missing_storage_key_stores_nothing() {
    let signer = TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000");
    let log: Log = Arc::default();
    let ledger = Arc::new(MemoryLedger::new());
    let service = service(&signer, &log, ledger.clone());
    let mut doc = parse_flat(check_body().as_bytes(), "xml", "xml").unwrap();
    doc.set("mch_id", "10000101");
    let out = service
        .handle(&http::HeaderMap::new(), doc.to_xml("xml").as_bytes())
        .await;
    assert_eq!(out.reply.status, 401);
    assert!(
        out.reply
            .body
            .starts_with("<xml><code><![CDATA[FAIL]]></code>"),
        "{}",
        out.reply.body
    );
    assert_eq!(service.counters().unauthenticated(), 1);
    let entity = b"<!DOCTYPE xml [<!ENTITY a \"a\">]><xml><req_info>&a;</req_info></xml>";
    let out = service.handle(&http::HeaderMap::new(), entity).await;
    assert_eq!(out.reply.status, 400);
    assert_eq!(service.counters().unauthenticated(), 2);
    assert!(
        ledger
            .list(wechatpay_notify::ledger::Status::Received, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let keyless = Service::new(dispatcher(&signer, &log, 3960), ledger.clone());
    let out = keyless
        .handle(&http::HeaderMap::new(), refund_body("SUCCESS").as_bytes())
        .await;
    assert_eq!(out.reply.status, 500);
    assert_eq!(
        out.result.unwrap_err().kind().as_str(),
        "key_not_configured"
    );
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_fallback_never_takes_an_unauthenticated_kind() {
    let signer = TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000");
    let dispatcher = Dispatcher::new(receiver(&signer)).fallback(|_| async { Ok(()) });
    let out = dispatcher
        .handle(&http::HeaderMap::new(), refund_body("SUCCESS").as_bytes())
        .await;
    assert_eq!(out.reply.status, 500);
    assert_eq!(out.result.unwrap_err().kind().as_str(), "no_handler");
    // An authenticated v2 kind does go to the fallback.
    let out = dispatcher
        .handle(&http::HeaderMap::new(), check_body().as_bytes())
        .await;
    assert_eq!(out.reply.status, 200);
    let _ = FlatXml::default();
}
