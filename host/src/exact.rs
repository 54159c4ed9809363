//! Exact moments and ln Z of small models, by enumeration.
//!
//! All partitions but the largest are enumerated in Gray-code order (one unit flips per
//! step, so the energy and the fields on the largest partition update in O(degree)); the
//! largest partition, which has no internal edges, is summed analytically: given the rest,
//! its units are independent with P(z_j = 1) = σ(β h_j), and they contribute
//! Σ_j ln(1 + e^(β h_j)) to ln Z. Weights are kept relative to a running maximum, so
//! nothing overflows at any β.

use crate::model_file::ModelFile;
use crate::statistics::Statistics;
use anyhow::{bail, Result};

/// Most units the enumeration visits (2^30 states).
pub const MAX_ENUMERATED: usize = 30;

/// Exact answers, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Exact {
    /// ln Z.
    pub ln_z: f64,
    /// ⟨z_i⟩.
    pub mean: Vec<f64>,
    /// ⟨z_i z_j⟩ per file edge.
    pub edge_second_moment: Vec<f64>,
    /// ⟨E⟩.
    pub energy_mean: f64,
    /// Var(E).
    pub energy_variance: f64,
    /// ⟨z_i z_j⟩ for every pair, row-major n x n (diagonal ⟨z_i⟩), when asked for.
    pub second_moment: Option<Vec<f64>>,
}

impl Exact {
    /// As a statistics file.
    pub fn statistics(&self, model: &ModelFile) -> Statistics {
        Statistics {
            mean: self.mean.clone(),
            edge_second_moment: model.edges.iter().zip(&self.edge_second_moment).map(|(e, &v)| (e.i, e.j, v)).collect(),
            energy_mean: Some(self.energy_mean),
            energy_variance: Some(self.energy_variance),
            num_samples: None,
            effective_samples: None,
            ln_z: Some(self.ln_z),
            source: Some("exact".into()),
            saturations: None,
        }
    }
}

/// E(z) of one state (one byte per unit), in the model's real units.
pub fn energy(model: &ModelFile, z: &[u8]) -> f64 {
    let mut e = 0.0;
    for (&b, &zi) in model.bias.iter().zip(z) {
        if zi != 0 {
            e -= b;
        }
    }
    for ed in &model.edges {
        if z[ed.i] != 0 && z[ed.j] != 0 {
            e -= ed.w;
        }
    }
    e
}

fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Which units are enumerated (all but the largest partition).
pub fn enumerated_units(model: &ModelFile) -> Vec<usize> {
    let sizes = model.sizes();
    let largest = (0..sizes.len()).max_by_key(|&p| (sizes[p], p)).unwrap_or(0);
    (0..model.num_units()).filter(|&i| model.partition[i] as usize != largest).collect()
}

/// Exact moments of `model` at inverse temperature `beta`.
pub fn exact(model: &ModelFile, beta: f64) -> Result<Exact> {
    exact_with(model, beta, false)
}

/// Exact moments, with the full n x n second-moment matrix when `pairwise` (n² work per
/// enumerated state).
pub fn exact_with(model: &ModelFile, beta: f64, pairwise: bool) -> Result<Exact> {
    exact_observed(model, beta, pairwise, &mut |_, _| {})
}

/// How often [`exact_observed`] reports progress, in enumerated states.
pub const PROGRESS_STEP: u64 = 1 << 16;

/// [`exact_with`], calling `progress(states done, states in all)` every [`PROGRESS_STEP`]
/// states and once at the end (2^[`enumerated_units`] states in all).
pub fn exact_observed(
    model: &ModelFile,
    beta: f64,
    pairwise: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Exact> {
    let n = model.num_units();
    let rest = enumerated_units(model);
    if rest.len() > MAX_ENUMERATED {
        bail!(
            "exact answers need enumerating {} units (all partitions but the largest), more than the limit of {MAX_ENUMERATED}; \
             this model ({n} units) is too large: use sampling",
            rest.len()
        );
    }
    let free: Vec<usize> = (0..n).filter(|i| !rest.contains(i)).collect();
    // Position of each unit in `rest` or in `free`.
    let mut pos = vec![(false, 0usize); n];
    for (k, &i) in rest.iter().enumerate() {
        pos[i] = (true, k);
    }
    for (k, &j) in free.iter().enumerate() {
        pos[j] = (false, k);
    }
    // Neighbours of each enumerated unit, split by side.
    let mut nb_rest = vec![Vec::new(); rest.len()];
    let mut nb_free = vec![Vec::new(); rest.len()];
    for e in &model.edges {
        match (pos[e.i], pos[e.j]) {
            ((true, a), (true, b)) => {
                nb_rest[a].push((b, e.w));
                nb_rest[b].push((a, e.w));
            }
            ((true, a), (false, b)) | ((false, b), (true, a)) => nb_free[a].push((b, e.w)),
            _ => bail!("edge ({}, {}) joins two units of the largest partition", e.i, e.j),
        }
    }
    let mut z = vec![0u8; rest.len()];
    let mut e_rest = 0.0;
    let mut h: Vec<f64> = free.iter().map(|&j| model.bias[j]).collect();
    // Accumulators relative to exp(shift).
    let mut shift = f64::NEG_INFINITY;
    let mut total = 0.0;
    let mut sum_z = vec![0.0; n];
    let mut sum_zz = vec![0.0; model.edges.len()];
    let (mut sum_e, mut sum_e2) = (0.0, 0.0);
    let mut p_free = vec![0.0; free.len()];
    let mut sum_pair = vec![0.0; if pairwise { n * n } else { 0 }];
    let mut value = vec![0.0; n];
    let states = 1u64 << rest.len();
    for g in 0..states {
        if g.is_multiple_of(PROGRESS_STEP) {
            progress(g, states);
        }
        if g > 0 {
            let k = g.trailing_zeros() as usize;
            let d = if z[k] == 0 { 1.0 } else { -1.0 };
            z[k] ^= 1;
            let i = rest[k];
            let mut de = -model.bias[i];
            for &(b, w) in &nb_rest[k] {
                de -= w * z[b] as f64;
            }
            e_rest += d * de;
            for &(b, w) in &nb_free[k] {
                h[b] += d * w;
            }
        }
        let mut log_w = -beta * e_rest;
        let mut e_mean = e_rest;
        let mut e_var = 0.0;
        for (b, &hb) in h.iter().enumerate() {
            log_w += softplus(beta * hb);
            let p = sigmoid(beta * hb);
            p_free[b] = p;
            e_mean -= hb * p;
            e_var += hb * hb * p * (1.0 - p);
        }
        if log_w > shift {
            let r = (shift - log_w).exp();
            total *= r;
            sum_z.iter_mut().chain(sum_zz.iter_mut()).chain(sum_pair.iter_mut()).for_each(|s| *s *= r);
            sum_e *= r;
            sum_e2 *= r;
            shift = log_w;
        }
        let w = (log_w - shift).exp();
        total += w;
        sum_e += w * e_mean;
        sum_e2 += w * (e_var + e_mean * e_mean);
        for (k, &i) in rest.iter().enumerate() {
            sum_z[i] += w * z[k] as f64;
        }
        for (b, &j) in free.iter().enumerate() {
            sum_z[j] += w * p_free[b];
        }
        if pairwise {
            // Given the enumerated units, the largest partition's units are independent.
            for (k, &i) in rest.iter().enumerate() {
                value[i] = z[k] as f64;
            }
            for (b, &j) in free.iter().enumerate() {
                value[j] = p_free[b];
            }
            for i in 0..n {
                let wi = w * value[i];
                if wi != 0.0 {
                    for j in i + 1..n {
                        sum_pair[i * n + j] += wi * value[j];
                    }
                }
            }
        }
        for (s, e) in sum_zz.iter_mut().zip(&model.edges) {
            let v = |u: usize| match pos[u] {
                (true, k) => z[k] as f64,
                (false, b) => p_free[b],
            };
            *s += w * v(e.i) * v(e.j);
        }
    }
    progress(states, states);
    let energy_mean = sum_e / total;
    let second_moment = pairwise.then(|| {
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            m[i * n + i] = sum_z[i] / total;
            for j in i + 1..n {
                m[i * n + j] = sum_pair[i * n + j] / total;
                m[j * n + i] = m[i * n + j];
            }
        }
        m
    });
    let exact = Exact {
        second_moment,
        ln_z: shift + total.ln(),
        mean: sum_z.iter().map(|s| s / total).collect(),
        edge_second_moment: sum_zz.iter().map(|s| s / total).collect(),
        energy_mean,
        energy_variance: sum_e2 / total - energy_mean * energy_mean,
    };
    crate::validation::finite::require(
        "exact answers",
        &[
            ("ln Z", &[exact.ln_z]),
            ("<E>", &[exact.energy_mean]),
            ("Var(E)", &[exact.energy_variance]),
            ("<z>", &exact.mean),
            ("<z_i z_j> per edge", &exact.edge_second_moment),
            ("<z_i z_j>", exact.second_moment.as_deref().unwrap_or(&[])),
        ],
    )?;
    Ok(exact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calo4p_core::json::Edge;

    /// Two units, one edge: every moment by hand.
    #[test]
    fn two_units_by_hand() {
        let (b0, b1, w) = (0.3, -0.7, 1.1);
        let model = ModelFile {
            partition: vec![0, 1],
            bias: vec![b0, b1],
            edges: vec![Edge { i: 0, j: 1, w }],
            qubits: None,
            zephyr: None,
            description: String::new(),
        };
        let beta = 1.7;
        let weights = [0.0, b0, b1, b0 + b1 + w].map(|negative_e: f64| (beta * negative_e).exp());
        let z: f64 = weights.iter().sum();
        let ex = exact(&model, beta).unwrap();
        assert!((ex.ln_z - z.ln()).abs() < 1e-14);
        assert!((ex.mean[0] - (weights[1] + weights[3]) / z).abs() < 1e-14);
        assert!((ex.mean[1] - (weights[2] + weights[3]) / z).abs() < 1e-14);
        assert!((ex.edge_second_moment[0] - weights[3] / z).abs() < 1e-14);
        let es = [0.0, -b0, -b1, -(b0 + b1 + w)];
        let em: f64 = es.iter().zip(&weights).map(|(e, p)| e * p).sum::<f64>() / z;
        let e2: f64 = es.iter().zip(&weights).map(|(e, p)| e * e * p).sum::<f64>() / z;
        assert!((ex.energy_mean - em).abs() < 1e-13);
        assert!((ex.energy_variance - (e2 - em * em)).abs() < 1e-13);
        let full = exact_with(&model, beta, true).unwrap().second_moment.unwrap();
        assert!((full[1] - weights[3] / z).abs() < 1e-14 && full[1] == full[2]);
        assert!((full[0] - ex.mean[0]).abs() < 1e-15);
    }

    /// The pairwise matrix agrees with the edge moments, and with brute force off the edges.
    #[test]
    fn pairwise_matches_brute_force() {
        let model = crate::topology::random_model(1, 4, 2, 5, 1.0, crate::topology::Selection::First).unwrap();
        let n = model.num_units();
        let ex = exact_with(&model, 0.8, true).unwrap();
        let full = ex.second_moment.as_ref().unwrap();
        let mut brute = vec![0.0; n * n];
        let mut zsum = 0.0;
        for s in 0u32..1 << n {
            let z: Vec<u8> = (0..n).map(|i| ((s >> i) & 1) as u8).collect();
            let w = (-0.8 * energy(&model, &z)).exp();
            zsum += w;
            for i in 0..n {
                for j in 0..n {
                    brute[i * n + j] += w * (z[i] & z[j]) as f64;
                }
            }
        }
        for (a, b) in full.iter().zip(&brute) {
            assert!((a - b / zsum).abs() < 1e-12);
        }
        assert!((ex.ln_z - zsum.ln()).abs() < 1e-12);
        for (k, e) in model.edges.iter().enumerate() {
            assert!((full[e.i * n + e.j] - ex.edge_second_moment[k]).abs() < 1e-14);
        }
    }
}
