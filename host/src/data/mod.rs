//! Calorimeter data: CaloChallenge 2022 files, a built-in shower generator, the
//! challenge's high-level features and the physics distances that score a generator.
//!
//! Layers, bottom up:
//! * [`geometry`]: the challenge's binning files (voxel order, centres);
//! * [`showers`]: a batch of showers in memory, with its invariants;
//! * [`hdf5`]: reading (streamed, validated) and writing (atomic) challenge files;
//! * [`synth`]: the parameterised shower generator;
//! * [`preprocess`]: the VAE's logit transform and its inverse;
//! * [`features`]: high-level features, histograms and separation power;
//! * [`scores`]: FPD and KPD;
//! * [`classifier`]: the challenge's classifier metric (AUC, JSD);
//! * [`report`]: SVG plots and the HTML report of `evaluate --report`.
//!
//! [`DataArgs`] and [`run`] are the `calo4p data` command line.

pub mod classifier;
pub mod features;
pub mod geometry;
pub mod hdf5;
pub mod preprocess;
#[cfg(feature = "cli")]
pub mod report;
pub mod scores;
pub mod showers;
pub mod synth;

use std::path::Path;
#[cfg(feature = "cli")]
use std::path::PathBuf;
#[cfg(feature = "cli")]
use std::time::Instant;

use crate::progress;
#[cfg(feature = "cli")]
use anyhow::Context;
use anyhow::{bail, Result};

pub use geometry::{Geometry, GeometryKind};
pub use showers::Showers;

#[cfg(feature = "cli")]
/// `calo4p data`: CaloChallenge files, synthetic showers and scores.
#[derive(clap::Args, Debug)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DataCommand,
}

#[cfg(feature = "cli")]
/// The `calo4p data` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum DataCommand {
    /// Generate parameterised electromagnetic showers into a CaloChallenge HDF5 file.
    Synth(SynthArgs),
    /// Compare generated showers with reference showers: features, separation powers,
    /// FPD and KPD, and optionally an HTML report with plots.
    Evaluate(EvaluateArgs),
    /// Print shapes, types, energy ranges and sparsity of a file and check it against a
    /// geometry.
    Info(InfoArgs),
}

#[cfg(feature = "cli")]
/// Arguments of `calo4p data synth`.
#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// Calorimeter geometry.
    #[arg(long, value_enum)]
    pub geometry: GeometryKind,
    /// Number of showers.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub n: u64,
    /// Random seed; the output depends only on geometry, n and seed.
    #[arg(short, long, default_value_t = 0)]
    pub seed: u64,
    /// Output file (written under a temporary name, then renamed).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Store incident energies as float64 instead of float32.
    #[arg(long)]
    pub incident_f64: bool,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long)]
    pub threads: Option<usize>,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
    /// Hide the progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

#[cfg(feature = "cli")]
/// Arguments of `calo4p data evaluate`.
#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    /// Reference showers (HDF5).
    #[arg(long)]
    pub reference: PathBuf,
    /// Generated showers (HDF5).
    #[arg(long)]
    pub generated: PathBuf,
    /// Calorimeter geometry of both files.
    #[arg(long, value_enum)]
    pub geometry: GeometryKind,
    /// Write plots and an index.html into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// FPD: smallest batch size [default: JetNet's 20000, scaled to 2/5 of the smaller file
    /// when that holds fewer than 50000 showers].
    #[arg(long)]
    pub fpd_min_samples: Option<usize>,
    /// FPD: largest batch size [default: JetNet's 50000, or the smaller file's size].
    #[arg(long)]
    pub fpd_max_samples: Option<usize>,
    /// FPD: batches per batch size.
    #[arg(long, default_value_t = 20)]
    pub fpd_batches: usize,
    /// FPD: number of batch sizes.
    #[arg(long, default_value_t = 10)]
    pub fpd_points: usize,
    /// KPD: number of batches.
    #[arg(long, default_value_t = 10)]
    pub kpd_batches: usize,
    /// KPD: samples per batch [default: JetNet's 5000, or the smaller file's size].
    #[arg(long)]
    pub kpd_batch_size: Option<usize>,
    /// Seed of the FPD and KPD resampling and of the classifier.
    #[arg(short, long, default_value_t = 42)]
    pub seed: u64,
    /// Classifier metric (the challenge's AUC and JSD, on high-level features): training
    /// epochs; 0 leaves it out.
    #[arg(long, default_value_t = 30)]
    pub classifier_epochs: usize,
    /// Classifier metric: units per hidden layer (two hidden layers).
    #[arg(long, default_value_t = 32)]
    pub classifier_hidden: usize,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Hide the progress bars.
    #[arg(short, long)]
    pub quiet: bool,
}

#[cfg(feature = "cli")]
/// Arguments of `calo4p data info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// The HDF5 file.
    pub file: PathBuf,
    /// Geometry to check against (default: the one whose voxel count matches).
    #[arg(long, value_enum)]
    pub geometry: Option<GeometryKind>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Hide the progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

#[cfg(feature = "cli")]
/// Runs a `calo4p data` subcommand.
pub fn run(args: DataArgs) -> Result<()> {
    match args.command {
        DataCommand::Synth(a) => run_synth(a),
        DataCommand::Evaluate(a) => run_evaluate(a),
        DataCommand::Info(a) => run_info(a),
    }
}

#[cfg(feature = "cli")]
fn run_synth(a: SynthArgs) -> Result<()> {
    let geometry = a.geometry.geometry();
    let n = a.n as usize;
    let voxels = geometry.n_voxels();
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let options = hdf5::WriteOptions {
        incident_type: if a.incident_f64 { hdf5::FloatType::F64 } else { hdf5::FloatType::F32 },
        threads,
        ..hdf5::WriteOptions::default()
    };
    // Whole chunks, enough of them to keep every thread busy generating and compressing.
    let batch = (options.chunk_rows * threads.max(10)).min(n);
    crate::memory::ensure(synth_memory(batch, voxels, options.chunk_rows, threads), || {
        format!(
            "{}: batches of {batch} showers of {voxels} voxels ({}) on {threads} threads",
            a.out.display(),
            a.geometry
        )
    })
    .map_err(|e| anyhow::anyhow!("{e}; use fewer threads (-j)"))?;
    let start = Instant::now();
    let bar = progress::bar(a.n, !a.quiet, "generating", "showers");
    let generator = synth::Generator::new(&geometry);
    let (mut e_tot, mut e_inc, mut generating) = (0.0f64, 0.0f64, 0.0f64);
    hdf5::write_streaming(&a.out, n, voxels, &options, |writer| {
        for first in (0..n).step_by(batch.max(1)) {
            let end = (first + batch).min(n);
            let t = Instant::now();
            let showers = generator.generate_parallel(a.seed, first as u64..end as u64, threads, &|done| {
                bar.set_position((first + done) as u64)
            });
            generating += t.elapsed().as_secs_f64();
            // Summed in row order, as over the whole file at once.
            e_tot = showers.energies.iter().fold(e_tot, |sum, &e| sum + f64::from(e));
            e_inc = showers.incident_energies.iter().fold(e_inc, |sum, &e| sum + e);
            writer.push(&showers)?;
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let total = start.elapsed().as_secs_f64();
    if a.json {
        let v = serde_json::json!({
            "file": a.out.display().to_string(),
            "geometry": a.geometry.name(),
            "n": n,
            "voxels": voxels,
            "seed": a.seed,
            "mean_etot_over_einc": e_tot / e_inc,
            "showers_per_second": n as f64 / generating,
            "seconds": total,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "wrote {} showers ({} voxels, {}) to {} in {:.2} s ({:.0} showers/s generated)",
            n,
            voxels,
            a.geometry,
            a.out.display(),
            total,
            n as f64 / generating
        );
    }
    Ok(())
}

/// Peak memory of `data synth`, which generates and writes `batch` showers at a time: the
/// batch (generated in place), and for each compressing thread four chunks (shuffled,
/// deflated, or waiting to be written in order; see `hdf5::stream`).
pub fn synth_memory(batch: usize, voxels: usize, chunk_rows: usize, threads: usize) -> crate::memory::Need {
    let batch = crate::memory::Need::default().array::<f32>(&[batch, voxels]).array::<f64>(&[batch]);
    batch.plus(crate::memory::Need::default().array::<f32>(&[chunk_rows, voxels]).times(4 * threads.max(1)))
}

/// Opens a file and checks its voxel count against `geometry`.
pub fn open_for_geometry(path: &Path, geometry: &Geometry) -> Result<hdf5::ShowerReader> {
    let reader = hdf5::ShowerReader::open(path)?;
    if reader.n_voxels() != geometry.n_voxels() {
        bail!(
            "{}: dataset 'showers' has {} voxels per row, geometry {} has {}",
            path.display(),
            reader.n_voxels(),
            geometry.kind,
            geometry.n_voxels()
        );
    }
    Ok(reader)
}

/// Reads a whole file after checking its voxel count against `geometry`, with a progress bar.
pub fn read_for_geometry(path: &Path, geometry: &Geometry) -> Result<Showers> {
    read_for_geometry_with(path, geometry, true)
}

/// [`read_for_geometry`], with a progress bar when `progress`.
pub fn read_for_geometry_with(path: &Path, geometry: &Geometry, progress: bool) -> Result<Showers> {
    let reader = open_for_geometry(path, geometry)?;
    let bar = progress::bar(reader.len() as u64, progress, &file_name(path), "showers");
    let showers = reader.read_all_with(|done| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    Ok(showers)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// What evaluation needs of one set of showers: its features and its mean shower.
#[derive(Clone, Debug, PartialEq)]
pub struct ShowerSummary {
    /// High-level features of every shower.
    pub features: features::Features,
    /// Mean energy of every voxel (MeV).
    pub mean_shower: Vec<f64>,
    /// Incident energy of every shower (MeV).
    pub incident_energies: Vec<f64>,
    /// Counts of single voxel energies on the bins of [`features::voxel_energy_spec`].
    pub voxel_counts: Vec<f64>,
    /// Sum of the showers in each incident-energy group ([`energy_group`]): key, showers,
    /// voxel sums.
    pub energy_sums: std::collections::BTreeMap<i32, (usize, Vec<f64>)>,
}

/// The incident-energy group of `e` (MeV): its power of two when `e` is one (data set 1's
/// discrete energies), else its decade, offset by 1000 (continuous energies, data sets 2 and 3).
pub fn energy_group(e: f64) -> i32 {
    let l2 = e.log2();
    if e > 0.0 && (l2 - l2.round()).abs() < 1e-9 {
        l2.round() as i32
    } else {
        1000 + e.max(1e-300).log10().floor() as i32
    }
}

/// A label for an incident-energy group.
pub fn energy_group_label(key: i32) -> String {
    if key < 500 {
        format!("E_inc = {} MeV", 2f64.powi(key))
    } else {
        let d = key - 1000;
        format!("E_inc in [1e{d}, 1e{}) MeV", d + 1)
    }
}

impl ShowerSummary {
    /// An empty summary for `geometry`.
    pub fn new(geometry: &Geometry) -> ShowerSummary {
        ShowerSummary {
            features: features::Features { specs: features::specs(geometry), values: Vec::new(), n: 0 },
            mean_shower: vec![0.0; geometry.n_voxels()],
            incident_energies: Vec::new(),
            voxel_counts: vec![0.0; voxel_edges(geometry).len() - 1],
            energy_sums: std::collections::BTreeMap::new(),
        }
    }

    /// Adds a batch of showers.
    pub fn add(&mut self, geometry: &Geometry, showers: &Showers) {
        let n_old = self.features.n as f64;
        let n_new = showers.len() as f64;
        let mut sums = vec![0.0; showers.n_voxels];
        for i in 0..showers.len() {
            let group = self
                .energy_sums
                .entry(energy_group(showers.incident_energies[i]))
                .or_insert_with(|| (0, vec![0.0; showers.n_voxels]));
            group.0 += 1;
            for ((a, g), &e) in sums.iter_mut().zip(group.1.iter_mut()).zip(showers.row(i)) {
                *a += f64::from(e);
                *g += f64::from(e);
            }
        }
        if n_old + n_new > 0.0 {
            for (m, s) in self.mean_shower.iter_mut().zip(&sums) {
                *m = (*m * n_old + s) / (n_old + n_new);
            }
        }
        self.features.extend(&features::compute(geometry, showers));
        self.incident_energies.extend_from_slice(&showers.incident_energies);
        let edges = voxel_edges(geometry);
        let values: Vec<f64> = showers.energies.iter().map(|&e| f64::from(e)).collect();
        for (c, h) in self.voxel_counts.iter_mut().zip(features::histogram(&values, &edges)) {
            *c += h;
        }
    }

    /// The summary of showers in memory.
    pub fn of(geometry: &Geometry, showers: &Showers) -> ShowerSummary {
        let mut s = ShowerSummary::new(geometry);
        s.add(geometry, showers);
        s
    }

    /// The summary of a file, read a window at a time (the showers are never all held),
    /// with a progress bar.
    pub fn of_file(path: &Path, geometry: &Geometry) -> Result<ShowerSummary> {
        ShowerSummary::of_file_with(path, geometry, true)
    }

    /// [`of_file`](Self::of_file), with a progress bar when `progress`.
    pub fn of_file_with(path: &Path, geometry: &Geometry, progress: bool) -> Result<ShowerSummary> {
        let reader = open_for_geometry(path, geometry)?;
        let bar = progress::bar(reader.len() as u64, progress, &file_name(path), "showers");
        let mut s = ShowerSummary::new(geometry);
        let window = (1 << 24) / geometry.n_voxels().max(1);
        let mut start = 0;
        while start < reader.len() {
            let batch = reader.read_rows(start, window.max(1))?;
            s.add(geometry, &batch);
            start += batch.len().max(1);
            bar.set_position(start as u64);
        }
        bar.finish_and_clear();
        Ok(s)
    }
}

fn voxel_edges(geometry: &Geometry) -> Vec<f64> {
    let spec = features::voxel_energy_spec(geometry);
    features::bin_edges(&spec, &[])
}

/// A set of showers that was evaluated.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SampleInfo {
    /// Its file, when it came from one.
    pub file: String,
    /// Number of showers.
    pub n: usize,
}

/// Everything `evaluate` computes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Evaluation {
    /// Geometry name.
    pub geometry: String,
    /// The reference showers.
    pub reference: SampleInfo,
    /// The generated showers.
    pub generated: SampleInfo,
    /// Fréchet physics distance.
    pub fpd: scores::Score,
    /// Kernel physics distance.
    pub kpd: scores::Score,
    /// FPD settings.
    pub fpd_options: scores::FpdOptions,
    /// KPD settings.
    pub kpd_options: scores::KpdOptions,
    /// Per-feature histograms and separation powers: the features FPD and KPD use, then
    /// the voxel-energy distribution and (data set 1) `E_tot / E_inc` per incident energy.
    pub features: Vec<features::FeatureComparison>,
    /// The classifier metric on the high-level features, when it was asked for.
    pub classifier: Option<classifier::ClassifierScore>,
    /// What was adapted to the data, and why.
    pub notes: Vec<String>,
}

/// The classifier's inputs for a set of showers: its high-level features, with layer
/// energies as ln(1 + E/MeV) (they span decades), and ln E_inc; rows of `features.dim() + 1`.
pub fn classifier_inputs(features: &features::Features, incident_energies: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(features.n * (features.dim() + 1));
    for (i, &e_inc) in incident_energies.iter().enumerate().take(features.n) {
        for (x, spec) in features.row(i).iter().zip(&features.specs) {
            out.push(match spec.kind {
                features::FeatureKind::LayerEnergy => x.max(0.0).ln_1p(),
                _ => *x,
            });
        }
        out.push(e_inc.ln());
    }
    out
}

/// Separation powers, FPD, KPD and (with `classifier`) the classifier metric of two
/// summarised sets of showers, with progress bars when `progress`.
pub fn evaluate_summaries(
    geometry: &Geometry,
    reference: &ShowerSummary,
    generated: &ShowerSummary,
    fpd_options: &scores::FpdOptions,
    kpd_options: &scores::KpdOptions,
    classifier: Option<&classifier::ClassifierOptions>,
    progress: bool,
) -> Result<Evaluation> {
    let (fr, fg) = (&reference.features, &generated.features);
    let mut comparisons = features::compare(fr, fg);
    let spec = features::voxel_energy_spec(geometry);
    comparisons.push(features::FeatureComparison {
        edges: features::bin_edges(&spec, &[]),
        separation_power: features::separation_power(&reference.voxel_counts, &generated.voxel_counts),
        reference: reference.voxel_counts.clone(),
        generated: generated.voxel_counts.clone(),
        spec,
    });
    comparisons.extend(features::compare_etot_per_energy(
        geometry,
        (fr, &reference.incident_energies),
        (fg, &generated.incident_energies),
    ));
    let mr = scores::Matrix::new(fr.n, fr.dim(), fr.values.clone());
    let mg = scores::Matrix::new(fg.n, fg.dim(), fg.values.clone());
    let total = (fpd_options.num_points * fpd_options.num_batches) as u64;
    let bar = progress::bar(total, progress, "FPD", "batches");
    let fpd = scores::fpd(&mr, &mg, fpd_options, &|k, _| bar.set_position(k as u64))?;
    bar.finish_and_clear();
    let bar = progress::bar(kpd_options.num_batches as u64, progress, "KPD", "batches");
    let kpd = scores::kpd(&mr, &mg, kpd_options, &|k, _| bar.set_position(k as u64))?;
    bar.finish_and_clear();
    let classifier = match classifier {
        Some(o) => {
            let bar = progress::bar(o.epochs as u64, progress, "classifier", "epochs");
            let score = classifier::score(
                &classifier_inputs(fr, &reference.incident_energies),
                &classifier_inputs(fg, &generated.incident_energies),
                fr.dim() + 1,
                o,
                &|k| bar.set_position(k as u64),
            )?;
            bar.finish_and_clear();
            Some(score)
        }
        None => None,
    };
    Ok(Evaluation {
        geometry: geometry.kind.name().to_string(),
        reference: SampleInfo { file: String::new(), n: fr.n },
        generated: SampleInfo { file: String::new(), n: fg.n },
        fpd,
        kpd,
        fpd_options: *fpd_options,
        kpd_options: *kpd_options,
        features: comparisons,
        classifier,
        notes: Vec::new(),
    })
}

/// Features, separation powers, FPD, KPD and (with `classifier`) the classifier metric of
/// two sets of showers in memory.
pub fn evaluate(
    geometry: &Geometry,
    reference: &Showers,
    generated: &Showers,
    fpd_options: &scores::FpdOptions,
    kpd_options: &scores::KpdOptions,
    classifier: Option<&classifier::ClassifierOptions>,
) -> Result<Evaluation> {
    evaluate_summaries(
        geometry,
        &ShowerSummary::of(geometry, reference),
        &ShowerSummary::of(geometry, generated),
        fpd_options,
        kpd_options,
        classifier,
        true,
    )
}

#[cfg(feature = "cli")]
/// FPD and KPD settings for files of which the smaller holds `n` showers: JetNet's defaults
/// (FPD batches of 20000..50000, KPD batches of 5000) where the files are that large, scaled
/// down to the data otherwise (largest FPD batch n, smallest 2n/5, KPD batches of n), so that
/// no batch resamples a small file many times over. Sizes given on the command line are kept;
/// those larger than the data are reported in the notes.
fn batch_options(a: &EvaluateArgs, n: usize) -> (scores::FpdOptions, scores::KpdOptions, Vec<String>) {
    let d = scores::FpdOptions::default();
    let dk = scores::KpdOptions::default();
    let mut notes = Vec::new();
    let max_samples = a.fpd_max_samples.unwrap_or(d.max_samples.min(n));
    let min_samples = a.fpd_min_samples.unwrap_or(d.min_samples.min((2 * max_samples / 5).max(2)));
    let batch_size = a.kpd_batch_size.unwrap_or(dk.batch_size.min(n));
    if a.fpd_max_samples.is_none() && n < d.max_samples {
        notes.push(format!(
            "FPD batches scaled to the data: {min_samples}..{max_samples} showers (JetNet's 20000..50000 need files of \
             at least 50000; the smaller file holds {n})"
        ));
    }
    if a.kpd_batch_size.is_none() && n < dk.batch_size {
        notes.push(format!("KPD batches of {batch_size} showers (JetNet's 5000 exceed the smaller file's {n})"));
    }
    for (name, size) in [("--fpd-max-samples", a.fpd_max_samples), ("--kpd-batch-size", a.kpd_batch_size)] {
        if let Some(size) = size.filter(|&s| s > n) {
            notes.push(format!(
                "{name} {size} exceeds the smaller file's {n} showers: batches are drawn with replacement and repeat showers"
            ));
        }
    }
    let fpd = scores::FpdOptions {
        min_samples,
        max_samples,
        num_batches: a.fpd_batches,
        num_points: a.fpd_points,
        seed: a.seed,
    };
    let kpd = scores::KpdOptions { num_batches: a.kpd_batches, batch_size, seed: a.seed };
    (fpd, kpd, notes)
}

#[cfg(feature = "cli")]
/// Refuses FPD and KPD settings whose batches do not fit in memory: every batch's resampled
/// showers (two index lists of the batch size) are drawn before the batches run.
fn check_score_memory(fpd: &scores::FpdOptions, kpd: &scores::KpdOptions) -> Result<()> {
    use crate::memory::{ensure, Need};
    let batch =
        |size: usize, batches: usize| Need::default().array::<usize>(&[2, size]).array::<usize>(&[8]).times(batches);
    // FPD's batch sizes lie between its smallest and largest.
    let fpd_need = batch(fpd.max_samples.max(fpd.min_samples), fpd.num_batches).times(fpd.num_points);
    ensure(fpd_need, || {
        format!(
            "FPD with {} batches at each of {} batch sizes up to {} showers (--fpd-batches, --fpd-points, --fpd-max-samples)",
            fpd.num_batches, fpd.num_points, fpd.max_samples
        )
    })?;
    ensure(batch(kpd.batch_size, kpd.num_batches), || {
        format!("KPD with {} batches of {} showers (--kpd-batches, --kpd-batch-size)", kpd.num_batches, kpd.batch_size)
    })
}

#[cfg(feature = "cli")]
fn run_evaluate(a: EvaluateArgs) -> Result<()> {
    let geometry = a.geometry.geometry();
    let reference = ShowerSummary::of_file_with(&a.reference, &geometry, !a.quiet)?;
    let generated = ShowerSummary::of_file_with(&a.generated, &geometry, !a.quiet)?;
    for (flag, path, summary) in [("--reference", &a.reference, &reference), ("--generated", &a.generated, &generated)]
    {
        if summary.features.n < 2 {
            bail!(
                "{flag} {}: holds {} shower(s); evaluate compares distributions and needs at least two in each file",
                path.display(),
                summary.features.n
            );
        }
    }
    let (fpd_options, kpd_options, notes) = batch_options(&a, reference.features.n.min(generated.features.n));
    for note in &notes {
        eprintln!("note: {note}");
    }
    if fpd_options.min_samples < 2
        || fpd_options.max_samples < 2
        || fpd_options.num_batches == 0
        || fpd_options.num_points < 2
    {
        bail!("FPD needs batch sizes of at least 2, at least one batch and two points");
    }
    if kpd_options.batch_size < 2 || kpd_options.num_batches == 0 {
        bail!("KPD needs a batch size of at least 2 and at least one batch");
    }
    if fpd_options.min_samples > fpd_options.max_samples {
        let max_from = if a.fpd_max_samples.is_some() { "--fpd-max-samples" } else { "the smaller file's showers" };
        bail!(
            "--fpd-min-samples {} exceeds the largest FPD batch, {} ({max_from}): FPD extrapolates from the smallest \
             batch size to the largest",
            fpd_options.min_samples,
            fpd_options.max_samples
        );
    }
    check_score_memory(&fpd_options, &kpd_options)?;
    let classifier = classifier::ClassifierOptions {
        epochs: a.classifier_epochs,
        hidden: a.classifier_hidden,
        seed: a.seed,
        ..Default::default()
    };
    if a.classifier_epochs > 0 && a.classifier_hidden == 0 {
        bail!("--classifier-hidden must be at least 1 (or --classifier-epochs 0 to leave the classifier out)");
    }
    let classifier = (a.classifier_epochs > 0).then_some(&classifier);
    let mut ev =
        evaluate_summaries(&geometry, &reference, &generated, &fpd_options, &kpd_options, classifier, !a.quiet)?;
    ev.notes.extend(notes);
    ev.reference.file = a.reference.display().to_string();
    ev.generated.file = a.generated.display().to_string();
    if let Some(dir) = &a.report {
        report::write_report(dir, &geometry, &reference, &generated, &ev)
            .with_context(|| format!("{}: writing the report", dir.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ev)?);
    } else {
        println!(
            "{}: reference {} ({} showers), generated {} ({} showers)",
            ev.geometry, ev.reference.file, ev.reference.n, ev.generated.file, ev.generated.n
        );
        println!(
            "FPD = {:.6} +- {:.6}   KPD = {:.3e} +- {:.3e}",
            ev.fpd.value, ev.fpd.error, ev.kpd.value, ev.kpd.error
        );
        if let Some(c) = &ev.classifier {
            println!(
                "classifier (high-level features, {}/{}/{} showers each): AUC = {:.4} (chance 0.5 +- {:.4})   JSD = {:.4}",
                c.split[0], c.split[1], c.split[2], c.auc, c.auc_null_error, c.jsd
            );
        }
        println!("{:<20} {:>16}", "feature", "separation power");
        for c in &ev.features {
            println!("{:<20} {:>16.6}", c.spec.name, c.separation_power);
        }
        if let Some(dir) = &a.report {
            println!("report: {}", dir.join("index.html").display());
        }
    }
    Ok(())
}

/// What `info` reports about a file.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FileInfo {
    /// The file.
    pub file: String,
    /// Layout of `incident_energies`.
    pub incident_energies: hdf5::DatasetInfo,
    /// Layout of `showers`.
    pub showers: hdf5::DatasetInfo,
    /// Number of showers.
    pub n: usize,
    /// Voxels per shower.
    pub voxels: usize,
    /// Smallest and largest incident energy (MeV).
    pub incident_range: (f64, f64),
    /// Distinct incident energies, when there are at most 32.
    pub incident_values: Option<Vec<f64>>,
    /// Smallest and largest summed shower energy (MeV).
    pub shower_energy_range: (f64, f64),
    /// Mean of E_tot / E_inc.
    pub mean_etot_over_einc: f64,
    /// Largest voxel energy (MeV).
    pub max_voxel: f64,
    /// Fraction of voxels that are zero.
    pub sparsity: f64,
    /// Geometry checked against, if any.
    pub geometry: Option<String>,
    /// Whether the voxel count matches that geometry.
    pub geometry_matches: Option<bool>,
}

/// Reads `path` window by window and summarises it, with a progress bar.
pub fn file_info(path: &Path, geometry: Option<GeometryKind>) -> Result<FileInfo> {
    file_info_with(path, geometry, true)
}

/// [`file_info`], with a progress bar when `progress`.
pub fn file_info_with(path: &Path, geometry: Option<GeometryKind>, progress: bool) -> Result<FileInfo> {
    let reader = hdf5::ShowerReader::open(path)?;
    let n = reader.len();
    let v = reader.n_voxels();
    let mut inc = (f64::INFINITY, f64::NEG_INFINITY);
    let mut tot = (f64::INFINITY, f64::NEG_INFINITY);
    let mut ratio = 0.0;
    let mut max_voxel = 0.0f64;
    let mut zeros = 0usize;
    let mut distinct: Option<Vec<f64>> = Some(Vec::new());
    let bar = progress::bar(n as u64, progress, "reading", "showers");
    let window = 1000;
    let mut start = 0;
    while start < n {
        let s = reader.read_rows(start, window)?;
        for i in 0..s.len() {
            let e = s.incident_energies[i];
            inc = (inc.0.min(e), inc.1.max(e));
            if let Some(d) = &mut distinct {
                if !d.contains(&e) {
                    d.push(e);
                    if d.len() > 32 {
                        distinct = None;
                    }
                }
            }
            let row = s.row(i);
            let sum: f64 = row.iter().map(|&x| f64::from(x)).sum();
            tot = (tot.0.min(sum), tot.1.max(sum));
            ratio += sum / e;
            for &x in row {
                if x == 0.0 {
                    zeros += 1;
                }
                max_voxel = max_voxel.max(f64::from(x));
            }
        }
        start += s.len().max(1);
        bar.set_position(start as u64);
    }
    bar.finish_and_clear();
    if let Some(d) = &mut distinct {
        d.sort_by(f64::total_cmp);
    }
    let kind = geometry.or_else(|| GeometryKind::from_voxel_count(v));
    let matches = kind.map(|k| k.geometry().n_voxels() == v);
    Ok(FileInfo {
        file: path.display().to_string(),
        incident_energies: reader.incident_info().clone(),
        showers: reader.showers_info().clone(),
        n,
        voxels: v,
        incident_range: inc,
        incident_values: distinct,
        shower_energy_range: tot,
        mean_etot_over_einc: if n > 0 { ratio / n as f64 } else { f64::NAN },
        max_voxel,
        sparsity: if n * v > 0 { zeros as f64 / (n * v) as f64 } else { f64::NAN },
        geometry: kind.map(|k| k.name().to_string()),
        geometry_matches: matches,
    })
}

#[cfg(feature = "cli")]
fn run_info(a: InfoArgs) -> Result<()> {
    let info = file_info_with(&a.file, a.geometry, !a.quiet)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        println!("file               {}", info.file);
        for d in [&info.incident_energies, &info.showers] {
            println!("{:<18} shape {:?}, {}, chunks {:?}, filters {:?}", d.name, d.shape, d.dtype, d.chunks, d.filters);
        }
        println!("incident energy    {:.6e} .. {:.6e} MeV", info.incident_range.0, info.incident_range.1);
        if let Some(vals) = &info.incident_values {
            println!("                   {} distinct values", vals.len());
        }
        println!(
            "shower energy      {:.6e} .. {:.6e} MeV, mean E_tot/E_inc {:.4}",
            info.shower_energy_range.0, info.shower_energy_range.1, info.mean_etot_over_einc
        );
        println!("largest voxel      {:.6e} MeV", info.max_voxel);
        println!("sparsity           {:.4} (fraction of zero voxels)", info.sparsity);
        match (&info.geometry, info.geometry_matches) {
            (Some(g), Some(true)) => println!("geometry           {g}: voxel count matches"),
            (Some(g), _) => println!("geometry           {g}: voxel count does NOT match"),
            _ => println!("geometry           none has {} voxels", info.voxels),
        }
    }
    if info.geometry_matches == Some(false) || info.geometry.is_none() {
        bail!(
            "{}: dataset 'showers' has {} voxels per row; {}",
            a.file.display(),
            info.voxels,
            match a.geometry {
                Some(g) => format!("geometry {g} has {}", g.geometry().n_voxels()),
                None => "no CaloChallenge geometry has that many".to_string(),
            }
        );
    }
    Ok(())
}
