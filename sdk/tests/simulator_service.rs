//! The bare SDK against the simulator: a `Service` on the memory ledger behind a loopback HTTP
//! endpoint (no framework), WeChat Pay played by `testkit::simulator` — duplicates from several
//! servers processed once, a handler failure healed by a retry, a probe refused.
#![cfg(feature = "testkit")]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wechatpay_notify::error::HandlerError;
use wechatpay_notify::keys::ApiV3Key;
use wechatpay_notify::ledger::memory::MemoryLedger;
use wechatpay_notify::testkit::TestSigner;
use wechatpay_notify::testkit::simulator::{self, DeliveryPlan, Payload, Schedule, Simulator};
use wechatpay_notify::{Delivery, Dispatcher, Kind, Notification, Receiver, Service};

/// Serves `service` on loopback: one request per connection, replies as the service says.
async fn endpoint(service: Arc<Service>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let service = service.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 8192];
                let (head_end, len) = loop {
                    let n = s.read(&mut buf).await.unwrap();
                    raw.extend_from_slice(&buf[..n]);
                    if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        if raw.len() >= end + 4 + len {
                            break (end, len);
                        }
                    }
                };
                let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
                let mut headers = HeaderMap::new();
                for line in head.lines().skip(1) {
                    if let Some((k, v)) = line.split_once(':') {
                        headers.append(
                            HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                            HeaderValue::from_str(v.trim()).unwrap(),
                        );
                    }
                }
                let body = &raw[head_end + 4..head_end + 4 + len];
                let reply = service.handle(&headers, body).await.reply;
                let answer = format!(
                    "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    reply.status,
                    reply.body.len(),
                    reply.body
                );
                s.write_all(answer.as_bytes()).await.unwrap();
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_from_several_servers_are_processed_once_and_a_failure_heals() {
    let signer = TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000");
    let key = ApiV3Key::from_text("wechatpay-notify-sample-key-0032").unwrap();
    let processed = Arc::new(Mutex::new(BTreeMap::<String, u32>::new()));
    let failed_once = Arc::new(AtomicBool::new(false));
    let (p, f) = (processed.clone(), failed_once.clone());
    let dispatcher = Dispatcher::new(Receiver::new(signer.keyring().unwrap(), key.clone()))
        .fallback(move |d: Delivery<Notification>| {
            let result = if f.swap(true, Ordering::SeqCst) {
                *p.lock().unwrap().entry(d.meta.id.clone()).or_default() += 1;
                Ok(())
            } else {
                Err(HandlerError::failed("fails once"))
            };
            async move { result }
        });
    let service = Arc::new(Service::new(dispatcher, Arc::new(MemoryLedger::new())));
    let url = endpoint(service).await;

    let sim = Simulator::new(signer, key);
    let n = sim
        .notification(
            Kind::RefundSuccess,
            Payload::v3(r#"{"mchid":"1900000100","out_trade_no":"T1","transaction_id":"4200000000000000000000000001","refund_id":"50000000000000000000000000001","out_refund_no":"R1","refund_status":"SUCCESS","amount":{"total":1,"refund":1,"payer_total":1,"payer_refund":1}}"#),
        )
        .unwrap();
    let plan = DeliveryPlan {
        schedule: Schedule::official(Kind::RefundSuccess).scaled(0.001),
        timeout: Duration::from_secs(5),
        copies: 3,
        servers: 2,
    };
    let report = simulator::deliver(&url, &n, &plan, |_| {}).await.unwrap();
    assert!(report.all_acknowledged(), "{report:?}");
    assert!(
        report.attempts.len() > 6,
        "the failed copy was retried: {report:?}"
    );
    assert!(failed_once.load(Ordering::SeqCst));
    assert_eq!(
        processed.lock().unwrap().clone(),
        BTreeMap::from([(n.id().to_owned(), 1)]),
        "six copies, one failure, processed once"
    );

    let probe = simulator::send_once(&url, &sim.probe(), Duration::from_secs(5))
        .await
        .unwrap();
    assert!((400..500).contains(&probe.status), "{probe:?}");
    assert_eq!(processed.lock().unwrap().len(), 1);
}
