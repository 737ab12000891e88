//! `wechatpay-notify serve` as a real process on loopback: copies processed once, the sink
//! line written before the acknowledgement, probes and forgeries rejected and counted, health
//! and metrics, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use wechatpay_notify::keys::ApiV3Key;
use wechatpay_notify::testkit::{SignedRequest, TestSigner, V3RequestBuilder};

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const API_V3_KEY: &str = "wechatpay-notify-sample-key-0032";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running `serve`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(ledger: &str, sink: &Path) -> Server {
        let keys = root().join("samples/keys");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--ledger",
                ledger,
                "--sink",
            ])
            .arg(sink)
            .arg("--api-v3-key-file")
            .arg(keys.join("apiv3.key"))
            .arg("--public-key")
            .arg(format!(
                "{KEY_ID}={}",
                keys.join("wechatpay-public-key.pem").display()
            ))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("serve prints its address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server { child, addr }
    }

    /// Sends one HTTP/1.1 request; returns the status and the body.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().expect("status code");
        let body = response
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        (status, body)
    }

    fn post(&self, req: &SignedRequest) -> (u16, String) {
        let headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        self.send("POST", "/any/path", &headers, &req.body)
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn refund(n: usize, run: &str) -> V3RequestBuilder {
    let plaintext = serde_json::json!({
        "mchid": "1900000100",
        "transaction_id": "1008450740201411110005820873",
        "out_trade_no": format!("T{run}-{n}"),
        "refund_id": format!("5020020718201807030001130{n:04}"),
        "out_refund_no": format!("R{run}-{n}"),
        "refund_status": "SUCCESS",
        "amount": {"total": 999, "refund": 999, "payer_total": 999, "payer_refund": 999},
    });
    V3RequestBuilder::new("REFUND.SUCCESS", plaintext.to_string())
        .id(format!("EV-{run}-{n}"))
        .original_type("refund")
        .timestamp(now())
}

fn temp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "wechatpay-notify-serve-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}

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
