//! Load test of `wechatpay-notify serve` end to end on loopback: at least 10,000 distinct
//! notifications, each signed beforehand (no request is sent twice), over keep-alive
//! connections; prints throughput and latency percentiles.
//!
//! `cargo bench -p wechatpay-notify-cli --bench serve_load` — settings by environment:
//! `LOAD_NOTIFICATIONS` (10000), `LOAD_CONNECTIONS` (64), `LOAD_LEDGER` (a fresh SQLite file),
//! `LOAD_SERVE_ARGS` (extra flags for serve, space-separated).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;
use wechatpay_notify::keys::ApiV3Key;
use wechatpay_notify::testkit::{TestSigner, V3RequestBuilder};

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const API_V3_KEY: &str = "wechatpay-notify-sample-key-0032";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One request as bytes on the wire.
fn wire(
    addr: &str,
    n: usize,
    run: &str,
    example: &serde_json::Value,
    signer: &TestSigner,
    key: &ApiV3Key,
    now: i64,
) -> Vec<u8> {
    let mut plaintext = example.clone();
    plaintext["out_trade_no"] = format!("L{run}-{n}").into();
    plaintext["transaction_id"] = format!("42000000{n:020}").into();
    let req = V3RequestBuilder::new("TRANSACTION.SUCCESS", plaintext.to_string())
        .id(format!("EV-LOAD-{run}-{n}"))
        .original_type("transaction")
        .timestamp(now)
        .sign(signer, key);
    let mut out = format!(
        "POST /notify HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        req.body.len()
    );
    for (k, v) in &req.headers {
        out.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&req.body);
    bytes
}

/// Reads one response: the status, skipping the body by its Content-Length.
async fn read_response(
    r: &mut AsyncBufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<u16> {
    let mut line = String::new();
    r.read_line(&mut line).await?;
    let status: u16 = line
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        r.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).await?;
    Ok(status)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks benches to enumerate; this one is a single load test
    }
    let total: usize = env_or("LOAD_NOTIFICATIONS", 10_000);
    let connections: usize = env_or("LOAD_CONNECTIONS", 64);
    let dir = std::env::temp_dir().join(format!("wechatpay-notify-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ledger = std::env::var("LOAD_LEDGER")
        .unwrap_or_else(|_| format!("sqlite:{}", dir.join("ledger.db").display()));
    let sink = dir.join("sink.jsonl");

    let keys = root().join("samples/keys");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wechatpay-notify"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--ledger",
        &ledger,
        "--sink",
    ])
    .arg(&sink)
    .arg("--api-v3-key-file")
    .arg(keys.join("apiv3.key"))
    .arg("--public-key")
    .arg(format!(
        "{KEY_ID}={}",
        keys.join("wechatpay-public-key.pem").display()
    ))
    // The default log level (one line per request), as in production, into a file.
    .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
    .stdout(Stdio::piped());
    if let Ok(extra) = std::env::var("LOAD_SERVE_ARGS") {
        cmd.args(extra.split_whitespace());
    }
    let mut child = cmd.spawn().expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("address line")
        .to_owned();

    eprintln!("signing {total} distinct notifications…");
    let signer = TestSigner::fixed(KEY_ID);
    // A ~1 KB payment notification: the catalogue's example, with unique order numbers.
    let example: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/examples/transaction-success-basic.json"))
            .unwrap(),
    )
    .unwrap();
    let key = ApiV3Key::from_text(API_V3_KEY).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let run = format!("{}", std::process::id());
    let requests: Vec<Vec<u8>> = std::thread::scope(|s| {
        let workers = 2;
        let parts: Vec<_> = (0..workers)
            .map(|w| {
                let (signer, key, addr, run, example) = (&signer, &key, &addr, &run, &example);
                s.spawn(move || {
                    (w..total)
                        .step_by(workers)
                        .map(|n| wire(addr, n, run, example, signer, key, now))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|p| p.join().unwrap()).collect()
    });
    let requests = Arc::new(requests);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (elapsed, mut latencies, failures) = runtime.block_on(async {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (requests, next, addr) = (requests.clone(), next.clone(), addr.clone());
            tasks.push(tokio::spawn(async move {
                let stream = TcpStream::connect(&addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (read, mut write) = stream.into_split();
                let mut read = AsyncBufReader::new(read);
                let mut lat = Vec::new();
                let mut failures = 0usize;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(req) = requests.get(i) else { break };
                    let t = Instant::now();
                    write.write_all(req).await.unwrap();
                    let status = read_response(&mut read).await.unwrap();
                    lat.push(t.elapsed());
                    if status != 204 {
                        failures += 1;
                    }
                }
                (lat, failures)
            }));
        }
        let mut all = Vec::new();
        let mut failures = 0;
        for t in tasks {
            let (lat, f) = t.await.unwrap();
            all.extend(lat);
            failures += f;
        }
        (started.elapsed(), all, failures)
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let sunk = std::fs::read_to_string(&sink)
        .map(|s| s.lines().count())
        .unwrap_or(0);
    let logged = std::fs::read_to_string(dir.join("serve.log"))
        .map(|s| s.matches("\"notification\"").count())
        .unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);

    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "serve_load: {total} notifications, {connections} connections, ledger {}: {:.0} notifications/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, non-204 {failures}, sink lines {sunk}, log lines {logged}",
        ledger.split(':').next().unwrap_or(""),
        total as f64 / elapsed.as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap()),
    );
    assert_eq!(failures, 0, "every notification acknowledged");
    assert_eq!(sunk, total, "every notification processed once");
}
