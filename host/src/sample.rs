//! Running block Gibbs chains on the host, with any engine, and collecting what they draw.
//!
//! One generic driver ([`drive`]) serves every arithmetic and generator; [`run`] picks them
//! from a [`SampleConfig`]. Samples are recorded after every sweep past the burn-in.

use crate::model_file::{Built, ModelFile, Quantisation};
use crate::report::progress_bar;
use crate::statistics::Statistics;
use anyhow::{bail, Context, Result};
use calo4p_core::arithmetic::{Arithmetic, Fixed, Float, Rule};
use calo4p_core::gibbs::{BlockGibbs, Chains, Clamp};
use calo4p_core::qformat::RawWeight;
use calo4p_core::rng::{self, Pcg32, Xoshiro128PlusPlus};
use calo4p_core::stats::{magnetisation, Moments};
use calo4p_core::{LutSpec, QFormat};
use rand_core::RngCore;

/// The arithmetic of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// f64 reference.
    Float,
    /// f32.
    Float32,
    /// Fixed point with an acceptance table.
    Fixed(FixedSettings),
}

/// Settings of the fixed-point engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedSettings {
    /// Weight and bias format.
    pub format: QFormat,
    /// Field register format (fractional bits equal the weights').
    pub field: QFormat,
    /// Acceptance table layout.
    pub lut: LutSpec,
    /// Refuse parameters outside the format instead of saturating them.
    pub strict: bool,
}

impl FixedSettings {
    /// `format` with a field register of the same width, an `r`-bit table indexed at the
    /// field's resolution up to 12 fractional bits.
    pub fn new(format: QFormat, lut_bits: u32) -> Self {
        Self {
            format,
            field: format,
            lut: LutSpec { bits: lut_bits, index_frac_bits: format.frac_bits().min(12) },
            strict: false,
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Float => f.write_str("float (f64)"),
            Engine::Float32 => f.write_str("float (f32)"),
            Engine::Fixed(s) => write!(
                f,
                "fixed {} (field {}, {}-bit table, index {} frac bits)",
                s.format, s.field, s.lut.bits, s.lut.index_frac_bits
            ),
        }
    }
}

/// The random generator of each chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RngKind {
    /// PCG32, one stream per chain.
    #[default]
    Pcg32,
    /// xoshiro128++, chains 2^64 draws apart (hardware-style).
    Xoshiro,
}

/// Where chains start.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Init {
    /// Each unit 0 or 1 with probability 1/2, from the chain's own generator.
    #[default]
    Random,
    /// Given rows (chain c starts from row c mod rows), one byte per unit.
    Rows(Vec<Vec<u8>>),
}

/// Everything a run needs besides the model.
#[derive(Clone, Debug)]
pub struct SampleConfig {
    /// Arithmetic.
    pub engine: Engine,
    /// Update rule.
    pub rule: Rule,
    /// Generator.
    pub rng: RngKind,
    /// Chains side by side.
    pub chains: usize,
    /// Recorded sweeps per chain.
    pub sweeps: usize,
    /// Sweeps discarded first.
    pub burn_in: usize,
    /// Seed of all chains.
    pub seed: u64,
    /// Inverse temperature.
    pub beta: f64,
    /// Units held at fixed values: (unit, value), applied to every chain.
    pub clamp: Vec<(usize, u8)>,
    /// Start states.
    pub init: Init,
    /// Keep every recorded sample (rows of units).
    pub keep_samples: bool,
    /// Keep the magnetisation of every chain after every sweep (burn-in included).
    pub keep_magnetisation: bool,
    /// Show a progress bar.
    pub progress: bool,
}

impl SampleConfig {
    /// A plain run: heat bath, PCG32, random starts.
    pub fn new(engine: Engine, chains: usize, sweeps: usize, burn_in: usize, seed: u64) -> Self {
        Self {
            engine,
            rule: Rule::HeatBath,
            rng: RngKind::Pcg32,
            chains,
            sweeps,
            burn_in,
            seed,
            beta: 1.0,
            clamp: Vec::new(),
            init: Init::Random,
            keep_samples: false,
            keep_magnetisation: false,
            progress: false,
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct SampleRun {
    /// Moments in file order.
    pub stats: Statistics,
    /// Recorded samples, `num_samples x units`, sweep-major then chain (when kept).
    pub samples: Vec<u8>,
    /// Magnetisation `[sweep][chain]` flattened (when kept), burn-in included.
    pub magnetisation: Vec<f64>,
    /// Fields that saturated the field register (fixed point only).
    pub saturations: u64,
    /// Parameters that saturated on quantisation (fixed point only).
    pub quantisation: Quantisation,
}

/// Run `config` on `model`.
pub fn run(model: &ModelFile, config: &SampleConfig) -> Result<SampleRun> {
    if config.chains == 0 || config.sweeps == 0 {
        bail!("need at least one chain and one sweep");
    }
    if !(config.beta.is_finite() && config.beta > 0.0) {
        bail!("--beta {} is not a finite positive number", config.beta);
    }
    for &(i, v) in &config.clamp {
        if i >= model.num_units() || v > 1 {
            bail!("clamp: unit {i} = {v} is not a unit of the model with a value 0 or 1");
        }
    }
    match config.engine {
        Engine::Float => with_rng(&Built::float(model)?, Float::<f64>::new(config.beta, config.rule)?, model, config),
        Engine::Float32 => {
            with_rng(&Built::float32(model)?, Float::<f32>::new(config.beta, config.rule)?, model, config)
        }
        Engine::Fixed(s) => match s.format.bits() {
            0..=8 => fixed::<i8>(model, config, s),
            9..=16 => fixed::<i16>(model, config, s),
            _ => fixed::<i32>(model, config, s),
        },
    }
}

fn fixed<W: RawWeight>(model: &ModelFile, config: &SampleConfig, s: FixedSettings) -> Result<SampleRun> {
    if s.field.frac_bits() != s.format.frac_bits() {
        bail!("field format {} must have the fractional bits of the weight format {}", s.field, s.format);
    }
    let (built, quantisation) = Built::<W>::fixed(model, s.format, s.strict)?;
    let mut table = vec![0u16; Fixed::<W>::table_len(s.field, s.lut, config.beta)];
    let arith = Fixed::<W>::new(s.field, s.lut, config.rule, config.beta, &mut table)?;
    let mut out = with_rng(&built, arith, model, config)?;
    out.quantisation = quantisation;
    Ok(out)
}

fn with_rng<W, A>(built: &Built<W>, arith: A, model: &ModelFile, config: &SampleConfig) -> Result<SampleRun>
where
    W: Copy + Default + calo4p_core::model::Weight,
    A: Arithmetic<Weight = W>,
{
    let c = config.chains;
    match config.rng {
        RngKind::Pcg32 => {
            let mut rngs = vec![Pcg32::new(0, 0); c];
            rng::chain_streams(config.seed, 0, &mut rngs);
            drive(built, arith, model, config, &mut rngs)
        }
        RngKind::Xoshiro => {
            let mut rngs = vec![Xoshiro128PlusPlus::from_u64(0); c];
            Xoshiro128PlusPlus::chain_streams(config.seed, 0, &mut rngs);
            drive(built, arith, model, config, &mut rngs)
        }
    }
}

/// Longest magnetisation record (chains x sweeps) kept for the effective sample size.
const MAX_ESS_SERIES: usize = 1 << 24;

/// Samples / τ_int of the magnetisation over the chain ensemble (Sokal's window), the
/// effective sample size `validate` uses for statistics files. `None` when the window does
/// not close within a quarter of the run, or the magnetisation never varies.
fn effective_samples(series: &[f64], chains: usize, sweeps: usize) -> Option<f64> {
    let max_lag = (sweeps / 4).clamp(1, 200);
    let acf = crate::validation::acf::ensemble_summary(series, chains, max_lag, 5.0).ok()?;
    (acf.window < max_lag && acf.tau_int.is_finite()).then(|| (chains * sweeps) as f64 / acf.tau_int.max(1.0))
}

/// The generic driver: sweeps, recording, statistics in file order.
pub fn drive<W, A, R>(
    built: &Built<W>,
    mut arith: A,
    model: &ModelFile,
    config: &SampleConfig,
    rngs: &mut [R],
) -> Result<SampleRun>
where
    W: Copy + Default + calo4p_core::model::Weight,
    A: Arithmetic<Weight = W>,
    R: RngCore,
{
    let m = built.model();
    let (n, c) = (m.num_units(), config.chains);
    let mut words = vec![0u32; Clamp::words(n)];
    for &(i, _) in &config.clamp {
        words[i / 32] |= 1 << (i % 32);
    }
    let sampler =
        if config.clamp.is_empty() { BlockGibbs::new(m) } else { BlockGibbs::new(m).with_clamp(Clamp::new(&words)) };
    let mut state = vec![0u8; n * c];
    let mut chains = Chains::new(&mut state, n, c)?;
    match &config.init {
        Init::Random => chains.randomise(rngs),
        Init::Rows(rows) => {
            if rows.is_empty() {
                bail!("no start states given");
            }
            for k in 0..c {
                let row = &rows[k % rows.len()];
                if row.len() != n {
                    bail!("start state {} has {} units, the model has {n}", k % rows.len(), row.len());
                }
                for (i, &z) in row.iter().enumerate() {
                    chains.set(i, k, z != 0);
                }
            }
        }
    }
    for k in 0..c {
        for &(i, v) in &config.clamp {
            chains.set(i, k, v == 1);
        }
    }
    let mut fields = vec![A::Field::default(); sampler.scratch_len(c)];
    let mut unit_ones = vec![0u64; n];
    let mut edge_ones = vec![0u64; m.num_slots()];
    let mut moments = Moments::new(&mut unit_ones, &mut edge_ones);
    let total = config.burn_in + config.sweeps;
    let bar = progress_bar(total as u64, config.progress, &format!("sampling {c} chains"), "sweeps");
    let mut samples = Vec::new();
    let mut mags = Vec::new();
    // Magnetisation after burn-in, for the effective sample size (bounded memory); taken
    // from the full record when that is kept anyway.
    let track_ess = c >= 2 && config.sweeps >= 8 && c * config.sweeps <= MAX_ESS_SERIES;
    let mut recorded = Vec::new();
    let mut row = vec![0u8; n];
    for t in 0..total {
        sampler.sweep(&mut arith, &mut chains, rngs, &mut fields).context("sweep")?;
        if config.keep_magnetisation {
            mags.extend((0..c).map(|k| magnetisation(&chains, k)));
        }
        if t >= config.burn_in {
            moments.record(&m, &chains);
            if track_ess && !config.keep_magnetisation {
                recorded.extend((0..c).map(|k| magnetisation(&chains, k)));
            }
            if config.keep_samples {
                for k in 0..c {
                    chains.row(k, &mut row);
                    samples.extend_from_slice(&row);
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let ess_series = if config.keep_magnetisation { &mags[config.burn_in * c..] } else { &recorded[..] };
    let stats = Statistics {
        mean: (0..n).map(|i| moments.mean(i)).collect(),
        edge_second_moment: model
            .edges
            .iter()
            .zip(&built.slot_of_edge)
            .map(|(e, &s)| (e.i, e.j, moments.edge_moment(s)))
            .collect(),
        energy_mean: Some(moments.energy().mean()),
        energy_variance: Some(moments.energy().variance()),
        num_samples: Some(moments.num_samples()),
        effective_samples: track_ess.then(|| effective_samples(ess_series, c, config.sweeps)).flatten(),
        ln_z: None,
        source: Some(format!("block Gibbs, {}, beta {}", config.engine, config.beta)),
    };
    Ok(SampleRun {
        stats,
        samples,
        magnetisation: mags,
        saturations: arith.saturations(),
        quantisation: Quantisation::default(),
    })
}
