//! The domain: tasks and their lifecycle, devices, nodes with their image
//! caches and containers, and the world assembled from a scenario.

mod constraints;
mod device;
mod node;
mod queue;
mod settings;
mod streams;
mod task;
mod world;

pub use constraints::Constraints;
pub use device::{Device, DeviceClass};
pub use node::{ContainerState, ImageSlot, Node, Readiness};
pub use queue::TaskQueue;
pub use settings::Settings;
pub use streams::{Purpose, stream};
pub use task::{Phase, Stage, Task, TaskAttrs, TaskRef, TaskSlab};
pub use world::{Flow, Image, World};
