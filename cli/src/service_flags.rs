//! The flags `serve` and `replay` share: keys, ledger, sink, leases; and the service they build.

use std::path::PathBuf;
use std::time::Duration;

use wechatpay_notify::service::ServiceConfig;
use wechatpay_notify::v3::Verifier;
use wechatpay_notify::{Dispatcher, Receiver, Service, Strictness};

use crate::key_flags::KeyFlags;
use crate::sink::Sink;
use crate::{UsageError, ledger_url};

/// Flags of a command that processes notifications through the ledger.
#[derive(clap::Args, Debug)]
pub struct ServiceFlags {
    #[command(flatten)]
    pub keys: KeyFlags,
    /// The ledger: sqlite:PATH, postgres://…, redis://… or memory.
    #[arg(long, value_name = "URL", default_value = ledger_url::DEFAULT)]
    pub ledger: String,
    /// Append one line {"id", "kind", "resource"} per processed notification, flushed before
    /// the acknowledgement.
    #[arg(long, value_name = "FILE.jsonl")]
    pub sink: Option<PathBuf>,
    /// Reject notifications with constraint violations (quarantined) instead of delivering them.
    #[arg(long)]
    pub strict: bool,
    /// Lease time to live in seconds; renewed every third of it while the handler runs.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lease_ttl: u64,
}

impl ServiceFlags {
    /// The service: keys, the ledger, the sink as the handler of every kind. `verifier` adjusts
    /// the verifier (a replay drops the time window).
    pub async fn service(&self) -> Result<Service, UsageError> {
        self.keys.check_v2_sign_types()?;
        let verifier = Verifier::new(self.keys.keyring()?);
        let strictness = if self.strict {
            Strictness::Strict
        } else {
            Strictness::Lenient
        };
        let receiver =
            Receiver::with_verifier(verifier, self.keys.api_v3_key()?).with_strictness(strictness);
        let dispatcher = Sink::open(self.sink.as_deref())?.handle_all(Dispatcher::new(receiver));
        let ledger = ledger_url::open(&self.ledger).await?;
        let config =
            ServiceConfig::default().with_lease_ttl(Duration::from_secs(self.lease_ttl.max(1)));
        Ok(Service::new(dispatcher, ledger).with_config(config))
    }
}
