//! The built-in shower generator: valid, deterministic, energy-conserving within its
//! sampling resolution, and with a longitudinal maximum that moves as ln E.

use calo4p::data::synth::{self, Generator, THRESHOLD_MEV};
use calo4p::data::{GeometryKind, Showers};

#[test]
fn every_geometry_gives_valid_sparse_showers() {
    for kind in GeometryKind::ALL {
        let g = kind.geometry();
        let s = synth::generate(&g, 20, 3);
        assert_eq!(s.len(), 20);
        assert_eq!(s.n_voxels, g.n_voxels());
        s.validate(0).unwrap();
        let nonzero: Vec<f32> = s.energies.iter().copied().filter(|&e| e > 0.0).collect();
        assert!(!nonzero.is_empty(), "{kind}");
        assert!(
            nonzero.iter().all(|&e| f64::from(e) >= THRESHOLD_MEV * (1.0 - 1e-6)),
            "{kind}: a voxel below the read-out threshold"
        );
        assert!(nonzero.len() < s.energies.len(), "{kind}: no empty voxel at all");
    }
}

#[test]
fn deterministic_by_seed() {
    let g = GeometryKind::Ds2.geometry();
    assert_eq!(synth::generate(&g, 30, 9), synth::generate(&g, 30, 9));
    assert_ne!(synth::generate(&g, 30, 9), synth::generate(&g, 30, 10));
    // A prefix of a longer run is the shorter run.
    let long = synth::generate(&g, 40, 9);
    let short = synth::generate(&g, 30, 9);
    assert_eq!(&long.energies[..short.energies.len()], &short.energies[..]);
}

#[test]
fn incident_energies_follow_the_data_sets() {
    let s = synth::generate(&GeometryKind::Ds1Photons.geometry(), 3000, 4);
    let mut seen: Vec<f64> = s.incident_energies.clone();
    seen.sort_by(f64::total_cmp);
    seen.dedup();
    let expect: Vec<f64> = (8..=22).map(|k| f64::from(1u32 << k)).collect();
    assert_eq!(seen, expect);
    let s = synth::generate(&GeometryKind::Ds2.geometry(), 3000, 4);
    assert!(s.incident_energies.iter().all(|&e| (1.0e3..=1.0e6).contains(&e)));
    // Log-uniform: about half below sqrt(1e3 * 1e6).
    let below = s.incident_energies.iter().filter(|&&e| e < 10f64.powf(4.5)).count();
    assert!((1300..1700).contains(&below), "{below}");
}

fn ratio_stats(s: &Showers, energy: f64) -> (f64, f64, usize) {
    let r: Vec<f64> = (0..s.len())
        .filter(|&i| s.incident_energies[i] == energy)
        .map(|i| s.row(i).iter().map(|&e| f64::from(e)).sum::<f64>() / energy)
        .collect();
    let n = r.len() as f64;
    let m = r.iter().sum::<f64>() / n;
    let v = r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt(), r.len())
}

#[test]
fn energy_is_conserved_within_the_sampling_resolution() {
    let g = GeometryKind::Ds1Photons.geometry();
    let gen = Generator::new(&g);
    let d = gen.detector().clone();
    let s = synth::generate(&g, 15_000, 21);
    for k in 8..=22 {
        let e = f64::from(1u32 << k);
        let (mean, sd, n) = ratio_stats(&s, e);
        assert!(n > 700, "{n} showers at {e}");
        // Calibrated by 1 / f_s: the mean response is one, less a little leakage.
        assert!((0.93..=1.01).contains(&mean), "E = {e}: mean E_tot/E_inc {mean}");
        // The spread is the sampling resolution a / sqrt(E) (+) c, within a factor 1.5.
        let res = ((d.stochastic * d.stochastic) / (e / 1000.0) + d.constant * d.constant).sqrt();
        eprintln!("E = {e} MeV: E_tot/E_inc = {mean:.4} +- {sd:.4} (a/sqrt(E) + c: {res:.4})");
        assert!(sd > res / 1.5 && sd < res * 1.5, "E = {e}: sd {sd}, expected ~{res}");
    }
    // No shower exceeds its incident energy by more than the resolution allows.
    for i in 0..s.len() {
        let e = s.incident_energies[i];
        let res = ((d.stochastic * d.stochastic) / (e / 1000.0) + d.constant * d.constant).sqrt();
        let tot: f64 = s.row(i).iter().map(|&x| f64::from(x)).sum();
        assert!(tot < e * (1.0 + 6.0 * res), "row {i}: {tot} for {e}");
    }
}

/// Depth (X0) of the maximum of the mean longitudinal profile in data set 2, from a
/// parabola through the largest layer and its neighbours.
fn depth_of_maximum(energy: f64) -> f64 {
    let g = GeometryKind::Ds2.geometry();
    let gen = Generator::new(&g);
    let layers: Vec<_> = g.relevant_layers().cloned().collect();
    let mut profile = vec![0.0f64; layers.len()];
    let mut out = vec![0.0f32; g.n_voxels()];
    for seed in 0..400 {
        gen.shower_at_energy(seed, energy, &mut out);
        for (k, l) in layers.iter().enumerate() {
            profile[k] += out[l.range()].iter().map(|&e| f64::from(e)).sum::<f64>();
        }
    }
    let k = (1..profile.len() - 1).max_by(|&a, &b| profile[a].total_cmp(&profile[b])).unwrap();
    let (y0, y1, y2) = (profile[k - 1], profile[k], profile[k + 1]);
    let offset = 0.5 * (y0 - y2) / (y0 - 2.0 * y1 + y2);
    let width = gen.detector().layers[0].depth.1;
    (k as f64 + 0.5 + offset) * width
}

#[test]
fn longitudinal_maximum_moves_with_ln_e() {
    let critical = Generator::new(&GeometryKind::Ds2.geometry()).detector().critical_mev;
    let energies = [2.0e3, 2.0e4, 2.0e5];
    let depths: Vec<f64> = energies.iter().map(|&e| depth_of_maximum(e)).collect();
    for (&e, &t) in energies.iter().zip(&depths) {
        // GFLASH: T = ln(E / E_c) - 0.86 for the average profile of electrons.
        let expect = (e / critical).ln() - 0.858;
        eprintln!("E = {e} MeV: maximum at {t:.2} X0 (GFLASH {expect:.2})");
        assert!((t - expect).abs() < 1.0, "E = {e}: maximum at {t} X0, expected {expect}");
    }
    // Each decade of energy moves the maximum by ln 10 = 2.3 X0.
    for w in depths.windows(2) {
        let step = w[1] - w[0];
        assert!((step - 10f64.ln()).abs() < 0.5, "step {step}");
    }
}

#[test]
fn pions_respond_less_than_photons() {
    let s = synth::generate(&GeometryKind::Ds1Pions.geometry(), 3000, 5);
    s.validate(0).unwrap();
    let r: f64 =
        (0..s.len()).map(|i| s.row(i).iter().map(|&e| f64::from(e)).sum::<f64>() / s.incident_energies[i]).sum::<f64>()
            / s.len() as f64;
    assert!((0.6..0.98).contains(&r), "mean pion response {r}");
}
