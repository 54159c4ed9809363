//! The two training schemes.
//!
//! - **Old**: every step advances the persistent chains of the current prior (core's block
//!   Gibbs), then minimises `reconstruction + hit + kl_weight (E_q[ln q] + <E>_q - <E>_model)`
//!   over encoder, decoder and prior jointly with Adam.
//! - **New**: stage 1 minimises `reconstruction + hit` over encoder and decoder (the prior
//!   untouched); stage 2 freezes them, encodes the training showers with hard samples once
//!   per epoch and trains the prior on the existing edges with the centred gradient
//!   ([`super::rbm`]) and Adam.
//!
//! Randomness comes from PCG32 streams keyed by (seed, purpose, step or epoch), so a run
//! resumed from a checkpoint draws what the uninterrupted run would; burn's flex backend is
//! single-threaded and deterministic, so resuming is bit-exact on the CPU.

use super::ais::{ln_z, nll, AisOptions};
use super::checkpoint::{Checkpoint, TrainState};
use super::conditioning::Conditioning;
use super::config::{NegativeEngine, Scheme, VaeConfig};
use super::dataset::{shuffled, Prepared};
use super::decoder::Decoder;
use super::encoder::Encoder;
use super::metrics::{self, EpochMetrics};
use super::prior::{ChainState, EdgeIndex, Graph, Prior};
use super::rbm::{centred_gradient, moments};
use super::relaxation::{binary_concrete, hard, logistic_noise, noise_tensor, temperature};
use super::{check_finite, loss, matrix, scalar, stream, values, vector, Purpose};
use crate::data::Showers;
use crate::model_file::ModelFile;
use crate::progress;
use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The whole model: encoder, decoder and the Boltzmann-machine prior.
#[derive(Module, Debug)]
pub struct Vae {
    /// Encoder.
    pub encoder: Encoder,
    /// Decoder.
    pub decoder: Decoder,
    /// Prior.
    pub prior: Prior,
}

impl Vae {
    /// A fresh model: networks from the config's seed, the prior all zero.
    pub fn new(config: &VaeConfig, graph: &Graph, device: &Device) -> Vae {
        let mut rng = stream(config.seed, Purpose::Init, 0);
        let n = config.latent_per_partition;
        Vae {
            encoder: Encoder::new(config.n_voxels, &config.hidden, n, &mut rng, device),
            decoder: Decoder::new(4 * n, &config.hidden, config.n_voxels, &mut rng, device),
            prior: Prior::zeros(graph, device),
        }
    }
}

/// A model with what it needs to run: configuration, graph, code, device.
pub struct Session {
    /// Configuration.
    pub config: VaeConfig,
    /// The prior's graph.
    pub graph: Graph,
    /// Edge endpoints on the device.
    pub index: EdgeIndex,
    /// The energy code.
    pub conditioning: Conditioning,
    /// Device (autodiff enabled).
    pub device: Device,
    /// The model.
    pub model: Vae,
}

impl Session {
    /// A fresh model for `config` on `device`.
    pub fn new(config: VaeConfig, device: &Device) -> Result<Session> {
        config.check()?;
        let graph = Graph::on(config.latent_per_partition, config.zephyr.0, config.zephyr.1)?;
        let device = device.clone().autodiff();
        let model = Vae::new(&config, &graph, &device);
        let conditioning = Conditioning {
            code: config.energy_code,
            bits: config.latent_per_partition,
            lo: config.energy_range.0,
            hi: config.energy_range.1,
        };
        Ok(Session { index: EdgeIndex::new(&graph, &device), graph, conditioning, config, device, model })
    }

    /// The model of a checkpoint.
    pub fn from_checkpoint(ck: &Checkpoint, device: &Device, what: &str) -> Result<Session> {
        let mut s = Session::new(ck.config.clone(), device)?;
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(ck.model.clone()))
            .map_err(|e| anyhow::anyhow!("{what}: module record: {e:?}"))?;
        s.model = s
            .model
            .try_load_record(record)
            .map_err(|e| anyhow::anyhow!("{what}: module record does not fit the configuration: {e:?}"))?;
        Ok(s)
    }

    /// The module record's bytes.
    pub fn model_bytes(&self) -> Result<Vec<u8>> {
        let bytes =
            self.model.clone().into_record().into_bytes().map_err(|e| anyhow::anyhow!("module record: {e:?}"))?;
        Ok(bytes.to_vec())
    }

    /// The prior as an interchange model.
    pub fn prior_file(&self) -> ModelFile {
        self.model.prior.model_file(
            &self.graph,
            format!(
                "Calo4pQVAE prior: 4 x {} units on zephyr_graph({},{}), partition 0 = incident-energy code ({:?}, {:.6e}..{:.6e} MeV), trained with the {:?} scheme on {}",
                self.graph.n,
                self.graph.zephyr.0,
                self.graph.zephyr.1,
                self.config.energy_code,
                self.config.energy_range.0,
                self.config.energy_range.1,
                self.config.scheme,
                self.config.geometry
            ),
        )
    }

    /// Hard-sample encodings (0/1 rows of 4 N units) of `data`, noise from `(Encode, index)`.
    pub fn encode_hard(&self, data: &Prepared, index: u64) -> Vec<u8> {
        self.encode_with_entropy(data, index).0
    }

    /// [`Session::encode_hard`] and the encoder's `E_q[ln q]` (summed over the 3 N encoded
    /// units, averaged over `data`) along the same hard samples.
    pub fn encode_with_entropy(&self, data: &Prepared, index: u64) -> (Vec<u8>, f64) {
        let model = self.model.valid();
        let device = self.device.clone().without_autodiff();
        let n = self.config.latent_per_partition;
        let mut rng = stream(self.config.seed, Purpose::Encode, index);
        let mut rows = Vec::with_capacity(data.len * 4 * n);
        let mut entropy = 0.0;
        let idx: Vec<usize> = (0..data.len).collect();
        for chunk in idx.chunks(512) {
            let b = data.batch(chunk, &device);
            let enc = model.encoder.forward(b.x, b.lne, b.z0, |_, l| {
                let noise = logistic_noise(&mut rng, chunk.len(), n);
                matrix(hard(&values(l), &noise), chunk.len(), n, &device)
            });
            for l in &enc.logits {
                entropy += chunk.len() as f64 * scalar(loss::negative_entropy(l.clone()));
            }
            let z = values(enc.latent());
            rows.extend(z.iter().map(|&v| (v > 0.5) as u8));
        }
        (rows, entropy / data.len.max(1) as f64)
    }

    /// Validation reconstruction and hit losses with hard samples.
    pub fn evaluate(&self, data: &Prepared, index: u64) -> (f64, f64) {
        let model = self.model.valid();
        let device = self.device.clone().without_autodiff();
        let n = self.config.latent_per_partition;
        let mut rng = stream(self.config.seed, Purpose::Encode, index);
        let (mut rec, mut hit) = (0.0, 0.0);
        let idx: Vec<usize> = (0..data.len).collect();
        for chunk in idx.chunks(512) {
            let b = data.batch(chunk, &device);
            let enc = model.encoder.forward(b.x.clone(), b.lne.clone(), b.z0, |_, l| {
                let noise = logistic_noise(&mut rng, chunk.len(), n);
                matrix(hard(&values(l), &noise), chunk.len(), n, &device)
            });
            let (h, u) = model.decoder.forward(enc.latent(), b.lne);
            let w = chunk.len() as f64;
            rec += w * scalar(loss::reconstruction(u, b.x));
            hit += w * scalar(loss::hit(h, b.hits));
        }
        (rec / data.len.max(1) as f64, hit / data.len.max(1) as f64)
    }
}

/// Everything a training run needs besides the model.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Output directory.
    pub dir: PathBuf,
    /// Continue from `dir`'s checkpoint.
    pub resume: bool,
    /// Show progress bars.
    pub progress: bool,
    /// AIS settings for the validation NLL of large latents.
    pub ais: AisOptions,
    /// Epochs over which the relaxation temperature anneals.
    pub anneal_epochs: usize,
}

/// A training run in progress.
pub struct Trainer {
    /// The model.
    pub session: Session,
    optim: ModuleOptimizer,
    prior_optim: ModuleOptimizer,
    /// Where training stands.
    pub state: TrainState,
    train: Prepared,
    val: Prepared,
    options: TrainOptions,
    engine: NegativeEngine,
    /// The prior at initialisation (the report's first SVD panel).
    initial_prior: ModelFile,
}

impl Trainer {
    /// Start (or, with `options.resume`, continue) training `config` on `train` / `val`.
    pub fn new(
        config: VaeConfig,
        train: &Showers,
        val: &Showers,
        device: &Device,
        options: TrainOptions,
    ) -> Result<Trainer> {
        config.check()?;
        if train.n_voxels != config.n_voxels || val.n_voxels != config.n_voxels {
            bail!(
                "showers have {} voxels, the model's geometry {} has {}",
                train.n_voxels,
                config.geometry,
                config.n_voxels
            );
        }
        if train.is_empty() || val.is_empty() {
            bail!("need training and validation showers ({} and {} given)", train.len(), val.len());
        }
        let engine = config.negative()?;
        let ck_path = super::checkpoint::path(&options.dir);
        let (session, optim, prior_optim, state) = if options.resume {
            let ck = Checkpoint::load(&options.dir)?;
            config.check_resumable(&ck.config, &ck_path.display().to_string())?;
            let mut ck = ck;
            ck.config = config.clone();
            let what = ck_path.display().to_string();
            let session = Session::from_checkpoint(&ck, device, &what)?;
            let optim = AdamConfig::new()
                .init()
                .from_bytes(Bytes::from_bytes_vec(ck.optim.clone()))
                .map_err(|e| anyhow::anyhow!("{what}: optimiser record: {e:?}"))?;
            let prior_optim = AdamConfig::new()
                .init()
                .from_bytes(Bytes::from_bytes_vec(ck.prior_optim.clone()))
                .map_err(|e| anyhow::anyhow!("{what}: prior optimiser record: {e:?}"))?;
            if ck.state.chains.len() != ck.state.chain_count * config.latent_units() {
                bail!(
                    "{what}: chain state has {} values, expected {}",
                    ck.state.chains.len(),
                    ck.state.chain_count * config.latent_units()
                );
            }
            (session, optim, prior_optim, ck.state)
        } else {
            if ck_path.exists() {
                bail!(
                    "{} already holds a checkpoint; continue it with --resume, or train into another --out",
                    options.dir.display()
                );
            }
            let session = Session::new(config.clone(), device)?;
            let mut rng = stream(config.seed, Purpose::ChainStart, 0);
            let chains = ChainState::random(config.latent_units(), config.chains, &mut rng);
            let state =
                TrainState { epoch: 0, step: 0, chains: chains.state, chain_count: config.chains, metrics: Vec::new() };
            (session, AdamConfig::new().init(), AdamConfig::new().init(), state)
        };
        std::fs::create_dir_all(&options.dir).with_context(|| format!("cannot create {}", options.dir.display()))?;
        let train = Prepared::new(train, &session.conditioning);
        let val = Prepared::new(val, &session.conditioning);
        let initial_prior = initial_prior(&config)?;
        Ok(Trainer { session, optim, prior_optim, state, train, val, options, engine, initial_prior })
    }

    fn steps_per_epoch(&self) -> usize {
        self.train.len.div_ceil(self.session.config.batch_size)
    }

    fn chains(&self) -> ChainState {
        ChainState {
            state: self.state.chains.clone(),
            units: self.session.config.latent_units(),
            chains: self.state.chain_count,
        }
    }

    /// Advance the persistent chains of the current prior by the configured sweeps.
    fn negative_phase(&mut self, file: &ModelFile) -> Result<ChainState> {
        let mut chains = self.chains();
        let c = &self.session.config;
        let seed = rand_core::RngCore::next_u64(&mut stream(c.seed, Purpose::Chains, self.state.step as u64));
        chains.sweep(file, self.engine, 1.0, c.sweeps_per_step, seed, None)?;
        self.state.chains = chains.state.clone();
        Ok(chains)
    }

    /// Run the remaining epochs; returns the metrics of all epochs.
    pub fn run(&mut self) -> Result<Vec<EpochMetrics>> {
        let total = self.session.config.total_epochs();
        while self.state.epoch < total {
            let epoch = self.state.epoch;
            let stage = match (self.session.config.scheme, epoch < self.session.config.epochs) {
                (Scheme::Old, _) => "joint",
                (Scheme::New, true) => "autoencoder",
                (Scheme::New, false) => "prior",
            };
            let t0 = Instant::now();
            let mut m = if stage == "prior" { self.prior_epoch(epoch)? } else { self.network_epoch(epoch, stage)? };
            m.seconds = t0.elapsed().as_secs_f64();
            self.validate(&mut m, epoch)?;
            self.state.epoch += 1;
            self.state.metrics.push(m);
            self.save()?;
        }
        Ok(self.state.metrics.clone())
    }

    fn validate(&self, m: &mut EpochMetrics, epoch: usize) -> Result<()> {
        let (rec, hit) = self.session.evaluate(&self.val, (1u64 << 32) | epoch as u64);
        m.val_reconstruction = rec;
        m.val_hit = hit;
        let file = self.session.prior_file();
        let rows = self.session.encode_hard(&self.val, (1u64 << 33) | epoch as u64);
        let z = ln_z(&file, &self.options.ais)?;
        m.ln_z = z.value;
        m.ln_z_error = z.error;
        m.ln_z_exact = z.exact;
        m.val_nll = check_finite(nll(&file, &rows, z.value), m.step, "validation NLL")?;
        Ok(())
    }

    /// Write the checkpoint, the metrics log and the report.
    fn save(&self) -> Result<()> {
        let ck = Checkpoint {
            config: self.session.config.clone(),
            state: self.state.clone(),
            model: self.session.model_bytes()?,
            optim: self.optim.into_bytes().map_err(|e| anyhow::anyhow!("optimiser record: {e:?}"))?.to_vec(),
            prior_optim: self
                .prior_optim
                .into_bytes()
                .map_err(|e| anyhow::anyhow!("optimiser record: {e:?}"))?
                .to_vec(),
        };
        ck.save(&self.options.dir)?;
        metrics::write_log(&self.options.dir, &self.state.metrics)?;
        metrics::write_report(
            &self.options.dir,
            &self.session.config,
            &self.state.metrics,
            &self.initial_prior,
            &self.session.prior_file(),
        )?;
        Ok(())
    }

    /// One optimisation step of the networks (and, `joint`, of the prior with the negative
    /// phase) on the training rows `batch` at temperature `tau`; returns the terms
    /// (reconstruction, hit, entropy, positive energy, negative energy, total) and the
    /// negative phase's seconds.
    fn network_step(&mut self, batch: &[usize], joint: bool, tau: f64) -> Result<([f64; 6], f64)> {
        let config = &self.session.config;
        let (n, seed, lr, kl) = (config.latent_per_partition, config.seed, config.learning_rate, config.kl_weight);
        let step = self.state.step;
        let device = self.session.device.clone();
        let mut neg_seconds = 0.0;
        let model_samples = if joint {
            let t = Instant::now();
            let file = self.session.prior_file();
            let chains = self.negative_phase(&file)?;
            neg_seconds += t.elapsed().as_secs_f64();
            Some(matrix(chains.rows_f32(), chains.chains, chains.units, &device))
        } else {
            None
        };
        let b = self.train.batch(batch, &device);
        let rows = batch.len();
        let mut rng = stream(seed, Purpose::Noise, step as u64);
        let model = &self.session.model;
        let enc = model.encoder.forward(b.x.clone(), b.lne.clone(), b.z0, |_, l| {
            let (_, noise) = noise_tensor(&mut rng, rows, n, &device);
            binary_concrete(l, noise, tau)
        });
        let z = enc.latent();
        let (hit_logits, u) = model.decoder.forward(z.clone(), b.lne);
        let rec = loss::reconstruction(u, b.x);
        let hit = loss::hit(hit_logits, b.hits);
        let ent =
            enc.logits.iter().cloned().map(loss::negative_entropy).reduce(|a, b| a + b).expect("three partitions");
        let mut total = rec.clone() + hit.clone();
        let mut terms = vec![("reconstruction", rec), ("hit", hit), ("entropy", ent.clone())];
        if let Some(samples) = model_samples {
            let pos = loss::positive_energy(&model.prior, &self.session.index, z);
            let neg = loss::negative_energy(&model.prior, &self.session.index, samples);
            total = total + (ent + pos.clone() + neg.clone()).mul_scalar(kl);
            terms.push(("positive energy", pos));
            terms.push(("negative energy", neg));
        }
        let mut out = [0.0f64; 6];
        for (k, (name, t)) in terms.iter().enumerate() {
            out[k] = check_finite(scalar(t.clone()), step, name)?;
        }
        out[5] = check_finite(scalar(total.clone()), step, "total loss")?;
        let grads = GradientsParams::from_grads(total.backward(), &self.session.model);
        self.session.model = self.optim.step(lr, self.session.model.clone(), grads);
        self.state.step += 1;
        Ok((out, neg_seconds))
    }

    /// Time `steps` network steps (joint: with the negative phase) on the first batches, and
    /// return (milliseconds per step, share of the negative phase). Changes the model.
    pub fn time_steps(&mut self, steps: usize, joint: bool) -> Result<(f64, f64)> {
        let b = self.session.config.batch_size.min(self.train.len);
        let idx: Vec<usize> = (0..b).collect();
        self.network_step(&idx, joint, 0.5)?; // warm-up
        let t = Instant::now();
        let mut neg = 0.0;
        for _ in 0..steps {
            neg += self.network_step(&idx, joint, 0.5)?.1;
        }
        let total = t.elapsed().as_secs_f64();
        Ok((1e3 * total / steps.max(1) as f64, neg / total.max(1e-12)))
    }

    fn network_epoch(&mut self, epoch: usize, stage: &str) -> Result<EpochMetrics> {
        let config = self.session.config.clone();
        let joint = stage == "joint";
        let order = shuffled(self.train.len, &mut stream(config.seed, Purpose::Shuffle, epoch as u64));
        let steps = self.steps_per_epoch();
        let anneal = (self.options.anneal_epochs.max(1) * steps) as f64;
        let bar =
            progress::bar(steps as u64, self.options.progress, &format!("epoch {} ({stage})", epoch + 1), "steps");
        let mut sums = [0.0f64; 6];
        let mut neg_seconds = 0.0;
        let mut tau = config.temperature.0;
        for batch in order.chunks(config.batch_size) {
            tau = temperature(config.temperature.0, config.temperature.1, self.state.step as f64 / anneal);
            let (terms, neg) = self.network_step(batch, joint, tau)?;
            sums.iter_mut().zip(terms).for_each(|(s, t)| *s += t);
            neg_seconds += neg;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let k = steps as f64;
        Ok(EpochMetrics {
            epoch: epoch + 1,
            stage: stage.to_string(),
            step: self.state.step,
            temperature: tau,
            loss: sums[5] / k,
            reconstruction: Some(sums[0] / k),
            hit: Some(sums[1] / k),
            entropy: Some(sums[2] / k),
            positive_energy: joint.then_some(sums[3] / k),
            negative_energy: joint.then_some(sums[4] / k),
            negative_phase_seconds: neg_seconds,
            ..EpochMetrics::default()
        })
    }

    fn prior_epoch(&mut self, epoch: usize) -> Result<EpochMetrics> {
        let config = self.session.config.clone();
        let units = config.latent_units();
        let edges = self.session.graph.edges.clone();
        // The encoder is frozen in this stage: its E_q[ln q] on the training showers is logged
        // as measured here, and changes between epochs only through the hard samples that
        // condition partitions 2 and 3.
        let (data, entropy) = self.session.encode_with_entropy(&self.train, epoch as u64);
        let order = shuffled(self.train.len, &mut stream(config.seed, Purpose::Shuffle, epoch as u64));
        let steps = self.steps_per_epoch();
        let bar = progress::bar(steps as u64, self.options.progress, &format!("epoch {} (prior)", epoch + 1), "steps");
        let (mut pos, mut neg, mut neg_seconds) = (0.0, 0.0, 0.0);
        let plain = self.session.device.clone().without_autodiff();
        for batch in order.chunks(config.batch_size) {
            let step = self.state.step;
            let rows: Vec<u8> = batch.iter().flat_map(|&i| data[i * units..(i + 1) * units].iter().copied()).collect();
            let file = self.session.prior_file();
            let t = Instant::now();
            let chains = self.negative_phase(&file)?;
            neg_seconds += t.elapsed().as_secs_f64();
            let model_rows = chains.rows();
            let dm = moments(&rows, units, &edges, None);
            let mm = moments(&model_rows, units, &edges, None);
            let g = centred_gradient(&dm, &mm, &edges);
            pos += check_finite(nll(&file, &rows, 0.0), step, "positive energy")?;
            neg -= check_finite(nll(&file, &model_rows, 0.0), step, "negative energy")?;
            for (name, v) in [("centred bias gradient", &g.db), ("centred weight gradient", &g.dw)] {
                if let Some(x) = v.iter().find(|x| !x.is_finite()) {
                    check_finite(*x, step, name)?;
                }
            }
            let mut grads = GradientsParams::new();
            let neg_f32 = |v: &[f64]| v.iter().map(|&x| -x as f32).collect::<Vec<f32>>();
            grads.register(self.session.model.prior.bias.id, vector(neg_f32(&g.db), &plain));
            grads.register(self.session.model.prior.weight.id, vector(neg_f32(&g.dw), &plain));
            let prior = std::mem::replace(&mut self.session.model.prior, Prior::zeros(&self.session.graph, &plain));
            self.session.model.prior = self.prior_optim.step(config.prior_learning_rate, prior, grads);
            self.state.step += 1;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let k = steps as f64;
        Ok(EpochMetrics {
            epoch: epoch + 1,
            stage: "prior".into(),
            step: self.state.step,
            temperature: temperature(config.temperature.0, config.temperature.1, 1.0),
            entropy: Some(entropy),
            positive_energy: Some(pos / k),
            negative_energy: Some(neg / k),
            negative_phase_seconds: neg_seconds,
            ..EpochMetrics::default()
        })
    }
}

/// The prior a run with `config` starts from (on the CPU; the same on every device).
pub fn initial_prior(config: &VaeConfig) -> Result<ModelFile> {
    Ok(Session::new(config.clone(), &Device::flex())?.prior_file())
}

/// The directory's metrics and model, for callers that trained through [`Trainer`].
pub fn load_session(dir: &Path, device: &Device) -> Result<Session> {
    let ck = Checkpoint::load(dir)?;
    Session::from_checkpoint(&ck, device, &super::checkpoint::path(dir).display().to_string())
}
