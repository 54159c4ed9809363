//! The binary-concrete (Gumbel-sigmoid) relaxation of Bernoulli latents.
//!
//! With logistic noise `L = ln U - ln(1 - U)`, the hard sample `z = [l + L > 0]` is Bernoulli
//! with `P(z = 1) = sigmoid(l)`, and `zeta = sigmoid((l + L) / tau)` is its relaxation: it
//! tends to `z` as `tau -> 0` with the same noise. Training uses `zeta` with `tau` annealed
//! geometrically from the configured start to the end; evaluation uses `z`.

use super::{matrix, uniform_open};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use rand_core::RngCore;

/// Temperature after `progress` in [0, 1] of the annealing: geometric from `start` to `end`.
pub fn temperature(start: f64, end: f64, progress: f64) -> f64 {
    start * (end / start).powf(progress.clamp(0.0, 1.0))
}

/// `rows x cols` logistic deviates ln(u / (1 − u)), one logarithm each (1 − u is exact for
/// the dyadic u of [`uniform_open`] from 1/2 on; the quotient rounds once).
pub fn logistic_noise(rng: &mut impl RngCore, rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols)
        .map(|_| {
            let u = uniform_open(rng);
            (u / (1.0 - u)).ln() as f32
        })
        .collect()
}

/// `sigmoid((logits + noise) / tau)`: differentiable in the logits.
pub fn binary_concrete(logits: Tensor<2>, noise: Tensor<2>, tau: f64) -> Tensor<2> {
    sigmoid((logits + noise).div_scalar(tau))
}

/// Hard samples `[logit + noise > 0]` as 0/1 values (no gradient).
pub fn hard(logits: &[f32], noise: &[f32]) -> Vec<f32> {
    logits.iter().zip(noise).map(|(&l, &n)| f32::from(l + n > 0.0)).collect()
}

/// Logistic noise as a tensor on `device`.
pub fn noise_tensor(rng: &mut impl RngCore, rows: usize, cols: usize, device: &Device) -> (Vec<f32>, Tensor<2>) {
    let noise = logistic_noise(rng, rows, cols);
    let t = matrix(noise.clone(), rows, cols, device);
    (noise, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_samples_are_bernoulli_with_the_sigmoid_probability() {
        let mut rng = rand_pcg::Pcg32::new(1, 1);
        let n = 200_000;
        let noise = logistic_noise(&mut rng, n, 1);
        for l in [-2.0f32, 0.0, 0.7] {
            let ones: f32 = hard(&vec![l; n], &noise).iter().sum();
            let p = 1.0 / (1.0 + (-f64::from(l)).exp());
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((f64::from(ones) / n as f64 - p).abs() < 5.0 * se, "{l}");
        }
    }

    #[test]
    fn temperature_is_geometric() {
        assert!((temperature(1.0, 0.1, 0.5) - 0.1f64.sqrt()).abs() < 1e-12);
        assert_eq!(temperature(1.0, 0.1, 2.0), temperature(1.0, 0.1, 1.0));
    }
}
