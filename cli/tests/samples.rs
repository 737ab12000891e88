//! The signed sample requests in `samples/` (the README's first command inspects them): they
//! are made here from the schema examples with the fixed test key, compared with the files
//! checked in (`UPDATE_SAMPLES=1` rewrites them), and inspected with the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use wechatpay_notify::Kind;
use wechatpay_notify::keys::ApiV3Key;
use wechatpay_notify::testkit::{TestSigner, V3RequestBuilder};

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const API_V3_KEY: &str = "wechatpay-notify-sample-key-0032";
const TIMESTAMP: i64 = 1_700_000_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every sample file and its contents, as they should be.
fn expected() -> Vec<(PathBuf, String)> {
    let signer = TestSigner::fixed(KEY_ID);
    let key = ApiV3Key::from_text(API_V3_KEY).unwrap();
    let mut files = vec![
        (
            PathBuf::from("samples/keys/apiv3.key"),
            format!("{API_V3_KEY}\n"),
        ),
        (
            PathBuf::from("samples/keys/wechatpay-public-key.pem"),
            signer.public_key_pem(),
        ),
    ];
    for (i, kind) in Kind::ALL.iter().enumerate() {
        let info = kind.info();
        let stem = info
            .schema
            .trim_start_matches("schema/kinds/")
            .trim_end_matches(".yaml");
        let example_path = root().join(format!("schema/examples/{stem}.json"));
        let example = std::fs::read_to_string(&example_path).unwrap();
        let compact =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&example).unwrap())
                .unwrap();
        let mut b = V3RequestBuilder::new(info.event_type.unwrap(), compact)
            .id(format!("EV-SAMPLE-{:04}", i + 1))
            .create_time("2023-11-15T06:13:20+08:00")
            .timestamp(TIMESTAMP)
            .nonce(format!("{:032}", i + 1))
            .resource_nonce(*format!("{:012}", i + 1).as_bytes().first_chunk().unwrap())
            .summary(info.title);
        if let Some(t) = info.original_type {
            b = b.original_type(t);
        }
        let req = b.sign(&signer, &key);
        let text = serde_json::to_string_pretty(&req.to_capture_json()).unwrap() + "\n";
        files.push((PathBuf::from(format!("samples/requests/{stem}.json")), text));
    }
    files
}

#[test]
fn samples_are_up_to_date() {
    let update = std::env::var_os("UPDATE_SAMPLES").is_some();
    let mut stale = Vec::new();
    for (rel, contents) in expected() {
        let path = root().join(&rel);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != contents {
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, contents).unwrap();
            } else {
                stale.push(rel.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale samples (run with UPDATE_SAMPLES=1): {stale:?}"
    );
}

#[test]
fn every_sample_inspects_ok() {
    let files: Vec<PathBuf> = expected()
        .into_iter()
        .filter(|(p, _)| p.starts_with("samples/requests"))
        .map(|(p, _)| root().join(p))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
        .current_dir(root())
        .args([
            "inspect",
            "--json",
            "--api-v3-key-file",
            "samples/keys/apiv3.key",
        ])
        .arg(format!(
            "--public-key={KEY_ID}=samples/keys/wechatpay-public-key.pem"
        ))
        .args(["--now", &TIMESTAMP.to_string()])
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), Kind::ALL.len());
    for (line, kind) in lines.iter().zip(Kind::ALL) {
        assert_eq!(line["ok"], true, "{line}");
        assert_eq!(line["kind"], kind.id());
        assert_eq!(line["response"]["status"], 204);
    }
}
