//! How `offsim check` shows its verdict: a Markdown table (for CI logs and
//! pull-request comments) and, optionally, JUnit XML (for CI test views).

use super::baseline::Better;
use super::{CheckReport, Verdict};
use crate::stats::welch::Sample;

fn sample(s: &Sample) -> String {
    if s.n >= 2 { format!("{:.4} ± {:.4} (n={})", s.mean, s.std, s.n) } else { format!("{:.4} (n={})", s.mean, s.n) }
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::NotSignificant => "pass (worse, not significant)",
        Verdict::Better => "pass (better)",
        Verdict::Regression => "**REGRESSION**",
        Verdict::Missing => "**REGRESSION** (no value)",
    }
}

/// The Markdown table.
pub fn markdown(r: &CheckReport) -> String {
    let mut out = format!("### offsim check: {} against {}\n\n", r.results_file.display(), r.baseline_file.display());
    out +=
        "| case | metric | better | baseline (mean ± std) | current (mean ± std) | change | allowed | p | result |\n";
    out += "|---|---|---|---|---|---|---|---|---|\n";
    for l in &r.lines {
        let (current, change) = match &l.current {
            Some(c) => {
                let d = c.mean - l.baseline.mean;
                let rel = if l.baseline.mean != 0.0 {
                    format!(" ({:+.1} %)", 100.0 * d / l.baseline.mean.abs())
                } else {
                    String::new()
                };
                (sample(c), format!("{d:+.4}{rel}"))
            }
            None => ("-".into(), "-".into()),
        };
        let better = match l.better {
            Better::Lower => "lower",
            Better::Higher => "higher",
        };
        let p = l.p_value.map_or_else(|| "-".into(), |p| format!("{p:.3}"));
        out += &format!(
            "| {} | {} | {better} | {} | {current} | {change} | {:.4} | {p} | {} |\n",
            l.case,
            l.metric,
            sample(&l.baseline),
            l.allowed,
            verdict(l.verdict)
        );
    }
    let n = r.regressions();
    out += &format!(
        "\n{} of {} checks regressed (a regression: worse than the baseline by more than the allowed tolerance, \
         one-sided Welch t-test p < {}).\n",
        n,
        r.lines.len(),
        r.alpha
    );
    if !r.new_cases.is_empty() {
        out += &format!("Not in the baseline (not checked): {}.\n", r.new_cases.join("; "));
    }
    out += if n == 0 { "Result: PASS\n" } else { "Result: FAIL\n" };
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// JUnit XML: one test case per case and metric, failing on a regression.
pub fn junit(r: &CheckReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out += &format!(
        "<testsuites name=\"offsim check\" tests=\"{}\" failures=\"{}\">\n  <testsuite name=\"offsim check {}\" tests=\"{}\" failures=\"{}\">\n",
        r.lines.len(),
        r.regressions(),
        xml(&r.baseline_file.display().to_string()),
        r.lines.len(),
        r.regressions()
    );
    for l in &r.lines {
        out += &format!("    <testcase classname=\"{}\" name=\"{}\"", xml(&l.case), xml(&l.metric));
        if l.verdict.fails() {
            let current = l.current.as_ref().map_or_else(|| "no value".to_string(), sample);
            let msg = format!(
                "{} regressed: baseline {}, current {current}, allowed worsening {:.4}, p = {}",
                l.metric,
                sample(&l.baseline),
                l.allowed,
                l.p_value.map_or_else(|| "-".into(), |p| format!("{p:.4}"))
            );
            out += &format!(">\n      <failure message=\"{}\"/>\n    </testcase>\n", xml(&msg));
        } else {
            out += "/>\n";
        }
    }
    out += "  </testsuite>\n</testsuites>\n";
    out
}
