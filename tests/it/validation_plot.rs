//! The validation plot: `offsim::plot::render_validation` draws a
//! `validation.csv` as `plots/validation.png` and `.svg` with content (the
//! PNG decoded: size, colours, drawn pixels; the SVG names the policies),
//! and a missing or malformed table is an error naming the file.

use crate::helpers::{Png, TempDir, png_content};
use std::fs;

const HEADER: &str = "policy,metric,simulated,live_median,live_ci95_lo,live_ci95_hi,error,error_unit\n";

/// Three policies, every metric; some cells empty as `offsim validate`
/// leaves them (no live interval from one run, no node work when local).
const TABLE: &str = "\
local,latency_p50_ms,41.5,44.2,40.1,47.9,0.0651,relative
local,latency_p95_ms,88.0,97.3,90.2,104.8,0.1057,relative
local,offload_fraction,0,0,0,0,0,points
local,device_cpu_utilisation,0.62,0.66,0.6,0.71,4.0,points
local,node_cpu_utilisation,,,,,,points
local,device_energy_j,120.5,131.0,125.2,137.7,0.0871,relative
local,node_energy_j,0,0,0,0,,relative
offload-all,latency_p50_ms,63.0,58.1,52.3,61.0,-0.0778,relative
offload-all,latency_p95_ms,140.2,171.9,,,0.2261,relative
offload-all,offload_fraction,1,1,1,1,0,points
offload-all,device_cpu_utilisation,0.08,0.1,0.07,0.12,2.0,points
offload-all,node_cpu_utilisation,0.41,0.35,0.3,0.4,-6.0,points
offload-all,device_energy_j,60.2,55.0,51.0,59.4,-0.0864,relative
offload-all,node_energy_j,210.0,240.3,228.0,251.0,0.1443,relative
threshold,latency_p50_ms,47.9,49.0,46.5,52.2,0.023,relative
threshold,latency_p95_ms,101.0,,,,,relative
threshold,offload_fraction,0.38,0.44,0.4,0.47,6.0,points
threshold,device_cpu_utilisation,0.4,0.37,0.33,0.41,-3.0,points
threshold,node_cpu_utilisation,0.17,0.2,0.16,0.23,3.0,points
threshold,device_energy_j,95.4,101.1,97.0,104.6,0.0598,relative
threshold,node_energy_j,88.1,80.2,76.0,85.9,-0.0897,relative
";

#[test]
fn draws_the_validation_table_and_rejects_a_malformed_one() {
    let dir = TempDir::new("validation-plot", "good");
    fs::write(dir.join("validation.csv"), format!("{HEADER}{TABLE}")).unwrap();
    let written = offsim::plot::render_validation(&dir.0).unwrap();
    assert_eq!(written, ["validation.png", "validation.svg"]);

    let Png { size, colours, inked } = png_content(&dir.join("plots/validation.png"));
    assert_eq!(size, offsim::plot::style::SIZE);
    assert!(colours >= 5, "only {colours} colours");
    assert!(inked > 0.02, "only {:.1} % of pixels drawn", 100.0 * inked);
    let svg = fs::read_to_string(dir.join("plots/validation.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "not an SVG document");
    for policy in ["local", "offload-all", "threshold"] {
        assert!(svg.contains(policy), "the SVG does not name {policy}");
    }
    assert!(svg.contains("#0072B2") && svg.contains("#E69F00"), "the SVG uses no palette colours");

    // A cell that is not a number: the error names the file, the line and
    // the column, and no plot is written.
    let bad = TempDir::new("validation-plot", "bad");
    let rows = "\
local,latency_p50_ms,41.5,44.2,40.1,47.9,0.0651,relative
local,latency_p95_ms,fast,97.3,90.2,104.8,0.1057,relative
";
    fs::write(bad.join("validation.csv"), format!("{HEADER}{rows}")).unwrap();
    let e = offsim::plot::render_validation(&bad.0).unwrap_err().to_string();
    assert!(e.contains("validation.csv") && e.contains("line 3") && e.contains("simulated"), "{e}");
    assert!(!bad.join("plots").exists());

    // A missing column and a missing file are errors too.
    fs::write(bad.join("validation.csv"), "policy,metric,simulated\nlocal,latency_p50_ms,41.5\n").unwrap();
    let e = offsim::plot::render_validation(&bad.0).unwrap_err().to_string();
    assert!(e.contains("validation.csv") && e.contains("line 1") && e.contains("live_median"), "{e}");
    fs::remove_file(bad.join("validation.csv")).unwrap();
    let e = offsim::plot::render_validation(&bad.0).unwrap_err().to_string();
    assert!(e.contains("validation.csv"), "{e}");
}
