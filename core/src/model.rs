//! A K-partite Boltzmann machine over binary units, held in caller-owned storage.
//!
//! E(z) = -Σ_i b_i z_i - Σ_(i,j) W_ij z_i z_j, p(z) ∝ exp(-β E(z)), z_i ∈ {0, 1}.
//!
//! **Layout.** Units are numbered partition by partition (partition 0 first), so each
//! partition is a contiguous range. Weights exist only between partitions and live in one
//! block per partition pair (p < q): either [`Sparse`] (CSR with rows in p, columns in q,
//! indices local to their partition, each edge stored once) or [`Dense`] (|p| x |q|
//! row-major, the fully connected RBM case). A block is read in both directions: updating q
//! scatters along rows, updating p gathers along them, so no edge is stored twice. That keeps
//! a 1208-unit Zephyr model at Q8.8 under 64 KiB (see `tests::zephyr_memory_budget`).
//!
//! **Invariants** (checked by every constructor): at most [`MAX_PARTITIONS`] partitions of at
//! most 65535 units; no edge inside a partition; no duplicate edge; CSR rows sorted.
//!
//! **Slots.** Every stored weight has a slot number: blocks in pair order (0,1), (0,2), ...,
//! (1,2), ..., entries in storage order. Statistics are kept per slot; [`Model::slot`] maps an
//! edge to its slot.

use core::fmt;

/// Most partitions a model may have.
pub const MAX_PARTITIONS: usize = 8;
const MAX_PAIRS: usize = MAX_PARTITIONS * (MAX_PARTITIONS - 1) / 2;

/// A stored weight's value as f64 before scaling (raw integer or float).
pub trait Weight: Copy + Default {
    /// The stored number as f64.
    fn to_f64(self) -> f64;
}

macro_rules! weight {
    ($($t:ty),*) => {$(
        impl Weight for $t {
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
weight!(i8, i16, i32, f32, f64);

/// One sparse inter-partition block: CSR over the lower partition's units.
#[derive(Clone, Copy, Debug)]
pub struct Sparse<'a, W> {
    /// Row starts, `rows + 1` entries, non-decreasing, last = `col.len()`.
    pub row_ptr: &'a [u32],
    /// Column (unit index local to the higher partition), strictly increasing per row.
    pub col: &'a [u16],
    /// Weight of each entry.
    pub weight: &'a [W],
}

/// One dense inter-partition block: `rows x cols` row-major.
#[derive(Clone, Copy, Debug)]
pub struct Dense<'a, W> {
    /// The weights.
    pub weight: &'a [W],
}

/// The weights between two partitions.
#[derive(Clone, Copy, Debug)]
pub enum Block<'a, W> {
    /// Few edges (Zephyr).
    Sparse(Sparse<'a, W>),
    /// All pairs (RBM).
    Dense(Dense<'a, W>),
}

impl<W> Block<'_, W> {
    /// Stored weights.
    pub fn len(&self) -> usize {
        match self {
            Block::Sparse(s) => s.col.len(),
            Block::Dense(d) => d.weight.len(),
        }
    }

    /// True when the block stores nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Caller-owned storage that [`Model::from_edges`] fills with sparse blocks.
#[derive(Debug)]
pub struct SparseStorage<'a, W> {
    /// Row starts of all blocks; needs [`Model::row_ptr_len`] entries.
    pub row_ptr: &'a mut [u32],
    /// Columns; needs one entry per edge.
    pub col: &'a mut [u16],
    /// Weights; needs one entry per edge.
    pub weight: &'a mut [W],
}

/// Why a model was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// More than [`MAX_PARTITIONS`] partitions, or none.
    PartitionCount(usize),
    /// A partition with more than 65535 units.
    PartitionTooLarge {
        /// The partition.
        partition: usize,
        /// Its size.
        size: usize,
    },
    /// An array's length disagrees with the model's shape.
    Shape {
        /// Which array.
        field: &'static str,
        /// Length required.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// Caller storage too small.
    Capacity {
        /// Which storage.
        field: &'static str,
        /// Entries needed.
        needed: usize,
        /// Entries lent.
        capacity: usize,
    },
    /// An edge names a unit that does not exist.
    IndexOutOfRange {
        /// Position of the edge in the input.
        edge: usize,
        /// The offending unit index.
        index: usize,
        /// Number of units.
        units: usize,
    },
    /// An edge joins two units of one partition.
    IntraPartitionEdge {
        /// Position of the edge in the input.
        edge: usize,
        /// First unit.
        i: usize,
        /// Second unit.
        j: usize,
        /// Their partition.
        partition: usize,
    },
    /// The same pair of units appears twice.
    DuplicateEdge {
        /// First unit.
        i: usize,
        /// Second unit.
        j: usize,
    },
    /// A block's CSR arrays are inconsistent.
    MalformedBlock {
        /// Lower partition.
        p: usize,
        /// Higher partition.
        q: usize,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::PartitionCount(k) => write!(f, "{k} partitions: a model needs 1 to {MAX_PARTITIONS}"),
            Self::PartitionTooLarge { partition, size } => {
                write!(f, "partition {partition} has {size} units, more than 65535")
            }
            Self::Shape { field, expected, found } => {
                write!(f, "`{field}` has {found} entries, expected {expected}")
            }
            Self::Capacity { field, needed, capacity } => {
                write!(f, "capacity exceeded: `{field}` needs {needed} entries, storage holds {capacity}")
            }
            Self::IndexOutOfRange { edge, index, units } => {
                write!(f, "edges[{edge}] names unit {index}, but the model has {units} units")
            }
            Self::IntraPartitionEdge { edge, i, j, partition } => write!(
                f,
                "edges[{edge}] = ({i}, {j}) joins two units of partition {partition}; edges must join different partitions"
            ),
            Self::DuplicateEdge { i, j } => write!(f, "edge ({i}, {j}) appears more than once"),
            Self::MalformedBlock { p, q } => write!(f, "block ({p}, {q}) has inconsistent CSR arrays"),
        }
    }
}

impl core::error::Error for ModelError {}

/// Index of pair (p, q), p < q, in pair order (0,1), (0,2), ..., (1,2), ...
const fn pair_index(k: usize, p: usize, q: usize) -> usize {
    p * (2 * k - p - 1) / 2 + (q - p - 1)
}

/// A validated K-partite Boltzmann machine borrowing caller storage.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a, W> {
    bias: &'a [W],
    starts: [usize; MAX_PARTITIONS + 1],
    parts: usize,
    blocks: [Option<Block<'a, W>>; MAX_PAIRS],
    slot_base: [usize; MAX_PAIRS + 1],
    scale: f64,
}

impl<'a, W: Copy> Model<'a, W> {
    /// A model from biases (units ordered by partition), partition sizes and blocks
    /// `(p, q, block)` with p < q. `scale` is the value of one stored unit (1 for floats,
    /// 2^-n for raw `Qm.n` integers).
    pub fn new(
        bias: &'a [W],
        sizes: &[usize],
        blocks: &[(usize, usize, Block<'a, W>)],
        scale: f64,
    ) -> Result<Self, ModelError> {
        let mut model = Self::shape(bias, sizes, scale)?;
        let k = model.parts;
        for &(p, q, block) in blocks {
            if p >= q || q >= k || model.blocks[pair_index(k, p, q)].is_some() {
                return Err(ModelError::MalformedBlock { p, q });
            }
            let (rows, cols) = (model.size(p), model.size(q));
            let ok = match block {
                Block::Dense(d) => d.weight.len() == rows * cols,
                Block::Sparse(s) => {
                    s.row_ptr.len() == rows + 1
                        && s.row_ptr[0] == 0
                        && s.row_ptr[rows] as usize == s.col.len()
                        && s.col.len() == s.weight.len()
                        && s.row_ptr.windows(2).all(|w| w[0] <= w[1])
                        && (0..rows).all(|r| {
                            let c = &s.col[s.row_ptr[r] as usize..s.row_ptr[r + 1] as usize];
                            c.windows(2).all(|w| w[0] < w[1]) && c.iter().all(|&c| (c as usize) < cols)
                        })
                }
            };
            if !ok {
                return Err(ModelError::MalformedBlock { p, q });
            }
            model.blocks[pair_index(k, p, q)] = Some(block);
        }
        model.index_slots();
        Ok(model)
    }

    fn shape(bias: &'a [W], sizes: &[usize], scale: f64) -> Result<Self, ModelError> {
        if sizes.is_empty() || sizes.len() > MAX_PARTITIONS {
            return Err(ModelError::PartitionCount(sizes.len()));
        }
        let mut starts = [0; MAX_PARTITIONS + 1];
        for (p, &size) in sizes.iter().enumerate() {
            if size > u16::MAX as usize {
                return Err(ModelError::PartitionTooLarge { partition: p, size });
            }
            starts[p + 1] = starts[p] + size;
        }
        let n = starts[sizes.len()];
        if bias.len() != n {
            return Err(ModelError::Shape { field: "bias", expected: n, found: bias.len() });
        }
        Ok(Self { bias, starts, parts: sizes.len(), blocks: [None; MAX_PAIRS], slot_base: [0; MAX_PAIRS + 1], scale })
    }

    fn index_slots(&mut self) {
        let pairs = self.parts * (self.parts - 1) / 2;
        for b in 0..pairs {
            self.slot_base[b + 1] = self.slot_base[b] + self.blocks[b].map_or(0, |b| b.len());
        }
        for b in pairs..MAX_PAIRS {
            self.slot_base[b + 1] = self.slot_base[b];
        }
    }

    /// Entries of `row_ptr` storage that [`Model::from_edges`] needs for these sizes.
    pub fn row_ptr_len(sizes: &[usize]) -> usize {
        (0..sizes.len()).map(|p| (sizes[p] + 1) * (sizes.len() - 1 - p)).sum()
    }

    /// A sparse model from an edge list `(i, j, w)` in global unit indices (either order).
    /// The edges are read twice, so the iterator must be `Clone`.
    pub fn from_edges<I>(
        bias: &'a [W],
        sizes: &[usize],
        edges: I,
        storage: SparseStorage<'a, W>,
        scale: f64,
    ) -> Result<Self, ModelError>
    where
        I: IntoIterator<Item = (usize, usize, W)> + Clone,
    {
        let mut model = Self::shape(bias, sizes, scale)?;
        let k = model.parts;
        let n = model.num_units();
        let rp_len = Self::row_ptr_len(sizes);
        let SparseStorage { row_ptr, col, weight } = storage;
        if row_ptr.len() < rp_len {
            return Err(ModelError::Capacity { field: "row_ptr", needed: rp_len, capacity: row_ptr.len() });
        }
        // Where each pair's rows and entries begin in the flat storage.
        let mut row_base = [0usize; MAX_PAIRS + 1];
        let mut entry_base = [0usize; MAX_PAIRS + 1];
        for p in 0..k {
            for q in p + 1..k {
                let b = pair_index(k, p, q);
                row_base[b + 1] = row_base[b] + model.size(p) + 1;
            }
        }
        let row_ptr = &mut row_ptr[..rp_len];
        row_ptr.fill(0);
        // Pass 1: validate, count entries per row.
        let mut m = 0usize;
        for (e, (i, j, _)) in edges.clone().into_iter().enumerate() {
            let (b, r, _) = model.locate(e, i, j, n)?;
            row_ptr[row_base[b] + r + 1] += 1;
            m += 1;
        }
        if col.len() < m || weight.len() < m {
            let capacity = col.len().min(weight.len());
            return Err(ModelError::Capacity { field: "edges", needed: m, capacity });
        }
        let pairs = k * (k - 1) / 2;
        for b in 0..pairs {
            let rows = &mut row_ptr[row_base[b]..row_base[b + 1]];
            for r in 1..rows.len() {
                rows[r] += rows[r - 1];
            }
            entry_base[b + 1] = entry_base[b] + rows[rows.len() - 1] as usize;
        }
        // Pass 2: place entries, using row starts as cursors.
        for (e, (i, j, w)) in edges.into_iter().enumerate() {
            let (b, r, c) = model.locate(e, i, j, n)?;
            let cursor = &mut row_ptr[row_base[b] + r];
            let at = entry_base[b] + *cursor as usize;
            col[at] = c as u16;
            weight[at] = w;
            *cursor += 1;
        }
        // Cursors now hold row ends: shift back to starts, then sort rows and find duplicates.
        for b in 0..pairs {
            let rows = &mut row_ptr[row_base[b]..row_base[b + 1]];
            rows.copy_within(0..rows.len() - 1, 1);
            rows[0] = 0;
            let (cols, ws) =
                (&mut col[entry_base[b]..entry_base[b + 1]], &mut weight[entry_base[b]..entry_base[b + 1]]);
            for r in 0..rows.len() - 1 {
                let (lo, hi) = (rows[r] as usize, rows[r + 1] as usize);
                sort_row(&mut cols[lo..hi], &mut ws[lo..hi]);
                if let Some(d) = cols[lo..hi].windows(2).position(|w| w[0] == w[1]) {
                    let (p, q) = model.pair_of(b);
                    let i = model.starts[p] + r;
                    let j = model.starts[q] + cols[lo + d] as usize;
                    return Err(ModelError::DuplicateEdge { i, j });
                }
            }
        }
        // Hand out shared views of the filled storage.
        let (mut row_ptr, mut col, mut weight) = (&*row_ptr, &*col, &*weight);
        for p in 0..k {
            for q in p + 1..k {
                let b = pair_index(k, p, q);
                let (rp, rest) = row_ptr.split_at(row_base[b + 1] - row_base[b]);
                let len = entry_base[b + 1] - entry_base[b];
                let (c, crest) = col.split_at(len);
                let (w, wrest) = weight.split_at(len);
                (row_ptr, col, weight) = (rest, crest, wrest);
                model.blocks[b] = Some(Block::Sparse(Sparse { row_ptr: rp, col: c, weight: w }));
            }
        }
        model.index_slots();
        Ok(model)
    }

    /// Pair index, local row and local column of edge `e` = (i, j).
    fn locate(&self, e: usize, i: usize, j: usize, n: usize) -> Result<(usize, usize, usize), ModelError> {
        for index in [i, j] {
            if index >= n {
                return Err(ModelError::IndexOutOfRange { edge: e, index, units: n });
            }
        }
        let (pi, pj) = (self.partition_of(i), self.partition_of(j));
        if pi == pj {
            return Err(ModelError::IntraPartitionEdge { edge: e, i, j, partition: pi });
        }
        let ((p, a), (q, c)) = if pi < pj { ((pi, i), (pj, j)) } else { ((pj, j), (pi, i)) };
        Ok((pair_index(self.parts, p, q), a - self.starts[p], c - self.starts[q]))
    }

    fn pair_of(&self, b: usize) -> (usize, usize) {
        let k = self.parts;
        let mut b = b;
        for p in 0..k {
            let run = k - 1 - p;
            if b < run {
                return (p, p + 1 + b);
            }
            b -= run;
        }
        unreachable!("pair index within range")
    }

    /// Number of units.
    pub fn num_units(&self) -> usize {
        self.starts[self.parts]
    }

    /// Number of partitions K.
    pub fn num_partitions(&self) -> usize {
        self.parts
    }

    /// Units of partition `p`.
    pub fn size(&self, p: usize) -> usize {
        self.starts[p + 1] - self.starts[p]
    }

    /// The largest partition's size.
    pub fn max_partition_size(&self) -> usize {
        (0..self.parts).map(|p| self.size(p)).max().unwrap_or(0)
    }

    /// Unit range of partition `p`.
    pub fn range(&self, p: usize) -> core::ops::Range<usize> {
        self.starts[p]..self.starts[p + 1]
    }

    /// The partition of unit `i` (which must exist).
    pub fn partition_of(&self, i: usize) -> usize {
        (0..self.parts).find(|&p| i < self.starts[p + 1]).unwrap_or(self.parts - 1)
    }

    /// Stored biases.
    pub fn bias(&self) -> &'a [W] {
        self.bias
    }

    /// Value of one stored unit.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The block between p and q (p < q).
    pub fn block(&self, p: usize, q: usize) -> Option<Block<'a, W>> {
        if p < q && q < self.parts {
            self.blocks[pair_index(self.parts, p, q)]
        } else {
            None
        }
    }

    /// Number of stored weights (edges).
    pub fn num_slots(&self) -> usize {
        self.slot_base[MAX_PAIRS]
    }

    /// The slot of edge (i, j), either order, if stored.
    pub fn slot(&self, i: usize, j: usize) -> Option<usize> {
        let n = self.num_units();
        let (b, r, c) = self.locate(0, i, j, n).ok()?;
        let base = self.slot_base[b];
        match self.blocks[b]? {
            Block::Dense(_) => {
                let (_, q) = self.pair_of(b);
                Some(base + r * self.size(q) + c)
            }
            Block::Sparse(s) => {
                let (lo, hi) = (s.row_ptr[r] as usize, s.row_ptr[r + 1] as usize);
                s.col[lo..hi].binary_search(&(c as u16)).ok().map(|at| base + lo + at)
            }
        }
    }

    /// Visit every stored weight as (slot, i, j, w) with global unit indices, i < j.
    pub fn for_each_edge(&self, mut f: impl FnMut(usize, usize, usize, W)) {
        let k = self.parts;
        for p in 0..k {
            for q in p + 1..k {
                let b = pair_index(k, p, q);
                let (sp, sq, base) = (self.starts[p], self.starts[q], self.slot_base[b]);
                match self.blocks[b] {
                    None => {}
                    Some(Block::Dense(d)) => {
                        let cols = self.size(q);
                        for (at, &w) in d.weight.iter().enumerate() {
                            f(base + at, sp + at / cols, sq + at % cols, w);
                        }
                    }
                    Some(Block::Sparse(s)) => {
                        for r in 0..self.size(p) {
                            for at in s.row_ptr[r] as usize..s.row_ptr[r + 1] as usize {
                                f(base + at, sp + r, sq + s.col[at] as usize, s.weight[at]);
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<W: Weight> Model<'_, W> {
    /// E(z) = -Σ b z - Σ W z z, in real units (before β), for one state `z` (0/1 bytes).
    pub fn energy(&self, z: impl Fn(usize) -> u8) -> f64 {
        let mut e = 0.0;
        for (i, &b) in self.bias.iter().enumerate() {
            if z(i) != 0 {
                e -= b.to_f64();
            }
        }
        self.for_each_edge(|_, i, j, w| {
            if z(i) & z(j) != 0 {
                e -= w.to_f64();
            }
        });
        e * self.scale
    }

    /// Bytes this model's storage takes: biases, blocks (weights, columns, row pointers).
    pub fn storage_bytes(&self) -> usize {
        use core::mem::size_of_val;
        let mut bytes = size_of_val(self.bias);
        for block in self.blocks.iter().flatten() {
            bytes += match block {
                Block::Dense(d) => size_of_val(d.weight),
                Block::Sparse(s) => size_of_val(s.weight) + size_of_val(s.col) + size_of_val(s.row_ptr),
            };
        }
        bytes
    }
}

/// Insertion sort of a short row by column (Zephyr rows hold at most 4t + 4 entries).
fn sort_row<W: Copy>(cols: &mut [u16], ws: &mut [W]) {
    for a in 1..cols.len() {
        let (c, w) = (cols[a], ws[a]);
        let mut b = a;
        while b > 0 && cols[b - 1] > c {
            cols[b] = cols[b - 1];
            ws[b] = ws[b - 1];
            b -= 1;
        }
        cols[b] = c;
        ws[b] = w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triangle_free() -> ([f64; 4], [(usize, usize, f64); 4]) {
        // 4 units in 3 partitions: {0, 1}, {2}, {3}.
        ([0.5, -0.5, 1.0, -1.0], [(2, 0, 1.5), (0, 3, -2.0), (1, 2, 0.25), (2, 3, 3.0)])
    }

    #[test]
    fn builds_csr_and_slots() {
        let (bias, edges) = triangle_free();
        let (mut rp, mut col, mut w) = ([0u32; 16], [0u16; 8], [0.0f64; 8]);
        let storage = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let m = Model::from_edges(&bias, &[2, 1, 1], edges.iter().copied(), storage, 1.0).unwrap();
        assert_eq!(m.num_units(), 4);
        assert_eq!(m.num_slots(), 4);
        let mut seen = [(0, 0, 0.0); 4];
        m.for_each_edge(|s, i, j, w| seen[s] = (i, j, w));
        // Pair order (0,1), (0,2), (1,2).
        assert_eq!(seen, [(0, 2, 1.5), (1, 2, 0.25), (0, 3, -2.0), (2, 3, 3.0)]);
        for (s, &(i, j, _)) in seen.iter().enumerate() {
            assert_eq!(m.slot(i, j), Some(s));
            assert_eq!(m.slot(j, i), Some(s));
        }
        assert_eq!(m.slot(1, 3), None);
        // E(all ones) = -(0.5 - 0.5 + 1 - 1) - (1.5 - 2 + 0.25 + 3).
        assert_eq!(m.energy(|_| 1), -2.75);
    }

    #[test]
    fn refuses_bad_edges() {
        let bias = [0.0f64; 4];
        let build = |edges: &[(usize, usize, f64)]| {
            let (mut rp, mut col, mut w) = ([0u32; 16], [0u16; 2], [0.0f64; 2]);
            let storage = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
            Model::from_edges(&bias, &[2, 1, 1], edges.iter().copied(), storage, 1.0).map(|m| m.num_slots())
        };
        assert_eq!(build(&[(0, 1, 1.0)]), Err(ModelError::IntraPartitionEdge { edge: 0, i: 0, j: 1, partition: 0 }));
        assert_eq!(
            build(&[(0, 2, 1.0), (0, 9, 1.0)]),
            Err(ModelError::IndexOutOfRange { edge: 1, index: 9, units: 4 })
        );
        assert_eq!(build(&[(0, 2, 1.0), (2, 0, 1.0)]), Err(ModelError::DuplicateEdge { i: 0, j: 2 }));
        assert_eq!(
            build(&[(0, 2, 1.0), (1, 2, 1.0), (0, 3, 1.0)]),
            Err(ModelError::Capacity { field: "edges", needed: 3, capacity: 2 })
        );
        assert_eq!(build(&[(0, 2, 1.0), (1, 3, 1.0)]), Ok(2));
    }

    #[test]
    fn dense_blocks() {
        let bias = [0.0f32; 5];
        let w = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let m = Model::new(&bias, &[2, 3], &[(0, 1, Block::Dense(Dense { weight: &w }))], 1.0).unwrap();
        assert_eq!(m.slot(1, 2), Some(3));
        assert_eq!(m.slot(4, 0), Some(2));
        assert_eq!(m.energy(|i| (i == 1 || i == 4) as u8), -6.0);
        let short = [1.0f32; 5];
        assert!(Model::new(&bias, &[2, 3], &[(0, 1, Block::Dense(Dense { weight: &short }))], 1.0).is_err());
        assert_eq!(
            Model::new(&bias, &[5, 0, 0, 0, 0, 0, 0, 0, 0], &[], 1.0).err(),
            Some(ModelError::PartitionCount(9))
        );
    }
}
