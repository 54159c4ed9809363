//! `calo4p acf`: magnetisation autocorrelation of block Gibbs chains over an ensemble of
//! independent chains, and its integrated autocorrelation time (the estimators are in
//! [`crate::autocorrelation`]).

use crate::autocorrelation::{ensemble_acf, ensemble_summary};
use crate::model_file::ModelFile;
use crate::report::{line_plot, print_table, Mark, Output, Plot, Report, Scale, Series};
use crate::sample::{self, Engine, FixedSettings, Init, SampleConfig};
use anyhow::{bail, Context, Result};
use calo4p_core::QFormat;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Arithmetic of `calo4p acf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum AcfEngine {
    /// f64 reference.
    Float,
    /// f32.
    Float32,
    /// Fixed point (see --format, --lut-bits).
    Fixed,
}

/// `calo4p acf`: autocorrelation of the magnetisation m(t) = (1/N) Σ_i σ_i(t), σ = 2z − 1.
#[derive(clap::Args, Debug)]
pub struct AcfArgs {
    /// Model file.
    #[arg(short, long)]
    pub model: PathBuf,
    /// Arithmetic.
    #[arg(long, value_enum, default_value = "float")]
    pub engine: AcfEngine,
    /// Fixed-point format of weights and biases, Qm.n (m includes the sign bit) [default: Q8.8;
    /// --engine fixed only].
    #[arg(long)]
    pub format: Option<QFormat>,
    /// Bits r of the acceptance table and of each uniform draw (1..=16) [default: 16; --engine
    /// fixed only].
    #[arg(long)]
    pub lut_bits: Option<u32>,
    /// Chains run side by side (the ensemble).
    #[arg(long, default_value_t = 100)]
    pub chains: usize,
    /// Sweeps per chain, all recorded from the first (no burn-in: the transient is the point).
    #[arg(long, default_value_t = 1000)]
    pub sweeps: usize,
    /// Seed.
    #[arg(short, long, default_value_t = 0)]
    pub seed: u64,
    /// Inverse temperature.
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::beta)]
    pub beta: f64,
    /// Start states: a .npy array of 0/1 rows (chain c starts from row c mod rows); default random.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Set every bias to 0 before sampling.
    #[arg(long)]
    pub zero_bias: bool,
    /// Largest lag τ (default: half the sweeps, at most 1000).
    #[arg(long)]
    pub max_lag: Option<usize>,
    /// Sokal's window constant c: the window W is the smallest with W >= c τ_int(W).
    #[arg(long, default_value_t = 5.0)]
    pub window_c: f64,
    /// Table or JSON, plot and report.
    #[command(flatten)]
    pub output: Output,
    /// Hide the progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Largest `ACF` matrix (entries) `calo4p acf` keeps; longer runs keep only `C(τ)`.
const MAX_MATRIX: usize = 1 << 24;

/// Start rows from a `.npy` file of 0/1 (or +-1) values, one row per state (a 1-D array is
/// one state).
fn load_init(path: &Path, units: usize) -> Result<Vec<Vec<u8>>> {
    let rows = crate::samples::npy::read_rows(path, units, &format!("--init {}", path.display()))?;
    Ok(rows.data.chunks(units).map(<[u8]>::to_vec).collect())
}

#[derive(Serialize)]
struct AcfOutput<'a> {
    model: String,
    engine: String,
    chains: usize,
    sweeps: usize,
    seed: u64,
    beta: f64,
    zero_bias: bool,
    init: String,
    max_lag: usize,
    window_c: f64,
    tau_int: f64,
    tau_int_error: f64,
    window: usize,
    window_closed: bool,
    frozen_times: usize,
    /// C(τ), τ = 0..=max_lag.
    c: &'a [f64],
    /// ACF_N(0, τ): from the first recorded sweep.
    acf_n_first: Option<&'a [f64]>,
    /// Ensemble mean of m(t), t = 0..sweeps.
    mean_magnetisation: &'a [f64],
    /// Ensemble variance of m(t).
    variance_magnetisation: &'a [f64],
}

fn summary_rows(out: &AcfOutput<'_>) -> Vec<Vec<String>> {
    let closed = if out.window_closed { String::new() } else { " (not closed: raise --max-lag)".into() };
    let mut rows = vec![
        vec!["engine".into(), out.engine.clone()],
        vec!["chains x sweeps".into(), format!("{} x {}", out.chains, out.sweeps)],
        vec!["start".into(), out.init.clone()],
        vec!["biases".into(), if out.zero_bias { "set to 0".into() } else { "from the model".into() }],
        vec!["tau_int".into(), format!("{:.3} ± {:.3}", out.tau_int, out.tau_int_error)],
        vec!["Sokal window W".into(), format!("{} (c = {}){closed}", out.window, out.window_c)],
    ];
    if out.frozen_times > 0 {
        rows.push(vec!["frozen sweeps (left out)".into(), out.frozen_times.to_string()]);
    }
    rows
}

fn lag_rows(c: &[f64]) -> Vec<Vec<String>> {
    let mut lags: Vec<usize> =
        [0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000].into_iter().filter(|&t| t < c.len()).collect();
    if lags.last() != Some(&(c.len() - 1)) {
        lags.push(c.len() - 1);
    }
    lags.into_iter().map(|t| vec![t.to_string(), format!("{:.5}", c[t])]).collect()
}

/// Run `calo4p acf`.
pub fn run_acf(args: AcfArgs) -> Result<()> {
    crate::atomic::refuse_clobber(&[Some(&args.model), args.init.as_ref()], &[args.output.plot.as_ref()])?;
    let mut model = ModelFile::load(&args.model)?;
    if args.zero_bias {
        model.bias.iter_mut().for_each(|b| *b = 0.0);
    }
    if args.chains < 2 {
        bail!("--chains {} : the ensemble needs at least 2 chains", args.chains);
    }
    if args.sweeps < 2 {
        bail!("--sweeps {}: need at least 2 sweeps", args.sweeps);
    }
    let max_lag = args.max_lag.unwrap_or((args.sweeps / 2).clamp(1, 1000));
    if max_lag == 0 || max_lag >= args.sweeps {
        bail!("--max-lag {max_lag} must be between 1 and --sweeps minus 1 ({})", args.sweeps - 1);
    }
    if !(args.window_c.is_finite() && args.window_c > 0.0) {
        bail!("--window-c {} must be a finite positive number", args.window_c);
    }
    let engine_name = match args.engine {
        AcfEngine::Float => "float",
        AcfEngine::Float32 => "float32",
        AcfEngine::Fixed => "fixed",
    };
    crate::args::fixed_point_only(
        engine_name,
        args.engine == AcfEngine::Fixed,
        &[("--format", args.format.is_some()), ("--lut-bits", args.lut_bits.is_some())],
    )?;
    let format = args.format.unwrap_or(QFormat::Q8_8);
    let engine = match args.engine {
        AcfEngine::Float => Engine::Float,
        AcfEngine::Float32 => Engine::Float32,
        AcfEngine::Fixed => Engine::Fixed(FixedSettings::new(format, args.lut_bits.unwrap_or(16))),
    };
    let mut cfg = SampleConfig::new(engine, args.chains, args.sweeps, 0, args.seed);
    cfg.beta = args.beta;
    cfg.keep_magnetisation = true;
    cfg.progress = !args.quiet && !args.output.json;
    let init = match &args.init {
        Some(path) => {
            let rows = load_init(path, model.num_units())?;
            let text = format!("{} state(s) from {}", rows.len(), path.display());
            cfg.init = Init::Rows(rows);
            text
        }
        None => "random".to_owned(),
    };
    let run = sample::run(&model, &cfg).with_context(|| format!("sampling {}", args.model.display()))?;
    if let Engine::Fixed(_) = engine {
        if let Some(msg) = run.quantisation.message(format) {
            eprintln!("warning: {msg}");
        }
    }
    let keep = args.sweeps.saturating_mul(max_lag + 1) <= MAX_MATRIX;
    let acf = if keep {
        ensemble_acf(&run.magnetisation, args.chains, max_lag, args.window_c)
    } else {
        ensemble_summary(&run.magnetisation, args.chains, max_lag, args.window_c)
    }
    .with_context(|| format!("magnetisation of {}", args.model.display()))?;
    let out = AcfOutput {
        model: args.model.display().to_string(),
        engine: engine.to_string(),
        chains: args.chains,
        sweeps: args.sweeps,
        seed: args.seed,
        beta: args.beta,
        zero_bias: args.zero_bias,
        init,
        max_lag,
        window_c: args.window_c,
        tau_int: acf.tau_int,
        tau_int_error: acf.tau_int_error,
        window: acf.window,
        window_closed: acf.window_closed(),
        frozen_times: acf.frozen_times,
        c: &acf.c,
        acf_n_first: acf.acf_n.first().map(Vec::as_slice),
        mean_magnetisation: &acf.mean,
        variance_magnetisation: &acf.variance,
    };
    if args.output.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&["", "value"], &summary_rows(&out));
        println!();
        print_table(&["lag", "C(lag)"], &lag_rows(&acf.c));
    }
    let lag_points = |v: &[f64]| v.iter().enumerate().map(|(t, &y)| (t as f64, y)).collect::<Vec<_>>();
    let title = format!("magnetisation autocorrelation, τ_int = {:.2} ± {:.2}", acf.tau_int, acf.tau_int_error);
    let mut plot = Plot::new(&title, "lag τ (sweeps)", "autocorrelation", Scale::Linear)
        .with(Series { name: "C(τ): ACF_N(t, τ) averaged over t", points: lag_points(&acf.c) }, Mark::LinePoints);
    if let Some(first) = out.acf_n_first {
        plot = plot
            .with(Series { name: "ACF_N(0, τ): first sweep only (noisy)", points: lag_points(first) }, Mark::Points);
    }
    plot.h_lines.push(0.0);
    plot.v_lines.push((acf.window as f64, format!(" Sokal window W = {}", acf.window)));
    let svg = plot.svg()?;
    if let Some(path) = &args.output.plot {
        crate::atomic::write(path, svg.as_bytes())?;
    }
    if let Some(dir) = &args.output.report {
        let mut report = Report::new(&format!("calo4p acf: {}", args.model.display()));
        report.input(&args.model);
        if let Some(init) = &args.init {
            report.input(init);
        }
        report.text(
            "Magnetisation m(t) = (1/N) Σ_i (2 z_i − 1) after each sweep; averages over the chain ensemble at fixed t. \
             ACF_N(t, τ) = ACF(t, τ) / Var f(t); C(τ) is its average over t; τ_int = 1 + 2 Σ_{τ≤W} C(τ) with \
             Sokal's window W ≥ c τ_int(W) and the Madras–Sokal error.",
        );
        report.table(&["", "value"], summary_rows(&out));
        report.svg("acf.svg", svg);
        let sd: Vec<(f64, f64)> = acf.variance.iter().enumerate().map(|(t, &v)| (t as f64, v.sqrt())).collect();
        report.svg(
            "magnetisation.svg",
            line_plot(
                "ensemble magnetisation per sweep",
                "sweep t",
                "m",
                &[Series { name: "<m(t)>", points: lag_points(&acf.mean) }, Series { name: "sd m(t)", points: sd }],
                Scale::Linear,
            )?,
        );
        report.table(&["lag", "C(lag)"], lag_rows(&acf.c));
        eprintln!("report: {}", report.write(dir)?.display());
    }
    Ok(())
}
