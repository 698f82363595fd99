//! A small seeded pseudo-random number generator.
//!
//! The generator must give the same bytes for the same seed on every machine and every build,
//! so it is written here rather than taken from a crate whose algorithm may change between
//! versions. SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014) passes BigCrush and needs one 64-bit state word.

/// SplitMix64 generator. Not cryptographically secure: it only has to look random to a packet
/// decoder and be reproducible.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// Creates a generator whose whole output is fixed by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// Creates an independent generator for one part of the output, so that changing how many
    /// numbers one part draws does not shift the numbers of another.
    pub fn fork(&mut self, stream: u64) -> Rng {
        Rng::new(self.next_u64() ^ stream.wrapping_mul(0xA076_1D64_78BD_642F))
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns the next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Returns a number in `0..bound`, or 0 when `bound` is 0.
    ///
    /// Uses the multiply-and-shift reduction, whose bias is below 2^-32 for the bounds used
    /// here (all far below 2^32).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// Returns a number in `low..=high`. Requires `low <= high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// Returns a `usize` index in `0..len`, or 0 when `len` is 0.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Returns true with probability `p` (clamped to 0..=1).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Returns a float uniformly distributed in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Picks one element of a non-empty slice; returns `None` for an empty one.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        items.get(self.index(items.len()))
    }

    /// Fills `out` with random bytes, eight per draw.
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut chunks = out.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }

        let tail = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        tail.copy_from_slice(&last[..tail.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut first = Rng::new(42);
        let mut second = Rng::new(42);
        let a: Vec<u64> = (0..100).map(|_| first.next_u64()).collect();
        let b: Vec<u64> = (0..100).map(|_| second.next_u64()).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn different_seeds_differ() {
        let mut first = Rng::new(1);
        let mut second = Rng::new(2);
        assert_ne!(first.next_u64(), second.next_u64());
    }

    #[test]
    fn splitmix_reference_values() {
        // Output of the reference C implementation (Vigna's splitmix64.c) seeded with 0.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn below_stays_in_bound() {
        let mut rng = Rng::new(7);
        for bound in [1u64, 2, 3, 10, 1000, 65_536] {
            for _ in 0..1000 {
                assert!(rng.below(bound) < bound, "bound {bound}");
            }
        }
    }

    #[test]
    fn range_covers_both_ends() {
        let mut rng = Rng::new(9);
        let drawn: Vec<u64> = (0..1000).map(|_| rng.range(5, 8)).collect();
        assert!(drawn.contains(&5));
        assert!(drawn.contains(&8));
        assert!(drawn.iter().all(|v| (5..=8).contains(v)));
    }

    #[test]
    fn chance_matches_probability() {
        let mut rng = Rng::new(11);
        let hits = (0..100_000).filter(|_| rng.chance(0.25)).count();
        assert!((24_000..26_000).contains(&hits), "hits {hits}");
    }

    #[test]
    fn fill_handles_partial_tail() {
        let mut rng = Rng::new(3);
        let mut out = [0u8; 13];
        rng.fill(&mut out);
        assert_ne!(&out[8..], &[0u8; 5]);
    }

    #[test]
    fn fork_streams_are_independent() {
        let mut parent = Rng::new(5);
        let mut a = parent.fork(1);
        let mut b = parent.fork(1);
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
