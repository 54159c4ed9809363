//! Random numbers for the samplers, behind `rand_core`.
//!
//! * [`Pcg32`] (rand_pcg's `Lcg64Xsh32`) with one *stream* per chain: chain `c` of a run with
//!   seed `s` is `Pcg32::new(s, c)`, so every chain is reproducible on its own and streams
//!   differ in their LCG increment, not just their starting point ([`chain_streams`]).
//! * [`Xoshiro128PlusPlus`], the kind of generator an FPGA or microcontroller uses: four
//!   32-bit words, shifts, rotations and xors, one full word per draw. Chains are spaced
//!   2^64 draws apart with [`Xoshiro128PlusPlus::jump`]. (A one-bit-shift LFSR is not offered:
//!   consecutive words of it share 31 bits, so successive draws are strongly correlated.)

use rand_core::{impls, RngCore, SeedableRng};

pub use rand_pcg::Pcg32;

/// Fill `rngs` with chain streams of `seed`: `rngs[c] = Pcg32::new(seed, first_chain + c)`.
pub fn chain_streams(seed: u64, first_chain: u64, rngs: &mut [Pcg32]) {
    for (c, rng) in rngs.iter_mut().enumerate() {
        *rng = Pcg32::new(seed, first_chain + c as u64);
    }
}

/// xoshiro128++ 1.0 (Blackman and Vigna, 2019): 128-bit state, period 2^128 - 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xoshiro128PlusPlus {
    s: [u32; 4],
}

impl Xoshiro128PlusPlus {
    /// A generator seeded from a u64 through SplitMix64 (never the all-zero state).
    pub fn from_u64(seed: u64) -> Self {
        let mut sm = seed;
        let mut next = || {
            sm = sm.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let (a, b) = (next(), next());
        let s = [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32];
        Self::from_state(s)
    }

    /// From raw state words; the all-zero state (a fixed point) is replaced by SplitMix64(0).
    pub fn from_state(s: [u32; 4]) -> Self {
        if s == [0; 4] {
            Self::from_u64(0)
        } else {
            Self { s }
        }
    }

    /// Advance by 2^64 draws: gives 2^64 non-overlapping subsequences for chains.
    pub fn jump(&mut self) {
        const JUMP: [u32; 4] = [0x8764_000b, 0xf542_d2d3, 0x6fa0_35c3, 0x77f2_db5b];
        let mut t = [0u32; 4];
        for word in JUMP {
            for b in 0..32 {
                if word & (1 << b) != 0 {
                    for (ti, si) in t.iter_mut().zip(self.s) {
                        *ti ^= si;
                    }
                }
                self.next_u32();
            }
        }
        self.s = t;
    }

    /// Chain streams: `rngs[c]` is the seed's generator jumped `first_chain + c` times.
    pub fn chain_streams(seed: u64, first_chain: u64, rngs: &mut [Self]) {
        let mut g = Self::from_u64(seed);
        for _ in 0..first_chain {
            g.jump();
        }
        for rng in rngs {
            *rng = g.clone();
            g.jump();
        }
    }
}

impl RngCore for Xoshiro128PlusPlus {
    #[inline(always)]
    fn next_u32(&mut self) -> u32 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(7).wrapping_add(s[0]);
        let t = s[1] << 9;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(11);
        result
    }

    fn next_u64(&mut self) -> u64 {
        impls::next_u64_via_u32(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        impls::fill_bytes_via_next(self, dest)
    }
}

impl SeedableRng for Xoshiro128PlusPlus {
    type Seed = [u8; 16];

    fn from_seed(seed: [u8; 16]) -> Self {
        let mut s = [0u32; 4];
        for (w, chunk) in s.iter_mut().zip(seed.chunks_exact(4)) {
            *w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Self::from_state(s)
    }

    fn seed_from_u64(seed: u64) -> Self {
        Self::from_u64(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference implementation (xoshiro128plusplus.c) from state {1, 2, 3, 4}.
    #[test]
    fn xoshiro128pp_known_answer() {
        let mut g = Xoshiro128PlusPlus::from_state([1, 2, 3, 4]);
        let expected = [
            641u32, 1573767, 3222811527, 3517856514, 836907274, 4247214768, 3867114732, 1355841295, 495546011,
            621204420,
        ];
        for e in expected {
            assert_eq!(g.next_u32(), e);
        }
    }

    /// PCG32 from the reference C implementation (pcg32-demo, seed 42, stream 54).
    #[test]
    fn pcg32_known_answer() {
        let mut g = Pcg32::new(42, 54);
        let expected = [0xa15c02b7u32, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e];
        for e in expected {
            assert_eq!(g.next_u32(), e);
        }
    }

    #[test]
    fn streams_differ_and_repeat() {
        let mut a = [Pcg32::new(0, 0), Pcg32::new(0, 0)];
        let mut b = a.clone();
        chain_streams(7, 0, &mut a);
        chain_streams(7, 0, &mut b);
        assert_eq!(a, b);
        assert_ne!(a[0].next_u32(), a[1].next_u32());
        let mut x = [Xoshiro128PlusPlus::from_u64(0), Xoshiro128PlusPlus::from_u64(0), Xoshiro128PlusPlus::from_u64(0)];
        Xoshiro128PlusPlus::chain_streams(7, 0, &mut x);
        let mut y = [Xoshiro128PlusPlus::from_u64(0)];
        Xoshiro128PlusPlus::chain_streams(7, 2, &mut y);
        assert_eq!(x[2], y[0]);
        assert_ne!(x[0].next_u32(), x[1].next_u32());
    }

    /// Equidistribution of the top 4 bits over 2^16 draws: chi-square with 15 degrees of
    /// freedom stays below 37.7 (p = 0.001) for a fixed seed.
    #[test]
    fn xoshiro_top_bits_uniform() {
        let mut g = Xoshiro128PlusPlus::from_u64(2025);
        let mut counts = [0u32; 16];
        let n = 1 << 16;
        for _ in 0..n {
            counts[(g.next_u32() >> 28) as usize] += 1;
        }
        let e = n as f64 / 16.0;
        let chi2: f64 = counts.iter().map(|&c| (c as f64 - e) * (c as f64 - e) / e).sum();
        assert!(chi2 < 37.7, "chi2 = {chi2}");
    }
}
