//! `wechatpay-notify replay`: runs stored notifications again through the same exactly-once
//! path — quarantined ones after a schema or key fix, failed ones after a handler fix.

use serde_json::{Value, json};
use wechatpay_notify::ledger::{DeliveryKey, Status};

use crate::service_flags::ServiceFlags;
use crate::{EXIT_OK, EXIT_REJECTED, UsageError};

/// Flags of `replay`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    service: ServiceFlags,
    /// A delivery to replay (`v3:<notification id>` as the ledger lists it). Repeatable.
    #[arg(long = "id", value_name = "DELIVERY")]
    ids: Vec<String>,
    /// Replay every delivery with this status: quarantined, failed, received, in_progress.
    #[arg(long, value_name = "STATUS", conflicts_with = "ids")]
    status: Option<String>,
    /// At most this many deliveries with --status.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

pub fn run(args: &Args) -> u8 {
    crate::block_on(replay(args))
}

async fn replay(args: &Args) -> Result<u8, UsageError> {
    let service = args.service.service().await?;
    let deliveries: Vec<DeliveryKey> = match &args.status {
        Some(text) => {
            let status = Status::parse(text)
                .filter(|s| *s != Status::Done)
                .ok_or_else(|| {
                    UsageError(format!(
                        "--status {text}: expected quarantined, failed, received or in_progress"
                    ))
                })?;
            service
                .ledger()
                .list(status, args.limit)
                .await
                .map_err(|e| UsageError(format!("--ledger: {e}")))?
                .into_iter()
                .map(|r| r.delivery)
                .collect()
        }
        None if args.ids.is_empty() => {
            return Err(UsageError(
                "give --id DELIVERY… or --status STATUS".to_owned(),
            ));
        }
        None => args
            .ids
            .iter()
            .map(|id| DeliveryKey::from_stored(id.clone()))
            .collect(),
    };
    let mut code = EXIT_OK;
    for delivery in deliveries {
        let line = match service.replay(&delivery).await {
            Ok(outcome) => {
                let mut line = json!({
                    "delivery": delivery.as_str(),
                    "ok": outcome.result.is_ok(),
                    "response": { "status": outcome.reply.status, "body": outcome.reply.body },
                });
                match &outcome.result {
                    Ok(h) => {
                        line["kind"] = h.kind.map_or(Value::Null, |k| Value::String(k.to_owned()));
                        line["duplicate_of"] = h
                            .duplicate_of
                            .as_ref()
                            .map_or(Value::Null, |d| Value::String(d.to_string()));
                    }
                    Err(e) => {
                        code = EXIT_REJECTED;
                        line["error"] = json!({ "kind": e.kind().as_str(), "message": e.to_string(), "path": e.path() });
                    }
                }
                line
            }
            Err(e) => {
                code = EXIT_REJECTED;
                json!({ "delivery": delivery.as_str(), "ok": false, "error": { "kind": "ledger", "message": e.to_string() } })
            }
        };
        println!("{line}");
    }
    Ok(code)
}
