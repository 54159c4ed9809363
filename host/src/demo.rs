//! The built-in demonstration: the reference 7x7x7x7 Zephyr model
//! (`rbm_7x7x7x7_seed20250131`, built in: [`REFERENCE_MODEL`]), sampled by float and
//! fixed-point block Gibbs, compared with its exact moments; then the fixed-point bias
//! decomposed into weight quantisation and table resolution on a 16-unit model.

use crate::exact::exact;
use crate::model_file::ModelFile;
use crate::report::print_table;
use crate::sample::{run, Engine, FixedSettings, SampleConfig};
use crate::statistics::Statistics;
use crate::topology::{random_model, Selection};
use crate::validation::precision::{decompose, rows, smallest_meeting, PrecisionConfig, HEADER};
use anyhow::{Context, Result};
use calo4p_core::QFormat;
use std::time::Instant;

/// The reference model `rbm_7x7x7x7_seed20250131.json`, byte for byte the file the tests
/// read from `tests/fixtures/reference/models/` (its exact answers, ln Z included, are there).
pub const REFERENCE_MODEL: &str = include_str!("models/rbm_7x7x7x7_seed20250131.json");

/// [`REFERENCE_MODEL`], parsed.
pub fn reference_model() -> Result<ModelFile> {
    ModelFile::parse(REFERENCE_MODEL.as_bytes()).context("built-in model rbm_7x7x7x7_seed20250131.json")
}

/// Deviation of sampled statistics from exact ones: (max, rms) over unit means and over edge
/// second moments, and the largest |z| with the binomial standard error of independent
/// samples (chains are nearly independent here; `validate` uses effective sample sizes).
pub fn deviation(s: &Statistics, exact: &Statistics) -> [f64; 5] {
    let n = s.num_samples.unwrap_or(1) as f64;
    let z = |p: f64, q: f64| (p - q).abs() / (q * (1.0 - q) / n).sqrt().max(1e-12);
    let [mean_max, mean_rms, edge_max, edge_rms] = s.bias(exact);
    let zmax = s
        .mean
        .iter()
        .zip(&exact.mean)
        .map(|(&a, &b)| z(a, b))
        .chain(s.edge_second_moment.iter().zip(&exact.edge_second_moment).map(|(a, b)| z(a.2, b.2)))
        .fold(0.0, f64::max);
    [mean_max, mean_rms, edge_max, edge_rms, zmax]
}

/// Run the demo, printing a table.
pub fn run_demo(progress: bool) -> Result<()> {
    let model = reference_model()?;
    println!("calo4p demo: rbm_7x7x7x7_seed20250131, {}", model.description);
    println!(
        "{} units, {} edges; sampling 1000 chains x 200 recorded sweeps (after 100 burn-in) per engine\n",
        model.num_units(),
        model.edges.len()
    );
    let t0 = Instant::now();
    let ex = exact(&model, 1.0)?.statistics(&model);
    println!(
        "exact (enumerating 2^21 states): ln Z = {:.6}, <E> = {:.4}, {:.2?}",
        ex.ln_z.unwrap_or(0.0),
        ex.energy_mean.unwrap_or(0.0),
        t0.elapsed()
    );
    let engines = [
        Engine::Float,
        Engine::Fixed(FixedSettings::new(QFormat::Q8_8, 16)),
        Engine::Fixed(FixedSettings::new(QFormat::Q8_8, 12)),
        Engine::Fixed(FixedSettings::new(QFormat::Q4_4, 16)),
    ];
    println!(
        "\n{:<58} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>8}",
        "engine", "max|dm|", "rms dm", "max|dzz|", "rms dzz", "max z", "<E>", "time"
    );
    for engine in engines {
        let mut cfg = SampleConfig::new(engine, 1000, 200, 100, 7);
        cfg.progress = progress;
        let t = Instant::now();
        let out = run(&model, &cfg)?;
        let d = deviation(&out.stats, &ex);
        println!(
            "{:<58} {:>9.5} {:>9.5} {:>9.5} {:>9.5} {:>7.2} {:>9.4} {:>8.2?}",
            engine.to_string(),
            d[0],
            d[1],
            d[2],
            d[3],
            d[4],
            out.stats.energy_mean.unwrap_or(f64::NAN),
            t.elapsed()
        );
    }
    println!(
        "\nmax z is |sample - exact| / standard error with 2e5 samples: values up to about 4 are noise.\n\
         Q8.8 moves the weights by at most 2^-9 (the model changes, the sampler does not); Q4.4 rounds\n\
         weights to 1/16 and shows the quantisation bias clearly."
    );
    // Where the bias comes from, without sampling noise, on a model small enough for the
    // exact stationary distribution of the fixed-point chain.
    let small = random_model(1, 4, 4, 3, 1.0, Selection::First)?;
    let cfg = PrecisionConfig {
        formats: vec![QFormat::Q4_4, QFormat::Q8_8, QFormat::Q4_12],
        lut_bits: vec![8, 12, 16],
        beta: 1.0,
        samples: 200_000,
        seed: 0,
        progress: false,
    };
    println!(
        "\nbias decomposition on a 4x4x4x4 model (16 units), exact: (a) weight quantisation, (b) the sampler's own\n\
         bias (exact stationary distribution of the fixed-point chain vs the quantised model), (c) standard error\n\
         of a moment with 2e5 independent samples\n"
    );
    let settings = decompose(&small, &cfg)?;
    print_table(&HEADER, &rows(&settings));
    if let Some(s) = smallest_meeting(&settings, &cfg.formats, 1e-3) {
        println!(
            "\nsmallest setting whose moment bias stays within 1e-3: {} with a {}-bit table",
            s.format, s.lut_bits
        );
    }
    // Issue 15: the VAE with this prior, trained and scored (cargo feature `vae`).
    #[cfg(feature = "vae")]
    crate::vae::demo::demo(std::path::Path::new("calo4p-demo"), progress)?;
    Ok(())
}
