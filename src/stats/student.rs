//! Student's t distribution for any (also fractional) degrees of freedom:
//! the distribution function, through the regularised incomplete beta
//! function, and its quantiles, by bisection. Used for one-sided bounds
//! (`offsim plan`) and Welch's test (`offsim check`), where the level is
//! configurable and Welch's degrees of freedom are not whole numbers.

use super::special::ln_gamma;

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function I_x(a, b).
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// P(T <= t) for Student's t with `df` > 0 degrees of freedom.
pub fn cdf(t: f64, df: f64) -> f64 {
    assert!(df > 0.0, "Student's t needs positive degrees of freedom");
    if t.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * inc_beta(0.5 * df, 0.5, df / (df + t * t));
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// The `p` quantile (0 < p < 1) of Student's t with `df` > 0 degrees of
/// freedom, to about 1e-10.
pub fn quantile(p: f64, df: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0, "a quantile needs 0 < p < 1");
    if p < 0.5 {
        return -quantile(1.0 - p, df);
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while cdf(hi, df) < p {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_tables() {
        // t_{0.95, df} and t_{0.975, df} from standard tables.
        for (df, q95, q975) in [
            (1.0, 6.313752, 12.706205),
            (2.0, 2.919986, 4.302653),
            (4.0, 2.131847, 2.776445),
            (9.0, 1.833113, 2.262157),
            (29.0, 1.699127, 2.045230),
            (120.0, 1.657651, 1.979930),
        ] {
            assert!((quantile(0.95, df) - q95).abs() < 1e-5, "df {df}: {}", quantile(0.95, df));
            assert!((quantile(0.975, df) - q975).abs() < 1e-5, "df {df}: {}", quantile(0.975, df));
        }
        assert!((cdf(0.0, 3.5) - 0.5).abs() < 1e-12);
        assert!((cdf(-2.131847, 4.0) - 0.05).abs() < 1e-6);
        assert!((quantile(0.05, 7.3) + quantile(0.95, 7.3)).abs() < 1e-9);
        // Fractional degrees of freedom lie between their neighbours.
        let q = quantile(0.95, 4.5);
        assert!(q < quantile(0.95, 4.0) && q > quantile(0.95, 5.0));
    }
}
