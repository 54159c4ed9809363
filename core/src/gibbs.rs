//! Block (chromatic) Gibbs sampling over many chains side by side.
//!
//! One sweep updates partition 0, then 1, ..., then K-1; every unit of a partition is drawn
//! from its conditional given the other partitions, which is exact because no edge joins two
//! units of one partition. The kernel is generic over [`Arithmetic`], so the float reference
//! and the fixed-point sampler are the same loop.
//!
//! **Layout.** [`Chains`] stores unit `i` of chain `c` at `i * C + c` (unit-major): the C
//! chains of one unit are contiguous, so adding one weight to C local fields is a straight
//! vector loop. Local fields for one partition live in caller scratch of
//! `max_partition_size * C` entries.
//!
//! **Two orders of summation.** The *scatter* kernel adds each stored weight to the fields of
//! its target's chains in the scratch, reading every block as it is stored. Where the
//! partition holds a block's rows, a row's entries are consecutive terms of one field, added
//! to 64 chains' fields held in registers (stored once per row): each field still receives
//! its terms in the stored order. The *gather* kernel sums one unit's field over all its
//! neighbours for 128 (or 64, 16, 1) chains at a time in i16 lanes held in registers, and
//! decides those chains at once, fixed point straight from the lanes
//! ([`crate::arithmetic::LaneDecision`]). It reads a *plan*: every neighbour of every unit
//! of the partition with its weight, grouped by unit, in the reference order (bias; blocks
//! (q, p), q < p, by q, then row; blocks (p, q) by q, in stored order). The scratch holds the
//! plan instead of fields, unless [`BlockGibbs::plans`] built every partition's plan
//! beforehand for [`BlockGibbs::sweep_with`]. The gather kernel runs for integer
//! arithmetic ([`Arithmetic::plan_words`]) from 64 chains on, when the plan fits the scratch
//! and every unit's |bias| + Σ|W| fits i16, so that its sums are exact in any order; both
//! kernels give the same states and saturations (tested below). f32
//! ([`Arithmetic::ordered_plan_words`]) has an *ordered* gather kernel from 64 chains on: its
//! plan (f32 weights as their bits) lives in the f32 scratch, and each field, in f32 lanes
//! held in registers (four independent vectors per 64 chains), receives its terms in the
//! plan's order, which is also the scatter kernel's: the same rounding, the same states
//! (tested below). f64 and dense blocks always scatter. Bare-metal builds
//! (`target_os = "none"`) leave the gather kernels and the register-held rows out, for flash.
//!
//! **Draw order.** [`Draws`] maps random streams to updates. By default ([`Draws::PerChain`])
//! chain `c` owns `rngs[c]` and draws once per unclamped unit, in unit order. So a chain's
//! trajectory does not depend on how many chains run beside it, and float and fixed runs with
//! the same seed consume identical draws. [`Draws::PerLane`] is the hardware's mapping: one
//! stream per update lane (and chain), as an accelerator with a generator in every lane has.
//! Clamped units never draw, in either mode.
//!
//! **Vectorisation.** A unit's update is done for a row of chains at once: draw one word from
//! each chain's stream ([`Streams::draw_row`]), then decide the row
//! ([`Arithmetic::decide_row`], branch-free for fixed point). The gather kernel's lane
//! decision draws only the `r` top bits of those words, formed in the loop that steps the
//! streams ([`Streams::draw_top_bits`]), and decides them in 16-bit lanes. Every loop runs
//! over chains, and the whole sweep is compiled once per instruction set ([`Isa`]: portable,
//! AVX2, AVX-512) through `pulp`'s safe run-time dispatch, picked when the sampler is built.
//! The source is one; the integer results are identical on every path (tested below).

use crate::arithmetic::Arithmetic;
use crate::model::{Block, Model, MAX_PARTITIONS};
use crate::rng::Streams;
use core::fmt;
use rand_core::RngCore;

/// Chains decided per row of draws (stack buffer of the kernel).
const ROW: usize = 64;
/// Chains whose fields the gather kernel holds in registers at once (i16 lanes).
const GATHER_CHUNK: usize = crate::arithmetic::LANE_ROW;
/// Fewest chains for the gather kernel: below, rebuilding its plan every sweep costs more
/// than it saves (and the field scratch is too small to hold it).
const GATHER_MIN_CHAINS: usize = 64;
/// Bare-metal devices (the firmware's Cortex-M4 and RV32) run a few chains, below
/// [`GATHER_MIN_CHAINS`], in 16 KiB of flash: the gather kernel (8 KiB there) is left out.
const GATHER: bool = !cfg!(target_os = "none");
/// Chains whose f32 fields the ordered (float) gather kernel holds in registers at once.
const FLOAT_GATHER_CHUNK: usize = 64;
/// Fewest chains for the ordered gather kernel (below, its plan costs more than it saves).
const FLOAT_GATHER_MIN_CHAINS: usize = 64;

/// Per-chain quantities that a sweep keeps current as it changes states, from the exact
/// integer field of every update ([`BlockGibbs::sweep_with`]). Because no edge joins two
/// units of one partition, unit i's change is all that E(z) sees of its update:
/// ΔE = −(z_i' − z_i) h_i, with h_i the field the update used (bias included), so
/// energies can be carried from sweep to sweep without visiting an edge.
/// [`crate::stats::Tracker`] keeps energies and counts of ones; `()` keeps nothing.
pub trait Tally {
    /// False only for the tally that keeps nothing (the kernels then skip the bookkeeping).
    const ACTIVE: bool = true;
    /// Chains the tally holds.
    fn chains(&self) -> usize;
    /// One unit of chains `s..s + old.len()` went from `old` to `new` (0/1 each), and
    /// `fields[k]` is chain `s + k`'s exact field of the unit at the update.
    fn unit<L: Copy + Into<i64>>(&mut self, s: usize, fields: &[L], old: &[u8], new: &[u8]);
}

/// The tally that keeps nothing: plain sweeps.
impl Tally for () {
    const ACTIVE: bool = false;
    fn chains(&self) -> usize {
        0
    }
    #[inline(always)]
    fn unit<L: Copy + Into<i64>>(&mut self, _: usize, _: &[L], _: &[u8], _: &[u8]) {}
}

/// Gather plans of every partition, built once ([`BlockGibbs::plans`]) in caller storage for
/// [`BlockGibbs::sweep_with`]. A plain sweep rebuilds each partition's plan in its field
/// scratch every time, so that it needs no other storage (about 1.8 instructions per update
/// at 1024 chains of Z(6,4), measured when plans held only column neighbours).
#[derive(Clone, Copy, Debug)]
pub struct Plans<'w> {
    parts: [Option<&'w [i32]>; MAX_PARTITIONS],
    chains: usize,
    ordered: bool,
}

impl Plans<'_> {
    /// No plans: sweeps build their own, as a plain sweep does.
    pub const NONE: Plans<'static> = Plans { parts: [None; MAX_PARTITIONS], chains: 0, ordered: false };

    /// Partition `p`'s plan, when it was built for `chains` chains and this kind of sum.
    fn get(&self, p: usize, chains: usize, ordered: bool) -> Option<&[i32]> {
        match self.chains == chains && self.ordered == ordered {
            true => self.parts.get(p).copied().flatten(),
            false => None,
        }
    }
}

/// The instruction set a sweep is compiled for, chosen at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// The target's baseline (SSE2 on x86-64); the portable fallback.
    Portable,
    /// x86-64-v3: AVX2, BMI2, FMA.
    Avx2,
    /// x86-64-v4: AVX-512 F/BW/CD/DQ/VL.
    Avx512,
}

impl Isa {
    /// Every path, best last.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// The best instruction set this processor has.
    pub fn detect() -> Self {
        match Self::ALL.iter().rev().find(|isa| isa.is_available()) {
            Some(&isa) => isa,
            None => Isa::Portable,
        }
    }

    /// True when this processor can run the path.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx2 => pulp::x86::V3::try_new().is_some(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx512 => pulp::x86::V4::try_new().is_some(),
            #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
            _ => false,
        }
    }

    /// Run `f` compiled for this instruction set (portable when the processor lacks it).
    #[inline(always)]
    pub(crate) fn run<T>(self, f: impl FnOnce() -> T) -> T {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        match self {
            Isa::Avx512 => {
                if let Some(simd) = pulp::x86::V4::try_new() {
                    return pulp::Simd::vectorize(simd, f);
                }
            }
            Isa::Avx2 => {
                if let Some(simd) = pulp::x86::V3::try_new() {
                    return pulp::Simd::vectorize(simd, f);
                }
            }
            Isa::Portable => {}
        }
        f()
    }
}

/// Binary states of C chains, unit-major (`state[i * C + c]`), in caller storage.
#[derive(Debug)]
pub struct Chains<'s> {
    state: &'s mut [u8],
    units: usize,
    chains: usize,
}

/// Why a sweep cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SampleError {
    /// Storage of the wrong size.
    Shape {
        /// Which storage.
        field: &'static str,
        /// Entries needed.
        expected: usize,
        /// Entries lent.
        found: usize,
    },
    /// Per-lane draws with zero lanes.
    NoLanes,
    /// A state value other than 0 or 1.
    NotBinary {
        /// Unit.
        unit: usize,
        /// Chain.
        chain: usize,
    },
    /// A [`Tally`] asked of an arithmetic whose fields are not exact integers (floats).
    InexactFields,
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Shape { field, expected, found } => {
                write!(f, "`{field}` has {found} entries, the sampler needs {expected}")
            }
            Self::NoLanes => f.write_str("`lanes` is 0: per-lane draws need at least one lane"),
            Self::NotBinary { unit, chain } => {
                write!(f, "unit {unit} of chain {chain} is neither 0 nor 1")
            }
            Self::InexactFields => {
                f.write_str("the arithmetic's fields are not exact integers: a tally needs fixed point")
            }
        }
    }
}

impl core::error::Error for SampleError {}

impl<'s> Chains<'s> {
    /// Wrap `state` (units x chains, unit-major, values 0/1).
    pub fn new(state: &'s mut [u8], units: usize, chains: usize) -> Result<Self, SampleError> {
        if state.len() != units * chains || chains == 0 {
            return Err(SampleError::Shape { field: "state", expected: units * chains.max(1), found: state.len() });
        }
        if let Some(at) = state.iter().position(|&z| z > 1) {
            return Err(SampleError::NotBinary { unit: at / chains, chain: at % chains });
        }
        Ok(Self { state, units, chains })
    }

    /// Number of chains C.
    pub fn num_chains(&self) -> usize {
        self.chains
    }

    /// Number of units.
    pub fn num_units(&self) -> usize {
        self.units
    }

    /// Unit `i` of chain `c`.
    #[inline]
    pub fn get(&self, i: usize, c: usize) -> u8 {
        self.state[i * self.chains + c]
    }

    /// The raw unit-major state.
    pub fn state(&self) -> &[u8] {
        self.state
    }

    /// Set every unit of every chain from one draw each (1 with probability 1/2).
    pub fn randomise<R: RngCore>(&mut self, rngs: &mut [R]) {
        for i in 0..self.units {
            for (c, rng) in rngs.iter_mut().enumerate().take(self.chains) {
                self.state[i * self.chains + c] = (rng.next_u32() >> 31) as u8;
            }
        }
    }

    /// [`Chains::randomise`] from any row source (the same states for the same words).
    pub fn randomise_streams<S: Streams + ?Sized>(&mut self, streams: &mut S) {
        let mut u = [0u32; ROW];
        let c = self.chains;
        for row in self.state.chunks_exact_mut(c) {
            for s in (0..c).step_by(ROW) {
                let w = (c - s).min(ROW);
                streams.draw_row(s, &mut u[..w]);
                for (z, &x) in row[s..s + w].iter_mut().zip(&u[..w]) {
                    *z = (x >> 31) as u8;
                }
            }
        }
    }

    /// Set unit `i` of chain `c` (clamped units are set this way before sampling).
    pub fn set(&mut self, i: usize, c: usize, z: bool) {
        self.state[i * self.chains + c] = z as u8;
    }

    /// Copy chain `c` into `row` (one byte per unit).
    pub fn row(&self, c: usize, row: &mut [u8]) {
        for (i, z) in row.iter_mut().enumerate().take(self.units) {
            *z = self.state[i * self.chains + c];
        }
    }
}

/// Units held fixed during sampling: a bitset over units in caller storage.
#[derive(Clone, Copy, Debug)]
pub struct Clamp<'a> {
    bits: &'a [u32],
}

impl<'a> Clamp<'a> {
    /// Words needed for `units` units.
    pub const fn words(units: usize) -> usize {
        units.div_ceil(32)
    }

    /// Bit `i % 32` of word `i / 32` set means unit `i` is clamped.
    pub fn new(bits: &'a [u32]) -> Self {
        Self { bits }
    }

    /// True when unit `i` is clamped.
    #[inline]
    pub fn is_clamped(&self, i: usize) -> bool {
        self.bits.get(i / 32).is_some_and(|w| w & (1 << (i % 32)) != 0)
    }
}

/// How a partition's units are dealt to update lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneMap {
    /// Unit at position `k` of its partition goes to lane `k mod L`.
    RoundRobin,
    /// Contiguous blocks: unit `k` goes to lane `k / ceil(size / L)`.
    Blocked,
}

impl LaneMap {
    /// Lane of the unit at position `k` of a partition of `size` units, over `lanes` lanes.
    #[inline]
    pub fn lane(self, k: usize, size: usize, lanes: usize) -> usize {
        match self {
            Self::RoundRobin => k % lanes,
            Self::Blocked => k / size.div_ceil(lanes).max(1),
        }
    }
}

/// Which random stream draws for each update (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Draws {
    /// One stream per chain: chain `c` draws from `rngs[c]`, in unit order. C streams.
    #[default]
    PerChain,
    /// One stream per lane and chain, as hardware has: the unit at position `k` of its
    /// partition is updated by lane `l = map.lane(k, size, lanes)` and chain `c` draws from
    /// `rngs[l * C + c]`. Each stream is consumed in unit order. `lanes * C` streams.
    PerLane {
        /// Update lanes L >= 1.
        lanes: usize,
        /// How units are dealt to lanes.
        map: LaneMap,
    },
}

impl Draws {
    /// Streams needed for C chains.
    pub fn streams(self, chains: usize) -> usize {
        match self {
            Self::PerChain => chains,
            Self::PerLane { lanes, .. } => lanes * chains,
        }
    }

    /// First stream (times C) for the unit at position `k` of a partition of `size` units.
    #[inline]
    fn lane(self, k: usize, size: usize) -> usize {
        match self {
            Self::PerChain => 0,
            Self::PerLane { lanes, map } => map.lane(k, size, lanes),
        }
    }
}

/// Block Gibbs sampler over one model, optionally with clamped units.
#[derive(Clone, Copy, Debug)]
pub struct BlockGibbs<'m, W> {
    model: Model<'m, W>,
    clamp: Option<Clamp<'m>>,
    draws: Draws,
    isa: Isa,
}

impl<'m, W: Copy> BlockGibbs<'m, W> {
    /// Sample `model` with every unit free.
    pub fn new(model: Model<'m, W>) -> Self {
        Self { model, clamp: None, draws: Draws::PerChain, isa: Isa::detect() }
    }

    /// Compile sweeps for `isa` instead of the best one detected (`None` when this
    /// processor lacks it). Every path gives the same states.
    pub fn with_isa(self, isa: Isa) -> Option<Self> {
        isa.is_available().then_some(Self { isa, ..self })
    }

    /// The instruction set sweeps run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Hold the units of `clamp` at their current values.
    pub fn with_clamp(self, clamp: Clamp<'m>) -> Self {
        Self { clamp: Some(clamp), ..self }
    }

    /// Draw with `draws` instead of one stream per chain.
    pub fn with_draws(self, draws: Draws) -> Self {
        Self { draws, ..self }
    }

    /// The stream mapping.
    pub fn draws(&self) -> Draws {
        self.draws
    }

    /// Scratch entries a sweep needs for C chains.
    pub fn scratch_len(&self, chains: usize) -> usize {
        self.model.max_partition_size() * chains
    }

    /// The model.
    pub fn model(&self) -> &Model<'m, W> {
        &self.model
    }

    /// One sweep: every partition once, in order. `fields` is scratch of
    /// [`BlockGibbs::scratch_len`] entries; after a partition's update it holds that
    /// partition's local fields when the scatter kernel ran, the gather kernel's plan when
    /// that ran (see the module docs).
    pub fn sweep<A, R>(
        &self,
        arith: &mut A,
        chains: &mut Chains<'_>,
        rngs: &mut [R],
        fields: &mut [A::Field],
    ) -> Result<(), SampleError>
    where
        A: Arithmetic<Weight = W>,
        R: RngCore,
    {
        self.sweep_streams(arith, chains, rngs, fields)
    }

    /// [`BlockGibbs::sweep`] drawing from any row source, such as the structure-of-arrays
    /// banks [`crate::rng::Pcg32Lanes`] and [`crate::rng::XoshiroLanes`] (same words as the
    /// per-chain generators, drawn in one vector loop).
    pub fn sweep_streams<A, S>(
        &self,
        arith: &mut A,
        chains: &mut Chains<'_>,
        streams: &mut S,
        fields: &mut [A::Field],
    ) -> Result<(), SampleError>
    where
        A: Arithmetic<Weight = W>,
        S: Streams + ?Sized,
    {
        self.check(chains, streams.count(), fields.len())?;
        for p in 0..self.model.num_partitions() {
            self.update_partition(p, arith, chains, streams, fields, &Plans::NONE, &mut ());
        }
        Ok(())
    }

    /// [`BlockGibbs::sweep_streams`] with gather plans built beforehand ([`BlockGibbs::plans`];
    /// [`Plans::NONE`] builds them in `fields` as a plain sweep does), handing every update
    /// to `tally` with the unit's exact field ([`Tally`]; `&mut ()` for none): the same
    /// states, draws and saturations. A tally needs an arithmetic with exact integer fields
    /// ([`Arithmetic::exact_field`]: fixed point) and as many chains as `chains`.
    pub fn sweep_with<A, S, T>(
        &self,
        arith: &mut A,
        chains: &mut Chains<'_>,
        streams: &mut S,
        fields: &mut [A::Field],
        plans: &Plans<'_>,
        tally: &mut T,
    ) -> Result<(), SampleError>
    where
        A: Arithmetic<Weight = W>,
        S: Streams + ?Sized,
        T: Tally,
    {
        self.check(chains, streams.count(), fields.len())?;
        if T::ACTIVE && arith.exact_field(A::Field::default()).is_none() {
            return Err(SampleError::InexactFields);
        }
        if T::ACTIVE && tally.chains() != chains.chains {
            return Err(SampleError::Shape { field: "tally", expected: chains.chains, found: tally.chains() });
        }
        for p in 0..self.model.num_partitions() {
            self.update_partition(p, arith, chains, streams, fields, plans, tally);
        }
        Ok(())
    }

    /// Words of storage for [`BlockGibbs::plans`]: every partition's plan at once (two
    /// words per unit, and two per edge end; for Z(6,4) about 47 thousand).
    pub fn plans_len(&self) -> usize {
        (0..self.model.num_partitions()).fold(0usize, |words, p| words.saturating_add(self.plan_len(p)))
    }

    /// Words of partition `p`'s plan: heads, biases, and two words per neighbour entry.
    fn plan_len(&self, p: usize) -> usize {
        let m = &self.model;
        let entries = (0..m.num_partitions()).fold(0usize, |n, q| match m.block(p.min(q), p.max(q)) {
            Some(Block::Sparse(b)) => n.saturating_add(b.col.len()),
            _ => n,
        });
        (2 * m.size(p) + 1).saturating_add(entries.saturating_mul(2))
    }

    /// Every partition's gather plan for `chains` chains in `words` (at least
    /// [`BlockGibbs::plans_len`] of them), once, for sweeps that would otherwise build each
    /// again every sweep ([`BlockGibbs::sweep_with`]). A plan depends on the model, the chain
    /// count and how `arith` stores weights, not on β. Partitions whose gather kernel cannot
    /// run (see the module docs) get none and scatter, as in a plain sweep.
    pub fn plans<'w, A: Arithmetic<Weight = W>>(
        &self,
        arith: &A,
        chains: usize,
        mut words: &'w mut [i32],
    ) -> Plans<'w> {
        let ordered = arith.plan_words(&mut []).is_none();
        let mut plans = Plans { parts: [None; MAX_PARTITIONS], chains, ordered };
        if ordered && arith.ordered_plan_words(&mut []).is_none() {
            return plans;
        }
        for (p, part) in plans.parts.iter_mut().enumerate().take(self.model.num_partitions()) {
            let len = self.plan_len(p);
            if words.len() < len {
                break;
            }
            let (head, rest) = core::mem::take(&mut words).split_at_mut(len);
            words = rest;
            *part = self.plan(p, arith, chains, head, ordered);
        }
        plans
    }

    /// Update partition `p` only (for samplers that interleave their own steps).
    pub fn update<A, R>(
        &self,
        p: usize,
        arith: &mut A,
        chains: &mut Chains<'_>,
        rngs: &mut [R],
        fields: &mut [A::Field],
    ) -> Result<(), SampleError>
    where
        A: Arithmetic<Weight = W>,
        R: RngCore,
    {
        self.check(chains, rngs.len(), fields.len())?;
        if p >= self.model.num_partitions() {
            let k = self.model.num_partitions();
            return Err(SampleError::Shape { field: "partition", expected: k, found: p });
        }
        self.update_partition(p, arith, chains, rngs, fields, &Plans::NONE, &mut ());
        Ok(())
    }

    fn check(&self, chains: &Chains<'_>, rngs: usize, fields: usize) -> Result<(), SampleError> {
        let (n, c) = (self.model.num_units(), chains.chains);
        if chains.units != n {
            return Err(SampleError::Shape { field: "state", expected: n * c, found: chains.state.len() });
        }
        if let Draws::PerLane { lanes: 0, .. } = self.draws {
            return Err(SampleError::NoLanes);
        }
        if rngs != self.draws.streams(c) {
            return Err(SampleError::Shape { field: "rngs", expected: self.draws.streams(c), found: rngs });
        }
        if fields < self.scratch_len(c) {
            return Err(SampleError::Shape { field: "fields", expected: self.scratch_len(c), found: fields });
        }
        Ok(())
    }

    /// Add W_ij z_j for every neighbour j of every unit of partition `p` to `acc` (rows of
    /// `c` chains): gather where p holds the block's rows, scatter where it holds the columns.
    #[inline(always)]
    fn accumulate<A: Arithmetic<Weight = W>>(&self, p: usize, arith: &A, c: usize, z: &[u8], acc: &mut [A::Field]) {
        let m = &self.model;
        for q in 0..m.num_partitions() {
            let (block, p_rows) = match (p < q, m.block(p.min(q), p.max(q))) {
                (_, None) => continue,
                (rows, Some(b)) => (b, rows),
            };
            let q_start = m.range(q).start;
            let rows = m.size(p.min(q));
            let cols = m.size(p.max(q));
            // Where p holds the rows, one row's entries are consecutive terms of one target's
            // field: `add_terms` adds them with the fields held in registers. Where p holds
            // the columns, each entry adds one source row to one target row.
            match (block, p_rows) {
                (Block::Sparse(s), true) => {
                    for (r, dst) in acc.chunks_exact_mut(c).take(rows).enumerate() {
                        let span = s.row_ptr[r] as usize..s.row_ptr[r + 1] as usize;
                        let terms = s.col[span.clone()].iter().zip(&s.weight[span]);
                        add_terms(arith, dst, z, terms.map(|(&col, &w)| ((q_start + col as usize) * c, w)));
                    }
                }
                (Block::Dense(d), true) => {
                    for (row, dst) in d.weight.chunks_exact(cols).zip(acc.chunks_exact_mut(c)) {
                        add_terms(arith, dst, z, row.iter().enumerate().map(|(col, &w)| ((q_start + col) * c, w)));
                    }
                }
                (Block::Sparse(s), false) => {
                    for r in 0..rows {
                        let span = s.row_ptr[r] as usize..s.row_ptr[r + 1] as usize;
                        for (&col, &w) in s.col[span.clone()].iter().zip(&s.weight[span]) {
                            add_row_to(arith, acc, z, c, col as usize, q_start + r, w);
                        }
                    }
                }
                (Block::Dense(d), false) => {
                    for (r, row) in d.weight.chunks_exact(cols).enumerate() {
                        for (col, &w) in row.iter().enumerate() {
                            add_row_to(arith, acc, z, c, col, q_start + r, w);
                        }
                    }
                }
            }
        }
    }

    /// What the gather kernels need, built in `words` (the field scratch, or storage from
    /// [`BlockGibbs::plans`]): every neighbour of partition `p`'s units, grouped by unit.
    /// `words[li]` is where unit `li`'s entries begin (`size + 1` heads), `words[size + 1 +
    /// li]` is its bias word, then come entries of two words (where the neighbour's row of
    /// `c` chains starts in the state, weight word). Each unit's entries are in the
    /// reference kernel's order: the columns of blocks (q, p), q < p, by q, then row; then
    /// the rows of blocks (p, q), q > p, by q, in stored order. A weight word is an i16
    /// ([`Arithmetic::lane_weight`]), or with `ordered` (floats,
    /// [`BlockGibbs::gather_ordered`]) the weight's bits ([`Arithmetic::weight_word`]).
    /// `None` when the scratch is too small, a block is dense, a weight does not fit, or
    /// (not `ordered`) some unit's |bias| + Σ|W| exceeds `i16::MAX`: only then may i16 partial
    /// sums overflow, in any order, so the gather kernel's sums are exact whenever it runs.
    /// Float sums are not exact, and keep the reference order instead. A plain sweep builds
    /// the plan again every sweep, so that the sampler needs no storage of its own;
    /// [`BlockGibbs::plans`] builds every partition's once, in caller storage.
    fn plan<'w, A: Arithmetic<Weight = W>>(
        &self,
        p: usize,
        arith: &A,
        c: usize,
        words: &'w mut [i32],
        ordered: bool,
    ) -> Option<&'w [i32]> {
        let m = &self.model;
        let word = |w: W| match ordered {
            false => arith.lane_weight(w).map(i32::from),
            true => arith.weight_word(w),
        };
        let range = m.range(p);
        let size = range.len();
        let len = self.plan_len(p);
        let offsets_fit = m.num_units().checked_mul(c).is_some_and(|x| x <= i32::MAX as usize);
        let blocks_sparse =
            (0..m.num_partitions()).all(|q| !matches!(m.block(p.min(q), p.max(q)), Some(Block::Dense(_))));
        if !offsets_fit || !blocks_sparse || len > i32::MAX as usize || words.len() < len {
            return None;
        }
        let words = &mut words[..len];
        let (heads, rest) = words.split_at_mut(size + 1);
        let (bias, entries) = rest.split_at_mut(size);
        heads.fill(0);
        for q in 0..m.num_partitions() {
            match m.block(p.min(q), p.max(q)) {
                Some(Block::Sparse(b)) if q < p => b.col.iter().for_each(|&col| heads[col as usize + 1] += 1),
                Some(Block::Sparse(b)) if q > p => {
                    for (li, span) in b.row_ptr.windows(2).enumerate() {
                        heads[li + 1] += (span[1] - span[0]) as i32;
                    }
                }
                _ => {}
            }
        }
        for li in 0..size {
            heads[li + 1] += heads[li];
        }
        for (x, &b) in bias.iter_mut().zip(&m.bias()[range.clone()]) {
            *x = word(b)?;
        }
        let pairs = entries.as_chunks_mut::<2>().0;
        for q in 0..m.num_partitions() {
            let Some(Block::Sparse(b)) = m.block(p.min(q), p.max(q)) else { continue };
            let q_start = m.range(q).start;
            for (r, span) in b.row_ptr.windows(2).enumerate() {
                let span = span[0] as usize..span[1] as usize;
                for (&col, &w) in b.col[span.clone()].iter().zip(&b.weight[span]) {
                    // Blocks (q, p) hold p's units in columns; blocks (p, q) in rows.
                    let (target, source) =
                        if q < p { (col as usize, q_start + r) } else { (r, q_start + col as usize) };
                    pairs[heads[target] as usize] = [(source * c) as i32, word(w)?];
                    heads[target] += 1;
                }
            }
        }
        // Each head now holds the end of its unit's entries, which is the next unit's start.
        for li in (1..=size).rev() {
            heads[li] = heads[li - 1];
        }
        heads[0] = 0;
        if !ordered {
            for (li, &b) in bias.iter().enumerate() {
                let terms = &pairs[heads[li] as usize..heads[li + 1] as usize];
                let bound = terms.iter().fold(b.unsigned_abs(), |sum, e| sum.saturating_add(e[1].unsigned_abs()));
                if bound > i16::MAX as u32 {
                    return None;
                }
            }
        }
        Some(words)
    }

    /// Partition `p`'s plan of the `ordered` kind: the one built beforehand in `plans`, else
    /// one built now in the field scratch; `None` when that gather kernel cannot run.
    #[inline(always)]
    fn plan_of<'a, A: Arithmetic<Weight = W>>(
        &self,
        p: usize,
        arith: &A,
        c: usize,
        plans: &'a Plans<'_>,
        fields: &'a mut [A::Field],
        ordered: bool,
    ) -> Option<&'a [i32]> {
        if let Some(plan) = plans.get(p, c, ordered) {
            return Some(plan);
        }
        let words = if ordered { arith.ordered_plan_words(fields) } else { arith.plan_words(fields) }?;
        self.plan(p, arith, c, words, ordered)
    }

    /// [`BlockGibbs::gather`] over all `c` chains: chunks of 128, then 64, 16 and 1.
    #[inline(always)]
    fn gather_chunks<T, D>(&self, p: usize, z: &mut [u8], c: usize, plan: &[i32], tally: &mut T, mut decide: D)
    where
        T: Tally,
        D: FnMut(&[i16], &mut [u8], usize),
    {
        let mut s = 0;
        while s + GATHER_CHUNK <= c {
            self.gather::<T, D, GATHER_CHUNK>(p, z, c, s, plan, tally, &mut decide);
            s += GATHER_CHUNK;
        }
        while s + 64 <= c {
            self.gather::<T, D, 64>(p, z, c, s, plan, tally, &mut decide);
            s += 64;
        }
        while s + 16 <= c {
            self.gather::<T, D, 16>(p, z, c, s, plan, tally, &mut decide);
            s += 16;
        }
        while s < c {
            self.gather::<T, D, 1>(p, z, c, s, plan, tally, &mut decide);
            s += 1;
        }
    }

    /// Update partition `p` for chains `s..s + CH`: each unit's fields summed over its
    /// `plan` (bias, then every neighbour) in `CH` i16 lanes held in registers, then drawn
    /// and decided at once by `decide(fields, states, first stream)`, which draws one word
    /// (or its top bits) from each of the `CH` streams from the first on (no other unit of
    /// `p` reads the fields: no edge joins two units of a partition). Every stream still
    /// draws once per unclamped unit in unit order, so the states equal the scatter kernel's.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn gather<T, D, const CH: usize>(
        &self,
        p: usize,
        z: &mut [u8],
        c: usize,
        s: usize,
        plan: &[i32],
        tally: &mut T,
        decide: &mut D,
    ) where
        T: Tally,
        D: FnMut(&[i16], &mut [u8], usize),
    {
        let range = self.model.range(p);
        let size = range.len();
        let (heads, rest) = plan.split_at(size + 1);
        let (bias, entries) = rest.split_at(size.min(rest.len()));
        for (li, (&b, span)) in bias.iter().zip(heads.windows(2)).enumerate() {
            let i = range.start + li;
            if self.clamp.is_some_and(|k| k.is_clamped(i)) {
                continue;
            }
            let zs = z.get(s..).unwrap_or_default();
            let mut acc = [b as i16; CH];
            // Two neighbours an iteration: half the loop's own instructions.
            let terms = entries.get(2 * span[0] as usize..2 * span[1] as usize).unwrap_or_default();
            let (pairs, last) = terms.as_chunks::<4>();
            for e in pairs {
                add_row(&mut acc, zs, e[0] as u32 as usize, e[1] as i16);
                add_row(&mut acc, zs, e[2] as u32 as usize, e[3] as i16);
            }
            if let [j, w, ..] = *last {
                add_row(&mut acc, zs, j as u32 as usize, w as i16);
            }
            let acc = &Lanes(acc).0;
            let first = self.draws.lane(li, size) * c + s;
            if let Some(zi) = z.get_mut(i * c + s..i * c + s + CH) {
                let mut old = [0u8; CH];
                if T::ACTIVE {
                    old.copy_from_slice(zi);
                }
                decide(&acc[..], zi, first);
                if T::ACTIVE {
                    tally.unit(s, &acc[..], &old, zi);
                }
            }
        }
    }

    /// [`BlockGibbs::gather`] for floats (`CH` = 64, 16 or 1): each unit's fields for chains
    /// `s..s + CH` summed in field lanes held in registers in the reference kernel's order
    /// (the `plan`'s: bias, columns, rows), so every sum rounds as the scatter kernel's
    /// does: the same states. 64 chains are summed as four arrays of 16 lanes, which LLVM
    /// keeps in registers as four independent add chains (one 64-lane array stays in memory,
    /// one 16-lane array is one latency-bound chain: both slower than the scatter kernel).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn gather_ordered<A, S, const CH: usize>(
        &self,
        p: usize,
        arith: &mut A,
        z: &mut [u8],
        c: usize,
        s: usize,
        rngs: &mut S,
        plan: &[i32],
    ) where
        A: Arithmetic<Weight = W>,
        S: Streams + ?Sized,
    {
        let m = &self.model;
        let range = m.range(p);
        let size = range.len();
        let (heads, rest) = plan.split_at(size + 1);
        let (_, entries) = rest.split_at(size.min(rest.len()));
        let mut u = [0u32; CH];
        for (li, (&b, span)) in m.bias()[range.clone()].iter().zip(heads.windows(2)).enumerate() {
            let i = range.start + li;
            if self.clamp.is_some_and(|k| k.is_clamped(i)) {
                continue;
            }
            let zs = z.get(s..).unwrap_or_default();
            let terms = entries.get(2 * span[0] as usize..2 * span[1] as usize).unwrap_or_default();
            let start = arith.start(b);
            let mut acc = [start; CH];
            // Four registers of lanes at a time, as four arrays (each promoted to registers;
            // four independent add chains), the plan read once per 64 chains.
            if CH.is_multiple_of(64) {
                for (k, lanes) in acc.chunks_exact_mut(64).enumerate() {
                    let f = sum_lanes_x4::<A, 16>(arith, start, zs, k * 64, terms);
                    for (dst, f) in lanes.chunks_exact_mut(16).zip(&f) {
                        dst.copy_from_slice(f);
                    }
                }
            } else if CH.is_multiple_of(16) {
                for (k, lanes) in acc.chunks_exact_mut(16).enumerate() {
                    lanes.copy_from_slice(&sum_lanes::<A, 16>(arith, start, zs, k * 16, terms));
                }
            } else {
                for (k, lanes) in acc.chunks_exact_mut(1).enumerate() {
                    lanes.copy_from_slice(&sum_lanes::<A, 1>(arith, start, zs, k, terms));
                }
            }
            rngs.draw_row(self.draws.lane(li, size) * c + s, &mut u);
            if let Some(zi) = z.get_mut(i * c + s..i * c + s + CH) {
                arith.decide_row(&acc, zi, &u);
            }
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn update_partition<A, S, T>(
        &self,
        p: usize,
        arith: &mut A,
        chains: &mut Chains<'_>,
        rngs: &mut S,
        fields: &mut [A::Field],
        plans: &Plans<'_>,
        tally: &mut T,
    ) where
        A: Arithmetic<Weight = W>,
        S: Streams + ?Sized,
        T: Tally,
    {
        let c = chains.chains;
        // Each kernel is compiled for the instruction set on its own (its own registers).
        // AVX-512 scatters rows shorter than one full gather chunk faster (64 chains: 446
        // against 422 M updates per CPU-second; the 64-lane gather keeps its lanes in memory).
        let min = if self.isa == Isa::Avx512 { GATHER_CHUNK } else { GATHER_MIN_CHAINS };
        if GATHER && c >= min {
            if let Some(plan) = self.plan_of(p, arith, c, plans, fields, false) {
                let z = &mut *chains.state;
                // AVX-512 gathers the widened table's 32-bit entries in one instruction, which
                // the widened decision uses: 9% faster there than the i16 lanes, whose entries
                // load one by one (300 sweeps of Z(6,4), 1024 chains: 0.43-0.44 s against
                // 0.47-0.48 s). AVX2 and the portable path have no such gather.
                let saturated = match arith.lane_decision().filter(|_| self.isa != Isa::Avx512) {
                    Some(rule) => self.isa.run(
                        #[inline(always)]
                        || {
                            let mut saturated = 0u64;
                            // A copy of the decision in the vectorised function: its constants
                            // stay in registers rather than being loaded again for every unit
                            // (0.12 instructions an update), and the draws' buffer is set once.
                            let (rule, bits, mut draws) = (rule, rule.bits(), [0u16; GATHER_CHUNK]);
                            self.gather_chunks(
                                p,
                                z,
                                c,
                                plan,
                                tally,
                                #[inline(always)]
                                |h: &[i16], zi: &mut [u8], first: usize| {
                                    let d = &mut draws[..h.len()];
                                    rngs.draw_top_bits(first, bits, d);
                                    saturated += rule.decide(h, zi, d) as u64;
                                },
                            );
                            saturated
                        },
                    ),
                    // Widen the fields and decide as the scatter kernel does.
                    None => self.isa.run(
                        #[inline(always)]
                        || {
                            let mut words = [0u32; GATHER_CHUNK];
                            self.gather_chunks(
                                p,
                                z,
                                c,
                                plan,
                                tally,
                                #[inline(always)]
                                |h: &[i16], zi: &mut [u8], first: usize| {
                                    let u = &mut words[..h.len()];
                                    rngs.draw_row(first, u);
                                    let mut f = [A::Field::default(); GATHER_CHUNK];
                                    for (f, &x) in f.iter_mut().zip(h) {
                                        *f = arith.lane_field(x);
                                    }
                                    arith.decide_row(&f[..h.len()], zi, u);
                                },
                            );
                            0
                        },
                    ),
                };
                return arith.count_saturations(saturated);
            }
        }
        // Floats have no exact fields to tally (`sweep_with` refuses them).
        if GATHER && !T::ACTIVE && c >= FLOAT_GATHER_MIN_CHAINS {
            if let Some(plan) = self.plan_of(p, arith, c, plans, fields, true) {
                let z = &mut *chains.state;
                return self.isa.run(
                    #[inline(always)]
                    || {
                        let mut s = 0;
                        while s + FLOAT_GATHER_CHUNK <= c {
                            self.gather_ordered::<A, S, FLOAT_GATHER_CHUNK>(p, arith, z, c, s, rngs, plan);
                            s += FLOAT_GATHER_CHUNK;
                        }
                        while s + 16 <= c {
                            self.gather_ordered::<A, S, 16>(p, arith, z, c, s, rngs, plan);
                            s += 16;
                        }
                        while s < c {
                            self.gather_ordered::<A, S, 1>(p, arith, z, c, s, rngs, plan);
                            s += 1;
                        }
                    },
                );
            }
        }
        self.isa.run(
            #[inline(always)]
            || self.scatter(p, arith, chains, rngs, fields, tally),
        )
    }

    /// Update partition `p` with the scatter kernel (see the module docs).
    #[inline(always)]
    fn scatter<A, S, T>(
        &self,
        p: usize,
        arith: &mut A,
        chains: &mut Chains<'_>,
        rngs: &mut S,
        fields: &mut [A::Field],
        tally: &mut T,
    ) where
        A: Arithmetic<Weight = W>,
        S: Streams + ?Sized,
        T: Tally,
    {
        let m = &self.model;
        let c = chains.chains;
        let range = m.range(p);
        let start = range.start;
        let acc = &mut fields[..range.len() * c];
        for (li, &b) in m.bias()[range.clone()].iter().enumerate() {
            acc[li * c..(li + 1) * c].fill(arith.start(b));
        }
        let z = &mut *chains.state;
        // One chain (devices, fpga-sim) gets its own copy of the loops, with c a constant:
        // no vector loop set-up on every edge.
        if c == 1 {
            self.accumulate(p, arith, 1, z, acc);
        } else {
            self.accumulate(p, arith, c, z, acc);
        }
        let mut u = [0u32; ROW];
        for li in 0..range.len() {
            let i = start + li;
            if self.clamp.is_some_and(|k| k.is_clamped(i)) {
                continue;
            }
            let zs = &mut z[i * c..(i + 1) * c];
            let fs = &acc[li * c..(li + 1) * c];
            let first = self.draws.lane(li, range.len()) * c;
            for s in (0..c).step_by(ROW) {
                let w = (c - s).min(ROW);
                rngs.draw_row(first + s, &mut u[..w]);
                let mut old = [0u8; ROW];
                if T::ACTIVE {
                    old[..w].copy_from_slice(&zs[s..s + w]);
                }
                arith.decide_row(&fs[s..s + w], &mut zs[s..s + w], &u[..w]);
                if T::ACTIVE {
                    let mut exact = [0i64; ROW];
                    for (e, &f) in exact.iter_mut().zip(&fs[s..s + w]) {
                        *e = arith.exact_field(f).unwrap_or(0);
                    }
                    tally.unit(s, &exact[..w], &old[..w], &zs[s..s + w]);
                }
            }
        }
    }
}

/// One unit's fields for chains `k..k + L` of a gather chunk (states `zs` from its first
/// chain): `start` (the bias), plus the plan's `terms` in their order (see
/// [`BlockGibbs::gather_ordered`]).
#[inline(always)]
fn sum_lanes<A: Arithmetic, const L: usize>(
    arith: &A,
    start: A::Field,
    zs: &[u8],
    k: usize,
    terms: &[i32],
) -> [A::Field; L] {
    let mut f = [start; L];
    for e in terms.chunks_exact(2) {
        let j = e[0] as u32 as usize + k;
        if let Some(src) = zs.get(j..j.wrapping_add(L)) {
            for (f, &on) in f.iter_mut().zip(src) {
                *f = arith.add_word_if(*f, e[1], on);
            }
        }
    }
    f
}

/// [`sum_lanes`] for chains `k..k + 4 L` as four arrays of `L` lanes.
#[inline(always)]
fn sum_lanes_x4<A: Arithmetic, const L: usize>(
    arith: &A,
    start: A::Field,
    zs: &[u8],
    k: usize,
    terms: &[i32],
) -> [[A::Field; L]; 4] {
    let (mut f0, mut f1, mut f2, mut f3) = ([start; L], [start; L], [start; L], [start; L]);
    for e in terms.chunks_exact(2) {
        let j = e[0] as u32 as usize + k;
        if let Some(src) = zs.get(j..j.wrapping_add(4 * L)) {
            for t in 0..L {
                f0[t] = arith.add_word_if(f0[t], e[1], src[t]);
                f1[t] = arith.add_word_if(f1[t], e[1], src[L + t]);
                f2[t] = arith.add_word_if(f2[t], e[1], src[2 * L + t]);
                f3[t] = arith.add_word_if(f3[t], e[1], src[3 * L + t]);
            }
        }
    }
    [f0, f1, f2, f3]
}

/// `acc[target] += w * z[source]`, rows of `c` chains.
#[inline(always)]
fn add_row_to<A: Arithmetic>(
    arith: &A,
    acc: &mut [A::Field],
    z: &[u8],
    c: usize,
    target: usize,
    source: usize,
    w: A::Weight,
) {
    let dst = &mut acc[target * c..(target + 1) * c];
    let src = &z[source * c..(source + 1) * c];
    for (f, &on) in dst.iter_mut().zip(src) {
        *f = arith.add_if(*f, w, on);
    }
}

/// Chains whose fields [`add_terms`] holds in registers while it adds a row's terms.
const FUSE: usize = 64;
/// Bare-metal builds run fewer chains than [`FUSE`]: the blocked loop is left out, for flash.
const FUSE_ROWS: bool = !cfg!(target_os = "none");

/// `dst[k] += Σ w z[j + k]` over `terms` (j, w) in their order, for every chain k: per block of
/// [`FUSE`] chains the fields are loaded once, every term added, and stored once (the
/// scatter kernel's stores, not its arithmetic, bound it). Each field receives the same
/// terms in the same order as one pass per term would give it: the same sums, bit for bit.
#[inline(always)]
fn add_terms<A, I>(arith: &A, dst: &mut [A::Field], z: &[u8], terms: I)
where
    A: Arithmetic,
    I: Iterator<Item = (usize, A::Weight)> + Clone,
{
    let c = dst.len();
    let s = if FUSE_ROWS { c - c % FUSE } else { 0 };
    let (blocks, rest) = dst.split_at_mut(s);
    for (b, fields) in blocks.chunks_exact_mut(FUSE).enumerate() {
        let mut f = [A::Field::default(); FUSE];
        f.copy_from_slice(fields);
        for (j, w) in terms.clone() {
            if let Some(src) = z.get(j + b * FUSE..j + (b + 1) * FUSE) {
                for (f, &on) in f.iter_mut().zip(src) {
                    *f = arith.add_if(*f, w, on);
                }
            }
        }
        fields.copy_from_slice(&f);
    }
    for (j, w) in terms {
        if let Some(src) = z.get(j + s..j + c) {
            for (f, &on) in rest.iter_mut().zip(src) {
                *f = arith.add_if(*f, w, on);
            }
        }
    }
}

/// A unit's summed field lanes, handed to the decision and the tally as a cache-line-aligned
/// copy. Summed in a plain array and copied here, the lanes stay in registers through the
/// sum; handed over as the array itself, LLVM copied all eight AVX2 registers on every
/// neighbour (callgrind, `sample` of Z(6,4), 1024 chains, xoshiro, 11 sweeps: 202 M
/// instructions with the copy, 234 M without).
#[repr(C, align(64))]
struct Lanes<const CH: usize>([i16; CH]);

/// `acc += w * z[j..j + CH]` lane by lane (states 0/1; exact by the plan's bound).
#[inline(always)]
fn add_row<const CH: usize>(acc: &mut [i16; CH], z: &[u8], j: usize, w: i16) {
    if let Some(src) = z.get(j..j.wrapping_add(CH)) {
        for (a, &on) in acc.iter_mut().zip(src) {
            *a = a.wrapping_add(w.wrapping_mul(on as i16));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arithmetic::{Fixed, Float, Rule};
    use crate::model::SparseStorage;
    use crate::qformat::QFormat;
    use crate::sigmoid::LutSpec;
    use crate::stats::Tracker;

    /// Hands out a script of draws.
    struct Script<'a>(&'a [u32]);

    impl RngCore for Script<'_> {
        fn next_u32(&mut self) -> u32 {
            let (first, rest) = self.0.split_first().expect("script long enough");
            self.0 = rest;
            *first
        }
        fn next_u64(&mut self) -> u64 {
            self.next_u32() as u64
        }
        fn fill_bytes(&mut self, _: &mut [u8]) {
            unimplemented!()
        }
    }

    /// Units 0 | 1 | 2 in three partitions, edges (0,1) = 2 and (1,2) = -3, biases
    /// (-1, 0.5, 1). One sweep from z = (0, 0, 1) with draws placed just below or above the
    /// conditional probabilities computed by hand.
    #[test]
    fn one_sweep_by_hand() {
        let p = |h: f64| 1.0 / (1.0 + libm::exp(-h));
        let below = |q: f64| ((q - 0.01) * 4_294_967_296.0) as u32;
        let above = |q: f64| ((q + 0.01) * 4_294_967_296.0) as u32;
        // Unit 0: h = -1 + 2 z1 = -1 -> draw below p(-1): becomes 1.
        // Unit 1: h = 0.5 + 2 z0 - 3 z2 = -0.5 -> draw above: becomes 0.
        // Unit 2: h = 1 - 3 z1 = 1 -> draw above p(1): becomes 0.
        let draws = [below(p(-1.0)), above(p(-0.5)), above(p(1.0))];
        let check = |z: [u8; 3]| assert_eq!(z, [1, 0, 0]);

        let bias = [-1.0f64, 0.5, 1.0];
        let edges = [(0usize, 1usize, 2.0f64), (1, 2, -3.0)];
        let (mut rp, mut col, mut w) = ([0u32; 8], [0u16; 2], [0.0f64; 2]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let model = Model::from_edges(&bias, &[1, 1, 1], edges, st, 1.0).unwrap();
        let mut state = [0u8, 0, 1];
        let mut chains = Chains::new(&mut state, 3, 1).unwrap();
        let mut fields = [0.0f64; 1];
        let mut arith = Float::<f64>::new(1.0, Rule::HeatBath).unwrap();
        BlockGibbs::new(model).sweep(&mut arith, &mut chains, &mut [Script(&draws)], &mut fields).unwrap();
        check([chains.get(0, 0), chains.get(1, 0), chains.get(2, 0)]);

        // The same in Q8.8 with a 16-bit table.
        let q = |x: f64| QFormat::Q8_8.quantise(x).unwrap().raw as i16;
        let bias = bias.map(q);
        let edges = edges.map(|(i, j, x)| (i, j, q(x)));
        let (mut rp, mut col, mut w) = ([0u32; 8], [0u16; 2], [0i16; 2]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let model = Model::from_edges(&bias, &[1, 1, 1], edges, st, QFormat::Q8_8.lsb()).unwrap();
        let mut state = [0u8, 0, 1];
        let mut chains = Chains::new(&mut state, 3, 1).unwrap();
        let mut table = [0u16; 4096];
        let mut arith = Fixed::<i16>::new(QFormat::Q8_8, LutSpec::exact(8), Rule::HeatBath, 1.0, &mut table).unwrap();
        let mut fields = [0i32; 1];
        BlockGibbs::new(model).sweep(&mut arith, &mut chains, &mut [Script(&draws)], &mut fields).unwrap();
        check([chains.get(0, 0), chains.get(1, 0), chains.get(2, 0)]);
        assert_eq!(arith.saturations(), 0);
    }

    #[test]
    fn field_saturation_is_counted() {
        // One unit with bias 7.5 and a neighbour adding 7.5: 15 > Q4.4's 7.9375.
        let q = |x: f64| QFormat::Q4_4.quantise(x).unwrap().raw as i8;
        let bias = [q(7.5), 0];
        let (mut rp, mut col, mut w) = ([0u32; 2], [0u16; 1], [0i8; 1]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let model = Model::from_edges(&bias, &[1, 1], [(0, 1, q(7.5))], st, QFormat::Q4_4.lsb()).unwrap();
        let mut state = [0u8, 1];
        let mut chains = Chains::new(&mut state, 2, 1).unwrap();
        let mut table = [0u16; 512];
        let mut arith = Fixed::<i8>::new(QFormat::Q4_4, LutSpec::exact(4), Rule::HeatBath, 1.0, &mut table).unwrap();
        let mut fields = [0i32; 1];
        // Unit 1's field is 7.5 (saturates only when unit 0 is 1); unit 0's is 15.
        BlockGibbs::new(model).update(0, &mut arith, &mut chains, &mut [Script(&[0])], &mut fields).unwrap();
        assert_eq!(arith.saturations(), 1);
    }

    /// Counts its draws; every draw is 0, so every update sets its unit to 1.
    #[derive(Default)]
    struct Counter(usize);

    impl RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            self.0 += 1;
            0
        }
        fn next_u64(&mut self) -> u64 {
            self.next_u32() as u64
        }
        fn fill_bytes(&mut self, _: &mut [u8]) {
            unimplemented!()
        }
    }

    /// Partitions of 4 and 1 units, two chains, unit 1 clamped: which stream each update
    /// draws from under each mapping, counted draw by draw.
    #[test]
    fn per_lane_streams() {
        let bias = [0.0f64; 5];
        let (mut rp, mut col, mut w) = ([0u32; 6], [0u16; 1], [0.0f64; 1]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let model = Model::from_edges(&bias, &[4, 1], [(0, 4, 1.0)], st, 1.0).unwrap();
        let clamp_bits = [1u32 << 1];
        let count = |draws: Draws| {
            let mut state = [0u8; 10];
            let mut chains = Chains::new(&mut state, 5, 2).unwrap();
            let mut arith = Float::<f64>::new(1.0, Rule::HeatBath).unwrap();
            let mut rngs: [Counter; 6] = Default::default();
            let n = draws.streams(2);
            let sampler = BlockGibbs::new(model).with_clamp(Clamp::new(&clamp_bits)).with_draws(draws);
            sampler.sweep(&mut arith, &mut chains, &mut rngs[..n], &mut [0.0; 8]).unwrap();
            assert_eq!(chains.get(1, 0) + chains.get(1, 1), 0, "clamped unit moved");
            rngs[..n].iter().map(|r| r.0).collect::<std::vec::Vec<_>>()
        };
        // Per chain: 4 unclamped units, one draw each.
        assert_eq!(count(Draws::PerChain), [4, 4]);
        // One lane is the per-chain mapping.
        assert_eq!(count(Draws::PerLane { lanes: 1, map: LaneMap::Blocked }), [4, 4]);
        // Round robin over 3 lanes: lane 0 has units 0, 3 and 4; lane 1 has the clamped unit 1.
        assert_eq!(count(Draws::PerLane { lanes: 3, map: LaneMap::RoundRobin }), [3, 3, 0, 0, 1, 1]);
        // Blocks of ceil(4/3) = 2: lane 0 has units 0, 1 (clamped) and 4; lane 1 has 2 and 3.
        assert_eq!(count(Draws::PerLane { lanes: 3, map: LaneMap::Blocked }), [2, 2, 2, 2, 0, 0]);
        let mut state = [0u8; 10];
        let mut chains = Chains::new(&mut state, 5, 2).unwrap();
        let mut arith = Float::<f64>::new(1.0, Rule::HeatBath).unwrap();
        let zero = BlockGibbs::new(model).with_draws(Draws::PerLane { lanes: 0, map: LaneMap::RoundRobin });
        let err = zero.sweep(&mut arith, &mut chains, &mut [Counter(0)], &mut [0.0; 8]);
        assert_eq!(err, Err(SampleError::NoLanes));
    }

    /// f32 arithmetic (sums, plan hooks) whose decision is the last bit of the field's value
    /// (mixed with the draw): states then show any difference in how a field was rounded.
    struct FieldBits(Float<f32>);

    impl Arithmetic for FieldBits {
        type Weight = f32;
        type Field = f32;
        fn start(&self, bias: f32) -> f32 {
            self.0.start(bias)
        }
        fn add_if(&self, field: f32, w: f32, on: u8) -> f32 {
            self.0.add_if(field, w, on)
        }
        fn decide(&mut self, field: f32, _: u8, u: u32) -> u8 {
            ((field.to_bits() ^ (u >> 31)) & 1) as u8
        }
        fn p_one(&self, _: f32, _: u8) -> f64 {
            0.5
        }
        fn set_beta(&mut self, beta: f64) -> Result<(), crate::sigmoid::LutError> {
            self.0.set_beta(beta)
        }
        fn lane_field(&self, x: i16) -> f32 {
            self.0.lane_field(x)
        }
        fn ordered_plan_words<'f>(&self, fields: &'f mut [f32]) -> Option<&'f mut [i32]> {
            self.0.ordered_plan_words(fields)
        }
        fn weight_word(&self, w: f32) -> Option<i32> {
            self.0.weight_word(w)
        }
        fn add_word_if(&self, field: f32, x: i32, on: u8) -> f32 {
            self.0.add_word_if(field, x, on)
        }
    }

    /// The scalar reference kernel, written as plainly as possible: fields from the edge list
    /// per chain, then `decide` chain by chain with one `next_u32` each.
    fn reference_sweep<A: Arithmetic, R: RngCore>(
        model: &Model<'_, A::Weight>,
        clamp: Option<Clamp<'_>>,
        draws: Draws,
        arith: &mut A,
        z: &mut [u8],
        c: usize,
        rngs: &mut [R],
    ) where
        A::Weight: Copy,
    {
        for p in 0..model.num_partitions() {
            let range = model.range(p);
            let mut f = std::vec::Vec::new();
            for &b in &model.bias()[range.clone()] {
                f.extend(core::iter::repeat_n(arith.start(b), c));
            }
            model.for_each_edge(|_, i, j, w| {
                for (t, s) in [(i, j), (j, i)] {
                    if range.contains(&t) {
                        for k in 0..c {
                            let at = (t - range.start) * c + k;
                            f[at] = arith.add_if(f[at], w, z[s * c + k]);
                        }
                    }
                }
            });
            for li in 0..range.len() {
                let i = range.start + li;
                if clamp.is_some_and(|k| k.is_clamped(i)) {
                    continue;
                }
                for k in 0..c {
                    let stream = draws.lane(li, range.len()) * c + k;
                    z[i * c + k] = arith.decide(f[li * c + k], z[i * c + k], rngs[stream].next_u32());
                }
            }
        }
    }

    /// Every instruction-set path, with per-chain generators and with the structure-of-arrays
    /// banks, gives the reference kernel's states and saturations exactly: heat bath and
    /// Metropolis, clamped units, per-lane draws, an annealing schedule, ragged chain counts
    /// (some above and some not a multiple of the 64 chains `add_terms` holds in registers),
    /// and a field register narrow enough to saturate; f32 as well, on every path.
    #[test]
    fn every_path_equals_the_reference_kernel() {
        use crate::rng::{chain_streams, Pcg32, Pcg32Lanes, Xoshiro128PlusPlus, XoshiroLanes};
        let sizes = [23usize, 19, 31, 17];
        let n: usize = sizes.iter().sum();
        let mut g = Pcg32::new(12, 34);
        let q = |x: f64| QFormat::Q8_8.quantise(x).unwrap().raw as i16;
        let unit = |g: &mut Pcg32| (g.next_u32() as f64 / 4_294_967_296.0 - 0.5) * 6.0;
        let bias: std::vec::Vec<i16> = (0..n).map(|_| q(unit(&mut g))).collect();
        let part = |i: usize| {
            sizes
                .iter()
                .scan(0, |s, &z| {
                    *s += z;
                    Some(*s)
                })
                .position(|e| i < e)
                .unwrap()
        };
        let mut edges = std::vec::Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                if part(i) != part(j) && g.next_u32().is_multiple_of(5) {
                    edges.push((i, j, q(unit(&mut g))));
                }
            }
        }
        let mut rp = std::vec![0u32; Model::<i16>::row_ptr_len(&sizes)];
        let (mut col, mut w) = (std::vec![0u16; edges.len()], std::vec![0i16; edges.len()]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let model = Model::from_edges(&bias, &sizes, edges.iter().copied(), st, QFormat::Q8_8.lsb()).unwrap();
        let clamp_bits = [0x0010_2041u32, 0, 1 << 7];
        let betas = [0.3, 1.0, 2.5];
        // Q3.8 fields saturate at 4: many fields here exceed it.
        let field = QFormat::new(3, 8).unwrap();
        let mut tables = [[0u16; 1 << 13]; 2];
        for rule in [Rule::HeatBath, Rule::Metropolis] {
            for (clamp, draws) in [
                (None, Draws::PerChain),
                (Some(Clamp::new(&clamp_bits)), Draws::PerChain),
                (Some(Clamp::new(&clamp_bits)), Draws::PerLane { lanes: 3, map: LaneMap::RoundRobin }),
            ] {
                for c in [1usize, 7, 64, 100, 150] {
                    let streams = draws.streams(c);
                    let mut rngs = std::vec![Pcg32::new(0, 0); streams];
                    chain_streams(5, 0, &mut rngs);
                    let mut start = std::vec![0u8; n * c];
                    Chains::new(&mut start, n, c).unwrap().randomise(&mut rngs);
                    let mut words = std::vec![0u64; 2 * streams];
                    let mut again = std::vec![0u8; n * c];
                    Chains::new(&mut again, n, c).unwrap().randomise_streams(&mut Pcg32Lanes::new(&mut words, 5, 0));
                    assert_eq!(again, start);
                    let [t0, t1] = &mut tables;
                    let spec = LutSpec { bits: 16, index_frac_bits: 6 };
                    let mut arith = Fixed::<i16>::new(field, spec, rule, betas[0], t0).unwrap();
                    let mut want = start.clone();
                    let mut r = rngs.clone();
                    for &beta in &betas {
                        arith.set_beta(beta).unwrap();
                        reference_sweep(&model, clamp, draws, &mut arith, &mut want, c, &mut r);
                    }
                    assert!(c == 1 || arith.saturations() > 0);
                    let sampler = BlockGibbs::new(model).with_draws(draws);
                    // From 64 chains on, the gather kernel runs (its plan fits the scratch).
                    let mut words = std::vec![0i32; sampler.scratch_len(c)];
                    let gathers = (0..sizes.len()).all(|p| sampler.plan(p, &arith, c, &mut words, false).is_some());
                    assert_eq!(gathers, c >= GATHER_MIN_CHAINS, "{c}");
                    let sampler = match clamp {
                        Some(k) => sampler.with_clamp(k),
                        None => sampler,
                    };
                    for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
                        let sampler = sampler.with_isa(isa).unwrap();
                        for soa in [false, true] {
                            let mut wide = [0u32; 1 << 13];
                            let a = Fixed::<i16>::new(field, spec, rule, betas[0], t1).unwrap();
                            let mut a = if soa { a.with_wide_table(&mut wide) } else { a };
                            let mut got = start.clone();
                            let mut chains = Chains::new(&mut got, n, c).unwrap();
                            let mut fields = std::vec![0i32; sampler.scratch_len(c)];
                            let mut r = rngs.clone();
                            let mut words = std::vec![0u64; 2 * streams];
                            let mut lanes = Pcg32Lanes::new(&mut words, 5, 0);
                            // `randomise` drew n words from each of the first c streams.
                            let mut skip = std::vec![0u32; c];
                            (0..n).for_each(|_| lanes.draw_row(0, &mut skip));
                            // The bank's sweeps are tallied: energies and ones carried by the
                            // kernels equal fresh sums after every sweep (and the states do not change).
                            let (mut energy, mut ones) = (std::vec![0i32; c], std::vec![0i32; c]);
                            let mut tracker = Tracker::new(&model, &chains, &mut energy, &mut ones).unwrap();
                            let mut plan_words = std::vec![0i32; sampler.plans_len()];
                            for &beta in &betas {
                                a.set_beta(beta).unwrap();
                                if soa {
                                    let plans = sampler.plans(&a, c, &mut plan_words);
                                    sampler
                                        .sweep_with(&mut a, &mut chains, &mut lanes, &mut fields, &plans, &mut tracker)
                                        .unwrap();
                                    let (mut e, mut o) = (std::vec![0i32; c], std::vec![0i32; c]);
                                    let fresh = Tracker::new(&model, &chains, &mut e, &mut o).unwrap();
                                    let what = (rule, clamp.is_some(), draws, c, isa, beta);
                                    assert_eq!(tracker.energies(), fresh.energies(), "{what:?}");
                                    assert_eq!(tracker.ones(), fresh.ones(), "{what:?}");
                                } else {
                                    sampler.sweep(&mut a, &mut chains, &mut r, &mut fields).unwrap();
                                }
                            }
                            let what = (rule, clamp.is_some(), draws, c, isa, soa);
                            assert_eq!(got, want, "{what:?}");
                            assert_eq!(a.saturations(), arith.saturations(), "{what:?}");
                        }
                    }
                    // xoshiro banks and floats: every path equals the portable one.
                    let mut xs = std::vec![Xoshiro128PlusPlus::from_u64(0); streams];
                    Xoshiro128PlusPlus::chain_streams(9, 0, &mut xs);
                    // Over 251, not 256: with dyadic values every f32 sum here would be exact,
                    // in any order; these round, so a term out of order changes some state.
                    let fbias: std::vec::Vec<f32> = bias.iter().map(|&b| b as f32 / 251.0).collect();
                    let fedges = edges.iter().map(|&(i, j, w)| (i, j, w as f32 / 251.0));
                    let mut rp = std::vec![0u32; Model::<f32>::row_ptr_len(&sizes)];
                    let (mut col, mut w) = (std::vec![0u16; edges.len()], std::vec![0f32; edges.len()]);
                    let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
                    let fmodel = Model::from_edges(&fbias, &sizes, fedges, st, 1.0).unwrap();
                    let mut fixed_out = std::vec::Vec::new();
                    let mut float_out = std::vec::Vec::new();
                    for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
                        let mut got = start.clone();
                        let mut chains = Chains::new(&mut got, n, c).unwrap();
                        let mut xw = std::vec![0u32; 4 * streams];
                        let mut lanes = XoshiroLanes::new(&mut xw, 9, 0);
                        let mut x = xs.clone();
                        let mut a = Fixed::<i16>::new(field, spec, rule, 1.0, t1).unwrap();
                        let s = BlockGibbs::new(model).with_draws(draws).with_isa(isa).unwrap();
                        let mut fields = std::vec![0i32; s.scratch_len(c)];
                        s.sweep_streams(&mut a, &mut chains, &mut lanes, &mut fields).unwrap();
                        s.sweep(&mut a, &mut chains, &mut x, &mut fields).unwrap();
                        fixed_out.push(got);
                        let mut got = start.clone();
                        let mut chains = Chains::new(&mut got, n, c).unwrap();
                        let mut af = Float::<f32>::new(0.7, rule).unwrap();
                        let s = BlockGibbs::new(fmodel).with_draws(draws).with_isa(isa).unwrap();
                        let mut fields = std::vec![0f32; s.scratch_len(c)];
                        let mut x = xs.clone();
                        s.sweep(&mut af, &mut chains, &mut x, &mut fields).unwrap();
                        s.sweep(&mut af, &mut chains, &mut x, &mut fields).unwrap();
                        float_out.push(got);
                    }
                    assert!(fixed_out.windows(2).all(|p| p[0] == p[1]));
                    assert!(float_out.windows(2).all(|p| p[0] == p[1]));
                    // Floats sum in the reference kernel's order too: the same states, bit for bit.
                    let mut want = start.clone();
                    let mut af = Float::<f32>::new(0.7, rule).unwrap();
                    let mut x = xs.clone();
                    for _ in 0..2 {
                        reference_sweep(&fmodel, None, draws, &mut af, &mut want, c, &mut x);
                    }
                    assert_eq!(float_out[0], want, "f32 {rule:?} {draws:?} {c}");
                    // Decisions rarely see a 1-ulp difference of a field; `FieldBits` decides
                    // by the field's last bit, so every sum must round as the reference's.
                    let mut want = start.clone();
                    let mut af = FieldBits(Float::<f32>::new(0.7, rule).unwrap());
                    let mut x = xs.clone();
                    for _ in 0..2 {
                        reference_sweep(&fmodel, None, draws, &mut af, &mut want, c, &mut x);
                    }
                    for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
                        let mut got = start.clone();
                        let mut chains = Chains::new(&mut got, n, c).unwrap();
                        let s = BlockGibbs::new(fmodel).with_draws(draws).with_isa(isa).unwrap();
                        let mut fields = std::vec![0f32; s.scratch_len(c)];
                        let mut x = xs.clone();
                        s.sweep(&mut af, &mut chains, &mut x, &mut fields).unwrap();
                        // Plans built beforehand (f32: ordered) give the same sums.
                        let mut words = std::vec![0i32; s.plans_len()];
                        let plans = s.plans(&af, c, &mut words);
                        s.sweep_with(&mut af, &mut chains, &mut x[..], &mut fields, &plans, &mut ()).unwrap();
                        assert_eq!(got, want, "f32 field bits {rule:?} {draws:?} {c} {isa:?}");
                    }
                }
            }
        }
    }

    /// A tally needs exact fields and one entry per chain.
    #[test]
    fn tallies_are_checked() {
        use crate::rng::Pcg32;
        let (bias, sizes) = ([3i16, -2, 5, 1], [2usize, 2]);
        let mut rp = std::vec![0u32; Model::<i16>::row_ptr_len(&sizes)];
        let (mut col, mut w) = ([0u16; 2], [0i16; 2]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let edges = [(0usize, 2usize, 7i16), (1, 3, -4)];
        let model = Model::from_edges(&bias, &sizes, edges, st, 1.0).unwrap();
        let fbias = [3.0f32, -2.0, 5.0, 1.0];
        let mut rp = std::vec![0u32; Model::<f32>::row_ptr_len(&sizes)];
        let (mut col, mut w) = ([0u16; 2], [0f32; 2]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let fedges = [(0usize, 2usize, 7.0f32), (1, 3, -4.0)];
        let fmodel = Model::from_edges(&fbias, &sizes, fedges, st, 1.0).unwrap();
        let mut state = [0u8, 1, 1, 1, 0, 1, 1, 0];
        let mut chains = Chains::new(&mut state, 4, 2).unwrap();
        let (mut energy, mut ones) = ([0i32; 2], [0i32; 2]);
        let mut tracker = Tracker::new(&model, &chains, &mut energy, &mut ones).unwrap();
        // Chain 0 = (0, 1, 0, 1): E = 2 - 1 + 4 = 5; chain 1 = (1, 1, 1, 0): E = -3 + 2 - 5 - 7 = -13.
        assert_eq!((tracker.energies(), tracker.ones()), (&[5, -13][..], &[2, 3][..]));
        assert!(Tracker::new(&fmodel, &chains, &mut [0; 2], &mut [0; 2]).is_some(), "integer-valued floats");
        assert!(Tracker::new(&model, &chains, &mut [0; 3], &mut [0; 2]).is_none());
        let mut rngs = [Pcg32::new(1, 1), Pcg32::new(2, 2)];
        let mut af = Float::<f32>::new(1.0, Rule::HeatBath).unwrap();
        let s = BlockGibbs::new(fmodel);
        let mut fields = [0f32; 4];
        let got = s.sweep_with(&mut af, &mut chains, &mut rngs[..], &mut fields, &Plans::NONE, &mut tracker);
        assert_eq!(got, Err(SampleError::InexactFields));
        let mut table = [0u16; 1 << 12];
        let spec = LutSpec { bits: 12, index_frac_bits: 4 };
        let mut a = Fixed::<i16>::new(QFormat::Q8_8, spec, Rule::HeatBath, 1.0, &mut table).unwrap();
        let mut state = [0u8; 12];
        let mut three = Chains::new(&mut state, 4, 3).unwrap();
        let mut rngs = [Pcg32::new(1, 1), Pcg32::new(2, 2), Pcg32::new(3, 3)];
        let mut fields3 = [0i32; 6];
        let s = BlockGibbs::new(model);
        let got = s.sweep_with(&mut a, &mut three, &mut rngs[..], &mut fields3, &Plans::NONE, &mut tracker);
        assert_eq!(got, Err(SampleError::Shape { field: "tally", expected: 3, found: 2 }));
    }

    /// The gather kernel runs exactly when i16 partial sums cannot overflow (|bias| + Σ|W| of
    /// every unit fits), and the scratch holds its plan; either way the states are the
    /// reference kernel's.
    #[test]
    fn gather_plan_needs_i16_room() {
        let sizes = [1usize, 3];
        let bias = [-300i16, 5, -7, 0];
        for (w, fits) in [(10_000i16, true), (14_000, false), (-14_000, false)] {
            let edges = [(0usize, 1usize, w), (0, 2, w), (0, 3, -w / 2)];
            let (mut rp, mut col, mut wt) = ([0u32; 2], [0u16; 3], [0i16; 3]);
            let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut wt };
            let model = Model::from_edges(&bias, &sizes, edges, st, QFormat::Q8_8.lsb()).unwrap();
            let spec = LutSpec { bits: 16, index_frac_bits: 6 };
            let mut table = std::vec![0u16; Fixed::<i16>::table_len(QFormat::Q8_8, spec, 0.01)];
            let arith = Fixed::<i16>::new(QFormat::Q8_8, spec, Rule::HeatBath, 0.01, &mut table).unwrap();
            let sampler = BlockGibbs::new(model);
            let c = 64;
            let mut words = std::vec![0i32; sampler.scratch_len(c)];
            assert_eq!(sampler.plan(0, &arith, c, &mut words, false).is_some(), fits, "{w}");
            assert!(sampler.plan(1, &arith, c, &mut words, false).is_some());
            assert!(sampler.plan(1, &arith, c, &mut words[..9], false).is_none(), "scratch too small");
            let mut a = Fixed::<i16>::new(QFormat::Q8_8, spec, Rule::HeatBath, 0.01, &mut table).unwrap();
            let mut rngs = std::vec![crate::rng::Pcg32::new(0, 0); c];
            crate::rng::chain_streams(3, 0, &mut rngs);
            let mut want = std::vec![1u8; 4 * c];
            let mut r = rngs.clone();
            for _ in 0..3 {
                reference_sweep(&model, None, Draws::PerChain, &mut a, &mut want, c, &mut r);
            }
            let mut got = std::vec![1u8; 4 * c];
            let mut chains = Chains::new(&mut got, 4, c).unwrap();
            for _ in 0..3 {
                sampler.sweep(&mut a, &mut chains, &mut rngs, &mut words).unwrap();
            }
            assert_eq!(got, want, "{w}");
        }
    }

    #[test]
    fn shapes_are_checked() {
        let bias = [0.0f64; 2];
        let (mut rp, mut col, mut w) = ([0u32; 2], [0u16; 1], [0.0f64; 1]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let model = Model::from_edges(&bias, &[1, 1], [(0, 1, 1.0)], st, 1.0).unwrap();
        let mut state = [0u8; 4];
        let mut chains = Chains::new(&mut state, 2, 2).unwrap();
        let mut arith = Float::<f64>::new(1.0, Rule::HeatBath).unwrap();
        let err = BlockGibbs::new(model).sweep(&mut arith, &mut chains, &mut [Script(&[])], &mut [0.0; 2]);
        assert_eq!(err, Err(SampleError::Shape { field: "rngs", expected: 2, found: 1 }));
        let mut bad = [0u8, 2];
        assert_eq!(Chains::new(&mut bad, 2, 1).err(), Some(SampleError::NotBinary { unit: 1, chain: 0 }));
    }
}
