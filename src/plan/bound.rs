//! Whether one point meets an objective "with 95 % confidence".
//!
//! With `n >= 2` replication values of the metric (mean `m`, sample
//! standard deviation `s`), the one-sided upper bound is
//! `U = m + t(c, n - 1) s / sqrt(n)` and the lower bound
//! `L = m - t(c, n - 1) s / sqrt(n)`, with `t(c, df)` the `c` quantile of
//! Student's t (`c` = 0.95 by default). An upper limit (`metric <= x`,
//! `metric < x`) is **met** when `U` satisfies it, a lower limit (`>=`, `>`)
//! when `L` does: then the true mean meets the objective with confidence
//! `c` (under the usual normal approximation of the replication mean). The
//! objective is **violated** (confidently) when even the other bound fails
//! it; in between it is undecided. A point where the metric is undefined in
//! some replication (say, a latency without completed tasks) does not meet
//! it.

use super::slo::Slo;
use crate::stats::{Estimate, student};

/// One objective at one point.
#[derive(Clone, Debug)]
pub struct Judged {
    /// Replications with a value.
    pub n: usize,
    /// Replications without one.
    pub missing: usize,
    /// Mean over the replications with a value.
    pub mean: Option<f64>,
    /// Sample standard deviation over the replications with a value.
    pub std: Option<f64>,
    /// Two-sided 95 % interval of the mean (for the curve).
    pub ci95: Option<(f64, f64)>,
    /// The one-sided bound the objective is judged by (upper for `<=`,
    /// `<`; lower for `>=`, `>`).
    pub bound: Option<f64>,
    /// The bound satisfies the objective and every replication has a value.
    pub met: bool,
    /// Even the opposite bound fails the objective: confidently violated.
    pub violated: bool,
}

/// Judges `slo` from the replication values (`None` where undefined).
pub fn judge(slo: &Slo, values: &[Option<f64>], confidence: f64) -> Judged {
    let e = Estimate::of_present(values);
    let missing = values.len() - e.n;
    let ci95 = e.mean.zip(e.ci95_half_width).map(|(m, h)| (m - h, m + h));
    let mut j = Judged { n: e.n, missing, mean: e.mean, std: e.std, ci95, bound: None, met: false, violated: false };
    let (Some(mean), Some(std)) = (e.mean, e.std) else { return j };
    let half = student::quantile(confidence, (e.n - 1) as f64) * std / (e.n as f64).sqrt();
    let (bound, other) = if slo.op.is_upper_limit() { (mean + half, mean - half) } else { (mean - half, mean + half) };
    j.bound = Some(bound);
    j.met = missing == 0 && slo.op.holds(bound, slo.threshold);
    j.violated = !slo.op.holds(other, slo.threshold);
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_decides() {
        let cols = vec!["x".to_string()];
        let le = Slo::parse("x<=12", &cols).unwrap();
        // 8, 10, 12: mean 10, s = 2, t(0.95, 2) = 2.919986, U = 10 + 2.919986 * 2 / sqrt(3) = 13.371709.
        let v = [Some(8.0), Some(10.0), Some(12.0)];
        let j = judge(&le, &v, 0.95);
        assert!((j.bound.unwrap() - 13.371709).abs() < 1e-5, "{:?}", j.bound);
        assert!(!j.met && !j.violated, "the mean meets it, the bound does not");
        assert!(judge(&Slo::parse("x<=14", &cols).unwrap(), &v, 0.95).met);
        assert!(judge(&Slo::parse("x<=6", &cols).unwrap(), &v, 0.95).violated);
        let ge = judge(&Slo::parse("x>=6", &cols).unwrap(), &v, 0.95);
        assert!(ge.met && (ge.bound.unwrap() - 6.628291).abs() < 1e-5);
        let j = judge(&le, &[Some(1.0), None, Some(2.0)], 0.95);
        assert!(!j.met && j.missing == 1);
        assert!(!judge(&le, &[Some(1.0)], 0.95).met, "one replication gives no confidence");
    }
}
