//! High-level features, separation powers and the FPD/KPD building blocks against an
//! independent numpy computation on fixed inputs (tests/fixtures/data/make_fixtures.py).

use std::path::{Path, PathBuf};

use calo4p::data::features::{self, compare};
use calo4p::data::scores::{self, Matrix};
use calo4p::data::{hdf5, GeometryKind, Showers};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/data").join(name)
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("features_expected.json")).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn split(s: &Showers, at: usize) -> (Showers, Showers) {
    let v = s.n_voxels;
    let a = Showers {
        n_voxels: v,
        incident_energies: s.incident_energies[..at].to_vec(),
        energies: s.energies[..at * v].to_vec(),
    };
    let b = Showers {
        n_voxels: v,
        incident_energies: s.incident_energies[at..].to_vec(),
        energies: s.energies[at * v..].to_vec(),
    };
    (a, b)
}

#[test]
fn features_match_numpy() {
    let want = expected();
    let geometry = GeometryKind::Ds1Photons.geometry();
    let showers = hdf5::read(&fixture("features_input.h5")).unwrap();
    let got = features::compute(&geometry, &showers);
    let names: Vec<&str> = want["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let got_names: Vec<&str> = got.specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(got_names, names);
    let rows = want["features"].as_array().unwrap();
    assert_eq!(rows.len(), got.n);
    for (i, row) in rows.iter().enumerate() {
        for (j, v) in row.as_array().unwrap().iter().enumerate() {
            let (a, b) = (got.row(i)[j], f(v));
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-6), "row {i} feature {}: {a} vs {b}", names[j]);
        }
    }
}

#[test]
fn separation_powers_match_numpy() {
    let want = expected();
    let geometry = GeometryKind::Ds1Photons.geometry();
    let showers = hdf5::read(&fixture("features_input.h5")).unwrap();
    let (a, b) = split(&showers, 200);
    let fa = features::compute(&geometry, &a);
    let fb = features::compute(&geometry, &b);
    for c in compare(&fa, &fb) {
        let w = f(&want["separation_power"][&c.spec.name]);
        assert!((c.separation_power - w).abs() < 1e-12, "{}: {} vs {w}", c.spec.name, c.separation_power);
    }
}

fn normalised_feature_matrices() -> (Matrix, Matrix) {
    let geometry = GeometryKind::Ds1Photons.geometry();
    let showers = hdf5::read(&fixture("features_input.h5")).unwrap();
    let (a, b) = split(&showers, 200);
    let fa = features::compute(&geometry, &a);
    let fb = features::compute(&geometry, &b);
    scores::normalise(&Matrix::new(fa.n, fa.dim(), fa.values), &Matrix::new(fb.n, fb.dim(), fb.values))
}

#[test]
fn frechet_distance_matches_scipy() {
    let want = f(&expected()["frechet_distance"]);
    let (x, y) = normalised_feature_matrices();
    let all: Vec<usize> = (0..x.n).collect();
    let (m1, s1) = scores::mean_cov(&x, &all);
    let (m2, s2) = scores::mean_cov(&y, &all);
    let got = scores::frechet_distance(&m1, &s1, &m2, &s2);
    assert!((got - want).abs() < 1e-7 * want.abs(), "{got} vs {want}");
}

#[test]
fn mmd_matches_numpy() {
    let want = f(&expected()["mmd_poly_unbiased"]);
    let (x, y) = normalised_feature_matrices();
    let all: Vec<usize> = (0..x.n).collect();
    let got = scores::mmd_poly_unbiased(&x, &all, &y, &all);
    assert!((got - want).abs() < 1e-10 * want.abs(), "{got} vs {want}");
}

#[test]
fn fpd_line_fit_matches_curve_fit() {
    let want = expected();
    let xs = |k: &str| -> Vec<f64> { want[k]["x"].as_array().unwrap().iter().map(f).collect() };
    let ys = |k: &str| -> Vec<f64> { want[k]["y"].as_array().unwrap().iter().map(f).collect() };
    let fit = scores::fit_intercept(&xs("fit"), &ys("fit"));
    assert!((fit.intercept - f(&want["fit"]["intercept"])).abs() < 1e-9);
    let e = f(&want["fit"]["intercept_error"]);
    assert!((fit.intercept_error - e).abs() < 1e-6 * e);
    // The unconstrained intercept is negative: the bound holds it at zero.
    let fit = scores::fit_intercept(&xs("fit_bounded"), &ys("fit_bounded"));
    assert!((fit.intercept - f(&want["fit_bounded"]["intercept"])).abs() < 1e-8);
    let slope = f(&want["fit_bounded"]["slope"]);
    assert!((fit.slope - slope).abs() < 1e-4 * slope);
    let e = f(&want["fit_bounded"]["intercept_error"]);
    assert!((fit.intercept_error - e).abs() < 1e-3 * e);
}

#[test]
fn kpd_error_percentiles_match_numpy() {
    let want = expected();
    let vals: Vec<f64> = want["percentiles"]["values"].as_array().unwrap().iter().map(f).collect();
    for (q, k) in [(16.275, "p16"), (50.0, "p50"), (83.725, "p84")] {
        let got = scores::percentile(&vals, q);
        assert!((got - f(&want["percentiles"][k])).abs() < 1e-12, "{k}: {got}");
    }
}

#[test]
fn fpd_and_kpd_separate_equal_from_different_samples() {
    let geometry = GeometryKind::Ds1Photons.geometry();
    let reference = calo4p::data::synth::generate(&geometry, 3000, 1);
    let same = calo4p::data::synth::generate(&geometry, 3000, 2);
    let mut shifted = same.clone();
    for e in &mut shifted.energies {
        *e *= 0.8;
    }
    let fr = features::compute(&geometry, &reference);
    let m = |s: &Showers| {
        let x = features::compute(&geometry, s);
        Matrix::new(x.n, x.dim(), x.values)
    };
    let mr = Matrix::new(fr.n, fr.dim(), fr.values);
    let fpd_opts = scores::FpdOptions { min_samples: 500, max_samples: 2000, num_batches: 4, num_points: 4, seed: 42 };
    let kpd_opts = scores::KpdOptions { num_batches: 4, batch_size: 500, seed: 42 };
    let none = |_: usize, _: usize| {};
    let fpd_same = scores::fpd(&mr, &m(&same), &fpd_opts, &none).unwrap();
    let fpd_diff = scores::fpd(&mr, &m(&shifted), &fpd_opts, &none).unwrap();
    let kpd_same = scores::kpd(&mr, &m(&same), &kpd_opts, &none).unwrap();
    let kpd_diff = scores::kpd(&mr, &m(&shifted), &kpd_opts, &none).unwrap();
    assert!(fpd_diff.value > 5.0 * fpd_same.value.max(1e-4), "{fpd_same:?} {fpd_diff:?}");
    assert!(kpd_diff.value > kpd_same.value + 3.0 * kpd_same.error, "{kpd_same:?} {kpd_diff:?}");
    // Deterministic by seed.
    assert_eq!(fpd_same, scores::fpd(&mr, &m(&same), &fpd_opts, &none).unwrap());
}
