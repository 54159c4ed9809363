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
//! **Draw order.** Chain `c` owns `rngs[c]` and draws once per unclamped unit, in unit order.
//! So a chain's trajectory does not depend on how many chains run beside it, and float and
//! fixed runs with the same seed consume identical draws.

use crate::arithmetic::Arithmetic;
use crate::model::{Block, Model};
use core::fmt;
use rand_core::RngCore;

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
    /// A state value other than 0 or 1.
    NotBinary {
        /// Unit.
        unit: usize,
        /// Chain.
        chain: usize,
    },
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Shape {
                field,
                expected,
                found,
            } => {
                write!(
                    f,
                    "`{field}` has {found} entries, the sampler needs {expected}"
                )
            }
            Self::NotBinary { unit, chain } => {
                write!(f, "unit {unit} of chain {chain} is neither 0 nor 1")
            }
        }
    }
}

impl core::error::Error for SampleError {}

impl<'s> Chains<'s> {
    /// Wrap `state` (units x chains, unit-major, values 0/1).
    pub fn new(state: &'s mut [u8], units: usize, chains: usize) -> Result<Self, SampleError> {
        if state.len() != units * chains || chains == 0 {
            return Err(SampleError::Shape {
                field: "state",
                expected: units * chains.max(1),
                found: state.len(),
            });
        }
        if let Some(at) = state.iter().position(|&z| z > 1) {
            return Err(SampleError::NotBinary {
                unit: at / chains,
                chain: at % chains,
            });
        }
        Ok(Self {
            state,
            units,
            chains,
        })
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
        self.bits
            .get(i / 32)
            .is_some_and(|w| w & (1 << (i % 32)) != 0)
    }
}

/// Block Gibbs sampler over one model, optionally with clamped units.
#[derive(Clone, Copy, Debug)]
pub struct BlockGibbs<'m, W> {
    model: Model<'m, W>,
    clamp: Option<Clamp<'m>>,
}

impl<'m, W: Copy> BlockGibbs<'m, W> {
    /// Sample `model` with every unit free.
    pub fn new(model: Model<'m, W>) -> Self {
        Self { model, clamp: None }
    }

    /// Hold the units of `clamp` at their current values.
    pub fn with_clamp(self, clamp: Clamp<'m>) -> Self {
        Self {
            clamp: Some(clamp),
            ..self
        }
    }

    /// Scratch entries a sweep needs for C chains.
    pub fn scratch_len(&self, chains: usize) -> usize {
        self.model.max_partition_size() * chains
    }

    /// The model.
    pub fn model(&self) -> &Model<'m, W> {
        &self.model
    }

    /// One sweep: every partition once, in order.
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
        self.check(chains, rngs.len(), fields.len())?;
        for p in 0..self.model.num_partitions() {
            self.update_partition(p, arith, chains, rngs, fields);
        }
        Ok(())
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
            return Err(SampleError::Shape {
                field: "partition",
                expected: k,
                found: p,
            });
        }
        self.update_partition(p, arith, chains, rngs, fields);
        Ok(())
    }

    fn check(&self, chains: &Chains<'_>, rngs: usize, fields: usize) -> Result<(), SampleError> {
        let (n, c) = (self.model.num_units(), chains.chains);
        if chains.units != n {
            return Err(SampleError::Shape {
                field: "state",
                expected: n * c,
                found: chains.state.len(),
            });
        }
        if rngs != c {
            return Err(SampleError::Shape {
                field: "rngs",
                expected: c,
                found: rngs,
            });
        }
        if fields < self.scratch_len(c) {
            return Err(SampleError::Shape {
                field: "fields",
                expected: self.scratch_len(c),
                found: fields,
            });
        }
        Ok(())
    }

    fn update_partition<A, R>(
        &self,
        p: usize,
        arith: &mut A,
        chains: &mut Chains<'_>,
        rngs: &mut [R],
        fields: &mut [A::Field],
    ) where
        A: Arithmetic<Weight = W>,
        R: RngCore,
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
        // Add W_ij z_j for every neighbour j: gather where p holds the block's rows,
        // scatter where it holds the columns.
        let mut add = |target: usize, source: usize, w: W| {
            let dst = &mut acc[target * c..(target + 1) * c];
            let src = &z[source * c..(source + 1) * c];
            for (f, &on) in dst.iter_mut().zip(src) {
                *f = arith.add_if(*f, w, on);
            }
        };
        for q in 0..m.num_partitions() {
            let (block, p_rows) = match (p < q, m.block(p.min(q), p.max(q))) {
                (_, None) => continue,
                (rows, Some(b)) => (b, rows),
            };
            let q_start = m.range(q).start;
            let rows = m.size(p.min(q));
            let cols = m.size(p.max(q));
            let mut visit = |r: usize, col: usize, w: W| {
                if p_rows {
                    add(r, q_start + col, w)
                } else {
                    add(col, q_start + r, w)
                }
            };
            match block {
                Block::Sparse(s) => {
                    for r in 0..rows {
                        let span = s.row_ptr[r] as usize..s.row_ptr[r + 1] as usize;
                        for (&col, &w) in s.col[span.clone()].iter().zip(&s.weight[span]) {
                            visit(r, col as usize, w);
                        }
                    }
                }
                Block::Dense(d) => {
                    for (r, row) in d.weight.chunks_exact(cols).enumerate() {
                        for (col, &w) in row.iter().enumerate() {
                            visit(r, col, w);
                        }
                    }
                }
            }
        }
        for li in 0..range.len() {
            let i = start + li;
            if self.clamp.is_some_and(|k| k.is_clamped(i)) {
                continue;
            }
            let zs = &mut z[i * c..(i + 1) * c];
            for ((zi, &f), rng) in zs
                .iter_mut()
                .zip(&acc[li * c..(li + 1) * c])
                .zip(rngs.iter_mut())
            {
                *zi = arith.decide(f, *zi, rng.next_u32());
            }
        }
    }
}
