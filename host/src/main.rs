//! `calo4p`: sample, validate and compare Zephyr Boltzmann machines.
//!
//! Results go to standard output (through `outln!`, so a closed pipe ends the program
//! quietly), diagnostics and progress to standard error; `-` as an output path is standard
//! output; the exit status is 0, 1 for a failed check, 2 for a usage or input error
//! ([`calo4p::output`]). To add a command: a variant of [`Command`] with its `Args` struct,
//! and an arm in [`run`].

use anyhow::{bail, Context, Result};
use calo4p::anneal::{AnnealConfig, ScheduleSpec, SCHEDULE_HELP};
use calo4p::exact::{enumerated_units, exact_observed};
use calo4p::model_file::ModelFile;
use calo4p::output::{self, is_stdio, EXIT_STATUS_HELP};
use calo4p::progress;
use calo4p::sample::{self, Engine, FixedSettings, IsaChoice, RngKind, SampleConfig};
use calo4p::topology::{self, Selection};
use calo4p::{atomic, data, demo};
use calo4p_core::{QFormat, Rule};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc keeps freed blocks for reuse where glibc's malloc maps and unmaps every tensor
/// of training over its mmap threshold (see host/Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "calo4p",
    version,
    about = "Boltzmann-machine samplers on constrained hardware, and proof that they are right"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the built-in demonstration (float vs fixed vs exact on the reference 7x7x7x7 model).
    Demo {
        /// Hide progress bars.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print the Zephyr graph Z(M, T) as JSON: nodes, coordinates, colours, edges.
    Zephyr(ZephyrArgs),
    /// Make or inspect models.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Block Gibbs sampling with a float or fixed-point engine.
    Sample(SampleArgs),
    /// Simulated annealing (core's schedules); the reads as a dimod SampleSet JSON.
    Anneal(AnnealArgs),
    /// Exact moments and ln Z by enumeration (models of up to about 40 units).
    Exact(ExactArgs),
    /// Annealer samples: import, effective temperature, export to an Ising problem.
    Qa(calo4p::qa::QaArgs),
    /// Compare samples or statistics with exact answers or another sampler.
    Validate(calo4p::validation::ValidateArgs),
    /// Where a fixed-point sampler's bias comes from: weight format vs table resolution.
    Precision(calo4p::validation::PrecisionArgs),
    /// Autocorrelation of the magnetisation over Monte Carlo sweeps.
    Acf(calo4p::validation::acf::AcfArgs),
    /// Singular values of the inter-partition weight blocks.
    Svd(calo4p::validation::svd::SvdArgs),
    /// Calorimeter data: CaloChallenge files, synthetic showers, scores.
    Data(data::DataArgs),
    /// Run a model on a simulated FPGA accelerator: cycles, resources, design sweeps.
    FpgaSim(calo4p::fpga_sim::FpgaSimArgs),
    /// Train the Calo4pQVAE (conditional VAE with a Zephyr Boltzmann-machine prior).
    #[cfg(feature = "vae")]
    Train(calo4p::vae::commands::TrainArgs),
    /// A trained VAE's Boltzmann-machine prior: export it as an interchange model.
    #[cfg(feature = "vae")]
    Prior(calo4p::vae::commands::PriorArgs),
    /// Generate showers from a trained VAE with any prior sampler (CaloChallenge HDF5).
    #[cfg(feature = "vae")]
    Generate(calo4p::vae::commands::GenerateArgs),
    /// Print a shell completion script (for example `calo4p completions bash > ~/.local/share/bash-completion/completions/calo4p`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Run one command.
fn run(command: Command) -> Result<()> {
    match command {
        Command::Demo { quiet } => demo::run_demo(!quiet),
        Command::Zephyr(a) => zephyr_cmd(a),
        Command::Model { command: ModelCommand::Random(a) } => random_cmd(a),
        Command::Model { command: ModelCommand::Quantise(a) } => quantise_cmd(a),
        Command::Sample(a) => sample_cmd(a),
        Command::Anneal(a) => anneal_cmd(a),
        Command::Exact(a) => exact_cmd(a),
        Command::Qa(args) => calo4p::qa::run(args),
        Command::Validate(args) => calo4p::validation::run_validate(args),
        Command::Precision(args) => calo4p::validation::run_precision(args),
        Command::Acf(args) => calo4p::validation::acf::run_acf(args),
        Command::Svd(args) => calo4p::validation::svd::run_svd(args),
        Command::Data(args) => data::run(args),
        Command::FpgaSim(args) => calo4p::fpga_sim::run_fpga_sim(args),
        #[cfg(feature = "vae")]
        Command::Train(args) => calo4p::vae::commands::run_train(args),
        #[cfg(feature = "vae")]
        Command::Prior(args) => calo4p::vae::commands::run_prior(args),
        #[cfg(feature = "vae")]
        Command::Generate(args) => calo4p::vae::commands::run_generate(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cli_command(), "calo4p", &mut script);
            Ok(output::stdout_bytes(&script)?)
        }
    }
}

#[derive(Args)]
struct ZephyrArgs {
    /// Zephyr shape as M,T: grid size M >= 1, tile size T >= 1.
    #[arg(long, value_parser = parse_pair, required_unless_present_all = ["m", "t"], conflicts_with_all = ["m", "t"])]
    zephyr: Option<(usize, usize)>,
    /// Grid size (old spelling of --zephyr M,T).
    #[arg(long, hide = true, requires = "t")]
    m: Option<usize>,
    /// Tile size (old spelling of --zephyr M,T).
    #[arg(long, hide = true, requires = "m")]
    t: Option<usize>,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    out: Option<PathBuf>,
}

fn zephyr_cmd(a: ZephyrArgs) -> Result<()> {
    let (m, t) = match (a.zephyr, a.m, a.t) {
        (Some(mt), _, _) => mt,
        (None, Some(m), Some(t)) => (m, t),
        _ => bail!("give the shape as --zephyr M,T"),
    };
    let text = serde_json::to_string(&topology::zephyr_json(m, t)?)? + "\n";
    atomic::write(a.out.as_deref().unwrap_or(Path::new("-")), text.as_bytes())
}

#[derive(Subcommand)]
enum ModelCommand {
    /// A random 4-partite model on a Zephyr graph, N(0, scale^2) weights and biases.
    Random(RandomArgs),
    /// Quantise a model and write core's compact binary form (what a device loads).
    Quantise(QuantiseArgs),
}

#[derive(Args)]
struct RandomArgs {
    /// Zephyr shape as M,T.
    #[arg(long, value_parser = parse_pair)]
    zephyr: (usize, usize),
    /// Units per partition (colour class), at least 1.
    #[arg(long, value_parser = calo4p::args::positive)]
    per_partition: usize,
    /// Seed.
    #[arg(short, long, default_value_t = 0)]
    seed: u64,
    /// Standard deviation of weights and biases.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Which units of each class.
    #[arg(long, value_enum, default_value_t)]
    select: Selection,
    /// Output model file (`-`: standard output).
    #[arg(short, long)]
    out: PathBuf,
}

fn random_cmd(a: RandomArgs) -> Result<()> {
    if !(a.scale.is_finite() && a.scale >= 0.0) {
        bail!("--scale {} must be a finite non-negative number", a.scale);
    }
    let (m, t) = a.zephyr;
    let model = topology::random_model(m, t, a.per_partition, a.seed, a.scale, a.select)?;
    model.save(&a.out)?;
    eprintln!("wrote {} ({} units, {} edges)", a.out.display(), model.num_units(), model.edges.len());
    Ok(())
}

#[derive(Args)]
struct QuantiseArgs {
    /// Model file.
    #[arg(short, long)]
    model: PathBuf,
    /// Fixed-point format, Qm.n (m includes the sign bit).
    #[arg(long, default_value = "Q8.8")]
    format: QFormat,
    /// Refuse parameters outside the format instead of saturating them.
    #[arg(long)]
    strict: bool,
    /// Output file (`-`: standard output).
    #[arg(short, long)]
    out: PathBuf,
}

fn quantise_cmd(a: QuantiseArgs) -> Result<()> {
    atomic::refuse_clobber(&[Some(&a.model)], &[Some(&a.out)])?;
    let model = ModelFile::load(&a.model)?;
    let (bytes, report) = calo4p::model_file::compact(&model, a.format, a.strict)
        .with_context(|| format!("quantising {}", a.model.display()))?;
    if let Some(msg) = report.message(a.format) {
        eprintln!("warning: {msg}; use --strict to refuse");
    }
    atomic::write(&a.out, &bytes)?;
    eprintln!("wrote {} ({} bytes, {})", a.out.display(), bytes.len(), a.format);
    Ok(())
}

fn parse_pair(s: &str) -> Result<(usize, usize), String> {
    let (a, b) = s.split_once(',').ok_or("expected M,T")?;
    Ok((a.trim().parse().map_err(|e| format!("M: {e}"))?, b.trim().parse().map_err(|e| format!("T: {e}"))?))
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    /// f64 reference.
    Float,
    /// f32.
    Float32,
    /// Fixed point (see --format, --lut-bits).
    Fixed,
}

#[derive(Clone, Copy, ValueEnum)]
enum RuleArg {
    HeatBath,
    Metropolis,
}

/// The kernel's instruction set.
#[derive(Clone, Copy, ValueEnum)]
enum IsaArg {
    /// Time AVX2 and AVX-512 on the first sweeps and keep the faster.
    Fastest,
    /// The target's baseline (SSE2 on x86-64).
    Portable,
    Avx2,
    Avx512,
}

impl IsaArg {
    fn choice(self) -> IsaChoice {
        use calo4p_core::gibbs::Isa;
        match self {
            IsaArg::Fastest => IsaChoice::Fastest,
            IsaArg::Portable => IsaChoice::Only(Isa::Portable),
            IsaArg::Avx2 => IsaChoice::Only(Isa::Avx2),
            IsaArg::Avx512 => IsaChoice::Only(Isa::Avx512),
        }
    }
}

/// The arithmetic, update rule and generator: shared by `sample` and `anneal`.
#[derive(Args)]
struct EngineArgs {
    /// Arithmetic.
    #[arg(long, value_enum, default_value = "float")]
    engine: EngineArg,
    /// Fixed-point format of weights and biases, Qm.n (m includes the sign bit) [default: Q8.8;
    /// --engine fixed only].
    #[arg(long)]
    format: Option<QFormat>,
    /// Field register format (default: the weight format); saturations are counted.
    #[arg(long)]
    field_format: Option<QFormat>,
    /// Bits r of the acceptance table and of each uniform draw (1..=16) [default: 16; --engine fixed only].
    #[arg(long)]
    lut_bits: Option<u32>,
    /// Fractional bits of the field that index the table (default: the format's, at most 12).
    #[arg(long)]
    lut_index_bits: Option<u32>,
    /// Refuse weights outside the format instead of saturating them.
    #[arg(long)]
    strict: bool,
    /// Update rule.
    #[arg(long, value_enum, default_value = "heat-bath")]
    rule: RuleArg,
    /// Random generator per chain.
    #[arg(long, value_enum, default_value_t)]
    rng: RngKind,
}

impl EngineArgs {
    /// The weight format (Q8.8 unless given).
    fn format(&self) -> QFormat {
        self.format.unwrap_or(QFormat::Q8_8)
    }

    /// The engine; fixed-point options with a float engine are refused, not ignored.
    fn engine(&self) -> Result<Engine> {
        let name = self.engine.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default();
        calo4p::args::fixed_point_only(
            &name,
            matches!(self.engine, EngineArg::Fixed),
            &[
                ("--format", self.format.is_some()),
                ("--field-format", self.field_format.is_some()),
                ("--lut-bits", self.lut_bits.is_some()),
                ("--lut-index-bits", self.lut_index_bits.is_some()),
                ("--strict", self.strict),
            ],
        )?;
        Ok(match self.engine {
            EngineArg::Float => Engine::Float,
            EngineArg::Float32 => Engine::Float32,
            EngineArg::Fixed => {
                let mut s = FixedSettings::new(self.format(), self.lut_bits.unwrap_or(16));
                s.field = self.field_format.unwrap_or(self.format());
                if let Some(b) = self.lut_index_bits {
                    s.lut.index_frac_bits = b;
                }
                s.strict = self.strict;
                Engine::Fixed(s)
            }
        })
    }

    fn rule(&self) -> Rule {
        match self.rule {
            RuleArg::HeatBath => Rule::HeatBath,
            RuleArg::Metropolis => Rule::Metropolis,
        }
    }
}

#[derive(Args)]
struct SampleArgs {
    /// Model file.
    #[arg(short, long)]
    model: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
    /// Chains run side by side.
    #[arg(long, default_value_t = 100)]
    chains: usize,
    /// Recorded sweeps per chain.
    #[arg(long, default_value_t = 1000)]
    sweeps: usize,
    /// Sweeps discarded first.
    #[arg(long, default_value_t = 100)]
    burn_in: usize,
    /// Seed.
    #[arg(short, long, default_value_t = 0)]
    seed: u64,
    /// Inverse temperature.
    #[arg(long, default_value_t = 1.0, value_parser = calo4p::args::beta)]
    beta: f64,
    /// Hold units fixed: "i=v,j=v,...".
    #[arg(long)]
    clamp: Option<String>,
    /// Write the samples (rows of uint8 units) to this .npy file (`-`: standard output).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Write statistics JSON here (`-`: standard output).
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Print statistics JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Hide the progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Worker threads (default: all cores); the samples do not depend on it.
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    threads: usize,
    /// Instruction set of the kernel; the samples do not depend on it.
    #[arg(long, value_enum, default_value = "fastest")]
    isa: IsaArg,
}

/// Write a human summary to standard output, or to standard error when a data file already
/// goes to standard output.
fn summary(to_stderr: bool, text: &str) -> Result<()> {
    if to_stderr {
        let _ = std::io::stderr().write_all(text.as_bytes());
        Ok(())
    } else {
        Ok(output::stdout_bytes(text.as_bytes())?)
    }
}

fn sample_cmd(a: SampleArgs) -> Result<()> {
    atomic::refuse_clobber(&[Some(&a.model)], &[a.out.as_ref(), a.stats.as_ref()])?;
    let model = ModelFile::load(&a.model)?;
    let engine = a.engine.engine()?;
    let data_on_stdout = [&a.out, &a.stats].iter().any(|p| p.as_deref().is_some_and(is_stdio));
    if a.out.as_deref().is_some_and(is_stdio) && a.stats.as_deref().is_some_and(is_stdio) {
        bail!("--out - and --stats - cannot both go to standard output");
    }
    let mut cfg = SampleConfig::new(engine, a.chains, a.sweeps, a.burn_in, a.seed);
    cfg.rule = a.engine.rule();
    cfg.rng = a.engine.rng;
    cfg.beta = a.beta;
    cfg.clamp = a.clamp.as_deref().map(calo4p::args::clamp).transpose()?.unwrap_or_default();
    cfg.samples_out = a.out.clone();
    cfg.progress = !a.quiet;
    cfg.threads = a.threads;
    cfg.isa = a.isa.choice();
    let run = sample::run(&model, &cfg).with_context(|| format!("sampling {}", a.model.display()))?;
    if let Some(msg) = run.quantisation.message(a.engine.format()) {
        eprintln!("warning: {msg}; use --strict to refuse");
    }
    if run.saturations > 0 {
        eprintln!("warning: {} field(s) saturated the field register", run.saturations);
    }
    if let Some(path) = &a.stats {
        run.stats.save(path)?;
    }
    let s = &run.stats;
    let text = if a.json {
        serde_json::to_string_pretty(s)? + "\n"
    } else {
        let mut t = format!("engine        {engine}\n");
        t += &format!(
            "samples       {} ({} chains x {} sweeps after {} burn-in)\n",
            s.num_samples.unwrap_or(0),
            a.chains,
            a.sweeps,
            a.burn_in
        );
        t += &format!(
            "<E>           {:.6} (variance {:.6})\n",
            s.energy_mean.unwrap_or(f64::NAN),
            s.energy_variance.unwrap_or(f64::NAN)
        );
        t += &format!("saturations   {}\n", run.saturations);
        t += &format!("\n{:>6} {:>4} {:>10}\n", "unit", "part", "<z>");
        for (i, m) in s.mean.iter().enumerate().take(40) {
            t += &format!("{:>6} {:>4} {:>10.6}\n", i, model.partition[i], m);
        }
        if s.mean.len() > 40 {
            t += &format!("   ... {} more units (use --json or --stats for all)\n", s.mean.len() - 40);
        }
        t
    };
    summary(data_on_stdout, &text)
}

#[derive(Args)]
#[command(after_help = concat!(
    "Each read anneals one chain from a random state through the schedule; the final states are\n",
    "aggregated (distinct rows, num_occurrences, energies E(z) = -b.z - sum W_ij z_i z_j) into\n",
    "dimod's SampleSet JSON, BINARY, labelled by the model's qubits (unit indices when it has none).\n",
    "Load it in Python with dimod.SampleSet.from_serializable(json.load(open(\"reads.json\"))).\n\n",
    "Schedules: linear:0.1,3,100 | geometric:0.05,4,20 | custom:0.5,1,2 |\n",
    "annealer:8:0,0:20,0.125:120,0.125:121,1 (ramp s to 0.125 over 20 sweeps, pause 100, quench to s = 1)."
))]
struct AnnealArgs {
    /// Model file.
    #[arg(short, long)]
    model: PathBuf,
    /// Inverse temperature per sweep.
    #[arg(long, value_parser = parse_schedule, help = format!("β per sweep: {SCHEDULE_HELP}"))]
    schedule: ScheduleSpec,
    /// Independent reads.
    #[arg(long, default_value_t = 1000)]
    reads: usize,
    #[command(flatten)]
    engine: EngineArgs,
    /// Seed (read k runs on chain stream k).
    #[arg(short, long, default_value_t = 0)]
    seed: u64,
    /// Write the sample set here instead of standard output.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Hide the progress bar and the summary.
    #[arg(short, long)]
    quiet: bool,
}

fn parse_schedule(s: &str) -> Result<ScheduleSpec, String> {
    s.parse().map_err(|e: anyhow::Error| format!("{e:#}"))
}

fn anneal_cmd(a: AnnealArgs) -> Result<()> {
    atomic::refuse_clobber(&[Some(&a.model)], &[a.out.as_ref()])?;
    let model = ModelFile::load(&a.model)?;
    let cfg = AnnealConfig {
        engine: a.engine.engine()?,
        rule: a.engine.rule(),
        rng: a.engine.rng,
        schedule: a.schedule.clone(),
        reads: a.reads,
        seed: a.seed,
        progress: !a.quiet,
    };
    let run = calo4p::anneal::run(&model, &cfg).with_context(|| format!("annealing {}", a.model.display()))?;
    if let Some(msg) = run.quantisation.message(a.engine.format()) {
        eprintln!("warning: {msg}; use --strict to refuse");
    }
    if run.saturations > 0 {
        eprintln!("warning: {} field(s) saturated the field register", run.saturations);
    }
    let info = serde_json::json!({
        "calo4p": {
            "command": "anneal",
            "version": env!("CARGO_PKG_VERSION"),
            "model": a.model.display().to_string(),
            "schedule": a.schedule.to_string(),
            "sweeps": a.schedule.schedule().len(),
            "final_beta": a.schedule.final_beta(),
            "engine": cfg.engine.to_string(),
            "rule": format!("{:?}", cfg.rule),
            "seed": a.seed,
        }
    });
    let set = calo4p::anneal::sampleset_json(&model, &run.rows, info);
    atomic::write(a.out.as_deref().unwrap_or(Path::new("-")), (serde_json::to_string(&set)? + "\n").as_bytes())?;
    if !a.quiet {
        let best = &run.rows[0];
        eprintln!(
            "anneal: {} reads x {} sweeps ({}, final beta {}); {} distinct states, lowest E = {:.6} ({} reads)",
            a.reads,
            a.schedule.schedule().len(),
            a.schedule,
            a.schedule.final_beta(),
            run.rows.len(),
            best.energy,
            best.count
        );
    }
    Ok(())
}

#[derive(Args)]
struct ExactArgs {
    /// Model file.
    #[arg(short, long)]
    model: PathBuf,
    /// Inverse temperature.
    #[arg(long, default_value_t = 1.0, value_parser = calo4p::args::beta)]
    beta: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the statistics JSON to this file.
    #[arg(long, short = 'o', visible_alias = "out")]
    stats: Option<PathBuf>,
    /// Hide the progress bar and the up-front count of states.
    #[arg(short, long)]
    quiet: bool,
}

fn exact_cmd(a: ExactArgs) -> Result<()> {
    atomic::refuse_clobber(&[Some(&a.model)], &[a.stats.as_ref()])?;
    let model = ModelFile::load(&a.model)?;
    let k = enumerated_units(&model).len();
    if !a.quiet && k <= calo4p::exact::MAX_ENUMERATED {
        let analytic = model.num_units() - k;
        eprintln!(
            "exact: enumerating 2^{k} = {} states of {k} units; the other {analytic} (the largest partition) are summed analytically",
            1u64 << k
        );
    }
    let states = 1u64 << k.min(63);
    let bar = progress::bar(states, !a.quiet && k >= 20, "enumerating", "states");
    let result = exact_observed(&model, a.beta, false, &mut |done, _| bar.set_position(done));
    bar.finish_and_clear();
    let stats = result.with_context(|| format!("model file {}", a.model.display()))?.statistics(&model);
    if let Some(path) = &a.stats {
        stats.save(path)?;
    }
    let text = if a.json {
        serde_json::to_string_pretty(&stats)? + "\n"
    } else {
        let mut t = format!("ln Z   {:.12}\n", stats.ln_z.unwrap_or(f64::NAN));
        t += &format!("<E>    {:.12}\n", stats.energy_mean.unwrap_or(f64::NAN));
        t += &format!("\n{:>6} {:>4} {:>14}\n", "unit", "part", "<z>");
        for (i, m) in stats.mean.iter().enumerate() {
            t += &format!("{:>6} {:>4} {:>14.10}\n", i, model.partition[i], m);
        }
        t
    };
    summary(a.stats.as_deref().is_some_and(is_stdio), &text)
}

/// The command line with the exit statuses under every command's `--help`.
fn cli_command() -> clap::Command {
    fn with_exit_status(cmd: clap::Command) -> clap::Command {
        let help = match cmd.get_after_help() {
            Some(h) => format!("{h}\n\n{EXIT_STATUS_HELP}"),
            None => EXIT_STATUS_HELP.to_owned(),
        };
        cmd.after_help(help).mut_subcommands(with_exit_status)
    }
    with_exit_status(Cli::command())
}

/// `println!` in library code panics when the reader of a pipe has gone; that is the reader
/// saying "enough", so end quietly (status 0) instead of reporting a panic.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
        if msg.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(0);
        }
        default(info)
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::from_arg_matches(&cli_command().get_matches()).unwrap_or_else(|e| e.exit());
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match output::exit_code(&e) {
            None => ExitCode::SUCCESS,
            Some(code) => {
                let _ = writeln!(std::io::stderr(), "error: {e:#}");
                ExitCode::from(code)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks (no short flag or name used twice in one command).
    #[test]
    fn command_line_is_consistent() {
        super::cli_command().debug_assert();
    }
}
