//! `calo4p qa beta`: the effective inverse temperature of samples drawn at a known β lands
//! within 5% of it, by energy moment matching and by maximum pseudo-likelihood.

use calo4p::model_file::ModelFile;
use calo4p::qa::beta::{estimate, BetaConfig, BetaReport, Method, ModelSide};
use calo4p::sample::{self, Engine, SampleConfig};
use calo4p::samples::labels::LabelMode;
use calo4p::samples::sampleset;
use calo4p::samples::table::SampleTable;
use std::collections::HashMap;
use std::path::Path;

fn model() -> ModelFile {
    ModelFile::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/reference/models/rbm_7x7x7x7_seed20250131.json"
    )))
    .unwrap()
}

fn assert_within(report: &BetaReport, truth: f64, what: &str) {
    for (name, e) in [("moment matching", &report.moment_matching), ("pseudo-likelihood", &report.pseudo_likelihood)] {
        let e = e.as_ref().unwrap();
        let rel = (e.beta - truth).abs() / truth;
        assert!(rel < 0.05, "{what}, {name}: {} vs {truth} ({:.1}%)", e.beta, 100.0 * rel);
        assert!(e.converged, "{what}, {name} did not converge");
        let se = e.std_error.unwrap();
        assert!(se > 0.0 && se < 0.02 * truth, "{what}, {name}: bootstrap error {se}");
        // The estimate is consistent with the truth within its own uncertainty.
        assert!((e.beta - truth).abs() < 5.0 * se + 0.01 * truth, "{what}, {name}: {} +- {se}", e.beta);
    }
}

/// Rows drawn by the core sampler at β = 0.7, as they come and aggregated with counts.
#[test]
fn core_sampler_at_known_beta() {
    let model = model();
    let n = model.num_units();
    let truth = 0.7;
    let mut cfg = SampleConfig::new(Engine::Float, 64, 400, 100, 11);
    cfg.beta = truth;
    cfg.keep_samples = true;
    let run = sample::run(&model, &cfg).unwrap();
    let table = SampleTable::from_rows(&run.samples, n, None).unwrap();
    // All 25600 rows in the pseudo-likelihood (no subsample), to compare with the aggregate.
    let config = BetaConfig { bootstrap: 100, max_rows: 100_000, ..BetaConfig::default() };
    let report = estimate(&table, &model, &config, Method::Both).unwrap();
    assert_within(&report, truth, "raw rows");

    // Aggregated as an annealer reports them: distinct rows with counts give the same answer.
    let mut counts: HashMap<&[u8], f64> = HashMap::new();
    for row in run.samples.chunks(n) {
        *counts.entry(row).or_default() += 1.0;
    }
    let (rows, weights): (Vec<&[u8]>, Vec<f64>) = counts.into_iter().unzip();
    let flat: Vec<u8> = rows.concat();
    let aggregated = SampleTable::from_rows(&flat, n, Some(weights)).unwrap();
    assert!(aggregated.num_rows() < table.num_rows());
    let agg = estimate(&aggregated, &model, &config, Method::Both).unwrap();
    for (a, b) in [(&agg.moment_matching, &report.moment_matching), (&agg.pseudo_likelihood, &report.pseudo_likelihood)]
    {
        let (a, b) = (a.as_ref().unwrap().beta, b.as_ref().unwrap().beta);
        // Equal up to where the solvers stop (far below the statistical error).
        assert!((a - b).abs() < 1e-5, "aggregated {a} vs rows {b}");
    }
}

/// The model side of moment matching by block Gibbs instead of enumeration.
#[test]
fn gibbs_model_side() {
    let model = model();
    let truth = 1.3;
    let mut cfg = SampleConfig::new(Engine::Float, 64, 300, 100, 5);
    cfg.beta = truth;
    cfg.keep_samples = true;
    let run = sample::run(&model, &cfg).unwrap();
    let table = SampleTable::from_rows(&run.samples, model.num_units(), None).unwrap();
    let config = BetaConfig { bootstrap: 50, model_side: ModelSide::Gibbs, sweeps: 300, ..BetaConfig::default() };
    let report = estimate(&table, &model, &config, Method::Moments).unwrap();
    let e = report.moment_matching.unwrap();
    assert!(e.method.contains("block Gibbs"), "{}", e.method);
    assert!((e.beta - truth).abs() / truth < 0.05, "{} vs {truth}", e.beta);
    assert!(report.moment_matching_steps.len() > 1);
}

/// dwave-samplers' simulated annealing at a fixed beta of 1 on the model's Ising problem
/// exported at β = 0.6 (tests/fixtures/qa/make_fixtures.py).
#[test]
fn dwave_samplers_at_known_beta() {
    let model = model();
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/qa/rbm_beta0.6.sa.spin.json")).unwrap();
    let im = sampleset::parse(&bytes, &model, LabelMode::Auto, "fixture").unwrap();
    let config = BetaConfig { bootstrap: 100, ..BetaConfig::default() };
    let report = estimate(&im.table, &model, &config, Method::Both).unwrap();
    assert_within(&report, 0.6, "dwave-samplers");
}

/// The reference annealer set was drawn at β = 1.
#[test]
fn reference_sample_set_is_at_beta_one() {
    let model = model();
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/reference/samplesets/rbm_7x7x7x7_seed20250131.sa_beta1.spin.json"
    ))
    .unwrap();
    let im = sampleset::parse(&bytes, &model, LabelMode::Auto, "reference").unwrap();
    let report =
        estimate(&im.table, &model, &BetaConfig { bootstrap: 50, start: 0.3, ..BetaConfig::default() }, Method::Both)
            .unwrap();
    assert_within(&report, 1.0, "reference");
}

/// Rows that all sit at their conditional modes give no finite pseudo-likelihood estimate.
#[test]
fn ground_state_only_is_refused() {
    let model = model();
    let n = model.num_units();
    // Drive a chain to a low-energy state at a large beta, then take that one row.
    let mut cfg = SampleConfig::new(Engine::Float, 1, 1, 2000, 3);
    cfg.beta = 50.0;
    cfg.keep_samples = true;
    let run = sample::run(&model, &cfg).unwrap();
    let table = SampleTable::from_rows(&run.samples[..n], n, None).unwrap();
    let e = estimate(&table, &model, &BetaConfig::default(), Method::Pseudolikelihood).unwrap_err();
    assert!(format!("{e:#}").contains("grows without bound"), "{e:#}");
}

/// A model too large to enumerate: the model side is block Gibbs without being asked.
#[test]
fn larger_model_uses_gibbs() {
    use calo4p::topology::{random_model, Selection};
    let model = random_model(2, 4, 40, 9, 0.5, Selection::First).unwrap();
    let truth = 0.8;
    let mut cfg = SampleConfig::new(Engine::Float, 64, 200, 200, 21);
    cfg.beta = truth;
    cfg.keep_samples = true;
    let run = sample::run(&model, &cfg).unwrap();
    let table = SampleTable::from_rows(&run.samples, model.num_units(), None).unwrap();
    let config = BetaConfig { bootstrap: 50, sweeps: 200, ..BetaConfig::default() };
    let report = estimate(&table, &model, &config, Method::Both).unwrap();
    let mm = report.moment_matching.as_ref().unwrap();
    assert!(mm.method.contains("block Gibbs"), "{}", mm.method);
    for e in [mm, report.pseudo_likelihood.as_ref().unwrap()] {
        assert!((e.beta - truth).abs() / truth < 0.05, "{}: {} vs {truth}", e.method, e.beta);
    }
}

/// `calo4p qa beta --json --out` through its clap definitions.
#[test]
fn beta_command_line() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        qa: calo4p::qa::QaArgs,
    }
    let dir = std::env::temp_dir().join(format!("calo4p-qa-beta-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("beta.json");
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/qa/rbm_beta0.6.sa.spin.json");
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/reference/models/rbm_7x7x7x7_seed20250131.json");
    let argv = ["qa", "beta", samples, "--model", model, "--bootstrap", "20", "--seed", "4", "--json"];
    let argv: Vec<&str> = argv.into_iter().chain(["--out", out.to_str().unwrap()]).collect();
    calo4p::qa::run(Cli::try_parse_from(argv).unwrap().qa).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for key in ["moment_matching", "pseudo_likelihood"] {
        let beta = report[key]["beta"].as_f64().unwrap();
        assert!((beta - 0.6).abs() < 0.03, "{key}: {beta}");
        assert!(report[key]["std_error"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(report["total_weight"].as_f64(), Some(20000.0));
    std::fs::remove_dir_all(dir).unwrap();
}
