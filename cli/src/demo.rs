//! `wechatpay-notify demo`: the whole story in one process on loopback. Makes test keys,
//! starts `serve`'s router on a ledger, and plays WeChat Pay against it: every kind of the
//! catalogue (APIv3 and APIv2) from its schema example, each delivered as concurrent duplicate
//! copies on its retry schedule (scaled down); a SIGNTEST probe; a tampered request; a handler
//! that fails once and heals on the retry. Progress goes to standard error; a table per kind
//! and a one-line verdict to standard output. Exit 0 only when every line is as expected.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wechatpay_notify::catalogue::{KindType, WireFormat};
use wechatpay_notify::dispatch::{Delivery, Unconfirmed};
use wechatpay_notify::error::HandlerError;
use wechatpay_notify::generated::kinds::V2RefundProcessed;
use wechatpay_notify::keys::{ApiV2Key, ApiV3Key, StorageKey};
use wechatpay_notify::service::ServiceConfig;
use wechatpay_notify::testkit::simulator::{self, DeliveryPlan, Schedule, Simulator};
use wechatpay_notify::{Dispatcher, Kind, Notification, Receiver, Service};

use crate::keys::TestKeys;
use crate::{EXIT_OK, EXIT_REJECTED, UsageError, ledger_url};

/// The kind whose handler fails on its first run, to show a retry healing it.
const FLAKY_KIND: &str = "REFUND.SUCCESS";

/// Flags of `demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The ledger `serve` runs on: sqlite:PATH, postgres://…, redis://… or memory (default: a
    /// fresh SQLite file in the temporary directory, removed afterwards).
    #[arg(long, value_name = "URL")]
    ledger: Option<String>,
    /// Copies of every notification sent at once (duplicates).
    #[arg(long, value_name = "K", default_value_t = 3)]
    copies: usize,
    /// Time scale of the retry schedules (0.01: 15 s becomes 150 ms).
    #[arg(long, value_name = "F", default_value_t = 0.01)]
    scale: f64,
}

/// What the handler saw, per kind id.
#[derive(Default)]
struct Seen {
    processed: BTreeMap<String, u32>,
    failed: BTreeMap<String, u32>,
}

struct Row {
    name: String,
    format: &'static str,
    delivered: String,
    attempts: usize,
    processed: String,
    rejected: &'static str,
    ok: bool,
}

pub fn run(args: &Args) -> u8 {
    crate::block_on(async {
        Ok(if demo(args).await? {
            EXIT_OK
        } else {
            EXIT_REJECTED
        })
    })
}

/// The dispatcher: every kind counted once processed; [`FLAKY_KIND`] fails its first run.
fn dispatcher(receiver: Receiver, seen: Arc<Mutex<Seen>>) -> Dispatcher {
    let flaky_failed = Arc::new(AtomicBool::new(false));
    let record = move |seen: &Arc<Mutex<Seen>>, kind: &str| -> Result<(), HandlerError> {
        let mut s = seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kind == FLAKY_KIND && !flaky_failed.swap(true, Ordering::SeqCst) {
            *s.failed.entry(kind.to_owned()).or_default() += 1;
            return Err(HandlerError::failed(
                "the demo's handler fails once, on purpose",
            ));
        }
        *s.processed.entry(kind.to_owned()).or_default() += 1;
        Ok(())
    };
    let record = Arc::new(record);
    let (seen2, record2) = (seen.clone(), record.clone());
    Dispatcher::new(receiver)
        .on_unconfirmed(move |_u: Unconfirmed<V2RefundProcessed>| {
            let r = record2(&seen2, V2RefundProcessed::ID);
            async move { r }
        })
        .fallback(move |d: Delivery<Notification>| {
            let r = record(&seen, d.resource.id().unwrap_or("-"));
            async move { r }
        })
}

async fn demo(args: &Args) -> Result<bool, UsageError> {
    let started = Instant::now();
    let progress = |msg: &str| eprintln!("[{:>5.1}s] {msg}", started.elapsed().as_secs_f64());
    progress("making test keys (RSA-2048, APIv3, APIv2, storage)");
    let keys = TestKeys::generate();
    let bad = |e: &dyn std::fmt::Display| UsageError(format!("test keys: {e}"));
    let v3 = ApiV3Key::from_text(&keys.api_v3_key).map_err(|e| bad(&e))?;
    let v2 = ApiV2Key::from_text(&keys.api_v2_key).map_err(|e| bad(&e))?;
    let keyring = keys.signer.keyring().map_err(|e| bad(&e))?;
    let receiver = Receiver::new(keyring, v3.clone()).with_api_v2_key(v2.clone());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let scratch = args.ledger.is_none().then(ScratchDb::new);
    let ledger_name = args
        .ledger
        .clone()
        .or_else(|| scratch.as_ref().map(ScratchDb::url))
        .unwrap_or_default();
    let ledger = ledger_url::open(&ledger_name).await?;
    let service = Service::new(dispatcher(receiver, seen.clone()), ledger)
        .with_storage_key(StorageKey::from_hex(&keys.storage_key).map_err(|e| bad(&e))?)
        .with_config(ServiceConfig::default().with_busy_wait(Duration::from_millis(500)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| UsageError(format!("loopback: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| UsageError(format!("loopback: {e}")))?;
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            crate::serve::router(crate::serve::App::new(service)),
        )
        .await
    });
    progress(&format!("serve listening on {addr}, ledger {ledger_name}"));
    let url = format!("http://{addr}/wechatpay/notify");
    let sim = Simulator::new(keys.signer.clone(), v3).with_api_v2_key(v2);
    let copies = args.copies.max(1);
    let mut rows = Vec::new();
    let total = Kind::ALL.len();
    for (i, &kind) in Kind::ALL.iter().enumerate() {
        let payload = crate::examples::example(kind).map_err(UsageError)?;
        let n = sim
            .notification(kind, payload)
            .map_err(|e| UsageError(e.to_string()))?;
        let plan = DeliveryPlan {
            schedule: Schedule::official(kind).scaled(args.scale),
            timeout: simulator::DEFAULT_TIMEOUT,
            copies,
            servers: 1,
        };
        let report = simulator::deliver(&url, &n, &plan, |_| {})
            .await
            .map_err(|e| UsageError(e.to_string()))?;
        let (processed, failed) = {
            let s = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (
                s.processed.get(kind.id()).copied().unwrap_or(0),
                s.failed.get(kind.id()).copied().unwrap_or(0),
            )
        };
        let healed = kind.id() == FLAKY_KIND;
        let ok = report.all_acknowledged()
            && processed == 1
            && if healed { failed == 1 } else { failed == 0 };
        progress(&format!(
            "[{}/{total}] {} — {}/{} copies acknowledged in {} attempts{}",
            i + 1,
            kind.id(),
            report.acknowledged,
            report.sequences,
            report.attempts.len(),
            if ok { "" } else { "  ← NOT AS EXPECTED" }
        ));
        rows.push(Row {
            name: kind.id().to_owned() + if healed { " (handler fails once)" } else { "" },
            format: kind.info().format.as_str(),
            delivered: format!("{}/{}", report.acknowledged, report.sequences),
            attempts: report.attempts.len(),
            processed: if healed {
                format!("{processed} (after {failed} failure)")
            } else {
                processed.to_string()
            },
            rejected: "-",
            ok,
        });
    }
    let processed_before = total_processed(&seen);

    progress("a WECHATPAY/SIGNTEST/ probe");
    let probe = simulator::send_once(&url, &sim.probe(), simulator::DEFAULT_TIMEOUT).await;
    rows.push(rejection_row(
        "SIGNTEST probe",
        probe.as_ref().ok().map(|r| r.status),
        &seen,
        processed_before,
    ));

    progress("a tampered request (a body byte changed after signing)");
    let n = sim
        .notification(
            Kind::RefundSuccess,
            crate::examples::example(Kind::RefundSuccess).map_err(UsageError)?,
        )
        .map_err(|e| UsageError(e.to_string()))?;
    let mut tampered = n.sign().map_err(|e| UsageError(e.to_string()))?;
    if let Some(b) = tampered.body.iter_mut().find(|b| b.is_ascii_digit()) {
        *b = if *b == b'9' { b'0' } else { *b + 1 };
    }
    let reply = simulator::send_once(&url, &tampered, simulator::DEFAULT_TIMEOUT).await;
    rows.push(rejection_row(
        "tampered request",
        reply.as_ref().ok().map(|r| r.status),
        &seen,
        processed_before,
    ));
    server.abort();

    print_table(&rows);
    let bad_rows = rows.iter().filter(|r| !r.ok).count();
    let kinds_v2 = Kind::ALL
        .iter()
        .filter(|k| k.info().format == WireFormat::V2Xml)
        .count();
    let secs = started.elapsed().as_secs_f64();
    if bad_rows == 0 {
        println!(
            "verdict: OK — {total} kinds ({} APIv3, {kinds_v2} APIv2) delivered with {copies} concurrent copies each and processed exactly once, a failing handler healed on retry, the probe and the tampered request rejected ({secs:.1} s, ledger {})",
            total - kinds_v2,
            ledger_name
        );
        Ok(true)
    } else {
        println!(
            "verdict: FAILED — {bad_rows} of {} lines not as expected ({secs:.1} s)",
            rows.len()
        );
        Ok(false)
    }
}

fn total_processed(seen: &Arc<Mutex<Seen>>) -> u32 {
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .processed
        .values()
        .sum()
}

/// A request that must be refused and must reach no handler.
fn rejection_row(name: &str, status: Option<u16>, seen: &Arc<Mutex<Seen>>, before: u32) -> Row {
    let rejected = status.is_some_and(|s| (400..600).contains(&s));
    let untouched = total_processed(seen) == before;
    Row {
        name: name.to_owned(),
        format: "v3-json",
        delivered: status.map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}")),
        attempts: 1,
        processed: if untouched {
            "0".into()
        } else {
            "PROCESSED".into()
        },
        rejected: if rejected { "yes" } else { "NO" },
        ok: rejected && untouched,
    }
}

fn print_table(rows: &[Row]) {
    let w = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<w$}  {:<7}  {:>9}  {:>8}  {:<22}  {:<8}  as expected",
        "kind", "format", "delivered", "attempts", "processed once", "rejected"
    );
    for r in rows {
        println!(
            "{:<w$}  {:<7}  {:>9}  {:>8}  {:<22}  {:<8}  {}",
            r.name,
            r.format,
            r.delivered,
            r.attempts,
            r.processed,
            r.rejected,
            if r.ok { "yes" } else { "NO" }
        );
    }
}

/// The default ledger of `demo`: a SQLite file of its own, removed when the demo ends.
struct ScratchDb(std::path::PathBuf);

impl ScratchDb {
    fn new() -> Self {
        ScratchDb(
            std::env::temp_dir().join(format!("wechatpay-notify-demo-{}.db", std::process::id())),
        )
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.0.display())
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}
