//! Streaming statistics of sampled chains, without allocation.
//!
//! [`Moments`] counts, per unit, how often z_i = 1 and, per edge slot, how often
//! z_i z_j = 1: exact integer counts, so means and second moments carry no rounding until
//! they are read. Energy and magnetisation m = (1/N) Σ (2 z_i - 1) are accumulated with
//! Welford's update ([`Welford`]), numerically stable over long runs. [`Tracker`] carries
//! every chain's energy and count of ones from sweep to sweep through the sampler's own
//! fields (fixed point), so recording need not visit the edges for them.

use crate::gibbs::{Chains, Tally};
use crate::model::{Block, Model, Weight};

/// Running mean and variance (Welford, 1962).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    /// Add one observation.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Mean (0 with no data).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Fold in the observations of `other` (Chan, Golub and LeVeque's pairwise update), as
    /// if they had been pushed after this one's.
    pub fn merge(&mut self, other: &Welford) {
        if other.n == 0 {
            return;
        }
        let n = self.n + other.n;
        let d = other.mean - self.mean;
        self.mean += d * (other.n as f64 / n as f64);
        self.m2 += other.m2 + d * d * (self.n as f64 * other.n as f64 / n as f64);
        self.n = n;
    }

    /// Unbiased sample variance (0 with fewer than 2 observations).
    pub fn variance(&self) -> f64 {
        if self.n > 1 {
            self.m2 / (self.n - 1) as f64
        } else {
            0.0
        }
    }
}

/// Magnetisation (1/N) Σ (2 z_i - 1) of chain `c`.
pub fn magnetisation(chains: &Chains<'_>, c: usize) -> f64 {
    let n = chains.num_units();
    let ones: usize = (0..n).map(|i| chains.get(i, c) as usize).sum();
    from_ones(ones as f64, n)
}

/// The magnetisation of a chain with `ones` of its `n` units at 1: every path computes it
/// here, so that all give the same numbers.
#[inline(always)]
fn from_ones(ones: f64, n: usize) -> f64 {
    (2.0 * ones - n as f64) / n as f64
}

/// [`magnetisation`] of every chain into `out` (one entry per chain), reading the state
/// once, unit by unit, chains innermost: ones are counted in integer lanes, 64 chains at a
/// time, and converted once (the same values: a count of ones is exact either way).
pub fn magnetisations(chains: &Chains<'_>, out: &mut [f64]) {
    crate::gibbs::Isa::detect().run(
        #[inline(always)]
        || magnetisations_rows(chains, out),
    )
}

#[inline(always)]
fn magnetisations_rows(chains: &Chains<'_>, out: &mut [f64]) {
    let (n, c) = (chains.num_units(), chains.num_chains());
    let z = chains.state();
    for (start, out) in out[..c].chunks_mut(64).enumerate().map(|(b, o)| (64 * b, o)) {
        let mut ones = [0u32; 64];
        for i in 0..n {
            for (o, &b) in ones.iter_mut().zip(&z[i * c + start..][..out.len()]) {
                *o += b as u32;
            }
        }
        for (m, &o) in out.iter_mut().zip(&ones) {
            *m = from_ones(o as f64, n);
        }
    }
}

/// Packs up to 64 chains' values of one unit (bytes 0/1) into a word, chain `k` at bit `k`:
/// with AVX2's byte mask where the processor has it (two shifts and two masks for 64
/// chains), else eight bytes at a time by a multiplication.
#[derive(Clone, Copy, Debug)]
struct Packer {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    avx2: Option<pulp::x86::V3>,
}

impl Packer {
    fn new() -> Self {
        Self {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            avx2: pulp::x86::V3::try_new(),
        }
    }

    #[inline(always)]
    fn pack(self, row: &[u8]) -> u64 {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        if let (Some(simd), ([lo, hi], [])) = (self.avx2, row.as_chunks::<32>()) {
            // Bit 0 of every byte to bit 7, whose mask is one instruction per 32 bytes.
            let half = |bytes: [u8; 32]| {
                let v = simd.avx2._mm256_slli_epi16::<7>(pulp::cast(bytes));
                simd.avx2._mm256_movemask_epi8(v) as u32 as u64
            };
            return half(*lo) | half(*hi) << 32;
        }
        let mut word = 0u64;
        let mut bytes = row.chunks_exact(8);
        for (t, b) in bytes.by_ref().enumerate() {
            let x = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            // Bit 0 of byte j lands on bit 56 + j: the partial products do not overlap.
            word |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * t);
        }
        let done = row.len() - bytes.remainder().len();
        for (k, &z) in bytes.remainder().iter().enumerate() {
            word |= ((z & 1) as u64) << (done + k);
        }
        word
    }
}

/// Words of chains a unit that recording counts at once, given the scratch.
const GROUP: usize = 4;

/// A lane of the per-chain energy sums: f64 in general, or i32 when every bias and weight
/// is an integer and their absolute values sum to at most `i32::MAX`. Then every partial
/// sum is an integer of at most 31 bits, which the f64 sum also holds exactly, so both
/// lanes give the same numbers, bit for bit; i32 lanes are half as wide and add without
/// the floating-point latency.
trait EnergyLane: Copy + Default {
    /// The term `w` in this lane's type (exact under the i32 condition above).
    fn term(w: f64) -> Self;
    /// `self - w` (never overflows under the i32 condition).
    fn minus(self, w: Self) -> Self;
    /// The sum as f64 (exact).
    fn value(self) -> f64;
}

impl EnergyLane for f64 {
    #[inline(always)]
    fn term(w: f64) -> Self {
        w
    }
    #[inline(always)]
    fn minus(self, w: Self) -> Self {
        self - w
    }
    #[inline(always)]
    fn value(self) -> f64 {
        self
    }
}

impl EnergyLane for i32 {
    #[inline(always)]
    fn term(w: f64) -> Self {
        w as i32
    }
    #[inline(always)]
    fn minus(self, w: Self) -> Self {
        self.wrapping_sub(w)
    }
    #[inline(always)]
    fn value(self) -> f64 {
        self as f64
    }
}

/// True when every bias and weight of `model` is an integer and the sum of their absolute
/// values is at most `i32::MAX`: the condition for exact i32 energy lanes. Fixed-point
/// models (raw Q-format integers, scaled once) meet it unless they are enormous.
fn integer_energy_terms<W: Weight>(model: &Model<'_, W>) -> bool {
    // Summed in integers, off the floating-point latency chain: this runs on every record.
    let (mut integer, mut total) = (true, 0u64);
    let mut add = |x: f64| {
        // `as` saturates and maps NaN to 0, so this holds only for integers in i32 range.
        let raw = x as i32;
        integer &= raw as f64 == x;
        total += raw.unsigned_abs() as u64;
    };
    for &b in model.bias() {
        add(b.to_f64());
    }
    model.for_each_edge(|_, _, _, w| add(w.to_f64()));
    integer && total <= i32::MAX as u64
}

/// Subtract `w` from `e[k]` for every set bit `k` of `mask`: a masked vector subtraction
/// over 64 lanes (the lanes whose bit is clear are left exactly as they are).
#[inline(always)]
fn subtract_where<L: EnergyLane>(e: &mut [L; 64], mask: u64, w: L) {
    for (k, ek) in e.iter_mut().enumerate() {
        let on = (mask >> k) & 1 != 0;
        *ek = if on { ek.minus(w) } else { *ek };
    }
}

/// Unit means, edge second moments, energy and magnetisation, in caller storage.
///
/// Recording packs up to 64 chains of a unit into one word: a unit count is a popcount, an
/// edge count the popcount of an AND, and a chain's energy subtracts only the terms that are
/// on (a masked vector subtraction), in the same order as the byte-wise sum it replaces, so
/// the energies are the same floating-point numbers. When every term is an integer with a
/// small enough total (fixed-point models), the sums run in i32 lanes instead: exact, and
/// so again the same numbers (see `EnergyLane`).
#[derive(Debug)]
pub struct Moments<'s> {
    unit_ones: &'s mut [u64],
    edge_ones: &'s mut [u64],
    packed: &'s mut [u64],
    samples: u64,
    energy: Welford,
    magnetisation: Welford,
    /// [`integer_energy_terms`] of the model, found at the first record.
    integer: Option<bool>,
}

impl<'s> Moments<'s> {
    /// Counters for a model with `unit_ones.len()` units and `edge_ones.len()` edge slots
    /// (both zeroed here), and `packed` scratch for bit-packed recording: one word per unit
    /// at least, [`Moments::packed_len`] to count 256 chains a pass over the edges (an empty
    /// `packed` records byte by byte, the slower reference).
    pub fn new(unit_ones: &'s mut [u64], edge_ones: &'s mut [u64], packed: &'s mut [u64]) -> Self {
        unit_ones.fill(0);
        edge_ones.fill(0);
        Self {
            unit_ones,
            edge_ones,
            packed,
            samples: 0,
            energy: Welford::default(),
            magnetisation: Welford::default(),
            integer: None,
        }
    }

    /// Scratch words for `units` units that count 256 chains a pass over the edges.
    pub fn packed_len(units: usize) -> usize {
        units * GROUP
    }

    /// Record the current state of every chain as one sample each. The model must be the one
    /// the counters were sized for (units and slots).
    pub fn record<W: Weight>(&mut self, model: &Model<'_, W>, chains: &Chains<'_>) {
        if self.packed.len() < chains.num_units() {
            return self.record_bytes(model, chains);
        }
        let isa = crate::gibbs::Isa::detect();
        if *self.integer.get_or_insert_with(|| integer_energy_terms(model)) {
            isa.run(
                #[inline(always)]
                || self.record_rows::<W, i32, true, 1>(model, chains),
            )
        } else {
            isa.run(
                #[inline(always)]
                || self.record_rows::<W, f64, true, 1>(model, chains),
            )
        }
    }

    /// [`Moments::record`] with every chain's energy and magnetisation taken from `tracker`
    /// (kept current by the sweeps since it was made from these chains) instead of summed
    /// over the edges: the same numbers, pushed in the same order.
    pub fn record_tracked<W: Weight>(&mut self, model: &Model<'_, W>, chains: &Chains<'_>, tracker: &Tracker<'_>) {
        if self.packed.len() < chains.num_units() {
            return self.record_bytes(model, chains);
        }
        let grouped = self.packed.len() >= Self::packed_len(chains.num_units());
        crate::gibbs::Isa::detect().run(
            #[inline(always)]
            || {
                if grouped {
                    self.record_rows::<W, i32, false, GROUP>(model, chains)
                } else {
                    self.record_rows::<W, i32, false, 1>(model, chains)
                }
            },
        );
        let n = chains.num_units();
        for (&e, &o) in tracker.energy.iter().zip(tracker.ones.iter()) {
            self.energy.push(e as f64 * model.scale());
            self.magnetisation.push(from_ones(o as f64, n));
        }
    }

    /// The byte-wise reference: every chain, unit and edge, chains innermost.
    fn record_bytes<W: Weight>(&mut self, model: &Model<'_, W>, chains: &Chains<'_>) {
        let c = chains.num_chains();
        let z = chains.state();
        for (i, ones) in self.unit_ones.iter_mut().enumerate() {
            *ones += z[i * c..(i + 1) * c].iter().map(|&b| b as u64).sum::<u64>();
        }
        let edge_ones = &mut *self.edge_ones;
        model.for_each_edge(|slot, i, j, _| {
            let (zi, zj) = (&z[i * c..(i + 1) * c], &z[j * c..(j + 1) * c]);
            edge_ones[slot] += zi.iter().zip(zj).map(|(&a, &b)| (a & b) as u64).sum::<u64>();
        });
        // Energies of up to 64 chains at a time, chains innermost so the loops vectorise.
        let bias = model.bias();
        for start in (0..c).step_by(64) {
            let width = (c - start).min(64);
            let mut e = [0.0f64; 64];
            let e = &mut e[..width];
            for (i, &b) in bias.iter().enumerate() {
                let b = b.to_f64();
                for (ek, &zi) in e.iter_mut().zip(&z[i * c + start..i * c + start + width]) {
                    *ek -= b * zi as f64;
                }
            }
            model.for_each_edge(|_, i, j, w| {
                let w = w.to_f64();
                let (zi, zj) = (&z[i * c + start..][..width], &z[j * c + start..][..width]);
                for ((ek, &a), &b) in e.iter_mut().zip(zi).zip(zj) {
                    *ek -= w * (a & b) as f64;
                }
            });
            for (k, &ek) in e.iter().enumerate() {
                self.energy.push(ek * model.scale());
                self.magnetisation.push(magnetisation(chains, start + k));
            }
        }
        self.samples += c as u64;
    }

    /// Counts, and with `ENERGY` energies and magnetisations. Each unit's chains are packed
    /// into words of 64, `G` words a unit at a time: energies take one word (their 64
    /// lanes), counts [`GROUP`] where the scratch holds them, so that one pass over the
    /// edges counts 256 chains: per edge, a popcount of an AND per word, summed, then one
    /// add to the edge's counter. Words past the last chain are zero.
    #[inline(always)]
    fn record_rows<W: Weight, L: EnergyLane, const ENERGY: bool, const G: usize>(
        &mut self,
        model: &Model<'_, W>,
        chains: &Chains<'_>,
    ) {
        let (n, c) = (chains.num_units(), chains.num_chains());
        let z = chains.state();
        let bias = model.bias();
        let (packed, _) = self.packed[..n * G].as_chunks_mut::<G>();
        let edge_ones = &mut *self.edge_ones;
        let packer = Packer::new();
        for first in (0..c).step_by(64 * G) {
            let mut e = [L::default(); 64];
            let mut ones = [0u32; 64];
            for (i, unit) in packed.iter_mut().enumerate() {
                for (b, word) in unit.iter_mut().enumerate() {
                    let start = (first + 64 * b).min(c);
                    let row = &z[i * c + start..][..(c - start).min(64)];
                    *word = packer.pack(row);
                    if ENERGY {
                        for (o, &x) in ones.iter_mut().zip(row) {
                            *o += x as u32;
                        }
                    }
                }
            }
            for ((count, unit), &b) in self.unit_ones.iter_mut().zip(&*packed).zip(bias) {
                *count += unit.iter().map(|w| w.count_ones() as u64).sum::<u64>();
                if ENERGY {
                    subtract_where(&mut e, unit[0], L::term(b.to_f64()));
                }
            }
            // The edges in `for_each_edge` order, whose slots are consecutive; written out
            // here so that the loop is compiled for the dispatched instruction set.
            let mut slot = 0;
            let mut edge = |i: usize, j: usize, w: W| {
                let (pi, pj) = (&packed[i], &packed[j]);
                edge_ones[slot] += (0..G).map(|b| (pi[b] & pj[b]).count_ones() as u64).sum::<u64>();
                if ENERGY {
                    subtract_where(&mut e, pi[0] & pj[0], L::term(w.to_f64()));
                }
                slot += 1;
            };
            for p in 0..model.num_partitions() {
                for q in p + 1..model.num_partitions() {
                    let (sp, sq) = (model.range(p).start, model.range(q).start);
                    match model.block(p, q) {
                        None => {}
                        Some(Block::Dense(d)) => {
                            let cols = model.size(q);
                            for (at, &w) in d.weight.iter().enumerate() {
                                edge(sp + at / cols, sq + at % cols, w);
                            }
                        }
                        Some(Block::Sparse(sb)) => {
                            for r in 0..model.size(p) {
                                let span = sb.row_ptr[r] as usize..sb.row_ptr[r + 1] as usize;
                                for (&col, &w) in sb.col[span.clone()].iter().zip(&sb.weight[span]) {
                                    edge(sp + r, sq + col as usize, w);
                                }
                            }
                        }
                    }
                }
            }
            if ENERGY {
                for (&ek, &o) in e.iter().zip(&ones).take(c - first) {
                    self.energy.push(ek.value() * model.scale());
                    self.magnetisation.push(from_ones(o as f64, n));
                }
            }
        }
        self.samples += c as u64;
    }

    /// Samples recorded.
    pub fn num_samples(&self) -> u64 {
        self.samples
    }

    /// ⟨z_i⟩.
    pub fn mean(&self, i: usize) -> f64 {
        self.unit_ones[i] as f64 / self.samples.max(1) as f64
    }

    /// ⟨z_i z_j⟩ of edge slot `slot`.
    pub fn edge_moment(&self, slot: usize) -> f64 {
        self.edge_ones[slot] as f64 / self.samples.max(1) as f64
    }

    /// Times unit `i` was 1, over all samples.
    pub fn unit_counts(&self) -> &[u64] {
        self.unit_ones
    }

    /// Times both ends of each edge slot were 1, over all samples.
    pub fn edge_counts(&self) -> &[u64] {
        self.edge_ones
    }

    /// Energy mean and variance over samples.
    pub fn energy(&self) -> Welford {
        self.energy
    }

    /// Magnetisation mean and variance over samples.
    pub fn magnetisation(&self) -> Welford {
        self.magnetisation
    }
}

/// Every chain's energy (in the model's raw units: E / scale) and count of ones, carried
/// from sweep to sweep by [`crate::gibbs::BlockGibbs::sweep_with`] from the fields of the
/// updates: ΔE = −(z' − z) h, Δones = z' − z. For models whose biases and weights are
/// integers with Σ|b| + Σ|W| ≤ i32::MAX (fixed point): then every energy, and every field,
/// fits i32, so the carried numbers are exact, equal to a fresh sum after every sweep.
#[derive(Debug)]
pub struct Tracker<'t> {
    energy: &'t mut [i32],
    ones: &'t mut [i32],
}

impl<'t> Tracker<'t> {
    /// Energies and counts of `chains` now, in caller storage of one entry per chain each.
    /// `None` when the model's terms are not such integers, or a slice has the wrong length.
    pub fn new<W: Weight>(
        model: &Model<'_, W>,
        chains: &Chains<'_>,
        energy: &'t mut [i32],
        ones: &'t mut [i32],
    ) -> Option<Self> {
        let (n, c) = (chains.num_units(), chains.num_chains());
        if energy.len() != c || ones.len() != c || model.num_units() != n || !integer_energy_terms(model) {
            return None;
        }
        let z = chains.state();
        energy.fill(0);
        ones.fill(0);
        for (i, &b) in model.bias().iter().enumerate() {
            let b = b.to_f64() as i32;
            for ((e, o), &zi) in energy.iter_mut().zip(ones.iter_mut()).zip(&z[i * c..(i + 1) * c]) {
                *e -= b * zi as i32;
                *o += zi as i32;
            }
        }
        model.for_each_edge(|_, i, j, w| {
            let w = w.to_f64() as i32;
            for ((e, &a), &b) in energy.iter_mut().zip(&z[i * c..(i + 1) * c]).zip(&z[j * c..(j + 1) * c]) {
                *e -= w * (a & b) as i32;
            }
        });
        Some(Self { energy, ones })
    }

    /// Each chain's energy in raw units (multiply by the model's scale for E).
    pub fn energies(&self) -> &[i32] {
        self.energy
    }

    /// Each chain's number of units at 1.
    pub fn ones(&self) -> &[i32] {
        self.ones
    }

    /// Each chain's magnetisation (1/N) Σ (2 z_i − 1) for `units` units, into `out`: the
    /// numbers [`magnetisations`] gives.
    pub fn magnetisations(&self, units: usize, out: &mut [f64]) {
        for (m, &o) in out.iter_mut().zip(self.ones.iter()) {
            *m = from_ones(o as f64, units);
        }
    }
}

impl Tally for Tracker<'_> {
    fn chains(&self) -> usize {
        self.energy.len()
    }

    #[inline(always)]
    fn unit<L: Copy + Into<i64>>(&mut self, s: usize, fields: &[L], old: &[u8], new: &[u8]) {
        let (Some(energy), Some(ones)) = (self.energy.get_mut(s..), self.ones.get_mut(s..)) else { return };
        for ((((e, o), &h), &a), &b) in energy.iter_mut().zip(ones.iter_mut()).zip(fields).zip(old).zip(new) {
            let d = b as i32 - a as i32;
            *o += d;
            // The field fits i32 (|h| <= Σ|terms| <= i32::MAX), and so does every energy.
            *e = e.wrapping_sub(d * h.into() as i32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_known_answer() {
        let mut w = Welford::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            w.push(x);
        }
        assert_eq!(w.mean(), 5.0);
        assert!((w.variance() - 32.0 / 7.0).abs() < 1e-12);
        let (mut a, mut b) = (Welford::default(), Welford::default());
        for x in [2.0, 4.0, 4.0] {
            a.push(x);
        }
        for x in [4.0, 5.0, 5.0, 7.0, 9.0] {
            b.push(x);
        }
        a.merge(&b);
        a.merge(&Welford::default());
        assert_eq!((a.count(), a.mean()), (8, 5.0));
        assert!((a.variance() - 32.0 / 7.0).abs() < 1e-12);
    }

    /// The packed recording gives the byte-wise counts, the model's energies (same
    /// floating-point sums) and magnetisations, for ragged chain counts.
    #[test]
    fn record_matches_bytewise_moments() {
        use crate::model::SparseStorage;
        use rand_core::RngCore;
        let sizes = [5usize, 6, 4];
        let n = 15;
        let bias: std::vec::Vec<f64> = (0..n).map(|i| 0.37 * i as f64 - 2.0).collect();
        let edges: std::vec::Vec<(usize, usize, f64)> =
            (0..5).flat_map(|i| (5..15).map(move |j| (i, j, 0.1 * (i * j) as f64 - 1.3))).collect();
        let mut rp = std::vec![0u32; Model::<f64>::row_ptr_len(&sizes)];
        let (mut col, mut w) = (std::vec![0u16; edges.len()], std::vec![0f64; edges.len()]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let model = Model::from_edges(&bias, &sizes, edges.iter().copied(), st, 0.5).unwrap();
        let mut g = crate::rng::Xoshiro128PlusPlus::from_u64(3);
        for c in [1usize, 63, 64, 130] {
            let mut state: std::vec::Vec<u8> = (0..n * c).map(|_| (g.next_u32() >> 31) as u8).collect();
            let chains = Chains::new(&mut state, n, c).unwrap();
            let (mut u, mut e, mut p) = (std::vec![0u64; n], std::vec![0u64; model.num_slots()], std::vec![0u64; n]);
            let mut m = Moments::new(&mut u, &mut e, &mut p);
            m.record(&model, &chains);
            let (mut u2, mut e2) = (std::vec![0u64; n], std::vec![0u64; model.num_slots()]);
            let mut bytes = Moments::new(&mut u2, &mut e2, &mut []);
            bytes.record(&model, &chains);
            assert_eq!((m.energy(), m.magnetisation()), (bytes.energy(), bytes.magnetisation()));
            assert_eq!((m.unit_counts(), m.edge_counts()), (bytes.unit_counts(), bytes.edge_counts()));
            let mut energy = Welford::default();
            let mut mag = Welford::default();
            let mut mags = std::vec![0.0; c];
            magnetisations(&chains, &mut mags);
            for (k, &mk) in mags.iter().enumerate() {
                // The byte-wise order: biases, then edges, each term times z.
                let mut ek = 0.0f64;
                for (i, &b) in bias.iter().enumerate() {
                    ek -= b * chains.get(i, k) as f64;
                }
                model.for_each_edge(|_, i, j, w| ek -= w * (chains.get(i, k) & chains.get(j, k)) as f64);
                energy.push(ek * 0.5);
                mag.push(magnetisation(&chains, k));
                assert_eq!(mk, magnetisation(&chains, k));
            }
            assert_eq!((m.energy(), m.magnetisation()), (energy, mag));
            for i in 0..n {
                let ones: u64 = (0..c).map(|k| chains.get(i, k) as u64).sum();
                assert_eq!(m.unit_counts()[i], ones);
            }
            model.for_each_edge(|slot, i, j, _| {
                let both: u64 = (0..c).map(|k| (chains.get(i, k) & chains.get(j, k)) as u64).sum();
                assert_eq!(m.edge_counts()[slot], both);
            });
        }
    }

    /// Integer terms (a fixed-point model's raw weights) take the i32 lanes; the energies are
    /// bit-identical to the f64 sum, and known: all-ones chains have energy
    /// -(Σ b + Σ w) x scale, all-zeros 0.
    #[test]
    fn integer_lanes_match_float_sums() {
        use crate::model::SparseStorage;
        use rand_core::RngCore;
        let sizes = [5usize, 6, 4];
        let n = 15;
        let bias: std::vec::Vec<i16> = (0..n as i16).map(|i| 37 * i - 200).collect();
        let edges: std::vec::Vec<(usize, usize, i16)> =
            (0..5).flat_map(|i| (5..15).map(move |j| (i, j, (i * j) as i16 * 11 - 130))).collect();
        let mut rp = std::vec![0u32; Model::<i16>::row_ptr_len(&sizes)];
        let (mut col, mut w) = (std::vec![0u16; edges.len()], std::vec![0i16; edges.len()]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let model = Model::from_edges(&bias, &sizes, edges.iter().copied(), st, 1.0 / 256.0).unwrap();
        assert!(integer_energy_terms(&model));
        let total = bias.iter().map(|&b| b as i64).sum::<i64>() + edges.iter().map(|e| e.2 as i64).sum::<i64>();
        let mut g = crate::rng::Xoshiro128PlusPlus::from_u64(5);
        for c in [1usize, 2, 63, 64, 65, 130] {
            for fill in [Some(0u8), Some(1), None] {
                let mut state: std::vec::Vec<u8> =
                    (0..n * c).map(|_| fill.unwrap_or((g.next_u32() >> 31) as u8)).collect();
                let chains = Chains::new(&mut state, n, c).unwrap();
                let (mut u, mut e, mut p) =
                    (std::vec![0u64; n], std::vec![0u64; model.num_slots()], std::vec![0u64; n]);
                let mut m = Moments::new(&mut u, &mut e, &mut p);
                m.record(&model, &chains);
                let (mut u2, mut e2, mut p2) =
                    (std::vec![0u64; n], std::vec![0u64; model.num_slots()], std::vec![0u64; n]);
                let mut float = Moments::new(&mut u2, &mut e2, &mut p2);
                float.record_rows::<i16, f64, true, 1>(&model, &chains);
                let (mut u3, mut e3) = (std::vec![0u64; n], std::vec![0u64; model.num_slots()]);
                let mut bytes = Moments::new(&mut u3, &mut e3, &mut []);
                bytes.record(&model, &chains);
                // Energies and magnetisations from a tracker: the same numbers, same order;
                // counts of one word of chains a pass, and of four (the scratch for three gives one).
                let (mut energy, mut ones) = (std::vec![0i32; c], std::vec![0i32; c]);
                let tracker = Tracker::new(&model, &chains, &mut energy, &mut ones).unwrap();
                let record_tracked = |words: usize| {
                    let (mut u, mut e, mut p) =
                        (std::vec![0u64; n], std::vec![0u64; model.num_slots()], std::vec![0u64; words]);
                    let mut tracked = Moments::new(&mut u, &mut e, &mut p);
                    tracked.record_tracked(&model, &chains, &tracker);
                    (tracked.energy(), tracked.magnetisation(), u, e)
                };
                let full = record_tracked(Moments::packed_len(n));
                for words in [n, 3 * n] {
                    assert_eq!(record_tracked(words), full, "{c} chains, {words} words");
                }
                let (mut mags, mut from_tracker) = (std::vec![0.0; c], std::vec![0.0; c]);
                magnetisations(&chains, &mut mags);
                tracker.magnetisations(n, &mut from_tracker);
                assert_eq!(mags, from_tracker);
                for other in [&float, &bytes] {
                    assert_eq!(m.energy().mean().to_bits(), other.energy().mean().to_bits());
                    assert_eq!(m.energy().variance().to_bits(), other.energy().variance().to_bits());
                    assert_eq!((m.energy(), m.magnetisation()), (other.energy(), other.magnetisation()));
                    assert_eq!((m.unit_counts(), m.edge_counts()), (other.unit_counts(), other.edge_counts()));
                }
                assert_eq!(m.energy().mean().to_bits(), full.0.mean().to_bits());
                assert_eq!(m.energy().variance().to_bits(), full.0.variance().to_bits());
                assert_eq!((m.energy(), m.magnetisation()), (full.0, full.1));
                assert_eq!((m.unit_counts(), m.edge_counts()), (&full.2[..], &full.3[..]));
                match fill {
                    Some(0) => assert_eq!((m.energy().mean().to_bits(), m.magnetisation().mean()), (0, -1.0)),
                    Some(_) => {
                        assert_eq!(m.energy().mean(), -(total as f64) / 256.0);
                        assert_eq!((m.energy().variance(), m.magnetisation().mean()), (0.0, 1.0));
                    }
                    None => {}
                }
            }
        }
    }

    /// The i32 lanes are taken only when they are exact.
    #[test]
    fn integer_lanes_only_when_exact() {
        use crate::model::SparseStorage;
        let sizes = [2usize, 2];
        let model_of = |bias: &[f64], w: f64, check: &dyn Fn(&Model<'_, f64>) -> bool| {
            let mut rp = std::vec![0u32; Model::<f64>::row_ptr_len(&sizes)];
            let (mut col, mut wt) = (std::vec![0u16; 1], std::vec![0f64; 1]);
            let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut wt };
            let model = Model::from_edges(bias, &sizes, [(0, 2, w)], st, 1.0).unwrap();
            check(&model)
        };
        assert!(model_of(&[1.0, -2.0, 3.0, 4.0], -5.0, &|m| integer_energy_terms(m)));
        assert!(!model_of(&[1.5, -2.0, 3.0, 4.0], -5.0, &|m| integer_energy_terms(m)));
        assert!(!model_of(&[1.0, -2.0, 3.0, 4.0], f64::NAN, &|m| integer_energy_terms(m)));
        assert!(model_of(&[2147483637.0, 0.0, 0.0, 0.0], -10.0, &|m| integer_energy_terms(m)));
        assert!(!model_of(&[2147483637.0, 0.0, 0.0, 0.0], -11.0, &|m| integer_energy_terms(m)));
        assert!(!model_of(&[-2147483648.0, 0.0, 0.0, 0.0], 0.0, &|m| integer_energy_terms(m)));
    }
}
