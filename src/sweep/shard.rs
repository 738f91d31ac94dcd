//! `--shard K/N`: a deterministic subset of a sweep's runs, so that N
//! machines (or the N tasks of a Slurm job array) share one sweep.
//!
//! Shard K of N (1-based K) runs the run ids with `id % N == K - 1`. Without
//! `--shard`, a Slurm array task picks its shard from the environment:
//! `K = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1` (`SLURM_ARRAY_TASK_MIN`
//! taken as 0 when unset) and `N = SLURM_ARRAY_TASK_COUNT`.

use std::fmt;

/// Shard `index` (1-based) of `count`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: usize,
    /// Number of shards the sweep is split into.
    pub count: usize,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn number(what: &str, raw: &str) -> Result<usize, String> {
    raw.trim().parse::<usize>().map_err(|_| format!("{what} `{raw}` is not a non-negative whole number"))
}

impl Shard {
    /// `K/N` with 1 <= K <= N.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (k, n) = raw.split_once('/').ok_or_else(|| format!("--shard {raw}: expected K/N, e.g. 1/4"))?;
        let shard = Shard { index: number("shard", k)?, count: number("shard count", n)? };
        shard.check().map_err(|m| format!("--shard {raw}: {m}"))?;
        Ok(shard)
    }

    fn check(&self) -> Result<(), String> {
        if self.count == 0 || self.index == 0 || self.index > self.count {
            return Err(format!("expected 1 <= K <= N, got {}/{}", self.index, self.count));
        }
        Ok(())
    }

    /// Whether run `id` belongs to this shard.
    pub fn contains(&self, id: usize) -> bool {
        id % self.count == self.index - 1
    }

    /// Whether the shard is the whole sweep (N = 1).
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// The shard of a Slurm array task, read through `var` (the process
    /// environment in practice): `None` outside an array task (no
    /// `SLURM_ARRAY_TASK_ID`), otherwise the shard and how it was found.
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<(Self, String)>, String> {
        let Some(id) = var("SLURM_ARRAY_TASK_ID") else { return Ok(None) };
        let id = number("SLURM_ARRAY_TASK_ID", &id)?;
        let min = var("SLURM_ARRAY_TASK_MIN").map(|m| number("SLURM_ARRAY_TASK_MIN", &m)).transpose()?.unwrap_or(0);
        let count = var("SLURM_ARRAY_TASK_COUNT").ok_or_else(|| {
            "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give --shard K/N explicitly".to_string()
        })?;
        let count = number("SLURM_ARRAY_TASK_COUNT", &count)?;
        let index = id.checked_sub(min).map(|i| i + 1).unwrap_or(0);
        let shard = Shard { index, count };
        shard.check().map_err(|m| {
            format!(
                "SLURM_ARRAY_TASK_ID {id} (min {min}) of SLURM_ARRAY_TASK_COUNT {count}: {m}; \
                 use a contiguous array such as --array=0-{}, or give --shard K/N",
                count.saturating_sub(1)
            )
        })?;
        Ok(Some((
            shard,
            format!("SLURM_ARRAY_TASK_ID={id}, SLURM_ARRAY_TASK_MIN={min}, SLURM_ARRAY_TASK_COUNT={count}"),
        )))
    }

    /// `--shard` if given, else the Slurm array task's shard, else none.
    pub fn resolve(flag: Option<&str>) -> Result<Option<(Self, String)>, String> {
        match flag {
            Some(raw) => Ok(Some((Self::parse(raw)?, format!("--shard {raw}")))),
            None => Self::from_slurm(|k| std::env::var(k).ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_runs() {
        let shards: Vec<Shard> = (1..=3).map(|k| Shard::parse(&format!("{k}/3")).unwrap()).collect();
        for id in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(id)).count(), 1, "run {id}");
        }
        assert!(shards[0].contains(0) && shards[0].contains(3) && shards[2].contains(5));
        for bad in ["0/3", "4/3", "1/0", "1", "a/b", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slurm_array_variables_give_the_shard() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(Shard::from_slurm(env(&[])).unwrap(), None);
        let s = Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4")])).unwrap();
        assert_eq!(s.unwrap().0, Shard { index: 1, count: 4 });
        let s = Shard::from_slurm(env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]))
        .unwrap();
        assert_eq!(s.unwrap().0, Shard { index: 3, count: 3 });
        let e = Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "6"), ("SLURM_ARRAY_TASK_COUNT", "4")])).unwrap_err();
        assert!(e.contains("contiguous"), "{e}");
        let e = Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "1")])).unwrap_err();
        assert!(e.contains("SLURM_ARRAY_TASK_COUNT"), "{e}");
    }
}
