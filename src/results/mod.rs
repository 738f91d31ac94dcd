//! Result files: per-task and utilisation CSV streamed as the run goes,
//! `summary.csv`, and `manifest.json`. Every file is written under a
//! temporary name and renamed only when the whole run has succeeded, so a
//! failed run leaves no result file behind; a [`DirLock`] keeps a second
//! command out of a directory while one writes there.

mod atomic;
mod csv_sink;
mod directory;
mod lock;
mod manifest;
mod summary_csv;

pub use atomic::{FinishedFile, HashedFile, OutputDir, PendingFile};
pub use csv_sink::CsvSink;
pub use directory::{Provenance, RESULT_FILES, open_row_files, trace_sha256, write_results};
pub use lock::{DirLock, LOCK_FILE};
pub use manifest::{LiveManifest, Manifest, RNG_CRATES, rng_crates};
pub use summary_csv::write_summary;
