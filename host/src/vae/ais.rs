//! ln Z of the prior: exact by enumeration for small latents (`crate::exact`), annealed
//! importance sampling otherwise.
//!
//! AIS (Neal 2001) runs C chains from the uniform distribution (β = 0, ln Z_0 = n ln 2)
//! through β_1 < ... < β_K = 1, each step one block Gibbs sweep of core's kernel at β_k,
//! accumulating the log weight `-(β_k - β_{k-1}) E(z)`. Then `Z / Z_0` is estimated by the
//! mean weight; the reported error is the delta-method standard error of its logarithm,
//! `sd(w) / (mean(w) sqrt(C))`.

use super::config::NegativeEngine;
use super::prior::ChainState;
use super::{stream, Purpose};
use crate::exact::{energy, enumerated_units, exact};
use crate::model_file::ModelFile;
use anyhow::Result;

/// An estimate of ln Z.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LnZ {
    /// ln Z.
    pub value: f64,
    /// Standard error (0 when exact).
    pub error: f64,
    /// Whether it was enumerated.
    pub exact: bool,
}

/// AIS settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AisOptions {
    /// Chains.
    pub chains: usize,
    /// Intermediate temperatures.
    pub steps: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for AisOptions {
    fn default() -> Self {
        AisOptions { chains: 256, steps: 1000, seed: 1 }
    }
}

/// ln Z by AIS with a β schedule linear in β.
pub fn ais(model: &ModelFile, options: &AisOptions) -> Result<LnZ> {
    let n = model.num_units();
    let c = options.chains.max(2);
    let k = options.steps.max(1);
    let mut rng = stream(options.seed, Purpose::Ais, 0);
    let mut chains = ChainState::random(n, c, &mut rng);
    let mut log_w = vec![0.0f64; c];
    let mut row = vec![0u8; n];
    let mut beta_prev = 0.0;
    for step in 1..=k {
        let beta = step as f64 / k as f64;
        for (ci, lw) in log_w.iter_mut().enumerate() {
            for (i, z) in row.iter_mut().enumerate() {
                *z = chains.state[i * c + ci];
            }
            *lw -= (beta - beta_prev) * energy(model, &row);
        }
        chains.sweep(model, NegativeEngine::Float, beta, 1, options.seed.wrapping_add(step as u64), None)?;
        beta_prev = beta;
    }
    let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_w.iter().map(|&l| (l - max).exp()).collect();
    let mean = w.iter().sum::<f64>() / c as f64;
    let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (c - 1) as f64;
    Ok(LnZ {
        value: n as f64 * std::f64::consts::LN_2 + max + mean.ln(),
        error: var.sqrt() / (mean * (c as f64).sqrt()),
        exact: false,
    })
}

/// Largest number of enumerated units for which [`ln_z`] enumerates.
pub const EXACT_UNITS: usize = 22;

/// ln Z: exact when at most [`EXACT_UNITS`] units need enumerating, AIS otherwise.
pub fn ln_z(model: &ModelFile, options: &AisOptions) -> Result<LnZ> {
    if enumerated_units(model).len() <= EXACT_UNITS {
        Ok(LnZ { value: exact(model, 1.0)?.ln_z, error: 0.0, exact: true })
    } else {
        ais(model, options)
    }
}

/// Mean negative log-likelihood of 0/1 rows: `<E(z)> + ln Z`.
pub fn nll(model: &ModelFile, rows: &[u8], ln_z: f64) -> f64 {
    let n = model.num_units();
    let count = rows.len() / n;
    rows.chunks(n).map(|z| energy(model, z)).sum::<f64>() / count.max(1) as f64 + ln_z
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::prior::Graph;

    #[test]
    fn ais_agrees_with_exact_within_its_error_bar() {
        // 5 units per partition: 15 enumerated units, exact in milliseconds.
        let g = Graph::zephyr(5).unwrap();
        let mut rng = rand_pcg::Pcg32::new(9, 9);
        let b: Vec<f64> = (0..g.units()).map(|_| crate::topology::normal(&mut rng) * 0.5).collect();
        let w: Vec<f64> = g.edges.iter().map(|_| crate::topology::normal(&mut rng) * 0.7).collect();
        let model = g.model_file(&b, &w, String::new());
        let truth = exact(&model, 1.0).unwrap().ln_z;
        let est = ais(&model, &AisOptions { chains: 200, steps: 300, seed: 4 }).unwrap();
        assert!(est.error > 0.0 && est.error < 0.1, "{est:?}");
        // Four standard errors, and AIS's known downward bias of order the variance.
        assert!((est.value - truth).abs() < 4.0 * est.error + 0.01, "AIS {est:?} vs exact {truth}");
    }
}
