//! Zephyr graphs and random Zephyr models for the command line.

use crate::model_file::ModelFile;
use anyhow::{Context, Result};
use calo4p_core::json::Edge;
use calo4p_core::zephyr::Zephyr;
use rand_core::RngCore;
use serde::Serialize;
use std::collections::HashMap;

/// The JSON that `calo4p zephyr` prints: the layout of `tests/fixtures/reference/zephyr/*.json`.
#[derive(Serialize)]
pub struct ZephyrJson {
    /// m.
    pub m: usize,
    /// t.
    pub t: usize,
    /// Node count.
    pub num_nodes: usize,
    /// Edge count.
    pub num_edges: usize,
    /// (u, w, k, j, z) per qubit.
    pub coords_uwkjz: Vec<[usize; 5]>,
    /// Colour per qubit.
    pub color: Vec<u8>,
    /// Sorted [a, b], a < b.
    pub edges: Vec<[usize; 2]>,
}

/// Describe Z(m, t). Refused, with the figure, when the description and its JSON text would
/// not fit in the machine's memory ([`zephyr_json_bytes`]).
pub fn zephyr_json(m: usize, t: usize) -> Result<ZephyrJson> {
    let z = Zephyr::new(m, t).map_err(anyhow::Error::msg).with_context(|| format!("Z({m}, {t})"))?;
    crate::memory::ensure(zephyr_json_bytes(&z), || {
        format!("Z({m}, {t}) as JSON ({} nodes, {} edges)", z.num_nodes(), z.num_edges())
    })?;
    let n = z.num_nodes();
    let coords_uwkjz = (0..n)
        .map(|q| {
            let c = z.coord(q).expect("q in range");
            [c.u, c.w, c.k, c.j, c.z]
        })
        .collect();
    let color = (0..n).map(|q| z.color(q).expect("q in range")).collect();
    let mut edges: Vec<[usize; 2]> = z.edges().map(|(a, b)| [a, b]).collect();
    edges.sort_unstable();
    Ok(ZephyrJson { m, t, num_nodes: n, num_edges: z.num_edges(), coords_uwkjz, color, edges })
}

/// Peak memory of [`zephyr_json`] and its JSON text: coordinates (5 words), colour and edges
/// (2 words) of every node and edge, and the text at twice its length (a growing string
/// copies itself). Text: about `d + 1` bytes per number of `d` digits.
pub fn zephyr_json_bytes(z: &Zephyr) -> crate::memory::Need {
    let (n, e) = (z.num_nodes(), z.num_edges());
    let digits = |x: usize| x.checked_ilog10().unwrap_or(0) as usize + 1;
    let node_text = 5 * (digits(2 * z.m() + 1) + 1) + 3 + 2;
    let edge_text = 2 * (digits(n) + 1) + 3;
    crate::memory::Need::default()
        .array::<[usize; 5]>(&[n])
        .array::<u8>(&[n])
        .array::<[usize; 2]>(&[e])
        .plus(crate::memory::Need::default().array::<u8>(&[n, node_text]).array::<u8>(&[e, edge_text]).times(2))
}

/// Which units of each colour class a model takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Selection {
    /// The first n of each class in linear order (as the reference models).
    #[default]
    First,
    /// The n of each class nearest the graph's centre.
    Central,
}

/// A standard normal deviate (Box-Muller) from 64 random bits per uniform.
pub fn normal(rng: &mut impl RngCore) -> f64 {
    let u = |rng: &mut dyn RngCore| ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let (u1, u2) = (u(rng), u(rng));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A 4-partite model on Z(m, t): `n` units per colour class, partition = colour, biases and
/// weights drawn from N(0, scale²) with PCG32 seeded by `seed`.
pub fn random_model(m: usize, t: usize, n: usize, seed: u64, scale: f64, selection: Selection) -> Result<ModelFile> {
    let z = Zephyr::new(m, t).map_err(anyhow::Error::msg)?;
    let mut qubits = vec![0u32; 4 * n];
    match selection {
        Selection::First => z.select_per_partition(n, &mut qubits),
        Selection::Central => z.select_central(n, &mut qubits),
    }
    .map_err(anyhow::Error::msg)
    .with_context(|| format!("choosing {n} units per partition on Z({m}, {t})"))?;
    let unit_of: HashMap<usize, usize> = qubits.iter().enumerate().map(|(i, &q)| (q as usize, i)).collect();
    let mut rng = rand_pcg::Pcg32::new(seed, 0);
    let bias: Vec<f64> = (0..4 * n).map(|_| scale * normal(&mut rng)).collect();
    let mut edges = Vec::new();
    for (i, &q) in qubits.iter().enumerate() {
        for nb in z.neighbours(q as usize).into_iter().flatten() {
            if let Some(&j) = unit_of.get(&nb) {
                if i < j {
                    edges.push(Edge { i, j, w: scale * normal(&mut rng) });
                }
            }
        }
    }
    Ok(ModelFile {
        partition: (0..4 * n).map(|i| (i / n) as u8).collect(),
        bias,
        edges,
        qubits: Some(qubits),
        zephyr: Some((m as u32, t as u32)),
        description: format!(
            "4-partite Boltzmann machine on zephyr_graph({m},{t}), {n} units per colour class ({selection:?} selection), \
             N(0,{scale}^2) weights and biases from PCG32 seed {seed}, binary units, E(z) = -b.z - sum_edges W_ij z_i z_j"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `zephyr --zephyr 2000,4` grew to 14.7 GB before it failed; a graph whose JSON does not
    /// fit in memory is refused with the figure, before anything is built.
    #[test]
    fn a_graph_beyond_memory_is_refused_with_its_size() {
        let err = zephyr_json(11_000, 4).err().expect("Z(11000, 4) is refused").to_string();
        assert!(err.starts_with("Z(11000, 4) as JSON (3872176000 nodes, 38719823976 edges): needs 3.0 TB"), "{err}");
        let z = Zephyr::new(6, 4).unwrap();
        let text = serde_json::to_string(&zephyr_json(6, 4).unwrap()).unwrap();
        let estimate = zephyr_json_bytes(&z).0;
        assert!(estimate > 2 * text.len() as u128 && estimate < 8 * text.len() as u128, "{estimate} vs {}", text.len());
    }

    #[test]
    fn random_model_is_a_zephyr_subgraph() {
        let m = random_model(1, 4, 7, 1, 1.0, Selection::First).unwrap();
        assert_eq!(m.num_units(), 28);
        assert_eq!(m.sizes(), vec![7; 4]);
        // The reference model on the same units has 70 edges.
        assert_eq!(m.edges.len(), 70);
        let again = random_model(1, 4, 7, 1, 1.0, Selection::First).unwrap();
        assert_eq!(m, again);
        let n = 200_000;
        let mut rng = rand_pcg::Pcg32::new(3, 0);
        let xs: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        // Standard errors: 1/sqrt(n) for the mean, sqrt(2/n) for the variance.
        assert!(mean.abs() < 5.0 / (n as f64).sqrt(), "{mean}");
        assert!((var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(), "{var}");
    }
}
