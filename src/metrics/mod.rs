//! Per-task records, the summary accumulator and the latency histogram.

mod histogram;
mod record;
mod summary;

pub use histogram::Histogram;
pub use record::{SampleRow, TaskRecord};
pub use summary::{Summary, SummaryAccumulator, Totals};
