//! Handlers per kind, a fallback, and the reply: the merchant's side of the pipeline.
//!
//! ```
//! use wechatpay_notify::dispatch::Dispatcher;
//! use wechatpay_notify::generated::kinds::RefundSuccess;
//! use wechatpay_notify::keys::{ApiV3Key, Keyring};
//! use wechatpay_notify::Receiver;
//!
//! let key = ApiV3Key::new(b"0123456789abcdef0123456789abcdef").unwrap();
//! let dispatcher = Dispatcher::new(Receiver::new(Keyring::new(), key))
//!     .on(|delivery: wechatpay_notify::dispatch::Delivery<RefundSuccess>| async move {
//!         println!("refund {} succeeded", delivery.resource.out_refund_no);
//!         Ok(())
//!     });
//! # let _ = dispatcher;
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::HeaderMap;

use crate::catalogue::KindType;
use crate::error::{Error, HandlerError};
use crate::ledger::{DeliveryKey, Lease};
use crate::receive::{Meta, Received, Receiver};
use crate::reply::Reply;
use crate::validate::Violation;
use crate::{Kind, Notification};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type ReplyData = Option<serde_json::Value>;

/// One notification handed to a handler.
#[derive(Debug)]
#[non_exhaustive]
pub struct Delivery<T> {
    /// The envelope's plain fields (id, event_type, create_time…).
    pub meta: Meta,
    /// The typed resource.
    pub resource: T,
    /// Constraint violations found (lenient mode delivers them beside the resource).
    pub violations: Vec<Violation>,
    /// The ledger lease this delivery is processed under, when a [`Service`](crate::service::Service)
    /// dispatched it: hand it to a transactional inbox (`SqliteLedger::complete_in`,
    /// `PgLedger::complete_in`) so the handler's writes and "done" commit together.
    pub lease: Option<Lease>,
}

trait ErasedHandler: Send + Sync {
    fn call(
        &self,
        meta: Meta,
        n: Notification,
        violations: Vec<Violation>,
        lease: Option<Lease>,
    ) -> BoxFuture<Result<ReplyData, HandlerError>>;
}

struct TypedHandler<K, F> {
    f: F,
    _kind: std::marker::PhantomData<fn(K)>,
}

impl<K, F, Fut> ErasedHandler for TypedHandler<K, F>
where
    K: KindType + TryFrom<Notification, Error = Notification>,
    F: Fn(Delivery<K>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<K::Reply, HandlerError>> + Send + 'static,
{
    fn call(
        &self,
        meta: Meta,
        n: Notification,
        violations: Vec<Violation>,
        lease: Option<Lease>,
    ) -> BoxFuture<Result<ReplyData, HandlerError>> {
        let resource = match K::try_from(n) {
            Ok(r) => r,
            Err(other) => {
                let msg = format!("handler for {} got {:?}", K::ID, other.id());
                return Box::pin(async move { Err(HandlerError::failed(msg)) });
            }
        };
        let fut = (self.f)(Delivery {
            meta,
            resource,
            violations,
            lease,
        });
        Box::pin(async move {
            let reply = fut.await?;
            let value = serde_json::to_value(reply).map_err(HandlerError::failed)?;
            Ok((!value.is_null()).then_some(value))
        })
    }
}

struct FallbackHandler<F>(F);

impl<F, Fut> ErasedHandler for FallbackHandler<F>
where
    F: Fn(Delivery<Notification>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn call(
        &self,
        meta: Meta,
        n: Notification,
        violations: Vec<Violation>,
        lease: Option<Lease>,
    ) -> BoxFuture<Result<ReplyData, HandlerError>> {
        let fut = (self.0)(Delivery {
            meta,
            resource: n,
            violations,
            lease,
        });
        Box::pin(async move { fut.await.map(|()| None) })
    }
}

/// Routes verified notifications to the merchant's handlers and builds the reply.
#[derive(Clone)]
pub struct Dispatcher {
    receiver: Receiver,
    handlers: HashMap<Kind, Arc<dyn ErasedHandler>>,
    fallback: Option<Arc<dyn ErasedHandler>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&str> = self.handlers.keys().map(|k| k.id()).collect();
        kinds.sort_unstable();
        f.debug_struct("Dispatcher")
            .field("receiver", &self.receiver)
            .field("handlers", &kinds)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

/// What happened to one request: the reply to send, and the detail for logs and metrics.
#[derive(Debug)]
pub struct Outcome {
    /// The answer for WeChat Pay.
    pub reply: Reply,
    /// The notification's id and kind when it got that far, or the error.
    pub result: Result<Handled, Error>,
}

impl Outcome {
    /// The outcome of a failure: its reply, and the error.
    pub(crate) fn failed(e: Error) -> Self {
        Outcome {
            reply: Reply::failure(e.kind()),
            result: Err(e),
        }
    }
}

/// A dispatch under way: the handler's future, and what is reported once it succeeds.
enum Started {
    Done(Outcome),
    Running {
        future: BoxFuture<Result<ReplyData, HandlerError>>,
        handled: Handled,
    },
}

impl Started {
    async fn finish(self) -> Outcome {
        let (future, handled) = match self {
            Started::Done(outcome) => return outcome,
            Started::Running { future, handled } => (future, handled),
        };
        match future.await {
            Ok(data) => {
                let reply = match data {
                    None => Reply::success(),
                    Some(v) => match Reply::success_with(&v) {
                        Ok(r) => r,
                        Err(e) => return Outcome::failed(Error::Handler(HandlerError::failed(e))),
                    },
                };
                Outcome {
                    reply,
                    result: Ok(handled),
                }
            }
            Err(e) => Outcome::failed(Error::Handler(e)),
        }
    }
}

/// A notification that was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// The envelope's plain fields.
    pub meta: Meta,
    /// The kind id, or `None` when the fallback took an unknown event_type.
    pub kind: Option<&'static str>,
    /// How many violations were reported beside it.
    pub violations: usize,
    /// When the handler did not run because the ledger found the notification done: the
    /// delivery that was processed (this one, or another id carrying the same fact).
    pub duplicate_of: Option<DeliveryKey>,
}

impl Dispatcher {
    /// A dispatcher with no handlers yet.
    pub fn new(receiver: Receiver) -> Self {
        Dispatcher {
            receiver,
            handlers: HashMap::new(),
            fallback: None,
        }
    }

    /// Registers the handler for kind `K`, replacing any earlier one. It returns the kind's
    /// reply data (`()`, [`NoReply`](crate::catalogue::NoReply), for most kinds) or a
    /// [`HandlerError`], which answers 5XX so WeChat Pay retries.
    #[must_use]
    pub fn on<K, F, Fut>(mut self, handler: F) -> Self
    where
        K: KindType + TryFrom<Notification, Error = Notification>,
        F: Fn(Delivery<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<K::Reply, HandlerError>> + Send + 'static,
    {
        if let Some(kind) = Kind::from_id(K::ID) {
            self.handlers.insert(
                kind,
                Arc::new(TypedHandler {
                    f: handler,
                    _kind: std::marker::PhantomData,
                }),
            );
        }
        self
    }

    /// Registers the handler for every notification without a handler of its own, including
    /// event_types the catalogue does not know ([`Notification::Unknown`]). Without it, such a
    /// notification is answered 5XX (`no_handler`) and WeChat Pay retries: nothing is
    /// acknowledged unhandled.
    #[must_use]
    pub fn fallback<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Delivery<Notification>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.fallback = Some(Arc::new(FallbackHandler(handler)));
        self
    }

    /// The receiver.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// Handles one request end to end and returns the reply with what happened.
    pub async fn handle(&self, headers: &HeaderMap, body: &[u8]) -> Outcome {
        // The received notification is handed over before the first await, so it is not
        // carried (copied) through the states of nested futures.
        let started = match self.receiver.receive(headers, body) {
            Ok(received) => self.start(received, None),
            Err(e) => return Outcome::failed(e),
        };
        started.finish().await
    }

    /// Hands an already received notification to its handler.
    pub async fn dispatch(&self, received: Received) -> Outcome {
        self.start(received, None).finish().await
    }

    /// Hands an already received notification to its handler, under a ledger lease.
    pub(crate) async fn dispatch_leased(
        &self,
        received: Received,
        lease: Option<Lease>,
    ) -> Outcome {
        self.start(received, lease).finish().await
    }

    /// Finds the handler and calls it: what is left is awaiting its future.
    fn start(&self, received: Received, lease: Option<Lease>) -> Started {
        let Received {
            meta,
            notification,
            violations,
            ..
        } = received;
        let kind = notification.kind();
        let handler = kind
            .and_then(|k| self.handlers.get(&k))
            .or(self.fallback.as_ref());
        let Some(handler) = handler else {
            return Started::Done(Outcome::failed(Error::Handler(HandlerError::NoHandler(
                kind.map_or_else(|| meta.event_type.clone(), |k| k.id().to_owned()),
            ))));
        };
        let count = violations.len();
        Started::Running {
            future: handler.call(meta.clone(), notification, violations, lease),
            handled: Handled {
                meta,
                kind: kind.map(Kind::id),
                violations: count,
                duplicate_of: None,
            },
        }
    }

    /// Handles an `http` request (raw body bytes) and answers with an `http` response.
    pub async fn handle_http(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> http::Response<bytes::Bytes> {
        let (parts, body) = request.into_parts();
        self.handle(&parts.headers, &body).await.reply.into_http()
    }
}
