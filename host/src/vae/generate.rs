//! Showers from prior samples. The latent comes from
//! - core's block Gibbs kernel (float or fixed point) run on the prior with partition 0
//!   clamped to each shower's energy code;
//! - the simulated accelerator (`calo4p-fpga-sim`, a `--hw` preset or JSON file), the same
//!   clamp skipping those units, in the hardware's fixed-point format; or
//! - an annealer's sample set (dimod SampleSet JSON, CSV or `.npy`, through
//!   [`crate::samples`]) whose partition 0 was clamped to the code: each sample is decoded
//!   at the energy its partition 0 encodes, rows drawn in proportion to their weights.
//!
//! The decoder's hit probabilities are sampled, hit voxels take the decoded energy through the
//! inverse of `data::preprocess`, and the showers are written in the CaloChallenge layout.

use super::config::NegativeEngine;
use super::dataset::U_SCALE;
use super::prior::{clamp_partition0, ChainState};
use super::train::{load_session, Session};
use super::{matrix, stream, uniform_open, values, Purpose};
use crate::data::{self, preprocess, Showers};
use crate::fpga_sim::load_hw;
use crate::model_file::{Built, ModelFile};
use crate::samples::{self, ReadOptions};
use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::Device;
use calo4p_core::arithmetic::Fixed;
use calo4p_core::gibbs::Clamp;
use calo4p_core::json::Edge;
use calo4p_core::qformat::RawWeight;
use calo4p_fpga_sim::{Accelerator, Cycles, HwConfig, Layout};
use rand_core::RngCore;
use std::path::{Path, PathBuf};

/// Where the latent samples come from.
#[derive(Clone, Debug, PartialEq)]
pub enum PriorEngine {
    /// Block Gibbs, f64.
    Float,
    /// Block Gibbs, f32.
    Float32,
    /// Block Gibbs, fixed point (format, table bits).
    Fixed(calo4p_core::QFormat, u32),
    /// The simulated accelerator (`calo4p-fpga-sim`) with the hardware of
    /// [`GenerateOptions::hw`].
    FpgaSim,
    /// An annealer's sample file.
    Samples(PathBuf),
}

impl std::str::FromStr for PriorEngine {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if let Some(path) = s.strip_prefix("samples:") {
            return Ok(PriorEngine::Samples(PathBuf::from(path)));
        }
        match s {
            "fpga-sim" => Ok(PriorEngine::FpgaSim),
            _ => match s.parse::<NegativeEngine>() {
                Ok(NegativeEngine::Float) => Ok(PriorEngine::Float),
                Ok(NegativeEngine::Float32) => Ok(PriorEngine::Float32),
                Ok(NegativeEngine::Fixed(q, r)) => Ok(PriorEngine::Fixed(q, r)),
                Err(_) => Err(format!("{s:?}: expected float, float32, fixed[:Qm.n[:BITS]], fpga-sim or samples:FILE")),
            },
        }
    }
}

/// Incident energies of generated showers.
#[derive(Clone, Debug, PartialEq)]
pub enum Energies {
    /// Log-uniform in `lo..hi` MeV.
    Range(f64, f64),
    /// These values, in order, repeated as needed.
    Values(Vec<f64>),
}

impl Energies {
    /// `LO:HI` (MeV, log-uniform) or a file: HDF5 (its incident energies) or text numbers.
    pub fn parse(s: &str) -> Result<Energies> {
        let range = s.split_once(':').or_else(|| s.split_once(".."));
        if let Some((a, b)) = range {
            if let (Ok(lo), Ok(hi)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
                if !(lo > 0.0 && hi >= lo && hi.is_finite()) {
                    bail!("--energies {s}: need 0 < LO <= HI (MeV)");
                }
                return Ok(Energies::Range(lo, hi));
            }
        }
        let path = Path::new(s);
        let values = if matches!(path.extension().and_then(|e| e.to_str()), Some("h5" | "hdf5")) {
            data::hdf5::read(path)?.incident_energies
        } else {
            let text = crate::memory::read_text(path, crate::memory::MAX_JSON_INPUT, "--energies file")
                .with_context(|| format!("--energies {s}: neither LO:HI nor a readable text file"))?;
            text.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|t| !t.is_empty())
                .enumerate()
                .map(|(k, t)| t.parse::<f64>().with_context(|| format!("{s}: value {k} ({t:?}) is not a number")))
                .collect::<Result<Vec<f64>>>()?
        };
        if values.is_empty() {
            bail!("{s}: no energies");
        }
        if let Some((k, v)) = values.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
            bail!("{s}: energy {k} = {v} is not a positive number");
        }
        Ok(Energies::Values(values))
    }

    /// `n` energies.
    pub fn draw(&self, n: usize, rng: &mut impl RngCore) -> Vec<f64> {
        match self {
            Energies::Range(lo, hi) => (0..n).map(|_| lo * (hi / lo).powf(uniform_open(rng))).collect(),
            Energies::Values(v) => (0..n).map(|k| v[k % v.len()]).collect(),
        }
    }
}

/// One chain per energy: partition 0 holds the energy's code, the other units are uniformly
/// random (stream `(Generate, 0)` of `seed`).
fn starts(session: &Session, energies: &[f64], seed: u64) -> ChainState {
    let n = session.graph.n;
    let units = session.graph.units();
    let mut rng = stream(seed, Purpose::Generate, 0);
    let mut rows = vec![0u8; energies.len() * units];
    for (k, &e) in energies.iter().enumerate() {
        let row = &mut rows[k * units..(k + 1) * units];
        session.conditioning.encode(e, &mut row[..n]);
        for z in &mut row[n..] {
            *z = (rng.next_u32() >> 31) as u8;
        }
    }
    ChainState::from_rows(&rows, units)
}

/// Latent rows (0/1, `4 N` per row) from block Gibbs on `prior` with partition 0 clamped to
/// each energy's code; `sweeps` sweeps from random starts.
pub fn latent_from_gibbs(
    session: &Session,
    prior: &ModelFile,
    energies: &[f64],
    engine: NegativeEngine,
    sweeps: usize,
    seed: u64,
) -> Result<Vec<u8>> {
    let mut chains = starts(session, energies, seed);
    let clamp = clamp_partition0(&session.graph);
    chains.sweep(prior, engine, 1.0, sweeps, seed, Some(&clamp))?;
    Ok(chains.rows())
}

/// Latent rows as [`latent_from_gibbs`] makes them (same random starts), drawn by the
/// simulated accelerator `hw` in its fixed-point format with partition 0 clamped (the
/// accelerator skips clamped units); returns the rows and the cycles the sweeps took.
pub fn latent_from_fpga_sim(
    session: &Session,
    prior: &ModelFile,
    energies: &[f64],
    hw: &HwConfig,
    sweeps: usize,
    seed: u64,
) -> Result<(Vec<u8>, Cycles)> {
    let f = hw.formats().with_context(|| format!("--hw {}", hw.name))?;
    if f.weight.bits() <= 8 {
        fpga_sim_rows::<i8>(session, prior, energies, hw, sweeps, seed)
    } else {
        fpga_sim_rows::<i16>(session, prior, energies, hw, sweeps, seed)
    }
}

fn fpga_sim_rows<W: RawWeight>(
    session: &Session,
    prior: &ModelFile,
    energies: &[f64],
    hw: &HwConfig,
    sweeps: usize,
    seed: u64,
) -> Result<(Vec<u8>, Cycles)> {
    let f = hw.formats()?;
    let (built, _saturated) = Built::<W>::fixed(prior, f.weight, false)?;
    let words = clamp_partition0(&session.graph);
    let c = energies.len();
    let mut acc = Accelerator::new(hw, built.model(), Some(Clamp::new(&words)), c, 1.0, Layout::default())
        .with_context(|| format!("--hw {}: cannot run the prior", hw.name))?;
    let mut table = vec![0u16; acc.table_len()];
    let mut arith = Fixed::<W>::new(f.field, f.lut, f.rule, 1.0, &mut table)?;
    let mut rngs = acc.rngs(seed, c);
    let mut chains = starts(session, energies, seed);
    let mut cycles = Cycles::default();
    for _ in 0..sweeps {
        cycles += &acc.sweep(&mut arith, &mut chains.state, &mut rngs, &mut |_| {})?;
    }
    Ok((chains.rows(), cycles))
}

/// The prior without partition 0 (to tell a sample set that lacks it from other mismatches).
fn without_partition0(prior: &ModelFile, n: usize) -> ModelFile {
    ModelFile {
        partition: prior.partition[n..].iter().map(|p| p - 1).collect(),
        bias: prior.bias[n..].to_vec(),
        edges: prior
            .edges
            .iter()
            .filter(|e| e.i >= n && e.j >= n)
            .map(|e| Edge { i: e.i - n, j: e.j - n, w: e.w })
            .collect(),
        qubits: prior.qubits.as_ref().map(|q| q[n..].to_vec()),
        zephyr: prior.zephyr,
        description: String::new(),
    }
}

/// `count` latent rows and their energies from an annealer's sample file, rows drawn in
/// proportion to their weights.
pub fn latent_from_samples(
    session: &Session,
    prior: &ModelFile,
    path: &Path,
    count: usize,
    seed: u64,
) -> Result<(Vec<u8>, Vec<f64>)> {
    let n = session.graph.n;
    let imported = match samples::read(path, prior, &ReadOptions::default()) {
        Ok(i) => i,
        Err(e) => {
            if samples::read(path, &without_partition0(prior, n), &ReadOptions::default()).is_ok() {
                let qubits = prior.qubits.as_ref().map(|q| format!(" (qubits {:?})", &q[..n])).unwrap_or_default();
                bail!(
                    "{}: the samples cover partitions 1-3 only and lack partition 0, the {n} units of the incident-energy code{qubits}. \
                     generate decodes each sample at the energy its partition 0 encodes: run the annealer with those variables fixed \
                     to the code of the wanted energy and keep them in the sample set",
                    path.display()
                );
            }
            return Err(e.context(format!("{}: cannot use these samples of the prior", path.display())));
        }
    };
    let table = &imported.table;
    let total: f64 = table.weight.iter().sum();
    if table.num_rows() == 0 || total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        bail!("{}: no samples with positive weight", path.display());
    }
    let mut cumulative = Vec::with_capacity(table.num_rows());
    let mut acc = 0.0;
    for &w in &table.weight {
        acc += w;
        cumulative.push(acc);
    }
    let mut rng = stream(seed, Purpose::Generate, 1);
    let units = session.graph.units();
    let mut rows = vec![0u8; count * units];
    let mut energies = Vec::with_capacity(count);
    for k in 0..count {
        let u = uniform_open(&mut rng) * total;
        let r = cumulative.partition_point(|&c| c < u).min(table.num_rows() - 1);
        let row = &mut rows[k * units..(k + 1) * units];
        table.row(r, row);
        let e = session.conditioning.decode(&row[..n]).with_context(|| {
            format!("{}: sample {r}: partition 0 is not an energy code of this model", path.display())
        })?;
        energies.push(e);
    }
    Ok((rows, energies))
}

/// Decode latent rows at `energies` into showers (hits drawn from the decoder's
/// probabilities with `seed`).
pub fn decode(session: &Session, rows: &[u8], energies: &[f64], seed: u64) -> Showers {
    let model = session.model.valid();
    let device = session.device.clone().without_autodiff();
    let units = session.graph.units();
    let v = session.config.n_voxels;
    let mut rng = stream(seed, Purpose::Generate, 2);
    let mut showers = Showers::new(v);
    let mut voxels = vec![0.0f32; v];
    let mut u_row = vec![0.0f32; v];
    for (c, chunk) in energies.chunks(1024).enumerate() {
        let b = chunk.len();
        let start = c * 1024;
        let z: Vec<f32> = rows[start * units..(start + b) * units].iter().map(|&x| f32::from(x)).collect();
        let lne: Vec<f32> = chunk.iter().map(|&e| session.conditioning.log_energy_feature(e)).collect();
        let (h, u) = model.decoder.forward(matrix(z, b, units, &device), matrix(lne, b, 1, &device));
        let p = values(sigmoid(h));
        let u = values(u);
        for (k, &e) in chunk.iter().enumerate() {
            for j in 0..v {
                let hit = uniform_open(&mut rng) < f64::from(p[k * v + j]);
                u_row[j] = if hit { u[k * v + j] / U_SCALE } else { 0.0 };
            }
            preprocess::inverse_row(&u_row, e, &mut voxels);
            showers.push(e, &voxels);
        }
    }
    showers
}

/// What `generate` does besides the model directory.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Showers.
    pub n: usize,
    /// Incident energies (block Gibbs engines).
    pub energies: Option<Energies>,
    /// Latent source.
    pub engine: PriorEngine,
    /// Block Gibbs sweeps per shower.
    pub sweeps: usize,
    /// Seed.
    pub seed: u64,
    /// A prior file to use instead of the trained one (same graph).
    pub prior: Option<PathBuf>,
    /// Hardware of `fpga-sim`: a preset name or a JSON file (default: bram-pipelined).
    pub hw: Option<String>,
}

/// The hardware `--prior-engine fpga-sim` runs on without `--hw`.
pub const DEFAULT_HW: &str = "bram-pipelined";

fn draw_energies(options: &GenerateOptions) -> Result<Vec<f64>> {
    let e = options
        .energies
        .as_ref()
        .context("--energies LO:HI|FILE is needed with --prior-engine float, fixed or fpga-sim")?;
    Ok(e.draw(options.n, &mut stream(options.seed, Purpose::Generate, 3)))
}

/// Showers from the model in `dir`.
pub fn generate_from(session: &Session, options: &GenerateOptions) -> Result<Showers> {
    if options.n == 0 {
        bail!("--n must be positive");
    }
    if options.hw.is_some() && options.engine != PriorEngine::FpgaSim {
        bail!("--hw applies to --prior-engine fpga-sim only");
    }
    let prior = match &options.prior {
        Some(p) => {
            let f = ModelFile::load(p)?;
            session.graph.parameters_of(&f, &format!("prior file {}", p.display()))?;
            f
        }
        None => session.prior_file(),
    };
    let (rows, energies) = match &options.engine {
        PriorEngine::Samples(path) => {
            if options.energies.is_some() {
                bail!("--energies does not apply to samples:FILE: each sample's energy is the one its partition 0 encodes");
            }
            latent_from_samples(session, &prior, path, options.n, options.seed)?
        }
        PriorEngine::FpgaSim => {
            let hw = load_hw(options.hw.as_deref().unwrap_or(DEFAULT_HW))?;
            let energies = draw_energies(options)?;
            (latent_from_fpga_sim(session, &prior, &energies, &hw, options.sweeps, options.seed)?.0, energies)
        }
        engine => {
            let energies = draw_energies(options)?;
            let engine = match engine {
                PriorEngine::Fixed(q, r) => NegativeEngine::Fixed(*q, *r),
                PriorEngine::Float32 => NegativeEngine::Float32,
                _ => NegativeEngine::Float,
            };
            (latent_from_gibbs(session, &prior, &energies, engine, options.sweeps, options.seed)?, energies)
        }
    };
    Ok(decode(session, &rows, &energies, options.seed))
}

/// `calo4p generate`: showers from the model in `dir` into `out` (CaloChallenge HDF5).
pub fn generate(dir: &Path, options: &GenerateOptions, out: &Path) -> Result<Showers> {
    let session = load_session(dir, &Device::flex())?;
    let showers = generate_from(&session, options)?;
    data::hdf5::write(out, &showers, &data::hdf5::WriteOptions::default())?;
    Ok(showers)
}
