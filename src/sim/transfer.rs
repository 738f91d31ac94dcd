//! Messages on links: admission, transmission completion, loss and
//! retransmission, delivery to the next hop, and the device radio's state.

use super::{Event, Simulation, Sink};
use crate::engine::{PendingEvents, Scheduler, SimTime};
use crate::model::{Flow, Stage};
use crate::policy::{EndReason, NodeId, Placement, Policy};

impl<P: Policy, S: Sink> Simulation<P, S> {
    /// Bits of `flow`'s message, or `None` if its task has ended.
    fn flow_bits(&self, flow: Flow) -> Option<f64> {
        match flow {
            Flow::Task { task, device } => {
                let t = self.tasks.get(task)?;
                let header = self.world.class_of(device).protocol.header_bytes;
                let bytes = match t.stage {
                    Stage::UpAccess | Stage::UpNode => t.input_bytes,
                    Stage::DownNode | Stage::DownAccess => t.output_bytes,
                    other => unreachable!("task message in stage {other:?}"),
                };
                Some((bytes as f64 + header as f64) * 8.0)
            }
            Flow::Pull { image, .. } => Some(self.world.images[image as usize].bytes as f64 * 8.0),
        }
    }

    /// Puts `flow`'s message on `link`.
    pub(super) fn transmit<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        link: u32,
        flow: Flow,
        s: &mut Scheduler<Event, Q>,
    ) {
        let Some(bits) = self.flow_bits(flow) else { return };
        let admit = self.world.links[link as usize].admit(now, flow, bits);
        if admit.transmitting {
            self.radio(now, link, flow, true, s);
        }
        if let Some((t, generation)) = admit.schedule {
            s.at(t, Event::TxDone { link, generation });
        }
    }

    pub(super) fn on_tx_done<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        link: u32,
        generation: u32,
        s: &mut Scheduler<Event, Q>,
    ) {
        let mut done = std::mem::take(&mut self.finished_flows);
        let c = self.world.links[link as usize].complete(now, generation, &mut done);
        if let Some((t, g)) = c.schedule {
            s.at(t, Event::TxDone { link, generation: g });
        }
        if let Some(f) = c.started {
            self.radio(now, link, f, true, s);
        }
        for flow in done.drain(..) {
            self.radio(now, link, flow, false, s);
            if let Flow::Task { task, .. } = flow
                && self.tasks.get(task).is_none()
            {
                continue; // its task ended while it crossed
            }
            let l = &mut self.world.links[link as usize];
            match l.propagate() {
                Some(delay) => s.after(delay, Event::Delivered { flow }),
                None => s.after(l.retransmit_ns(), Event::Retransmit { link, flow }),
            }
        }
        self.finished_flows = done;
    }

    /// Starts (`on`) or stops a device radio transmission or reception when
    /// `flow` is a task message on its device's access link. A task is
    /// charged its share of the radio power while its message is on air.
    fn radio<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        link: u32,
        flow: Flow,
        on: bool,
        s: &mut Scheduler<Event, Q>,
    ) {
        let Flow::Task { task, device } = flow else { return };
        let (up, down) = self.world.networks[self.world.class_of(device).network as usize];
        if link != up && link != down {
            return;
        }
        self.device_touch(now, device);
        let dev = &mut self.world.devices[device as usize];
        let (counter, share) = if link == up { (&mut dev.tx, dev.tx_share_j) } else { (&mut dev.rx, dev.rx_share_j) };
        if on {
            *counter += 1;
        } else {
            *counter -= 1;
        }
        if let Some(t) = self.tasks.get_mut(task) {
            if on {
                t.radio_mark_j = share;
            } else {
                t.energy_j += share - t.radio_mark_j;
            }
            t.on_air = on;
        }
        self.device_settle(now, device, s);
    }

    pub(super) fn on_delivered<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        flow: Flow,
        s: &mut Scheduler<Event, Q>,
    ) {
        match flow {
            Flow::Pull { node, image } => {
                let n = &mut self.world.nodes[node as usize];
                let up_at = n.pulled(now, image as usize);
                let mut waiters = std::mem::take(&mut self.scratch_tasks);
                waiters.append(&mut n.images[image as usize].waiters);
                for w in waiters.drain(..) {
                    if self.tasks.get(w).is_some() {
                        s.at(up_at, Event::Ready { task: w, node });
                    }
                }
                self.scratch_tasks = waiters;
            }
            Flow::Task { task, device } => {
                let Some(t) = self.tasks.get_mut(task) else { return };
                let Placement::Offload(NodeId(n)) = t.placement else { unreachable!("local task on a link") };
                match t.stage {
                    Stage::UpAccess => {
                        t.stage = Stage::UpNode;
                        let link = self.world.nodes[n as usize].up_link;
                        self.transmit(now, link, flow, s);
                    }
                    Stage::UpNode => self.arrive_at_node(now, task, n, s),
                    Stage::DownNode => {
                        t.stage = Stage::DownAccess;
                        let link = self.world.networks[self.world.class_of(device).network as usize].1;
                        self.transmit(now, link, flow, s);
                    }
                    Stage::DownAccess => self.end(now, task, EndReason::Completed),
                    other => unreachable!("delivery in stage {other:?}"),
                }
            }
        }
    }
}
