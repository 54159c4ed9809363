//! `calo4p`: sample, validate and compare Zephyr Boltzmann machines.

use anyhow::{bail, Context, Result};
use calo4p::exact::exact;
use calo4p::model_file::ModelFile;
use calo4p::sample::{self, Engine, FixedSettings, RngKind, SampleConfig};
use calo4p::topology::{self, Selection};
use calo4p::{data, demo, npy};
use calo4p_core::{QFormat, Rule};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    /// Run the built-in demonstration (float vs fixed vs exact on a 7x7x7x7 Zephyr model).
    Demo {
        /// Hide progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// Print the Zephyr graph Z(m, t) as JSON: nodes, coordinates, colours, edges.
    Zephyr {
        /// Grid size m >= 1.
        #[arg(long)]
        m: usize,
        /// Tile size t >= 1.
        #[arg(long)]
        t: usize,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Make or inspect models.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Block Gibbs sampling with a float or fixed-point engine.
    Sample(SampleArgs),
    /// Exact moments and ln Z by enumeration (models of up to about 40 units).
    Exact {
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Inverse temperature.
        #[arg(long, default_value_t = 1.0)]
        beta: f64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write the JSON to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
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
}

#[derive(Subcommand)]
enum ModelCommand {
    /// A random 4-partite model on a Zephyr graph, N(0, scale^2) weights and biases.
    Random {
        /// Zephyr shape as M,T.
        #[arg(long, value_parser = parse_pair)]
        zephyr: (usize, usize),
        /// Units per partition (colour class).
        #[arg(long)]
        per_partition: usize,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Standard deviation of weights and biases.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Which units of each class.
        #[arg(long, value_enum, default_value_t)]
        select: Selection,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Quantise a model and write core's compact binary form (what a device loads).
    Quantise {
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Fixed-point format, Qm.n (m includes the sign bit).
        #[arg(long, default_value = "Q8.8")]
        format: QFormat,
        /// Refuse parameters outside the format instead of saturating them.
        #[arg(long)]
        strict: bool,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
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

#[derive(Args)]
struct SampleArgs {
    /// Model file.
    #[arg(long)]
    model: PathBuf,
    /// Arithmetic.
    #[arg(long, value_enum, default_value = "float")]
    engine: EngineArg,
    /// Fixed-point format of weights and biases, Qm.n (m includes the sign bit).
    #[arg(long, default_value = "Q8.8")]
    format: QFormat,
    /// Field register format (default: the weight format); saturations are counted.
    #[arg(long)]
    field_format: Option<QFormat>,
    /// Bits r of the acceptance table and of each uniform draw (1..=16).
    #[arg(long, default_value_t = 16)]
    lut_bits: u32,
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
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Inverse temperature.
    #[arg(long, default_value_t = 1.0)]
    beta: f64,
    /// Hold units fixed: "i=v,j=v,...".
    #[arg(long)]
    clamp: Option<String>,
    /// Write the samples (rows of uint8 units) to this .npy file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write statistics JSON here.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Print statistics JSON to standard output instead of a table.
    #[arg(long)]
    json: bool,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

fn parse_clamp(s: &str) -> Result<Vec<(usize, u8)>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (i, v) = p.split_once('=').with_context(|| format!("--clamp: `{p}` is not i=v"))?;
            let i = i.trim().parse().with_context(|| format!("--clamp: unit `{i}`"))?;
            let v: u8 = v.trim().parse().with_context(|| format!("--clamp: value `{v}`"))?;
            if v > 1 {
                bail!("--clamp: unit {i} value {v} is not 0 or 1");
            }
            Ok((i, v))
        })
        .collect()
}

fn sample_cmd(a: SampleArgs) -> Result<()> {
    let model = ModelFile::load(&a.model)?;
    let engine = match a.engine {
        EngineArg::Float => Engine::Float,
        EngineArg::Float32 => Engine::Float32,
        EngineArg::Fixed => {
            let mut s = FixedSettings::new(a.format, a.lut_bits);
            s.field = a.field_format.unwrap_or(a.format);
            if let Some(b) = a.lut_index_bits {
                s.lut.index_frac_bits = b;
            }
            s.strict = a.strict;
            Engine::Fixed(s)
        }
    };
    let mut cfg = SampleConfig::new(engine, a.chains, a.sweeps, a.burn_in, a.seed);
    cfg.rule = match a.rule {
        RuleArg::HeatBath => Rule::HeatBath,
        RuleArg::Metropolis => Rule::Metropolis,
    };
    cfg.rng = a.rng;
    cfg.beta = a.beta;
    cfg.clamp = a.clamp.as_deref().map(parse_clamp).transpose()?.unwrap_or_default();
    cfg.keep_samples = a.out.is_some();
    cfg.progress = !a.quiet && !a.json;
    let run = sample::run(&model, &cfg).with_context(|| format!("sampling {}", a.model.display()))?;
    if let Some(msg) = run.quantisation.message(a.format) {
        eprintln!("warning: {msg}; use --strict to refuse");
    }
    if run.saturations > 0 {
        eprintln!("warning: {} field(s) saturated the field register", run.saturations);
    }
    if let Some(path) = &a.stats {
        run.stats.save(path)?;
    }
    if let Some(path) = &a.out {
        let rows = run.samples.len() / model.num_units();
        npy::write_u8(path, &run.samples, rows, model.num_units())?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&run.stats)?);
    } else {
        let s = &run.stats;
        println!("engine        {}", engine);
        println!(
            "samples       {} ({} chains x {} sweeps after {} burn-in)",
            s.num_samples.unwrap_or(0),
            a.chains,
            a.sweeps,
            a.burn_in
        );
        println!(
            "<E>           {:.6} (variance {:.6})",
            s.energy_mean.unwrap_or(f64::NAN),
            s.energy_variance.unwrap_or(f64::NAN)
        );
        println!("saturations   {}", run.saturations);
        println!("\n{:>6} {:>4} {:>10}", "unit", "part", "<z>");
        for (i, m) in s.mean.iter().enumerate().take(40) {
            println!("{:>6} {:>4} {:>10.6}", i, model.partition[i], m);
        }
        if s.mean.len() > 40 {
            println!("   ... {} more units (use --json or --stats for all)", s.mean.len() - 40);
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Demo { quiet } => demo::run_demo(!quiet),
        Command::Zephyr { m, t, out } => {
            let text = serde_json::to_string(&topology::zephyr_json(m, t)?)?;
            match out {
                Some(path) => calo4p::atomic::write(&path, text.as_bytes()),
                None => {
                    println!("{text}");
                    Ok(())
                }
            }
        }
        Command::Model {
            command: ModelCommand::Random { zephyr: (m, t), per_partition, seed, scale, select, out },
        } => {
            if !(scale.is_finite() && scale >= 0.0) {
                bail!("--scale {scale} must be a finite non-negative number");
            }
            let model = topology::random_model(m, t, per_partition, seed, scale, select)?;
            model.save(&out)?;
            println!("wrote {} ({} units, {} edges)", out.display(), model.num_units(), model.edges.len());
            Ok(())
        }
        Command::Model { command: ModelCommand::Quantise { model: path, format, strict, out } } => {
            let model = ModelFile::load(&path)?;
            let (bytes, report) = calo4p::model_file::compact(&model, format, strict)
                .with_context(|| format!("quantising {}", path.display()))?;
            if let Some(msg) = report.message(format) {
                eprintln!("warning: {msg}; use --strict to refuse");
            }
            calo4p::atomic::write(&out, &bytes)?;
            println!("wrote {} ({} bytes, {format})", out.display(), bytes.len());
            Ok(())
        }
        Command::Sample(a) => sample_cmd(a),
        Command::Exact { model: path, beta, json, out } => {
            let model = ModelFile::load(&path)?;
            let stats =
                exact(&model, beta).with_context(|| format!("model file {}", path.display()))?.statistics(&model);
            if let Some(out) = &out {
                stats.save(out)?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                println!("ln Z   {:.12}", stats.ln_z.unwrap_or(f64::NAN));
                println!("<E>    {:.12}", stats.energy_mean.unwrap_or(f64::NAN));
                println!("\n{:>6} {:>4} {:>14}", "unit", "part", "<z>");
                for (i, m) in stats.mean.iter().enumerate() {
                    println!("{:>6} {:>4} {:>14.10}", i, model.partition[i], m);
                }
            }
            Ok(())
        }
        Command::Qa(args) => calo4p::qa::run(args),
        Command::Validate(args) => calo4p::validation::run_validate(args),
        Command::Precision(args) => calo4p::validation::run_precision(args),
        Command::Acf(args) => calo4p::validation::acf::run_acf(args),
        Command::Svd(args) => calo4p::validation::svd::run_svd(args),
        Command::Data(args) => data::run(args),
    }
}
