//! What the CLI tests that run `serve` share: a server process on loopback, a tiny HTTP
//! client, fresh signed refunds.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use wechatpay_notify::testkit::{SignedRequest, V3RequestBuilder};

pub const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
pub const API_V3_KEY: &str = "wechatpay-notify-sample-key-0032";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The key flags for the sample keys, with `api_v3_key_file` as the APIv3 key.
pub fn key_args(api_v3_key_file: &Path) -> Vec<String> {
    let keys = root().join("samples/keys");
    vec![
        "--api-v3-key-file".into(),
        api_v3_key_file.display().to_string(),
        "--public-key".into(),
        format!(
            "{KEY_ID}={}",
            keys.join("wechatpay-public-key.pem").display()
        ),
    ]
}

pub fn sample_api_v3_key_file() -> PathBuf {
    root().join("samples/keys/apiv3.key")
}

/// A running `serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    pub fn start(ledger: &str, sink: &Path) -> Server {
        Server::start_with_key(ledger, sink, &sample_api_v3_key_file())
    }

    pub fn start_with_key(ledger: &str, sink: &Path, api_v3_key_file: &Path) -> Server {
        Server::start_with_keys(ledger, sink, &key_args(api_v3_key_file))
    }

    /// A server with these key flags.
    pub fn start_with_keys(ledger: &str, sink: &Path, keys: &[String]) -> Server {
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
            .args(keys)
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
    pub fn send(
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

    pub fn post(&self, req: &SignedRequest) -> (u16, String) {
        let headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        self.send("POST", "/any/path", &headers, &req.body)
    }

    pub fn stop(mut self) -> std::process::ExitStatus {
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

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn refund(n: usize, run: &str) -> V3RequestBuilder {
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

pub fn temp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "wechatpay-notify-serve-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}

/// Drops the schema when the test ends, passed or failed.
pub struct DropSchema(pub String, pub String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        drop_schema(&self.0, &self.1);
    }
}

pub fn drop_schema(url: &str, schema: &str) {
    use wechatpay_notify::ledger::postgres::tokio_postgres;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .unwrap();
    });
}
