//! Summary statistics and Welch's t-test over per-ciphertext timings (nanoseconds).

/// One class's timings summarised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// 50th percentile.
    pub median: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Sample standard deviation (n − 1).
    pub stddev: f64,
}

/// Summarise `samples` (need not be sorted). `None` for fewer than two samples.
pub fn summarize(samples: &[u64]) -> Option<Summary> {
    if samples.len() < 2 {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as f64;
    let mean = sorted.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = sorted
        .iter()
        .map(|&x| {
            let d = x as f64 - mean;
            d * d
        })
        .sum::<f64>()
        / (n - 1.0);
    Some(Summary {
        count: sorted.len(),
        mean,
        median: percentile(&sorted, 50),
        p10: percentile(&sorted, 10),
        p90: percentile(&sorted, 90),
        stddev: var.sqrt(),
    })
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[u64], pct: usize) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let rank = (last * pct.min(100) + 50) / 100;
    sorted.get(rank).map_or(f64::NAN, |&x| x as f64)
}

/// Welch's t statistic of `b` against `a`: (mean_b − mean_a) / sqrt(s_a²/n_a + s_b²/n_b).
pub fn welch_t(a: &Summary, b: &Summary) -> f64 {
    let se = standard_error(a, b);
    if se == 0.0 {
        0.0
    } else {
        (b.mean - a.mean) / se
    }
}

/// sqrt(s_a²/n_a + s_b²/n_b): the mean difference that gives |t| = 1.
pub fn standard_error(a: &Summary, b: &Summary) -> f64 {
    (a.stddev * a.stddev / a.count as f64 + b.stddev * b.stddev / b.count as f64).sqrt()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_known_sample() {
        let s = summarize(&[5, 1, 4, 2, 3]).unwrap();
        assert_eq!(s.count, 5);
        assert!((s.mean - 3.0).abs() < 1e-9);
        assert!((s.median - 3.0).abs() < 1e-9);
        assert!((s.p10 - 1.0).abs() < 1e-9);
        assert!((s.p90 - 5.0).abs() < 1e-9);
        assert!((s.stddev - 2.5f64.sqrt()).abs() < 1e-9);
        assert!(summarize(&[1]).is_none());
    }

    #[test]
    fn welch_t_sees_a_shift_and_not_a_copy() {
        let a: Vec<u64> = (0..1000).map(|i| 1000 + i % 50).collect();
        let b: Vec<u64> = a.iter().map(|x| x + 10).collect();
        let (sa, sb) = (summarize(&a).unwrap(), summarize(&b).unwrap());
        assert!(welch_t(&sa, &sb) > 4.5);
        assert!(welch_t(&sa, &sa).abs() < 1e-9);
    }
}
