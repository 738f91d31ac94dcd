//! The task core both backends share: what happens to a task between the
//! backend noticing it and the backend carrying it out, and again when it
//! ends.
//!
//! ```text
//!  backend (sim or live)             dispatch                         policy
//!  arrival ───────────────► task_view ─► Knowledge::decide ─────► decide(task, view)
//!                                       (reports + World)              │
//!  carry out ◄───────────── check_placement ◄──────────────────────────┘
//!  node report ───────────► Knowledge::report
//!  end ───────────────────► Outcomes::record ─► summary, sink row ─► observe(outcome)
//! ```
//!
//! The simulator and the live backend differ in how they *measure* (model
//! state against workers' reports) and *execute* (events against
//! containers), never in how a measurement becomes the policy's view, how a
//! placement is checked, or how an ended task becomes its row, its share of
//! the summary and the policy's outcome. Units and defaults come from the
//! resolved [`crate::model::World`], never from the raw scenario.

mod knowledge;
mod outcome;
mod placement;
mod view;

pub use knowledge::Knowledge;
pub use outcome::{Ending, Outcomes};
pub use placement::check_placement;
pub use view::{NodeReport, device_view, node_view, task_view};
