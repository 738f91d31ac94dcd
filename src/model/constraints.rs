//! Placement constraints (source document 2.2 and 4.1): a task may carry a
//! node selector (labels a node must all have; a node's tier counts as one
//! of its labels) and tolerations; a node may carry taints, and only tasks
//! tolerating all of them may run there. Policies see only the nodes a task
//! may use, so every policy respects the constraints.
//!
//! Distinct (selector, tolerations) pairs are interned: a task stores a
//! small index and eligibility is a table lookup.

use crate::scenario::Scenario;

/// Interned constraint sets and which nodes each admits.
#[derive(Clone, Debug)]
pub struct Constraints {
    /// (selector, tolerations) per set, each sorted; set 0 is unconstrained.
    sets: Vec<(Vec<String>, Vec<String>)>,
    /// Per node: (labels including the tier, taints).
    nodes: Vec<(Vec<String>, Vec<String>)>,
    /// `eligible[set * nodes + node]`.
    eligible: Vec<bool>,
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut v = items.to_vec();
    v.sort();
    v.dedup();
    v
}

impl Constraints {
    /// The nodes of `spec`, with the unconstrained set only.
    pub fn new(spec: &Scenario) -> Self {
        let nodes = spec
            .nodes
            .iter()
            .map(|n| {
                let mut labels = n.labels.clone();
                labels.push(n.tier.clone());
                (labels, n.taints.clone())
            })
            .collect();
        let mut c = Constraints { sets: Vec::new(), nodes, eligible: Vec::new() };
        c.intern(&[], &[]);
        c
    }

    /// The index of the set (selector, tolerations), adding it if new.
    /// Returns `None` beyond 65,536 distinct sets.
    pub fn intern(&mut self, selector: &[String], tolerations: &[String]) -> Option<u16> {
        let (selector, tolerations) = (sorted(selector), sorted(tolerations));
        if let Some(i) = self.sets.iter().position(|(s, t)| *s == selector && *t == tolerations) {
            return Some(i as u16);
        }
        let index = u16::try_from(self.sets.len()).ok()?;
        for (labels, taints) in &self.nodes {
            let selected = selector.iter().all(|l| labels.contains(l));
            let tolerated = taints.iter().all(|t| tolerations.contains(t));
            self.eligible.push(selected && tolerated);
        }
        self.sets.push((selector, tolerations));
        Some(index)
    }

    /// May a task of constraint set `set` run on node `node`?
    #[inline]
    pub fn allows(&self, set: u16, node: usize) -> bool {
        self.eligible[set as usize * self.nodes.len() + node]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selectors_need_every_label_and_taints_need_every_toleration() {
        let mut c = Constraints {
            sets: vec![],
            nodes: vec![
                (strings(&["edge", "arm"]), vec![]),
                (strings(&["cloud", "gpu"]), strings(&["gpu-only"])),
                (strings(&["cloud"]), vec![]),
            ],
            eligible: vec![],
        };
        let free = c.intern(&[], &[]).unwrap();
        assert_eq!((0..3).map(|n| c.allows(free, n)).collect::<Vec<_>>(), vec![true, false, true]);
        let cloud = c.intern(&strings(&["cloud"]), &[]).unwrap();
        assert_eq!((0..3).map(|n| c.allows(cloud, n)).collect::<Vec<_>>(), vec![false, false, true]);
        let gpu = c.intern(&strings(&["gpu"]), &strings(&["gpu-only"])).unwrap();
        assert_eq!((0..3).map(|n| c.allows(gpu, n)).collect::<Vec<_>>(), vec![false, true, false]);
        // Order and duplicates do not make a new set.
        assert_eq!(c.intern(&strings(&["gpu", "gpu"]), &strings(&["gpu-only"])), Some(gpu));
    }
}
