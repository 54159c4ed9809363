//! The prior: a 4-partite Boltzmann machine on a Zephyr graph, its parameters trainable burn
//! tensors on the graph's existing edges only; and its persistent chains, advanced by core's
//! block Gibbs kernel in-process (float by default, fixed point as an option).
//!
//! Unit `p N + k` is the k-th unit of colour class `p` of Z(m, t) (the first N in linear
//! order, as `model random --select first`); the graph is the smallest Z(m, 4) with N units
//! in every class. Exported as the interchange model file, the prior is ready for `sample`,
//! `validate`, `svd`, `acf` and `qa export-ising`.

use super::config::NegativeEngine;
use super::{values, vector};
use crate::model_file::{Built, ModelFile};
use crate::topology::{random_model, Selection};
use anyhow::{bail, Context, Result};
use burn::module::{Module, Param, ParamId};
use burn::tensor::{Device, Int, Tensor, TensorData};
use calo4p_core::arithmetic::{Arithmetic, Fixed, Float, Rule};
use calo4p_core::gibbs::{BlockGibbs, Chains, Clamp};
use calo4p_core::json::Edge;
use calo4p_core::qformat::RawWeight;
use calo4p_core::rng::Pcg32Lanes;
use calo4p_core::{LutSpec, QFormat};
use rand_core::RngCore;

/// The prior's graph: N units per partition on Z(m, t).
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// Units per partition.
    pub n: usize,
    /// Edges (i < j) in the order of the weight vector.
    pub edges: Vec<(usize, usize)>,
    /// Zephyr qubit of each unit.
    pub qubits: Vec<u32>,
    /// Z(m, t).
    pub zephyr: (usize, usize),
}

impl Graph {
    /// The smallest Z(m, 4) with `n` units in every colour class.
    pub fn zephyr(n: usize) -> Result<Graph> {
        for m in 1..=32 {
            if let Ok(g) = Graph::on(n, m, 4) {
                return Ok(g);
            }
        }
        bail!("no Zephyr graph Z(m, 4) with m <= 32 has {n} units per colour class")
    }

    /// `n` units per class of Z(m, t).
    pub fn on(n: usize, m: usize, t: usize) -> Result<Graph> {
        let file = random_model(m, t, n, 0, 0.0, Selection::First)?;
        Ok(Graph {
            n,
            edges: file.edges.iter().map(|e| (e.i, e.j)).collect(),
            qubits: file.qubits.context("random_model gives qubits")?,
            zephyr: (m, t),
        })
    }

    /// Units (4 N).
    pub fn units(&self) -> usize {
        4 * self.n
    }

    /// The interchange model with these parameters.
    pub fn model_file(&self, bias: &[f64], weight: &[f64], description: String) -> ModelFile {
        ModelFile {
            partition: (0..self.units()).map(|i| (i / self.n) as u8).collect(),
            bias: bias.to_vec(),
            edges: self.edges.iter().zip(weight).map(|(&(i, j), &w)| Edge { i, j, w }).collect(),
            qubits: Some(self.qubits.clone()),
            zephyr: Some((self.zephyr.0 as u32, self.zephyr.1 as u32)),
            description,
        }
    }

    /// Biases and weights (in graph order) of a model file meant for this graph; errors name
    /// `what` and say how the file differs.
    pub fn parameters_of(&self, file: &ModelFile, what: &str) -> Result<(Vec<f64>, Vec<f64>)> {
        let sizes = file.sizes();
        if sizes != vec![self.n; 4] {
            bail!(
                "{what}: the prior has partitions of {sizes:?} units ({} latent units); this model's latent has 4 x {} = {} units",
                file.num_units(),
                self.n,
                self.units()
            );
        }
        let slot: std::collections::HashMap<(usize, usize), usize> =
            self.edges.iter().enumerate().map(|(k, &e)| (e, k)).collect();
        let mut weight = vec![0.0; self.edges.len()];
        for (k, e) in file.edges.iter().enumerate() {
            let key = (e.i.min(e.j), e.i.max(e.j));
            let Some(&s) = slot.get(&key) else {
                bail!("{what}: edges[{k}] = ({}, {}) is not an edge of the prior's Zephyr graph", e.i, e.j);
            };
            weight[s] = e.w;
        }
        Ok((file.bias.clone(), weight))
    }
}

/// The graph's edge endpoints as index tensors (for gathering pair products).
#[derive(Clone, Debug)]
pub struct EdgeIndex {
    /// First endpoints.
    pub i: Tensor<1, Int>,
    /// Second endpoints.
    pub j: Tensor<1, Int>,
}

impl EdgeIndex {
    /// On `device`.
    pub fn new(graph: &Graph, device: &Device) -> Self {
        let e = graph.edges.len();
        let i: Vec<i64> = graph.edges.iter().map(|&(i, _)| i as i64).collect();
        let j: Vec<i64> = graph.edges.iter().map(|&(_, j)| j as i64).collect();
        EdgeIndex {
            i: Tensor::from_data(TensorData::new(i, [e]), device),
            j: Tensor::from_data(TensorData::new(j, [e]), device),
        }
    }
}

const PRIOR_BIAS_ID: u64 = 0x5052_494f_5242_4941;
const PRIOR_WEIGHT_ID: u64 = 0x5052_494f_5257_4549;

/// The Boltzmann machine's trainable parameters.
#[derive(Module, Debug)]
pub struct Prior {
    /// Biases b, one per unit.
    pub bias: Param<Tensor<1>>,
    /// Weights W, one per graph edge.
    pub weight: Param<Tensor<1>>,
}

impl Prior {
    /// From values.
    pub fn from_values(bias: &[f32], weight: &[f32], device: &Device) -> Self {
        // Fixed ids (the networks draw theirs from the seed), so records are reproducible.
        let mut bias = Param::from_tensor(vector(bias.to_vec(), device));
        bias.id = ParamId::from(PRIOR_BIAS_ID);
        let mut weight = Param::from_tensor(vector(weight.to_vec(), device));
        weight.id = ParamId::from(PRIOR_WEIGHT_ID);
        Prior { bias, weight }
    }

    /// All zero: the uniform distribution.
    pub fn zeros(graph: &Graph, device: &Device) -> Self {
        Prior::from_values(&vec![0.0; graph.units()], &vec![0.0; graph.edges.len()], device)
    }

    /// E(z) of each row of `z` `[B, 4 N]` (values in [0, 1] for relaxed samples): `[B]`.
    pub fn energy(&self, z: Tensor<2>, index: &EdgeIndex) -> Tensor<1> {
        let linear = z.clone().matmul(self.bias.val().unsqueeze_dim::<2>(1));
        let pairs = z.clone().select(1, index.i.clone()) * z.select(1, index.j.clone());
        let quadratic = pairs.matmul(self.weight.val().unsqueeze_dim::<2>(1));
        (linear + quadratic).squeeze_dim::<1>(1).neg()
    }

    /// (biases, weights) as f64.
    pub fn parameters(&self) -> (Vec<f64>, Vec<f64>) {
        let b = values(self.bias.val()).into_iter().map(f64::from).collect();
        let w = values(self.weight.val()).into_iter().map(f64::from).collect();
        (b, w)
    }

    /// The interchange model.
    pub fn model_file(&self, graph: &Graph, description: String) -> ModelFile {
        let (b, w) = self.parameters();
        graph.model_file(&b, &w, description)
    }
}

/// Chains of block Gibbs over a model, in core's unit-major layout (`state[i C + c]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ChainState {
    /// Unit-major states.
    pub state: Vec<u8>,
    /// Units per chain.
    pub units: usize,
    /// Chains.
    pub chains: usize,
}

impl ChainState {
    /// Uniformly random starts.
    pub fn random(units: usize, chains: usize, rng: &mut impl RngCore) -> Self {
        ChainState { state: (0..units * chains).map(|_| (rng.next_u32() >> 31) as u8).collect(), units, chains }
    }

    /// From rows (chain-major, one byte per unit).
    pub fn from_rows(rows: &[u8], units: usize) -> Self {
        let chains = rows.len() / units;
        let mut state = vec![0u8; rows.len()];
        for c in 0..chains {
            for i in 0..units {
                state[i * chains + c] = rows[c * units + i];
            }
        }
        ChainState { state, units, chains }
    }

    /// Rows, chain-major, one byte per unit.
    pub fn rows(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.state.len()];
        for c in 0..self.chains {
            for i in 0..self.units {
                out[c * self.units + i] = self.state[i * self.chains + c];
            }
        }
        out
    }

    /// Rows as f32 (for tensors).
    pub fn rows_f32(&self) -> Vec<f32> {
        self.rows().into_iter().map(f32::from).collect()
    }

    /// `sweeps` block Gibbs sweeps of `model` at inverse temperature `beta` with `engine`;
    /// units whose bit is set in `clamp` keep their values. Chain c draws from PCG32 stream
    /// c of `seed`. Returns the field saturations of a fixed-point engine.
    pub fn sweep(
        &mut self,
        model: &ModelFile,
        engine: NegativeEngine,
        beta: f64,
        sweeps: usize,
        seed: u64,
        clamp: Option<&[u32]>,
    ) -> Result<u64> {
        if model.num_units() != self.units {
            bail!("chains have {} units, the model {}", self.units, model.num_units());
        }
        match engine {
            NegativeEngine::Float => {
                let built = Built::float(model)?;
                let arith = Float::<f64>::new(beta, Rule::HeatBath)?;
                drive(&built, arith, self, sweeps, seed, clamp)
            }
            NegativeEngine::Float32 => {
                let built = Built::float32(model)?;
                let arith = Float::<f32>::new(beta, Rule::HeatBath)?;
                drive(&built, arith, self, sweeps, seed, clamp)
            }
            NegativeEngine::Fixed(format, bits) => match format.bits() {
                0..=8 => fixed::<i8>(model, format, bits, beta, self, sweeps, seed, clamp),
                9..=16 => fixed::<i16>(model, format, bits, beta, self, sweeps, seed, clamp),
                _ => fixed::<i32>(model, format, bits, beta, self, sweeps, seed, clamp),
            },
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn fixed<W: RawWeight>(
    model: &ModelFile,
    format: QFormat,
    bits: u32,
    beta: f64,
    chains: &mut ChainState,
    sweeps: usize,
    seed: u64,
    clamp: Option<&[u32]>,
) -> Result<u64> {
    let (built, _saturated) = Built::<W>::fixed(model, format, false)?;
    let lut = LutSpec { bits, index_frac_bits: format.frac_bits().min(12) };
    let mut table = vec![0u16; Fixed::<W>::table_len(format, lut, beta)];
    let arith = Fixed::<W>::new(format, lut, Rule::HeatBath, beta, &mut table)?;
    drive(&built, arith, chains, sweeps, seed, clamp)
}

fn drive<W, A>(
    built: &Built<W>,
    mut arith: A,
    chains: &mut ChainState,
    sweeps: usize,
    seed: u64,
    clamp: Option<&[u32]>,
) -> Result<u64>
where
    W: Copy + Default + calo4p_core::model::Weight,
    A: Arithmetic<Weight = W>,
{
    let m = built.model();
    let sampler = match clamp {
        Some(words) => BlockGibbs::new(m).with_clamp(Clamp::new(words)),
        None => BlockGibbs::new(m),
    };
    let (units, c) = (chains.units, chains.chains);
    let mut view = Chains::new(&mut chains.state, units, c)?;
    // PCG32 stream c of `seed` for chain c, held as structure-of-arrays lanes (the same
    // words as per-chain generators, drawn in one vector loop).
    let mut words = vec![0u64; 2 * c];
    let mut rngs = Pcg32Lanes::new(&mut words, seed, 0);
    let mut fields = vec![A::Field::default(); sampler.scratch_len(c)];
    let mut plan_words = vec![0i32; sampler.plans_len()];
    let plans = sampler.plans(&arith, c, &mut plan_words);
    for _ in 0..sweeps {
        sampler
            .sweep_with(&mut arith, &mut view, &mut rngs, &mut fields, &plans, &mut ())
            .context("block Gibbs sweep")?;
    }
    Ok(arith.saturations())
}

/// Clamp words with the units of `partition` 0 (the energy code) set.
pub fn clamp_partition0(graph: &Graph) -> Vec<u32> {
    let mut words = vec![0u32; Clamp::words(graph.units())];
    for i in 0..graph.n {
        words[i / 32] |= 1 << (i % 32);
    }
    words
}
