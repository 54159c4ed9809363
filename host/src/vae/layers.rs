//! Dense layers and MLP blocks. Parameters are initialised from our own seeded PCG32
//! streams (PyTorch's default: uniform in ±1/sqrt(fan-in)), so that a run is reproducible
//! and comparable with the PyTorch benchmark; burn differentiates them.

use super::uniform_open;
use burn::module::{Module, Param, ParamId};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use rand_core::RngCore;

/// `y = x W + b`.
#[derive(Module, Debug)]
pub struct Dense {
    /// Weights, `inputs x outputs`.
    pub weight: Param<Tensor<2>>,
    /// Biases.
    pub bias: Param<Tensor<1>>,
}

impl Dense {
    /// A layer from `inputs` to `outputs`, uniform in ±1/sqrt(inputs).
    pub fn new(inputs: usize, outputs: usize, rng: &mut impl RngCore, device: &Device) -> Self {
        let bound = 1.0 / (inputs as f64).sqrt();
        let mut draw =
            |n: usize| -> Vec<f32> { (0..n).map(|_| ((2.0 * uniform_open(rng) - 1.0) * bound) as f32).collect() };
        let w = draw(inputs * outputs);
        let b = draw(outputs);
        // Parameter ids from the same stream: a run's records and optimiser states are then
        // byte-identical to another run's from the same seed.
        let mut weight = Param::from_tensor(super::matrix(w, inputs, outputs, device));
        weight.id = ParamId::from(rng.next_u64());
        let mut bias = Param::from_tensor(super::vector(b, device));
        bias.id = ParamId::from(rng.next_u64());
        Dense { weight, bias }
    }

    /// Apply to a batch `[B, inputs]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.weight.val()) + self.bias.val().unsqueeze::<2>()
    }
}

/// Dense layers with ReLU between them (none after the last).
#[derive(Module, Debug)]
pub struct Mlp {
    /// The layers in order.
    pub layers: Vec<Dense>,
}

impl Mlp {
    /// Layers through `widths` (`widths[0]` inputs, the last outputs).
    pub fn new(widths: &[usize], rng: &mut impl RngCore, device: &Device) -> Self {
        assert!(widths.len() >= 2, "an MLP needs inputs and outputs");
        Mlp { layers: widths.windows(2).map(|w| Dense::new(w[0], w[1], rng, device)).collect() }
    }

    /// Apply to a batch.
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        for (k, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if k < last {
                x = relu(x);
            }
        }
        x
    }
}
