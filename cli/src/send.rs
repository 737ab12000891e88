//! `wechatpay-notify send`: the WeChat Pay simulator. Makes a notification of a kind (its schema
//! example, or `--data`) and delivers it to `--to` as WeChat Pay does: freshly signed attempts on
//! the kind's retry schedule, copies from several servers at once, an optional SIGNTEST probe.
//! One JSON line per attempt, then a summary; exit 0 when acknowledged, 1 when the schedule ran
//! out, 2 on a usage error.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use wechatpay_notify::Kind;
use wechatpay_notify::keys::{ApiV2Key, ApiV3Key};
use wechatpay_notify::testkit::TestSigner;
use wechatpay_notify::testkit::simulator::{self, Attempt, DeliveryPlan, Schedule, Simulator};

use crate::{EXIT_OK, EXIT_REJECTED, UsageError};

/// Flags of `send`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The merchant's notification URL (http:// only).
    #[arg(long, value_name = "URL")]
    to: String,
    /// The kind to send (an id of `catalog`, e.g. TRANSACTION.SUCCESS, v2:refund-processed).
    #[arg(long, value_name = "KIND")]
    kind: String,
    /// The business data instead of the schema example: the resource JSON (APIv3); the XML body
    /// (unencrypted APIv2 kinds); the plaintext XML (encrypted APIv2 kinds, wrapped in the
    /// example's outer elements).
    #[arg(long, value_name = "PLAINTEXT.json")]
    data: Option<PathBuf>,
    /// WeChat Pay's private key (PEM, PKCS#8 or PKCS#1) that signs APIv3 notifications.
    #[arg(long, value_name = "PEM")]
    private_key: PathBuf,
    /// The id the key answers to, sent as Wechatpay-Serial: PUB_KEY_ID_… or a certificate serial.
    #[arg(long, value_name = "ID")]
    key_id: String,
    /// File holding the merchant's APIv3 key.
    #[arg(long, value_name = "F")]
    api_v3_key_file: PathBuf,
    /// File holding the merchant's APIv2 key (APIv2 kinds).
    #[arg(long, value_name = "F")]
    api_v2_key_file: Option<PathBuf>,
    /// Copies each server sends at once (duplicates).
    #[arg(long, value_name = "K", default_value_t = 1)]
    copies: usize,
    /// Servers sending at once.
    #[arg(long, value_name = "S", default_value_t = 1)]
    servers: usize,
    /// Send a WECHATPAY/SIGNTEST/ probe first; the endpoint must reject it.
    #[arg(long)]
    probe: bool,
    /// `official` (the kind's schedule as its schema records it) or `scale=F` (every interval
    /// multiplied by F).
    #[arg(long, value_name = "official|scale=F", default_value = "official")]
    schedule: String,
    /// Seconds each attempt waits for the answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    timeout: f64,
}

/// `official` or `scale=F`, applied to `kind`'s schedule.
pub fn parse_schedule(text: &str, kind: Kind) -> Result<Schedule, UsageError> {
    let official = Schedule::official(kind);
    if text == "official" {
        return Ok(official);
    }
    match text.strip_prefix("scale=").map(str::parse::<f64>) {
        Some(Ok(f)) if f.is_finite() && f >= 0.0 => Ok(official.scaled(f)),
        _ => Err(UsageError(format!(
            "--schedule {text}: expected official or scale=F (F a number ≥ 0)"
        ))),
    }
}

fn read(path: &std::path::Path, what: &str) -> Result<String, UsageError> {
    std::fs::read_to_string(path).map_err(|e| UsageError(format!("{what} {}: {e}", path.display())))
}

/// The simulator the key flags describe.
fn simulator(args: &Args) -> Result<Simulator, UsageError> {
    let signer =
        TestSigner::from_pkcs8_pem(&read(&args.private_key, "--private-key")?, &args.key_id)
            .map_err(|e| {
                UsageError(format!("--private-key {}: {e}", args.private_key.display()))
            })?;
    let v3 = ApiV3Key::from_text(read(&args.api_v3_key_file, "--api-v3-key-file")?.trim())
        .map_err(|e| UsageError(format!("--api-v3-key-file: {e}")))?;
    let mut sim = Simulator::new(signer, v3);
    if let Some(p) = &args.api_v2_key_file {
        let v2 = ApiV2Key::from_text(read(p, "--api-v2-key-file")?.trim())
            .map_err(|e| UsageError(format!("--api-v2-key-file: {e}")))?;
        sim = sim.with_api_v2_key(v2);
    }
    Ok(sim)
}

/// One attempt as `send` prints it.
pub fn attempt_json(a: &Attempt) -> serde_json::Value {
    let mut v = json!({
        "attempt": a.attempt,
        "server": a.server,
        "copy": a.copy,
        "status": a.status,
        "elapsed_ms": u64::try_from(a.elapsed.as_millis()).unwrap_or(u64::MAX),
        "acknowledged": a.acknowledged,
    });
    if let Some(e) = &a.error {
        v["error"] = json!(e);
    }
    v
}

pub fn run(args: &Args) -> u8 {
    crate::block_on(send(args))
}

async fn send(args: &Args) -> Result<u8, UsageError> {
    let kind = Kind::from_id(&args.kind).ok_or_else(|| {
        UsageError(format!(
            "--kind {}: not in the catalogue (see `wechatpay-notify catalog`)",
            args.kind
        ))
    })?;
    let payload = match &args.data {
        Some(p) => {
            let data =
                std::fs::read(p).map_err(|e| UsageError(format!("--data {}: {e}", p.display())))?;
            crate::examples::from_data(kind, &data)
        }
        None => crate::examples::example(kind),
    }
    .map_err(UsageError)?;
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(UsageError(format!(
            "--timeout {}: expected seconds > 0",
            args.timeout
        )));
    }
    let timeout = Duration::from_secs_f64(args.timeout);
    let plan = DeliveryPlan {
        schedule: parse_schedule(&args.schedule, kind)?,
        timeout,
        copies: args.copies.max(1),
        servers: args.servers.max(1),
    };
    let sim = simulator(args)?;
    let notification = sim
        .notification(kind, payload)
        .map_err(|e| UsageError(e.to_string()))?;
    let started = Instant::now();
    let mut probe_rejected = None;
    if args.probe {
        let t = Instant::now();
        let reply = simulator::send_once(&args.to, &sim.probe(), timeout).await;
        let status = reply.as_ref().ok().map(|r| r.status);
        let rejected = status.is_some_and(|s| !(200..300).contains(&s));
        probe_rejected = Some(rejected);
        let mut line = json!({
            "probe": true,
            "status": status,
            "elapsed_ms": u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX),
            "rejected": rejected,
        });
        if let Err(e) = reply {
            line["error"] = json!(e);
        }
        println!("{line}");
    }
    let printed = Arc::new(Mutex::new(()));
    let report = simulator::deliver(&args.to, &notification, &plan, move |a| {
        let _guard = printed.lock();
        println!("{}", attempt_json(a));
    })
    .await
    .map_err(|e| UsageError(format!("--to: {e}")))?;
    let acknowledged = report.all_acknowledged();
    let summary = json!({
        "summary": {
            "kind": kind.id(),
            "id": notification.id(),
            "acknowledged": acknowledged,
            "copies_acknowledged": report.acknowledged,
            "copies": report.sequences,
            "attempts": report.attempts.len(),
            "probe_rejected": probe_rejected,
            "elapsed_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    });
    println!("{summary}");
    Ok(if acknowledged && probe_rejected != Some(false) {
        EXIT_OK
    } else {
        EXIT_REJECTED
    })
}
