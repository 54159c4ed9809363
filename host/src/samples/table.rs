//! The internal sample table: binary rows in the model's unit order, a weight per row, and
//! whatever per-row vectors the file carried.
//!
//! Rows are stored bit-sliced: `masks[b * units + i]` holds unit i of rows `64b..64b + 63`,
//! row `64b + r` in bit r. Every statistic is then a popcount over 64 rows at once: the
//! weighted count of rows with z_i z_j = 1 is Σ_k 2^k popcount(mask_i & mask_j & W_k), where
//! W_k marks the rows whose integer weight has bit k set. Rows past `num_rows` in the last
//! block are zero and weigh nothing.
//!
//! Invariants: `weight.len() == num_rows`, weights finite and non-negative with a positive
//! total (the importers check this and say which row breaks it).

use crate::model_file::ModelFile;
use crate::statistics::Statistics;
use anyhow::{bail, Result};

/// Weights up to this many bits are summed by bit-sliced popcounts; larger or fractional
/// weights row by row.
const MAX_SLICED_WEIGHT_BITS: u32 = 8;

/// The largest count (`num_occurrences`, and the total of counts) a reader takes: 2^53, the
/// largest integer below which every integer is a double. Larger counts would round, and a
/// `num_samples` beyond `u64` would saturate; they are refused in every format alike.
pub const MAX_COUNT: f64 = 9_007_199_254_740_992.0;

/// Check one count read from a file; `at` names it (`line 2 (row 0) `num_occurrences``).
pub fn check_count(v: f64, at: impl FnOnce() -> String) -> Result<()> {
    if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0) {
        bail!("{} is {v}; counts are non-negative integers", at());
    }
    if v > MAX_COUNT {
        bail!("{} is {v:e}, more than 2^53 = 9007199254740992, the largest count held exactly", at());
    }
    Ok(())
}

/// Samples of a model's units with a weight per row.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleTable {
    num_units: usize,
    num_rows: usize,
    masks: Vec<u64>,
    /// Weight of each row (`num_occurrences` for an annealer's aggregated answers).
    pub weight: Vec<f64>,
    /// Per-row energy the file carried, in the file's own convention (for an Ising
    /// export at β it is β E(z) plus the export's offset), when present.
    pub energy: Option<Vec<f64>>,
    /// Other per-row vectors of the file, by name.
    pub vectors: Vec<(String, Vec<f64>)>,
}

/// Weighted sums over rows; `weights` are the row weights as given.
struct WeightSlices {
    /// `(k, masks of block b)` for integer weights: slice k of block b at `b * bits + k`.
    bits: u32,
    slices: Vec<u64>,
}

impl SampleTable {
    /// A table of `num_rows` rows with every unit 0 and every weight 1.
    pub fn zeros(num_units: usize, num_rows: usize) -> Self {
        Self {
            num_units,
            num_rows,
            masks: vec![0; num_rows.div_ceil(64) * num_units],
            weight: vec![1.0; num_rows],
            energy: None,
            vectors: Vec::new(),
        }
    }

    /// Rows of bytes (`num_rows x num_units`, non-zero = 1), optionally weighted.
    pub fn from_rows(rows: &[u8], num_units: usize, weight: Option<Vec<f64>>) -> Result<Self> {
        if num_units == 0 || !rows.len().is_multiple_of(num_units) {
            bail!("{} bytes are not rows of {num_units} units", rows.len());
        }
        let num_rows = rows.len() / num_units;
        let mut table = Self::zeros(num_units, num_rows);
        for (r, row) in rows.chunks_exact(num_units).enumerate() {
            for (i, &z) in row.iter().enumerate() {
                if z != 0 {
                    table.set(r, i);
                }
            }
        }
        if let Some(w) = weight {
            if w.len() != num_rows {
                bail!("{} weights for {num_rows} rows", w.len());
            }
            table.weight = w;
        }
        table.check_weights("weights")?;
        Ok(table)
    }

    /// The same rows with column k moved to unit `unit_of_column[k]` (a permutation).
    pub fn permuted(&self, unit_of_column: &[usize]) -> Self {
        debug_assert_eq!(unit_of_column.len(), self.num_units);
        let n = self.num_units;
        let mut masks = vec![0u64; self.masks.len()];
        for (block, out) in self.masks.chunks_exact(n.max(1)).zip(masks.chunks_exact_mut(n.max(1))) {
            for (k, &u) in unit_of_column.iter().enumerate() {
                out[u] = block[k];
            }
        }
        Self { masks, ..self.clone() }
    }

    /// How many rows differ from every earlier row.
    pub fn distinct_rows(&self) -> usize {
        let mut seen = std::collections::HashSet::with_capacity(self.num_rows.min(1 << 20));
        let mut row = vec![0u64; self.num_units.div_ceil(64)];
        for r in 0..self.num_rows {
            row.fill(0);
            for i in 0..self.num_units {
                row[i / 64] |= (self.get(r, i) as u64) << (i % 64);
            }
            seen.insert(row.clone());
        }
        seen.len()
    }

    /// Units per row.
    pub fn num_units(&self) -> usize {
        self.num_units
    }

    /// Rows.
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// Set unit `i` of row `r` to 1.
    #[inline]
    pub fn set(&mut self, r: usize, i: usize) {
        self.masks[(r / 64) * self.num_units + i] |= 1 << (r % 64);
    }

    /// Unit `i` of row `r`.
    #[inline]
    pub fn get(&self, r: usize, i: usize) -> bool {
        self.masks[(r / 64) * self.num_units + i] >> (r % 64) & 1 == 1
    }

    /// Row `r` as bytes.
    pub fn row(&self, r: usize, out: &mut [u8]) {
        for (i, o) in out.iter_mut().enumerate().take(self.num_units) {
            *o = self.get(r, i) as u8;
        }
    }

    /// Sum of the weights.
    pub fn total_weight(&self) -> f64 {
        self.weight.iter().sum()
    }

    /// Whether every weight is a whole number (a count).
    pub fn integer_weights(&self) -> bool {
        self.weight.iter().all(|w| w.fract() == 0.0 && *w < 2f64.powi(53))
    }

    /// The number of independent draws the weighted mean is worth: the total count for
    /// counts, Kish's (Σw)² / Σw² otherwise.
    pub fn effective_size(&self) -> f64 {
        if self.integer_weights() {
            self.total_weight()
        } else {
            let s2: f64 = self.weight.iter().map(|w| w * w).sum();
            self.total_weight().powi(2) / s2
        }
    }

    /// Check the weight invariants; `what` names the weights in the message.
    pub fn check_weights(&self, what: &str) -> Result<()> {
        if let Some((r, w)) = self.weight.iter().enumerate().find(|(_, w)| !(w.is_finite() && **w >= 0.0)) {
            bail!("{what}: row {r} has weight {w}; weights must be finite and non-negative");
        }
        let total = self.total_weight();
        if total <= 0.0 {
            bail!("{what}: the weights add up to {total}; at least one row must have a positive weight");
        }
        if self.integer_weights() && total > MAX_COUNT {
            bail!(
                "{what}: the counts add up to {total:e}, more than 2^53 = 9007199254740992, the largest count held exactly"
            );
        }
        Ok(())
    }

    /// The same rows, every weight 1 (what forgetting `num_occurrences` computes).
    pub fn unweighted(&self) -> Self {
        Self { weight: vec![1.0; self.num_rows], ..self.clone() }
    }

    fn weight_slices(&self) -> Option<WeightSlices> {
        if !self.integer_weights() {
            return None;
        }
        let max = self.weight.iter().fold(0.0f64, |a, &b| a.max(b)) as u64;
        let bits = (64 - max.leading_zeros()).max(1);
        if bits > MAX_SLICED_WEIGHT_BITS {
            return None;
        }
        let blocks = self.num_rows.div_ceil(64);
        let mut slices = vec![0u64; blocks * bits as usize];
        for (r, &w) in self.weight.iter().enumerate() {
            let w = w as u64;
            for k in 0..bits {
                if w >> k & 1 == 1 {
                    slices[(r / 64) * bits as usize + k as usize] |= 1 << (r % 64);
                }
            }
        }
        Some(WeightSlices { bits, slices })
    }

    /// Weighted sums of `f(masks of block b)` over the rows each returned mask marks.
    fn weighted_sums(&self, count: usize, mut f: impl FnMut(&[u64], &mut [u64])) -> Vec<f64> {
        let blocks = self.num_rows.div_ceil(64);
        let mut picked = vec![0u64; count];
        match self.weight_slices() {
            Some(ws) => {
                let bits = ws.bits as usize;
                let mut sums = vec![0u64; count];
                for b in 0..blocks {
                    f(&self.masks[b * self.num_units..(b + 1) * self.num_units], &mut picked);
                    let slices = &ws.slices[b * bits..(b + 1) * bits];
                    for (s, &m) in sums.iter_mut().zip(&picked) {
                        for (k, &wk) in slices.iter().enumerate() {
                            *s += ((m & wk).count_ones() as u64) << k;
                        }
                    }
                }
                sums.into_iter().map(|s| s as f64).collect()
            }
            None => {
                let mut sums = vec![0.0; count];
                for b in 0..blocks {
                    f(&self.masks[b * self.num_units..(b + 1) * self.num_units], &mut picked);
                    let w = &self.weight[b * 64..(b * 64 + 64).min(self.num_rows)];
                    for (s, &m) in sums.iter_mut().zip(&picked) {
                        let mut m = m;
                        while m != 0 {
                            *s += w[m.trailing_zeros() as usize];
                            m &= m - 1;
                        }
                    }
                }
                sums
            }
        }
    }

    /// Weighted mean of every unit.
    pub fn unit_means(&self) -> Vec<f64> {
        let total = self.total_weight();
        self.weighted_sums(self.num_units, |masks, out| out.copy_from_slice(masks)).iter().map(|s| s / total).collect()
    }

    /// Energy E(z) = -Σ b_i z_i - Σ W_ij z_i z_j of every row (β = 1).
    ///
    /// The cost is one step per unit or edge that is on in a row, so blocks of rows are
    /// shared among the machine's cores.
    pub fn energies(&self, model: &ModelFile) -> Vec<f64> {
        let n = self.num_units;
        let mut out = vec![0.0; self.num_rows];
        let blocks = self.num_rows.div_ceil(64);
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(blocks.max(1));
        let per_thread = blocks.div_ceil(threads.max(1)).max(1);
        std::thread::scope(|scope| {
            for (t, chunk) in out.chunks_mut(per_thread * 64).enumerate() {
                let masks = &self.masks[t * per_thread * n..];
                scope.spawn(move || {
                    for (b, e) in chunk.chunks_mut(64).enumerate() {
                        let masks = &masks[b * n..(b + 1) * n];
                        for (i, &bias) in model.bias.iter().enumerate() {
                            let mut m = masks[i];
                            while m != 0 {
                                e[m.trailing_zeros() as usize] -= bias;
                                m &= m - 1;
                            }
                        }
                        for edge in &model.edges {
                            let mut m = masks[edge.i] & masks[edge.j];
                            while m != 0 {
                                e[m.trailing_zeros() as usize] -= edge.w;
                                m &= m - 1;
                            }
                        }
                    }
                });
            }
        });
        out
    }

    /// Weighted moments in the statistics layout. `source` says where the rows came from.
    pub fn statistics(&self, model: &ModelFile, source: &str) -> Result<Statistics> {
        if model.num_units() != self.num_units {
            bail!("the table has {} units, the model {}", self.num_units, model.num_units());
        }
        let total = self.total_weight();
        let edge_sums = self.weighted_sums(model.edges.len(), |masks, out| {
            for (o, e) in out.iter_mut().zip(&model.edges) {
                *o = masks[e.i] & masks[e.j];
            }
        });
        let mean = self.unit_means();
        let edge_second_moment: Vec<(usize, usize, f64)> =
            model.edges.iter().zip(&edge_sums).map(|(e, s)| (e.i, e.j, s / total)).collect();
        // ⟨E⟩ is linear in the moments; Var(E) needs each row's energy.
        let energy_mean = -model.bias.iter().zip(&mean).map(|(b, m)| b * m).sum::<f64>()
            - model.edges.iter().zip(&edge_second_moment).map(|(e, m)| e.w * m.2).sum::<f64>();
        let energies = self.energies(model);
        let energy_variance =
            energies.iter().zip(&self.weight).map(|(e, w)| w * (e - energy_mean).powi(2)).sum::<f64>() / total;
        Ok(Statistics {
            mean,
            edge_second_moment,
            energy_mean: Some(energy_mean),
            energy_variance: Some(energy_variance),
            // Counts add up to at most 2^53 (checked on reading); fractional weights are no
            // count, so the rows are the samples.
            num_samples: Some(if self.integer_weights() { total as u64 } else { self.num_rows as u64 }),
            // Annealer reads are independent: counts are sample sizes; other weights are
            // importance weights, whose effective size is Kish's (Σw)² / Σw².
            effective_samples: Some(if self.integer_weights() {
                total
            } else {
                total * total / self.weight.iter().map(|w| w * w).sum::<f64>()
            }),
            ln_z: None,
            source: Some(source.to_owned()),
            saturations: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calo4p_core::json::Edge;

    fn model() -> ModelFile {
        ModelFile {
            partition: vec![0, 1, 2],
            bias: vec![0.5, -1.0, 0.25],
            edges: vec![Edge { i: 0, j: 1, w: 2.0 }, Edge { i: 1, j: 2, w: -0.5 }],
            qubits: None,
            zephyr: None,
            description: String::new(),
        }
    }

    /// Sliced popcounts, the row-by-row path and a plain loop agree.
    #[test]
    fn moments_by_every_path() {
        let m = model();
        let rows: Vec<u8> =
            (0..200u32).flat_map(|r| [(r % 3 == 0) as u8, (r % 5 < 2) as u8, (r % 7 == 1) as u8]).collect();
        for weights in [
            (0..200).map(|r| (r % 4) as f64).collect::<Vec<_>>(),
            (0..200).map(|r| 0.5 + (r % 3) as f64 * 0.25).collect(),
            (0..200).map(|r| if r == 3 { 1000.0 } else { 1.0 }).collect(),
        ] {
            let t = SampleTable::from_rows(&rows, 3, Some(weights.clone())).unwrap();
            let s = t.statistics(&m, "test").unwrap();
            let total: f64 = weights.iter().sum();
            let mut mean = [0.0; 3];
            let (mut m01, mut m12, mut e1) = (0.0, 0.0, 0.0);
            for (r, row) in rows.chunks(3).enumerate() {
                let z: Vec<f64> = row.iter().map(|&v| v as f64).collect();
                for (m, z) in mean.iter_mut().zip(&z) {
                    *m += weights[r] * z;
                }
                m01 += weights[r] * z[0] * z[1];
                m12 += weights[r] * z[1] * z[2];
                let e = -0.5 * z[0] + z[1] - 0.25 * z[2] - 2.0 * z[0] * z[1] + 0.5 * z[1] * z[2];
                e1 += weights[r] * e;
                assert!((t.energies(&m)[r] - e).abs() < 1e-12);
            }
            for (got, want) in s.mean.iter().zip(&mean) {
                assert!((got - want / total).abs() < 1e-12);
            }
            assert!((s.edge_second_moment[0].2 - m01 / total).abs() < 1e-12);
            assert!((s.edge_second_moment[1].2 - m12 / total).abs() < 1e-12);
            assert!((s.energy_mean.unwrap() - e1 / total).abs() < 1e-12);
        }
    }

    #[test]
    fn permuted_rows_and_distinct_rows() {
        let t = SampleTable::from_rows(&[1, 0, 0, 0, 1, 0, 1, 0, 0], 3, None).unwrap();
        assert_eq!(t.distinct_rows(), 2);
        let p = t.permuted(&[2, 0, 1]);
        let mut row = [0u8; 3];
        p.row(0, &mut row);
        assert_eq!(row, [0, 0, 1]);
        p.row(1, &mut row);
        assert_eq!(row, [1, 0, 0]);
        assert!(check_count(MAX_COUNT, String::new).is_ok());
        assert!(check_count(1e23, || "c".into()).unwrap_err().to_string().contains("2^53"));
        let half = MAX_COUNT / 2.0;
        let e = SampleTable::from_rows(&[1, 0, 1], 1, Some(vec![half, half, 2.0])).unwrap_err();
        assert!(e.to_string().contains("add up to"), "{e}");
    }

    #[test]
    fn bad_weights_are_named() {
        let e = SampleTable::from_rows(&[1, 0], 1, Some(vec![1.0, -2.0])).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let e = SampleTable::from_rows(&[1, 0], 1, Some(vec![0.0, 0.0])).unwrap_err();
        assert!(e.to_string().contains("add up to 0"), "{e}");
    }
}
