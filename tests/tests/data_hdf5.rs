//! CaloChallenge HDF5 files: the reference fixture, files h5py wrote, files calo4p wrote
//! (as h5py sees them), round trips, and every kind of bad input.

use std::fs;
use std::path::{Path, PathBuf};

use calo4p::data::hdf5::{self, FloatType, ShowerReader, WriteOptions};
use calo4p::data::{GeometryKind, Showers};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/data").join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calo4p-data-hdf5-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn summary(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}

fn check_against_summary(h5: &Path, json: &Path) {
    let s = hdf5::read(h5).unwrap();
    let want = summary(json);
    assert_eq!(s.len() as u64, want["n"].as_u64().unwrap());
    assert_eq!(s.n_voxels as u64, want["voxels"].as_u64().unwrap());
    let sum: f64 = s.energies.iter().map(|&e| f64::from(e)).sum();
    let inc: f64 = s.incident_energies.iter().sum();
    let row0: f64 = s.row(0).iter().map(|&e| f64::from(e)).sum();
    let nonzero = s.energies.iter().filter(|&&e| e > 0.0).count() as u64;
    assert!(close(sum, want["sum_showers"].as_f64().unwrap(), 1e-12), "{sum}");
    assert!(close(inc, want["sum_incident"].as_f64().unwrap(), 1e-12), "{inc}");
    assert!(close(row0, want["row0_sum"].as_f64().unwrap(), 1e-12), "{row0}");
    assert_eq!(nonzero, want["nonzero"].as_u64().unwrap());
}

#[test]
fn reads_the_reference_format_fixture() {
    // Written by h5py with the challenge's layout (see tests/fixtures/README.md).
    check_against_summary(
        &fixture("ds1_photons_format_fixture.h5"),
        &fixture("ds1_photons_format_fixture.summary.json"),
    );
    let r = ShowerReader::open(&fixture("ds1_photons_format_fixture.h5")).unwrap();
    assert_eq!(r.showers_info().chunks, Some(vec![100, 368]));
    assert_eq!(r.showers_info().filters, vec![2, 1]);
    assert_eq!(GeometryKind::from_voxel_count(r.n_voxels()), Some(GeometryKind::Ds1Photons));
}

#[test]
fn a_file_calo4p_wrote_reads_the_same_in_h5py() {
    // rust_written.h5 came from `calo4p data synth --geometry ds1-pions --n 120 --seed 7
    // --incident-f64`; its summary is h5py's reading of it (make_fixtures.py).
    let want = summary(&fixture("rust_written.summary.json"));
    assert_eq!(want["compression"], "gzip");
    assert_eq!(want["shuffle"], true);
    assert_eq!(want["incident_dtype"], "float64");
    assert_eq!(want["showers_dtype"], "float32");
    check_against_summary(&fixture("rust_written.h5"), &fixture("rust_written.summary.json"));
}

#[test]
fn reads_float64_incident_energies_written_by_h5py() {
    let r = ShowerReader::open(&fixture("features_input.h5")).unwrap();
    assert_eq!(r.incident_info().dtype, FloatType::F64);
    assert_eq!(r.len(), 400);
    // Windows read separately agree with a whole read.
    let all = r.read_all().unwrap();
    let mut pieces = Showers::new(r.n_voxels());
    for start in (0..400).step_by(37) {
        r.read_rows_into(start, 37, &mut pieces).unwrap();
    }
    assert_eq!(pieces, all);
}

#[test]
fn round_trip_preserves_values_and_layout() {
    let geometry = GeometryKind::Ds1Photons.geometry();
    let showers = calo4p::data::synth::generate(&geometry, 250, 5);
    for t in [FloatType::F32, FloatType::F64] {
        let path = scratch(&format!("round-{t}.h5"));
        let opts = WriteOptions { incident_type: t, ..WriteOptions::default() };
        hdf5::write(&path, &showers, &opts).unwrap();
        let r = ShowerReader::open(&path).unwrap();
        assert_eq!(r.incident_info().dtype, t);
        assert_eq!(r.showers_info().shape, vec![250, 368]);
        assert_eq!(r.incident_info().shape, vec![250, 1]);
        assert_eq!(r.showers_info().chunks, Some(vec![100, 368]));
        assert_eq!(r.showers_info().filters, vec![2, 1]);
        let back = r.read_all().unwrap();
        assert_eq!(back.energies, showers.energies);
        for (a, b) in back.incident_energies.iter().zip(&showers.incident_energies) {
            // ds1 energies are powers of two: exact in float32 as well.
            assert_eq!(a, b);
        }
    }
}

fn error_of(path: &Path) -> String {
    format!("{:#}", hdf5::read(path).unwrap_err())
}

#[test]
fn bad_files_are_refused_with_file_dataset_and_row() {
    let e = error_of(&fixture("bad_missing_showers.h5"));
    assert!(e.contains("bad_missing_showers.h5") && e.contains("'showers'"), "{e}");
    // A soft link is named as what it may be, not as an offset overflow.
    let e = error_of(&fixture("bad_soft_link_showers.h5"));
    assert!(e.contains("bad_soft_link_showers.h5: 'showers' is not a dataset stored in this file"), "{e}");
    assert!(e.contains("soft or external link") && !e.contains("overflow"), "{e}");

    let e = error_of(&fixture("bad_row_mismatch.h5"));
    assert!(e.contains("bad_row_mismatch.h5") && e.contains("10 rows") && e.contains("has 9"), "{e}");

    let e = error_of(&fixture("bad_negative_voxel.h5"));
    assert!(e.contains("bad_negative_voxel.h5") && e.contains("'showers' row 3 voxel 5"), "{e}");

    let e = error_of(&fixture("bad_nan_incident.h5"));
    assert!(e.contains("bad_nan_incident.h5") && e.contains("'incident_energies' row 7"), "{e}");

    let geometry = GeometryKind::Ds1Photons.geometry();
    let e = format!("{:#}", calo4p::data::read_for_geometry(&fixture("bad_voxel_count.h5"), &geometry).unwrap_err());
    assert!(e.contains("bad_voxel_count.h5") && e.contains("300 voxels") && e.contains("368"), "{e}");

    let e = error_of(&fixture("does_not_exist.h5"));
    assert!(e.contains("does_not_exist.h5"), "{e}");
}

#[test]
fn truncated_and_corrupted_files_are_refused() {
    let good = fs::read(fixture("ds1_photons_format_fixture.h5")).unwrap();

    let truncated = scratch("truncated.h5");
    fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let e = error_of(&truncated);
    assert!(e.contains("truncated.h5") && e.contains("dataset 'showers' rows 0..100"), "{e}");

    let tiny = scratch("tiny.h5");
    fs::write(&tiny, &good[..40]).unwrap();
    let e = error_of(&tiny);
    assert!(e.contains("tiny.h5"), "{e}");

    // Scramble the compressed chunk data in the back half of the file.
    let mut bad = good.clone();
    let n = bad.len();
    for b in &mut bad[n / 2..n / 2 + 4096] {
        *b ^= 0x5a;
    }
    let corrupted = scratch("corrupted.h5");
    fs::write(&corrupted, &bad).unwrap();
    let e = error_of(&corrupted);
    assert!(e.contains("corrupted.h5") && e.contains("dataset 'showers' rows"), "{e}");
}

#[test]
fn failed_writes_leave_no_file_behind() {
    let dir = scratch("failed");
    fs::create_dir_all(&dir).unwrap();
    let target = dir.join("out.h5");
    let mut s = Showers::new(2);
    s.push(100.0, &[1.0, -1.0]);
    let e = format!("{:#}", hdf5::write(&target, &s, &WriteOptions::default()).unwrap_err());
    assert!(e.contains("out.h5") && e.contains("row 0 voxel 1"), "{e}");
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);

    // A write that fails midway (the emitter errors) removes its temporary file and
    // leaves an existing target untouched.
    fs::write(&target, b"old").unwrap();
    let r = calo4p::atomic::write_with(&target, |_| anyhow::bail!("disk full"));
    assert!(r.is_err());
    assert_eq!(fs::read(&target).unwrap(), b"old");
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
}
