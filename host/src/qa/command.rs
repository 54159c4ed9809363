//! `calo4p qa`: the command line of the annealer-sample tools (import, β_eff, Ising export).

use super::{beta, ising};
use crate::model_file::ModelFile;
use crate::progress;
use crate::samples::{self, labels::LabelMode, Format, Imported, ReadOptions};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `calo4p qa`: annealer samples.
#[derive(Args, Debug)]
pub struct QaArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: QaCommand,
}

/// The `qa` subcommands.
#[derive(Subcommand, Debug)]
pub enum QaCommand {
    /// Weighted statistics of annealer samples, in the layout `calo4p sample` writes.
    Import(ImportArgs),
    /// Estimate the effective inverse temperature of annealer samples.
    Beta(BetaArgs),
    /// Write the Ising problem (h, J by qubit) an annealer takes for a model at β.
    #[command(after_help = concat!(
        "Load the file into dimod with:\n\n    ",
        "d = json.load(open(\"ising.json\"))\n    ",
        "bqm = dimod.BinaryQuadraticModel.from_ising(dict(d[\"h\"]), {(a, b): j for a, b, j in d[\"J\"]}, d[\"offset\"])\n\n",
        "With s = 2z - 1: J_ij = -beta W_ij / 4, h_i = -beta (b_i / 2 + sum_j W_ij / 4), and the offset makes the\n",
        "Ising energy equal to beta E(z)."
    ))]
    ExportIsing(ExportArgs),
}

/// Where the samples are and how to read them.
#[derive(Args, Debug, Clone)]
pub struct Input {
    /// Sample file: dimod SampleSet JSON, CSV or .npy.
    pub samples: PathBuf,
    /// Model file (the interchange JSON).
    #[arg(short, long)]
    pub model: PathBuf,
    /// File format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// How variable labels (or .npy columns) name units: `qubit` through the model's `qubits`
    /// (.npy: columns are its qubits in ascending order), `unit` as unit indices (.npy: units in
    /// order); `auto` refuses labels that read both ways unless the file's energies decide.
    #[arg(long, value_enum, default_value_t)]
    pub labels: LabelMode,
    /// Weight per row for .npy samples (a 1-D .npy array).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Ignore `num_occurrences` and weights: every row counts once (this biases averages;
    /// it is here to show by how much).
    #[arg(long)]
    pub unweighted: bool,
    /// Hide progress indicators.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `qa import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    input: Input,
    /// Map the file's variable labels (strings, say) to qubits or unit indices first (as
    /// --labels says): JSON `{"label": qubit, ...}` or a list of `[label, qubit]` pairs.
    #[arg(long, value_name = "FILE")]
    label_map: Option<PathBuf>,
    /// Write the statistics JSON here.
    #[arg(long, short = 'o', visible_alias = "out")]
    stats: Option<PathBuf>,
    /// Print the statistics JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `qa beta`.
#[derive(Args, Debug)]
pub struct BetaArgs {
    #[command(flatten)]
    input: Input,
    /// Map the file's variable labels (strings, say) to qubits or unit indices first (as
    /// --labels says): JSON `{"label": qubit, ...}` or a list of `[label, qubit]` pairs.
    #[arg(long, value_name = "FILE")]
    label_map: Option<PathBuf>,
    /// Which estimates.
    #[arg(long, value_enum, default_value_t)]
    method: beta::Method,
    /// Bootstrap replicates for the uncertainties (0: none).
    #[arg(long, default_value_t = 200)]
    bootstrap: usize,
    /// Seed of the bootstrap and of block Gibbs.
    #[arg(short, long, default_value_t = 0)]
    seed: u64,
    /// Model side of moment matching.
    #[arg(long, value_enum, default_value_t)]
    model_side: beta::ModelSide,
    /// Block Gibbs chains per evaluation of the model side.
    #[arg(long, default_value_t = 64)]
    chains: usize,
    /// Block Gibbs sweeps per evaluation (doubled while the model side is noisier than the samples).
    #[arg(long, default_value_t = 500)]
    sweeps: usize,
    /// Block Gibbs burn-in sweeps.
    #[arg(long, default_value_t = 200)]
    burn_in: usize,
    /// Starting beta of both solvers.
    #[arg(long, default_value_t = 1.0)]
    start: f64,
    /// Most rows pseudo-likelihood uses (a weighted subsample beyond).
    #[arg(long, default_value_t = 20_000)]
    max_rows: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report here.
    #[arg(short, long)]
    out: Option<PathBuf>,
}

/// `qa export-ising`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Model file.
    #[arg(short, long)]
    model: PathBuf,
    /// Inverse temperature folded into h and J.
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::beta)]
    beta: f64,
    /// Output JSON file.
    #[arg(short, long)]
    out: PathBuf,
    /// Layout: h/J lists for `from_ising`, or dimod's own serialization (`from_serializable`).
    #[arg(long, value_enum, default_value_t)]
    format: ising::IsingFormat,
    /// The QPU's working graph (JSON: `qubits` and `couplers` as in `DWaveSampler().properties`,
    /// or `nodes` and `edges`): refuse a model that uses a missing qubit or coupler.
    #[arg(long)]
    working_graph: Option<PathBuf>,
}

/// Run a `qa` command.
pub fn run(args: QaArgs) -> Result<()> {
    match args.command {
        QaCommand::Import(a) => import_cmd(a),
        QaCommand::Beta(a) => beta_cmd(a),
        QaCommand::ExportIsing(a) => export_cmd(a),
    }
}

impl Input {
    /// How [`crate::samples::read`] should read the file.
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions { format: self.format, labels: self.labels, weights: self.weights.clone(), label_map: None }
    }
}

/// Load the model and the samples the way `input` says, weighted unless `--unweighted`.
pub fn load(input: &Input, show: bool) -> Result<(ModelFile, Imported)> {
    load_mapped(input, None, show)
}

/// [`load`], the file's labels first mapped through `label_map` (`--label-map`).
pub fn load_mapped(input: &Input, label_map: Option<&PathBuf>, show: bool) -> Result<(ModelFile, Imported)> {
    let model = ModelFile::load(&input.model)?;
    let bar = progress::spinner(show && !input.quiet, &format!("reading {}", input.samples.display()));
    let options = ReadOptions { label_map: label_map.cloned(), ..input.read_options() };
    let mut imported = samples::read(&input.samples, &model, &options);
    bar.finish_and_clear();
    if let Ok(im) = &mut imported {
        if input.unweighted {
            im.table = im.table.unweighted();
        }
    }
    Ok((model, imported?))
}

fn import_cmd(a: ImportArgs) -> Result<()> {
    crate::atomic::refuse_clobber(
        &[Some(&a.input.samples), Some(&a.input.model), a.input.weights.as_ref(), a.label_map.as_ref()],
        &[a.stats.as_ref()],
    )?;
    let (model, imported) = load_mapped(&a.input, a.label_map.as_ref(), !a.json)?;
    let t = &imported.table;
    let weighting = match (&imported.counts, a.input.unweighted) {
        (_, true) => "unweighted (--unweighted)".to_owned(),
        (Some(c), false) => format!("weighted by {c}"),
        (None, false) => "every row once (the file has no counts)".to_owned(),
    };
    let source = format!(
        "qa import {} ({}, {} rows, {}, {})",
        a.input.samples.display(),
        imported.vartype,
        t.num_rows(),
        imported.mapping,
        weighting
    );
    let bar = progress::spinner(!a.json && !a.input.quiet, "weighted moments and energies");
    let stats = t.statistics(&model, &source)?;
    bar.finish_and_clear();
    let edges: Vec<f64> = stats.edge_second_moment.iter().map(|e| e.2).collect();
    crate::validation::finite::require(
        &format!("statistics of {} (model {})", a.input.samples.display(), a.input.model.display()),
        &[
            ("<E>", &[stats.energy_mean.unwrap_or(0.0)]),
            ("Var(E)", &[stats.energy_variance.unwrap_or(0.0)]),
            ("<z>", &stats.mean),
            ("<z_i z_j>", &edges),
        ],
    )?;
    if let Some(path) = &a.stats {
        stats.save(path)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(());
    }
    println!("samples       {} ({} variables, {})", a.input.samples.display(), model.num_units(), imported.vartype);
    println!("rows          {} ({} distinct), total weight {}", t.num_rows(), t.distinct_rows(), t.total_weight());
    println!("labels        {}", imported.mapping);
    if let Some(e) = &imported.evidence {
        println!("              ({e})");
    }
    match (&imported.counts, a.input.unweighted) {
        (Some(c), false) => {
            // What forgetting the counts would cost, in the largest change of a mean.
            let plain = t.unweighted().unit_means();
            let shift = plain.iter().zip(&stats.mean).map(|(u, w)| (u - w).abs()).fold(0.0, f64::max);
            println!("weighting     {c} (unweighted means would differ by up to {shift:.4})");
        }
        _ => println!("weighting     {weighting}"),
    }
    println!(
        "<E>           {:.6} (variance {:.6})",
        stats.energy_mean.unwrap_or(f64::NAN),
        stats.energy_variance.unwrap_or(f64::NAN)
    );
    println!("\n{:>6} {:>4} {:>10}", "unit", "part", "<z>");
    for (i, m) in stats.mean.iter().enumerate().take(40) {
        println!("{:>6} {:>4} {:>10.6}", i, model.partition[i], m);
    }
    if stats.mean.len() > 40 {
        println!("   ... {} more units (use --json or --stats for all)", stats.mean.len() - 40);
    }
    Ok(())
}

fn beta_cmd(a: BetaArgs) -> Result<()> {
    crate::atomic::refuse_clobber(
        &[Some(&a.input.samples), Some(&a.input.model), a.input.weights.as_ref(), a.label_map.as_ref()],
        &[a.out.as_ref()],
    )?;
    if a.max_rows < 2 {
        bail!("--max-rows {}: pseudo-likelihood needs at least 2 rows", a.max_rows);
    }
    let (model, imported) = load_mapped(&a.input, a.label_map.as_ref(), !a.json)?;
    let config = beta::BetaConfig {
        bootstrap: a.bootstrap,
        seed: a.seed,
        model_side: a.model_side,
        chains: a.chains,
        sweeps: a.sweeps,
        burn_in: a.burn_in,
        start: a.start,
        max_rows: a.max_rows,
        progress: !a.json && !a.input.quiet,
        ..beta::BetaConfig::default()
    };
    let report = beta::estimate(&imported.table, &model, &config, a.method)
        .with_context(|| format!("estimating beta_eff of {}", a.input.samples.display()))?;
    let text = serde_json::to_string_pretty(&report)?;
    if let Some(out) = &a.out {
        crate::atomic::write(out, text.as_bytes())?;
    }
    if a.json {
        println!("{text}");
        return Ok(());
    }
    println!(
        "samples          {} ({} rows, total weight {})",
        a.input.samples.display(),
        report.rows,
        report.total_weight
    );
    println!("<E> (beta = 1)   {:.6} +- {:.6}", report.sample_energy_mean, report.sample_energy_se);
    let show = |name: &str, e: &Option<beta::Estimate>| {
        if let Some(e) = e {
            let err = e.std_error.map_or("(no bootstrap)".to_owned(), |s| format!("+- {s:.5}"));
            println!(
                "{name:<16} {:.5} {err}  [{}; {} iterations{}]",
                e.beta,
                e.method,
                e.iterations,
                if e.converged { "" } else { ", NOT converged" }
            );
        }
    };
    show("moment matching", &report.moment_matching);
    show("pseudo-lik.", &report.pseudo_likelihood);
    Ok(())
}

fn export_cmd(a: ExportArgs) -> Result<()> {
    crate::atomic::refuse_clobber(&[Some(&a.model)], &[Some(&a.out)])?;
    if !(a.beta.is_finite() && a.beta > 0.0) {
        bail!("--beta {} is not a finite positive number", a.beta);
    }
    let model = ModelFile::load(&a.model)?;
    ising::check_layout(&model, &format!("model file {}", a.model.display()))?;
    let problem = ising::ising(&model, a.beta);
    if let Some(path) = &a.working_graph {
        let bytes = crate::memory::read_file(path, crate::memory::MAX_JSON_INPUT, "working graph")?;
        let what = path.display().to_string();
        ising::WorkingGraph::parse(&bytes, &format!("working graph {what}"))?.check(&problem, &what)?;
    }
    let text = match a.format {
        ising::IsingFormat::Json => serde_json::to_string_pretty(&problem)?,
        ising::IsingFormat::Dimod => serde_json::to_string(&ising::dimod_serializable(&model, &problem))?,
    };
    crate::atomic::write(&a.out, text.as_bytes())?;
    if a.format == ising::IsingFormat::Dimod {
        println!(
            "wrote {} ({} variables, {} couplers, beta {}); load it with\n\n\
             bqm = dimod.BinaryQuadraticModel.from_serializable(json.load(open(\"{}\")))",
            a.out.display(),
            problem.h.len(),
            problem.j.len(),
            a.beta,
            a.out.display()
        );
        return Ok(());
    }
    println!(
        "wrote {} ({} variables, {} couplers, beta {}); load it with\n\n{}",
        a.out.display(),
        problem.h.len(),
        problem.j.len(),
        a.beta,
        ising::PYTHON
    );
    Ok(())
}
