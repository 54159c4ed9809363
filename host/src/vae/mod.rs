//! Calo4pQVAE (issue 15): a conditional variational autoencoder for calorimeter showers whose
//! latent prior is the 4-partite Zephyr Boltzmann machine that the rest of calo4p samples.
//!
//! Built on burn (its pure-Rust `flex` CPU backend with `Autodiff`; `wgpu` and `cuda` behind
//! features of the same names). burn differentiates everything; nothing here hand-writes a
//! gradient except the centred Boltzmann-machine gradient of the new scheme, which is a
//! moment formula, not a derivative of a network.
//!
//! | module | what it is |
//! |---|---|
//! | [`config`] | the model and training settings a checkpoint is tied to |
//! | [`conditioning`] | the binary code of the incident energy that partition 0 holds |
//! | [`layers`] | dense layers and MLP blocks, initialised from our own seeded generator |
//! | [`encoder`] | the hierarchical encoder: logits of partitions 1-3 in turn |
//! | [`decoder`] | hit probabilities and energies from the latent and ln E |
//! | [`relaxation`] | binary-concrete (Gumbel-sigmoid) samples, hard samples, temperature |
//! | [`loss`] | the loss terms, each logged on its own |
//! | [`prior`] | the Boltzmann machine as trainable parameters on Zephyr edges; persistent chains |
//! | [`rbm`] | moments and the centred gradient of the new scheme's Boltzmann-machine stage |
//! | [`ais`] | annealed importance sampling of ln Z, and ln Z exact or estimated |
//! | [`dataset`] | showers to network inputs (the existing `data::preprocess`) and batches |
//! | [`checkpoint`] | atomic checkpoints, checked against the configuration on resume |
//! | [`metrics`] | the per-epoch metrics log (JSON lines) and the HTML loss curves |
//! | [`train`] | the two training schemes |
//! | [`generate`] | showers from prior samples: float or fixed-point kernels, the simulated accelerator, or annealer samples |
//! | [`commands`] | `calo4p train`, `calo4p prior export`, `calo4p generate` |
//! | [`demo`] | the VAE stage of `calo4p demo` |
//!
//! Latent layout: `4 N` binary units, partition `p` holds units `p N .. (p + 1) N`; partition
//! 0 is the clamped energy code, partitions 1-3 are encoded. Conventions as everywhere in
//! calo4p: z in {0, 1}, E(z) = -b.z - sum over edges W_ij z_i z_j, p(z) ~ exp(-E(z)).

pub mod ais;
pub mod checkpoint;
pub mod commands;
pub mod conditioning;
pub mod config;
pub mod dataset;
pub mod decoder;
pub mod demo;
pub mod encoder;
pub mod generate;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod prior;
pub mod rbm;
pub mod relaxation;
pub mod train;

#[cfg(test)]
mod tests;

pub use config::{Scheme, VaeConfig};
pub use train::Vae;

use anyhow::{bail, Result};
use burn::tensor::{Device, Tensor, TensorData};

/// Where tensors live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DeviceKind {
    /// burn's flex CPU backend (bit-exact resume).
    #[default]
    Cpu,
    /// A GPU backend compiled in with `--features wgpu` or `--features cuda`.
    Gpu,
}

/// The burn device of `kind`; a GPU needs a GPU backend compiled in.
pub fn device(kind: DeviceKind) -> Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::flex()),
        DeviceKind::Gpu => gpu(),
    }
}

#[cfg(feature = "cuda")]
fn gpu() -> Result<Device> {
    Ok(Device::cuda(0))
}

#[cfg(all(feature = "wgpu", not(feature = "cuda")))]
fn gpu() -> Result<Device> {
    Ok(Device::wgpu(Default::default()))
}

#[cfg(not(any(feature = "wgpu", feature = "cuda")))]
fn gpu() -> Result<Device> {
    bail!("--device gpu: no GPU backend is compiled in; rebuild with `--features wgpu` (or `--features cuda` with network access and CUDA)")
}

/// A rank-2 f32 tensor from row-major values.
pub fn matrix(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    debug_assert_eq!(values.len(), rows * cols);
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// A rank-1 f32 tensor.
pub fn vector(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

/// A tensor's values, row-major, as f32.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    let data = t.into_data_as::<f32>();
    data.as_slice::<f32>().expect("f32 data").to_vec()
}

/// The value of a one-element tensor.
pub fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.into_scalar::<f32>())
}

/// `Ok` when `x` is finite, else an error naming the step and the term.
pub fn check_finite(x: f64, step: usize, term: &str) -> Result<f64> {
    if !x.is_finite() {
        bail!("training step {step}: the {term} term is {x}; stopping (the last good checkpoint is kept)");
    }
    Ok(x)
}

/// What a random stream is for; with the seed and an index (step, epoch) it picks a PCG32
/// stream, so a resumed run draws exactly what an uninterrupted one would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Network initialisation.
    Init = 1,
    /// Batch order of an epoch.
    Shuffle = 2,
    /// Relaxation noise of a step.
    Noise = 3,
    /// Negative-phase chains of a step.
    Chains = 4,
    /// Start of the persistent chains.
    ChainStart = 5,
    /// Encoding the data set for the Boltzmann-machine stage.
    Encode = 6,
    /// Generation.
    Generate = 7,
    /// Annealed importance sampling.
    Ais = 8,
}

/// The PCG32 stream for `purpose` and `index` under `seed`.
pub fn stream(seed: u64, purpose: Purpose, index: u64) -> rand_pcg::Pcg32 {
    let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (purpose as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    rand_pcg::Pcg32::new(mixed, index.wrapping_mul(2).wrapping_add(purpose as u64))
}

/// A uniform deviate in the open interval (0, 1), from 53 random bits.
pub fn uniform_open(rng: &mut impl rand_core::RngCore) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}
