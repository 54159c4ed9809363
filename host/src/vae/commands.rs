//! `calo4p train`, `calo4p prior export` and `calo4p generate`.

use super::ais::AisOptions;
use super::conditioning::EnergyCode;
use super::config::{Scheme, VaeConfig};
use super::dataset::split;
use super::generate::{generate, Energies, GenerateOptions, PriorEngine};
use super::prior::Graph;
use super::train::{load_session, TrainOptions, Trainer};
use super::DeviceKind;
use crate::data::{self, GeometryKind, Showers};
use anyhow::{bail, Context, Result};
use burn::tensor::Device;
use calo4p_core::QFormat;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `calo4p train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// CaloChallenge HDF5 file of training showers (the first --n-train, then --n-val held back).
    #[arg(long, conflicts_with = "synth", required_unless_present = "synth")]
    pub data: Option<PathBuf>,
    /// Train on built-in synthetic showers of this geometry instead.
    #[arg(long, value_enum)]
    pub synth: Option<GeometryKind>,
    /// Geometry of --data (default: from its voxel count).
    #[arg(long, value_enum)]
    pub geometry: Option<GeometryKind>,
    /// Training scheme.
    #[arg(long, value_enum, default_value_t)]
    pub scheme: Scheme,
    /// Latent units per partition (the latent has four partitions).
    #[arg(long, default_value_t = 16)]
    pub latent_per_partition: usize,
    /// Epochs of the autoencoder (new scheme) or of joint training (old scheme).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Epochs of the Boltzmann-machine stage (new scheme; default: --epochs).
    #[arg(long)]
    pub prior_epochs: Option<usize>,
    /// Output directory: checkpoint, metrics.jsonl, prior.json, report/.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the checkpoint in --out (same settings; --epochs may grow).
    #[arg(long)]
    pub resume: bool,
    /// Where to train (gpu needs a build with --features wgpu or cuda).
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Hidden widths of the encoder trunk, comma separated (the decoder mirrors them).
    #[arg(long, value_delimiter = ',', default_value = "256,128")]
    pub hidden: Vec<usize>,
    /// Showers per batch.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Adam learning rate of the networks.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Adam learning rate of the Boltzmann-machine stage.
    // 1e-3 is conservative. A divergence reported at 1e-2 (validation NLL 18 -> 81 nats) did
    // not reproduce on synthetic ds1-photons (4 x 5..16 units, 1..20 sweeps per step, up to
    // 30 epochs: the NLL fell at 1e-2, and further than at 1e-3); see the VAE section of
    // BENCHMARKS.md.
    #[arg(long, default_value_t = 1e-3)]
    pub prior_lr: f64,
    /// Training showers.
    #[arg(long, default_value_t = 10_000)]
    pub n_train: usize,
    /// Held-back validation showers.
    #[arg(long, default_value_t = 2_000)]
    pub n_val: usize,
    /// Seed of everything random.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Persistent chains of the negative phase.
    #[arg(long, default_value_t = 256)]
    pub chains: usize,
    /// Block Gibbs sweeps of the chains per step.
    #[arg(long, default_value_t = 20)]
    pub sweeps: usize,
    /// Negative-phase arithmetic: float32 (the vectorised f32 kernel), float (f64), or
    /// fixed[:Qm.n[:BITS]].
    #[arg(long, default_value = "float32")]
    pub negative_engine: String,
    /// Code of the incident energy in partition 0.
    #[arg(long, value_enum, default_value_t)]
    pub energy_code: EnergyCode,
    /// Relaxation temperature at the start.
    #[arg(long, default_value_t = 1.0)]
    pub temperature_start: f64,
    /// Relaxation temperature at the end of the annealing.
    #[arg(long, default_value_t = 0.1)]
    pub temperature_end: f64,
    /// Epochs over which the temperature anneals.
    #[arg(long, default_value_t = 5)]
    pub anneal_epochs: usize,
    /// Weight of the prior terms in the old scheme.
    #[arg(long, default_value_t = 1.0)]
    pub kl_weight: f64,
    /// Hide progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only time this many training steps of this configuration (first stage; the old scheme
    /// with its negative phase) and print milliseconds per step; nothing is written to --out.
    #[arg(long)]
    pub bench: Option<usize>,
}

/// Showers for training: a file or synthetic ones; (geometry, train, val).
pub fn training_showers(a: &TrainArgs) -> Result<(GeometryKind, Showers, Showers)> {
    let want = a.n_train + a.n_val;
    let (kind, showers) = match (&a.data, a.synth) {
        (Some(path), _) => {
            let kind = match a.geometry {
                Some(k) => k,
                None => {
                    let reader = data::hdf5::ShowerReader::open(path)?;
                    GeometryKind::from_voxel_count(reader.n_voxels()).with_context(|| {
                        format!(
                            "{}: {} voxels match no CaloChallenge geometry; give --geometry",
                            path.display(),
                            reader.n_voxels()
                        )
                    })?
                }
            };
            let reader = data::open_for_geometry(path, &kind.geometry())?;
            let count = want.min(reader.len());
            (kind, reader.read_rows(0, count)?)
        }
        (None, Some(kind)) => (kind, data::synth::generate(&kind.geometry(), want, a.seed)),
        (None, None) => bail!("give --data FILE or --synth GEOMETRY"),
    };
    let n = showers.len();
    if n < 2 {
        bail!("need at least two showers, have {n}");
    }
    let n_val = if n >= want { a.n_val } else { (n / 10).max(1) };
    let (train, val) = split(&showers, n - n_val, n_val);
    Ok((kind, train, val))
}

impl TrainArgs {
    /// The configuration these arguments ask for, given the showers.
    pub fn config(&self, kind: GeometryKind, train: &Showers, val: &Showers) -> Result<VaeConfig> {
        let graph = Graph::zephyr(self.latent_per_partition)?;
        Ok(VaeConfig {
            geometry: kind.name().to_string(),
            n_voxels: kind.geometry().n_voxels(),
            latent_per_partition: self.latent_per_partition,
            hidden: self.hidden.clone(),
            energy_code: self.energy_code,
            energy_range: VaeConfig::energy_range_for(train.incident_energies.iter().chain(&val.incident_energies)),
            zephyr: graph.zephyr,
            scheme: self.scheme,
            seed: self.seed,
            batch_size: self.batch_size,
            learning_rate: self.lr,
            prior_learning_rate: self.prior_lr,
            epochs: self.epochs,
            prior_epochs: match self.scheme {
                Scheme::Old => 0,
                Scheme::New => self.prior_epochs.unwrap_or(self.epochs),
            },
            temperature: (self.temperature_start, self.temperature_end),
            chains: self.chains,
            sweeps_per_step: self.sweeps,
            negative_engine: self.negative_engine.clone(),
            kl_weight: self.kl_weight,
            n_train: train.len(),
            n_val: val.len(),
        })
    }
}

/// Run `calo4p train`.
pub fn run_train(a: TrainArgs) -> Result<()> {
    let (kind, train, val) = training_showers(&a)?;
    let config = a.config(kind, &train, &val)?;
    let device = super::device(a.device)?;
    if let Some(steps) = a.bench {
        let dir = std::env::temp_dir().join(format!("calo4p-train-bench-{}", std::process::id()));
        let options = TrainOptions {
            dir: dir.clone(),
            resume: false,
            progress: false,
            ais: AisOptions::default(),
            anneal_epochs: 1,
        };
        let joint = config.scheme == Scheme::Old;
        let timed = Trainer::new(config, &train, &val, &device, options).and_then(|mut t| t.time_steps(steps, joint));
        let _ = std::fs::remove_dir_all(&dir);
        let (ms, share) = timed?;
        println!(
            "train step: {ms:.3} ms per step over {steps} steps, negative phase {:.1}% (scheme {:?})",
            100.0 * share,
            a.scheme
        );
        return Ok(());
    }
    let options = TrainOptions {
        dir: a.out.clone(),
        resume: a.resume,
        progress: !a.quiet,
        ais: AisOptions { seed: a.seed, ..AisOptions::default() },
        anneal_epochs: a.anneal_epochs,
    };
    let mut trainer = Trainer::new(config, &train, &val, &device, options)?;
    let metrics = trainer.run()?;
    let prior = trainer.session.prior_file();
    prior.save(&a.out.join("prior.json"))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&metrics)?);
    } else {
        println!(
            "{:>5} {:<12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}",
            "epoch", "stage", "loss", "recon", "hit", "E_q ln q", "E+", "E-", "val NLL", "s"
        );
        let o = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
        for m in &metrics {
            println!(
                "{:>5} {:<12} {:>10.4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10.4} {:>8.1}",
                m.epoch,
                m.stage,
                m.loss,
                o(m.reconstruction),
                o(m.hit),
                o(m.entropy),
                o(m.positive_energy),
                o(m.negative_energy),
                m.val_nll,
                m.seconds
            );
        }
        println!(
            "checkpoint {}, metrics {}, prior {}, report {}",
            super::checkpoint::path(&a.out).display(),
            a.out.join("metrics.jsonl").display(),
            a.out.join("prior.json").display(),
            a.out.join("report").join("index.html").display()
        );
    }
    Ok(())
}

/// `calo4p prior`.
#[derive(Args, Debug, Clone)]
pub struct PriorArgs {
    /// What to do with a trained prior.
    #[command(subcommand)]
    pub command: PriorCommand,
}

/// `calo4p prior` subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum PriorCommand {
    /// Write the trained prior as an interchange model (for sample, validate, svd, acf,
    /// qa export-ising).
    Export {
        /// Directory written by `calo4p train`.
        dir: PathBuf,
        /// Output model file.
        #[arg(long)]
        out: PathBuf,
        /// Round biases and weights to this fixed-point format (values stay real numbers).
        #[arg(long)]
        quantise: Option<QFormat>,
    },
}

/// Run `calo4p prior`.
pub fn run_prior(a: PriorArgs) -> Result<()> {
    match a.command {
        PriorCommand::Export { dir, out, quantise } => {
            let session = load_session(&dir, &Device::flex())?;
            let mut prior = session.prior_file();
            if let Some(q) = quantise {
                let (qp, report) = prior.quantised(q)?;
                if let Some(msg) = report.message(q) {
                    eprintln!("warning: {msg}");
                }
                prior = qp;
                prior.description.push_str(&format!(", quantised to {q}"));
            }
            prior.save(&out)?;
            println!("{}: {} units, {} edges", out.display(), prior.num_units(), prior.edges.len());
            Ok(())
        }
    }
}

/// `calo4p generate`.
#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Directory written by `calo4p train`.
    pub dir: PathBuf,
    /// Showers to generate.
    #[arg(long)]
    pub n: usize,
    /// Incident energies: LO:HI (MeV, log-uniform) or a file (HDF5 showers or numbers).
    #[arg(long)]
    pub energies: Option<String>,
    /// Latent source: float (f64), float32, fixed[:Qm.n[:BITS]], fpga-sim (the simulated accelerator of
    /// --hw), or samples:FILE (dimod SampleSet JSON, CSV or .npy, with partition 0 clamped to
    /// the energy code).
    #[arg(long, default_value = "float")]
    pub prior_engine: String,
    /// Use this prior file (same graph) instead of the trained prior.
    #[arg(long)]
    pub prior: Option<PathBuf>,
    /// Hardware of --prior-engine fpga-sim: a preset (as `calo4p fpga-sim --hw`) or a JSON
    /// file [default: bram-pipelined].
    #[arg(long)]
    pub hw: Option<String>,
    /// Block Gibbs sweeps per shower.
    #[arg(long, default_value_t = 200)]
    pub sweeps: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output HDF5 file (CaloChallenge layout).
    #[arg(long)]
    pub out: PathBuf,
}

/// Run `calo4p generate`.
pub fn run_generate(a: GenerateArgs) -> Result<()> {
    let engine: PriorEngine = a.prior_engine.parse().map_err(|e: String| anyhow::anyhow!("--prior-engine {e}"))?;
    let energies = a.energies.as_deref().map(Energies::parse).transpose()?;
    let options =
        GenerateOptions { n: a.n, energies, engine, sweeps: a.sweeps, seed: a.seed, prior: a.prior, hw: a.hw };
    let showers = generate(&a.dir, &options, &a.out)?;
    let mean_e: f64 = showers.incident_energies.iter().sum::<f64>() / showers.len() as f64;
    println!("{}: {} showers, mean incident energy {:.1} MeV", a.out.display(), showers.len(), mean_e);
    Ok(())
}
