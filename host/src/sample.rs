//! Running block Gibbs chains on the host, with any engine, and collecting what they draw.
//!
//! One generic driver ([`drive`]) serves every arithmetic and generator; [`run`] picks them
//! from a [`SampleConfig`]. Samples are recorded after every sweep past the burn-in.
//!
//! **Threads.** Chains are cut into blocks of [`block_size`] (the last one shorter); each block
//! runs all its sweeps on its own (its own state, fields, table and generators, stream `c`
//! still being chain `c`'s), and rayon spreads blocks over `threads` workers. Blocks are
//! merged in block order, so a seed gives the same result whatever the thread count.
//!
//! **Instruction set.** Every compiled path of the kernel gives the same samples, so by
//! default ([`IsaChoice::Fastest`]) each block times its first sweeps on AVX2 and AVX-512 in
//! turn and keeps the faster: the instruction set alone does not tell (on a Zen 4, AVX2 runs
//! Z(6,4) 5-17% faster, the gap depending on the generator).
//!
//! **Memory.** [`run`] estimates what a run holds (per-block results, kept samples and
//! magnetisations) and refuses one that exceeds the machine's memory ([`crate::memory`]).
//! Samples written to a file ([`SampleConfig::samples_out`]) are not held: each block writes
//! the rows of each sweep at their place in the `.npy` file, whose header carries the final
//! shape from the start, so memory does not grow with the number of sweeps.

use crate::memory::{self, Need};
use crate::model_file::{Built, ModelFile, Quantisation};
use crate::progress;
use crate::statistics::Statistics;
use anyhow::{bail, Context, Result};
use calo4p_core::arithmetic::{Arithmetic, Fixed, Float, Rule};
use calo4p_core::gibbs::{BlockGibbs, Chains, Clamp, Isa};
use calo4p_core::qformat::RawWeight;
use calo4p_core::rng::{Pcg32Lanes, Streams, XoshiroLanes};
use calo4p_core::stats::{magnetisations, Moments, Tracker, Welford};
use calo4p_core::{LutSpec, QFormat};
use rayon::prelude::*;
use std::path::PathBuf;

/// Chains per block, the unit of work of one thread: a function of the chain count alone, so
/// that results do not depend on the thread count. A quarter of the chains (at least four
/// blocks to share), rounded up to 64 and between 64 and 256: longer rows amortise the
/// per-row work of a sweep, and 256 chains of the 1208-unit model (state, fields) still fit
/// in L2 (measured: 256 chains per block need 25% less time than 64).
pub fn block_size(chains: usize) -> usize {
    chains.div_ceil(4).next_multiple_of(64).clamp(64, 256)
}

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
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
    /// Keep every recorded sample (rows of units) in [`SampleRun::samples`].
    pub keep_samples: bool,
    /// Write every recorded sample to this `.npy` file (uint8, `samples x units`, sweep-major
    /// then chain) as it is drawn, through [`crate::atomic`]; `-` is standard output. A
    /// regular file is written in place sweep by sweep; standard output, a pipe or a device
    /// takes the rows in order, so they are held until the run ends (and counted in the
    /// memory estimate).
    pub samples_out: Option<PathBuf>,
    /// Keep the magnetisation of every chain after every sweep (burn-in included).
    pub keep_magnetisation: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Worker threads (0: all available cores). The result does not depend on it.
    pub threads: usize,
    /// The instruction set the sweeps run. The result does not depend on it.
    pub isa: IsaChoice,
}

/// Which compiled path of the kernel runs the sweeps: every one gives the same samples, bit
/// for bit, so the choice is one of speed only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsaChoice {
    /// Time the first sweeps of every block on each vector path the processor has (AVX2,
    /// AVX-512), alternating, and keep the fastest. Which is faster depends on the processor,
    /// not only on its instruction set: on a Zen 4 AVX2 runs Z(6,4) 5-17% faster.
    Fastest,
    /// This path (an error where the processor lacks it).
    Only(Isa),
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
            samples_out: None,
            keep_magnetisation: false,
            progress: false,
            threads: 0,
            isa: IsaChoice::Fastest,
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct SampleRun {
    /// Moments in file order.
    pub stats: Statistics,
    /// Recorded samples, `num_samples x units`, sweep-major then chain (when kept; not when
    /// written to [`SampleConfig::samples_out`] in place).
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
    if config.burn_in.checked_add(config.sweeps).is_none() {
        bail!("--burn-in {} plus --sweeps {} is more sweeps than can be counted", config.burn_in, config.sweeps);
    }
    let Some(path) = &config.samples_out else { return run_to(model, config, None) };
    let n = model.num_units();
    let rows = config.chains.checked_mul(config.sweeps).filter(|r| r.checked_mul(n.max(1)).is_some());
    let Some(rows) = rows else {
        bail!(
            "{}: {} chains x {} sweeps of {n} units is more samples than can be counted",
            path.display(),
            config.chains,
            config.sweeps
        );
    };
    let mut out = None;
    crate::atomic::write_with(path, |file| {
        let writer = crate::npy::U8Writer::new(file, rows, n)?;
        if writer.in_place() {
            let run = run_to(model, config, Some(&writer))?;
            writer.finish()?;
            out = Some(run);
        } else {
            let mut run = run_to(model, &SampleConfig { keep_samples: true, ..config.clone() }, None)?;
            writer.write_rows(0, &run.samples)?;
            writer.finish()?;
            if !config.keep_samples {
                run.samples = Vec::new();
            }
            out = Some(run);
        }
        Ok(())
    })?;
    Ok(out.expect("a successful write ran the sampler"))
}

/// [`run`], writing the recorded samples into `sink` when one is given.
fn run_to(model: &ModelFile, config: &SampleConfig, sink: Option<&crate::npy::U8Writer<'_>>) -> Result<SampleRun> {
    if !(config.beta.is_finite() && config.beta > 0.0) {
        bail!("--beta {} is not a finite positive number", config.beta);
    }
    for &(i, v) in &config.clamp {
        if i >= model.num_units() || v > 1 {
            bail!("clamp: unit {i} = {v} is not a unit of the model with a value 0 or 1");
        }
    }
    match config.engine {
        Engine::Float => {
            let arith = Float::<f64>::new(config.beta, config.rule)?;
            let built = Built::float(model)?;
            drive(&built, model, config, sink.is_some(), |block| run_block(&built, arith, config, sink, block))
        }
        Engine::Float32 => {
            let arith = Float::<f32>::new(config.beta, config.rule)?;
            let built = Built::float32(model)?;
            drive(&built, model, config, sink.is_some(), |block| run_block(&built, arith, config, sink, block))
        }
        Engine::Fixed(s) => match s.format.bits() {
            0..=8 => fixed::<i8>(model, config, s, sink),
            9..=16 => fixed::<i16>(model, config, s, sink),
            _ => fixed::<i32>(model, config, s, sink),
        },
    }
}

fn fixed<W: RawWeight>(
    model: &ModelFile,
    config: &SampleConfig,
    s: FixedSettings,
    sink: Option<&crate::npy::U8Writer<'_>>,
) -> Result<SampleRun> {
    if s.field.frac_bits() != s.format.frac_bits() {
        bail!("field format {} must have the fractional bits of the weight format {}", s.field, s.format);
    }
    let (built, quantisation) = Built::<W>::fixed(model, s.format, s.strict)?;
    let len = Fixed::<W>::table_len(s.field, s.lut, config.beta);
    // Fail early, on the caller's thread, when the table cannot be built.
    Fixed::<W>::new(s.field, s.lut, config.rule, config.beta, &mut vec![0u16; len])?;
    let mut out = drive(&built, model, config, sink.is_some(), |block| {
        let (mut table, mut wide) = (vec![0u16; len], vec![0u32; len]);
        let arith = Fixed::<W>::new(s.field, s.lut, config.rule, config.beta, &mut table)?.with_wide_table(&mut wide);
        run_block(&built, arith, config, sink, block)
    })?;
    out.quantisation = quantisation;
    Ok(out)
}

/// What one block of chains produced.
struct BlockRun {
    chains: usize,
    unit_ones: Vec<u64>,
    edge_ones: Vec<u64>,
    samples: u64,
    energy: Welford,
    /// `[recorded sweep][chain][unit]` when kept.
    rows: Vec<u8>,
    /// `[sweep][chain]`, burn-in included, when kept.
    mags: Vec<f64>,
    /// `[recorded sweep][chain]` for the effective sample size.
    recorded: Vec<f64>,
    saturations: u64,
}

/// Longest magnetisation record (chains x sweeps) kept for the effective sample size.
const MAX_ESS_SERIES: usize = 1 << 24;

/// Samples / τ_int of the magnetisation over the chain ensemble (Sokal's window), the
/// effective sample size `validate` uses for statistics files. `None` when the window does
/// not close within a quarter of the run, or the magnetisation never varies.
fn effective_samples(series: &[f64], chains: usize, sweeps: usize) -> Option<f64> {
    let max_lag = (sweeps / 4).clamp(1, 200);
    let acf = crate::autocorrelation::ensemble_summary(series, chains, max_lag, 5.0).ok()?;
    (acf.window < max_lag && acf.tau_int.is_finite()).then(|| (chains * sweeps) as f64 / acf.tau_int.max(1.0))
}

/// Worker threads for `threads` (0: all available cores).
pub fn thread_count(threads: usize) -> usize {
    if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// One block of chains (`block` = first chain .. end), all sweeps, with the generators of
/// those chains as structure-of-arrays banks.
fn run_block<W, A>(
    built: &Built<W>,
    arith: A,
    config: &SampleConfig,
    sink: Option<&crate::npy::U8Writer<'_>>,
    block: std::ops::Range<usize>,
) -> Result<BlockRun>
where
    W: Copy + Default + calo4p_core::model::Weight,
    A: Arithmetic<Weight = W>,
{
    let c = block.len();
    match config.rng {
        RngKind::Pcg32 => {
            let mut words = vec![0u64; 2 * c];
            let mut bank = Pcg32Lanes::new(&mut words, config.seed, block.start as u64);
            sweep_block(built, arith, config, sink, block, &mut bank)
        }
        RngKind::Xoshiro => {
            let mut words = vec![0u32; 4 * c];
            let mut bank = XoshiroLanes::new(&mut words, config.seed, block.start as u64);
            sweep_block(built, arith, config, sink, block, &mut bank)
        }
    }
}

fn sweep_block<W, A, S>(
    built: &Built<W>,
    mut arith: A,
    config: &SampleConfig,
    sink: Option<&crate::npy::U8Writer<'_>>,
    block: std::ops::Range<usize>,
    streams: &mut S,
) -> Result<BlockRun>
where
    W: Copy + Default + calo4p_core::model::Weight,
    A: Arithmetic<Weight = W>,
    S: Streams,
{
    let m = built.model();
    let (n, c) = (m.num_units(), block.len());
    let mut words = vec![0u32; Clamp::words(n)];
    for &(i, _) in &config.clamp {
        words[i / 32] |= 1 << (i % 32);
    }
    let base =
        if config.clamp.is_empty() { BlockGibbs::new(m) } else { BlockGibbs::new(m).with_clamp(Clamp::new(&words)) };
    let samplers: Vec<BlockGibbs<'_, W>> = match config.isa {
        IsaChoice::Only(isa) => {
            let name = match isa {
                Isa::Portable => "portable",
                Isa::Avx2 => "AVX2",
                Isa::Avx512 => "AVX-512",
            };
            vec![base.with_isa(isa).with_context(|| format!("--isa: this processor has no {name} instructions"))?]
        }
        IsaChoice::Fastest => {
            let vector: Vec<_> = [Isa::Avx2, Isa::Avx512].into_iter().filter_map(|isa| base.with_isa(isa)).collect();
            if vector.is_empty() {
                vec![base]
            } else {
                vector
            }
        }
    };
    let sampler = &samplers[0];
    let mut state = vec![0u8; n * c];
    let mut chains = Chains::new(&mut state, n, c)?;
    match &config.init {
        Init::Random => chains.randomise_streams(streams),
        Init::Rows(rows) => {
            for (k, g) in block.clone().enumerate() {
                let row = &rows[g % rows.len()];
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
    let mut packed = vec![0u64; Moments::packed_len(n)];
    let mut moments = Moments::new(&mut unit_ones, &mut edge_ones, &mut packed);
    let total = config.burn_in + config.sweeps;
    let track_ess = track_ess(config);
    // The records' full lengths up front (their memory is already counted): grown sweep by
    // sweep, each reallocation zeroed fresh pages and copied the record so far.
    let (mut rows, mut mags, mut recorded) = (Vec::new(), Vec::new(), Vec::new());
    if config.keep_magnetisation {
        mags.reserve_exact(c * total);
    } else if track_ess {
        recorded.reserve_exact(c * config.sweeps);
    }
    let mut mag = vec![0.0; c];
    let mut row = vec![0u8; n];
    // Recorded sweeps of exact (fixed-point) arithmetic carry every chain's energy and
    // count of ones through the kernel's fields instead of summing them over the edges.
    let (mut energy, mut ones) = (vec![0i32; c], vec![0i32; c]);
    let mut tracker: Option<Tracker<'_>> = None;
    let exact = arith.exact_field(A::Field::default()).is_some();
    // The gather kernels' plans, built once instead of every sweep.
    let mut plan_words = vec![0i32; sampler.plans_len()];
    let plans = sampler.plans(&arith, c, &mut plan_words);
    let mut tuner = Tuner::new(samplers.len(), total);
    for t in 0..total {
        let after_burn_in = t >= config.burn_in;
        if exact && t == config.burn_in {
            tracker = Tracker::new(&m, &chains, &mut energy, &mut ones);
        }
        let (sampler, started) = (&samplers[tuner.pick(t)], std::time::Instant::now());
        match tracker.as_mut() {
            Some(tally) => sampler.sweep_with(&mut arith, &mut chains, streams, &mut fields, &plans, tally),
            None => sampler.sweep_with(&mut arith, &mut chains, streams, &mut fields, &plans, &mut ()),
        }
        .context("sweep")?;
        tuner.timed(t, started.elapsed());
        if config.keep_magnetisation || (after_burn_in && track_ess) {
            match &tracker {
                Some(tracker) => tracker.magnetisations(n, &mut mag),
                None => magnetisations(&chains, &mut mag),
            }
        }
        if config.keep_magnetisation {
            mags.extend_from_slice(&mag);
        }
        if after_burn_in {
            match &tracker {
                Some(tracker) => moments.record_tracked(&m, &chains, tracker),
                None => moments.record(&m, &chains),
            }
            if track_ess && !config.keep_magnetisation {
                recorded.extend_from_slice(&mag);
            }
            if config.keep_samples || sink.is_some() {
                let at = rows.len();
                for k in 0..c {
                    chains.row(k, &mut row);
                    rows.extend_from_slice(&row);
                }
                if let Some(sink) = sink {
                    // Recorded sweep r of chain g is row r * chains + g of the file.
                    let r = t - config.burn_in;
                    sink.write_rows(r * config.chains + block.start, &rows[at..])?;
                    rows.truncate(at);
                }
            }
        }
    }
    let (samples, energy) = (moments.num_samples(), moments.energy());
    Ok(BlockRun {
        chains: c,
        unit_ones,
        edge_ones,
        samples,
        energy,
        rows,
        mags,
        recorded,
        saturations: arith.saturations(),
    })
}

/// [`IsaChoice::Fastest`] for one block: the first sweeps go round the candidate paths
/// [`Tuner::ROUNDS`] times, each keeping its fastest sweep, and the rest run on the fastest
/// path. With one candidate, or too few sweeps to time, the first candidate runs throughout.
struct Tuner {
    best: Vec<std::time::Duration>,
    /// Sweeps spent timing.
    trial: usize,
    chosen: usize,
}

impl Tuner {
    /// Times each candidate is timed (the first sweep of a block also warms its caches).
    const ROUNDS: usize = 2;

    fn new(candidates: usize, sweeps: usize) -> Self {
        let trial =
            if candidates > 1 && sweeps >= 4 * Self::ROUNDS * candidates { Self::ROUNDS * candidates } else { 0 };
        Self { best: vec![std::time::Duration::MAX; candidates], trial, chosen: 0 }
    }

    /// The candidate that runs sweep `t`.
    fn pick(&self, t: usize) -> usize {
        if t < self.trial {
            t % self.best.len()
        } else {
            self.chosen
        }
    }

    /// Sweep `t` took `took`.
    fn timed(&mut self, t: usize, took: std::time::Duration) {
        if t < self.trial {
            let k = t % self.best.len();
            self.best[k] = self.best[k].min(took);
            if t + 1 == self.trial {
                self.chosen = (0..self.best.len()).min_by_key(|&k| self.best[k]).unwrap_or(0);
            }
        }
    }
}

fn track_ess(config: &SampleConfig) -> bool {
    config.chains >= 2 && config.sweeps >= 8 && config.chains.saturating_mul(config.sweeps) <= MAX_ESS_SERIES
}

/// What a run holds at its peak, in bytes: every block's counts until the merge, the kept
/// records (each twice: per block, then interleaved), and the working storage of the blocks
/// that run at once. `streamed`: the samples go to a file in place and are not held.
fn memory_need(units: usize, slots: usize, config: &SampleConfig, streamed: bool) -> Need {
    let (n, c) = (units, config.chains);
    let total = config.burn_in.saturating_add(config.sweeps);
    let blocks = c.div_ceil(block_size(c));
    let threads = thread_count(config.threads).min(blocks);
    let mut need = Need::default()
        .array::<usize>(&[blocks])
        .plus(Need::default().array::<u64>(&[n + slots]).array::<BlockRun>(&[1]).times(blocks))
        .plus(
            Need::default()
                .array::<u8>(&[block_size(c), n])
                .array::<f64>(&[block_size(c), n + 64])
                .array::<u64>(&[Moments::packed_len(n)])
                .times(threads),
        )
        // Per block at work: the gather plans (units, partitions and two words per edge) and
        // the tracked energies and counts of ones.
        .plus(Need::default().array::<i32>(&[n + 9 + 2 * slots]).array::<i32>(&[block_size(c), 2]).times(threads));
    if config.keep_samples || (config.samples_out.is_some() && !streamed) {
        need = need.plus(Need::default().array::<u8>(&[c, config.sweeps, n]).times(2));
    } else if streamed {
        need = need.plus(Need::default().array::<u8>(&[block_size(c), n]).times(threads));
    }
    if config.keep_magnetisation {
        need = need.plus(Need::default().array::<f64>(&[c, total]).times(2));
    }
    if track_ess(config) {
        need = need.plus(Need::default().array::<f64>(&[c, config.sweeps]).times(2));
    }
    need
}

/// Interleave per-block `[sweep][chain]` records into one `[sweep][chain]` record.
fn interleave<T: Copy>(blocks: &[BlockRun], per_chain: usize, part: impl Fn(&BlockRun) -> &[T]) -> Vec<T> {
    let sweeps = blocks.first().map_or(0, |b| part(b).len() / (b.chains * per_chain).max(1));
    let mut out = Vec::with_capacity(blocks.iter().map(|b| part(b).len()).sum());
    for t in 0..sweeps {
        for b in blocks {
            let w = b.chains * per_chain;
            out.extend_from_slice(&part(b)[t * w..(t + 1) * w]);
        }
    }
    out
}

/// The generic driver: cut the chains into blocks, run `block` on each over the thread
/// pool, merge in block order, statistics in file order.
fn drive<W, F>(
    built: &Built<W>,
    model: &ModelFile,
    config: &SampleConfig,
    streamed: bool,
    block: F,
) -> Result<SampleRun>
where
    W: Copy + Default + calo4p_core::model::Weight,
    F: Fn(std::ops::Range<usize>) -> Result<BlockRun> + Sync,
{
    let m = built.model();
    let (n, c) = (m.num_units(), config.chains);
    memory::ensure(memory_need(n, m.num_slots(), config, streamed), || {
        let kept = if config.keep_samples || (config.samples_out.is_some() && !streamed) {
            format!(", keeping {} samples", config.chains.saturating_mul(config.sweeps))
        } else {
            String::new()
        };
        format!("{c} chains (--chains) of {n} units{kept}")
    })?;
    if let Init::Rows(rows) = &config.init {
        if rows.is_empty() {
            bail!("no start states given");
        }
        if let Some((k, row)) = rows.iter().enumerate().take(c).find(|(_, r)| r.len() != n) {
            bail!("start state {k} has {} units, the model has {n}", row.len());
        }
    }
    let total = config.burn_in + config.sweeps;
    let block_len = block_size(c);
    let starts: Vec<usize> = (0..c).step_by(block_len).collect();
    let bar = progress::bar(
        total.saturating_mul(starts.len()) as u64,
        config.progress,
        &format!("sampling {c} chains"),
        "block sweeps",
    );
    let pool = rayon::ThreadPoolBuilder::new().num_threads(thread_count(config.threads)).build()?;
    let blocks: Vec<BlockRun> = pool.install(|| {
        starts
            .par_iter()
            .map(|&s| {
                let out = block(s..(s + block_len).min(c));
                bar.inc(total as u64);
                out
            })
            .collect::<Result<_>>()
    })?;
    bar.finish_and_clear();
    let mut unit_ones = vec![0u64; n];
    let mut edge_ones = vec![0u64; m.num_slots()];
    let (mut energy, mut samples, mut saturations) = (Welford::default(), 0, 0);
    for b in &blocks {
        unit_ones.iter_mut().zip(&b.unit_ones).for_each(|(a, x)| *a += x);
        edge_ones.iter_mut().zip(&b.edge_ones).for_each(|(a, x)| *a += x);
        energy.merge(&b.energy);
        samples += b.samples;
        saturations += b.saturations;
    }
    let mags = interleave(&blocks, 1, |b| &b.mags);
    let recorded = interleave(&blocks, 1, |b| &b.recorded);
    let samples_rows = interleave(&blocks, n, |b| &b.rows);
    let track_ess = track_ess(config);
    let per = |count: u64| count as f64 / samples.max(1) as f64;
    let ess_series = if config.keep_magnetisation { &mags[config.burn_in * c..] } else { &recorded[..] };
    let stats = Statistics {
        mean: unit_ones.iter().map(|&k| per(k)).collect(),
        edge_second_moment: model
            .edges
            .iter()
            .zip(&built.slot_of_edge)
            .map(|(e, &s)| (e.i, e.j, per(edge_ones[s])))
            .collect(),
        energy_mean: Some(energy.mean()),
        energy_variance: Some(energy.variance()),
        num_samples: Some(samples),
        effective_samples: track_ess
            .then(|| pool.install(|| effective_samples(ess_series, c, config.sweeps)))
            .flatten(),
        ln_z: None,
        source: Some(format!("block Gibbs, {}, beta {}", config.engine, config.beta)),
        saturations: matches!(config.engine, Engine::Fixed(_)).then_some(saturations),
    };
    Ok(SampleRun {
        stats,
        samples: samples_rows,
        magnetisation: mags,
        saturations,
        quantisation: Quantisation::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{random_model, Selection};
    use calo4p_core::rng::{chain_streams, Pcg32};

    /// Everything a run returns, as comparable bytes.
    fn fingerprint(run: &SampleRun) -> (String, Vec<u8>, Vec<u64>, u64) {
        let stats = serde_json::to_string(&run.stats).unwrap();
        (stats, run.samples.clone(), run.magnetisation.iter().map(|m| m.to_bits()).collect(), run.saturations)
    }

    /// Samples written to a file as they are drawn are the bytes of the samples kept in
    /// memory, behind a header with the final shape, whatever the thread count.
    #[test]
    fn samples_streamed_to_a_file_are_the_samples_kept_in_memory() {
        let model = random_model(1, 4, 7, 2, 1.0, Selection::First).unwrap();
        let mut cfg = SampleConfig::new(Engine::Fixed(FixedSettings::new(QFormat::Q8_8, 16)), 300, 9, 4, 11);
        cfg.keep_samples = true;
        let kept = run(&model, &cfg).unwrap();
        let dir = std::env::temp_dir().join(format!("calo4p-sample-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for threads in [1, 3] {
            let path = dir.join(format!("s{threads}.npy"));
            let streamed =
                SampleConfig { keep_samples: false, samples_out: Some(path.clone()), threads, ..cfg.clone() };
            let out = run(&model, &streamed).unwrap();
            assert!(out.samples.is_empty(), "streamed samples are not held");
            assert_eq!(serde_json::to_string(&out.stats).unwrap(), serde_json::to_string(&kept.stats).unwrap());
            let a = crate::npy::read(&path).unwrap();
            assert_eq!(a.shape, vec![300 * 9, 28]);
            assert_eq!(a.data, kept.samples.iter().map(|&z| f64::from(z)).collect::<Vec<_>>());
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A run that cannot fit in memory is refused with the figure before anything is
    /// allocated (it used to abort the process).
    #[test]
    fn a_run_beyond_memory_is_refused_with_its_size() {
        let model = random_model(1, 4, 7, 2, 1.0, Selection::First).unwrap();
        let err = run(&model, &SampleConfig::new(Engine::Float, 1_000_000_000_000, 10, 0, 1)).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("1000000000000 chains (--chains) of 28 units: needs 3.8 TB of memory"), "{msg}");
        let mut keep = SampleConfig::new(Engine::Float, 100, 1_000_000_000_000, 0, 1);
        keep.keep_samples = true;
        let msg = format!("{:#}", run(&model, &keep).unwrap_err());
        assert!(msg.contains("keeping 100000000000000 samples: needs 5.6 PB"), "{msg}");
        let err = run(&model, &SampleConfig::new(Engine::Float, 1, usize::MAX, 1, 1)).unwrap_err();
        assert!(err.to_string().contains("more sweeps than can be counted"), "{err}");
    }

    /// 1, 2 and 7 threads give the same bytes, for fixed point (heat bath and Metropolis,
    /// both generators, clamped units, a field register that saturates) and float; the
    /// blocks give what one block of all chains gives (samples of the plain kernel).
    /// The tuner goes round the candidates, keeps each one's fastest sweep, then the best.
    #[test]
    fn tuner_times_each_path_then_keeps_the_fastest() {
        let mut tuner = Tuner::new(2, 100);
        for (t, ms) in [5, 3, 4, 9].into_iter().enumerate() {
            assert_eq!(tuner.pick(t), t % 2);
            tuner.timed(t, std::time::Duration::from_millis(ms));
        }
        assert_eq!((tuner.pick(4), tuner.pick(99)), (1, 1));
        // Too few sweeps to time, or nothing to choose: the first candidate throughout.
        assert_eq!(Tuner::new(2, 15).pick(1), 0);
        assert_eq!(Tuner::new(1, 100).pick(1), 0);
    }

    #[test]
    fn result_does_not_depend_on_threads_or_instruction_set() {
        let model = random_model(2, 4, 30, 3, 1.5, Selection::First).unwrap();
        let chains = 600;
        assert_eq!(block_size(chains), 192);
        let mut fixed = FixedSettings::new(QFormat::Q8_8, 16);
        fixed.field = QFormat::new(4, 8).unwrap();
        let mut configs = Vec::new();
        for (engine, rule, rng) in [
            (Engine::Fixed(fixed), Rule::HeatBath, RngKind::Pcg32),
            (Engine::Fixed(fixed), Rule::Metropolis, RngKind::Xoshiro),
            (Engine::Float32, Rule::HeatBath, RngKind::Xoshiro),
            (Engine::Float, Rule::Metropolis, RngKind::Pcg32),
        ] {
            let mut cfg = SampleConfig::new(engine, chains, 12, 5, 77);
            cfg.rule = rule;
            cfg.rng = rng;
            cfg.clamp = vec![(3, 1), (50, 0)];
            cfg.keep_samples = true;
            cfg.keep_magnetisation = true;
            configs.push(cfg);
        }
        for cfg in &configs {
            let mut runs: Vec<_> = [1, 2, 7]
                .iter()
                .map(|&t| fingerprint(&run(&model, &SampleConfig { threads: t, ..cfg.clone() }).unwrap()))
                .collect();
            // Every instruction set this processor has, and the fastest by timing (17 sweeps:
            // it times 4 of them).
            let isas = Isa::ALL.into_iter().filter(|i| i.is_available()).map(IsaChoice::Only);
            runs.extend(
                isas.chain([IsaChoice::Fastest])
                    .map(|isa| fingerprint(&run(&model, &SampleConfig { isa, threads: 2, ..cfg.clone() }).unwrap())),
            );
            assert!(runs.windows(2).all(|w| w[0] == w[1]), "{:?} {:?}", cfg.engine, cfg.rule);
            assert!(matches!(cfg.engine, Engine::Float | Engine::Float32) || runs[0].3 > 0, "no saturation tested");
        }
        // The plain per-chain kernel over all chains at once, float f64 heat bath, unclamped.
        let cfg = SampleConfig { keep_samples: true, ..SampleConfig::new(Engine::Float, chains, 3, 2, 5) };
        let got = run(&model, &cfg).unwrap().samples;
        let built = Built::float(&model).unwrap();
        let m = built.model();
        let n = m.num_units();
        let mut rngs = vec![Pcg32::new(0, 0); chains];
        chain_streams(5, 0, &mut rngs);
        let mut state = vec![0u8; n * chains];
        let mut ch = Chains::new(&mut state, n, chains).unwrap();
        ch.randomise(&mut rngs);
        let mut arith = Float::<f64>::new(1.0, Rule::HeatBath).unwrap();
        let sampler = BlockGibbs::new(m);
        let mut fields = vec![0.0; sampler.scratch_len(chains)];
        let mut want = Vec::new();
        let mut row = vec![0u8; n];
        for t in 0..5 {
            sampler.sweep(&mut arith, &mut ch, &mut rngs, &mut fields).unwrap();
            if t >= 2 {
                for k in 0..chains {
                    ch.row(k, &mut row);
                    want.extend_from_slice(&row);
                }
            }
        }
        assert_eq!(got, want);
    }
}
