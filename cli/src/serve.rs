//! `wechatpay-notify serve`: the notification endpoint on any path, with the ledger, the sink,
//! `GET /healthz`, `GET /metrics`, one log line per request, and a clean shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use wechatpay_notify::dispatch::Outcome;
use wechatpay_notify::ledger::{DeliveryKey, Status};
use wechatpay_notify::{ErrorKind, Service};

use crate::metrics::Metrics;
use crate::service_flags::ServiceFlags;
use crate::{EXIT_OK, UsageError};

/// Flags of `serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port; the address is
    /// printed on standard output).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    #[command(flatten)]
    service: ServiceFlags,
    /// Days a done notification's record and request are kept.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    retain_done_days: u32,
    /// Days a failed or quarantined notification is kept, waiting for `replay`.
    #[arg(long, value_name = "DAYS", default_value_t = 180)]
    retain_unresolved_days: u32,
}

/// What every request of `serve` shares: the service and the metrics.
pub struct App {
    service: Service,
    metrics: Metrics,
}

impl App {
    /// The state of a server around `service`.
    pub fn new(service: Service) -> Arc<App> {
        Arc::new(App {
            service,
            metrics: Metrics::default(),
        })
    }
}

/// The routes of `serve`: `GET /healthz`, `GET /metrics`, and notifications on any other path
/// (`demo` serves the same router).
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .fallback(notify)
        .with_state(app)
}

pub fn run(args: &Args) -> u8 {
    crate::logging::init();
    crate::block_on(async { serve(args).await.map(|()| EXIT_OK) })
}

async fn serve(args: &Args) -> Result<(), UsageError> {
    let service = args.service.service().await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| UsageError(format!("--listen {}: {e}", args.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| UsageError(format!("--listen: {e}")))?;
    let app = App::new(service);
    let purge = tokio::spawn(purge_periodically(
        app.clone(),
        args.retain_done_days,
        args.retain_unresolved_days,
    ));
    let router = router(app);
    println!("listening on {local}");
    tracing::info!(listen = %local, ledger = %args.service.ledger, "serving");
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    purge.abort();
    tracing::info!("stopped: in-flight requests finished");
    served.map_err(|e| UsageError(format!("server: {e}")))
}

/// Every notification, on any path.
async fn notify(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let limit = app.service.dispatcher().receiver().verifier().max_body();
    let outcome = match wechatpay_notify::axum::read_body(body, limit).await {
        Ok(body) => app.service.handle(&parts.headers, &body).await,
        Err(e) => Outcome::failed(e),
    };
    let elapsed = started.elapsed();
    log_and_count(&app.metrics, &outcome, parts.uri.path(), elapsed);
    outcome.reply.into_http().map(Body::from)
}

/// One log line and one count per request.
pub fn log_and_count(metrics: &Metrics, outcome: &Outcome, path: &str, elapsed: Duration) {
    let status = outcome.reply.status;
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    match &outcome.result {
        Ok(handled) => {
            let kind = handled.kind.unwrap_or("-");
            let result = if handled.duplicate_of.is_some() {
                "duplicate"
            } else {
                "processed"
            };
            metrics.record(kind, result, elapsed);
            tracing::info!(
                id = %handled.meta.id,
                event_type = %handled.meta.event_type,
                kind,
                outcome = result,
                duplicate_of = handled.duplicate_of.as_ref().map(DeliveryKey::as_str),
                violations = handled.violations,
                status,
                micros,
                path,
                "notification"
            );
        }
        Err(e) => {
            let kind = e.kind();
            metrics.record("-", kind.as_str(), elapsed);
            let level_warn = !kind.is_unauthenticated() || kind == ErrorKind::SignatureMismatch;
            if level_warn {
                tracing::warn!(outcome = kind.as_str(), error = %e, at = e.path(), status, micros, path, "notification");
            } else {
                tracing::info!(outcome = kind.as_str(), error = %e, at = e.path(), status, micros, path, "notification");
            }
        }
    }
}

/// 200 when the ledger answers, 503 otherwise.
async fn health(State(app): State<Arc<App>>) -> Response {
    let probe = DeliveryKey::v3("healthz");
    match app.service.ledger().record(&probe).await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("ledger: {e}\n")).into_response(),
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut text = app.metrics.render();
    let c = app.service.counters();
    text.push_str("# HELP wechatpay_notify_unauthenticated_total Requests not proven to come from WeChat Pay (never stored).\n");
    text.push_str("# TYPE wechatpay_notify_unauthenticated_total counter\n");
    text.push_str(&format!(
        "wechatpay_notify_unauthenticated_total {}\n",
        c.unauthenticated()
    ));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
        .into_response()
}

/// Purges old records once an hour.
async fn purge_periodically(app: Arc<App>, done_days: u32, unresolved_days: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let day = 86_400_i64;
        let ledger = app.service.ledger();
        for (days, statuses) in [
            (done_days, &[Status::Done][..]),
            (unresolved_days, &[Status::Failed, Status::Quarantined][..]),
        ] {
            match ledger.purge(now - i64::from(days) * day, statuses).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, days, "purged old records"),
                Err(e) => tracing::warn!(error = %e, "purge failed"),
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
