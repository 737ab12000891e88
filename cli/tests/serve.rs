//! `wechatpay-notify serve` as a real process on loopback: copies processed once, the sink
//! line written before the acknowledgement, probes and forgeries rejected and counted, health
//! and metrics, and a clean stop on SIGTERM.

mod common;

use common::{API_V3_KEY, DropSchema, KEY_ID, Server, refund, temp};
use wechatpay_notify::keys::ApiV3Key;
use wechatpay_notify::testkit::{SignedRequest, TestSigner};

fn serve_processes_each_notification_once(ledger: &str, label: &str) {
    let sink = temp(&format!("{label}-sink.jsonl"));
    let server = Server::start(ledger, &sink);
    let signer = TestSigner::fixed(KEY_ID);
    let key = ApiV3Key::from_text(API_V3_KEY).unwrap();
    let run = format!("{label}{}", std::process::id());
    const N: usize = 20;
    const COPIES: usize = 3;
    let requests: Vec<SignedRequest> = (0..N)
        .flat_map(|n| (0..COPIES).map(move |c| (n, c)))
        .map(|(n, c)| {
            refund(n, &run)
                .nonce(format!("copy{c}-{n}"))
                .sign(&signer, &key)
        })
        .collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = requests
            .iter()
            .map(|r| s.spawn(|| server.post(r)))
            .collect();
        for h in handles {
            let (status, body) = h.join().unwrap();
            assert_eq!(status, 204, "every copy acknowledged: {body}");
        }
    });
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&sink)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), N, "one sink line per notification");
    let mut ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), N);
    assert_eq!(lines[0]["kind"], "REFUND.SUCCESS");
    assert_eq!(lines[0]["resource"]["refund_status"], "SUCCESS");

    // A probe and a forgery: rejected, counted, never in the sink.
    let mut probe = refund(900, &run).sign(&signer, &key);
    probe.headers.insert(
        "wechatpay-signature",
        "WECHATPAY/SIGNTEST/AAAA".parse().unwrap(),
    );
    assert_eq!(server.post(&probe).0, 401);
    let mut forged = refund(901, &run).sign(&signer, &key);
    forged.body.extend_from_slice(b" ");
    assert_eq!(server.post(&forged).0, 401);

    let (status, health) = server.send("GET", "/healthz", &[], b"");
    assert_eq!((status, health.trim()), (200, "ok"));
    let (status, metrics) = server.send("GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    assert!(
        metrics.contains(&format!(
            "wechatpay_notify_requests_total{{kind=\"REFUND.SUCCESS\",outcome=\"processed\"}} {N}"
        )),
        "{metrics}"
    );
    assert!(metrics.contains(&format!(
        "wechatpay_notify_requests_total{{kind=\"REFUND.SUCCESS\",outcome=\"duplicate\"}} {}",
        N * (COPIES - 1)
    )));
    assert!(
        metrics.contains("wechatpay_notify_probes_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wechatpay_notify_unauthenticated_total 2"),
        "{metrics}"
    );
    let status = server.stop();
    assert!(status.success(), "SIGTERM stops serve cleanly: {status:?}");
    assert_eq!(std::fs::read_to_string(&sink).unwrap().lines().count(), N);
    let _ = std::fs::remove_file(&sink);
}

#[test]
fn serve_on_the_memory_ledger_processes_each_notification_once() {
    serve_processes_each_notification_once("memory", "memory");
}

/// `serve` on the PostgreSQL ledger `WECHATPAY_NOTIFY_TEST_PG` names, in a schema of its own,
/// dropped afterwards.
#[test]
fn serve_on_the_postgres_ledger_processes_each_notification_once() {
    let Ok(url) = std::env::var("WECHATPAY_NOTIFY_TEST_PG") else {
        assert!(
            std::env::var("WECHATPAY_NOTIFY_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "WECHATPAY_NOTIFY_TEST_PG is unset and WECHATPAY_NOTIFY_REQUIRE_SERVICES=1"
        );
        eprintln!("SKIPPED: serve on PostgreSQL (WECHATPAY_NOTIFY_TEST_PG unset)");
        return;
    };
    let schema = format!("serve_test_{}", std::process::id());
    let _dropped_at_end = DropSchema(url.clone(), schema.clone());
    let separator = if url.contains('?') { '&' } else { '?' };
    serve_processes_each_notification_once(&format!("{url}{separator}schema={schema}"), "pg");
}

/// `serve` on its default backend, a SQLite file.
#[test]
fn serve_on_the_sqlite_ledger_processes_each_notification_once() {
    let db = temp("serve.db");
    serve_processes_each_notification_once(&format!("sqlite:{}", db.display()), "sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}
