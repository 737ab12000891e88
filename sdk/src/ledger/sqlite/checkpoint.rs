//! The checkpointer: copies the WAL back into the database file on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: the writer
//! thread would stop for the checkpoint's two `fsync`s every few hundred notifications. Every
//! connection of a ledger has it turned off (`wal_autocheckpoint=0`); instead the writer nudges
//! this thread after its commits, and this thread runs a `PASSIVE` checkpoint (which never
//! takes the write lock) when the commits pause for [`LULL`], or [`MAX_WAIT`] after the first
//! commit it has not copied.
//!
//! A passive checkpoint cannot rewind the WAL while the writer keeps appending to it, so under
//! sustained load the WAL grows. Once it holds [`RESTART_AT`] frames this thread asks the
//! writer to run a `RESTART` checkpoint between two batches: a short stop (the frames the last
//! passive checkpoint left, and two `fsync`s), after which the WAL starts again from its
//! beginning.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::ledger::LedgerError;

/// A checkpoint waits for the writer to have committed nothing for this long: its `fsync`s slow
/// down the writer's own writes to the file (the file system's journal), so they go where the
/// load pauses.
const LULL: Duration = Duration::from_millis(20);

/// ...but for no longer than this after the first commit it has not copied: under sustained
/// load, one checkpoint a second. Meanwhile the WAL collects pages, and a page written many
/// times is copied once.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// WAL frames (pages) past which the writer rewinds the WAL: 256 MiB of 4 KiB pages, several
/// seconds of sustained load at 5,000 notifications a second (3 to 5 pages each), so that the
/// stop is rare; whenever the load pauses the WAL is rewound without one.
pub(super) const RESTART_AT: i64 = 65_536;

/// The handle on the checkpointer thread; dropping it stops the thread and waits for it.
pub(super) struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    restart: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Starts the thread, which checkpoints through `conn`.
    pub(super) fn spawn(conn: Connection) -> Result<Checkpointer, LedgerError> {
        let (nudge, nudged) = std::sync::mpsc::sync_channel(1);
        let restart = Arc::new(AtomicBool::new(false));
        let wanted = restart.clone();
        let thread = std::thread::Builder::new()
            .name("wechatpay-notify-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &nudged, &wanted))
            .map_err(LedgerError::unavailable)?;
        Ok(Checkpointer {
            nudge: Some(nudge),
            thread: Some(thread),
            restart,
        })
    }

    /// Tells the thread the WAL grew. Never blocks.
    pub(super) fn nudge(&self) {
        if let Some(nudge) = &self.nudge {
            let _ = nudge.try_send(());
        }
    }

    /// Whether the WAL should be rewound now (asked once: the flag is cleared).
    pub(super) fn take_restart(&self) -> bool {
        self.restart.swap(false, Ordering::Relaxed)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.nudge = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, nudged: &Receiver<()>, restart: &AtomicBool) {
    while nudged.recv().is_ok() {
        let first = Instant::now();
        let mut open = true;
        while first.elapsed() < MAX_WAIT {
            match nudged.recv_timeout(LULL) {
                Ok(()) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        match catch_up(conn) {
            Ok(log) if log >= RESTART_AT => restart.store(true, Ordering::Relaxed),
            Ok(_) => {}
            // Another process's checkpoint is running, or the file is out of reach: the next
            // nudge tries again.
            Err(e) => tracing::debug!(error = %e, "sqlite ledger: checkpoint skipped"),
        }
        if !open {
            break; // the ledger is closing: the last connection to close checkpoints
        }
    }
}

/// A passive checkpoint, then a few more while each finds much less to copy: the frames left
/// for the writer's rewind (which it waits for) are few. Returns how many frames the WAL holds.
fn catch_up(conn: &Connection) -> rusqlite::Result<i64> {
    let mut copied = 0;
    for _ in 0..4 {
        let (log, done): (i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok((row.get(1)?, row.get(2)?))
            })?;
        if log < RESTART_AT || done - copied < 256 {
            return Ok(log);
        }
        copied = done;
    }
    checkpoint(conn, "PASSIVE")
}

/// Runs `PRAGMA wal_checkpoint(mode)`; returns how many frames the WAL holds.
pub(super) fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        row.get(1)
    })
}
