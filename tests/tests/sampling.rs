//! Block Gibbs sampling against exact answers and the reference files.

use calo4p::exact::exact;
use calo4p::model_file::ModelFile;
use calo4p::sample::{run, Engine, FixedSettings, SampleConfig};
use calo4p::statistics::Statistics;
use calo4p_core::QFormat;
use std::path::PathBuf;

fn reference(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/reference/")).join(rel)
}

fn reference_model() -> ModelFile {
    ModelFile::load(&reference("models/rbm_7x7x7x7_seed20250131.json")).unwrap()
}

#[test]
fn exact_matches_reference_to_1e_9() {
    let model = reference_model();
    let want = Statistics::load(&reference("models/rbm_7x7x7x7_seed20250131.exact.json")).unwrap();
    want.check_matches(&model, "exact reference").unwrap();
    let got = exact(&model, 1.0).unwrap();
    assert!((got.ln_z - want.ln_z.unwrap()).abs() < 1e-9, "{} vs {:?}", got.ln_z, want.ln_z);
    for (a, b) in got.mean.iter().zip(&want.mean) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    for (a, b) in got.edge_second_moment.iter().zip(&want.edge_second_moment) {
        assert!((a - b.2).abs() < 1e-9, "{a} vs {b:?}");
    }
}

/// Per-statistic means and standard errors from independent chains: each chain's time
/// average is one observation, so autocorrelation within a chain cannot shrink the error.
struct ChainBatches {
    mean: Vec<f64>,
    se: Vec<f64>,
}

fn chain_batches(model: &ModelFile, samples: &[u8], chains: usize) -> ChainBatches {
    let n = model.num_units();
    let rows = samples.len() / n;
    let sweeps = rows / chains;
    let stats = n + model.edges.len();
    let mut per_chain = vec![vec![0.0; stats]; chains];
    for r in 0..rows {
        let row = &samples[r * n..(r + 1) * n];
        let acc = &mut per_chain[r % chains];
        for i in 0..n {
            acc[i] += row[i] as f64;
        }
        for (k, e) in model.edges.iter().enumerate() {
            acc[n + k] += (row[e.i] & row[e.j]) as f64;
        }
    }
    let mut mean = vec![0.0; stats];
    let mut se = vec![0.0; stats];
    for s in 0..stats {
        let xs: Vec<f64> = per_chain.iter().map(|c| c[s] / sweeps as f64).collect();
        let m = xs.iter().sum::<f64>() / chains as f64;
        let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (chains - 1) as f64;
        mean[s] = m;
        se[s] = (var / chains as f64).sqrt();
    }
    ChainBatches { mean, se }
}

fn exact_vector(model: &ModelFile) -> Vec<f64> {
    let ex = exact(model, 1.0).unwrap();
    ex.mean.iter().chain(&ex.edge_second_moment).copied().collect()
}

/// 2e5 samples (1000 chains x 200 sweeps); every mean and edge moment within 5 standard
/// errors (plus `bias` where a known systematic bias is allowed).
fn assert_agrees(model: &ModelFile, engine: Engine, truth: &[f64], bias: f64) {
    let chains = 1000;
    let mut cfg = SampleConfig::new(engine, chains, 200, 50, 20250131);
    cfg.keep_samples = true;
    let out = run(model, &cfg).unwrap();
    assert_eq!(out.stats.num_samples, Some(200_000));
    let b = chain_batches(model, &out.samples, chains);
    let mut worst: f64 = 0.0;
    for (s, &t) in truth.iter().enumerate() {
        // A statistic pinned at 0 or 1 has no spread; the floor keeps z finite.
        let se = b.se[s].max(1e-6);
        let z = ((b.mean[s] - t).abs() - bias).max(0.0) / se;
        worst = worst.max(z);
        assert!(z < 5.0, "{engine}: statistic {s}: {} vs exact {t} (se {se:.2e})", b.mean[s]);
    }
    // The batch means are the same numbers as the recorded statistics.
    for i in 0..model.num_units() {
        assert!((b.mean[i] - out.stats.mean[i]).abs() < 1e-12);
    }
    eprintln!("{engine}: worst |z| = {worst:.2}");
}

#[test]
fn float_bgs_agrees_with_exact() {
    let model = reference_model();
    assert_agrees(&model, Engine::Float, &exact_vector(&model), 0.0);
}

#[test]
fn fixed_q8_8_bgs_agrees_with_exact() {
    // Q8.8 moves each weight by at most 2^-9; with a 16-bit table this stays within the
    // statistical error of 2e5 samples, so no bias allowance.
    let model = reference_model();
    assert_agrees(&model, Engine::Fixed(FixedSettings::new(QFormat::Q8_8, 16)), &exact_vector(&model), 0.0);
}

/// A model whose weights are exactly representable in Q8.8: the fixed sampler draws from
/// that very model, up to the table's resolution. r = 16: each acceptance probability is
/// within 2^-17 of the true one, which bounds the moment bias well below 2e-4.
#[test]
fn fixed_point_samples_its_own_exact_model() {
    let (model, report) = reference_model().quantised(QFormat::Q8_8).unwrap();
    assert!(report.saturated.is_empty());
    assert_agrees(&model, Engine::Fixed(FixedSettings::new(QFormat::Q8_8, 16)), &exact_vector(&model), 2e-4);
}

#[test]
fn same_seed_same_bytes_and_streams_differ() {
    let model = reference_model();
    let mut cfg = SampleConfig::new(Engine::Fixed(FixedSettings::new(QFormat::Q8_8, 16)), 4, 50, 10, 99);
    cfg.keep_samples = true;
    let a = run(&model, &cfg).unwrap();
    let b = run(&model, &cfg).unwrap();
    assert_eq!(a.samples, b.samples);
    assert_eq!(serde_json::to_string(&a.stats).unwrap(), serde_json::to_string(&b.stats).unwrap());
    let n = model.num_units();
    let chain = |samples: &[u8], c: usize| -> Vec<u8> {
        samples.chunks(n).skip(c).step_by(4).flat_map(|r| r.to_vec()).collect()
    };
    assert_ne!(chain(&a.samples, 0), chain(&a.samples, 1));
    // A chain's trajectory does not depend on how many chains run beside it.
    let mut one = cfg.clone();
    one.chains = 1;
    let c = run(&model, &one).unwrap();
    assert_eq!(chain(&a.samples, 0), c.samples);
    // Float and fixed consume the same draws: with the same seed, their first sweeps agree
    // on every unit whose probability is not within rounding of the draw.
    let mut fl = cfg.clone();
    fl.engine = Engine::Float;
    let f = run(&model, &fl).unwrap();
    let same = f.samples.iter().zip(&a.samples).filter(|(x, y)| x == y).count();
    assert!(same as f64 > 0.99 * f.samples.len() as f64, "{same} of {}", f.samples.len());
}

#[test]
fn clamped_units_stay_put() {
    let model = reference_model();
    let mut cfg = SampleConfig::new(Engine::Float, 8, 100, 0, 5);
    cfg.clamp = (0..7).map(|i| (i, (i % 2) as u8)).collect();
    let out = run(&model, &cfg).unwrap();
    for i in 0..7 {
        assert_eq!(out.stats.mean[i], (i % 2) as f64);
    }
    assert!(out.stats.mean[7..].iter().any(|&m| m > 0.0 && m < 1.0));
}

/// Clamping partition 0 (as Calo4pQVAE clamps the incident-energy code) samples the
/// conditional distribution: the free units' moments match the exact moments of the model
/// with the clamped units folded into their neighbours' biases.
#[test]
fn clamped_sampling_matches_exact_conditional() {
    use calo4p_core::json::Edge;
    let model = reference_model();
    let code: Vec<u8> = (0..7).map(|i| [1, 0, 1, 1, 0, 0, 1][i]).collect();
    let free: Vec<usize> = (7..model.num_units()).collect();
    let mut bias: Vec<f64> = free.iter().map(|&i| model.bias[i]).collect();
    let mut edges = Vec::new();
    for e in &model.edges {
        match (e.i < 7, e.j < 7) {
            (true, false) => bias[e.j - 7] += e.w * code[e.i] as f64,
            (false, true) => bias[e.i - 7] += e.w * code[e.j] as f64,
            (false, false) => edges.push(Edge { i: e.i - 7, j: e.j - 7, w: e.w }),
            (true, true) => unreachable!("no edge inside partition 0"),
        }
    }
    let conditional = ModelFile {
        partition: free.iter().map(|&i| model.partition[i] - 1).collect(),
        bias,
        edges,
        qubits: None,
        zephyr: None,
        description: String::new(),
    };
    let truth = exact(&conditional, 1.0).unwrap();
    let chains = 500;
    let mut cfg = SampleConfig::new(Engine::Fixed(FixedSettings::new(QFormat::Q8_8, 16)), chains, 200, 50, 4);
    cfg.clamp = code.iter().enumerate().map(|(i, &v)| (i, v)).collect();
    cfg.keep_samples = true;
    let out = run(&model, &cfg).unwrap();
    let b = chain_batches(&model, &out.samples, chains);
    for (k, &i) in free.iter().enumerate() {
        let se = b.se[i].max(1e-6);
        assert!((b.mean[i] - truth.mean[k]).abs() < 5.0 * se, "unit {i}: {} vs {}", b.mean[i], truth.mean[k]);
    }
    for (&m, &v) in b.mean.iter().zip(&code) {
        assert_eq!(m, v as f64);
    }
}
