//! `calo4p fpga-sim` on the reference model: its samples pass `validate` against exact; the
//! partitioned mode with η = 1 is the monolithic sampler bit for bit, and with a small η
//! shows a bias that `validate`'s machinery measures.

use calo4p::fpga_sim::{run, HwConfig, Layout, RunConfig, RunOutput};
use calo4p::model_file::ModelFile;
use calo4p::validation::compare::{compare, Comparison, Side};
use std::path::PathBuf;

fn reference_model() -> ModelFile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/reference/models/rbm_7x7x7x7_seed20250131.json");
    ModelFile::load(&PathBuf::from(path)).unwrap()
}

fn config(chains: usize, sweeps: usize, devices: usize, eta: f64) -> RunConfig {
    RunConfig {
        chains,
        sweeps,
        burn_in: 100,
        seed: 11,
        beta: 1.0,
        layout: Layout { devices, eta },
        strict: true,
        keep_samples: true,
        progress: false,
    }
}

fn against_exact(model: &ModelFile, out: &RunOutput, chains: usize) -> Comparison {
    let exact = Side::exact(model, 1.0).unwrap();
    let side = Side::from_rows(model, &out.samples, chains, "fpga-sim").unwrap();
    compare(model, &side, &exact, 1.0)
}

#[test]
fn samples_pass_validate_against_exact() {
    let model = reference_model();
    for preset in ["bram-pipelined", "mcu-lane", "pbit-array"] {
        let hw = HwConfig::preset(preset).unwrap();
        let out = run(&model, &hw, &config(64, 1500, 1, 1.0)).unwrap();
        let c = against_exact(&model, &out, 64);
        let z = c.z_max.unwrap();
        assert!(z < 5.0, "{preset}: max |z| {z}, mean bias {}", c.mean_bias_max);
        assert!(out.cycles.total > 0 && out.rates.updates_per_ns > 0.0);
    }
}

/// η = 1 on two devices of L lanes is one device of 2L lanes, sample for sample.
#[test]
fn two_devices_at_eta_one_are_one_device_with_twice_the_lanes() {
    let model = reference_model();
    let mut hw = HwConfig::preset("bram-pipelined").unwrap();
    hw.lanes = 2;
    let split = run(&model, &hw, &config(4, 50, 2, 1.0)).unwrap();
    hw.lanes = 4;
    let whole = run(&model, &hw, &config(4, 50, 1, 1.0)).unwrap();
    assert_eq!(split.samples, whole.samples);
    assert_eq!((split.stats.mean, split.stats.edge_second_moment), (whole.stats.mean, whole.stats.edge_second_moment));
    assert!(split.cycles.link > 0 && whole.cycles.link == 0);
}

/// Stale boundary states bias the distribution; validate's z-scores see it.
#[test]
fn small_eta_shows_a_measurable_bias() {
    let model = reference_model();
    let mut hw = HwConfig::preset("bram-pipelined").unwrap();
    hw.lanes = 4;
    let chains = 64;
    let fresh = against_exact(&model, &run(&model, &hw, &config(chains, 1500, 2, 1.0)).unwrap(), chains);
    let stale = against_exact(&model, &run(&model, &hw, &config(chains, 1500, 2, 1.0 / 64.0)).unwrap(), chains);
    let (zf, zs) = (fresh.z_max.unwrap(), stale.z_max.unwrap());
    eprintln!(
        "eta 1: max|z| {zf:.2}, edge bias {:.4}; eta 1/64: max|z| {zs:.2}, edge bias {:.4}",
        fresh.edge_bias_max, stale.edge_bias_max
    );
    assert!(zf < 5.0, "eta = 1 should pass: {zf}");
    assert!(zs > 10.0, "eta = 1/64 should be visibly biased: {zs}");
    assert!(stale.edge_bias_max > 4.0 * fresh.edge_bias_max);
}

/// The files `calo4p fpga-sim --stats --out` writes are read by `validate`'s loader as
/// `calo4p sample`'s are.
#[test]
fn written_files_load_as_validate_sides() {
    let model = reference_model();
    let hw = HwConfig::preset("mcu-lane").unwrap();
    let out = run(&model, &hw, &config(32, 800, 1, 1.0)).unwrap();
    let dir = std::env::temp_dir().join(format!("calo4p-fpga-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (stats, npy) = (dir.join("stats.json"), dir.join("samples.npy"));
    out.stats.save(&stats).unwrap();
    calo4p::npy::write_u8(&npy, &out.samples, out.samples.len() / 28, 28).unwrap();
    let exact = Side::exact(&model, 1.0).unwrap();
    for side in [Side::statistics(&model, &stats).unwrap(), Side::samples(&model, &npy, 32).unwrap()] {
        let c = compare(&model, &side, &exact, 1.0);
        assert!(c.z_max.unwrap() < 5.0, "{}: {:?}", side.label, c.z_max);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
