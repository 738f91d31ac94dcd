//! Welch's one-sided t-test of "the current mean is worse than the
//! baseline mean by more than the tolerance".
//!
//! With current sample (mean `m1`, std `s1`, size `n1`) and baseline sample
//! (`m0`, `s0`, `n0`), orient the difference so that positive is worse:
//! `d = m1 - m0` when lower is better, `m0 - m1` when higher is better.
//! The null hypothesis is `true d <= tol` (within tolerance), the
//! alternative `true d > tol`. The statistic is
//! `t = (d - tol) / sqrt(s1^2/n1 + s0^2/n0)` with Welch-Satterthwaite degrees
//! of freedom, and the p-value is `P(T > t)`. A side with fewer than two
//! values contributes no variance; if neither contributes any (single runs,
//! or identical replications), the comparison is exact: p = 0 when
//! `d > tol`, else 1.

use super::estimate::Estimate;
use super::student;

/// A sample summarised.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Sample {
    /// Sample size.
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 when `n < 2`.
    pub std: f64,
}

impl Sample {
    /// The summary of `xs` (not empty).
    pub fn of(xs: &[f64]) -> Self {
        let e = Estimate::of(xs);
        Sample { n: e.n, mean: e.mean.unwrap_or(f64::NAN), std: e.std.unwrap_or(0.0) }
    }

    fn var_of_mean(&self) -> f64 {
        if self.n < 2 { 0.0 } else { self.std * self.std / self.n as f64 }
    }
}

/// The test's result.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Welch {
    /// Worsening beyond tolerance, `d - tol` (positive: worse than allowed).
    pub excess: f64,
    /// Welch's t statistic; `None` when neither sample has variance.
    pub t: Option<f64>,
    /// Welch-Satterthwaite degrees of freedom; `None` when neither sample has variance.
    pub df: Option<f64>,
    /// One-sided p-value of a worsening beyond the tolerance.
    pub p_value: f64,
}

/// Tests whether `worse` (the oriented difference `d`, positive = worse)
/// exceeds `tolerance`.
pub fn test(current: &Sample, baseline: &Sample, worse: f64, tolerance: f64) -> Welch {
    let excess = worse - tolerance;
    let (v1, v0) = (current.var_of_mean(), baseline.var_of_mean());
    let se2 = v1 + v0;
    if se2 <= 0.0 || !se2.is_finite() {
        return Welch { excess, t: None, df: None, p_value: if excess > 0.0 { 0.0 } else { 1.0 } };
    }
    let t = excess / se2.sqrt();
    let part = |v: f64, n: usize| if n < 2 { 0.0 } else { v * v / (n - 1) as f64 };
    let df = se2 * se2 / (part(v1, current.n) + part(v0, baseline.n));
    let p_value = 1.0 - student::cdf(t, df);
    Welch { excess, t: Some(t), df: Some(df), p_value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_by_hand() {
        // Current 12, 14, 16 (mean 14, s 2); baseline 10, 10.5, 11, 12.5
        // (mean 11, s = 1.080123). se^2 = 4/3 + 1.166667/4 = 1.625;
        // t = 3 / 1.274755 = 2.353394; df = 1.625^2 / ((4/3)^2/2 + 0.291667^2/3)
        // = 2.640625 / (0.888889 + 0.028356) = 2.878854.
        let c = Sample::of(&[12.0, 14.0, 16.0]);
        let b = Sample::of(&[10.0, 10.5, 11.0, 12.5]);
        let w = test(&c, &b, c.mean - b.mean, 0.0);
        assert!((w.t.unwrap() - 2.353394).abs() < 1e-5, "{w:?}");
        assert!((w.df.unwrap() - 2.878854).abs() < 1e-4, "{w:?}");
        assert!(w.p_value > 0.04 && w.p_value < 0.06, "{w:?}");
        // A tolerance of 3 absorbs the whole difference.
        assert!(test(&c, &b, c.mean - b.mean, 3.0).p_value >= 0.5);
        // Exact comparisons without variance.
        let one = Sample::of(&[5.0]);
        assert_eq!(test(&one, &one, 0.0, 0.0).p_value, 1.0);
        assert_eq!(test(&Sample::of(&[6.0]), &one, 1.0, 0.5).p_value, 0.0);
    }
}
