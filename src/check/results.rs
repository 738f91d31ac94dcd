//! Reading the results `offsim check` judges: a sweep directory
//! (`runs.csv`: one case per policy and grid point, one value per
//! replication) or a run directory (`summary.csv`: one case, its policy,
//! one value). A path to either file works too.

use crate::error::{Error, Result};
use crate::plan::slo::metric_value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The runs of one policy at one grid point.
#[derive(Clone, Debug)]
pub struct ResultCase {
    /// The policy's label.
    pub policy: String,
    /// Grid path -> value as written in `runs.csv`.
    pub parameters: BTreeMap<String, String>,
    /// The rows (replications) of the case.
    pub rows: Vec<Vec<String>>,
}

/// Loaded results.
#[derive(Clone, Debug)]
pub struct Results {
    /// The file read: `runs.csv` or `summary.csv`.
    pub file: PathBuf,
    /// The file's column names.
    pub columns: Vec<String>,
    /// In order of first appearance.
    pub cases: Vec<ResultCase>,
}

impl ResultCase {
    /// `policy` or `policy @ path=value, ...`.
    pub fn name(&self) -> String {
        case_name(&self.policy, &self.parameters)
    }
}

/// How a case is named in tables.
pub fn case_name(policy: &str, parameters: &BTreeMap<String, String>) -> String {
    if parameters.is_empty() {
        policy.to_string()
    } else {
        let p: Vec<String> = parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{policy} @ {}", p.join(", "))
    }
}

impl Results {
    /// Reads `path` (a directory with `runs.csv` or `summary.csv`, or one
    /// of those files).
    pub fn load(path: &Path) -> Result<Self> {
        let file = if path.is_dir() {
            let runs = path.join("runs.csv");
            if runs.exists() { runs } else { path.join("summary.csv") }
        } else {
            path.to_path_buf()
        };
        let fail = |m: String| Error::Scenario { file: file.display().to_string(), message: m };
        let mut reader = csv::Reader::from_path(&file).map_err(|e| {
            fail(format!(
                "cannot read results ({e}); expected a sweep directory (runs.csv) or a run directory (summary.csv)"
            ))
        })?;
        let columns: Vec<String> =
            reader.headers().map_err(|e| fail(format!("no header: {e}")))?.iter().map(str::to_string).collect();
        let policy_col = columns.iter().position(|c| c == "policy").ok_or_else(|| fail("no `policy` column".into()))?;
        let parameter_cols: Vec<(usize, String)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.strip_prefix("parameter_").map(|p| (i, p.to_string())))
            .collect();
        let mut cases: Vec<ResultCase> = Vec::new();
        for record in reader.records() {
            let row: Vec<String> =
                record.map_err(|e| fail(format!("bad row: {e}")))?.iter().map(str::to_string).collect();
            let policy = row[policy_col].clone();
            let parameters: BTreeMap<String, String> =
                parameter_cols.iter().map(|(i, p)| (p.clone(), row[*i].clone())).collect();
            match cases.iter_mut().find(|c| c.policy == policy && c.parameters == parameters) {
                Some(c) => c.rows.push(row),
                None => cases.push(ResultCase { policy, parameters, rows: vec![row] }),
            }
        }
        if cases.is_empty() {
            return Err(fail("no results in the file".into()));
        }
        Ok(Results { file, columns, cases })
    }

    /// The values of `metric` (canonical name) in `case`, one per row
    /// where it is defined.
    pub fn values(&self, case: &ResultCase, metric: &str) -> Vec<f64> {
        case.rows.iter().filter_map(|r| metric_value(&self.columns, r, metric)).collect()
    }
}
