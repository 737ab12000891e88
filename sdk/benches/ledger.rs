//! Claims and completions per second, per ledger backend, with 64 in flight at once (as
//! `serve` has under load). `cargo bench -p wechatpay-notify --all-features --bench ledger`;
//! PostgreSQL and Redis run when `WECHATPAY_NOTIFY_TEST_PG` / `WECHATPAY_NOTIFY_TEST_REDIS`
//! name servers, each in a schema or key prefix of its own, removed afterwards.
//!
//! Criterion's time per element is the wall time of one claim + complete divided by the
//! concurrency: its reciprocal (the "thrpt" line) is the backend's throughput.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wechatpay_notify::ledger::memory::MemoryLedger;
use wechatpay_notify::ledger::postgres::PgLedger;
use wechatpay_notify::ledger::postgres::tokio_postgres;
use wechatpay_notify::ledger::redis::{RedisConfig, RedisLedger};
use wechatpay_notify::ledger::sqlite::{SqliteLedger, SqliteOptions, Synchronous};
use wechatpay_notify::ledger::{Claim, ClaimRequest, Completion, DeliveryKey, Ledger};

const IN_FLIGHT: u64 = 64;

/// Runs `iters` claim + complete pairs on fresh keys, `IN_FLIGHT` at a time.
fn run(
    rt: &tokio::runtime::Runtime,
    ledger: &Arc<dyn Ledger>,
    counter: &Arc<AtomicU64>,
    iters: u64,
) -> Duration {
    rt.block_on(async {
        let started = Instant::now();
        let tasks: Vec<_> = (0..IN_FLIGHT)
            .map(|t| {
                let (ledger, counter) = (ledger.clone(), counter.clone());
                let share = iters / IN_FLIGHT + u64::from(t < iters % IN_FLIGHT);
                tokio::spawn(async move {
                    for _ in 0..share {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let ask = ClaimRequest {
                            delivery: DeliveryKey::v3(&format!("BENCH-{}-{n}", std::process::id())),
                            fact: None,
                            kind: Some("REFUND.SUCCESS".into()),
                            ttl: Duration::from_secs(30),
                        };
                        let Claim::New(lease) = ledger.claim(&ask).await.expect("claim") else {
                            panic!("fresh key not new")
                        };
                        ledger
                            .complete(&lease, &Completion::Done { reply: None })
                            .await
                            .expect("complete");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        started.elapsed()
    })
}

fn bench_backend(c: &mut Criterion, name: &str, ledger: Arc<dyn Ledger>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group("ledger");
    group.throughput(Throughput::Elements(1));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.bench_function(format!("{name}/claim+complete"), |b| {
        b.iter_custom(|iters| run(&rt, &ledger, &counter, iters));
    });
    group.finish();
}

fn ledgers(c: &mut Criterion) {
    bench_backend(c, "memory", Arc::new(MemoryLedger::new()));
    let dir = std::env::temp_dir().join(format!("wechatpay-notify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for sync in [Synchronous::Full, Synchronous::Normal] {
        let path = dir.join(format!("ledger-{sync:?}.db"));
        let ledger =
            SqliteLedger::open_with(&path, SqliteOptions::default().with_synchronous(sync))
                .expect("sqlite ledger");
        bench_backend(
            c,
            &format!("sqlite-{sync:?}").to_lowercase(),
            Arc::new(ledger),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    match std::env::var("WECHATPAY_NOTIFY_TEST_PG") {
        Ok(url) => {
            let schema = format!("wechatpay_notify_bench_{}", std::process::id());
            bench_backend(
                c,
                "postgres",
                Arc::new(PgLedger::new(&url, &schema).expect("postgres ledger")),
            );
            pg_cleanup(&url, &schema);
        }
        Err(_) => eprintln!("SKIPPED: ledger/postgres (WECHATPAY_NOTIFY_TEST_PG unset)"),
    }
    match std::env::var("WECHATPAY_NOTIFY_TEST_REDIS") {
        Ok(url) => {
            let prefix = format!("{{wechatpay-notify-bench-{}}}:", std::process::id());
            let ledger = {
                // The connection manager needs a runtime to be created in.
                let rt = tokio::runtime::Runtime::new().unwrap();
                let _guard = rt.enter();
                RedisLedger::with_config(&url, RedisConfig::default().with_prefix(&prefix))
                    .expect("redis ledger")
            };
            bench_backend(c, "redis", Arc::new(ledger));
            redis_cleanup(&url, &prefix);
        }
        Err(_) => eprintln!("SKIPPED: ledger/redis (WECHATPAY_NOTIFY_TEST_REDIS unset)"),
    }
}

/// Drops the bench's schema.
fn pg_cleanup(url: &str, schema: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("postgres");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .expect("drop schema");
    });
}

/// Deletes every key of the bench's prefix.
fn redis_cleanup(url: &str, prefix: &str) {
    let client = redis::Client::open(url).expect("redis url");
    let mut con = client.get_connection().expect("redis connection");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut con)
        .unwrap_or_default();
    for chunk in keys.chunks(1000) {
        let _: () = redis::cmd("DEL").arg(chunk).query(&mut con).unwrap_or(());
    }
}

criterion_group!(benches, ledgers);
criterion_main!(benches);
