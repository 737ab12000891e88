use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;
use crate::Receiver;

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";

fn keys() -> (TestSigner, ApiV3Key, ApiV2Key) {
    (
        TestSigner::fixed(KEY_ID),
        ApiV3Key::from_text("wechatpay-notify-sample-key-0032").unwrap(),
        ApiV2Key::from_text("wechatpay-notify-sample-v2-key-32").unwrap(),
    )
}

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")
}

/// The kind's first schema example, as a payload.
fn example(kind: Kind) -> Payload {
    let yaml = std::fs::read_to_string(schema_dir().join("..").join(kind.info().schema)).unwrap();
    let value = |key: &str| {
        yaml.lines()
            .find_map(|l| l.trim().trim_start_matches("- ").strip_prefix(key))
            .map(|v| v.trim().to_owned())
    };
    let read = |rel: &str| std::fs::read(schema_dir().join(rel)).unwrap();
    let file = read(&value("file:").unwrap());
    match kind.info().format {
        WireFormat::V3Json => Payload::v3(file),
        _ => Payload::v2(kind, &file, value("plaintext:").map(|p| read(&p))).unwrap(),
    }
}

#[test]
fn every_kind_is_made_from_its_example_and_received_as_itself() {
    let (signer, v3, v2) = keys();
    let sim = Simulator::new(signer.clone(), v3.clone()).with_api_v2_key(v2.clone());
    let receiver = Receiver::new(signer.keyring().unwrap(), v3).with_api_v2_key(v2);
    for &kind in Kind::ALL {
        let n = sim.notification(kind, example(kind)).unwrap();
        let request = n.sign().unwrap();
        let received = match kind.info().format {
            WireFormat::V3Json => receiver.receive(&request.headers, &request.body),
            _ => receiver.receive_v2(&request.body),
        }
        .unwrap_or_else(|e| panic!("{}: {e}", kind.id()));
        assert_eq!(received.kind(), Some(kind), "{}", kind.id());
    }
}

#[test]
fn a_platform_certificate_serial_works_as_the_key_id() {
    let (_, v3, _) = keys();
    let serial = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
    let signer = TestSigner::fixed(serial);
    let mut keyring = crate::keys::Keyring::new();
    keyring
        .add_platform_certificate_pem(&signer.self_signed_certificate_pem(serial).unwrap())
        .unwrap();
    let request = Simulator::new(signer, v3.clone())
        .notification(Kind::RefundSuccess, example(Kind::RefundSuccess))
        .unwrap()
        .sign()
        .unwrap();
    assert_eq!(request.headers["Wechatpay-Serial"], serial);
    let received = Receiver::new(keyring, v3)
        .receive(&request.headers, &request.body)
        .unwrap();
    assert_eq!(received.kind(), Some(Kind::RefundSuccess));
}

#[test]
fn a_v2_kind_needs_the_v2_key_and_payloads_fit_their_format() {
    let (signer, v3, _) = keys();
    let sim = Simulator::new(signer, v3);
    let kind = Kind::from_id("v2:transaction-success").unwrap();
    assert!(matches!(
        sim.notification(kind, example(kind)),
        Err(SimulatorError::NoApiV2Key(_))
    ));
    assert!(sim.notification(kind, Payload::v3("{}")).is_err());
}

#[test]
fn the_probe_is_refused_as_a_probe() {
    let (signer, v3, _) = keys();
    let probe = Simulator::new(signer.clone(), v3.clone()).probe();
    let e = Receiver::new(signer.keyring().unwrap(), v3)
        .receive(&probe.headers, &probe.body)
        .unwrap_err();
    assert!(e.to_string().contains("SIGNTEST"), "{e}");
}

#[test]
fn schedules_come_from_the_schema_or_the_default() {
    let official = Schedule::official(Kind::RefundSuccess);
    assert_eq!(official.intervals().len(), 15);
    let total: u64 = DEFAULT_RETRY_SCHEDULE.iter().map(|&s| u64::from(s)).sum();
    assert_eq!(total, 24 * 3600 + 4 * 60, "15s … 6h adds up to 24h4m");
    let scaled = official.scaled(0.001);
    assert_eq!(scaled.intervals()[0], Duration::from_millis(15));
    for &kind in Kind::ALL {
        let s = kind.info().retry_schedule;
        if !s.is_empty() {
            assert_eq!(Schedule::official(kind).intervals().len(), s.len());
        }
    }
}

#[test]
fn create_time_is_rfc3339_in_china_time() {
    let t = now_rfc3339();
    assert_eq!(t.len(), 25, "{t}");
    assert!(t.ends_with("+08:00") && t.as_bytes()[10] == b'T', "{t}");
}

/// A loopback endpoint answering 500 to the first `failures` requests, then 204; it keeps
/// every `Wechatpay-Nonce` it saw.
async fn flaky_endpoint(failures: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let nonces = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let nonces = nonces.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut n = 0;
                loop {
                    let read = s.read(&mut buf[n..]).await.unwrap();
                    n += read;
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap();
                        if n >= end + 4 + len || read == 0 {
                            let nonce = text
                                .lines()
                                .find_map(|l| l.strip_prefix("wechatpay-nonce: "))
                                .unwrap_or_default()
                                .to_owned();
                            let count = {
                                let mut v = nonces.lock().unwrap();
                                v.push(nonce);
                                v.len()
                            };
                            let status = if count <= failures {
                                "500 Internal Server Error"
                            } else {
                                "204 No Content"
                            };
                            let reply = format!(
                                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            );
                            s.write_all(reply.as_bytes()).await.unwrap();
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_retry_on_the_schedule_freshly_signed_until_acknowledged() {
    let (signer, v3, _) = keys();
    let sim = Simulator::new(signer, v3);
    let n = sim
        .notification(Kind::RefundSuccess, example(Kind::RefundSuccess))
        .unwrap();
    let (url, seen) = flaky_endpoint(3).await;
    let plan = DeliveryPlan {
        schedule: Schedule::official(Kind::RefundSuccess).scaled(0.001),
        timeout: Duration::from_secs(5),
        copies: 2,
        servers: 2,
    };
    let printed = Arc::new(Mutex::new(0));
    let p = printed.clone();
    let report = deliver(&url, &n, &plan, move |_| *p.lock().unwrap() += 1)
        .await
        .unwrap();
    assert!(report.all_acknowledged(), "{report:?}");
    assert_eq!(report.sequences, 4);
    assert_eq!(
        report.attempts.len(),
        7,
        "3 failures then 4 acknowledgements"
    );
    assert_eq!(*printed.lock().unwrap(), 7);
    let mut nonces = seen.lock().unwrap().clone();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 7, "every attempt is signed afresh");
}

#[tokio::test]
async fn a_schedule_runs_out_and_timeouts_and_refusals_are_attempts() {
    let (signer, v3, _) = keys();
    let n = Simulator::new(signer, v3)
        .notification(Kind::RefundSuccess, Payload::v3("{}"))
        .unwrap();
    let (url, _) = flaky_endpoint(usize::MAX).await;
    let plan = DeliveryPlan {
        schedule: Schedule::from_intervals(vec![Duration::from_millis(1); 2]),
        timeout: Duration::from_secs(5),
        copies: 1,
        servers: 1,
    };
    let report = deliver(&url, &n, &plan, |_| {}).await.unwrap();
    assert!(!report.all_acknowledged());
    assert_eq!(report.attempts.len(), 3);
    assert!(report.attempts.iter().all(|a| a.status == Some(500)));

    // Nothing listens on port 9 of loopback here: every attempt is a transport error.
    let report = deliver("http://127.0.0.1:9/", &n, &plan, |_| {})
        .await
        .unwrap();
    assert!(
        report
            .attempts
            .iter()
            .all(|a| a.status.is_none() && a.error.is_some())
    );
    assert!(
        deliver("https://127.0.0.1/", &n, &plan, |_| {})
            .await
            .is_err()
    );
}
