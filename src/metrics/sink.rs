//! Where a run's rows go. The report module writes them to CSV; tests and
//! sweeps that need only the summary use [`NullSink`].

use super::{SampleRow, TaskRecord};
use crate::error::Result;

/// Receives rows as the run produces them (nothing is kept in memory).
pub trait Sink {
    /// A task ended.
    fn task(&mut self, record: &TaskRecord<'_>) -> Result<()>;
    /// A utilisation sample of one device or node.
    fn sample(&mut self, row: &SampleRow<'_>) -> Result<()>;
}

/// Discards every row.
#[derive(Copy, Clone, Debug, Default)]
pub struct NullSink;

impl Sink for NullSink {
    fn task(&mut self, _: &TaskRecord<'_>) -> Result<()> {
        Ok(())
    }
    fn sample(&mut self, _: &SampleRow<'_>) -> Result<()> {
        Ok(())
    }
}
