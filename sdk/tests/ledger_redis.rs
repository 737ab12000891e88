//! The Redis ledger, against the server `WECHATPAY_NOTIFY_TEST_REDIS` names; every test under a
//! key prefix of its own, deleted afterwards.
#![cfg(all(feature = "testkit", feature = "redis"))]

use std::sync::Arc;
use std::time::{Duration, Instant};

use wechatpay_notify::ledger::redis::{RedisConfig, RedisLedger};
use wechatpay_notify::ledger::{
    Claim, ClaimRequest, Completion, DeliveryKey, Ledger, LedgerError, Status, conformance,
    exactly_once,
};

const SERVER: &str = "WECHATPAY_NOTIFY_TEST_REDIS";

/// The server's URL; `None` (the test skipped, and says so) when unset, unless
/// `WECHATPAY_NOTIFY_REQUIRE_SERVICES=1`.
fn server() -> Option<String> {
    match std::env::var(SERVER) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("WECHATPAY_NOTIFY_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!("{SERVER} is not set, and WECHATPAY_NOTIFY_REQUIRE_SERVICES=1")
        }
        _ => {
            eprintln!(
                "SKIPPED: {SERVER} is not set (e.g. redis://127.0.0.1:6379): \
                 the Redis ledger was not tested"
            );
            None
        }
    }
}

/// A key prefix of this test's own on the server; every key under it is deleted when this
/// is dropped, also when the test panics.
struct Scratch {
    url: String,
    prefix: String,
}

impl Scratch {
    fn new() -> Option<Self> {
        let url = server()?;
        let id: [u8; 8] = wechatpay_notify::crypto::random_bytes();
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        Some(Scratch {
            url,
            prefix: format!("{{wechatpay-notify-test-{id}}}:"),
        })
    }

    /// A new ledger (its own connection) on this prefix: another instance of a service.
    fn ledger(&self) -> Arc<RedisLedger> {
        let config = RedisConfig::default().with_prefix(self.prefix.clone());
        Arc::new(RedisLedger::with_config(&self.url, config).expect("a Redis URL"))
    }

    fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url.as_str())
            .and_then(|c| c.get_connection())
            .expect("the test Redis server")
    }

    /// Every key under the prefix.
    fn keys(&self, connection: &mut redis::Connection) -> Vec<String> {
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut cursor = 0u64;
        let mut keys = Vec::new();
        loop {
            let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query(connection)
                .expect("SCAN");
            keys.extend(found);
            if next == 0 {
                return keys;
            }
            cursor = next;
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let mut connection = self.connection();
        let keys = self.keys(&mut connection);
        for chunk in keys.chunks(500) {
            let _: () = redis::cmd("DEL")
                .arg(chunk)
                .query(&mut connection)
                .expect("DEL");
        }
    }
}

fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A port on this machine where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn short_timeouts() -> RedisConfig {
    RedisConfig::default()
        .with_connect_timeout(Duration::from_millis(300))
        .with_response_timeout(Duration::from_millis(300))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_ledger_conforms() {
    let Some(scratch) = Scratch::new() else {
        return;
    };
    conformance::check_all(scratch.ledger(), scratch.ledger()).await;

    let mut connection = scratch.connection();
    assert!(
        !scratch.keys(&mut connection).is_empty(),
        "the suite's keys are under the test's prefix"
    );
    let prefix = scratch.prefix.clone();
    let probe = Scratch {
        url: scratch.url.clone(),
        prefix: prefix.clone(),
    };
    drop(scratch);
    assert!(
        probe.keys(&mut connection).is_empty(),
        "every key under {prefix} deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_ledger_processes_once() {
    let Some(scratch) = Scratch::new() else {
        return;
    };
    exactly_once::check_all(scratch.ledger(), scratch.ledger()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503() {
    let url = format!("redis://127.0.0.1:{}/", closed_port());
    let ledger =
        RedisLedger::with_config(&url, short_timeouts()).expect("created without connecting");
    assert!(matches!(
        ledger.ping().await,
        Err(LedgerError::Unavailable(_))
    ));
    exactly_once::check_unreachable(Arc::new(ledger)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_that_never_answers_answers_503() {
    // Accepts connections (the kernel's backlog) and never reads or writes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("redis://{}/", silent.local_addr().expect("its address"));
    let ledger = RedisLedger::with_config(&url, short_timeouts()).expect("a Redis URL");
    exactly_once::check_unreachable(Arc::new(ledger)).await;
    drop(silent);
}

/// A loopback port that forwards to the test server while up: an outage to cut and mend.
struct Link {
    port: u16,
    server: String,
    up: Option<tokio::task::JoinHandle<()>>,
}

impl Link {
    /// Down, to begin with.
    fn down(url: &str) -> Self {
        let server = redis::Client::open(url)
            .expect("a Redis URL")
            .get_connection_info()
            .addr()
            .to_string();
        Link {
            port: closed_port(),
            server,
            up: None,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Listens again, forwarding every connection to the server.
    async fn mend(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("the link's port");
        let server = self.server.clone();
        self.up = Some(tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let server = server.clone();
                links.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(server).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    /// Stops listening and drops every forwarded connection.
    async fn cut(&mut self) {
        if let Some(up) = self.up.take() {
            up.abort();
            let _ = up.await;
        }
    }
}

/// Calls `op` until it stops failing with `Unavailable` (at most 20 times, 100 ms apart):
/// the connection manager reconnects on the calls after a failure.
async fn once_reconnected<T, F>(mut op: impl FnMut() -> F) -> Result<T, LedgerError>
where
    F: std::future::Future<Output = Result<T, LedgerError>>,
{
    let mut result = op().await;
    for _ in 0..20 {
        if !matches!(result, Err(LedgerError::Unavailable(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        result = op().await;
    }
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_ledger_rides_out_an_outage() {
    let Some(scratch) = Scratch::new() else {
        return;
    };
    let mut link = Link::down(&scratch.url);
    let config = short_timeouts().with_prefix(scratch.prefix.clone());
    let ledger =
        RedisLedger::with_config(&link.url(), config).expect("created while Redis is unreachable");
    let ask = ClaimRequest {
        delivery: DeliveryKey::v3("EV-outage"),
        fact: None,
        kind: None,
        ttl: Duration::from_secs(30),
    };
    let result = ledger.claim(&ask).await;
    assert!(
        matches!(result, Err(LedgerError::Unavailable(_))),
        "claim while Redis was never reached: {result:?}"
    );

    link.mend().await;
    let lease = match once_reconnected(|| ledger.claim(&ask)).await {
        Ok(Claim::New(lease)) => lease,
        other => panic!("claim once Redis is reachable: {other:?}"),
    };

    link.cut().await;
    let result = ledger
        .complete(&lease, &Completion::Done { reply: None })
        .await;
    assert!(
        matches!(result, Err(LedgerError::Unavailable(_))),
        "completion during an outage: {result:?}"
    );

    link.mend().await;
    once_reconnected(|| ledger.complete(&lease, &Completion::Done { reply: None }))
        .await
        .expect("completion after the outage");
    let record = ledger
        .record(&ask.delivery)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(record.status, Status::Done);
    assert_eq!(record.attempts, 1);
    link.cut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_data_is_corrupt() {
    let Some(scratch) = Scratch::new() else {
        return;
    };
    let ledger = scratch.ledger();
    let mut connection = scratch.connection();
    let ask = |id: &str| ClaimRequest {
        delivery: DeliveryKey::v3(id),
        fact: None,
        kind: None,
        ttl: Duration::from_secs(30),
    };

    let bad_status = ask("EV-bad-status");
    let _: () = redis::cmd("HSET")
        .arg(format!("{}d:{}", scratch.prefix, bad_status.delivery))
        .arg(&[
            "status",
            "lost",
            "token",
            "1",
            "attempts",
            "1",
            "updated_at",
            "1",
        ])
        .query(&mut connection)
        .expect("HSET");
    for result in [
        ledger.claim(&bad_status).await.map(drop),
        ledger.record(&bad_status.delivery).await.map(drop),
    ] {
        assert!(
            matches!(result, Err(LedgerError::Corrupt(_))),
            "an unknown status: {result:?}"
        );
    }

    let wrong_type = ask("EV-wrong-type");
    let _: () = redis::cmd("SET")
        .arg(format!("{}d:{}", scratch.prefix, wrong_type.delivery))
        .arg("not a hash")
        .query(&mut connection)
        .expect("SET");
    let result = ledger.claim(&wrong_type).await;
    assert!(
        matches!(result, Err(LedgerError::Corrupt(_))),
        "a record that is not a hash: {result:?}"
    );
    let listed = ledger.list(Status::Received, 10).await;
    assert!(listed.is_ok(), "other records still list: {listed:?}");
}

/// Claims and completions per second, 64 tasks on distinct deliveries. Run by hand:
/// `cargo test --release -p wechatpay-notify --features testkit,redis --test ledger_redis --
/// --ignored --nocapture redis_ledger_throughput`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
async fn redis_ledger_throughput() {
    const TASKS: usize = 64;
    const EACH: usize = 500;
    let Some(scratch) = Scratch::new() else {
        return;
    };
    let ledger = scratch.ledger();
    ledger.ping().await.expect("the test server answers");
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                for n in 0..EACH {
                    let ask = ClaimRequest {
                        delivery: DeliveryKey::v3(&format!("EV-bench-{t}-{n}")),
                        fact: None,
                        kind: Some("REFUND.SUCCESS".into()),
                        ttl: Duration::from_secs(30),
                    };
                    let Claim::New(lease) = ledger.claim(&ask).await.expect("claim") else {
                        panic!("a fresh delivery was not new")
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
    let elapsed = start.elapsed();
    let pairs = (TASKS * EACH) as f64;
    eprintln!(
        "redis ledger: {TASKS} tasks, {} claim+complete pairs in {elapsed:.2?}: \
         {:.0} pairs/s ({:.0} ledger calls/s)",
        TASKS * EACH,
        pairs / elapsed.as_secs_f64(),
        2.0 * pairs / elapsed.as_secs_f64()
    );
}
