//! The writer thread and its group commit. One thread owns the connection that writes; the
//! async side queues operations to it through a channel. The thread takes every operation
//! queued (up to `max_batch`) into one `BEGIN IMMEDIATE` transaction, runs them in order (each
//! sees the effects of those before it), commits once (one `fsync` for all of them), and only
//! then answers each through its oneshot channel: an answer is never sent for something not
//! committed.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::checkpoint::{self, Checkpointer};
use super::ops::db_error;
use crate::ledger::{LedgerError, unix_millis};

/// Why a whole batch failed, shared by every operation in it.
type BatchError = Arc<dyn std::error::Error + Send + Sync>;

/// The handle on the writer thread. Dropping it lets the thread finish what is queued, then
/// waits for it to close the connection.
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread that owns `conn`: batches of at most `max_batch` operations, waiting
    /// up to `patience` for another connection's write lock, nudging `checkpointer` after its
    /// commits.
    pub(super) fn spawn(
        conn: Connection,
        checkpointer: Checkpointer,
        max_batch: usize,
        patience: Duration,
    ) -> Result<Writer, LedgerError> {
        let max_batch = max_batch.max(1);
        let (jobs, queue) = mpsc::channel(max_batch.saturating_mul(2));
        let thread = std::thread::Builder::new()
            .name("wechatpay-notify-sqlite-writer".into())
            .spawn(move || {
                run(&conn, &checkpointer, queue, max_batch, patience);
                drop(checkpointer); // stops the checkpointer before the writer's connection closes
            })
            .map_err(LedgerError::unavailable)?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `op` in the writer's next batch, with the time (Unix ms) it runs at, and answers
    /// once the batch committed.
    pub(super) async fn call<T, F>(&self, op: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, i64) -> Result<T, LedgerError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send(Box::new(Pending { op, reply }))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs = None; // closes the channel: the thread ends once the queue is empty
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn stopped() -> LedgerError {
    LedgerError::unavailable("the SQLite ledger's writer thread has stopped")
}

/// The thread's loop: a batch of whatever is queued, until every sender is gone.
fn run(
    conn: &Connection,
    checkpointer: &Checkpointer,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    patience: Duration,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = queue.blocking_recv() {
        if checkpointer.take_restart()
            && let Err(e) = checkpoint::checkpoint(conn, "RESTART")
        {
            tracing::warn!(error = %e, "sqlite ledger: the WAL could not be rewound");
        }
        batch.push(first);
        while batch.len() < max_batch
            && let Ok(job) = queue.try_recv()
        {
            batch.push(job);
        }
        if commit_batch(conn, batch.drain(..), patience) {
            checkpointer.nudge();
        }
    }
}

/// Runs `batch` in one transaction and answers every operation in it; whether it committed.
pub(super) fn commit_batch(
    conn: &Connection,
    batch: impl IntoIterator<Item = Box<dyn Job>>,
    patience: Duration,
) -> bool {
    let mut batch = batch.into_iter();
    if let Err(e) = begin(conn, patience) {
        let why: BatchError = Arc::new(e);
        batch.for_each(|job| job.refuse(&why));
        return false;
    }
    let mut answers = Vec::with_capacity(batch.size_hint().0);
    let mut rolled_back = false;
    for job in batch.by_ref() {
        answers.push(job.run(conn));
        // A failure such as a full disk makes SQLite roll the whole transaction back: what
        // ran before it is gone, and what follows must not run outside a transaction.
        if conn.is_autocommit() {
            rolled_back = true;
            break;
        }
    }
    let ended: Result<(), BatchError> = if rolled_back {
        Err(Arc::new(RolledBack))
    } else {
        execute(conn, "COMMIT").map_err(|e| Arc::new(e) as BatchError)
    };
    if let Err(why) = &ended {
        if !conn.is_autocommit() {
            let _ = execute(conn, "ROLLBACK");
        }
        batch.for_each(|job| job.refuse(why));
    }
    for answer in answers {
        answer.send(ended.as_ref().map(|_| ()));
    }
    ended.is_ok()
}

/// Begins the batch's transaction, waiting up to `patience` for the write lock.
///
/// It waits by itself rather than through SQLite's busy handler, whose sleeps grow to 100 ms:
/// while another process commits batch after batch, its write lock is free only for
/// microseconds between two transactions, and a waiter that looks ten times a second almost
/// never finds it free. Asking again every millisecond or less shares the file fairly enough.
fn begin(conn: &Connection, patience: Duration) -> rusqlite::Result<()> {
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_micros(50);
    conn.busy_timeout(Duration::ZERO)?;
    let begun = loop {
        match execute(conn, "BEGIN IMMEDIATE") {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(1));
            }
            begun => break begun,
        }
    };
    // Inside the transaction, statements wait as any connection does (a WAL recovery).
    conn.busy_timeout(patience)?;
    begun
}

/// The batch's transaction was rolled back under it.
#[derive(Debug, thiserror::Error)]
#[error("the transaction was rolled back by an earlier operation's failure")]
struct RolledBack;

fn execute(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Runs `op` in a savepoint: if it fails, its own writes are undone and the batch goes on.
fn in_savepoint<T>(
    conn: &Connection,
    op: impl FnOnce(&Connection) -> Result<T, LedgerError>,
) -> Result<T, LedgerError> {
    execute(conn, "SAVEPOINT ledger_op").map_err(db_error)?;
    let result = op(conn);
    let end = if result.is_ok() {
        execute(conn, "RELEASE ledger_op")
    } else {
        execute(conn, "ROLLBACK TO ledger_op").and_then(|()| execute(conn, "RELEASE ledger_op"))
    };
    match (result, end) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(e)) => Err(db_error(e)),
        (Err(e), _) => Err(e),
    }
}

/// One queued operation.
pub(super) trait Job: Send {
    /// Runs it in the batch's transaction; the answer waits for the batch to end.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Answer>;
    /// Answers it without running it: the batch failed.
    fn refuse(self: Box<Self>, why: &BatchError);
}

/// The result of an operation that ran, waiting for its batch to end.
pub(super) trait Answer: Send {
    /// Sends it: as it ran if the batch committed, else the batch's failure.
    fn send(self: Box<Self>, batch: Result<(), &BatchError>);
}

/// An operation and where its answer goes.
pub(super) struct Pending<F, T> {
    pub(super) op: F,
    pub(super) reply: oneshot::Sender<Result<T, LedgerError>>,
}

struct Ran<T> {
    result: Result<T, LedgerError>,
    reply: oneshot::Sender<Result<T, LedgerError>>,
}

impl<F, T> Job for Pending<F, T>
where
    T: Send + 'static,
    F: FnOnce(&Connection, i64) -> Result<T, LedgerError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Answer> {
        let Pending { op, reply } = *self;
        let result = in_savepoint(conn, |conn| op(conn, unix_millis()));
        Box::new(Ran { result, reply })
    }

    fn refuse(self: Box<Self>, why: &BatchError) {
        // The caller may have gone (its future dropped): nobody to answer.
        let _ = self
            .reply
            .send(Err(LedgerError::Unavailable(Box::new(why.clone()))));
    }
}

impl<T: Send> Answer for Ran<T> {
    fn send(self: Box<Self>, batch: Result<(), &BatchError>) {
        let result = match batch {
            Ok(()) => self.result,
            Err(why) => Err(LedgerError::Unavailable(Box::new(why.clone()))),
        };
        let _ = self.reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::ledger::sqlite::{SqliteOptions, ops, schema};
    use crate::ledger::{Claim, ClaimRequest, Completion, DeliveryKey, Status};

    /// A ledger file of one test, removed with its WAL afterwards.
    struct File(PathBuf);

    impl File {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "wechatpay-notify-writer-{name}-{}.db",
                std::process::id()
            ));
            let file = File(path);
            file.remove();
            file
        }

        fn connect(&self, options: &SqliteOptions) -> Connection {
            let mut conn = schema::connect(&self.0, options).unwrap();
            schema::migrate(&mut conn).unwrap();
            conn
        }

        fn remove(&self) {
            for end in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{end}", self.0.display()));
            }
        }
    }

    impl Drop for File {
        fn drop(&mut self) {
            self.remove();
        }
    }

    const PATIENCE: Duration = Duration::from_secs(5);

    type Reply<T> = oneshot::Receiver<Result<T, LedgerError>>;

    fn job<T, F>(op: F) -> (Box<dyn Job>, Reply<T>)
    where
        T: Send + 'static,
        F: FnOnce(&Connection, i64) -> Result<T, LedgerError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        (Box::new(Pending { op, reply }), answer)
    }

    fn claim_job(delivery: &str) -> (Box<dyn Job>, Reply<Claim>) {
        let ask = ClaimRequest {
            delivery: DeliveryKey::v3(delivery),
            fact: None,
            kind: None,
            ttl: Duration::from_secs(30),
        };
        job(move |conn, now| ops::claim(conn, &ask, now))
    }

    fn status(conn: &Connection, delivery: &str) -> Option<Status> {
        ops::record(conn, &DeliveryKey::v3(delivery))
            .unwrap()
            .map(|r| r.status)
    }

    #[test]
    fn a_batch_sees_its_own_effects_in_order() {
        let file = File::new("order");
        let conn = file.connect(&SqliteOptions::default());
        let (first, mut first_answer) = claim_job("EV-1");
        let (second, mut second_answer) = claim_job("EV-1");
        commit_batch(&conn, [first, second], PATIENCE);
        let Ok(Claim::New(lease)) = first_answer.try_recv().unwrap() else {
            panic!("the first claim of the batch wins");
        };
        match second_answer.try_recv().unwrap() {
            Ok(Claim::Busy { holder }) => assert_eq!(holder, lease.delivery),
            other => panic!("the second claim in the same batch: expected busy, got {other:?}"),
        }

        let (done, mut done_answer) = job(move |conn, now| {
            ops::complete(conn, &lease, &Completion::Done { reply: None }, now)
        });
        let (again, mut again_answer) = claim_job("EV-1");
        commit_batch(&conn, [done, again], PATIENCE);
        done_answer.try_recv().unwrap().unwrap();
        assert!(matches!(
            again_answer.try_recv().unwrap(),
            Ok(Claim::Done { .. })
        ));
    }

    #[test]
    fn a_failing_operation_leaves_the_rest_of_its_batch() {
        let file = File::new("savepoint");
        let conn = file.connect(&SqliteOptions::default());
        let (before, mut before_answer) = claim_job("EV-before");
        // Writes a record, then fails: its write must be undone, and only its.
        let (failing, mut failing_answer) = job(|conn, now| {
            let ask = ClaimRequest {
                delivery: DeliveryKey::v3("EV-failing"),
                fact: None,
                kind: None,
                ttl: Duration::from_secs(30),
            };
            ops::claim(conn, &ask, now)?;
            Err::<(), _>(LedgerError::unavailable("failed halfway"))
        });
        let (after, mut after_answer) = claim_job("EV-after");
        commit_batch(&conn, [before, failing, after], PATIENCE);
        assert!(matches!(
            before_answer.try_recv().unwrap(),
            Ok(Claim::New(_))
        ));
        assert!(matches!(
            failing_answer.try_recv().unwrap(),
            Err(LedgerError::Unavailable(_))
        ));
        assert!(matches!(
            after_answer.try_recv().unwrap(),
            Ok(Claim::New(_))
        ));
        assert_eq!(status(&conn, "EV-before"), Some(Status::InProgress));
        assert_eq!(
            status(&conn, "EV-failing"),
            None,
            "the failed operation's write is undone"
        );
        assert_eq!(status(&conn, "EV-after"), Some(Status::InProgress));
    }

    #[test]
    fn a_batch_that_cannot_take_the_lock_writes_nothing_and_says_so() {
        let file = File::new("locked");
        let options = SqliteOptions::default().with_busy_timeout(Duration::from_millis(50));
        let conn = file.connect(&options);
        let mut other_process = file.connect(&options);
        let lock = other_process
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let (claim, mut answer) = claim_job("EV-locked");
        commit_batch(&conn, [claim], options.busy_timeout);
        assert!(matches!(
            answer.try_recv().unwrap(),
            Err(LedgerError::Unavailable(_))
        ));
        drop(lock);
        assert_eq!(status(&conn, "EV-locked"), None);
    }
}
