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
use calo4p_core::zephyr::Zephyr;
use serde::Serialize;

/// dimod's own serialization of the problem, `BinaryQuadraticModel.to_serializable()`
/// (`bqm_schema` 3.0.0, lists rather than bytes), which
/// `dimod.BinaryQuadraticModel.from_serializable(json.load(f))` loads as it is. Variables are
/// listed in unit order; `quadratic_head`/`quadratic_tail` index into that list.
pub fn dimod_serializable(model: &ModelFile, problem: &Ising) -> serde_json::Value {
    serde_json::json!({
        "type": "BinaryQuadraticModel",
        "version": {"bqm_schema": "3.0.0"},
        "use_bytes": false,
        "index_type": "int32",
        "bias_type": "float64",
        "num_variables": problem.h.len(),
        "num_interactions": problem.j.len(),
        "variable_labels": problem.h.iter().map(|h| h.0).collect::<Vec<_>>(),
        "variable_type": "SPIN",
        "offset": problem.offset,
        "info": {"description": problem.description, "beta": problem.beta},
        "linear_biases": problem.h.iter().map(|h| h.1).collect::<Vec<_>>(),
        "quadratic_biases": problem.j.iter().map(|j| j.2).collect::<Vec<_>>(),
        "quadratic_head": model.edges.iter().map(|e| e.i).collect::<Vec<_>>(),
        "quadratic_tail": model.edges.iter().map(|e| e.j).collect::<Vec<_>>(),
    })
}

/// A QPU's working graph: the qubits and couplers that work (some of a full Zephyr graph are
/// missing on every real chip).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkingGraph {
    /// Working qubits.
    pub qubits: std::collections::BTreeSet<u64>,
    /// Working couplers, each as (smaller, larger) qubit.
    pub couplers: std::collections::BTreeSet<(u64, u64)>,
}

impl WorkingGraph {
    /// Read JSON with `qubits` and `couplers` (as in `DWaveSampler().properties`) or `nodes`
    /// and `edges` (lists of integers and of integer pairs); errors name the file and field.
    pub fn parse(bytes: &[u8], what: &str) -> anyhow::Result<Self> {
        use anyhow::{bail, Context};
        let v: serde_json::Value = serde_json::from_slice(bytes).with_context(|| format!("{what}: not JSON"))?;
        let field = |a: &'static str, b: &'static str| v.get(a).map(|x| (a, x)).or_else(|| v.get(b).map(|x| (b, x)));
        let (qname, qs) = field("qubits", "nodes").with_context(|| format!("{what}: no `qubits` (or `nodes`) list"))?;
        let (cname, cs) =
            field("couplers", "edges").with_context(|| format!("{what}: no `couplers` (or `edges`) list"))?;
        let mut g = Self::default();
        for (k, q) in qs.as_array().with_context(|| format!("{what}: `{qname}` is not a list"))?.iter().enumerate() {
            match q.as_u64() {
                Some(q) => g.qubits.insert(q),
                None => bail!("{what}: `{qname}[{k}]` is {q}, not a qubit index"),
            };
        }
        for (k, c) in cs.as_array().with_context(|| format!("{what}: `{cname}` is not a list"))?.iter().enumerate() {
            let pair = c.as_array().filter(|p| p.len() == 2).and_then(|p| Some((p[0].as_u64()?, p[1].as_u64()?)));
            let Some((a, b)) = pair else { bail!("{what}: `{cname}[{k}]` is {c}, not a pair of qubits") };
            g.couplers.insert((a.min(b), a.max(b)));
        }
        Ok(g)
    }

    /// Check that every qubit and coupler the problem uses works; the error lists what is missing.
    pub fn check(&self, problem: &Ising, what: &str) -> anyhow::Result<()> {
        let missing_q: Vec<u64> = problem.h.iter().map(|h| h.0).filter(|q| !self.qubits.contains(q)).collect();
        let missing_c: Vec<(u64, u64)> =
            problem.j.iter().map(|&(a, b, _)| (a.min(b), a.max(b))).filter(|c| !self.couplers.contains(c)).collect();
        if missing_q.is_empty() && missing_c.is_empty() {
            return Ok(());
        }
        let show = |v: Vec<String>| {
            let n = v.len();
            let head: Vec<String> = v.into_iter().take(12).collect();
            if n > 12 {
                format!("{} ... ({n} in all)", head.join(", "))
            } else {
                head.join(", ")
            }
        };
        let mut parts = Vec::new();
        if !missing_q.is_empty() {
            parts.push(format!(
                "qubits not in the working graph: {}",
                show(missing_q.iter().map(u64::to_string).collect())
            ));
        }
        if !missing_c.is_empty() {
            parts.push(format!(
                "couplers not in the working graph: {}",
                show(missing_c.iter().map(|(a, b)| format!("({a}, {b})")).collect())
            ));
        }
        anyhow::bail!(
            "the model does not fit the QPU's working graph {what}: {}. Embed the model onto working qubits \
             (or drop the missing units and edges) first",
            parts.join("; ")
        )
    }
}

/// Check that the model fits its declared layout before it is exported: a declared Zephyr
/// shape is a real graph (`m`, `t` >= 1), every qubit is a node of it, no two units share a
/// qubit (one `h` key would be silently lost), and every edge is a coupler of it. Without a
/// `zephyr` shape only the duplicates are checked. `what` names the model file.
pub fn check_layout(model: &ModelFile, what: &str) -> anyhow::Result<()> {
    use anyhow::bail;
    let zephyr = match model.zephyr {
        Some((m, t)) => match Zephyr::new(m as usize, t as usize) {
            Ok(z) => Some(z),
            Err(e) => bail!("{what}: `zephyr` is m = {m}, t = {t}, which is no Zephyr graph: {e}"),
        },
        None => None,
    };
    let Some(qubits) = &model.qubits else { return Ok(()) };
    if qubits.len() != model.num_units() {
        bail!("{what}: `qubits` has {} entries for {} units", qubits.len(), model.num_units());
    }
    if let Some(z) = &zephyr {
        if let Some((i, q)) = qubits.iter().enumerate().find(|(_, &q)| q as usize >= z.num_nodes()) {
            bail!(
                "{what}: `qubits[{i}]` is {q}, not a qubit of Z({}, {}), whose qubits are 0..{}",
                z.m(),
                z.t(),
                z.num_nodes() - 1
            );
        }
    }
    let mut unit_of = std::collections::HashMap::new();
    for (i, &q) in qubits.iter().enumerate() {
        if let Some(first) = unit_of.insert(q, i) {
            bail!("{what}: `qubits[{first}]` and `qubits[{i}]` are both qubit {q}: two units cannot share a qubit");
        }
    }
    if let Some(z) = &zephyr {
        for (k, e) in model.edges.iter().enumerate() {
            let (a, b) = (qubits[e.i] as usize, qubits[e.j] as usize);
            if !z.neighbours(a).is_some_and(|mut n| n.any(|x| x == b)) {
                bail!(
                    "{what}: `edges[{k}]` joins units {} and {} on qubits {a} and {b}, which no coupler of Z({}, {}) \
             connects",
                    e.i,
                    e.j,
                    z.m(),
                    z.t()
                );
            }
        }
    }
    Ok(())
}

/// The file layouts `qa export-ising` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum IsingFormat {
    /// `{"h": [[qubit, h]...], "J": [[a, b, J]...], "offset": ...}` for `from_ising`.
    #[default]
    Json,
    /// dimod's `BinaryQuadraticModel.to_serializable()`, for `from_serializable`.
    Dimod,
}

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

    #[test]
    fn working_graph_subset_or_named_error() {
        let model = ModelFile {
            partition: vec![0, 1, 2],
            bias: vec![0.3, -1.2, 0.7],
            edges: vec![Edge { i: 0, j: 1, w: 1.5 }, Edge { i: 1, j: 2, w: -0.4 }],
            qubits: Some(vec![10, 4, 7]),
            zephyr: None,
            description: String::new(),
        };
        let x = ising(&model, 1.0);
        let full =
            WorkingGraph::parse(br#"{"qubits": [4, 7, 10, 11], "couplers": [[10, 4], [4, 7], [7, 11]]}"#, "g").unwrap();
        full.check(&x, "g").unwrap();
        let nodes = WorkingGraph::parse(br#"{"nodes": [4, 10], "edges": [[4, 10]]}"#, "g.json").unwrap();
        let err = nodes.check(&x, "g.json").unwrap_err().to_string();
        assert!(
            err.contains("g.json") && err.contains("qubits not in the working graph: 7") && err.contains("(4, 7)"),
            "{err}"
        );
        let bad = WorkingGraph::parse(br#"{"qubits": [1], "couplers": [[1]]}"#, "w.json").unwrap_err().to_string();
        assert!(bad.contains("w.json") && bad.contains("couplers[0]"), "{bad}");
    }

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
