//! Where tasks come from: generators declared on device classes, or a trace
//! replayed row by row. Both produce tasks in arrival order without holding
//! the workload in memory.

mod generator;
mod trace;

pub use generator::Generators;
pub use trace::{TRACE_COLUMNS, TraceReader, TraceRow};

/// A task's attributes, whatever produced it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TaskAttrs {
    pub work_cycles: f64,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub memory_bytes: u64,
    pub image: Option<u16>,
    pub priority: u8,
    /// Relative to arrival.
    pub deadline_ns: Option<u64>,
}
