//! What `serve` counts, and the Prometheus text it answers `GET /metrics` with.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Request counts by kind and outcome, probes, and a latency histogram.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String), u64>>,
    probes: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// Counts one request: its kind (`-` when unknown), its outcome (`processed`,
    /// `duplicate`, or an error kind), and how long it took.
    pub fn record(&self, kind: &str, outcome: &str, elapsed: Duration) {
        {
            let mut requests = self
                .requests
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *requests
                .entry((kind.to_owned(), outcome.to_owned()))
                .or_default() += 1;
        }
        if outcome == "signature_probe" {
            self.probes.fetch_add(1, Ordering::Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP wechatpay_notify_requests_total Notification requests by kind and outcome.\n",
        );
        out.push_str("# TYPE wechatpay_notify_requests_total counter\n");
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((kind, outcome), n) in requests.iter() {
            let _ = writeln!(
                out,
                "wechatpay_notify_requests_total{{kind=\"{}\",outcome=\"{}\"}} {n}",
                escape(kind),
                escape(outcome)
            );
        }
        drop(requests);
        out.push_str("# HELP wechatpay_notify_probes_total WECHATPAY/SIGNTEST/ probes answered.\n");
        out.push_str("# TYPE wechatpay_notify_probes_total counter\n");
        let _ = writeln!(
            out,
            "wechatpay_notify_probes_total {}",
            self.probes.load(Ordering::Relaxed)
        );
        out.push_str("# HELP wechatpay_notify_request_duration_seconds Time from the request to the reply.\n");
        out.push_str("# TYPE wechatpay_notify_request_duration_seconds histogram\n");
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "wechatpay_notify_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "wechatpay_notify_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "wechatpay_notify_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "wechatpay_notify_request_duration_seconds_count {count}"
        );
        out
    }
}

/// A label value as the text format requires: backslash, quote and line feed escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("REFUND.SUCCESS", "processed", Duration::from_micros(800));
        m.record("REFUND.SUCCESS", "processed", Duration::from_millis(30));
        m.record("-", "signature_probe", Duration::from_micros(100));
        let text = m.render();
        assert!(text.contains(
            "wechatpay_notify_requests_total{kind=\"REFUND.SUCCESS\",outcome=\"processed\"} 2"
        ));
        assert!(text.contains("wechatpay_notify_probes_total 1"));
        assert!(text.contains("wechatpay_notify_request_duration_seconds_bucket{le=\"0.001\"} 2"));
        assert!(text.contains("wechatpay_notify_request_duration_seconds_bucket{le=\"0.05\"} 3"));
        assert!(text.contains("wechatpay_notify_request_duration_seconds_count 3"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
