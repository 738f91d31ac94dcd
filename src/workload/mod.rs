//! Where tasks come from: generators declared on device classes, or a trace
//! replayed row by row. Both produce tasks in arrival order without holding
//! the workload in memory.

mod generator;
mod text;
mod trace;

pub use generator::Generators;
pub use text::{MAX_LINE_BYTES, TextGuard};
pub use trace::{MAX_VALUE, TRACE_COLUMNS, TraceReader, TraceRow};
