//! Latency histograms and their summaries.

use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

/// A latency histogram in microseconds, shared by many tasks: each record
/// holds the lock for a few nanoseconds.
pub struct Latencies(Mutex<Histogram<u64>>);

impl Latencies {
    pub fn new() -> Latencies {
        // 1 µs to 10 minutes, three significant digits.
        let h = Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds");
        Latencies(Mutex::new(h))
    }

    pub fn record(&self, d: Duration) {
        let us = d.as_micros().clamp(1, u64::MAX as u128) as u64;
        self.0.lock().saturating_record(us);
    }

    pub fn summary(&self) -> Summary {
        Summary::of(&self.0.lock())
    }

    /// The recorded values as (value, count) pairs, one per bucket in use:
    /// what another process merges with `absorb`.
    pub fn export(&self) -> Vec<(u64, u64)> {
        self.0
            .lock()
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    /// Adds the values another histogram `export`ed.
    pub fn absorb(&self, values: &[(u64, u64)]) {
        let mut h = self.0.lock();
        for &(v, n) in values {
            let _ = h.record_n(v.max(1), n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_histogram_absorbed_elsewhere_keeps_its_percentiles() {
        let a = Latencies::new();
        let b = Latencies::new();
        for us in 1..=10_000u64 {
            a.record(Duration::from_micros(us * 7));
        }
        b.record(Duration::from_millis(900));
        b.absorb(&a.export());
        let (sa, sb) = (a.summary(), b.summary());
        assert_eq!(sb.count, 10_001);
        assert_eq!(sb.p50_ms, sa.p50_ms);
        // Three significant digits: 900 ms is kept within 0.1 ms.
        assert!((sb.max_ms - 900.0).abs() < 0.1, "{}", sb.max_ms);
        assert_eq!(sb.p99_ms, sa.p99_ms);
    }
}

/// Percentiles of a latency histogram, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    fn of(h: &Histogram<u64>) -> Summary {
        if h.is_empty() {
            return Summary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Summary {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }

    /// `p50 1.2 ms, p90 ..., max ...` for the human summary.
    pub fn line(&self) -> String {
        if self.count == 0 {
            return "no samples".to_owned();
        }
        format!(
            "p50 {} / p90 {} / p99 {} / p99.9 {} / max {} ms (n={})",
            fmt_ms(self.p50_ms),
            fmt_ms(self.p90_ms),
            fmt_ms(self.p99_ms),
            fmt_ms(self.p999_ms),
            fmt_ms(self.max_ms),
            self.count
        )
    }
}

pub fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}
