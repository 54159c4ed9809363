//! The decoder: from the latent (all four partitions) and ln E to, per voxel, the logit of a
//! hit and the energy in the preprocessed space (scaled by [`super::dataset::U_SCALE`]).
//! A generated voxel is empty unless its hit is drawn, then takes the decoded energy.

use super::layers::Mlp;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand_core::RngCore;

/// Decoder network.
#[derive(Module, Debug)]
pub struct Decoder {
    /// Latent and ln E to `2 V` outputs.
    pub mlp: Mlp,
}

impl Decoder {
    /// Mirror of the encoder: `4 N + 1` inputs through `hidden` reversed to `2 V` outputs.
    pub fn new(latent: usize, hidden: &[usize], n_voxels: usize, rng: &mut impl RngCore, device: &Device) -> Self {
        let mut widths = vec![latent + 1];
        widths.extend(hidden.iter().rev());
        widths.push(2 * n_voxels);
        Decoder { mlp: Mlp::new(&widths, rng, device) }
    }

    /// `(hit logits, energies)`, each `[B, V]`.
    pub fn forward(&self, z: Tensor<2>, lne: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let out = self.mlp.forward(Tensor::cat(vec![z, lne], 1));
        let v = out.dims()[1] / 2;
        (out.clone().narrow(1, 0, v), out.narrow(1, v, v))
    }
}
