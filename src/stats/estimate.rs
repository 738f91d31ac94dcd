//! Replication statistics: mean, sample standard deviation, the 95 %
//! Student-t confidence interval, and the paired difference of two policies
//! over the same replications (common random numbers).
//!
//! Sums run in replication order, so the figures do not depend on how the
//! runs were scheduled.

/// Two-sided 95 % quantiles of Student's t (t_{0.975, df}) for df = 1..=30.
const T975: [f64; 30] = [
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139, 2.200985,
    2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873,
    2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
];

/// t_{0.975, df} beyond 30 degrees of freedom; between entries (and up to
/// the normal quantile at infinity) the quantile is interpolated linearly
/// in 1/df, which is accurate to about 1e-4.
const T975_LARGE: [(u64, f64); 6] =
    [(30, 2.042272), (40, 2.021075), (60, 2.000298), (80, 1.990063), (120, 1.979930), (u64::MAX, 1.959964)];

/// The 0.975 quantile of Student's t with `df` degrees of freedom (`df >= 1`):
/// the factor of a two-sided 95 % confidence interval.
pub fn t975(df: u64) -> f64 {
    assert!(df >= 1, "t quantile needs at least one degree of freedom");
    if df <= 30 {
        return T975[df as usize - 1];
    }
    let inv = |d: u64| if d == u64::MAX { 0.0 } else { 1.0 / d as f64 };
    for w in T975_LARGE.windows(2) {
        let ((d0, t0), (d1, t1)) = (w[0], w[1]);
        if df <= d1 {
            let f = (inv(d0) - inv(df)) / (inv(d0) - inv(d1));
            return t0 + f * (t1 - t0);
        }
    }
    unreachable!("the table ends at infinity")
}

/// Mean and 95 % confidence interval of a sample of replications.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Estimate {
    /// Values in the sample.
    pub n: usize,
    /// `None` when `n == 0`.
    pub mean: Option<f64>,
    /// Sample standard deviation (n - 1 in the denominator); `None` when `n < 2`.
    pub std: Option<f64>,
    /// Half-width of the 95 % Student-t interval, `t_{0.975, n-1} * std / sqrt(n)`;
    /// `None` when `n < 2`.
    pub ci95_half_width: Option<f64>,
}

impl Estimate {
    /// The estimate of `xs`.
    pub fn of(xs: &[f64]) -> Self {
        let n = xs.len();
        if n == 0 {
            return Self::default();
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Self { n, mean: Some(mean), std: None, ci95_half_width: None };
        }
        let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        let std = (ss / (n - 1) as f64).sqrt();
        let half = t975(n as u64 - 1) * std / (n as f64).sqrt();
        Self { n, mean: Some(mean), std: Some(std), ci95_half_width: Some(half) }
    }

    /// The estimate of the values present in `xs`.
    pub fn of_present(xs: &[Option<f64>]) -> Self {
        Self::of(&xs.iter().flatten().copied().collect::<Vec<_>>())
    }

    /// The paired difference `a[r] - b[r]` over the replications `r` where
    /// both values are present.
    pub fn paired(a: &[Option<f64>], b: &[Option<f64>]) -> Self {
        let d: Vec<f64> = a.iter().zip(b).filter_map(|(x, y)| Some((*x)? - (*y)?)).collect();
        Self::of(&d)
    }

    /// Whether the confidence interval excludes 0; `None` when it is undefined.
    pub fn excludes_zero(&self) -> Option<bool> {
        let (m, h) = (self.mean?, self.ci95_half_width?);
        Some(m - h > 0.0 || m + h < 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn t_quantiles_match_tables() {
        assert_eq!(t975(1), 12.706205);
        assert_eq!(t975(4), 2.776445);
        assert_eq!(t975(30), 2.042272);
        assert_eq!(t975(40), 2.021075);
        assert_eq!(t975(120), 1.979930);
        // Interpolated in 1/df: exact values 2.008559 (50), 1.983972 (100),
        // 1.962339 (1000).
        assert!((t975(50) - 2.008559).abs() < 2e-4, "{}", t975(50));
        assert!((t975(100) - 1.983972).abs() < 2e-4, "{}", t975(100));
        assert!((t975(1000) - 1.962339).abs() < 1e-4, "{}", t975(1000));
        assert!((t975(u64::MAX) - 1.959964).abs() < 1e-9);
        let mut last = f64::INFINITY;
        for df in 1..2000 {
            assert!(t975(df) < last, "decreasing at {df}");
            last = t975(df);
        }
    }

    #[test]
    fn mean_std_and_interval_by_hand() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, s^2 = 32/7,
        // s = 2.138090, half-width = 2.364624 * 2.138090 / sqrt(8) = 1.787488.
        let e = Estimate::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(e.n, 8);
        assert!(close(e.mean.unwrap(), 5.0));
        assert!(close(e.std.unwrap(), 2.138090), "{:?}", e.std);
        assert!(close(e.ci95_half_width.unwrap(), 1.787488), "{:?}", e.ci95_half_width);
        assert_eq!(e.excludes_zero(), Some(true));
        // 1, 3: mean 2, s = sqrt(2), half-width = 12.706205 * sqrt(2) / sqrt(2).
        let e = Estimate::of(&[1.0, 3.0]);
        assert!(close(e.ci95_half_width.unwrap(), 12.706205));
        assert_eq!(e.excludes_zero(), Some(false));
    }

    #[test]
    fn small_samples_leave_the_interval_undefined() {
        assert_eq!(Estimate::of(&[]), Estimate::default());
        let e = Estimate::of(&[3.5]);
        assert_eq!((e.n, e.mean, e.std, e.ci95_half_width), (1, Some(3.5), None, None));
        assert_eq!(e.excludes_zero(), None);
        let e = Estimate::of_present(&[None, Some(2.0), None]);
        assert_eq!((e.n, e.mean), (1, Some(2.0)));
    }

    #[test]
    fn paired_differences_by_hand() {
        // Policy 10, 12, 11, 15 against baseline 9, 10, 10, 12: differences
        // 1, 2, 1, 3: mean 1.75, s^2 = (0.5625 + 0.0625 + 0.5625 + 1.5625) / 3
        // = 0.916667, s = 0.957427, half-width = 3.182446 * 0.957427 / 2
        // = 1.523480; the interval [0.226520, 3.273480] excludes 0.
        let a = [Some(10.0), Some(12.0), Some(11.0), Some(15.0)];
        let b = [Some(9.0), Some(10.0), Some(10.0), Some(12.0)];
        let d = Estimate::paired(&a, &b);
        assert_eq!(d.n, 4);
        assert!(close(d.mean.unwrap(), 1.75));
        assert!(close(d.std.unwrap(), 0.957427), "{:?}", d.std);
        assert!(close(d.ci95_half_width.unwrap(), 1.523480), "{:?}", d.ci95_half_width);
        assert_eq!(d.excludes_zero(), Some(true));
        // Unpaired, the same samples overlap: the pairing is what makes the
        // difference significant.
        let (ea, eb) = (Estimate::of_present(&a), Estimate::of_present(&b));
        assert!(ea.mean.unwrap() - ea.ci95_half_width.unwrap() < eb.mean.unwrap() + eb.ci95_half_width.unwrap());
        // Replications where either value is missing are left out.
        let d = Estimate::paired(&[Some(1.0), None, Some(4.0), Some(2.0)], &[Some(0.0), Some(5.0), None, Some(2.0)]);
        assert_eq!(d.n, 2);
        assert!(close(d.mean.unwrap(), 0.5));
        assert_eq!(d.excludes_zero(), Some(false), "1 and 0 give [-5.85, 6.85]");
        // Identical runs: zero difference, zero width, not significant.
        let d = Estimate::paired(&b, &b);
        assert_eq!((d.mean, d.ci95_half_width, d.excludes_zero()), (Some(0.0), Some(0.0), Some(false)));
    }
}
