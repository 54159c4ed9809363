//! The way out: the Ising problem an annealer takes for a model at inverse temperature β.
//!
//! With s = 2z - 1, β E(z) = Σ_i h_i s_i + Σ_(i,j) J_ij s_i s_j + offset, where
//! J_ij = -β W_ij / 4, h_i = -β (b_i / 2 + Σ_j W_ij / 4) and
//! offset = -β (Σ_i b_i / 2 + Σ_(i,j) W_ij / 4); so an annealer sampling this problem at its
//! own temperature draws z from exp(-β E(z)) / Z, and its `energy` column is β E(z).
//! Variables are keyed by qubit (the model's `qubits`, else unit indices).
//!
//! JSON cannot key by integers or pairs, so h is a list of `[qubit, h]` pairs and J of
//! `[qubit_a, qubit_b, J]` triples. In Python:
//!
//! ```python
//! d = json.load(open("ising.json"))
//! bqm = dimod.BinaryQuadraticModel.from_ising(dict(d["h"]), {(a, b): j for a, b, j in d["J"]}, d["offset"])
//! ```

use crate::model_file::ModelFile;
use serde::Serialize;

/// The exported problem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ising {
    /// What this is and how to load it.
    pub description: String,
    /// Inverse temperature folded in.
    pub beta: f64,
    /// `[qubit, h]` per unit, in unit order.
    pub h: Vec<(u64, f64)>,
    /// `[qubit_a, qubit_b, J]` per model edge, in the model's edge order.
    #[serde(rename = "J")]
    pub j: Vec<(u64, u64, f64)>,
    /// Constant so that the Ising energy equals β E(z).
    pub offset: f64,
    /// `SPIN`.
    pub vartype: &'static str,
}

/// The two lines of Python that load the export into dimod.
pub const PYTHON: &str = "d = json.load(open(\"ising.json\"))\n\
bqm = dimod.BinaryQuadraticModel.from_ising(dict(d[\"h\"]), {(a, b): j for a, b, j in d[\"J\"]}, d[\"offset\"])";

/// The Ising problem of `model` at `beta`.
pub fn ising(model: &ModelFile, beta: f64) -> Ising {
    let label = |i: usize| model.qubits.as_ref().map_or(i as u64, |q| q[i] as u64);
    let mut h: Vec<f64> = model.bias.iter().map(|b| -beta * b / 2.0).collect();
    let mut offset = -beta * model.bias.iter().sum::<f64>() / 2.0;
    let mut j = Vec::with_capacity(model.edges.len());
    for e in &model.edges {
        let q = -beta * e.w / 4.0;
        h[e.i] += q;
        h[e.j] += q;
        offset += q;
        j.push((label(e.i), label(e.j), q));
    }
    Ising {
        description: format!(
            "Ising problem of a Boltzmann machine at beta {beta}: s = 2z - 1, energy = sum h s + sum J s s + offset = beta E(z). \
             Load with: {}",
            PYTHON.replace('\n', "; ")
        ),
        beta,
        h: h.into_iter().enumerate().map(|(i, v)| (label(i), v)).collect(),
        j,
        offset,
        vartype: "SPIN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calo4p_core::json::Edge;

    /// The Ising energy of every state equals β E(z).
    #[test]
    fn energies_agree() {
        let model = ModelFile {
            partition: vec![0, 1, 2],
            bias: vec![0.3, -1.2, 0.7],
            edges: vec![Edge { i: 0, j: 1, w: 1.5 }, Edge { i: 1, j: 2, w: -0.4 }, Edge { i: 0, j: 2, w: 0.9 }],
            qubits: Some(vec![10, 4, 7]),
            zephyr: None,
            description: String::new(),
        };
        let beta = 0.8;
        let x = ising(&model, beta);
        let pos = |q: u64| model.qubits.as_ref().unwrap().iter().position(|&p| p as u64 == q).unwrap();
        for state in 0..8u32 {
            let z: Vec<f64> = (0..3).map(|i| (state >> i & 1) as f64).collect();
            let s: Vec<f64> = z.iter().map(|z| 2.0 * z - 1.0).collect();
            let e = -model.bias.iter().zip(&z).map(|(b, z)| b * z).sum::<f64>()
                - model.edges.iter().map(|e| e.w * z[e.i] * z[e.j]).sum::<f64>();
            let ei = x.h.iter().map(|&(q, h)| h * s[pos(q)]).sum::<f64>()
                + x.j.iter().map(|&(a, b, j)| j * s[pos(a)] * s[pos(b)]).sum::<f64>()
                + x.offset;
            assert!((ei - beta * e).abs() < 1e-12, "state {state}: {ei} vs {}", beta * e);
        }
    }
}
