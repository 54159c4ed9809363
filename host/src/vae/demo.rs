//! The VAE stage of `calo4p demo`: on built-in synthetic ds1-photon showers, train a small
//! model with the new scheme (and, for comparison, one with the old scheme), export and
//! quantise its prior, sample the prior with the float and fixed-point kernels (their bias
//! against each other, split into weight quantisation and the sampler's own arithmetic),
//! generate showers from each, from the simulated accelerator, from the old scheme's model and
//! from an untrained model, and score them against held-back synthetic showers (FPD, KPD,
//! feature histograms, separation powers). One HTML page, `DIR/index.html`.

use super::ais::AisOptions;
use super::config::{Scheme, VaeConfig};
use super::generate::{decode, latent_from_fpga_sim, latent_from_gibbs};
use super::prior::Graph;
use super::train::{Session, TrainOptions, Trainer};
use super::{conditioning::EnergyCode, config::NegativeEngine};
use crate::data::scores::{FpdOptions, KpdOptions};
use crate::data::{self, GeometryKind, Showers};
use crate::model_file::ModelFile;
use crate::report::{line_plot, Report, Scale, Series};
use crate::sample::{run, Engine, FixedSettings, SampleConfig};
use crate::statistics::Statistics;
use anyhow::Result;
use burn::tensor::Device;
use calo4p_core::QFormat;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Sizes of the demo.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Output directory.
    pub dir: PathBuf,
    /// Progress bars.
    pub progress: bool,
    /// Training showers.
    pub n_train: usize,
    /// Validation showers (training's held-back set).
    pub n_val: usize,
    /// Reference showers for scoring (a separate held-back set).
    pub n_reference: usize,
    /// Autoencoder epochs.
    pub epochs: usize,
    /// Boltzmann-machine epochs.
    pub prior_epochs: usize,
    /// Latent units per partition.
    pub latent_per_partition: usize,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Seed.
    pub seed: u64,
}

impl DemoOptions {
    /// The demo's sizes, writing into `dir`.
    pub fn new(dir: PathBuf, progress: bool) -> Self {
        DemoOptions {
            dir,
            progress,
            n_train: 20_000,
            n_val: 2000,
            n_reference: 4000,
            epochs: 12,
            prior_epochs: 10,
            latent_per_partition: 16,
            hidden: vec![256, 128],
            seed: 2026,
        }
    }
}

/// One generator's scores.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Scored {
    /// Which latent source.
    pub name: String,
    /// FPD.
    pub fpd: data::scores::Score,
    /// KPD.
    pub kpd: data::scores::Score,
    /// Mean separation power over the features.
    pub mean_separation_power: f64,
    /// The challenge's classifier metric on high-level features.
    pub classifier: data::classifier::ClassifierScore,
}

/// What the demo measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DemoSummary {
    /// The page.
    pub report: PathBuf,
    /// Scores per generator.
    pub scores: Vec<Scored>,
    /// Seconds of training.
    pub train_seconds: f64,
    /// Seconds in all.
    pub seconds: f64,
}

/// A small configuration for the demo.
pub fn config(o: &DemoOptions, train: &Showers, val: &Showers) -> Result<VaeConfig> {
    let kind = GeometryKind::Ds1Photons;
    Ok(VaeConfig {
        geometry: kind.name().into(),
        n_voxels: kind.geometry().n_voxels(),
        latent_per_partition: o.latent_per_partition,
        hidden: o.hidden.clone(),
        energy_code: EnergyCode::Binary,
        energy_range: VaeConfig::energy_range_for(train.incident_energies.iter().chain(&val.incident_energies)),
        zephyr: Graph::zephyr(o.latent_per_partition)?.zephyr,
        scheme: Scheme::New,
        seed: o.seed,
        batch_size: 128,
        learning_rate: 1e-3,
        prior_learning_rate: 1e-3,
        epochs: o.epochs,
        prior_epochs: o.prior_epochs,
        temperature: (1.0, 0.1),
        chains: 256,
        sweeps_per_step: 20,
        negative_engine: "float32".into(),
        kl_weight: 1.0,
        n_train: train.len(),
        n_val: val.len(),
    })
}

fn histogram_plot(c: &data::features::FeatureComparison, generated: &[(&str, &[f64])]) -> Result<String> {
    let centres: Vec<f64> = c.edges.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    let norm = |h: &[f64]| -> Vec<f64> {
        let s: f64 = h.iter().sum();
        h.iter().map(|x| x / s.max(1e-300)).collect()
    };
    let mut series =
        vec![Series { name: "reference", points: centres.iter().copied().zip(norm(&c.reference)).collect() }];
    for (name, h) in generated {
        series.push(Series { name, points: centres.iter().copied().zip(norm(h)).collect() });
    }
    line_plot(&c.spec.label, &c.spec.label, "fraction", &series, Scale::Linear)
}

/// Run the demo; prints a summary and returns it.
pub fn run_demo(o: &DemoOptions) -> Result<DemoSummary> {
    let t_all = Instant::now();
    let kind = GeometryKind::Ds1Photons;
    let geometry = kind.geometry();
    std::fs::create_dir_all(&o.dir)?;
    let stale = super::checkpoint::path(&o.dir);
    if stale.exists() {
        std::fs::remove_file(&stale)?;
    }
    println!("\nCalo4pQVAE on synthetic {} showers (new scheme), writing {}", kind.name(), o.dir.display());
    let t = Instant::now();
    let showers = data::synth::generate(&geometry, o.n_train + o.n_val, o.seed);
    let (train, val) = super::dataset::split(&showers, o.n_train, o.n_val);
    let reference = data::synth::generate(&geometry, o.n_reference, o.seed ^ 0x5eed);
    println!(
        "  {} training, {} validation and {} reference showers synthesised in {:.1?}",
        train.len(),
        val.len(),
        reference.len(),
        t.elapsed()
    );
    let config = config(o, &train, &val)?;
    let device = Device::flex();
    let options = TrainOptions {
        dir: o.dir.clone(),
        resume: false,
        progress: o.progress,
        ais: AisOptions { chains: 128, steps: 300, seed: o.seed },
        anneal_epochs: o.epochs.max(1),
    };
    let t = Instant::now();
    let mut trainer = Trainer::new(config.clone(), &train, &val, &device, options.clone())?;
    let metrics = trainer.run()?;
    let train_seconds = t.elapsed().as_secs_f64();
    // The old scheme (everything jointly) on the same showers and networks: its prior's
    // spectra stand beside the new scheme's, and its showers are scored too.
    let old_config = VaeConfig { scheme: Scheme::Old, prior_epochs: 0, ..config.clone() };
    let old_dir = o.dir.join("old-scheme");
    let stale = super::checkpoint::path(&old_dir);
    if stale.exists() {
        std::fs::remove_file(&stale)?;
    }
    let t = Instant::now();
    let old_options = TrainOptions { dir: old_dir, ..options };
    let mut old_trainer = Trainer::new(old_config.clone(), &train, &val, &device, old_options)?;
    let old_metrics = old_trainer.run()?;
    let old_seconds = t.elapsed().as_secs_f64();
    let old_last = old_metrics.last().expect("at least one epoch");
    let session = &trainer.session;
    let last = metrics.last().expect("at least one epoch");
    let first_prior = metrics.iter().find(|m| m.stage == "prior").unwrap_or(last);
    println!(
        "  trained {} epochs in {train_seconds:.1} s: val reconstruction {:.3}, val hit {:.3}, prior NLL of encoded showers {:.2} -> {:.2} nats",
        metrics.len(),
        last.val_reconstruction,
        last.val_hit,
        first_prior.val_nll,
        last.val_nll
    );
    println!(
        "  old scheme (joint), {} epochs in {old_seconds:.1} s: val reconstruction {:.3}, val hit {:.3}, prior NLL of encoded showers {:.2} nats",
        old_metrics.len(),
        old_last.val_reconstruction,
        old_last.val_hit,
        old_last.val_nll
    );
    // Export and quantise.
    let prior = session.prior_file();
    prior.save(&o.dir.join("prior.json"))?;
    let q = QFormat::Q8_8;
    let (quantised, qreport) = prior.quantised(q)?;
    quantised.save(&o.dir.join("prior_q8.8.json"))?;
    // Sample the free prior: float, float on the quantised prior, fixed point; a second float
    // run with another seed gives the noise level.
    let sample = |model: &ModelFile, engine: Engine, seed: u64| -> Result<Statistics> {
        let mut c = SampleConfig::new(engine, 512, 200, 100, seed);
        c.progress = false;
        Ok(run(model, &c)?.stats)
    };
    let fixed = Engine::Fixed(FixedSettings::new(q, 16));
    let float = sample(&prior, Engine::Float, 11)?;
    let float2 = sample(&prior, Engine::Float, 12)?;
    let float_q = sample(&quantised, Engine::Float, 13)?;
    let fixed_s = sample(&prior, fixed, 14)?;
    let bias_rows = [
        ("noise: float vs float (another seed)", float2.bias(&float)),
        ("(a) weight quantisation: float on Q8.8 prior vs float", float_q.bias(&float)),
        ("(b) sampler arithmetic: fixed vs float on Q8.8 prior", fixed_s.bias(&float_q)),
        ("total: fixed Q8.8 / 16-bit table vs float", fixed_s.bias(&float)),
    ];
    // Generate from each engine at the reference showers' energies; and from an untrained model.
    let energies = reference.incident_energies.clone();
    let fpd =
        FpdOptions { min_samples: 500, max_samples: energies.len(), num_batches: 10, num_points: 5, seed: o.seed };
    let kpd = KpdOptions { num_batches: 10, batch_size: 500.min(energies.len()), seed: o.seed };
    let untrained = Session::new(config.clone(), &device)?;
    let mut generated: Vec<(String, Showers)> = Vec::new();
    let mut hw_note = String::new();
    for (name, s, engine) in [
        ("float", session, NegativeEngine::Float),
        ("fixed Q8.8", session, NegativeEngine::Fixed(q, 16)),
        ("float, old scheme", &old_trainer.session, NegativeEngine::Float),
        ("untrained model", &untrained, NegativeEngine::Float),
    ] {
        let prior = s.prior_file();
        let rows = latent_from_gibbs(s, &prior, &energies, engine, 100, o.seed)?;
        generated.push((name.to_string(), decode(s, &rows, &energies, o.seed)));
        if name == "fixed Q8.8" {
            // The simulated accelerator (its own Q8.8 datapath and per-lane xoshiro128++ draws).
            let hw = crate::fpga_sim::load_hw(super::generate::DEFAULT_HW)?;
            let t = Instant::now();
            let (rows, cycles) = latent_from_fpga_sim(s, &prior, &energies, &hw, 100, o.seed)?;
            hw_note = format!(
                "fpga-sim {}: {} chains x 100 sweeps with partition 0 clamped, {} cycles ({:.2} ms at {} MHz), simulated in {:.1?}",
                hw.name,
                energies.len(),
                cycles.total,
                cycles.total as f64 / (hw.clock_mhz * 1e3),
                hw.clock_mhz,
                t.elapsed()
            );
            generated.push((format!("fpga-sim {}", hw.name), decode(s, &rows, &energies, o.seed)));
        }
    }
    data::hdf5::write(&o.dir.join("generated_float.h5"), &generated[0].1, &data::hdf5::WriteOptions::default())?;
    let mut scores = Vec::new();
    let mut evaluations = Vec::new();
    for (name, g) in &generated {
        let ev = data::evaluate(&geometry, &reference, g, &fpd, &kpd, Some(&Default::default()))?;
        let msp = ev.features.iter().map(|c| c.separation_power).sum::<f64>() / ev.features.len().max(1) as f64;
        let classifier = ev.classifier.clone().expect("asked for");
        scores.push(Scored { name: name.clone(), fpd: ev.fpd, kpd: ev.kpd, mean_separation_power: msp, classifier });
        evaluations.push(ev);
    }
    // The page.
    let mut page = Report::new("calo4p demo: Calo4pQVAE on synthetic ds1-photon showers");
    page.text(&format!(
        "New scheme: {} autoencoder epochs, then {} Boltzmann-machine epochs with the centred gradient; {} training showers, {} reference showers for scoring. Training took {train_seconds:.1} s.",
        o.epochs, o.prior_epochs, train.len(), reference.len()
    ));
    page.heading("Training");
    super::metrics::training_section(&mut page, &config, &metrics)?;
    page.heading("The old scheme, for comparison");
    page.text(&format!(
        "The same networks and showers trained jointly (reconstruction, hit, entropy and both prior energies, Adam at {}) for {} epochs in {old_seconds:.1} s; its log and report are in old-scheme/. Last epoch: E_q[ln q] {} (-3N ln 2 = {:.2}; the new scheme's frozen encoder: {}), val reconstruction {:.3}, val hit {:.3}, prior NLL of encoded validation showers {:.2} nats.",
        old_config.learning_rate,
        old_metrics.len(),
        old_last.entropy.map_or("-".into(), |e| format!("{e:.2}")),
        -3.0 * config.latent_per_partition as f64 * std::f64::consts::LN_2,
        last.entropy.map_or("-".into(), |e| format!("{e:.2}")),
        old_last.val_reconstruction,
        old_last.val_hit,
        old_last.val_nll
    ));
    let initial = super::train::initial_prior(&config)?;
    let old_prior = old_trainer.session.prior_file();
    super::metrics::svd_section(
        &mut page,
        &[("at initialisation", &initial), ("after the old scheme", &old_prior), ("after the new scheme", &prior)],
    )?;
    page.heading("Prior: float vs fixed point");
    page.text(&format!(
        "Prior exported to prior.json and quantised to {q} (prior_q8.8.json){}. Free-running block Gibbs, 512 chains x 200 sweeps after 100 burn-in; differences of unit means and edge second moments.",
        qreport.message(q).map(|m| format!("; {m}")).unwrap_or_default()
    ));
    page.table(
        &["comparison", "max |dm|", "rms dm", "max |dzz|", "rms dzz"],
        bias_rows
            .iter()
            .map(|(n, b)| {
                vec![
                    n.to_string(),
                    format!("{:.5}", b[0]),
                    format!("{:.5}", b[1]),
                    format!("{:.5}", b[2]),
                    format!("{:.5}", b[3]),
                ]
            })
            .collect(),
    );
    page.heading("Generated showers vs held-back synthetic showers");
    page.text(&format!(
        "Latents for the reference showers' energies from 100 block Gibbs sweeps of the trained prior with partition 0 clamped to each energy code; {hw_note}."
    ));
    page.table(
        &["latent source", "FPD", "KPD", "mean separation power", "classifier AUC", "classifier JSD"],
        scores
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    format!("{:.4} ± {:.4}", s.fpd.value, s.fpd.error),
                    format!("{:.3e} ± {:.1e}", s.kpd.value, s.kpd.error),
                    format!("{:.4}", s.mean_separation_power),
                    format!("{:.3} (chance 0.5 ± {:.3})", s.classifier.auc, s.classifier.auc_null_error),
                    format!("{:.3}", s.classifier.jsd),
                ]
            })
            .collect(),
    );
    let features = &evaluations[0].features;
    let mut header = vec!["feature"];
    header.extend(generated.iter().map(|(n, _)| n.as_str()));
    page.table(
        &header,
        (0..features.len())
            .map(|k| {
                let mut row = vec![features[k].spec.name.clone()];
                row.extend(evaluations.iter().map(|e| format!("{:.4}", e.features[k].separation_power)));
                row
            })
            .collect(),
    );
    for (k, feature) in features.iter().enumerate().take(8) {
        let gens: Vec<(&str, &[f64])> = generated
            .iter()
            .zip(&evaluations)
            .map(|((n, _), e)| (n.as_str(), e.features[k].generated.as_slice()))
            .collect();
        page.svg(&format!("feature-{k}.svg"), histogram_plot(feature, &gens)?);
    }
    let report = page.write(&o.dir)?;
    println!("\n  {:<24} {:>18} {:>22} {:>12} {:>8}", "latent source", "FPD", "KPD", "mean sep.", "AUC");
    for s in &scores {
        println!(
            "  {:<24} {:>9.4} ± {:<7.4} {:>11.3e} ± {:<8.1e} {:>12.4} {:>8.3}",
            s.name, s.fpd.value, s.fpd.error, s.kpd.value, s.kpd.error, s.mean_separation_power, s.classifier.auc
        );
    }
    println!("\n  {hw_note}");
    println!(
        "  prior float vs fixed point (max |d<z>|): noise {:.4}, quantisation {:.4}, arithmetic {:.4}, total {:.4}",
        bias_rows[0].1[0], bias_rows[1].1[0], bias_rows[2].1[0], bias_rows[3].1[0]
    );
    let seconds = t_all.elapsed().as_secs_f64();
    println!("  VAE demo took {seconds:.1} s; report: {}", report.display());
    Ok(DemoSummary { report, scores, train_seconds, seconds })
}

/// The demo stage with its default sizes under `dir`.
pub fn demo(dir: &Path, progress: bool) -> Result<DemoSummary> {
    run_demo(&DemoOptions::new(dir.to_path_buf(), progress))
}
