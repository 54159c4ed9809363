//! Samples as one bit string per unit, and the sums `validate` needs from them by popcount.
//!
//! Bit `r` of column `i` is unit `i` in row `r` (rows in file order: sweep-major, then chain,
//! for Markov chains). Every moment is then a popcount: the count of rows with
//! z_i z_j = 1 is `popcount(col_i & col_j)`, 64 rows per instruction. Weighted rows
//! (annealer reads with `num_occurrences`) are summed by bit slices of their integer weights,
//! Σ_k 2^k popcount(col_i & col_j & W_k), or row by row for fractional weights.
//!
//! For a 0/1 series x at positions r and r + s (s = τ × chains: the same chain τ sweeps
//! later), the centred autocovariance sum is
//! Σ (x_r − μ)(x_{r+s} − μ) = S_xx(s) − μ (S_head + S_tail) + μ² P,
//! with S_xx(s) = popcount(x & (x >> s)) over the P = len − s pairs, and S_head, S_tail the
//! ones among the first and last P positions: exact integer sums, so the autocorrelation
//! equals the one computed from the values themselves.
//!
//! Invariant: bits past the last row are zero.

use crate::autocorrelation::tau_int;

/// Largest integer-weight bit width summed by slices; wider weights go row by row.
const MAX_WEIGHT_BITS: usize = 24;

/// How rows count.
#[derive(Clone, Debug)]
enum Weights {
    /// Every row once.
    Unit,
    /// Integer weights: slice k (words) marks the rows whose weight has bit k set.
    Sliced(Vec<Vec<u64>>),
    /// Any non-negative weights.
    Real(Vec<f64>),
}

/// Sample rows transposed into bit columns.
#[derive(Clone, Debug)]
pub struct BitColumns {
    rows: usize,
    units: usize,
    words: usize,
    bits: Vec<u64>,
    weights: Weights,
    total: f64,
}

impl BitColumns {
    /// Transpose `rows` (`num_rows × units` bytes, non-zero = 1) with optional row weights.
    pub fn new(rows: &[u8], units: usize, weight: Option<&[f64]>) -> Self {
        let num_rows = rows.len() / units.max(1);
        let words = num_rows.div_ceil(64);
        // Word-major first (each block of 64 rows independently), then unit-major.
        let mut by_word = vec![0u64; words * units];
        {
            use rayon::prelude::*;
            by_word.par_chunks_mut(units.max(1)).enumerate().for_each(|(w, out)| {
                let end = (64 * w + 64).min(num_rows);
                for (b, row) in rows[64 * w * units..end * units].chunks_exact(units).enumerate() {
                    for (o, &z) in out.iter_mut().zip(row) {
                        *o |= ((z != 0) as u64) << b;
                    }
                }
            });
        }
        let mut bits = vec![0u64; words * units];
        for w in 0..words {
            for i in 0..units {
                bits[i * words + w] = by_word[w * units + i];
            }
        }
        let (weights, total) = match weight {
            None => (Weights::Unit, num_rows as f64),
            Some(w) => {
                let total = w.iter().sum();
                let integer = w.iter().all(|&x| x.fract() == 0.0 && x >= 0.0 && x < (1u64 << MAX_WEIGHT_BITS) as f64);
                if integer {
                    let max = w.iter().fold(0u64, |m, &x| m.max(x as u64));
                    let nbits = (64 - max.leading_zeros() as usize).max(1);
                    let mut slices = vec![vec![0u64; words]; nbits];
                    for (r, &x) in w.iter().enumerate() {
                        for (k, slice) in slices.iter_mut().enumerate() {
                            slice[r / 64] |= ((x as u64 >> k) & 1) << (r % 64);
                        }
                    }
                    (Weights::Sliced(slices), total)
                } else {
                    (Weights::Real(w.to_vec()), total)
                }
            }
        };
        Self { rows: num_rows, units, words, bits, weights, total }
    }

    /// Rows.
    pub fn num_rows(&self) -> usize {
        self.rows
    }

    /// 64-bit words per column.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Column of unit `i`.
    pub fn column(&self, i: usize) -> &[u64] {
        &self.bits[i * self.words..(i + 1) * self.words]
    }

    /// Sum of the row weights.
    pub fn total_weight(&self) -> f64 {
        self.total
    }

    /// Weighted count of the rows where `f(w)` (a word of a derived column) has bits set.
    fn weighted(&self, f: impl Fn(usize) -> u64) -> f64 {
        match &self.weights {
            Weights::Unit => (0..self.words).map(|w| f(w).count_ones() as u64).sum::<u64>() as f64,
            Weights::Sliced(slices) => {
                let mut sum = 0u64;
                for w in 0..self.words {
                    let m = f(w);
                    if m != 0 {
                        for (k, s) in slices.iter().enumerate() {
                            sum += ((m & s[w]).count_ones() as u64) << k;
                        }
                    }
                }
                sum as f64
            }
            Weights::Real(weight) => {
                let mut sum = 0.0;
                for w in 0..self.words {
                    let mut m = f(w);
                    while m != 0 {
                        sum += weight[64 * w + m.trailing_zeros() as usize];
                        m &= m - 1;
                    }
                }
                sum
            }
        }
    }

    /// Weighted count of rows with unit `i` on.
    pub fn ones(&self, i: usize) -> f64 {
        let c = self.column(i);
        self.weighted(|w| c[w])
    }

    /// Weighted count of rows with units `i` and `j` both on.
    pub fn both(&self, i: usize, j: usize) -> f64 {
        let (a, b) = (self.column(i), self.column(j));
        self.weighted(|w| a[w] & b[w])
    }

    /// Row `i` of the second-moment matrix from the diagonal on: ⟨z_i z_j⟩ for j = i..units.
    pub fn second_moment_row(&self, i: usize) -> Vec<f64> {
        (i..self.units).map(|j| self.both(i, j) / self.total).collect()
    }
}

/// Ones of a bit string among positions `start..end`.
pub fn ones_in(x: &[u64], start: usize, end: usize) -> u64 {
    if start >= end {
        return 0;
    }
    let (ws, we) = (start / 64, (end - 1) / 64);
    let lo = !0u64 << (start % 64);
    let hi = !0u64 >> (63 - (end - 1) % 64);
    if ws == we {
        return (x[ws] & lo & hi).count_ones() as u64;
    }
    let middle: u64 = x[ws + 1..we].iter().map(|w| w.count_ones() as u64).sum();
    (x[ws] & lo).count_ones() as u64 + middle + (x[we] & hi).count_ones() as u64
}

/// Σ_{r < len − shift} x_r x_{r+shift} for a bit string of `len` positions (zero beyond).
pub fn lagged_products(x: &[u64], len: usize, shift: usize) -> u64 {
    if shift >= len {
        return 0;
    }
    let pairs = len - shift;
    let (q, s) = (shift / 64, shift % 64);
    let words = pairs.div_ceil(64);
    let mut sum = 0u64;
    for w in 0..words {
        let lo = x.get(w + q).copied().unwrap_or(0);
        let shifted = if s == 0 { lo } else { (lo >> s) | (x.get(w + q + 1).copied().unwrap_or(0) << (64 - s)) };
        let mut m = x[w] & shifted;
        if w + 1 == words && !pairs.is_multiple_of(64) {
            m &= (1u64 << (pairs % 64)) - 1;
        }
        sum += m.count_ones() as u64;
    }
    sum
}

/// τ_int of a 0/1 statistic held as bits (`x`, position `t × chains + c`), centred on its
/// mean `mu` (variance μ(1 − μ) > 0): lags start at 16 and double until Sokal's window
/// (c = 5) closes inside them or they reach half the sweeps. At least 1.
pub fn integrated_time_bits(x: &[u64], chains: usize, sweeps: usize, mu: f64) -> f64 {
    let len = chains * sweeps;
    let var = mu * (1.0 - mu);
    let mut rho = vec![1.0];
    let mut lags = 16.min(sweeps - 1);
    loop {
        for tau in rho.len()..=lags {
            let shift = tau * chains;
            let pairs = (len - shift) as f64;
            let both = lagged_products(x, len, shift) as f64;
            let head = ones_in(x, 0, len - shift) as f64;
            let tail = ones_in(x, shift, len) as f64;
            rho.push((both - mu * (head + tail) + mu * mu * pairs) / pairs / var);
        }
        let (tau, _, window) = tau_int(&rho[..=lags], 5.0, len);
        if window < lags || lags >= sweeps / 2 {
            return tau.max(1.0);
        }
        lags = (lags * 2).min(sweeps / 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    fn bits_of(v: &[u8]) -> Vec<u64> {
        let mut x = vec![0u64; v.len().div_ceil(64)];
        for (r, &b) in v.iter().enumerate() {
            x[r / 64] |= (b as u64) << (r % 64);
        }
        x
    }

    #[test]
    fn popcount_sums_match_direct_sums() {
        let mut rng = rand_pcg::Pcg32::new(3, 0);
        for len in [1usize, 63, 64, 65, 200, 1000] {
            let v: Vec<u8> = (0..len).map(|_| (rng.next_u32() & 1) as u8).collect();
            let x = bits_of(&v);
            for shift in [0usize, 1, 5, 63, 64, 65, 130, len - 1, len, len + 3] {
                let want: u64 = (0..len.saturating_sub(shift)).map(|r| (v[r] & v[r + shift]) as u64).sum();
                assert_eq!(lagged_products(&x, len, shift), want, "len {len} shift {shift}");
            }
            for (a, b) in [(0, len), (1, len), (0, len / 2), (len / 3, len - len / 5), (len, len)] {
                let want: u64 = v[a..b].iter().map(|&z| z as u64).sum();
                assert_eq!(ones_in(&x, a, b), want, "{a}..{b} of {len}");
            }
        }
    }

    /// The bit form of τ_int equals the same estimator on the values (the formula in the
    /// module docs, computed the long way).
    #[test]
    fn integrated_time_matches_the_value_form() {
        let (chains, sweeps) = (7usize, 300usize);
        let mut rng = rand_pcg::Pcg32::new(9, 0);
        // A sticky chain: keeps its value with probability 0.9.
        let mut v = vec![0u8; chains * sweeps];
        for c in 0..chains {
            let mut z = 0u8;
            for t in 0..sweeps {
                if rng.next_u32().is_multiple_of(10) {
                    z ^= 1;
                }
                v[t * chains + c] = z;
            }
        }
        let mu = v.iter().map(|&z| z as f64).sum::<f64>() / v.len() as f64;
        let var = mu * (1.0 - mu);
        let d: Vec<f64> = v.iter().map(|&z| z as f64 - mu).collect();
        let direct = |lags: usize| -> Vec<f64> {
            (0..=lags)
                .map(|tau| {
                    let pairs = (sweeps - tau) * chains;
                    (0..pairs).map(|r| d[r] * d[r + tau * chains]).sum::<f64>() / pairs as f64 / var
                })
                .collect()
        };
        let mut lags = 16;
        let want = loop {
            let (t, _, w) = tau_int(&direct(lags), 5.0, v.len());
            if w < lags || lags >= sweeps / 2 {
                break t.max(1.0);
            }
            lags = (lags * 2).min(sweeps / 2);
        };
        let got = integrated_time_bits(&bits_of(&v), chains, sweeps, mu);
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        assert!(got > 5.0, "a sticky chain is correlated: {got}");
    }

    #[test]
    fn weighted_counts_by_every_path() {
        // Rows [1 1 0], [0 1 1], [1 0 1].
        let rows: Vec<u8> = vec![1, 1, 0, 0, 1, 1, 1, 0, 1];
        let plain = BitColumns::new(&rows, 3, None);
        assert_eq!((plain.ones(0), plain.ones(1), plain.both(0, 1), plain.both(1, 2)), (2.0, 2.0, 1.0, 1.0));
        let sliced = BitColumns::new(&rows, 3, Some(&[3.0, 5.0, 2.0]));
        assert_eq!((sliced.ones(0), sliced.both(1, 2), sliced.total_weight()), (5.0, 5.0, 10.0));
        let real = BitColumns::new(&rows, 3, Some(&[0.5, 1.25, 2.0]));
        assert_eq!((real.ones(0), real.both(0, 1), real.both(1, 2)), (2.5, 0.5, 1.25));
        assert_eq!(real.second_moment_row(1), vec![1.75 / 3.75, 1.25 / 3.75]);
        // Many rows: every path agrees with the byte rows.
        let mut rng = rand_pcg::Pcg32::new(5, 0);
        let (n, count) = (5usize, 300usize);
        let rows: Vec<u8> = (0..n * count).map(|_| rng.next_u32().is_multiple_of(3) as u8).collect();
        let w: Vec<f64> = (0..count).map(|_| (rng.next_u32() % 9) as f64).collect();
        let cols = BitColumns::new(&rows, n, Some(&w));
        for i in 0..n {
            for j in i..n {
                let want: f64 = (0..count).map(|r| w[r] * (rows[r * n + i] & rows[r * n + j]) as f64).sum();
                assert_eq!(cols.both(i, j), want);
            }
        }
    }
}
