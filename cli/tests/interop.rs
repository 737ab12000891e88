//! Interoperability with an implementation that is not ours, Python's `cryptography` (and its
//! standard `hashlib`/`hmac` for the APIv2 sign): what the simulator sends, APIv3 and APIv2,
//! verifies and decrypts there, and what Python signs and seals the SDK accepts. Skipped (with a
//! message) where `python3` with `cryptography` is missing, except in CI
//! (`WECHATPAY_NOTIFY_REQUIRE_SERVICES=1`), where that fails the test.

use std::io::Write as _;
use std::process::{Command, Stdio};

use http::{HeaderMap, HeaderName, HeaderValue};
use wechatpay_notify::keys::{ApiV2Key, ApiV3Key, Keyring};
use wechatpay_notify::testkit::TestSigner;
use wechatpay_notify::testkit::simulator::{Payload, Simulator};
use wechatpay_notify::{Kind, Receiver};

const API_V3_KEY: &str = "wechatpay-notify-sample-key-0032";

/// Verifies and opens a v3 request read from stdin; prints the plaintext.
const PY_OPEN: &str = r#"
import base64, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
req = json.load(sys.stdin)
h = {k.lower(): v for k, v in req["headers"]}
key = serialization.load_pem_public_key(req["public_key_pem"].encode())
message = (h["wechatpay-timestamp"] + "\n" + h["wechatpay-nonce"] + "\n" + req["body"] + "\n").encode()
key.verify(base64.b64decode(h["wechatpay-signature"]), message, padding.PKCS1v15(), hashes.SHA256())
r = json.loads(req["body"])["resource"]
plain = AESGCM(req["api_v3_key"].encode()).decrypt(
    r["nonce"].encode(), base64.b64decode(r["ciphertext"]), r["associated_data"].encode())
sys.stdout.write(plain.decode())
"#;

/// Makes a key, seals and signs a REFUND.SUCCESS notification as WeChat Pay does.
const PY_SEAL: &str = r#"
import base64, json, os, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
api_v3_key, plaintext = sys.argv[1], sys.argv[2]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
nonce = "py0123456789"
ct = AESGCM(api_v3_key.encode()).encrypt(nonce.encode(), plaintext.encode(), b"refund")
body = json.dumps({"id": "EV-PYTHON-1", "create_time": "2024-01-01T00:00:00+08:00",
    "resource_type": "encrypt-resource", "event_type": "REFUND.SUCCESS", "summary": "退款成功",
    "resource": {"original_type": "refund", "algorithm": "AEAD_AES_256_GCM",
    "ciphertext": base64.b64encode(ct).decode(), "associated_data": "refund", "nonce": nonce}},
    ensure_ascii=False, separators=(",", ":"))
ts, n = str(int(time.time())), "PYTHONNONCE0123456789abcdefghijk"
sig = key.sign((ts + "\n" + n + "\n" + body + "\n").encode(), padding.PKCS1v15(), hashes.SHA256())
pem = key.public_key().public_bytes(serialization.Encoding.PEM,
    serialization.PublicFormat.SubjectPublicKeyInfo).decode()
json.dump({"public_key_pem": pem, "body": body, "headers": [
    ["Wechatpay-Timestamp", ts], ["Wechatpay-Nonce", n],
    ["Wechatpay-Signature", base64.b64encode(sig).decode()],
    ["Wechatpay-Serial", "PUB_KEY_ID_0199999999999999999999999999"],
    ["Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048"]]}, sys.stdout)
"#;

/// Checks an APIv2 body read from stdin: its `sign` (MD5 or HMAC-SHA256, by `sign_type`), and
/// opens `req_info` (AES-256-ECB, key md5(APIv2 key) hex) or `event_ciphertext` (AES-256-GCM,
/// APIv3 key); prints the plaintext (empty for unencrypted bodies).
const PY_V2_OPEN: &str = r#"
import base64, hashlib, hmac, sys
import xml.etree.ElementTree as ET
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
v2_key, v3_key = sys.argv[1], sys.argv[2]
d = {e.tag: (e.text or "") for e in ET.fromstring(sys.stdin.read())}
if "sign" in d:
    text = "&".join(f"{k}={d[k]}" for k in sorted(d) if k != "sign" and d[k] != "") + "&key=" + v2_key
    if d.get("sign_type", d.get("algorithm", "")).upper() == "HMAC-SHA256":
        expected = hmac.new(v2_key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    else:
        expected = hashlib.md5(text.encode()).hexdigest().upper()
    assert hmac.compare_digest(expected, d["sign"]), ("sign", expected, d["sign"])
if "req_info" in d:
    key = hashlib.md5(v2_key.encode()).hexdigest().encode()
    dec = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    padded = dec.update(base64.b64decode(d["req_info"])) + dec.finalize()
    unpad = padding.PKCS7(128).unpadder()
    sys.stdout.write((unpad.update(padded) + unpad.finalize()).decode())
elif "event_ciphertext" in d:
    plain = AESGCM(v3_key.encode()).decrypt(d["event_nonce"].encode(),
        base64.b64decode(d["event_ciphertext"]), d.get("event_associated_data", "").encode())
    sys.stdout.write(plain.decode())
"#;

/// Signs an APIv2 body (read from stdin, its `sign` replaced) with the given sign type.
const PY_V2_SIGN: &str = r#"
import hashlib, hmac, sys
import xml.etree.ElementTree as ET
v2_key, sign_type = sys.argv[1], sys.argv[2]
d = {e.tag: (e.text or "") for e in ET.fromstring(sys.stdin.read())}
d.pop("sign", None)
d["sign_type"] = sign_type
text = "&".join(f"{k}={d[k]}" for k in sorted(d) if d[k] != "") + "&key=" + v2_key
if sign_type == "HMAC-SHA256":
    d["sign"] = hmac.new(v2_key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
else:
    d["sign"] = hashlib.md5(text.encode()).hexdigest().upper()
sys.stdout.write("<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in d.items()) + "</xml>")
"#;

const API_V2_KEY: &str = "wechatpay-notify-sample-v2-key-32";

fn python(script: &str, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn python_checks_and_opens_what_the_simulator_sends_over_apiv2() {
    if !python_ready() {
        return;
    }
    let sim = Simulator::new(
        TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000"),
        ApiV3Key::from_text(API_V3_KEY).unwrap(),
    )
    .with_api_v2_key(ApiV2Key::from_text(API_V2_KEY).unwrap());
    let ex = |p: &str| std::fs::read(root().join("schema/examples/v2").join(p)).unwrap();
    for (id, outer, plaintext) in [
        ("v2:transaction-success", "transaction-success.xml", None),
        (
            "v2:combined-transactions-success",
            "combined-transactions-success.xml",
            None,
        ),
        (
            "v2:refund-processed",
            "refund-processed.xml",
            Some("refund-processed.req_info.xml"),
        ),
        (
            "v2:TRANSACTION.SUCCESS",
            "TRANSACTION.SUCCESS.xml",
            Some("TRANSACTION.SUCCESS.event_ciphertext.xml"),
        ),
    ] {
        let kind = Kind::from_id(id).unwrap();
        let payload = Payload::v2(kind, &ex(outer), plaintext.map(ex)).unwrap();
        let body = sim
            .notification(kind, payload)
            .unwrap()
            .sign()
            .unwrap()
            .body;
        let opened = python(PY_V2_OPEN, &[API_V2_KEY, API_V3_KEY], &body);
        if let Some(p) = plaintext {
            assert_eq!(opened.as_bytes(), ex(p), "{id}");
        }
    }
}

#[test]
fn the_sdk_accepts_what_python_signs_over_apiv2() {
    if !python_ready() {
        return;
    }
    let receiver = Receiver::for_v2(ApiV2Key::from_text(API_V2_KEY).unwrap());
    let example = std::fs::read(root().join("schema/examples/v2/transaction-success.xml")).unwrap();
    for sign_type in ["MD5", "HMAC-SHA256"] {
        let body = python(PY_V2_SIGN, &[API_V2_KEY, sign_type], &example);
        let received = receiver
            .receive_v2(body.as_bytes())
            .unwrap_or_else(|e| panic!("{sign_type}: {e}"));
        assert_eq!(
            received.kind(),
            Kind::from_id("v2:transaction-success"),
            "{sign_type}"
        );
        let forged = body.replace("<total_fee><![CDATA[", "<total_fee><![CDATA[9");
        assert_ne!(forged, body);
        assert!(
            receiver.receive_v2(forged.as_bytes()).is_err(),
            "{sign_type}"
        );
    }
}

fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("WECHATPAY_NOTIFY_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "python3 with `cryptography` is missing and WECHATPAY_NOTIFY_REQUIRE_SERVICES=1"
        );
        eprintln!("SKIPPED: python3 with the `cryptography` package is not available");
    }
    ok
}

#[test]
fn python_verifies_and_opens_what_the_simulator_sends() {
    if !python_ready() {
        return;
    }
    let signer = TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000");
    let sim = Simulator::new(signer.clone(), ApiV3Key::from_text(API_V3_KEY).unwrap());
    let plaintext = r#"{"out_refund_no":"R-INTEROP","refund_status":"SUCCESS","note":"退款"}"#;
    for kind in [Kind::RefundSuccess, Kind::TransactionSuccessBasic] {
        let request = sim
            .notification(kind, Payload::v3(plaintext))
            .unwrap()
            .sign()
            .unwrap();
        let mut input = request.to_capture_json();
        input["public_key_pem"] = signer.public_key_pem().into();
        input["api_v3_key"] = API_V3_KEY.into();
        let mut child = Command::new("python3")
            .args(["-c", PY_OPEN])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), plaintext);
    }
}

#[test]
fn the_sdk_accepts_what_python_signs_and_seals() {
    if !python_ready() {
        return;
    }
    let plaintext = r#"{"mchid":"1900000100","out_trade_no":"T-PY","transaction_id":"4200000000000000000000000001","refund_id":"50000000000000000000000000001","out_refund_no":"R-PY","refund_status":"SUCCESS","success_time":"2024-01-01T00:00:01+08:00","user_received_account":"招商银行信用卡0403","amount":{"total":100,"refund":100,"payer_total":100,"payer_refund":100}}"#;
    let out = Command::new("python3")
        .args(["-c", PY_SEAL, API_V3_KEY, plaintext])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keyring = Keyring::new();
    keyring
        .add_public_key_pem(
            "PUB_KEY_ID_0199999999999999999999999999",
            made["public_key_pem"].as_str().unwrap(),
        )
        .unwrap();
    let mut headers = HeaderMap::new();
    for pair in made["headers"].as_array().unwrap() {
        headers.insert(
            HeaderName::from_bytes(pair[0].as_str().unwrap().as_bytes()).unwrap(),
            HeaderValue::from_str(pair[1].as_str().unwrap()).unwrap(),
        );
    }
    let receiver = Receiver::new(keyring, ApiV3Key::from_text(API_V3_KEY).unwrap());
    let body = made["body"].as_str().unwrap().as_bytes();
    let received = receiver.receive(&headers, body).unwrap();
    assert_eq!(received.kind(), Some(Kind::RefundSuccess));

    let mut tampered = body.to_vec();
    let i = tampered.iter().position(|b| *b == b'P').unwrap();
    tampered[i] = b'Q';
    assert!(receiver.receive(&headers, &tampered).is_err());
}
