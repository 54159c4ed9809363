//! Showers as network inputs. The voxel energies go through the existing
//! [`crate::data::preprocess`] transform and are scaled by [`U_SCALE`]; a voxel is a hit when
//! its energy is positive; ln E enters scaled to [-1, 1] over the configured range; partition
//! 0 holds the energy code.

use super::conditioning::Conditioning;
use super::matrix;
use crate::data::{preprocess, Showers};
use burn::tensor::{Device, Tensor};
use rand_core::RngCore;

/// Scale of the preprocessed energies seen by the networks (they reach about 30 unscaled).
pub const U_SCALE: f32 = 0.1;

/// A data set ready for batching, row-major.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Showers.
    pub len: usize,
    /// Voxels per shower.
    pub n_voxels: usize,
    /// Scaled preprocessed energies.
    pub x: Vec<f32>,
    /// 1 where the voxel has energy.
    pub hits: Vec<f32>,
    /// Scaled ln E.
    pub lne: Vec<f32>,
    /// Energy codes, `bits` per shower.
    pub codes: Vec<u8>,
    /// Code bits (N).
    pub bits: usize,
    /// Incident energies (MeV).
    pub energies: Vec<f64>,
}

/// One batch as tensors.
pub struct Batch {
    /// `[B, V]` inputs and reconstruction targets.
    pub x: Tensor<2>,
    /// `[B, V]` hit targets.
    pub hits: Tensor<2>,
    /// `[B, 1]`.
    pub lne: Tensor<2>,
    /// `[B, N]` energy code.
    pub z0: Tensor<2>,
}

impl Prepared {
    /// Preprocess `showers`.
    pub fn new(showers: &Showers, cond: &Conditioning) -> Prepared {
        let mut x = preprocess::forward_showers(showers);
        let hits = showers.energies.iter().map(|&e| f32::from(e > 0.0)).collect();
        x.iter_mut().for_each(|u| *u *= U_SCALE);
        let mut codes = vec![0u8; showers.len() * cond.bits];
        for (k, &e) in showers.incident_energies.iter().enumerate() {
            cond.encode(e, &mut codes[k * cond.bits..(k + 1) * cond.bits]);
        }
        Prepared {
            len: showers.len(),
            n_voxels: showers.n_voxels,
            x,
            hits,
            lne: showers.incident_energies.iter().map(|&e| cond.log_energy_feature(e)).collect(),
            codes,
            bits: cond.bits,
            energies: showers.incident_energies.clone(),
        }
    }

    /// The rows `idx` as tensors on `device`.
    pub fn batch(&self, idx: &[usize], device: &Device) -> Batch {
        let v = self.n_voxels;
        let gather = |src: &[f32], w: usize| -> Vec<f32> {
            idx.iter().flat_map(|&i| src[i * w..(i + 1) * w].iter().copied()).collect()
        };
        let b = idx.len();
        let codes: Vec<f32> = idx
            .iter()
            .flat_map(|&i| self.codes[i * self.bits..(i + 1) * self.bits].iter().map(|&c| f32::from(c)))
            .collect();
        Batch {
            x: matrix(gather(&self.x, v), b, v, device),
            hits: matrix(gather(&self.hits, v), b, v, device),
            lne: matrix(gather(&self.lne, 1), b, 1, device),
            z0: matrix(codes, b, self.bits, device),
        }
    }
}

/// 0..n in a random order (Fisher-Yates).
pub fn shuffled(n: usize, rng: &mut impl RngCore) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// The first `n_train` showers and the next `n_val` (held back).
pub fn split(showers: &Showers, n_train: usize, n_val: usize) -> (Showers, Showers) {
    let v = showers.n_voxels;
    let take = |r: std::ops::Range<usize>| Showers {
        n_voxels: v,
        incident_energies: showers.incident_energies[r.clone()].to_vec(),
        energies: showers.energies[r.start * v..r.end * v].to_vec(),
    };
    (take(0..n_train), take(n_train..n_train + n_val))
}
