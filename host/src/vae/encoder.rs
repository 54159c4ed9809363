//! The hierarchical encoder. A trunk MLP reads the preprocessed shower and ln E; head `k`
//! (k = 1, 2, 3) reads the trunk's features and the samples of partitions 0..k and gives the
//! logits of partition k. Partition 0 is the clamped energy code, so the posterior is
//! q(z_1 | x, E) q(z_2 | x, E, z_1) q(z_3 | x, E, z_1, z_2).

use super::layers::Mlp;
use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use rand_core::RngCore;

/// Encoder networks.
#[derive(Module, Debug)]
pub struct Encoder {
    /// Shower and ln E to features.
    pub trunk: Mlp,
    /// Features and earlier partitions to logits, one per encoded partition.
    pub heads: Vec<Mlp>,
}

/// What one pass produced.
pub struct Encoded {
    /// Logits of partitions 1, 2, 3, each `[B, N]`.
    pub logits: Vec<Tensor<2>>,
    /// Samples (relaxed or hard) of partitions 0..4, each `[B, N]`.
    pub samples: Vec<Tensor<2>>,
}

impl Encoded {
    /// The whole latent `[B, 4 N]`.
    pub fn latent(&self) -> Tensor<2> {
        Tensor::cat(self.samples.clone(), 1)
    }
}

impl Encoder {
    /// Trunk through `hidden` from `n_voxels + 1` inputs; heads to `n` logits each.
    pub fn new(n_voxels: usize, hidden: &[usize], n: usize, rng: &mut impl RngCore, device: &Device) -> Self {
        let mut widths = vec![n_voxels + 1];
        widths.extend_from_slice(hidden);
        let features = *hidden.last().expect("at least one hidden width");
        Encoder {
            trunk: Mlp::new(&widths, rng, device),
            heads: (1..4).map(|k| Mlp::new(&[features + k * n, n], rng, device)).collect(),
        }
    }

    /// Encode `x` `[B, V]` with conditioning `lne` `[B, 1]` and code `z0` `[B, N]`; `sample`
    /// turns partition k's logits into its samples.
    pub fn forward(
        &self,
        x: Tensor<2>,
        lne: Tensor<2>,
        z0: Tensor<2>,
        mut sample: impl FnMut(usize, Tensor<2>) -> Tensor<2>,
    ) -> Encoded {
        let h = relu(self.trunk.forward(Tensor::cat(vec![x, lne], 1)));
        let mut samples = vec![z0];
        let mut logits = Vec::with_capacity(3);
        for (k, head) in self.heads.iter().enumerate() {
            let mut inputs = vec![h.clone()];
            inputs.extend(samples.iter().cloned());
            let l = head.forward(Tensor::cat(inputs, 1));
            samples.push(sample(k + 1, l.clone()));
            logits.push(l);
        }
        Encoded { logits, samples }
    }
}
