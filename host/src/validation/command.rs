//! `calo4p validate` and `calo4p precision`: the command line of the validation tools.

use super::compare::{compare, load_side, Comparison};
use super::{finite, precision};
use crate::model_file::ModelFile;
use crate::report::{print_table, Mark, Output, Plot, Report, Scale, Series};
use anyhow::{bail, Context, Result};
use calo4p_core::QFormat;
use clap::Args;
use std::path::PathBuf;

/// `calo4p validate`: compare samples or statistics with a reference.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Model file.
    #[arg(short, long)]
    pub model: PathBuf,
    /// What is checked: a statistics JSON file (any engine, or `qa import`), a `.npy` sample file,
    /// or annealer samples (dimod SampleSet JSON or CSV, weighted by `num_occurrences`).
    #[arg(long)]
    pub samples: String,
    /// The reference: `exact`, or another statistics, sample or annealer sample file.
    #[arg(long, default_value = "exact")]
    pub reference: String,
    /// Chains interleaved in sample files (rows sweep by sweep, as `calo4p sample --out` writes).
    #[arg(long, default_value_t = 1)]
    pub chains: usize,
    /// How variable labels in annealer sample files name units: `qubit` through the model's
    /// `qubits`, `unit` as unit indices; `auto` refuses labels that read both ways unless the
    /// file's energies decide (as `qa import --labels`).
    #[arg(long, value_enum, default_value_t)]
    pub labels: crate::samples::labels::LabelMode,
    /// Inverse temperature of the exact reference.
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::beta)]
    pub beta: f64,
    /// Fail (exit status 1) when a unit mean or edge moment differs by more than this.
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Fail when any |z| exceeds this.
    #[arg(long)]
    pub max_z: Option<f64>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write the plots (SVG) into this directory.
    #[arg(long = "plot", alias = "plots", value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Write an HTML report (tables and plots) into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Hide progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn comparison_rows(c: &Comparison) -> Vec<Vec<String>> {
    let mut rows = vec![
        vec![
            "effective samples (A, B)".into(),
            format!("{}, {}", opt(c.effective_samples.0, 0), opt(c.effective_samples.1, 0)),
        ],
        vec!["unit means: max |bias|".into(), format!("{:.3e}", c.mean_bias_max)],
        vec!["unit means: RMS bias".into(), format!("{:.3e}", c.mean_bias_rms)],
        vec!["edge moments: max |bias|".into(), format!("{:.3e}", c.edge_bias_max)],
        vec!["edge moments: RMS bias".into(), format!("{:.3e}", c.edge_bias_rms)],
        vec!["max |z|".into(), opt(c.z_max, 2)],
        vec!["fraction |z| > 3".into(), opt(c.z_over_3, 4)],
        vec!["total variation".into(), opt(c.total_variation, 4)],
        vec!["  floor: exact sampler, same N".into(), opt(c.total_variation_floor, 4)],
        vec!["KL(empirical || exact)".into(), opt(c.kl_divergence, 4)],
    ];
    if let Some(f) = &c.frobenius {
        rows.push(vec!["Frobenius ||C_A - C_B||, all units".into(), format!("{:.4}", f.all)]);
        for (p, v) in f.per_partition.iter().enumerate() {
            rows.push(vec![format!("  partition {p}"), format!("{v:.4}")]);
        }
        for (p, q, v) in &f.per_pair {
            rows.push(vec![format!("  partitions {p}-{q}"), format!("{v:.4}")]);
        }
        if !f.frozen_units.is_empty() {
            rows.push(vec!["  units left out (never varied)".into(), format!("{:?}", f.frozen_units)]);
        }
    }
    rows
}

/// Run `calo4p validate`; returns an error (non-zero exit) when a tolerance is exceeded.
pub fn run_validate(args: ValidateArgs) -> Result<()> {
    let model = ModelFile::load(&args.model)?;
    for (name, v) in [("--tolerance", args.tolerance), ("--max-z", args.max_z)] {
        if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
            bail!("{name} must be a finite non-negative number");
        }
    }
    let progress = !args.quiet && !args.json;
    let a = load_side(&model, &args.samples, args.chains, args.beta, args.labels, progress).context("--samples")?;
    let b = load_side(&model, &args.reference, args.chains, args.beta, args.labels, progress).context("--reference")?;
    let c = compare(&model, &a, &b, args.beta);
    c.require_finite().with_context(|| format!("model file {}", args.model.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        println!("A: {}\nB: {}\n", c.a, c.b);
        print_table(&["statistic", "value"], &comparison_rows(&c));
        for note in &c.notes {
            println!("note: {note}");
        }
    }
    if args.plots.is_some() || args.report.is_some() {
        let mut report = Report::new(&format!("calo4p validate: {} vs {}", c.a, c.b));
        report.input(&args.model);
        for side in [&args.samples, &args.reference].into_iter().filter(|s| *s != "exact") {
            report.input(std::path::Path::new(side));
        }
        report.table(&["statistic", "value"], comparison_rows(&c));
        for note in &c.notes {
            report.text(&format!("Note: {note}"));
        }
        let bias: Vec<(f64, f64)> = c.mean_bias.iter().enumerate().map(|(i, &d)| (i as f64, d)).collect();
        let se: Vec<(f64, f64)> = match (&a.se, &b.se) {
            (Some(x), Some(y)) => {
                (0..model.num_units()).map(|i| (i as f64, 2.0 * (x[i] * x[i] + y[i] * y[i]).sqrt())).collect()
            }
            _ => Vec::new(),
        };
        let mut plot = Plot::new("unit mean bias", "unit", "<z_i>_A - <z_i>_B", Scale::Linear)
            .with(Series { name: "mean bias A - B", points: bias }, Mark::Points);
        if !se.is_empty() {
            let minus = se.iter().map(|&(x, y)| (x, -y)).collect();
            plot = plot
                .with(Series { name: "±2 standard errors", points: se }, Mark::Guide)
                .with(Series { name: "", points: minus }, Mark::Guide);
        }
        plot.h_lines.push(0.0);
        report.svg("mean_bias.svg", plot.svg()?);
        if let Some(z) = &c.z {
            let pts: Vec<(f64, f64)> = z.iter().enumerate().map(|(k, &v)| (k as f64, v)).collect();
            let title = format!("z-scores: {} unit means, then {} edge moments", model.num_units(), model.edges.len());
            let mut plot = Plot::new(&title, "statistic", "z", Scale::Linear)
                .with(Series { name: "z", points: pts }, Mark::Points);
            plot.h_lines.extend([-3.0, 0.0, 3.0]);
            plot.v_lines.push((model.num_units() as f64 - 0.5, "edges →".into()));
            report.svg("z_scores.svg", plot.svg()?);
        }
        if let Some(dir) = &args.plots {
            for p in report.write_plots(dir)? {
                eprintln!("wrote {}", p.display());
            }
        }
        if let Some(dir) = &args.report {
            eprintln!("report: {}", report.write(dir)?.display());
        }
    }
    let worst = c.mean_bias_max.max(c.edge_bias_max);
    if let Some(t) = args.tolerance.filter(|&t| worst > t) {
        return Err(crate::output::CheckFailed(format!(
            "validation failed: a moment differs by {worst:.3e}, more than --tolerance {t:e}"
        ))
        .into());
    }
    if let (Some(limit), Some(z)) = (args.max_z, c.z_max) {
        if z > limit {
            return Err(crate::output::CheckFailed(format!(
                "validation failed: |z| reaches {z:.2}, more than --max-z {limit}"
            ))
            .into());
        }
    }
    if args.max_z.is_some() && c.z_max.is_none() {
        bail!("--max-z: z-scores cannot be computed here ({})", c.notes.join("; "));
    }
    Ok(())
}

/// `calo4p precision`: where the fixed-point sampler's bias comes from.
#[derive(Args, Debug)]
pub struct PrecisionArgs {
    /// Model file (small: exact answers are needed; up to 24 units for the exact (b)).
    #[arg(short, long)]
    pub model: PathBuf,
    /// Weight formats to try.
    #[arg(long, value_delimiter = ',', default_value = "Q4.4,Q8.8,Q4.12")]
    pub formats: Vec<QFormat>,
    /// Table resolutions r to try.
    #[arg(long, value_delimiter = ',', default_value = "8,12,16")]
    pub lut_bits: Vec<u32>,
    /// Inverse temperature.
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::beta)]
    pub beta: f64,
    /// Report the smallest setting whose moment bias (a)+(b) stays within this.
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Samples for the statistical error (c), and for (b) on models too large to enumerate.
    #[arg(long, default_value_t = 100_000)]
    pub samples: usize,
    /// Seed for sampling.
    #[arg(short, long, default_value_t = 0)]
    pub seed: u64,
    /// Table or JSON, plot and report.
    #[command(flatten)]
    pub output: Output,
    /// Hide progress bars.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Run `calo4p precision`.
pub fn run_precision(args: PrecisionArgs) -> Result<()> {
    crate::atomic::refuse_clobber(&[Some(&args.model)], &[args.output.plot.as_ref()])?;
    let model = ModelFile::load(&args.model)?;
    if args.tolerance.is_some_and(|t| !(t.is_finite() && t > 0.0)) {
        bail!("--tolerance must be a finite positive number");
    }
    let cfg = precision::PrecisionConfig {
        formats: args.formats.clone(),
        lut_bits: args.lut_bits.clone(),
        beta: args.beta,
        samples: args.samples,
        seed: args.seed,
        progress: !args.quiet && !args.output.json,
    };
    precision::check(&cfg)?;
    let settings =
        precision::decompose(&model, &cfg).with_context(|| format!("model file {}", args.model.display()))?;
    for st in &settings {
        let figures: Vec<f64> =
            [st.quantisation_tv, Some(st.quantisation_moment), st.sampler_tv, Some(st.sampler_moment)]
                .into_iter()
                .chain([st.sampler_moment_se, Some(st.statistical_error), Some(st.total_moment)])
                .flatten()
                .collect();
        finite::require(
            &format!("model file {}: precision {} r={}", args.model.display(), st.format, st.lut_bits),
            &[("(a), (b), (c)", &figures)],
        )?;
    }
    let mut report = Report::new(&format!("calo4p precision: {}", args.model.display()));
    report.input(&args.model);
    let (verdict, svg) = precision::build_report(&settings, &args.formats, args.tolerance, args.samples, &mut report)?;
    if args.output.json {
        let smallest = args.tolerance.and_then(|t| precision::smallest_meeting(&settings, &args.formats, t));
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "settings": settings, "smallest": smallest }))?
        );
    } else {
        print_table(&precision::HEADER, &precision::rows(&settings));
        if let Some(v) = verdict {
            println!("\n{v}");
        }
    }
    if let Some(path) = &args.output.plot {
        crate::atomic::write(path, svg.as_bytes())?;
    }
    if let Some(dir) = &args.output.report {
        eprintln!("report: {}", report.write(dir)?.display());
    }
    Ok(())
}
