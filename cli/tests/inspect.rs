//! `wechatpay-notify inspect` and `catalog` against their contract in ARCHITECTURE.md.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use wechatpay_notify::keys::ApiV3Key;
use wechatpay_notify::testkit::{TestSigner, V3RequestBuilder};

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const API_V3_KEY: &str = "0123456789abcdefghijklmnopqrstuv";
const NOW: i64 = 1_700_000_000;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("wpn-inspect-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let signer = TestSigner::fixed(KEY_ID);
        std::fs::write(d.join("apiv3.key"), format!("  {API_V3_KEY}\n")).unwrap();
        std::fs::write(d.join("pub.pem"), signer.public_key_pem()).unwrap();
        Dir(d)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    fn inspect(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
            .arg("inspect")
            .arg("--api-v3-key-file")
            .arg(self.0.join("apiv3.key"))
            .arg("--public-key")
            .arg(format!("{KEY_ID}={}", self.0.join("pub.pem").display()))
            .args(extra)
            .output()
            .unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn signed(event_type: &str, plaintext: &str) -> Value {
    V3RequestBuilder::new(event_type, plaintext)
        .id("EV-1")
        .timestamp(NOW)
        .sign(
            &TestSigner::fixed(KEY_ID),
            &ApiV3Key::from_text(API_V3_KEY).unwrap(),
        )
        .to_capture_json()
}

const REFUND: &str = r#"{"out_trade_no":"T1","transaction_id":"4200000001","out_refund_no":"R1","refund_id":"5000001","refund_status":"SUCCESS","amount":{"total":100,"refund":100,"payer_total":100,"payer_refund":100}}"#;

#[test]
fn json_lines_for_accepted_rejected_and_unknown() {
    let dir = Dir::new("lines");
    let ok = dir.write("ok.json", &signed("REFUND.SUCCESS", REFUND).to_string());
    let mut forged = signed("REFUND.SUCCESS", REFUND);
    forged["body"] = Value::String(forged["body"].as_str().unwrap().replace("EV-1", "EV-2"));
    let forged = dir.write("forged.json", &forged.to_string());
    let unknown = dir.write(
        "unknown.json",
        &signed("BRAND.NEW_EVENT", r#"{"x":1}"#).to_string(),
    );
    let out = dir.inspect(&["--json", "--now", &NOW.to_string(), &ok, &forged, &unknown]);
    assert_eq!(out.status.code(), Some(1));
    let l = lines(&out);
    assert_eq!(l.len(), 3);

    assert_eq!(l[0]["ok"], true);
    assert_eq!(l[0]["id"], "EV-1");
    assert_eq!(l[0]["event_type"], "REFUND.SUCCESS");
    assert_eq!(l[0]["kind"], "REFUND.SUCCESS");
    assert_eq!(l[0]["rust_type"], "RefundSuccess");
    assert_eq!(l[0]["resource"]["out_refund_no"], "R1");
    assert_eq!(l[0]["violations"], serde_json::json!([]));
    assert_eq!(
        l[0]["response"],
        serde_json::json!({"status": 204, "body": ""})
    );

    assert_eq!(l[1]["ok"], false);
    assert_eq!(l[1]["error"]["kind"], "signature_mismatch");
    assert_eq!(l[1]["response"]["status"], 401);
    assert_eq!(
        l[1]["response"]["body"],
        r#"{"code":"FAIL","message":"sign mismatched"}"#
    );

    assert_eq!(l[2]["ok"], true);
    assert_eq!(l[2]["kind"], Value::Null);
    assert_eq!(l[2]["rust_type"], Value::Null);
    assert_eq!(l[2]["resource"], serde_json::json!({"x": 1}));
}

#[test]
fn header_forms_batch_stdin_and_base64() {
    let dir = Dir::new("forms");
    let req = signed("REFUND.SUCCESS", REFUND);
    // Headers as an object with mixed-case names.
    let mut obj = serde_json::Map::new();
    for pair in req["headers"].as_array().unwrap() {
        obj.insert(pair[0].as_str().unwrap().to_uppercase(), pair[1].clone());
    }
    let as_object = serde_json::json!({"headers": obj, "body": req["body"]});
    // The body as base64.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(req["body"].as_str().unwrap());
    let as_b64 = serde_json::json!({"headers": req["headers"], "body_base64": b64});
    // A duplicated header in pair form.
    let mut dup = req.clone();
    dup["headers"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!(["wechatpay-nonce", "again"]));
    let batch = dir.write(
        "batch.jsonl",
        &format!("{as_object}\n\n{as_b64}\n{dup}\nnot json\n"),
    );
    let out = dir.inspect(&["--json", "--now", &NOW.to_string(), "--batch", &batch]);
    let l = lines(&out);
    assert_eq!(l.len(), 4);
    assert_eq!(l[0]["ok"], true, "{}", l[0]);
    assert_eq!(l[1]["ok"], true, "{}", l[1]);
    assert_eq!(l[2]["error"]["kind"], "duplicate_header");
    assert_eq!(l[2]["error"]["path"], "Wechatpay-Nonce");
    assert_eq!(l[3]["error"]["kind"], "invalid_request_file");
    assert_eq!(out.status.code(), Some(1));

    let mut child = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
        .arg("inspect")
        .arg("--json")
        .arg("--no-time-check")
        .arg("--api-v3-key-file")
        .arg(dir.0.join("apiv3.key"))
        .arg(format!(
            "--public-key={KEY_ID}={}",
            dir.0.join("pub.pem").display()
        ))
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(lines(&out)[0]["ok"], true);
}

#[test]
fn time_window_strict_and_paths() {
    let dir = Dir::new("strict");
    let ok = dir.write("ok.json", &signed("REFUND.SUCCESS", REFUND).to_string());
    let out = dir.inspect(&["--json", "--now", &(NOW + 3600).to_string(), &ok]);
    let l = lines(&out);
    assert_eq!(l[0]["error"]["kind"], "timestamp_too_old");
    assert_eq!(l[0]["error"]["path"], "Wechatpay-Timestamp");

    let long = REFUND.replace("\"R1\"", &format!("\"{}\"", "R".repeat(65)));
    let f = dir.write("long.json", &signed("REFUND.SUCCESS", &long).to_string());
    let out = dir.inspect(&["--json", "--now", &NOW.to_string(), &f]);
    let l = lines(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "lenient: a violation is not a rejection"
    );
    assert_eq!(l[0]["violations"][0]["path"], "out_refund_no");
    assert_eq!(l[0]["violations"][0]["rule"], "length");
    let out = dir.inspect(&["--json", "--strict", "--now", &NOW.to_string(), &f]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out)[0]["error"]["kind"], "invalid");

    let missing = REFUND.replace(r#""refund":100,"#, "");
    let f = dir.write(
        "missing.json",
        &signed("REFUND.SUCCESS", &missing).to_string(),
    );
    let l = lines(&dir.inspect(&["--json", "--now", &NOW.to_string(), &f]));
    assert_eq!(l[0]["error"]["kind"], "missing_field");
    assert_eq!(l[0]["error"]["path"], "amount.refund");
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let dir = Dir::new("usage");
    let ok = dir.write("ok.json", &signed("REFUND.SUCCESS", REFUND).to_string());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run(&["inspect", &ok]), Some(2), "no APIv3 key");
    assert_eq!(
        run(&["inspect", "--api-v3-key-file", "/nonexistent", &ok]),
        Some(2)
    );
    let short = dir.write("short.key", "tooshort");
    assert_eq!(run(&["inspect", "--api-v3-key-file", &short, &ok]), Some(2));
    let key = dir.0.join("apiv3.key").display().to_string();
    assert_eq!(
        run(&[
            "inspect",
            "--api-v3-key-file",
            &key,
            "--public-key",
            "nofile",
            &ok
        ]),
        Some(2)
    );
    assert_eq!(
        run(&[
            "inspect",
            "--api-v3-key-file",
            &key,
            "--now",
            "1",
            "--no-time-check",
            &ok
        ]),
        Some(2)
    );
    assert_eq!(
        run(&[
            "inspect",
            "--api-v3-key-file",
            &key,
            "--v2-sign-types",
            "sha1",
            &ok
        ]),
        Some(2)
    );
    assert_eq!(run(&["inspect", "--bogus"]), Some(2));
    assert_eq!(
        run(&["inspect", "--api-v3-key-file", &key, "/nonexistent.json"]),
        Some(2)
    );
}

#[test]
fn catalog_lists_every_kind() {
    let out = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
        .args(["catalog", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds = v.as_array().unwrap();
    assert_eq!(kinds.len(), wechatpay_notify::Kind::ALL.len());
    let parking = kinds
        .iter()
        .find(|k| k["kind"] == "TRANSACTION.SUCCESS#PARKING")
        .unwrap();
    assert_eq!(parking["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(parking["variant"], "PARKING");
    assert_eq!(parking["format"], "v3-json");
    assert_eq!(parking["rust_type"], "TransactionSuccessParking");
    assert_eq!(
        parking["schema"],
        "schema/kinds/transaction-success-parking.yaml"
    );
    assert!(parking["title"].as_str().unwrap().contains("停车"));
    for k in kinds {
        let keys: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "kind",
                "event_type",
                "variant",
                "format",
                "title",
                "rust_type",
                "schema"
            ]
        );
    }
}

#[test]
fn inspect_v2_bodies() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let sample = |s: &str| format!("{root}/samples/v2/{s}.xml");
    let v2key = format!("{root}/samples/keys/apiv2.key");
    let v3key = format!("{root}/samples/keys/apiv3.key");
    let inspect = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
            .args(["inspect", "--json"])
            .args(extra)
            .output()
            .unwrap();
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (out.status.code(), lines)
    };

    // The refund: decrypted, unauthenticated, no event_type, a return_code reply.
    let refund = sample("v2-refund-processed");
    let (code, lines) = inspect(&["--api-v2-key-file", &v2key, "--v2", &refund]);
    assert_eq!(code, Some(0), "{lines:?}");
    let l = &lines[0];
    assert_eq!(l["kind"], "v2:refund-processed");
    assert_eq!(l["trust"], "decrypted_unauthenticated");
    assert_eq!(l["event_type"], Value::Null);
    assert_eq!(l["resource"]["refund_fee"], 3960);
    assert!(
        l["response"]["body"]
            .as_str()
            .unwrap()
            .contains("<return_code>")
    );

    // MD5 refused where only HMAC-SHA256 is accepted; the page's payment is MD5-signed.
    let payment = sample("v2-transaction-success");
    let (code, lines) = inspect(&["--api-v2-key-file", &v2key, "--v2", &payment]);
    assert_eq!(code, Some(0), "{lines:?}");
    let (code, lines) = inspect(&[
        "--api-v2-key-file",
        &v2key,
        "--v2-sign-types",
        "hmac-sha256",
        "--v2",
        &payment,
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(lines[0]["error"]["kind"], "sign_type_not_accepted");
    assert_eq!(lines[0]["response"]["status"], 401);

    // An event needs the APIv3 key too; with it, a code/message reply.
    let check = sample("v2-check-success");
    let (code, lines) = inspect(&["--api-v2-key-file", &v2key, "--v2", &check]);
    assert_eq!(code, Some(1));
    assert_eq!(lines[0]["error"]["kind"], "key_not_configured");
    assert_eq!(lines[0]["event_type"], "CHECK.SUCCESS");
    let (code, lines) = inspect(&[
        "--api-v2-key-file",
        &v2key,
        "--api-v3-key-file",
        &v3key,
        "--v2",
        &check,
    ]);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(lines[0]["event_type"], "CHECK.SUCCESS");
    assert!(
        lines[0]["response"]["body"]
            .as_str()
            .unwrap()
            .starts_with("<xml><code>")
    );

    // A tampered body, and a truncated one.
    let dir = std::env::temp_dir().join(format!("wpn-inspect-v2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(&payment).unwrap();
    let tampered = dir.join("tampered.xml");
    std::fs::write(
        &tampered,
        text.replace("[1]]></total_fee>", "[100]]></total_fee>"),
    )
    .unwrap();
    let truncated = dir.join("truncated.xml");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let (code, lines) = inspect(&[
        "--api-v2-key-file",
        &v2key,
        "--v2",
        tampered.to_str().unwrap(),
        "--v2",
        truncated.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(lines[0]["error"]["kind"], "signature_mismatch");
    assert_eq!(lines[0]["error"]["path"], "sign");
    assert_eq!(lines[1]["error"]["kind"], "malformed_xml");
    assert_eq!(lines[1]["response"]["status"], 400);
    std::fs::remove_dir_all(&dir).unwrap();

    // No APIv2 key: a usage error.
    let (code, _) = inspect(&["--v2", &refund]);
    assert_eq!(code, Some(2));
}
