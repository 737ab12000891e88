//! Interoperability with an implementation that is not ours, Python's `cryptography`: what the
//! simulator sends verifies and decrypts there, and what Python signs and seals the SDK
//! accepts. Skipped (with a message) where `python3` with `cryptography` is missing.

use std::io::Write as _;
use std::process::{Command, Stdio};

use http::{HeaderMap, HeaderName, HeaderValue};
use wechatpay_notify::keys::{ApiV3Key, Keyring};
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
