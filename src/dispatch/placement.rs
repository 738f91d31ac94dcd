//! Whether the place a policy chose can take the task.

use crate::model::World;
use crate::policy::{EndReason, NodeId, Placement};

/// Whether a task with placement constraint set `constraint` needing
/// `memory_bytes` may go where `placement` says: the node must exist, its
/// constraints must allow it, and it must have that much memory in all.
/// The error is how the task ends.
#[inline]
pub fn check_placement(
    world: &World,
    placement: Placement,
    constraint: u16,
    memory_bytes: u64,
) -> Result<(), EndReason> {
    let Placement::Offload(NodeId(n)) = placement else { return Ok(()) };
    let Some(node) = world.nodes.get(n as usize) else { return Err(EndReason::InvalidPlacement) };
    if !world.constraints.allows(constraint, n as usize) {
        return Err(EndReason::InvalidPlacement);
    }
    if memory_bytes > node.memory_bytes {
        return Err(EndReason::InsufficientMemory);
    }
    Ok(())
}
