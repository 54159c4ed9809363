//! The loss terms, each a one-element tensor, summed over voxels or latent units and averaged
//! over the batch (so that they add up to a per-shower bound):
//!
//! - reconstruction: `sum_v (u_pred - u)^2` in the (scaled) preprocessed space;
//! - hit: the binary cross-entropy of hit vs no hit per voxel, from logits;
//! - entropy: `E_q[ln q]` of the factorial Bernoulli posterior of each encoded partition
//!   (the negative entropy, so that minimising it maximises the entropy; `-N ln 2` at least,
//!   reached by a uniform posterior);
//! - positive energy: the mean prior energy of the posterior samples;
//! - negative energy: `-<E(z)>` over model samples held constant, whose gradient is the
//!   gradient of ln Z (`-<dE/dtheta>_model`).
//!
//! The old scheme minimises their sum (prior terms weighted); its KL part is
//! `E_q[ln q] + E_q[E] + ln Z`.

use super::prior::{EdgeIndex, Prior};
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::Tensor;

/// Mean over the batch of the squared error summed over voxels.
pub fn reconstruction(pred: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    (pred - target).square().sum_dim(1).mean()
}

/// Mean over the batch of the hit cross-entropy summed over voxels; `hits` holds 0 or 1.
/// y ln σ(x) + (1 − y) ln σ(−x) = y x + ln σ(−x), as ln σ(x) = x + ln σ(−x): one
/// logarithm and one exponential per voxel instead of two each (PyTorch's
/// `binary_cross_entropy_with_logits` uses the same form).
pub fn hit(logits: Tensor<2>, hits: Tensor<2>) -> Tensor<1> {
    let ll = hits * logits.clone() + log_sigmoid(logits.neg());
    ll.sum_dim(1).mean().neg()
}

/// `E_q[ln q]` of independent Bernoulli units with these logits, summed over units, averaged
/// over the batch.
/// q ln q + (1 − q) ln(1 − q) with q = σ(l) is q l + ln σ(−l) (as in [`hit`]).
pub fn negative_entropy(logits: Tensor<2>) -> Tensor<1> {
    let q = sigmoid(logits.clone());
    (q * logits.clone() + log_sigmoid(logits.neg())).sum_dim(1).mean()
}

/// Mean prior energy of (relaxed) posterior samples `[B, 4 N]`.
pub fn positive_energy(prior: &Prior, index: &EdgeIndex, z: Tensor<2>) -> Tensor<1> {
    prior.energy(z, index).mean()
}

/// `-<E(z)>` over model samples `[C, 4 N]` (constants): the ln Z surrogate.
pub fn negative_energy(prior: &Prior, index: &EdgeIndex, model_samples: Tensor<2>) -> Tensor<1> {
    prior.energy(model_samples.detach(), index).mean().neg()
}

#[cfg(test)]
mod tests {
    //! Gradient checks: burn's autodiff of each custom term against central finite
    //! differences of a plain f64 evaluation of the same formula.
    use super::*;
    use crate::vae::prior::Graph;
    use crate::vae::{matrix, values};
    use burn::module::Param;
    use burn::tensor::Device;

    fn device() -> Device {
        Device::flex().autodiff()
    }

    fn softplus(x: f64) -> f64 {
        if x > 0.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        }
    }

    fn log_sig(x: f64) -> f64 {
        -softplus(-x)
    }

    fn inputs(n: usize, seed: u64, scale: f64) -> Vec<f32> {
        let mut rng = rand_pcg::Pcg32::new(seed, 3);
        (0..n).map(|_| ((2.0 * crate::vae::uniform_open(&mut rng) - 1.0) * scale) as f32).collect()
    }

    /// Autodiff gradient of `term` at `x` vs central differences of `reference`.
    fn check(
        x: Vec<f32>,
        rows: usize,
        cols: usize,
        term: impl Fn(Tensor<2>) -> Tensor<1>,
        reference: impl Fn(&[f64]) -> f64,
    ) {
        let d = device();
        let t = matrix(x.clone(), rows, cols, &d).require_grad();
        let value = term(t.clone());
        let v = f64::from(value.clone().into_scalar::<f32>());
        let xs: Vec<f64> = x.iter().map(|&a| f64::from(a)).collect();
        assert!((v - reference(&xs)).abs() < 1e-4 * (1.0 + v.abs()), "value {v} vs {}", reference(&xs));
        let grads = value.backward();
        let g = values(t.grad(&grads).expect("gradient"));
        let h = 1e-5;
        for k in 0..xs.len() {
            let (mut up, mut down) = (xs.clone(), xs.clone());
            up[k] += h;
            down[k] -= h;
            let fd = (reference(&up) - reference(&down)) / (2.0 * h);
            assert!((f64::from(g[k]) - fd).abs() < 2e-3 * (1.0 + fd.abs()), "element {k}: autodiff {} vs {fd}", g[k]);
        }
    }

    #[test]
    fn reconstruction_gradient() {
        let target = inputs(12, 2, 1.0);
        let d = device();
        let tt = target.clone();
        check(
            inputs(12, 1, 1.0),
            3,
            4,
            |x| reconstruction(x, matrix(tt.clone(), 3, 4, &d)),
            |x| x.iter().zip(&target).map(|(a, &b)| (a - f64::from(b)).powi(2)).sum::<f64>() / 3.0,
        );
    }

    #[test]
    fn hit_gradient() {
        let hits: Vec<f32> = inputs(12, 4, 1.0).iter().map(|&v| f32::from(v > 0.0)).collect();
        let d = device();
        let hh = hits.clone();
        check(
            inputs(12, 5, 4.0),
            3,
            4,
            |x| hit(x, matrix(hh.clone(), 3, 4, &d)),
            |x| {
                -x.iter()
                    .zip(&hits)
                    .map(|(&l, &t)| f64::from(t) * log_sig(l) + (1.0 - f64::from(t)) * log_sig(-l))
                    .sum::<f64>()
                    / 3.0
            },
        );
    }

    #[test]
    fn entropy_gradient_and_its_bound() {
        check(inputs(12, 6, 3.0), 3, 4, negative_entropy, |x| {
            x.iter()
                .map(|&l| {
                    let q = 1.0 / (1.0 + (-l).exp());
                    q * log_sig(l) + (1.0 - q) * log_sig(-l)
                })
                .sum::<f64>()
                / 3.0
        });
        let zero = negative_entropy(matrix(vec![0.0; 8], 2, 4, &device()));
        assert!((f64::from(zero.into_scalar::<f32>()) + 4.0 * std::f64::consts::LN_2).abs() < 1e-5);
    }

    #[test]
    fn energy_gradients_in_the_samples_and_in_the_parameters() {
        let graph = Graph::zephyr(2).unwrap();
        let n = graph.units();
        let d = device();
        let index = EdgeIndex::new(&graph, &d);
        let b = inputs(n, 7, 0.5);
        let w = inputs(graph.edges.len(), 8, 0.5);
        let prior = Prior::from_values(&b, &w, &d);
        let energy = |z: &[f64], b: &[f64], w: &[f64]| -> f64 {
            let rows = z.len() / n;
            let mut e = 0.0;
            for r in 0..rows {
                let zr = &z[r * n..(r + 1) * n];
                e -= zr.iter().zip(b).map(|(a, c)| a * c).sum::<f64>();
                e -= graph.edges.iter().zip(w).map(|(&(i, j), c)| zr[i] * zr[j] * c).sum::<f64>();
            }
            e / rows as f64
        };
        let bf: Vec<f64> = b.iter().map(|&x| f64::from(x)).collect();
        let wf: Vec<f64> = w.iter().map(|&x| f64::from(x)).collect();
        // In the (relaxed) samples.
        check(
            inputs(3 * n, 9, 1.0).iter().map(|v| v.abs()).collect(),
            3,
            n,
            |z| positive_energy(&prior, &index, z),
            |z| energy(z, &bf, &wf),
        );
        // In the parameters: the negative-energy term's gradient is +<dE/dtheta>... negated.
        let z: Vec<f32> = inputs(4 * n, 10, 1.0).iter().map(|&v| f32::from(v > 0.0)).collect();
        let zf: Vec<f64> = z.iter().map(|&x| f64::from(x)).collect();
        let pb = Param::from_tensor(crate::vae::vector(b.clone(), &d));
        let pw = Param::from_tensor(crate::vae::vector(w.clone(), &d));
        let prior = Prior { bias: pb, weight: pw };
        let term = negative_energy(&prior, &index, matrix(z.clone(), 4, n, &d));
        let grads = term.backward();
        let gb = values(prior.bias.val().grad(&grads).unwrap());
        let gw = values(prior.weight.val().grad(&grads).unwrap());
        let h = 1e-5;
        for i in 0..n {
            let (mut up, mut down) = (bf.clone(), bf.clone());
            up[i] += h;
            down[i] -= h;
            let fd = -(energy(&zf, &up, &wf) - energy(&zf, &down, &wf)) / (2.0 * h);
            assert!((f64::from(gb[i]) - fd).abs() < 1e-3, "bias {i}: {} vs {fd}", gb[i]);
        }
        for e in 0..wf.len() {
            let (mut up, mut down) = (wf.clone(), wf.clone());
            up[e] += h;
            down[e] -= h;
            let fd = -(energy(&zf, &bf, &up) - energy(&zf, &bf, &down)) / (2.0 * h);
            assert!((f64::from(gw[e]) - fd).abs() < 1e-3, "edge {e}: {} vs {fd}", gw[e]);
        }
    }

    #[test]
    fn binary_concrete_gradient() {
        let noise = inputs(8, 11, 2.0);
        let d = device();
        let nn = noise.clone();
        let tau = 0.7;
        check(
            inputs(8, 12, 2.0),
            2,
            4,
            |l| crate::vae::relaxation::binary_concrete(l, matrix(nn.clone(), 2, 4, &d), tau).sum(),
            |l| l.iter().zip(&noise).map(|(&a, &b)| 1.0 / (1.0 + (-(a + f64::from(b)) / tau).exp())).sum(),
        );
    }
}
