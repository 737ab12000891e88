//! The SQLite ledger: conformance and exactly-once on two handles to one file, a restart, the
//! transactional inbox, two processes on one file, unreadable data.
#![cfg(all(feature = "testkit", feature = "sqlite"))]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::TransactionBehavior;
use wechatpay_notify::catalogue::BusinessFact;
use wechatpay_notify::ledger::sqlite::{SqliteLedger, SqliteOptions, Synchronous};
use wechatpay_notify::ledger::{
    Claim, ClaimRequest, Completion, DeliveryKey, FactKey, Lease, Ledger, LedgerError, Status,
    StoredRequest, conformance, exactly_once,
};

/// A ledger file under the temp directory, unique to one test, removed (with its WAL and
/// shared-memory files) when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        TempDb(std::env::temp_dir().join(format!(
            "wechatpay-notify-{name}-{}-{nanos}-{}.db",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        )))
    }

    fn open(&self) -> Arc<SqliteLedger> {
        Arc::new(SqliteLedger::open(&self.0).expect("open the ledger file"))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for end in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{end}", self.0.display()));
        }
    }
}

fn ask(delivery: &str, fact: Option<FactKey>, ttl: Duration) -> ClaimRequest {
    ClaimRequest {
        delivery: DeliveryKey::v3(delivery),
        fact,
        kind: Some("REFUND.SUCCESS".into()),
        ttl,
    }
}

fn fact(name: &str) -> FactKey {
    FactKey::new(
        "REFUND.SUCCESS",
        &BusinessFact {
            merchant: Some("1900000109".into()),
            key: vec![name.into()],
            state: None,
        },
    )
}

fn stored(delivery: &str) -> StoredRequest {
    StoredRequest {
        delivery: DeliveryKey::v3(delivery),
        received_at: 1_700_000_000,
        format: "v3-json".into(),
        headers: vec![("wechatpay-nonce".into(), format!("nonce-{delivery}"))],
        body: format!("{{\"id\":\"{delivery}\"}}").into_bytes(),
    }
}

async fn leased(ledger: &dyn Ledger, ask: &ClaimRequest) -> Lease {
    match ledger.claim(ask).await.unwrap() {
        Claim::New(lease) => lease,
        other => panic!("{}: expected a new claim, got {other:?}", ask.delivery),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledger_conforms() {
    let db = TempDb::new("conforms");
    conformance::check_all(db.open(), db.open()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledger_processes_once() {
    let db = TempDb::new("once");
    exactly_once::check_all(db.open(), db.open()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledger_survives_a_restart_with_nothing_lost() {
    let db = TempDb::new("restart");
    let ledger = db.open();
    let long = Duration::from_secs(3600);
    let names = [
        "done",
        "failed",
        "quarantined",
        "in-progress",
        "received",
        "duplicate",
    ];
    for name in names {
        ledger.store_request(&stored(name)).await.unwrap();
    }
    let done = leased(&*ledger, &ask("done", Some(fact("restart")), long)).await;
    let reply = Some(r#"{"code":"SUCCESS"}"#.to_owned());
    ledger
        .complete(
            &done,
            &Completion::Done {
                reply: reply.clone(),
            },
        )
        .await
        .unwrap();
    for (name, completion) in [
        (
            "failed",
            Completion::Failed {
                reason: "no".into(),
            },
        ),
        (
            "quarantined",
            Completion::Quarantined {
                reason: "schema".into(),
            },
        ),
    ] {
        let lease = leased(&*ledger, &ask(name, None, long)).await;
        ledger.complete(&lease, &completion).await.unwrap();
    }
    let held = leased(&*ledger, &ask("in-progress", None, long)).await;
    let duplicate = ask("duplicate", Some(fact("restart")), long);
    assert!(matches!(
        ledger.claim(&duplicate).await.unwrap(),
        Claim::Done { .. }
    ));

    let mut before = HashMap::new();
    for name in names {
        let delivery = DeliveryKey::v3(name);
        let record = ledger.record(&delivery).await.unwrap().expect("recorded");
        let request = ledger.request(&delivery).await.unwrap().expect("stored");
        before.insert(name, (record, request));
    }
    drop(ledger);

    let ledger = db.open();
    for name in names {
        let delivery = DeliveryKey::v3(name);
        let record = ledger.record(&delivery).await.unwrap();
        let request = ledger.request(&delivery).await.unwrap();
        assert_eq!(record.as_ref(), Some(&before[name].0), "{name}: the record");
        assert_eq!(
            request.as_ref(),
            Some(&before[name].1),
            "{name}: the request"
        );
    }
    for (status, name) in [
        (Status::Done, "done"),
        (Status::Failed, "failed"),
        (Status::Quarantined, "quarantined"),
        (Status::InProgress, "in-progress"),
        (Status::Received, "received"),
    ] {
        assert_eq!(before[name].0.status, status, "{name}");
    }
    assert_eq!(before["duplicate"].0.status, Status::Done);
    for name in ["done", "duplicate"] {
        match ledger.claim(&ask(name, None, long)).await.unwrap() {
            Claim::Done { reply: got, .. } => {
                assert_eq!(got, reply, "{name}: the reply data survives");
            }
            other => panic!("{name} after a restart: {other:?}"),
        }
    }
    assert!(
        matches!(
            ledger.claim(&ask("in-progress", None, long)).await.unwrap(),
            Claim::Busy { .. }
        ),
        "the lease survives the restart"
    );
    ledger
        .complete(&held, &Completion::Done { reply: None })
        .await
        .expect("the lease from before the restart is still current");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_inbox_commits_with_done_or_not_at_all() {
    let db = TempDb::new("inbox");
    let (ledger, other) = (db.open(), db.open());
    let mut conn = ledger.connect().unwrap();
    conn.execute_batch("CREATE TABLE refunds (no TEXT PRIMARY KEY)")
        .unwrap();
    let refunded = |conn: &rusqlite::Connection, no: &str| -> bool {
        conn.query_row("SELECT count(*) FROM refunds WHERE no = ?1", [no], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
            == 1
    };

    // Committed together.
    let lease = leased(&*ledger, &ask("inbox-a", None, Duration::from_secs(30))).await;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO refunds VALUES ('R-a')", [])
        .unwrap();
    SqliteLedger::complete_in(&tx, &lease, &Completion::Done { reply: None }).unwrap();
    tx.commit().unwrap();
    assert!(refunded(&conn, "R-a"));
    let record = other.record(&lease.delivery).await.unwrap().unwrap();
    assert_eq!(record.status, Status::Done);
    ledger
        .complete(&lease, &Completion::Done { reply: None })
        .await
        .expect("the service's own completion afterwards is accepted");

    // A lease taken over: refused inside the merchant's transaction, both roll back.
    let short = ask("inbox-b", None, Duration::from_millis(200));
    let old = leased(&*ledger, &short).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let new = leased(&*other, &short).await;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO refunds VALUES ('R-b')", [])
        .unwrap();
    match SqliteLedger::complete_in(&tx, &old, &Completion::Done { reply: None }) {
        Err(LedgerError::Stale { token, .. }) => assert_eq!(token, old.token),
        other => panic!("a stale lease in the merchant's transaction: {other:?}"),
    }
    drop(tx); // the merchant rolls back
    assert!(!refunded(&conn, "R-b"), "the merchant's write rolled back");
    let record = other.record(&new.delivery).await.unwrap().unwrap();
    assert_eq!(record.status, Status::InProgress);
    assert_eq!(record.token, new.token);

    // The merchant rolling back undoes "done" too.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO refunds VALUES ('R-b')", [])
        .unwrap();
    SqliteLedger::complete_in(&tx, &new, &Completion::Done { reply: None }).unwrap();
    tx.rollback().unwrap();
    let record = other.record(&new.delivery).await.unwrap().unwrap();
    assert_eq!(
        record.status,
        Status::InProgress,
        "done rolled back with it"
    );
    assert!(!refunded(&conn, "R-b"));
    other
        .complete(&new, &Completion::Done { reply: None })
        .await
        .expect("the lease is still current");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_url_names_the_file_and_its_settings() {
    let db = TempDb::new("url");
    let url = format!(
        "sqlite:{}?synchronous=normal&busy_timeout_ms=1500",
        db.0.display()
    );
    let by_url = SqliteLedger::open_url(&url).unwrap();
    assert_eq!(by_url.options().synchronous, Synchronous::Normal);
    assert_eq!(by_url.options().busy_timeout, Duration::from_millis(1500));
    by_url.store_request(&stored("by-url")).await.unwrap();
    let by_path = db.open();
    assert!(
        by_path
            .request(&DeliveryKey::v3("by-url"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        SqliteLedger::open_url("redis://127.0.0.1"),
        Err(LedgerError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_data_is_corrupt_not_a_panic() {
    let db = TempDb::new("corrupt");
    let ledger = db.open();
    ledger.store_request(&stored("odd-status")).await.unwrap();
    ledger.store_request(&stored("odd-token")).await.unwrap();
    ledger.store_request(&stored("odd-headers")).await.unwrap();
    let conn = ledger.connect().unwrap();
    conn.execute_batch(
        "UPDATE wechatpay_notify_deliveries SET status = 'archived' WHERE delivery = 'v3:odd-status';
         UPDATE wechatpay_notify_deliveries SET token = -1 WHERE delivery = 'v3:odd-token';
         UPDATE wechatpay_notify_requests SET headers = 'not json' WHERE delivery = 'v3:odd-headers';",
    )
    .unwrap();
    let corrupt = |r: Result<_, LedgerError>, what: &str| match r {
        Err(LedgerError::Corrupt(_)) => {}
        other => panic!("{what}: expected corrupt, got {other:?}"),
    };
    corrupt(
        ledger
            .record(&DeliveryKey::v3("odd-status"))
            .await
            .map(drop),
        "unknown status",
    );
    corrupt(
        ledger
            .claim(&ask("odd-status", None, Duration::from_secs(30)))
            .await
            .map(drop),
        "claim of an unknown status",
    );
    corrupt(
        ledger.record(&DeliveryKey::v3("odd-token")).await.map(drop),
        "negative token",
    );
    corrupt(
        ledger
            .request(&DeliveryKey::v3("odd-headers"))
            .await
            .map(drop),
        "headers not JSON",
    );
    // The failing claim undid its own writes only; the ledger goes on.
    let lease = leased(&*ledger, &ask("fine", None, Duration::from_secs(30))).await;
    ledger
        .complete(&lease, &Completion::Done { reply: None })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_copied_into_the_file_while_the_ledger_is_open() {
    let db = TempDb::new("checkpoint");
    let ledger = db.open();
    let size = || std::fs::metadata(&db.0).map(|m| m.len()).unwrap_or(0);
    let empty = size();
    for n in 0..300 {
        ledger
            .store_request(&stored(&format!("ckpt-{n}")))
            .await
            .unwrap();
    }
    // No commit stops to checkpoint: the checkpointer thread does it once the writes pause.
    let deadline = Instant::now() + Duration::from_secs(30);
    while size() <= empty {
        assert!(
            Instant::now() < deadline,
            "the file never grew past {empty} bytes: nothing was checkpointed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        ledger
            .request(&DeliveryKey::v3("ckpt-299"))
            .await
            .unwrap()
            .is_some(),
        "what was checkpointed is still read back"
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let db = TempDb::new("newer");
    drop(db.open());
    let conn = rusqlite::Connection::open(&db.0).unwrap();
    conn.execute(
        "UPDATE wechatpay_notify_schema SET version = version + 1",
        [],
    )
    .unwrap();
    drop(conn);
    match SqliteLedger::open(&db.0) {
        Err(LedgerError::Corrupt(why)) => assert!(why.contains("newer"), "{why}"),
        other => panic!("a file from a newer version: {other:?}"),
    }
}

/// Set in the second process of [`two_processes_share_one_file`]: the ledger file.
const SECOND_PROCESS: &str = "WECHATPAY_NOTIFY_TEST_SQLITE_FILE";
/// How many facts the two processes race for.
const FACTS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_file() {
    let db = TempDb::new("processes");
    let ledger = open_for_race(&db.0);
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "second_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SECOND_PROCESS, &db.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the second process");
    let mine = race(ledger.clone(), "first", "second").await;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("raced"),
        "the second process failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // The harness starts its `test … ` line before the test prints: the list follows a
    // marker rather than starting a line.
    let theirs = stdout
        .split_once("won:")
        .and_then(|(_, rest)| rest.lines().next())
        .unwrap_or_default()
        .split(',')
        .filter_map(|n| n.trim().parse::<usize>().ok());
    let mut wins = vec![0; FACTS];
    for n in mine.into_iter().chain(theirs) {
        wins[n] += 1;
    }
    assert!(
        wins.iter().all(|&w| w == 1),
        "each fact processed once across the two processes: {wins:?}"
    );
    for n in 0..FACTS {
        for name in [
            format!("EV-{n}"),
            format!("EV-{n}-first"),
            format!("EV-{n}-second"),
        ] {
            let record = ledger
                .record(&DeliveryKey::v3(&name))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(record.status, Status::Done, "{name}");
        }
    }
}

/// The second process of [`two_processes_share_one_file`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the second process of two_processes_share_one_file, which starts it"]
async fn second_process() {
    let Some(path) = std::env::var_os(SECOND_PROCESS) else {
        eprintln!("SKIPPED: run by two_processes_share_one_file ({SECOND_PROCESS} unset)");
        return;
    };
    let ledger = open_for_race(std::path::Path::new(&path));
    let won = race(ledger, "second", "first").await;
    let list: Vec<String> = won.iter().map(usize::to_string).collect();
    println!("\nwon: {}\nraced", list.join(","));
}

/// Small group commits, so that the two processes' transactions interleave.
fn open_for_race(path: &std::path::Path) -> Arc<SqliteLedger> {
    let options = SqliteOptions::default().with_max_batch(4);
    Arc::new(SqliteLedger::open_with(path, options).unwrap())
}

/// Once the other process is ready, claims every fact under a delivery both processes
/// share and one of its own, at once; completes what it wins. Returns the facts it won.
async fn race(ledger: Arc<SqliteLedger>, me: &str, other: &str) -> Vec<usize> {
    ledger
        .store_request(&stored(&format!("ready-{me}")))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger
        .record(&DeliveryKey::v3(&format!("ready-{other}")))
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the {other} process never got ready"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut tasks = Vec::new();
    for n in 0..FACTS {
        for name in [format!("EV-{n}"), format!("EV-{n}-{me}")] {
            let (ledger, me) = (ledger.clone(), me.to_owned());
            let ask = ask(
                &name,
                Some(fact(&format!("race-{n}"))),
                Duration::from_secs(30),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    match ledger.claim(&ask).await.unwrap() {
                        Claim::New(lease) => {
                            let reply = Some(format!("\"{me}\""));
                            ledger
                                .complete(&lease, &Completion::Done { reply })
                                .await
                                .unwrap();
                            return Some(n);
                        }
                        Claim::Done { .. } => return None,
                        Claim::Busy { .. } => {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                }
            }));
        }
    }
    let mut won = Vec::new();
    for task in tasks {
        won.extend(task.await.unwrap());
    }
    won
}

/// Notifications (claim+complete, or store+claim+complete) per second with 64 concurrent
/// tasks on distinct deliveries, and the latency of store+claim+complete when 5,000
/// notifications a second arrive on a clock, for each durability setting. A measurement,
/// not a test:
/// `cargo test --release -p wechatpay-notify --features testkit,sqlite --test ledger_sqlite -- --ignored sqlite_throughput --nocapture`
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, run by hand in a release build"]
async fn sqlite_throughput() {
    const TASKS: usize = 64;
    const EACH: usize = 400;
    const RATE: usize = 5_000;
    const SECONDS: usize = 4;
    for synchronous in [Synchronous::Normal, Synchronous::Full] {
        let db = TempDb::new("throughput");
        let options = SqliteOptions::default().with_synchronous(synchronous);
        let ledger = Arc::new(SqliteLedger::open_with(&db.0, options).unwrap());
        // Notification ids grow with time, as WeChat Pay's do (`EV-2018022511223320873`).
        let ids = Arc::new(AtomicUsize::new(0));
        for store in [false, true] {
            let start = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (ledger, ids) = (ledger.clone(), ids.clone());
                    tokio::spawn(async move {
                        let mut latencies = Vec::with_capacity(EACH);
                        for _ in 0..EACH {
                            let id = ids.fetch_add(1, Ordering::Relaxed);
                            latencies.push(notification(&ledger, id, store).await);
                        }
                        latencies
                    })
                })
                .collect();
            let mut latencies = Vec::new();
            for task in tasks {
                latencies.extend(task.await.unwrap());
            }
            let what = if store {
                "store+claim+complete"
            } else {
                "claim+complete"
            };
            report(synchronous, what, start.elapsed(), latencies);
        }
        let (start, cpu) = (Instant::now(), cpu_time());
        let mut ticks = tokio::time::interval(Duration::from_millis(1));
        let mut tasks = Vec::with_capacity(RATE * SECONDS);
        for _ in 0..SECONDS * 1000 {
            ticks.tick().await;
            for _ in 0..RATE / 1000 {
                let (ledger, id) = (ledger.clone(), ids.fetch_add(1, Ordering::Relaxed));
                tasks.push(tokio::spawn(async move {
                    notification(&ledger, id, true).await
                }));
            }
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.push(task.await.unwrap());
        }
        report(
            synchronous,
            "at 5,000/s, store+claim+complete",
            start.elapsed(),
            latencies,
        );
        if let (Some(before), Some(after)) = (cpu, cpu_time()) {
            println!(
                "synchronous={:<6} process CPU time: {:.0} µs per notification (store+claim+complete)",
                synchronous.as_str(),
                (after - before).as_secs_f64() * 1e6 / (RATE * SECONDS) as f64
            );
        }
    }
}

/// One notification's ledger work; how long it took.
async fn notification(ledger: &SqliteLedger, id: usize, store: bool) -> Duration {
    let name = format!("EV-20260101000000{id:08}");
    let began = Instant::now();
    if store {
        ledger.store_request(&stored(&name)).await.unwrap();
    }
    let lease = leased(
        ledger,
        &ask(&name, Some(fact(&name)), Duration::from_secs(30)),
    )
    .await;
    ledger
        .complete(&lease, &Completion::Done { reply: None })
        .await
        .unwrap();
    began.elapsed()
}

fn report(synchronous: Synchronous, what: &str, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "synchronous={:<6} {what:<34} {:>6.0} notifications/s, latency p50 {:>5.1} ms p99 {:>5.1} ms",
        synchronous.as_str(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
}

/// This process's CPU time (user and system, every thread), where `/proc` tells it.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command name in parentheses: state, then 10 fields, then utime and stime.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10)) // USER_HZ is 100 on Linux
}
