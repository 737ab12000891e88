//! The flags `serve` and `replay` share: keys, ledger, sink, leases; and the service they build.

use std::path::PathBuf;
use std::time::Duration;

use wechatpay_notify::keys::StorageKey;
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
    /// File holding the 32-byte storage key (64 hex digits) that seals APIv2 bodies before they
    /// are stored; required with --api-v2-key-file (APIv2 bodies carry personal data in clear).
    #[arg(long, value_name = "F")]
    pub storage_key_file: Option<PathBuf>,
}

impl ServiceFlags {
    /// The service: keys, the ledger, the sink as the handler of every kind.
    pub async fn service(&self) -> Result<Service, UsageError> {
        let strictness = if self.strict {
            Strictness::Strict
        } else {
            Strictness::Lenient
        };
        let (v3, v2) = (&self.keys.api_v3_key_file, &self.keys.api_v2_key_file);
        let mut receiver = match (v3, v2) {
            (None, Some(_)) => Receiver::for_v2(self.keys.api_v2_key()?),
            _ => Receiver::with_verifier(
                Verifier::new(self.keys.keyring()?),
                self.keys.api_v3_key()?,
            ),
        };
        if v3.is_some() && v2.is_some() {
            receiver = receiver.with_api_v2_key(self.keys.api_v2_key()?);
        }
        let receiver = receiver
            .with_v2_sign_types(self.keys.v2_sign_types()?)
            .with_strictness(strictness);
        let storage_key = match (&self.storage_key_file, v2) {
            (Some(path), _) => Some(self.storage_key(path)?),
            (None, Some(_)) => {
                return Err(UsageError(
                    "--api-v2-key-file needs --storage-key-file: APIv2 bodies are sealed before they are stored"
                        .to_owned(),
                ));
            }
            (None, None) => None,
        };
        let dispatcher = Sink::open(self.sink.as_deref())?.handle_all(Dispatcher::new(receiver));
        let ledger = ledger_url::open(&self.ledger).await?;
        let config =
            ServiceConfig::default().with_lease_ttl(Duration::from_secs(self.lease_ttl.max(1)));
        let service = Service::new(dispatcher, ledger).with_config(config);
        Ok(match storage_key {
            Some(key) => service.with_storage_key(key),
            None => service,
        })
    }

    fn storage_key(&self, path: &std::path::Path) -> Result<StorageKey, UsageError> {
        let fail = |e: &dyn std::fmt::Display| {
            UsageError(format!("--storage-key-file {}: {e}", path.display()))
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(&e))?;
        StorageKey::from_hex(&text).map_err(|e| fail(&e))
    }
}
