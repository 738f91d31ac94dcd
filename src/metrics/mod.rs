//! Per-task records and where they go (a [`Sink`]), the summary
//! accumulator and the latency histogram.

mod histogram;
mod record;
mod sink;
mod summary;

pub use histogram::Histogram;
pub use record::{SampleRow, TaskRecord};
pub use sink::{NullSink, Sink};
pub use summary::{Summary, SummaryAccumulator, Totals};
