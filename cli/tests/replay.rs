//! Quarantine and replay across processes on the SQLite ledger: `serve` configured with the
//! wrong APIv3 key verifies the signatures but cannot decrypt, keeps the requests as
//! quarantined and answers 500 (WeChat Pay retries); `replay` with the right key processes each
//! once; copies arriving later at a fixed `serve` are duplicates.

mod common;

use std::process::Command;

use common::{API_V3_KEY, KEY_ID, Server, key_args, refund, sample_api_v3_key_file, temp};
use wechatpay_notify::keys::ApiV3Key;
use wechatpay_notify::testkit::{SignedRequest, TestSigner};

fn replay(ledger: &str, sink: &std::path::Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
        .args(["replay", "--ledger", ledger, "--sink"])
        .arg(sink)
        .args(key_args(&sample_api_v3_key_file()))
        .args(extra)
        .output()
        .expect("replay runs");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

#[test]
fn quarantined_notifications_are_replayed_once_after_the_fix() {
    let db = temp("replay.db");
    let ledger = format!("sqlite:{}", db.display());
    let sink = temp("replay-sink.jsonl");
    let wrong_key = temp("wrong-apiv3.key");
    std::fs::write(&wrong_key, "not-the-apiv3-key-of-this-merch!").unwrap();
    let signer = TestSigner::fixed(KEY_ID);
    let key = ApiV3Key::from_text(API_V3_KEY).unwrap();
    let run = format!("replay{}", std::process::id());
    let requests: Vec<SignedRequest> = (0..5)
        .map(|n| refund(n, &run).sign(&signer, &key))
        .collect();

    let misconfigured = Server::start_with_key(&ledger, &sink, &wrong_key);
    for r in &requests {
        let (status, body) = misconfigured.post(r);
        assert_eq!(
            status, 500,
            "verified but undecryptable: retry later ({body})"
        );
    }
    assert!(misconfigured.stop().success());
    assert_eq!(
        std::fs::read_to_string(&sink).unwrap_or_default(),
        "",
        "nothing processed"
    );

    let (code, lines) = replay(&ledger, &sink, &["--status", "quarantined"]);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(lines.len(), 5);
    assert!(
        lines
            .iter()
            .all(|l| l["ok"] == true && l["kind"] == "REFUND.SUCCESS"),
        "{lines:?}"
    );
    assert_eq!(std::fs::read_to_string(&sink).unwrap().lines().count(), 5);

    let (code, lines) = replay(&ledger, &sink, &["--status", "quarantined"]);
    assert_eq!((code, lines.len()), (0, 0), "nothing left in quarantine");

    let fixed = Server::start(&ledger, &sink);
    let (status, _) = fixed.post(&requests[0]);
    assert_eq!(status, 204, "a later copy is acknowledged");
    assert!(fixed.stop().success());
    assert_eq!(
        std::fs::read_to_string(&sink).unwrap().lines().count(),
        5,
        "and not processed again"
    );
    for f in [&sink, &wrong_key] {
        let _ = std::fs::remove_file(f);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}
