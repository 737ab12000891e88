//! The reference handler of `serve` and `replay`: one JSON line per processed notification,
//! `{"id", "kind", "resource"}`, written and flushed before the notification is acknowledged.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::json;
use wechatpay_notify::catalogue::KindType;
use wechatpay_notify::dispatch::{Delivery, Unconfirmed};
use wechatpay_notify::error::HandlerError;
use wechatpay_notify::generated::kinds::V2RefundProcessed;
use wechatpay_notify::{Dispatcher, Notification};

use crate::UsageError;

/// The sink file, shared by every request.
#[derive(Clone, Debug)]
pub struct Sink {
    file: Option<Arc<Mutex<BufWriter<File>>>>,
}

impl Sink {
    /// Appends to `path` (created if missing); `None` acknowledges without writing.
    pub fn open(path: Option<&Path>) -> Result<Self, UsageError> {
        let file = match path {
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| UsageError(format!("--sink {}: {e}", p.display())))?;
                Some(Arc::new(Mutex::new(BufWriter::new(f))))
            }
            None => None,
        };
        Ok(Sink { file })
    }

    /// `dispatcher` with this sink as the handler of every kind. The APIv2 refund notification,
    /// which nothing authenticates, is written down as it claims to be, marked
    /// `"confirmed": false`: the sink records, it does not act.
    pub fn handle_all(self, dispatcher: Dispatcher) -> Dispatcher {
        let unconfirmed = self.clone();
        dispatcher
            .on_unconfirmed(move |u: Unconfirmed<V2RefundProcessed>| {
                let sink = unconfirmed.clone();
                async move {
                    let resource =
                        serde_json::to_value(u.claimed()).map_err(HandlerError::failed)?;
                    sink.write(json!({
                        "id": u.meta().id,
                        "kind": V2RefundProcessed::ID,
                        "resource": resource,
                        "confirmed": false,
                    }))
                }
            })
            .fallback(move |d: Delivery<Notification>| {
                let sink = self.clone();
                async move {
                    let resource = match &d.resource {
                        Notification::Unknown(u) => u.resource.clone(),
                        n => serde_json::to_value(n).map_err(HandlerError::failed)?,
                    };
                    sink.write(
                        json!({ "id": d.meta.id, "kind": d.resource.id(), "resource": resource }),
                    )
                }
            })
    }

    fn write(&self, line: serde_json::Value) -> Result<(), HandlerError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut f = file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        writeln!(f, "{line}")
            .and_then(|()| f.flush())
            .map_err(HandlerError::failed)
    }
}
