//! The checkpointer: copies the WAL back into the database file on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: the writer
//! thread would stop for the checkpoint's two `fsync`s every few hundred notifications. Every
//! connection of a ledger has it turned off (`wal_autocheckpoint=0`); instead the writer nudges
//! this thread after its commits, and this thread runs a `PASSIVE` checkpoint (which never
//! blocks the writer) at most every [`PAUSE`].
//!
//! A passive checkpoint cannot rewind the WAL while the writer keeps appending to it, so under
//! sustained load the WAL grows. Once it holds [`RESTART_AT`] frames this thread asks the
//! writer to run a `RESTART` checkpoint between two batches: a short stop (the frames the last
//! passive checkpoint left, and two `fsync`s), after which the WAL starts again from its
//! beginning.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::ledger::LedgerError;

/// The least time between two passive checkpoints: the WAL collects pages meanwhile, and a page
/// written many times is copied once.
const PAUSE: Duration = Duration::from_millis(100);

/// WAL frames (pages) past which the writer rewinds the WAL: 128 MiB of 4 KiB pages, about
/// 10 s of sustained load at 5,000 notifications a second with time-ordered ids (2 to 3 pages
/// per notification), so that the stop is rare.
pub(super) const RESTART_AT: i64 = 32_768;

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
        match checkpoint(conn, "PASSIVE") {
            Ok(log) if log >= RESTART_AT => restart.store(true, Ordering::Relaxed),
            Ok(_) => {}
            // Another process's checkpoint is running, or the file is out of reach: the next
            // nudge tries again.
            Err(e) => tracing::debug!(error = %e, "sqlite ledger: checkpoint skipped"),
        }
        // Nudges meanwhile wait in the channel (one is enough); a closed channel ends the loop
        // once it is empty.
        std::thread::sleep(PAUSE);
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)`; returns how many frames the WAL holds.
pub(super) fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        row.get(1)
    })
}
