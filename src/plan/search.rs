//! Galloping and bisection for the smallest value that passes, assuming
//! the outcome is monotone in the value (fails below some value, passes
//! from it on).
//!
//! Over `lo..=hi`: probe `lo`, `lo + 1`, `lo + 3`, `lo + 7`, ... (`lo + 2^k
//! - 1`, the last probe capped at `hi`) until one passes; then bisect between
//! the largest failing and the smallest passing value. About `2 log2(hi - lo)`
//! probes instead of `hi - lo + 1`, and few when the answer is near `lo`.

/// What to do next.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Run the replications at this value next.
    Probe(i64),
    /// The smallest passing value.
    Found(i64),
    /// Even `hi` fails.
    NotMet,
}

/// The search state of one policy.
#[derive(Clone, Debug)]
pub struct Search {
    lo: i64,
    hi: i64,
    /// Largest value seen failing.
    failing: Option<i64>,
    /// Smallest value seen passing.
    passing: Option<i64>,
}

impl Search {
    /// A search of `lo..=hi` (inclusive); `lo` must not exceed `hi`.
    pub fn new(lo: i64, hi: i64) -> Self {
        assert!(lo <= hi, "empty range");
        Search { lo, hi, failing: None, passing: None }
    }

    /// The next step.
    pub fn next(&self) -> Step {
        match (self.failing, self.passing) {
            (None, None) => Step::Probe(self.lo),
            (None, Some(p)) => Step::Found(p),
            (Some(f), None) if f >= self.hi => Step::NotMet,
            // Galloping: the next probe doubles the distance from lo.
            (Some(f), None) => Step::Probe((f - self.lo).saturating_mul(2).saturating_add(self.lo + 1).min(self.hi)),
            (Some(f), Some(p)) if p - f <= 1 => Step::Found(p),
            (Some(f), Some(p)) => Step::Probe(f + (p - f) / 2),
        }
    }

    /// Records the outcome at `value`.
    pub fn record(&mut self, value: i64, pass: bool) {
        if pass {
            self.passing = Some(self.passing.map_or(value, |p| p.min(value)));
        } else {
            self.failing = Some(self.failing.map_or(value, |f| f.max(value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lo: i64, hi: i64, threshold: i64) -> (Step, Vec<i64>) {
        let mut s = Search::new(lo, hi);
        let mut probes = Vec::new();
        loop {
            match s.next() {
                Step::Probe(v) => {
                    assert!((lo..=hi).contains(&v) && !probes.contains(&v), "{v} in {probes:?}");
                    probes.push(v);
                    s.record(v, v >= threshold);
                }
                done => return (done, probes),
            }
        }
    }

    #[test]
    fn finds_the_threshold_with_few_probes() {
        for t in 1..=64 {
            let (step, probes) = run(1, 64, t);
            assert_eq!(step, Step::Found(t), "{probes:?}");
            assert!(probes.len() <= 13, "threshold {t}: {} probes {probes:?}", probes.len());
        }
        assert_eq!(run(1, 64, 1).1, [1]);
        assert_eq!(run(1, 64, 6).1, [1, 2, 4, 8, 6, 5]);
        assert_eq!(run(1, 64, 65), (Step::NotMet, vec![1, 2, 4, 8, 16, 32, 64]));
        assert_eq!(run(5, 5, 5).0, Step::Found(5));
        assert_eq!(run(5, 5, 6).0, Step::NotMet);
    }
}
