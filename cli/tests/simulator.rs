//! The simulator as a user runs it: `keys gen`, `send` against a real `serve` process on
//! loopback (duplicates from several servers, a probe, a schedule that runs out), and `demo`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{DropSchema, KEY_ID, Server, root, temp};
use wechatpay_notify::testkit::TEST_PRIVATE_KEY_PEM;

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// `send` flags with the sample keys (the fixed test key stands in for WeChat Pay's).
fn send_args(to: &str, private_key: &Path) -> Vec<String> {
    [
        "send",
        "--to",
        to,
        "--private-key",
        &private_key.display().to_string(),
        "--key-id",
        KEY_ID,
        "--api-v3-key-file",
        &root().join("samples/keys/apiv3.key").display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn private_key_file() -> std::path::PathBuf {
    let p = temp("wechatpay-private-key.pem");
    std::fs::write(&p, TEST_PRIVATE_KEY_PEM).unwrap();
    p
}

#[test]
fn send_delivers_copies_from_several_servers_processed_once() {
    let sink = temp("send-sink.jsonl");
    let server = Server::start("memory", &sink);
    let key = private_key_file();
    let mut args = send_args(&format!("http://{}/notify", server.addr), &key);
    args.extend(
        [
            "--kind",
            "REFUND.SUCCESS",
            "--copies",
            "2",
            "--servers",
            "2",
            "--probe",
            "--schedule",
            "scale=0.001",
        ]
        .map(str::to_owned),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
        .args(&args)
        .output()
        .unwrap();
    let lines = json_lines(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{lines:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines[0]["probe"], true);
    assert_eq!(lines[0]["rejected"], true);
    assert_eq!(lines[0]["status"], 401);
    let attempts: Vec<_> = lines
        .iter()
        .filter(|l| l.get("attempt").is_some())
        .collect();
    assert!(attempts.len() >= 4, "{lines:?}");
    for a in &attempts {
        for field in ["attempt", "server", "status", "elapsed_ms"] {
            assert!(a.get(field).is_some(), "{a}");
        }
    }
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(summary["acknowledged"], true, "{summary}");
    assert_eq!(summary["copies"], 4);
    assert_eq!(summary["copies_acknowledged"], 4);
    assert_eq!(summary["kind"], "REFUND.SUCCESS");
    let sink_lines: Vec<serde_json::Value> = std::fs::read_to_string(&sink)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sink_lines.len(), 1, "processed once: {sink_lines:?}");
    assert_eq!(sink_lines[0]["id"], summary["id"]);
    assert_eq!(sink_lines[0]["kind"], "REFUND.SUCCESS");
}

#[test]
fn send_with_data_and_a_schedule_that_runs_out() {
    let key = private_key_file();
    let data = temp("refund.json");
    std::fs::write(&data, r#"{"out_refund_no":"R-DATA-1"}"#).unwrap();
    // Nothing listens on port 9 of loopback: every attempt fails, the schedule runs out.
    let mut args = send_args("http://127.0.0.1:9/", &key);
    args.extend(
        [
            "--kind",
            "REFUND.SUCCESS",
            "--schedule",
            "scale=0",
            "--timeout",
            "0.5",
        ]
        .map(str::to_owned),
    );
    args.extend(["--data".to_owned(), data.display().to_string()]);
    let out = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
        .args(&args)
        .output()
        .unwrap();
    let lines = json_lines(&out);
    assert_eq!(out.status.code(), Some(1), "{lines:?}");
    assert_eq!(lines.len(), 16 + 1, "1 + 15 retries, and the summary");
    assert!(
        lines[..16]
            .iter()
            .all(|l| l["status"].is_null() && l["error"].is_string())
    );
    assert_eq!(lines[16]["summary"]["acknowledged"], false);
}

#[test]
fn send_refuses_bad_usage() {
    let key = private_key_file();
    let key = key.display().to_string();
    for extra in [
        &["--kind", "NO.SUCH_KIND"][..],
        &["--kind", "REFUND.SUCCESS", "--schedule", "fast"],
        &["--kind", "v2:transaction-success"],
    ] {
        let mut args = send_args("http://127.0.0.1:9/", Path::new(&key));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cli(&refs);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn keys_gen_writes_keys_that_serve_and_send_use() {
    let dir = temp("keys");
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.display().to_string();
    let out = cli(&["keys", "gen", &d]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_id = std::fs::read_to_string(dir.join("key-id")).unwrap();
    let key_id = key_id.trim();
    assert!(key_id.starts_with("PUB_KEY_ID_"), "{key_id}");
    for f in [
        "apiv3.key",
        "apiv2.key",
        "storage.key",
        "wechatpay-private-key.pem",
        "wechatpay-public-key.pem",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    assert_eq!(
        cli(&["keys", "gen", &d]).status.code(),
        Some(2),
        "never overwrites"
    );

    // A notification signed with the generated private key verifies with the generated public key.
    let sink = temp("keys-sink.jsonl");
    let server = Server::start_with_keys(
        "memory",
        &sink,
        &[
            "--api-v3-key-file".into(),
            format!("{d}/apiv3.key"),
            "--public-key".into(),
            format!("{key_id}={d}/wechatpay-public-key.pem"),
        ],
    );
    let out = cli(&[
        "send",
        "--to",
        &format!("http://{}/", server.addr),
        "--kind",
        "TRANSACTION.SUCCESS#BASIC",
        "--private-key",
        &format!("{d}/wechatpay-private-key.pem"),
        "--key-id",
        key_id,
        "--api-v3-key-file",
        &format!("{d}/apiv3.key"),
        "--schedule",
        "scale=0.001",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn demo_passes_in_one_process() {
    demo_passes_on(&["--ledger", "memory"]);
}

/// `demo` as the README runs it: its default ledger, a fresh SQLite file.
#[test]
fn demo_passes_on_its_default_sqlite_ledger() {
    demo_passes_on(&[]);
}

/// `demo` on the PostgreSQL ledger `WECHATPAY_NOTIFY_TEST_PG` names, in a schema of its own.
#[test]
fn demo_passes_on_the_postgres_ledger() {
    let Ok(url) = std::env::var("WECHATPAY_NOTIFY_TEST_PG") else {
        assert!(
            std::env::var("WECHATPAY_NOTIFY_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "WECHATPAY_NOTIFY_TEST_PG is unset and WECHATPAY_NOTIFY_REQUIRE_SERVICES=1"
        );
        eprintln!("SKIPPED: demo on PostgreSQL (WECHATPAY_NOTIFY_TEST_PG unset)");
        return;
    };
    let schema = format!("demo_test_{}", std::process::id());
    let _dropped_at_end = DropSchema(url.clone(), schema.clone());
    let separator = if url.contains('?') { '&' } else { '?' };
    demo_passes_on(&["--ledger", &format!("{url}{separator}schema={schema}")]);
}

fn demo_passes_on(ledger: &[&str]) {
    let mut args = vec!["demo"];
    args.extend_from_slice(ledger);
    let out = cli(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.lines().last().unwrap().starts_with("verdict: OK"),
        "{stdout}"
    );
    assert!(stdout.contains("SIGNTEST probe") && stdout.contains("tampered request"));
}
