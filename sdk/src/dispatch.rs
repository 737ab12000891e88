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

use crate::catalogue::{AuthenticatedKind, KindType, Trust, V2ReplyStyle};
use crate::cross_check::{CrossCheck, Mismatch};
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

/// The notification as kind `K`, or a failed handler call naming what came instead.
fn typed<K>(n: Notification) -> Result<K, BoxFuture<Result<ReplyData, HandlerError>>>
where
    K: KindType + TryFrom<Notification, Error = Notification>,
{
    K::try_from(n).map_err(|other| {
        let msg = format!("handler for {} got {:?}", K::ID, other.id());
        Box::pin(async move { Err(HandlerError::failed(msg)) }) as BoxFuture<_>
    })
}

/// The handler's future, its reply data serialized (`None` for kinds without reply data).
fn reply_data<R, Fut>(fut: Fut) -> BoxFuture<Result<ReplyData, HandlerError>>
where
    R: serde::Serialize,
    Fut: Future<Output = Result<R, HandlerError>> + Send + 'static,
{
    Box::pin(async move {
        let reply = fut.await?;
        let value = serde_json::to_value(reply).map_err(HandlerError::failed)?;
        Ok((!value.is_null()).then_some(value))
    })
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
        let resource = match typed::<K>(n) {
            Ok(r) => r,
            Err(refused) => return refused,
        };
        let fut = (self.f)(Delivery {
            meta,
            resource,
            violations,
            lease,
        });
        reply_data(fut)
    }
}

struct UnconfirmedHandler<K, F> {
    f: F,
    _kind: std::marker::PhantomData<fn(K)>,
}

impl<K, F, Fut> ErasedHandler for UnconfirmedHandler<K, F>
where
    K: KindType + TryFrom<Notification, Error = Notification>,
    F: Fn(Unconfirmed<K>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<K::Reply, HandlerError>> + Send + 'static,
{
    fn call(
        &self,
        meta: Meta,
        n: Notification,
        violations: Vec<Violation>,
        lease: Option<Lease>,
    ) -> BoxFuture<Result<ReplyData, HandlerError>> {
        let resource = match typed::<K>(n) {
            Ok(r) => r,
            Err(refused) => return refused,
        };
        let fut = (self.f)(Unconfirmed {
            delivery: Delivery {
                meta,
                resource,
                violations,
                lease,
            },
        });
        reply_data(fut)
    }
}

/// A notification that was decrypted but not authenticated (the APIv2 refund notification:
/// no `sign`, and AES-256-ECB gives no integrity): anyone who knows the merchant's `notify_url`
/// and guesses nothing else cannot forge it without the APIv2 key, but nothing proves it came
/// from WeChat Pay. Its handler reads [`claimed`](Self::claimed) to find the business object,
/// then confirms the notification before acting: by the business cross-check
/// ([`confirm`](Self::confirm)) or by the merchant's own query to WeChat Pay
/// ([`confirmed_by_query`](Self::confirmed_by_query)).
///
/// ```
/// use wechatpay_notify::dispatch::Unconfirmed;
/// use wechatpay_notify::error::HandlerError;
/// use wechatpay_notify::generated::kinds::{V2RefundProcessed, V2RefundProcessedExpected};
///
/// async fn on_refund(n: Unconfirmed<V2RefundProcessed>) -> Result<(), HandlerError> {
///     // Look the refund up by what the notification claims…
///     let claimed = n.claimed();
///     let expected = V2RefundProcessedExpected::default()
///         .mch_id("1900000109")
///         .out_refund_no(claimed.out_refund_no.clone())
///         .refund_fee(3960); // …from the merchant's own refund record
///     match n.confirm(&expected) {
///         Ok(delivery) => {
///             println!("refund {} is {}", delivery.resource.out_refund_no, delivery.resource.refund_status);
///             Ok(())
///         }
///         Err(not) => Err(HandlerError::failed(format!("not confirmed: {:?}", not.mismatches))),
///     }
/// }
/// # let _ = on_refund;
/// ```
#[derive(Debug)]
pub struct Unconfirmed<K> {
    delivery: Delivery<K>,
}

/// A notification [`Unconfirmed::confirm`] could not confirm: what disagreed, and the
/// notification, still unconfirmed.
#[derive(Debug)]
#[non_exhaustive]
pub struct NotConfirmed<K> {
    /// The values that differ from the merchant's records (empty when the expectation stated
    /// nothing to compare).
    pub mismatches: Vec<Mismatch>,
    /// The notification (boxed: it holds the whole typed value).
    pub unconfirmed: Box<Unconfirmed<K>>,
}

impl<K> Unconfirmed<K> {
    /// What the notification claims, to find the merchant's own record: never act on it
    /// before confirming.
    pub fn claimed(&self) -> &K {
        &self.delivery.resource
    }

    /// The notification's plain fields.
    pub fn meta(&self) -> &Meta {
        &self.delivery.meta
    }

    /// Constraint violations found.
    pub fn violations(&self) -> &[Violation] {
        &self.delivery.violations
    }

    /// Confirms the notification after the merchant's own query to WeChat Pay (退款查询 for a
    /// refund) returned the same business object in the same state. Call it only then: it is
    /// the merchant's word that the notification is true.
    pub fn confirmed_by_query(self) -> Delivery<K> {
        self.delivery
    }
}

impl<K> Unconfirmed<K>
where
    K: CrossCheck,
    K::Expected: Default + PartialEq,
{
    /// Confirms the notification by the business cross-check: every value `expected` states
    /// must agree with the notification, and `expected` must state at least one.
    ///
    /// # Errors
    /// [`NotConfirmed`] with the mismatches (none when `expected` states nothing).
    pub fn confirm(self, expected: &K::Expected) -> Result<Delivery<K>, NotConfirmed<K>> {
        let mismatches = self.delivery.resource.cross_check(expected);
        if mismatches.is_empty() && *expected != K::Expected::default() {
            Ok(self.delivery)
        } else {
            Err(NotConfirmed {
                mismatches,
                unconfirmed: Box::new(self),
            })
        }
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
    pub fn failed(e: Error) -> Self {
        Outcome {
            reply: Reply::failure(e.kind()),
            result: Err(e),
        }
    }

    /// The outcome of a failure of an APIv2 request: its reply in the kind's XML elements.
    pub(crate) fn failed_v2(e: Error, style: V2ReplyStyle) -> Self {
        Outcome {
            reply: Reply::v2_failure(e.kind(), style),
            result: Err(e),
        }
    }

    /// The outcome of a failure of a notification of `kind` (or of an unknown one).
    pub(crate) fn failed_for(kind: Option<Kind>, e: Error) -> Self {
        match kind.and_then(|k| k.info().v2) {
            Some(spec) => Outcome::failed_v2(e, spec.reply),
            None => Outcome::failed(e),
        }
    }
}

/// A dispatch under way: the handler's future, and what is reported once it succeeds.
enum Started {
    Done(Outcome),
    Running {
        future: BoxFuture<Result<ReplyData, HandlerError>>,
        kind: Option<Kind>,
        handled: Handled,
    },
}

impl Started {
    async fn finish(self) -> Outcome {
        let (future, kind, handled) = match self {
            Started::Done(outcome) => return outcome,
            Started::Running {
                future,
                kind,
                handled,
            } => (future, kind, handled),
        };
        match future.await {
            Ok(data) => {
                let v2 = kind.and_then(|k| k.info().v2);
                let reply = match (data, v2) {
                    (None, Some(spec)) => Reply::v2_success(spec.reply),
                    (None, None) => Reply::success(),
                    (Some(v), _) => match Reply::success_with(&v) {
                        Ok(r) => r,
                        Err(e) => {
                            return Outcome::failed_for(
                                kind,
                                Error::Handler(HandlerError::failed(e)),
                            );
                        }
                    },
                };
                Outcome {
                    reply,
                    result: Ok(handled),
                }
            }
            Err(e) => Outcome::failed_for(kind, Error::Handler(e)),
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
    ///
    /// Only authenticated kinds ([`AuthenticatedKind`]) register here; a decrypted but
    /// unauthenticated kind (the APIv2 refund) takes [`on_unconfirmed`](Self::on_unconfirmed),
    /// so its handler cannot act on it unconfirmed.
    #[must_use]
    pub fn on<K, F, Fut>(mut self, handler: F) -> Self
    where
        K: AuthenticatedKind + TryFrom<Notification, Error = Notification>,
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

    /// Registers the handler of a kind that is decrypted but unauthenticated (the APIv2 refund
    /// notification, `v2:refund-processed`): it gets the notification [`Unconfirmed`], and
    /// must confirm it (business cross-check, or a query) before acting on it.
    #[must_use]
    pub fn on_unconfirmed<K, F, Fut>(mut self, handler: F) -> Self
    where
        K: KindType + TryFrom<Notification, Error = Notification>,
        F: Fn(Unconfirmed<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<K::Reply, HandlerError>> + Send + 'static,
    {
        if let Some(kind) = Kind::from_id(K::ID) {
            self.handlers.insert(
                kind,
                Arc::new(UnconfirmedHandler {
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
    /// acknowledged unhandled. Unauthenticated kinds never go to the fallback: they need
    /// [`on_unconfirmed`](Self::on_unconfirmed).
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
            Err(e) if crate::v2::is_xml(body) => {
                return Outcome::failed_v2(e, crate::v2::reply_style(body));
            }
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
        let authenticated = kind.is_none_or(|k| k.info().trust == Trust::Authenticated);
        let handler = kind
            .and_then(|k| self.handlers.get(&k))
            .or(self.fallback.as_ref().filter(|_| authenticated));
        let Some(handler) = handler else {
            return Started::Done(Outcome::failed_for(
                kind,
                Error::Handler(HandlerError::NoHandler(
                    kind.map_or_else(|| meta.event_type.clone(), |k| k.id().to_owned()),
                )),
            ));
        };
        let count = violations.len();
        Started::Running {
            future: handler.call(meta.clone(), notification, violations, lease),
            kind,
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
