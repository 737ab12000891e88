//! The signed sample requests in `samples/` (the README's first command inspects them): they
//! are made here from the schema examples with the fixed test key, compared with the files
//! checked in (`UPDATE_SAMPLES=1` rewrites them), and inspected with the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use wechatpay_notify::Kind;
use wechatpay_notify::catalogue::WireFormat;
use wechatpay_notify::keys::{ApiV2Key, ApiV3Key};
use wechatpay_notify::testkit::{TestSigner, V2Sealer, V3RequestBuilder};
use wechatpay_notify::v2::parse_flat;

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const API_V3_KEY: &str = "wechatpay-notify-sample-key-0032";
const API_V2_KEY: &str = "wechatpay-notify-sample-v2-key-32";
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
        (
            PathBuf::from("samples/keys/apiv2.key"),
            format!("{API_V2_KEY}\n"),
        ),
    ];
    for (i, kind) in Kind::ALL.iter().enumerate() {
        let info = kind.info();
        let stem = info
            .schema
            .trim_start_matches("schema/kinds/")
            .trim_end_matches(".yaml");
        if info.format == WireFormat::V2Xml {
            files.push((
                PathBuf::from(format!("samples/v2/{stem}.xml")),
                v2_sample(*kind, i),
            ));
            continue;
        }
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

/// A signed (and sealed) APIv2 body of `kind`, from its schema's first example.
fn v2_sample(kind: Kind, i: usize) -> String {
    let schema = std::fs::read_to_string(root().join(kind.info().schema)).unwrap();
    let value = |key: &str| {
        schema
            .lines()
            .find_map(|l| l.trim().trim_start_matches("- ").strip_prefix(key))
            .map(|v| v.trim().to_owned())
    };
    let read = |rel: &str| std::fs::read(root().join("schema").join(rel)).unwrap();
    let outer = parse_flat(&read(&value("file:").unwrap()), "xml", "xml").unwrap();
    let plaintext = value("plaintext:").map(|p| read(&p));
    let sealer = V2Sealer::new(
        ApiV2Key::from_text(API_V2_KEY).unwrap(),
        ApiV3Key::from_text(API_V3_KEY).unwrap(),
    )
    .with_gcm_nonce(*format!("{:012}", i + 1).as_bytes().first_chunk().unwrap());
    sealer.seal(kind, outer, plaintext.as_deref()) + "\n"
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
    let v3: Vec<&Kind> = Kind::ALL
        .iter()
        .filter(|k| k.info().format == WireFormat::V3Json)
        .collect();
    assert_eq!(lines.len(), v3.len());
    for (line, kind) in lines.iter().zip(v3) {
        assert_eq!(line["ok"], true, "{line}");
        assert_eq!(line["kind"], kind.id());
        assert_eq!(line["response"]["status"], 204);
    }
}

#[test]
fn every_v2_sample_inspects_ok() {
    let files: Vec<(PathBuf, Kind)> = Kind::ALL
        .iter()
        .filter(|k| k.info().format == WireFormat::V2Xml)
        .map(|k| {
            let stem = k
                .info()
                .schema
                .trim_start_matches("schema/kinds/")
                .trim_end_matches(".yaml");
            (root().join(format!("samples/v2/{stem}.xml")), *k)
        })
        .collect();
    assert_eq!(files.len(), 8);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"));
    cmd.current_dir(root()).args([
        "inspect",
        "--json",
        "--api-v2-key-file",
        "samples/keys/apiv2.key",
        "--api-v3-key-file",
        "samples/keys/apiv3.key",
    ]);
    for (f, _) in &files {
        cmd.arg("--v2").arg(f);
    }
    let out = cmd.output().unwrap();
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
    assert_eq!(lines.len(), files.len());
    for (line, (_, kind)) in lines.iter().zip(&files) {
        assert_eq!(line["ok"], true, "{line}");
        assert_eq!(line["kind"], kind.id());
        assert_eq!(line["response"]["status"], 200);
        assert!(
            line["response"]["body"]
                .as_str()
                .unwrap()
                .starts_with("<xml>")
        );
        assert!(line["violations"].as_array().unwrap().is_empty(), "{line}");
    }
}
