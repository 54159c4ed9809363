//! Behaviour of the whole VAE: the Boltzmann-machine stage, FPD of trained vs untrained
//! models, bit-exact resume, generation from a dimod SampleSet, and bad input. Tiny networks
//! and latents (exact ln Z), so that they run in seconds.

use super::ais::AisOptions;
use super::checkpoint::Checkpoint;
use super::conditioning::EnergyCode;
use super::config::{Scheme, VaeConfig};
use super::dataset::split;
use super::generate::{
    decode, generate, generate_from, latent_from_fpga_sim, latent_from_gibbs, GenerateOptions, PriorEngine,
};
use super::metrics::EpochMetrics;
use super::prior::Graph;
use super::train::{load_session, Session, TrainOptions, Trainer};
use crate::data::scores::{FpdOptions, KpdOptions};
use crate::data::{self, GeometryKind, Showers};
use burn::tensor::Device;
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calo4p-vae-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn showers(n_train: usize, n_val: usize, seed: u64) -> (Showers, Showers) {
    let s = data::synth::generate(&GeometryKind::Ds1Photons.geometry(), n_train + n_val, seed);
    split(&s, n_train, n_val)
}

fn config(
    scheme: Scheme,
    n: usize,
    hidden: Vec<usize>,
    epochs: usize,
    prior_epochs: usize,
    train: &Showers,
    val: &Showers,
) -> VaeConfig {
    VaeConfig {
        geometry: "ds1-photons".into(),
        n_voxels: 368,
        latent_per_partition: n,
        hidden,
        energy_code: EnergyCode::Binary,
        energy_range: VaeConfig::energy_range_for(train.incident_energies.iter().chain(&val.incident_energies)),
        zephyr: Graph::zephyr(n).unwrap().zephyr,
        scheme,
        seed: 7,
        batch_size: 100,
        learning_rate: 2e-3,
        prior_learning_rate: 0.05,
        epochs,
        prior_epochs,
        temperature: (1.0, 0.2),
        chains: 64,
        sweeps_per_step: 1,
        negative_engine: "float".into(),
        kl_weight: 1.0,
        n_train: train.len(),
        n_val: val.len(),
    }
}

fn options(dir: &std::path::Path, resume: bool) -> TrainOptions {
    TrainOptions {
        dir: dir.to_path_buf(),
        resume,
        progress: false,
        ais: AisOptions { chains: 64, steps: 100, seed: 3 },
        anneal_epochs: 2,
    }
}

fn train(
    config: &VaeConfig,
    train: &Showers,
    val: &Showers,
    dir: &std::path::Path,
    resume: bool,
) -> anyhow::Result<Vec<EpochMetrics>> {
    Trainer::new(config.clone(), train, val, &Device::flex(), options(dir, resume))?.run()
}

#[test]
fn the_boltzmann_machine_stage_lowers_the_nll_of_encoded_data() {
    let (tr, va) = showers(500, 200, 1);
    let dir = scratch("nll");
    let c = config(Scheme::New, 3, vec![32], 2, 3, &tr, &va);
    let m = train(&c, &tr, &va, &dir, false).unwrap();
    assert_eq!(m.len(), 5);
    // After the autoencoder stage the prior is still uniform: NLL = 12 ln 2 exactly.
    assert!(m[1].ln_z_exact);
    assert!((m[1].val_nll - 12.0 * std::f64::consts::LN_2).abs() < 1e-9, "{}", m[1].val_nll);
    assert!(m[4].val_nll < m[1].val_nll - 0.5, "NLL {} -> {}", m[1].val_nll, m[4].val_nll);
    assert!(m.iter().skip(2).all(|e| e.stage == "prior"));
    // The frozen encoder's E_q[ln q] is logged in the prior stage, and barely moves there.
    let prior_entropy: Vec<f64> = m[2..].iter().map(|e| e.entropy.unwrap()).collect();
    let (lo, hi) = prior_entropy.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(hi - lo < 0.05 * lo.abs().max(1.0), "prior-stage entropy {prior_entropy:?}");
    assert!(lo >= -9.0 * std::f64::consts::LN_2 - 1e-9 && hi <= 0.0, "{prior_entropy:?}");
    // The report shows the block spectra at initialisation and after training side by side.
    let page = std::fs::read_to_string(dir.join("report").join("index.html")).unwrap();
    assert!(page.contains("class=\"row\"") && page.contains("svd-0.svg") && page.contains("svd-1.svg"));
    assert!(page.contains("at initialisation") && page.contains("after the new scheme"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resuming_is_bit_exact_on_the_cpu() {
    let (tr, va) = showers(300, 100, 2);
    for (scheme, whole, first) in [(Scheme::Old, (2, 0), (1, 0)), (Scheme::New, (1, 1), (1, 0))] {
        let a = scratch(&format!("resume-a-{scheme:?}"));
        let b = scratch(&format!("resume-b-{scheme:?}"));
        let full = config(scheme, 3, vec![16], whole.0, whole.1, &tr, &va);
        let part = config(scheme, 3, vec![16], first.0, first.1, &tr, &va);
        let ma = train(&full, &tr, &va, &a, false).unwrap();
        train(&part, &tr, &va, &b, false).unwrap();
        let mb = train(&full, &tr, &va, &b, true).unwrap();
        let (ca, cb) = (Checkpoint::load(&a).unwrap(), Checkpoint::load(&b).unwrap());
        assert!(ca.model == cb.model, "{scheme:?}: module records differ");
        assert_eq!(ca.state.chains, cb.state.chains);
        let strip = |m: &[EpochMetrics]| -> Vec<EpochMetrics> {
            m.iter().map(|e| EpochMetrics { seconds: 0.0, negative_phase_seconds: 0.0, ..e.clone() }).collect()
        };
        assert_eq!(strip(&ma), strip(&mb), "{scheme:?}");
        // The metrics log holds each epoch once.
        let log = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
        assert_eq!(log.lines().count(), ma.len());
        // Adam's state came back too (its record's byte order is not fixed): one more epoch
        // from each directory still agrees bit for bit.
        let more = config(
            scheme,
            3,
            vec![16],
            whole.0 + usize::from(whole.1 == 0),
            whole.1 + usize::from(whole.1 > 0),
            &tr,
            &va,
        );
        train(&more, &tr, &va, &a, true).unwrap();
        train(&more, &tr, &va, &b, true).unwrap();
        let (ca, cb) = (Checkpoint::load(&a).unwrap(), Checkpoint::load(&b).unwrap());
        assert!(ca.model == cb.model, "{scheme:?}: module records differ after one more epoch");
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&b);
    }
}

#[test]
fn a_trained_model_beats_an_untrained_one_on_fpd() {
    let (tr, va) = showers(1500, 200, 3);
    let reference = data::synth::generate(&GeometryKind::Ds1Photons.geometry(), 600, 99);
    let dir = scratch("fpd");
    let c = config(Scheme::New, 4, vec![64, 32], 4, 2, &tr, &va);
    train(&c, &tr, &va, &dir, false).unwrap();
    let trained = load_session(&dir, &Device::flex()).unwrap();
    let untrained = Session::new(c, &Device::flex()).unwrap();
    let fpd = FpdOptions { min_samples: 100, max_samples: 600, num_batches: 5, num_points: 3, seed: 1 };
    let kpd = KpdOptions { num_batches: 5, batch_size: 200, seed: 1 };
    let geometry = GeometryKind::Ds1Photons.geometry();
    let score = |s: &Session| {
        let prior = s.prior_file();
        let e = &reference.incident_energies;
        let rows = latent_from_gibbs(s, &prior, e, super::config::NegativeEngine::Float, 20, 5).unwrap();
        let g = decode(s, &rows, e, 5);
        data::evaluate(&geometry, &reference, &g, &fpd, &kpd, None).unwrap().fpd
    };
    let (t, u) = (score(&trained), score(&untrained));
    assert!(t.value + 3.0 * (t.error + u.error) < u.value, "trained FPD {t:?} vs untrained {u:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn sampleset_json(labels: &[u32], rows: &[Vec<u8>]) -> String {
    let data: Vec<String> = rows.iter().map(|r| format!("{:?}", r)).collect();
    let occ: Vec<String> = (0..rows.len()).map(|k| (1 + k % 3).to_string()).collect();
    format!(
        r#"{{"type": "SampleSet", "version": {{"sampleset_schema": "3.2.0"}}, "num_variables": {nv}, "num_rows": {nr},
        "sample_data": {{"type": "array", "data": [{data}], "data_type": "int8", "shape": [{nr}, {nv}], "use_bytes": false}},
        "sample_type": "int8", "sample_packed": false,
        "vectors": {{"num_occurrences": {{"type": "array", "data": [{occ}], "data_type": "int64", "shape": [{nr}], "use_bytes": false}}}},
        "variable_labels": {labels:?}, "variable_type": "BINARY", "info": {{}}}}"#,
        nv = labels.len(),
        nr = rows.len(),
        data = data.join(", "),
        occ = occ.join(", "),
    )
}

#[test]
fn generation_from_a_dimod_sampleset_end_to_end() {
    let (tr, va) = showers(300, 100, 4);
    let dir = scratch("dimod");
    let c = config(Scheme::New, 4, vec![16], 1, 1, &tr, &va);
    train(&c, &tr, &va, &dir, false).unwrap();
    let session = load_session(&dir, &Device::flex()).unwrap();
    let prior = session.prior_file();
    let qubits = prior.qubits.clone().unwrap();
    let n = 4;
    let energies = [1024.0, 65536.0, 1.0e6];
    let mut rows = Vec::new();
    for (k, &e) in energies.iter().cycle().take(12).enumerate() {
        let mut row = vec![0u8; 16];
        session.conditioning.encode(e, &mut row[..n]);
        for (j, z) in row[n..].iter_mut().enumerate() {
            *z = ((k * 7 + j * 3) % 5 < 2) as u8;
        }
        rows.push(row);
    }
    let path = dir.join("sampleset.json");
    std::fs::write(&path, sampleset_json(&qubits, &rows)).unwrap();
    let out = dir.join("showers.h5");
    let opts = GenerateOptions {
        n: 40,
        energies: None,
        engine: PriorEngine::Samples(path),
        sweeps: 10,
        seed: 1,
        prior: None,
        hw: None,
    };
    let g = generate(&dir, &opts, &out).unwrap();
    let back = data::hdf5::read(&out).unwrap();
    assert_eq!(back.len(), 40);
    assert_eq!(back.n_voxels, 368);
    back.validate(0).unwrap();
    assert_eq!(back.energies, g.energies);
    let codes: Vec<f64> = energies
        .iter()
        .map(|&e| {
            let mut z = vec![0u8; n];
            session.conditioning.encode(e, &mut z);
            session.conditioning.decode(&z).unwrap()
        })
        .collect();
    for e in &back.incident_energies {
        assert!(codes.iter().any(|c| (c - e).abs() < 1e-6 * c), "energy {e} is not one of the clamped codes {codes:?}");
    }
    // Without partition 0 the error says what is missing.
    let short: Vec<Vec<u8>> = rows.iter().map(|r| r[n..].to_vec()).collect();
    let path = dir.join("no-code.json");
    std::fs::write(&path, sampleset_json(&qubits[n..], &short)).unwrap();
    let opts = GenerateOptions { engine: PriorEngine::Samples(path), ..opts };
    let err = format!("{:#}", generate(&dir, &opts, &dir.join("bad.h5")).unwrap_err());
    assert!(err.contains("lack partition 0"), "{err}");
    assert!(!dir.join("bad.h5").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_named() {
    let (tr, va) = showers(200, 100, 5);
    let dir = scratch("bad");
    let c = config(Scheme::Old, 3, vec![16], 1, 0, &tr, &va);
    // Geometry mismatch.
    let wrong = Showers { n_voxels: 10, incident_energies: vec![1000.0], energies: vec![0.0; 10] };
    let err = Trainer::new(c.clone(), &tr, &wrong, &Device::flex(), options(&dir, false)).err().unwrap().to_string();
    assert!(err.contains("voxels"), "{err}");
    // NaN (here: overflow) in training stops, naming the step and the term, without files.
    let mut hot = c.clone();
    hot.learning_rate = 1e30;
    let err = format!("{:#}", train(&hot, &tr, &va, &dir, false).unwrap_err());
    assert!(err.contains("training step") && err.contains("term"), "{err}");
    assert!(!super::checkpoint::path(&dir).exists());
    // A checkpoint from another configuration.
    train(&c, &tr, &va, &dir, false).unwrap();
    let other = config(Scheme::Old, 4, vec![16], 2, 0, &tr, &va);
    let err = train(&other, &tr, &va, &dir, true).unwrap_err().to_string();
    assert!(err.contains("another configuration") && err.contains("latent_per_partition"), "{err}");
    // Training again into a directory with a checkpoint needs --resume.
    assert!(train(&c, &tr, &va, &dir, false).unwrap_err().to_string().contains("--resume"));
    // A prior file with the wrong latent size.
    let session = load_session(&dir, &Device::flex()).unwrap();
    let wrong_prior = crate::topology::random_model(1, 4, 5, 1, 0.1, crate::topology::Selection::First).unwrap();
    let p = dir.join("wrong-prior.json");
    wrong_prior.save(&p).unwrap();
    let opts = GenerateOptions {
        n: 5,
        energies: Some(super::generate::Energies::Range(1000.0, 2000.0)),
        engine: PriorEngine::Float,
        sweeps: 5,
        seed: 1,
        prior: Some(p),
        hw: None,
    };
    let err = generate_from(&session, &opts).err().unwrap().to_string();
    assert!(err.contains("wrong-prior.json") && err.contains("latent"), "{err}");
    // --hw belongs to fpga-sim; an unknown preset is named with the ones that exist.
    let opts = GenerateOptions { prior: None, hw: Some("mcu-lane".into()), ..opts };
    assert!(generate_from(&session, &opts)
        .err()
        .unwrap()
        .to_string()
        .contains("--hw applies to --prior-engine fpga-sim"));
    let opts = GenerateOptions { engine: PriorEngine::FpgaSim, hw: Some("no-such-board".into()), ..opts };
    let err = generate_from(&session, &opts).err().unwrap().to_string();
    assert!(err.contains("no-such-board") && err.contains("bram-pipelined"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generation_on_the_simulated_accelerator_end_to_end() {
    let (tr, va) = showers(300, 100, 6);
    let dir = scratch("fpga-sim");
    let c = config(Scheme::New, 4, vec![16], 1, 1, &tr, &va);
    train(&c, &tr, &va, &dir, false).unwrap();
    let session = load_session(&dir, &Device::flex()).unwrap();
    let prior = session.prior_file();
    let energies = [2000.0, 50_000.0, 500_000.0, 3000.0];
    let hw = crate::fpga_sim::load_hw("mcu-lane").unwrap();
    let (start, _) = latent_from_fpga_sim(&session, &prior, &energies, &hw, 0, 3).unwrap();
    let (rows, cycles) = latent_from_fpga_sim(&session, &prior, &energies, &hw, 5, 3).unwrap();
    assert!(cycles.total > 0 && cycles.updates > 0, "{cycles:?}");
    assert_ne!(start, rows, "five sweeps moved no unit");
    // Partition 0 keeps each shower's energy code: the accelerator skips clamped units.
    for (k, &e) in energies.iter().enumerate() {
        let mut code = [0u8; 4];
        session.conditioning.encode(e, &mut code);
        assert_eq!(rows[k * 16..k * 16 + 4], code, "shower {k}");
    }
    // End to end through `generate`, on another preset.
    let out = dir.join("fpga-sim.h5");
    let opts = GenerateOptions {
        n: 30,
        energies: Some(super::generate::Energies::Range(1000.0, 100_000.0)),
        engine: PriorEngine::FpgaSim,
        sweeps: 10,
        seed: 2,
        prior: None,
        hw: Some("pbit-array".into()),
    };
    let g = generate(&dir, &opts, &out).unwrap();
    let back = data::hdf5::read(&out).unwrap();
    assert_eq!(back.len(), 30);
    back.validate(0).unwrap();
    assert_eq!(back.energies, g.energies);
    assert!(back.incident_energies.iter().all(|&e| (1000.0..=100_000.0).contains(&e)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo's VAE stage at its full size (minutes; `cargo test --features vae -- --ignored`).
#[test]
#[ignore]
fn the_demo_stage_runs() {
    let dir = scratch("demo");
    let s = super::demo::demo(&dir, false).unwrap();
    assert!(s.report.exists());
    let trained = &s.scores[0];
    let untrained = s.scores.iter().find(|x| x.name.contains("untrained")).unwrap();
    assert!(trained.fpd.value < untrained.fpd.value, "{:?}", s.scores);
    let _ = std::fs::remove_dir_all(&dir);
}
