//! Independent random-number streams derived from one master seed.
//!
//! Every component that draws random numbers (each device's workload, each
//! link's jitter and loss, each node's cold starts, the policy) owns its own
//! stream, derived by hashing the master seed with a purpose name and an
//! index. A policy's draws therefore never shift the workload's, and every
//! policy run with the same seed sees the same tasks (common random numbers).
//!
//! The generator is PCG-64 MCG (`rand_pcg::Pcg64Mcg`): portable, named,
//! 16 bytes of state, so a million devices can each own a stream.

use rand::SeedableRng;

/// The generator every stream uses.
pub type SimRng = rand_pcg::Pcg64Mcg;

/// Name of the generator, as recorded in manifests.
pub const RNG_ALGORITHM: &str = "Pcg64Mcg (rand_pcg)";

/// SplitMix64 finaliser: a bijective mixer with good avalanche.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a over the purpose name: stable across platforms and versions.
fn hash_name(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The stream for `purpose` number `index` under `master_seed`. Model
/// components name their purpose through `model::Purpose` (see
/// `model::stream`), so a misspelt name cannot make a new stream.
pub fn stream(master_seed: u64, purpose: &str, index: u64) -> SimRng {
    let a = mix64(master_seed ^ mix64(hash_name(purpose)));
    let b = mix64(a ^ mix64(index.wrapping_add(0x632b_e59b_d9b4_e019)));
    let c = mix64(b.wrapping_add(a.rotate_left(17)));
    let mut seed = [0u8; 16];
    seed[..8].copy_from_slice(&b.to_le_bytes());
    seed[8..].copy_from_slice(&c.to_le_bytes());
    SimRng::from_seed(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn first(rng: &mut SimRng) -> u64 {
        rng.random()
    }

    #[test]
    fn same_inputs_give_same_stream() {
        assert_eq!(first(&mut stream(7, "arrivals", 3)), first(&mut stream(7, "arrivals", 3)));
    }

    #[test]
    fn purpose_index_and_seed_each_change_the_stream() {
        let base = first(&mut stream(7, "arrivals", 3));
        assert_ne!(base, first(&mut stream(7, "arrivals", 4)));
        assert_ne!(base, first(&mut stream(7, "jitter", 3)));
        assert_ne!(base, first(&mut stream(8, "arrivals", 3)));
    }

    #[test]
    fn streams_are_pinned_across_versions() {
        // Guards against an accidental change of generator or derivation:
        // results files from older runs must stay reproducible.
        let mut rng = stream(42, "policy", 0);
        let draws: Vec<u64> = (0..2).map(|_| rng.random()).collect();
        assert_eq!(draws, PINNED_DRAWS);
    }

    const PINNED_DRAWS: [u64; 2] = [3977945231805392197, 3870538506999384089];
}
