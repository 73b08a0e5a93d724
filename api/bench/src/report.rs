//! What the benchmarks print: throughput and latency percentiles.

use std::time::Duration;

/// Percentiles of a latency sample.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    pub samples: usize,
}

impl Latency {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| {
            samples
                .get(((samples.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        Self {
            p50: at(0.50),
            p99: at(0.99),
            samples: samples.len(),
        }
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2?}, p99 {:.2?} ({} samples)",
            self.p50, self.p99, self.samples
        )
    }
}

/// How many of something (`unit`) took how long.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub count: usize,
    pub unit: &'static str,
    pub elapsed: Duration,
}

impl Throughput {
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
}

impl std::fmt::Display for Throughput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} in {:.2?}: {:.0} {}/s",
            self.count,
            self.unit,
            self.elapsed,
            self.per_second(),
            self.unit
        )
    }
}
