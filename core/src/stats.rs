//! Streaming statistics of sampled chains, without allocation.
//!
//! [`Moments`] counts, per unit, how often z_i = 1 and, per edge slot, how often
//! z_i z_j = 1: exact integer counts, so means and second moments carry no rounding until
//! they are read. Energy and magnetisation m = (1/N) Σ (2 z_i - 1) are accumulated with
//! Welford's update ([`Welford`]), numerically stable over long runs.

use crate::gibbs::Chains;
use crate::model::{Model, Weight};

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
    (2.0 * ones as f64 - n as f64) / n as f64
}

/// Unit means, edge second moments, energy and magnetisation, in caller storage.
#[derive(Debug)]
pub struct Moments<'s> {
    unit_ones: &'s mut [u64],
    edge_ones: &'s mut [u64],
    samples: u64,
    energy: Welford,
    magnetisation: Welford,
}

impl<'s> Moments<'s> {
    /// Counters for a model with `unit_ones.len()` units and `edge_ones.len()` edge slots
    /// (both zeroed here).
    pub fn new(unit_ones: &'s mut [u64], edge_ones: &'s mut [u64]) -> Self {
        unit_ones.fill(0);
        edge_ones.fill(0);
        Self { unit_ones, edge_ones, samples: 0, energy: Welford::default(), magnetisation: Welford::default() }
    }

    /// Record the current state of every chain as one sample each. The model must be the one
    /// the counters were sized for (units and slots).
    pub fn record<W: Weight>(&mut self, model: &Model<'_, W>, chains: &Chains<'_>) {
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

    /// Energy mean and variance over samples.
    pub fn energy(&self) -> Welford {
        self.energy
    }

    /// Magnetisation mean and variance over samples.
    pub fn magnetisation(&self) -> Welford {
        self.magnetisation
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
    }
}
