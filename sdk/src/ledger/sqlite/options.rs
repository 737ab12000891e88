//! How a [`SqliteLedger`](super::SqliteLedger) opens its file: durability, waiting for other
//! writers, batch size, and the `sqlite:` URL that names all of it.

use std::path::PathBuf;
use std::time::Duration;

use crate::ledger::LedgerError;

/// Settings of a [`SqliteLedger`](super::SqliteLedger).
///
/// ```
/// use std::time::Duration;
/// use wechatpay_notify::ledger::sqlite::{SqliteOptions, Synchronous};
///
/// let options = SqliteOptions::default()
///     .with_synchronous(Synchronous::Normal)
///     .with_busy_timeout(Duration::from_secs(10));
/// assert_eq!(SqliteOptions::default().synchronous, Synchronous::Full);
/// assert_eq!(options.busy_timeout, Duration::from_secs(10));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// When a commit reaches the disk (see [`Synchronous`]). Default: [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// How long to wait for another connection's (another process's) write lock before the
    /// operation fails as [`LedgerError::Unavailable`]. Default: 5 s.
    pub busy_timeout: Duration,
    /// The most operations one transaction (one group commit) holds. Default: 512.
    pub max_batch: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            max_batch: 512,
        }
    }
}

impl SqliteOptions {
    /// Sets the durability of commits.
    #[must_use]
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Sets how long to wait for another writer.
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets the most operations one group commit holds (at least 1).
    #[must_use]
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }
}

/// SQLite's `PRAGMA synchronous` in WAL mode: what an acknowledged operation survives.
///
/// | setting | process crash (kill, panic, OOM) | OS crash or power loss | cost per group commit |
/// |---|---|---|---|
/// | [`Full`](Self::Full) | nothing acknowledged is lost | nothing acknowledged is lost | one `fsync` of the WAL |
/// | [`Normal`](Self::Normal) | nothing acknowledged is lost | the commits since the WAL was last synced may be lost: under load the checkpointer syncs it about every tenth of a second; the file stays consistent | none (the WAL is synced at checkpoints) |
///
/// An operation is answered only after its batch commits, so "acknowledged" means committed
/// under the setting in force.
///
/// What it costs: a notification takes three commits one after the other (keep the request,
/// claim, complete), so under `Full` it waits for at least three `fsync`s. Group commit keeps
/// the throughput (one `fsync` serves every operation queued meanwhile), not the latency: on a
/// disk whose `fsync` takes 1 ms a notification takes 3 ms or more; on one that takes 9 ms
/// (network or virtual disks), 27 ms or more. `Normal` takes no `fsync` on the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `synchronous=FULL`: every commit is on disk before it is answered. The default: with
    /// group commit one `fsync` covers every operation of the batch, and losing a "done" that
    /// was acknowledged to WeChat Pay can lose a payment for good (WeChat Pay does not send a
    /// notification again once it was answered success; with the transactional inbox the
    /// merchant's own writes would vanish with it).
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits reach the OS at once and the disk at the next checkpoint.
    /// Survives the process crashing, not the machine.
    Normal,
}

impl Synchronous {
    /// The pragma's value: `FULL` or `NORMAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Why a `sqlite:` URL was refused.
#[derive(Debug, thiserror::Error)]
#[error("not a SQLite ledger URL ({url:?}): {why}")]
pub(super) struct BadUrl {
    url: String,
    why: String,
}

/// Reads `sqlite:PATH[?synchronous=full|normal&busy_timeout_ms=N&max_batch=N]`. A leading `//`
/// after the scheme is dropped, so `sqlite:///var/lib/ledger.db` names `/var/lib/ledger.db` and
/// `sqlite://ledger.db` names `ledger.db`, as other tools write them.
pub(super) fn parse_url(url: &str) -> Result<(PathBuf, SqliteOptions), LedgerError> {
    let bad = |why: &str| {
        LedgerError::unavailable(BadUrl {
            url: url.to_owned(),
            why: why.to_owned(),
        })
    };
    let rest = url
        .strip_prefix("sqlite:")
        .ok_or_else(|| bad("it does not start with `sqlite:`"))?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(bad("no file path"));
    }
    let mut options = SqliteOptions::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| bad(&format!("parameter `{pair}` has no value")))?;
        match name {
            "synchronous" => {
                options.synchronous = match value.to_ascii_lowercase().as_str() {
                    "full" => Synchronous::Full,
                    "normal" => Synchronous::Normal,
                    _ => return Err(bad("synchronous is `full` or `normal`")),
                }
            }
            "busy_timeout_ms" => {
                let ms = value
                    .parse()
                    .map_err(|_| bad("busy_timeout_ms is a number of milliseconds"))?;
                options.busy_timeout = Duration::from_millis(ms);
            }
            "max_batch" => {
                let n: usize = value
                    .parse()
                    .map_err(|_| bad("max_batch is a positive number"))?;
                if n == 0 {
                    return Err(bad("max_batch is a positive number"));
                }
                options.max_batch = n;
            }
            other => return Err(bad(&format!("unknown parameter `{other}`"))),
        }
    }
    Ok((PathBuf::from(path), options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_slashed_paths() {
        let (path, options) = parse_url("sqlite:wechatpay-notify.db").unwrap();
        assert_eq!(path, PathBuf::from("wechatpay-notify.db"));
        assert_eq!(options, SqliteOptions::default());
        let (path, _) = parse_url("sqlite:///var/lib/ledger.db").unwrap();
        assert_eq!(path, PathBuf::from("/var/lib/ledger.db"));
        let (path, _) = parse_url("sqlite://ledger.db").unwrap();
        assert_eq!(path, PathBuf::from("ledger.db"));
    }

    #[test]
    fn parameters() {
        let (_, options) =
            parse_url("sqlite:l.db?synchronous=NORMAL&busy_timeout_ms=250&max_batch=64").unwrap();
        assert_eq!(options.synchronous, Synchronous::Normal);
        assert_eq!(options.busy_timeout, Duration::from_millis(250));
        assert_eq!(options.max_batch, 64);
    }

    #[test]
    fn refusals_name_the_problem() {
        for (url, why) in [
            ("postgres://x", "does not start with `sqlite:`"),
            ("sqlite:", "no file path"),
            ("sqlite:l.db?synchronous=off", "synchronous is"),
            ("sqlite:l.db?busy_timeout_ms=-1", "busy_timeout_ms"),
            ("sqlite:l.db?max_batch=0", "max_batch"),
            ("sqlite:l.db?journal=wal", "unknown parameter `journal`"),
            ("sqlite:l.db?synchronous", "has no value"),
        ] {
            let e = parse_url(url).unwrap_err();
            assert!(matches!(e, LedgerError::Unavailable(_)), "{url}: {e:?}");
            let text = std::error::Error::source(&e).unwrap().to_string();
            assert!(text.contains(why), "{url}: {text}");
        }
    }
}
