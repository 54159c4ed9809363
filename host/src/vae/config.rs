//! The settings a trained model is tied to. A checkpoint stores its [`VaeConfig`]; resuming
//! with settings that change the model or the run's randomness is refused, naming the fields.

use super::conditioning::EnergyCode;
use crate::data::GeometryKind;
use anyhow::{bail, Context, Result};
use calo4p_core::QFormat;
use serde::{Deserialize, Serialize};

/// How the model is trained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Everything jointly: reconstruction, hit loss, entropy, positive and negative energy.
    Old,
    /// The autoencoder first; then, frozen, the Boltzmann machine on the encoded data with the
    /// centred gradient and Adam.
    #[default]
    New,
}

/// The arithmetic of the negative phase's persistent chains (core's block Gibbs kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegativeEngine {
    /// f64 block Gibbs.
    Float,
    /// f32 block Gibbs (the vectorised exp and the ordered gather kernel: several times
    /// faster than f64 from 64 chains on).
    Float32,
    /// Fixed point: weight format and acceptance-table bits.
    Fixed(QFormat, u32),
}

impl std::fmt::Display for NegativeEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NegativeEngine::Float => f.write_str("float"),
            NegativeEngine::Float32 => f.write_str("float32"),
            NegativeEngine::Fixed(q, r) => write!(f, "fixed:{q}:{r}"),
        }
    }
}

impl std::str::FromStr for NegativeEngine {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "float" => return Ok(NegativeEngine::Float),
            "float32" => return Ok(NegativeEngine::Float32),
            _ => {}
        }
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            ["fixed"] => Ok(NegativeEngine::Fixed(QFormat::Q8_8, 16)),
            ["fixed", q] => Ok(NegativeEngine::Fixed(q.parse().map_err(|e| format!("{e}"))?, 16)),
            ["fixed", q, r] => Ok(NegativeEngine::Fixed(
                q.parse().map_err(|e| format!("{e}"))?,
                r.parse().map_err(|_| format!("table bits {r:?} is not a number"))?,
            )),
            _ => Err(format!("{s:?}: expected float, float32, fixed, fixed:Qm.n or fixed:Qm.n:BITS")),
        }
    }
}

/// Everything that defines a model and its training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// CaloChallenge geometry name (`ds1-photons`, ...).
    pub geometry: String,
    /// Voxels per shower.
    pub n_voxels: usize,
    /// Latent units per partition (N); the latent has 4 N units.
    pub latent_per_partition: usize,
    /// Hidden widths of the encoder trunk; the decoder mirrors them.
    pub hidden: Vec<usize>,
    /// Code of the incident energy in partition 0.
    pub energy_code: EnergyCode,
    /// Incident-energy range (MeV) the code spans.
    pub energy_range: (f64, f64),
    /// Zephyr graph Z(m, t) the prior lives on.
    pub zephyr: (usize, usize),
    /// Training scheme.
    pub scheme: Scheme,
    /// Seed of initialisation, batching, noise and chains.
    pub seed: u64,
    /// Showers per batch.
    pub batch_size: usize,
    /// Adam learning rate of the networks (and of the prior in the old scheme).
    pub learning_rate: f64,
    /// Adam learning rate of the new scheme's Boltzmann-machine stage.
    pub prior_learning_rate: f64,
    /// Epochs of the autoencoder (new) or of joint training (old).
    pub epochs: usize,
    /// Epochs of the Boltzmann-machine stage (new scheme only).
    pub prior_epochs: usize,
    /// Relaxation temperature at the start and at the end of the first stage (geometric).
    pub temperature: (f64, f64),
    /// Persistent chains of the negative phase.
    pub chains: usize,
    /// Block Gibbs sweeps of the chains per training step.
    pub sweeps_per_step: usize,
    /// Negative-phase arithmetic (`float`, `fixed:Q8.8:16`).
    pub negative_engine: String,
    /// Weight of the prior terms (entropy, positive and negative energy) in the old scheme.
    pub kl_weight: f64,
    /// Training showers.
    pub n_train: usize,
    /// Held-back validation showers.
    pub n_val: usize,
}

/// Fields that may differ between a checkpoint and a resumed run.
const RESUMABLE: [&str; 2] = ["epochs", "prior_epochs"];

impl VaeConfig {
    /// The code's energy range for incident energies `e`: 1% beyond their extremes, rounded
    /// to six significant digits so that the configuration survives a JSON round trip exactly.
    pub fn energy_range_for<'a>(e: impl Iterator<Item = &'a f64> + Clone) -> (f64, f64) {
        let lo = e.clone().copied().fold(f64::INFINITY, f64::min);
        let hi = e.copied().fold(0.0, f64::max);
        let round = |x: f64| format!("{x:.5e}").parse::<f64>().unwrap_or(x);
        (round(lo / 1.01), round(hi * 1.01))
    }

    /// The geometry.
    pub fn geometry_kind(&self) -> Result<GeometryKind> {
        GeometryKind::ALL.into_iter().find(|k| k.name() == self.geometry).ok_or_else(|| {
            let names: Vec<_> = GeometryKind::ALL.iter().map(|k| k.name()).collect();
            anyhow::anyhow!("geometry {:?}: not one of {}", self.geometry, names.join(", "))
        })
    }

    /// The negative-phase engine.
    pub fn negative(&self) -> Result<NegativeEngine> {
        self.negative_engine.parse().map_err(|e: String| anyhow::anyhow!("negative_engine: {e}"))
    }

    /// Latent units (4 N).
    pub fn latent_units(&self) -> usize {
        4 * self.latent_per_partition
    }

    /// Epochs of the whole run.
    pub fn total_epochs(&self) -> usize {
        match self.scheme {
            Scheme::Old => self.epochs,
            Scheme::New => self.epochs + self.prior_epochs,
        }
    }

    /// Refuse obviously unusable settings, naming the field.
    pub fn check(&self) -> Result<()> {
        let n = self.latent_per_partition;
        if n == 0 || n > 512 {
            bail!("latent_per_partition = {n}: need 1..=512 units per partition");
        }
        if self.batch_size == 0 || self.chains == 0 {
            bail!("batch_size and chains must be positive");
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            bail!("hidden = {:?}: need at least one positive width", self.hidden);
        }
        let (lo, hi) = self.energy_range;
        if !(lo > 0.0 && hi > lo && hi.is_finite()) {
            bail!("energy_range = ({lo}, {hi}): need 0 < low < high");
        }
        let (t0, t1) = self.temperature;
        if !(t0 > 0.0 && t1 > 0.0 && t0.is_finite() && t1.is_finite()) {
            bail!("temperature = ({t0}, {t1}): need positive temperatures");
        }
        for (name, x) in [
            ("learning_rate", self.learning_rate),
            ("prior_learning_rate", self.prior_learning_rate),
            ("kl_weight", self.kl_weight),
        ] {
            if !(x.is_finite() && x >= 0.0) {
                bail!("{name} = {x}: need a finite non-negative number");
            }
        }
        self.negative()?;
        let kind = self.geometry_kind()?;
        if kind.geometry().n_voxels() != self.n_voxels {
            bail!("n_voxels = {}: geometry {} has {} voxels", self.n_voxels, self.geometry, kind.geometry().n_voxels());
        }
        Ok(())
    }

    /// `Ok` when a run with `self` may resume a checkpoint written with `stored`; otherwise an
    /// error listing every differing field with both values.
    pub fn check_resumable(&self, stored: &VaeConfig, checkpoint: &str) -> Result<()> {
        let a = serde_json::to_value(stored).context("serialising the stored configuration")?;
        let b = serde_json::to_value(self).context("serialising the configuration")?;
        let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { bail!("configurations are not objects") };
        let diffs: Vec<String> = a
            .iter()
            .filter(|(k, _)| !RESUMABLE.contains(&k.as_str()))
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k}: checkpoint {v}, this run {}", b.get(k).cloned().unwrap_or_default()))
            .collect();
        if !diffs.is_empty() {
            bail!(
                "checkpoint {checkpoint} comes from another configuration ({}); resume with the same settings, or train into a new --out",
                diffs.join("; ")
            );
        }
        Ok(())
    }
}
