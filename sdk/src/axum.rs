//! The notification endpoint as an axum handler (feature `axum`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use wechatpay_notify::keys::{ApiV3Key, Keyring};
//! use wechatpay_notify::ledger::memory::MemoryLedger;
//! use wechatpay_notify::{Dispatcher, Receiver, Service};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = ApiV3Key::new(b"0123456789abcdef0123456789abcdef")?;
//! let service = Service::new(Dispatcher::new(Receiver::new(Keyring::new(), key)), Arc::new(MemoryLedger::new()));
//! let app = axum::Router::new()
//!     .route("/wechatpay/notify", axum::routing::post(wechatpay_notify::axum::notify))
//!     .with_state(service);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

use ::axum::body::Body;
use ::axum::extract::{Request, State};
use ::axum::response::Response;
use bytes::Bytes;

use crate::dispatch::Outcome;
use crate::error::{Error, RequestError};
use crate::service::Service;

/// Handles one notification: reads the body up to the verifier's limit (answering 413
/// `body_too_large` beyond it, without reading the rest), then [`Service::handle`].
pub async fn notify(State(service): State<Service>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let outcome = match read_body(body, service.dispatcher().receiver().verifier().max_body()).await
    {
        Ok(body) => service.handle(&parts.headers, &body).await,
        Err(e) => Outcome::failed(e),
    };
    outcome.reply.into_http().map(Body::from)
}

/// Reads a request body of at most `limit` bytes. Header names are matched by the `http`
/// crate case-insensitively, so nothing else about the request needs normalising.
///
/// # Errors
/// [`RequestError::BodyTooLarge`] beyond `limit`; a body that breaks off is reported the same
/// way as an empty one would fail verification later (`malformed`), never a panic.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, Error> {
    use http_body_util::BodyExt as _;
    let collected = http_body_util::Limited::new(body, limit).collect().await;
    collected
        .map(http_body_util::Collected::to_bytes)
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                Error::Request(RequestError::BodyTooLarge {
                    size: limit.saturating_add(1),
                    limit,
                })
            } else {
                Error::Request(RequestError::InvalidHeader {
                    name: "Content-Length",
                    reason: format!("the body could not be read: {e}"),
                })
            }
        })
}
