//! The statistics file: what `sample`, `exact` and `qa import` write and `validate` reads.
//!
//! `{"mean": [...], "edge_second_moment": [[i, j, v], ...], "energy_mean": x,
//! "num_samples": n, ...}`, edges in the model file's order. The exact reference files of
//! `tests/fixtures/reference/models/*.exact.json` have the same layout (with `ln_z`).

use crate::model_file::ModelFile;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Moments of a distribution over a model's units.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// ⟨z_i⟩ per unit.
    pub mean: Vec<f64>,
    /// (i, j, ⟨z_i z_j⟩) per edge, in the model's edge order.
    pub edge_second_moment: Vec<(usize, usize, f64)>,
    /// ⟨E⟩.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_mean: Option<f64>,
    /// Var(E).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_variance: Option<f64>,
    /// Samples behind the estimates (total weight for weighted samples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_samples: Option<u64>,
    /// Effective sample size: samples divided by the integrated autocorrelation time
    /// (equal to the count for independent samples such as annealer reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_samples: Option<f64>,
    /// ln Z (exact answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ln_z: Option<f64>,
    /// Where these numbers come from (engine and settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Updates whose local field lay outside the field register and was clamped (fixed-point
    /// samplers, burn-in included; 0 means the arithmetic never saturated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturations: Option<u64>,
}

/// Largest |d| and root mean square of the differences `d` (0, 0 when there are none).
pub fn max_rms(d: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut max, mut sum, mut n) = (0.0f64, 0.0, 0usize);
    for x in d {
        max = max.max(x.abs());
        sum += x * x;
        n += 1;
    }
    (max, (sum / n.max(1) as f64).sqrt())
}

impl Statistics {
    /// How far these statistics are from `other`: (max, rms) of the differences of unit means,
    /// then (max, rms) of the differences of edge second moments.
    pub fn bias(&self, other: &Statistics) -> [f64; 4] {
        let m = max_rms(self.mean.iter().zip(&other.mean).map(|(a, b)| a - b));
        let e = max_rms(self.edge_second_moment.iter().zip(&other.edge_second_moment).map(|(a, b)| a.2 - b.2));
        [m.0, m.1, e.0, e.1]
    }

    /// Read a statistics file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::memory::read_file(path, crate::memory::MAX_JSON_INPUT, "statistics file")?;
        Self::parse(&text, path)
    }

    /// Statistics from the bytes of a file; `path` names it in errors.
    pub fn parse(text: &[u8], path: &Path) -> Result<Self> {
        let stats: Self = serde_json::from_slice(text)
            .with_context(|| format!("statistics file {}: not in the statistics layout", path.display()))?;
        for (i, m) in stats.mean.iter().enumerate() {
            if !(0.0..=1.0).contains(m) {
                bail!("statistics file {}: `mean[{i}]` = {m} is not in [0, 1]", path.display());
            }
        }
        for (k, &(i, j, m)) in stats.edge_second_moment.iter().enumerate() {
            if !(0.0..=1.0).contains(&m) {
                bail!(
                    "statistics file {}: `edge_second_moment[{k}]` ({i}, {j}) = {m} is not in [0, 1]",
                    path.display()
                );
            }
        }
        // No samples behind an estimate makes every z-score 0: a check that cannot fail.
        if let Some(n) = stats.effective_samples.filter(|n| !(n.is_finite() && *n > 0.0)) {
            bail!("statistics file {}: `effective_samples` = {n}: must be a finite number > 0", path.display());
        }
        if stats.num_samples == Some(0) {
            bail!("statistics file {}: `num_samples` = 0: no samples behind these estimates", path.display());
        }
        Ok(stats)
    }

    /// Write through a temporary file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("statistics serialise");
        crate::atomic::write(path, text.as_bytes())
    }

    /// Check that these statistics belong to `model`: unit count and edge order.
    pub fn check_matches(&self, model: &ModelFile, what: &str) -> Result<()> {
        if self.mean.len() != model.num_units() {
            bail!("{what}: `mean` has {} units but the model has {}", self.mean.len(), model.num_units());
        }
        if self.edge_second_moment.len() != model.edges.len() {
            bail!(
                "{what}: `edge_second_moment` has {} edges but the model has {}",
                self.edge_second_moment.len(),
                model.edges.len()
            );
        }
        for (k, (&(i, j, _), e)) in self.edge_second_moment.iter().zip(&model.edges).enumerate() {
            if (i, j) != (e.i, e.j) {
                bail!(
                    "{what}: `edge_second_moment[{k}]` is edge ({i}, {j}) but the model's edge {k} is ({}, {})",
                    e.i,
                    e.j
                );
            }
        }
        Ok(())
    }
}
