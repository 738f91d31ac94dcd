//! Probability distributions declared in scenarios, and sampling from them.
//!
//! A scenario declares a distribution as a TOML table tagged by `kind`, in the
//! unit of the field that holds it (for example `work_mcycles`,
//! `jitter_ms`):
//!
//! ```toml
//! work_mcycles = { kind = "exponential", mean = 120 }
//! jitter_ms    = { kind = "normal", mean = 5, std = 2 }   # truncated at 0
//! ```
//!
//! Every kind yields non-negative values: `normal` is truncated at zero by
//! rejection (so its mean must be non-negative), the others are non-negative
//! by construction.

use crate::engine::SimRng;
use crate::stats::special::{erfc, gamma};
use rand::RngExt;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Normal, Pareto, Weibull};
use serde::{Deserialize, Serialize};

/// Largest value of any distribution parameter, in the field's unit.
pub const MAX_PARAMETER: f64 = 1e12;

/// A distribution as written in a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum DistSpec {
    /// Always `value`.
    Constant {
        /// The value, in the field's unit.
        value: f64,
    },
    /// Uniform on `[low, high]`.
    Uniform {
        /// Lower end, in the field's unit.
        low: f64,
        /// Upper end, in the field's unit.
        high: f64,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean, in the field's unit.
        mean: f64,
    },
    /// Normal, truncated at zero by rejection; `mean >= 0`.
    Normal {
        /// Mean before truncation, in the field's unit.
        mean: f64,
        /// Standard deviation before truncation, in the field's unit.
        std: f64,
    },
    /// Log-normal with the given mean and standard deviation of the value
    /// itself (not of its logarithm).
    Lognormal {
        /// Mean of the value, in the field's unit.
        mean: f64,
        /// Standard deviation of the value, in the field's unit.
        std: f64,
    },
    /// Pareto (type I): minimum `scale`, tail index `shape`.
    Pareto {
        /// Smallest value, in the field's unit.
        scale: f64,
        /// Tail index: the smaller, the heavier the tail.
        shape: f64,
    },
    /// Gamma with `shape` k and `scale` θ (mean kθ); integer k is Erlang.
    Gamma {
        /// Shape k, a pure number.
        shape: f64,
        /// Scale θ, in the field's unit.
        scale: f64,
    },
    /// Weibull with `scale` λ and `shape` k.
    Weibull {
        /// Scale λ, in the field's unit.
        scale: f64,
        /// Shape k, a pure number.
        shape: f64,
    },
}

impl DistSpec {
    /// A constant distribution.
    pub fn constant(value: f64) -> Self {
        DistSpec::Constant { value }
    }

    /// Checks the parameters; the error says what is expected. Parameters
    /// above [`MAX_PARAMETER`] are rejected: they would overflow the
    /// nanosecond clock or byte counters.
    pub fn validate(&self) -> Result<(), String> {
        fn finite(name: &str, v: f64) -> Result<(), String> {
            if !v.is_finite() {
                Err(format!("`{name}` must be a finite number, got {v}"))
            } else if v > MAX_PARAMETER {
                Err(format!("`{name}` must be at most {MAX_PARAMETER:e}, got {v}"))
            } else {
                Ok(())
            }
        }
        fn non_negative(name: &str, v: f64) -> Result<(), String> {
            finite(name, v)?;
            if v >= 0.0 { Ok(()) } else { Err(format!("`{name}` must be >= 0, got {v}")) }
        }
        fn positive(name: &str, v: f64) -> Result<(), String> {
            finite(name, v)?;
            if v > 0.0 { Ok(()) } else { Err(format!("`{name}` must be > 0, got {v}")) }
        }
        match *self {
            DistSpec::Constant { value } => non_negative("value", value),
            DistSpec::Uniform { low, high } => {
                non_negative("low", low)?;
                non_negative("high", high)?;
                if high >= low { Ok(()) } else { Err(format!("`high` ({high}) must be >= `low` ({low})")) }
            }
            DistSpec::Exponential { mean } => positive("mean", mean),
            DistSpec::Normal { mean, std } => {
                non_negative("mean", mean)?;
                non_negative("std", std)
            }
            DistSpec::Lognormal { mean, std } => {
                positive("mean", mean)?;
                non_negative("std", std)?;
                let (mu, sigma) = lognormal_params(mean, std);
                if mu.is_finite() && sigma.is_finite() {
                    Ok(())
                } else {
                    Err(format!(
                        "`std` ({std:?}) is too large for `mean` ({mean:?}): the logarithm's variance \
                         ln(1 + (std/mean)^2) must be finite, so std/mean must be at most {:.4e}",
                        f64::MAX.sqrt()
                    ))
                }
            }
            DistSpec::Pareto { scale, shape } | DistSpec::Weibull { scale, shape } => {
                positive("scale", scale)?;
                positive("shape", shape)
            }
            DistSpec::Gamma { shape, scale } => {
                positive("shape", shape)?;
                positive("scale", scale)
            }
        }
    }

    /// The mean, or infinity where it does not exist (Pareto with shape <= 1).
    /// For `normal` this is the mean of the truncated distribution.
    pub fn mean(&self) -> f64 {
        match *self {
            DistSpec::Constant { value } => value,
            DistSpec::Uniform { low, high } => (low + high) / 2.0,
            DistSpec::Exponential { mean } | DistSpec::Lognormal { mean, .. } => mean,
            DistSpec::Normal { mean, std } => truncated_normal_mean(mean, std),
            DistSpec::Pareto { scale, shape } => {
                if shape > 1.0 {
                    shape * scale / (shape - 1.0)
                } else {
                    f64::INFINITY
                }
            }
            DistSpec::Gamma { shape, scale } => shape * scale,
            DistSpec::Weibull { scale, shape } => scale * gamma(1.0 + 1.0 / shape),
        }
    }

    /// Builds a sampler; call [`DistSpec::validate`] first.
    pub fn sampler(&self) -> Sampler {
        match *self {
            DistSpec::Constant { value } => Sampler::Constant(value),
            DistSpec::Uniform { low, high } => Sampler::Uniform { low, width: high - low },
            DistSpec::Exponential { mean } => Sampler::Exp(Exp::new(1.0 / mean).expect("validated")),
            DistSpec::Normal { mean, std } => {
                if std == 0.0 {
                    Sampler::Constant(mean)
                } else {
                    Sampler::TruncNormal(Normal::new(mean, std).expect("validated"))
                }
            }
            DistSpec::Lognormal { mean, std } => {
                let (mu, sigma) = lognormal_params(mean, std);
                Sampler::LogNormal(LogNormal::new(mu, sigma).expect("validated"))
            }
            DistSpec::Pareto { scale, shape } => Sampler::Pareto(Pareto::new(scale, shape).expect("validated")),
            DistSpec::Gamma { shape, scale } => Sampler::Gamma(Gamma::new(shape, scale).expect("validated")),
            DistSpec::Weibull { scale, shape } => Sampler::Weibull(Weibull::new(scale, shape).expect("validated")),
        }
    }
}

/// A ready-to-draw distribution. Small and allocation-free.
#[derive(Clone, Debug)]
pub enum Sampler {
    /// Always this value.
    Constant(f64),
    /// Uniform on `[low, low + width]`.
    Uniform {
        /// Lower end, in the field's unit.
        low: f64,
        /// `high - low`, in the field's unit.
        width: f64,
    },
    /// Exponential.
    Exp(Exp<f64>),
    /// Normal, redrawn until the value is non-negative.
    TruncNormal(Normal<f64>),
    /// Log-normal, with the underlying normal's parameters.
    LogNormal(LogNormal<f64>),
    /// Pareto (type I).
    Pareto(Pareto<f64>),
    /// Gamma.
    Gamma(Gamma<f64>),
    /// Weibull.
    Weibull(Weibull<f64>),
}

impl Sampler {
    /// Draws one non-negative value. The common cheap cases are inlined
    /// where the model draws; the others are one call away.
    #[inline(always)]
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        match self {
            Sampler::Constant(v) => *v,
            Sampler::Uniform { low, width } => low + width * rng.random::<f64>(),
            Sampler::Exp(d) => d.sample(rng),
            _ => self.sample_other(rng),
        }
    }

    #[inline(never)]
    fn sample_other(&self, rng: &mut SimRng) -> f64 {
        match self {
            Sampler::Constant(_) | Sampler::Uniform { .. } | Sampler::Exp(_) => self.sample(rng),
            Sampler::TruncNormal(d) => loop {
                // Acceptance probability is at least 1/2 because mean >= 0.
                let x = d.sample(rng);
                if x >= 0.0 {
                    break x;
                }
            },
            Sampler::LogNormal(d) => d.sample(rng),
            Sampler::Pareto(d) => d.sample(rng),
            Sampler::Gamma(d) => d.sample(rng),
            Sampler::Weibull(d) => d.sample(rng),
        }
    }

    /// True when every draw is zero (lets the model skip work).
    pub fn is_zero(&self) -> bool {
        matches!(self, Sampler::Constant(v) if *v == 0.0)
    }
}

/// The underlying normal's (mu, sigma) of a log-normal whose values have
/// mean `mean` and standard deviation `std`: sigma^2 = ln(1 + (std/mean)^2),
/// mu = ln(mean) - sigma^2 / 2. Both are finite exactly when (std/mean)^2
/// is, that is std/mean <= sqrt(f64::MAX) (about 1.34e154); beyond, sigma is
/// infinite, which `LogNormal::new` rejects.
fn lognormal_params(mean: f64, std: f64) -> (f64, f64) {
    let sigma2 = (1.0 + (std / mean).powi(2)).ln();
    (mean.ln() - sigma2 / 2.0, sigma2.sqrt())
}

/// Mean of a normal(mean, std) truncated to [0, inf).
fn truncated_normal_mean(mean: f64, std: f64) -> f64 {
    if std == 0.0 {
        return mean;
    }
    let alpha = -mean / std;
    let pdf = (-alpha * alpha / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let tail = 0.5 * erfc(alpha / std::f64::consts::SQRT_2);
    mean + std * pdf / tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    fn sample_mean(spec: &DistSpec, n: usize) -> f64 {
        let s = spec.sampler();
        let mut rng = stream(1, "dist-test", 0);
        (0..n).map(|_| s.sample(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match_declared_means() {
        // Each check is within 4 standard errors of the mean (std/sqrt(n)).
        let n = 200_000;
        let cases = [
            (DistSpec::Exponential { mean: 3.0 }, 3.0),
            (DistSpec::Uniform { low: 1.0, high: 5.0 }, 4.0 / 12f64.sqrt()),
            (DistSpec::Lognormal { mean: 10.0, std: 5.0 }, 5.0),
            (DistSpec::Normal { mean: 1.0, std: 2.0 }, 2.0),
            (DistSpec::Gamma { shape: 3.0, scale: 2.0 }, 12f64.sqrt()),
            (DistSpec::Weibull { scale: 2.0, shape: 1.5 }, 1.4),
            (DistSpec::Pareto { scale: 1.0, shape: 4.0 }, (4.0f64 / (9.0 * 2.0)).sqrt()),
        ];
        for (spec, std) in cases {
            let want = spec.mean();
            let got = sample_mean(&spec, n);
            let tol = 4.0 * std / (n as f64).sqrt();
            assert!((got - want).abs() < tol, "{spec:?}: mean {got} vs {want} (tol {tol})");
        }
    }

    #[test]
    fn truncated_normal_is_non_negative() {
        let s = DistSpec::Normal { mean: 0.0, std: 1.0 }.sampler();
        let mut rng = stream(1, "dist-test", 1);
        assert!((0..10_000).all(|_| s.sample(&mut rng) >= 0.0));
        // Half-normal mean is std * sqrt(2/pi).
        let m = DistSpec::Normal { mean: 0.0, std: 1.0 }.mean();
        assert!((m - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn validation_names_the_bad_parameter() {
        let e = DistSpec::Exponential { mean: 0.0 }.validate().unwrap_err();
        assert!(e.contains("`mean` must be > 0"), "{e}");
        let e = DistSpec::Uniform { low: 2.0, high: 1.0 }.validate().unwrap_err();
        assert!(e.contains("`high`"), "{e}");
        let e = DistSpec::Constant { value: f64::NAN }.validate().unwrap_err();
        assert!(e.contains("finite"), "{e}");
        assert!(DistSpec::Normal { mean: -1.0, std: 1.0 }.validate().is_err());
    }

    #[test]
    fn lognormal_with_an_infinite_log_variance_is_rejected() {
        // std/mean beyond sqrt(f64::MAX) makes ln(1 + (std/mean)^2) infinite.
        for (mean, std) in [(1e-200, 1.0), (1e-300, 1.0), (5e-324, 1e-6), (1e-150, 1e12)] {
            let e = DistSpec::Lognormal { mean, std }.validate().unwrap_err();
            assert!(e.contains(&format!("`std` ({std:?}) is too large for `mean` ({mean:?})")), "{e}");
            assert!(e.contains("std/mean must be at most 1.3408e154"), "{e}");
        }
        // Just inside the limit, and a tiny mean without spread, still work.
        for (mean, std) in [(1e-142, 1e12), (1e-3, 1e12), (5e-324, 0.0)] {
            let spec = DistSpec::Lognormal { mean, std };
            assert_eq!(spec.validate(), Ok(()), "{spec:?}");
            let s = spec.sampler();
            let mut rng = stream(1, "dist-test", 2);
            assert!((0..100).all(|_| s.sample(&mut rng) >= 0.0), "{spec:?}");
        }
    }

    #[test]
    fn every_valid_spec_builds_a_sampler() {
        // `sampler` panics if a constructor rejects what `validate` accepted.
        let values =
            [0.0, 5e-324, 1e-300, 1e-200, 1e-6, 0.5, 1.0, 1e6, MAX_PARAMETER, 1e13, -1.0, f64::INFINITY, f64::NAN];
        let mut valid = 0;
        for &a in &values {
            let mut specs = vec![DistSpec::Constant { value: a }, DistSpec::Exponential { mean: a }];
            for &b in &values {
                specs.extend([
                    DistSpec::Uniform { low: a, high: b },
                    DistSpec::Normal { mean: a, std: b },
                    DistSpec::Lognormal { mean: a, std: b },
                    DistSpec::Pareto { scale: a, shape: b },
                    DistSpec::Gamma { shape: a, scale: b },
                    DistSpec::Weibull { scale: a, shape: b },
                ]);
            }
            for spec in specs.iter().filter(|s| s.validate().is_ok()) {
                let s = spec.sampler();
                let mut rng = stream(1, "dist-test", 3);
                for _ in 0..100 {
                    let x = s.sample(&mut rng);
                    assert!(x >= 0.0, "{spec:?} drew {x}");
                }
                valid += 1;
            }
        }
        assert!(valid > 200, "only {valid} valid specs");
    }
}
