//! The CaloChallenge classifier metric: a small neural network learns to tell reference
//! showers from generated ones, and how well it does on showers it has not seen says how far
//! apart the two distributions are.
//!
//! As in the challenge's `evaluate.py` (mode `cls-high`: high-level features): both sets are
//! cut to the same size, shuffled and split 60/20/20 into training, validation and test
//! showers; a fully connected network (LeakyReLU hidden layers, a logistic output, Adam on the
//! binary cross-entropy) is trained, and the epoch with the lowest validation loss is kept.
//! Its test predictions give
//! * the **AUC**, the probability that a random generated shower scores above a random
//!   reference shower: 0.5 when the classifier cannot tell them apart, 1 when it always can
//!   (with the null hypothesis' standard error `sqrt((n₁ + n₂ + 1) / (12 n₁ n₂))`);
//! * the **JSD** in bits, `1 − BCE / ln 2`, where BCE is the test loss of the predictions
//!   after isotonic calibration on the validation showers: a lower bound on the Jensen-Shannon
//!   divergence of the two distributions (0 identical, 1 disjoint; it can come out slightly
//!   below 0 by chance).
//!
//! Inputs are the high-level features of [`super::features`] and ln E_inc, standardised with
//! the training showers' means and standard deviations. The network is small and trained on
//! the CPU with hand-written gradients (a dense network and one loss), from a fixed seed.

use super::synth::Rng;
use anyhow::{bail, Result};

/// Network and training settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ClassifierOptions {
    /// Hidden layers.
    pub layers: usize,
    /// Units per hidden layer.
    pub hidden: usize,
    /// Passes over the training showers.
    pub epochs: usize,
    /// Showers per Adam step.
    pub batch: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Seed of the split, the initial weights and the batch order.
    pub seed: u64,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        ClassifierOptions { layers: 2, hidden: 32, epochs: 30, batch: 128, learning_rate: 1e-3, seed: 42 }
    }
}

/// What the classifier achieved on the test showers.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClassifierScore {
    /// Area under the ROC curve of the test predictions (generated = positive).
    pub auc: f64,
    /// Standard error of the AUC of a classifier that cannot tell the sets apart.
    pub auc_null_error: f64,
    /// Share of test showers classified right after calibration (threshold 1/2).
    pub accuracy: f64,
    /// 1 − BCE / ln 2 of the calibrated test predictions (bits).
    pub jsd: f64,
    /// Showers of each set used for training, validation and testing.
    pub split: [usize; 3],
    /// The epoch (from 1) whose network was kept.
    pub best_epoch: usize,
    /// The settings.
    pub options: ClassifierOptions,
}

/// Train the classifier on `reference` and `generated` (rows of `dim` inputs, row-major) and
/// score it on held-out rows. `progress(epoch)` is called after every epoch.
pub fn score(
    reference: &[f64],
    generated: &[f64],
    dim: usize,
    options: &ClassifierOptions,
    progress: &dyn Fn(usize),
) -> Result<ClassifierScore> {
    let o = options;
    if dim == 0 || o.layers == 0 || o.hidden == 0 || o.epochs == 0 || o.batch == 0 {
        bail!("classifier: inputs, layers, hidden units, epochs and batch size must all be at least 1");
    }
    if !(o.learning_rate.is_finite() && o.learning_rate > 0.0) {
        bail!("classifier: learning rate {} must be positive and finite", o.learning_rate);
    }
    for (name, rows) in [("reference", reference), ("generated", generated)] {
        if rows.len() % dim != 0 {
            bail!("classifier: {name} inputs are not whole rows of {dim}");
        }
        if let Some(k) = rows.iter().position(|x| !x.is_finite()) {
            bail!("classifier: {name} shower {}, input {}: {} is not finite", k / dim, k % dim, rows[k]);
        }
    }
    let n = (reference.len() / dim).min(generated.len() / dim);
    if n < 10 {
        bail!("classifier: needs at least 10 showers in each set (has {n}): 6 to train, 2 to calibrate, 2 to test");
    }
    let mut rng = Rng::from_seed(o.seed);
    let mut sets = [shuffled(reference, dim, n, &mut rng), shuffled(generated, dim, n, &mut rng)];
    let n_train = n * 3 / 5;
    let n_val = (n - n_train) / 2;
    let n_test = n - n_train - n_val;
    // Standardise with the training rows of both sets.
    let (mean, scale) = standardisation(sets.iter().flat_map(|s| s.chunks(dim).take(n_train)), dim);
    for s in &mut sets {
        for row in s.chunks_mut(dim) {
            for ((x, m), c) in row.iter_mut().zip(&mean).zip(&scale) {
                *x = (*x - m) * c;
            }
        }
    }
    let part = |range: std::ops::Range<usize>| -> Vec<(&[f64], f64)> {
        sets.iter()
            .zip([0.0, 1.0])
            .flat_map(|(s, label)| s.chunks(dim).skip(range.start).take(range.len()).map(move |r| (r, label)))
            .collect()
    };
    let (mut train, val, test) = (part(0..n_train), part(n_train..n_train + n_val), part(n_train + n_val..n));

    let mut net = Network::new(dim, o.layers, o.hidden, &mut rng);
    let mut adam = Adam::new(net.params.len(), o.learning_rate);
    let mut scratch = Scratch::new(&net);
    let mut best = (f64::INFINITY, 0, net.params.clone());
    for epoch in 0..o.epochs {
        shuffle(&mut train, &mut rng);
        for batch in train.chunks(o.batch) {
            let mut grad = vec![0.0; net.params.len()];
            for &(x, y) in batch {
                net.backward(x, y, &mut scratch, &mut grad);
            }
            let inv = 1.0 / batch.len() as f64;
            grad.iter_mut().for_each(|g| *g *= inv);
            adam.step(&mut net.params, &grad);
        }
        let loss = bce(val.iter().map(|&(x, y)| (sigmoid(net.forward(x, &mut scratch)), y)));
        if !loss.is_finite() {
            bail!("classifier: validation loss became {loss} in epoch {}", epoch + 1);
        }
        if loss < best.0 {
            best = (loss, epoch + 1, net.params.clone());
        }
        progress(epoch + 1);
    }
    net.params = best.2;
    let predict = |rows: &[(&[f64], f64)], scratch: &mut Scratch| -> Vec<(f64, f64)> {
        rows.iter().map(|&(x, y)| (sigmoid(net.forward(x, scratch)), y)).collect()
    };
    let val_pred = predict(&val, &mut scratch);
    let test_pred = predict(&test, &mut scratch);
    let calibration = Isotonic::fit(&val_pred);
    let calibrated: Vec<(f64, f64)> = test_pred.iter().map(|&(p, y)| (calibration.predict(p), y)).collect();
    let auc = auc(&test_pred);
    let accuracy =
        calibrated.iter().filter(|&&(p, y)| (p >= 0.5) == (y == 1.0)).count() as f64 / calibrated.len() as f64;
    Ok(ClassifierScore {
        auc,
        auc_null_error: auc_null_error(n_test, n_test),
        accuracy,
        jsd: 1.0 - bce(calibrated.iter().copied()) / std::f64::consts::LN_2,
        split: [n_train, n_val, n_test],
        best_epoch: best.1,
        options: *o,
    })
}

/// The first `n` of a random permutation of the rows.
fn shuffled(rows: &[f64], dim: usize, n: usize, rng: &mut Rng) -> Vec<f64> {
    let mut order: Vec<usize> = (0..rows.len() / dim).collect();
    shuffle(&mut order, rng);
    order[..n].iter().flat_map(|&i| &rows[i * dim..(i + 1) * dim]).copied().collect()
}

/// Fisher-Yates.
fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

/// Per-input mean and inverse standard deviation (1 for a constant input).
fn standardisation<'a>(rows: impl Iterator<Item = &'a [f64]>, dim: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut n, mut sum, mut sq) = (0.0, vec![0.0; dim], vec![0.0; dim]);
    for row in rows {
        n += 1.0;
        for j in 0..dim {
            sum[j] += row[j];
            sq[j] += row[j] * row[j];
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let scale = (0..dim)
        .map(|j| {
            let var = (sq[j] / n - mean[j] * mean[j]).max(0.0);
            if var > 1e-24 * (1.0 + mean[j] * mean[j]) {
                1.0 / var.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    (mean, scale)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Mean binary cross-entropy (nats) of (probability, label) pairs, probabilities clipped to
/// [1e-7, 1 − 1e-7] as the challenge's PyTorch loss does in practice.
fn bce(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut sum, mut n) = (0.0, 0.0);
    for (p, y) in pairs {
        let p = p.clamp(1e-7, 1.0 - 1e-7);
        sum -= y * p.ln() + (1.0 - y) * (1.0 - p).ln();
        n += 1.0;
    }
    sum / n
}

/// Area under the ROC curve of (score, label) pairs, label 1 positive: the Mann-Whitney
/// statistic with mid-ranks for ties, divided by n₊ n₋.
pub fn auc(pairs: &[(f64, f64)]) -> f64 {
    let mut v = pairs.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut n_pos) = (0.0, 0.0);
    let mut i = 0;
    while i < v.len() {
        let j = i + v[i..].iter().take_while(|p| p.0 == v[i].0).count();
        let mid_rank = (i + 1 + j) as f64 / 2.0;
        for p in &v[i..j] {
            if p.1 == 1.0 {
                rank_sum += mid_rank;
                n_pos += 1.0;
            }
        }
        i = j;
    }
    let n_neg = v.len() as f64 - n_pos;
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// Standard error of the AUC when both classes come from one distribution.
pub fn auc_null_error(n_pos: usize, n_neg: usize) -> f64 {
    let (a, b) = (n_pos as f64, n_neg as f64);
    ((a + b + 1.0) / (12.0 * a * b)).sqrt()
}

/// Isotonic regression of labels on scores (pool adjacent violators), read between its
/// points by linear interpolation and clipped outside them, as scikit-learn's
/// `IsotonicRegression(out_of_bounds="clip")` that the challenge calibrates with.
#[derive(Clone, Debug, PartialEq)]
pub struct Isotonic {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Isotonic {
    /// Fit to (score, label) pairs (at least one).
    pub fn fit(pairs: &[(f64, f64)]) -> Isotonic {
        let mut v = pairs.to_vec();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Equal scores first become one point with their mean label.
        let mut points: Vec<(f64, f64, f64)> = Vec::new(); // (x, y, weight)
        for (x, y) in v {
            match points.last_mut() {
                Some(p) if p.0 == x => {
                    p.1 = (p.1 * p.2 + y) / (p.2 + 1.0);
                    p.2 += 1.0;
                }
                _ => points.push((x, y, 1.0)),
            }
        }
        // Pool adjacent violators: blocks of (mean, weight, points).
        let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
        for &(_, y, w) in &points {
            blocks.push((y, w, 1));
            while blocks.len() > 1 && blocks[blocks.len() - 2].0 > blocks[blocks.len() - 1].0 {
                let b = blocks.pop().expect("two blocks");
                let a = blocks.last_mut().expect("two blocks");
                a.0 = (a.0 * a.1 + b.0 * b.1) / (a.1 + b.1);
                a.1 += b.1;
                a.2 += b.2;
            }
        }
        let y = blocks.iter().flat_map(|&(m, _, k)| std::iter::repeat_n(m, k)).collect();
        Isotonic { x: points.iter().map(|p| p.0).collect(), y }
    }

    /// The calibrated value at `x`.
    pub fn predict(&self, x: f64) -> f64 {
        let k = self.x.partition_point(|&t| t < x);
        if k == 0 {
            return self.y[0];
        }
        if k == self.x.len() {
            return self.y[k - 1];
        }
        if self.x[k] == x {
            return self.y[k];
        }
        let t = (x - self.x[k - 1]) / (self.x[k] - self.x[k - 1]);
        self.y[k - 1] + t * (self.y[k] - self.y[k - 1])
    }
}

/// A dense network: hidden layers with LeakyReLU, one logit out. Parameters in one vector,
/// layer by layer: weights (row per output unit), then biases.
struct Network {
    sizes: Vec<usize>,
    params: Vec<f64>,
}

const LEAK: f64 = 0.01;

/// Activations and their gradients, per layer.
struct Scratch {
    act: Vec<Vec<f64>>,
    delta: Vec<Vec<f64>>,
}

impl Scratch {
    fn new(net: &Network) -> Scratch {
        Scratch {
            act: net.sizes.iter().map(|&s| vec![0.0; s]).collect(),
            delta: net.sizes.iter().map(|&s| vec![0.0; s]).collect(),
        }
    }
}

impl Network {
    /// PyTorch's default initialisation: uniform in ±1/sqrt(fan in).
    fn new(inputs: usize, layers: usize, hidden: usize, rng: &mut Rng) -> Network {
        let mut sizes = vec![inputs];
        sizes.extend(std::iter::repeat_n(hidden, layers));
        sizes.push(1);
        let mut params = Vec::new();
        for w in sizes.windows(2) {
            let bound = 1.0 / (w[0] as f64).sqrt();
            params.extend((0..w[0] * w[1] + w[1]).map(|_| bound * (2.0 * rng.uniform() - 1.0)));
        }
        Network { sizes, params }
    }

    /// The logit of `x`; leaves every layer's activation in `s.act`.
    fn forward(&self, x: &[f64], s: &mut Scratch) -> f64 {
        s.act[0].copy_from_slice(x);
        let mut off = 0;
        let last = self.sizes.len() - 2;
        for l in 0..=last {
            let (n_in, n_out) = (self.sizes[l], self.sizes[l + 1]);
            let (w, b) = self.params[off..off + n_in * n_out + n_out].split_at(n_in * n_out);
            let (before, after) = s.act.split_at_mut(l + 1);
            let (input, output) = (&before[l], &mut after[0]);
            for (o, (row, &bias)) in output.iter_mut().zip(w.chunks(n_in).zip(b)) {
                let z = bias + row.iter().zip(input.iter()).map(|(a, b)| a * b).sum::<f64>();
                *o = if l < last && z < 0.0 { LEAK * z } else { z };
            }
            off += n_in * n_out + n_out;
        }
        s.act[last + 1][0]
    }

    /// Add the gradient of the binary cross-entropy of `x` with label `y` to `grad`.
    fn backward(&self, x: &[f64], y: f64, s: &mut Scratch, grad: &mut [f64]) {
        let logit = self.forward(x, s);
        let top = self.sizes.len() - 1;
        s.delta[top][0] = sigmoid(logit) - y;
        let mut end = self.params.len();
        for l in (0..top).rev() {
            let (n_in, n_out) = (self.sizes[l], self.sizes[l + 1]);
            let start = end - (n_in * n_out + n_out);
            let (gw, gb) = grad[start..end].split_at_mut(n_in * n_out);
            let w = &self.params[start..start + n_in * n_out];
            let (lower, upper) = s.delta.split_at_mut(l + 1);
            let (d_in, d_out) = (&mut lower[l], &upper[0]);
            for (k, &d) in d_out.iter().enumerate() {
                gb[k] += d;
                for (g, &a) in gw[k * n_in..(k + 1) * n_in].iter_mut().zip(&s.act[l]) {
                    *g += d * a;
                }
            }
            if l > 0 {
                for (i, di) in d_in.iter_mut().enumerate() {
                    let back: f64 = d_out.iter().enumerate().map(|(k, &d)| d * w[k * n_in + i]).sum();
                    // The activation is stored after LeakyReLU; its sign is the input's.
                    *di = if s.act[l][i] < 0.0 { LEAK * back } else { back };
                }
            }
            end = start;
        }
    }
}

/// Adam with PyTorch's defaults (β₁ 0.9, β₂ 0.999, ε 1e-8).
struct Adam {
    lr: f64,
    t: i32,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    fn new(n: usize, lr: f64) -> Adam {
        Adam { lr, t: 0, m: vec![0.0; n], v: vec![0.0; n] }
    }

    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        self.t += 1;
        let (b1, b2) = (0.9f64, 0.999f64);
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for ((p, &g), (m, v)) in params.iter_mut().zip(grad).zip(self.m.iter_mut().zip(self.v.iter_mut())) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= self.lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_answers() {
        // Perfect, reversed, and one tie between classes (counts 1/2).
        assert_eq!(auc(&[(0.1, 0.0), (0.2, 0.0), (0.8, 1.0), (0.9, 1.0)]), 1.0);
        assert_eq!(auc(&[(0.1, 1.0), (0.2, 1.0), (0.8, 0.0), (0.9, 0.0)]), 0.0);
        // Positives 0.5, 0.7; negatives 0.5, 0.1: pairs (0.5>0.1) (0.5=0.5: 1/2) (0.7>both).
        assert_eq!(auc(&[(0.5, 1.0), (0.7, 1.0), (0.5, 0.0), (0.1, 0.0)]), 3.5 / 4.0);
        assert!((auc_null_error(100, 100) - (201.0f64 / 120_000.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn isotonic_pools_violators_and_interpolates() {
        // Labels 1, 0, 1, 1 at scores 1..4: the first two pool to 1/2.
        let f = Isotonic::fit(&[(1.0, 1.0), (2.0, 0.0), (3.0, 1.0), (4.0, 1.0)]);
        assert_eq!(f.y, [0.5, 0.5, 1.0, 1.0]);
        assert_eq!(f.predict(0.0), 0.5);
        assert_eq!(f.predict(2.5), 0.75);
        assert_eq!(f.predict(9.0), 1.0);
        // Equal scores are one point with the mean label; the fit is non-decreasing.
        let g = Isotonic::fit(&[(0.2, 0.0), (0.2, 1.0), (0.1, 1.0), (0.3, 0.0), (0.4, 1.0)]);
        assert!(g.y.windows(2).all(|w| w[0] <= w[1]), "{g:?}");
        assert_eq!(g.x, [0.1, 0.2, 0.3, 0.4]);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = Rng::from_seed(3);
        let mut net = Network::new(3, 2, 4, &mut rng);
        let mut s = Scratch::new(&net);
        let x = [0.3, -1.2, 0.7];
        let loss = |net: &Network, s: &mut Scratch| bce(std::iter::once((sigmoid(net.forward(&x, s)), 1.0)));
        let mut grad = vec![0.0; net.params.len()];
        net.backward(&x, 1.0, &mut s, &mut grad);
        for (k, &g) in grad.iter().enumerate() {
            let h = 1e-6;
            let p = net.params[k];
            net.params[k] = p + h;
            let up = loss(&net, &mut s);
            net.params[k] = p - h;
            let down = loss(&net, &mut s);
            net.params[k] = p;
            let fd = (up - down) / (2.0 * h);
            assert!((fd - g).abs() < 1e-6 * (1.0 + fd.abs()), "parameter {k}: {fd} vs {g}");
        }
    }

    /// `n` rows of two correlated Gaussian inputs, the second class shifted by `shift`.
    fn gaussians(n: usize, shift: f64, seed: u64) -> Vec<f64> {
        let mut rng = Rng::from_seed(seed);
        (0..n)
            .flat_map(|_| {
                let a = rng.normal();
                [a + shift, 0.5 * a + rng.normal()]
            })
            .collect()
    }

    #[test]
    fn same_distribution_scores_chance() {
        // Both sets from one distribution: the test AUC is within 4 null standard errors of
        // 1/2, and the JSD bound near 0.
        let o = ClassifierOptions { epochs: 10, ..ClassifierOptions::default() };
        let s = score(&gaussians(2000, 0.0, 1), &gaussians(2000, 0.0, 2), 2, &o, &|_| {}).unwrap();
        assert_eq!(s.split, [1200, 400, 400]);
        assert!((s.auc - 0.5).abs() < 4.0 * s.auc_null_error, "{s:?}");
        assert!(s.jsd.abs() < 0.05, "{s:?}");
    }

    #[test]
    fn separated_distributions_score_their_bayes_auc() {
        // Class means 1.5 apart in the first input (unit variance given the second input's
        // information is small): the best AUC is Φ(Δ/√2) with Δ the Mahalanobis distance.
        // Inputs: x1 = a + shift, x2 = a/2 + e, a, e ~ N(0,1): covariance [[1, .5], [.5, 1.25]].
        let o = ClassifierOptions { epochs: 15, ..ClassifierOptions::default() };
        let s = score(&gaussians(3000, 0.0, 3), &gaussians(3000, 1.5, 4), 2, &o, &|_| {}).unwrap();
        // Mahalanobis distance of (1.5, 0): sqrt(1.5^2 * 1.25 / (1.25 - 0.25)) = 1.5 * sqrt(1.25).
        let delta: f64 = 1.5 * 1.25f64.sqrt();
        let bayes = 0.5 * (1.0 + libm::erf(delta / 2.0));
        // The AUC's standard error near 0.88 is below the null one (0.017 here): 4 of those.
        assert!((s.auc - bayes).abs() < 4.0 * s.auc_null_error, "{s:?} vs {bayes}");
        assert!(s.jsd > 0.2 && s.jsd < 1.0, "{s:?}");
        assert!(s.accuracy > 0.7, "{s:?}");
    }

    #[test]
    fn refusals() {
        let o = ClassifierOptions::default();
        assert!(score(&[0.0; 18], &[0.0; 40], 2, &o, &|_| {}).unwrap_err().to_string().contains("at least 10"));
        let mut bad = gaussians(20, 0.0, 1);
        bad[7] = f64::NAN;
        let e = score(&bad, &gaussians(20, 0.0, 2), 2, &o, &|_| {}).unwrap_err().to_string();
        assert!(e.contains("reference shower 3, input 1"), "{e}");
        let e = score(&[0.0; 21], &[0.0; 40], 2, &o, &|_| {}).unwrap_err().to_string();
        assert!(e.contains("whole rows"), "{e}");
    }
}
