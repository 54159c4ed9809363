//! Property tests (issue 11): every file calo4p writes, it reads back to the same values;
//! sample sets exported for annealer tools import to the same rows and counts; the same seed
//! gives the same result at 1 and 2 threads. proptest draws the inputs from a fixed seed
//! ([`runner`]), so a failure reproduces on every run.

use calo4p::anneal::{sampleset_json, Row};
use calo4p::data::hdf5::{self, FloatType, WriteOptions};
use calo4p::data::Showers;
use calo4p::model_file::ModelFile;
use calo4p::sample::{self, Engine, FixedSettings, SampleConfig};
use calo4p::samples::labels::LabelMode;
use calo4p::samples::sampleset;
use calo4p::statistics::Statistics;
use calo4p_core::json::Edge;
use calo4p_core::QFormat;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::PathBuf;

/// A runner with `cases` cases from a fixed seed, so failures reproduce.
fn runner(cases: u32) -> TestRunner {
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calo4p-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Any finite f64, from subnormals to ±1.8e308, and plain small numbers.
fn finite() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![any::<f64>().prop_filter("finite", |x| x.is_finite()), -4.0f64..4.0, Just(0.0), Just(-0.0)]
}

/// A valid model: 2 to 4 partitions of 1 to 5 units (sorted by partition), a random subset of
/// the pairs across partitions as edges (either orientation), finite biases and weights
/// drawn by `value`, optionally qubit labels, and a description with characters JSON escapes.
fn model(value: impl Strategy<Value = f64> + Clone) -> impl Strategy<Value = ModelFile> {
    (prop::collection::vec(1usize..=5, 2..=4), any::<u64>(), any::<bool>(), ".{0,12}").prop_flat_map(
        move |(sizes, pick, with_qubits, description)| {
            let partition: Vec<u8> =
                sizes.iter().enumerate().flat_map(|(p, &s)| std::iter::repeat_n(p as u8, s)).collect();
            let n = partition.len();
            let pairs: Vec<(usize, usize)> = (0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .filter(|&(i, j)| partition[i] != partition[j])
                .enumerate()
                .filter(|(k, _)| (pick.rotate_left(*k as u32) & 1) == 1)
                .map(|(k, (i, j))| if k % 3 == 0 { (j, i) } else { (i, j) })
                .collect();
            let m = pairs.len();
            (
                prop::collection::vec(value.clone(), n),
                prop::collection::vec(value.clone(), m),
                Just((partition, pairs, with_qubits, description)),
            )
                .prop_map(|(bias, weights, (partition, pairs, with_qubits, description))| {
                    let n = partition.len();
                    ModelFile {
                        qubits: with_qubits.then(|| (0..n as u32).map(|u| 3 * u + 1).collect()),
                        partition,
                        bias,
                        edges: pairs.iter().zip(weights).map(|(&(i, j), w)| Edge { i, j, w }).collect(),
                        zephyr: None,
                        description,
                    }
                })
        },
    )
}

#[test]
fn model_json_round_trips_exactly() {
    runner(256)
        .run(&model(finite()), |m| {
            let back = ModelFile::parse(m.to_json().as_bytes()).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
            // Bit for bit, -0.0 included.
            prop_assert_eq!(
                back.bias.iter().map(|b| b.to_bits()).collect::<Vec<_>>(),
                m.bias.iter().map(|b| b.to_bits()).collect::<Vec<_>>()
            );
            prop_assert_eq!(back, m);
            Ok(())
        })
        .unwrap();
}

#[test]
fn statistics_files_round_trip_exactly() {
    let path = scratch("stats.json");
    let strategy = (
        prop::collection::vec(0.0f64..=1.0, 1..20),
        prop::collection::vec((0usize..20, 0usize..20, 0.0f64..=1.0), 0..20),
        proptest::option::of(finite()),
        proptest::option::of(0.0f64..1e6),
        proptest::option::of(any::<u64>().prop_map(|n| n >> 11)),
        proptest::option::of(any::<u64>()),
        proptest::option::of(".{0,8}"),
    );
    runner(128)
        .run(&strategy, |(mean, edges, energy_mean, energy_variance, num_samples, saturations, source)| {
            let s = Statistics {
                mean,
                edge_second_moment: edges,
                energy_mean,
                energy_variance,
                num_samples,
                effective_samples: num_samples.map(|n| n as f64 / 3.0),
                ln_z: energy_mean.map(|e| -e),
                source,
                saturations,
            };
            s.save(&path).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
            prop_assert_eq!(Statistics::load(&path).map_err(|e| TestCaseError::fail(format!("{e:#}")))?, s);
            Ok(())
        })
        .unwrap();
}

#[test]
fn npy_sample_files_round_trip() {
    let path = scratch("rows.npy");
    let strategy = (1usize..40, 1usize..70)
        .prop_flat_map(|(rows, cols)| (Just((rows, cols)), prop::collection::vec(0u8..=1, rows * cols)));
    runner(64)
        .run(&strategy, |((rows, cols), data)| {
            calo4p::npy::write_u8(&path, &data, rows, cols).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
            let back = calo4p::npy::read(&path).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
            prop_assert_eq!(back.shape, vec![rows, cols]);
            prop_assert_eq!(back.data, data.iter().map(|&b| f64::from(b)).collect::<Vec<_>>());
            Ok(())
        })
        .unwrap();
}

#[test]
fn shower_files_round_trip() {
    let path = scratch("showers.h5");
    let voxel = prop_oneof![
        Just(0.0f32),
        0.0f32..1e4,
        any::<f32>().prop_filter("finite, >= 0", |x| x.is_finite() && *x >= 0.0)
    ];
    let strategy =
        (1usize..12, 1usize..50, 1usize..7, any::<bool>()).prop_flat_map(move |(n, voxels, chunk, f64_energies)| {
            (
                prop::collection::vec(1.0f64..4.2e6, n),
                prop::collection::vec(voxel.clone(), n * voxels),
                Just((voxels, chunk, f64_energies)),
            )
        });
    runner(48)
        .run(&strategy, |(incident, energies, (voxels, chunk, f64_energies))| {
            let mut showers = Showers::new(voxels);
            for (e, row) in incident.iter().zip(energies.chunks(voxels)) {
                showers.push(*e, row);
            }
            let incident_type = if f64_energies { FloatType::F64 } else { FloatType::F32 };
            let options = WriteOptions { incident_type, chunk_rows: chunk, ..WriteOptions::default() };
            hdf5::write(&path, &showers, &options).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
            let back = hdf5::read(&path).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
            prop_assert_eq!(&back.energies, &showers.energies);
            let expected: Vec<f64> =
                incident.iter().map(|&e| if f64_energies { e } else { f64::from(e as f32) }).collect();
            prop_assert_eq!(&back.incident_energies, &expected);
            Ok(())
        })
        .unwrap();
}

#[test]
fn exported_sample_sets_import_to_the_same_rows() {
    let strategy = model(-2.0f64..2.0).prop_flat_map(|m| {
        let n = m.num_units();
        (Just(m), prop::collection::vec((prop::collection::vec(0u8..=1, n), 1u64..1000), 1..30))
    });
    runner(64)
        .run(&strategy, |(m, rows)| {
            let rows: Vec<Row> = rows
                .into_iter()
                .map(|(state, count)| Row { energy: calo4p::exact::energy(&m, &state), state, count })
                .collect();
            let bytes = serde_json::to_vec(&sampleset_json(&m, &rows, serde_json::json!({}))).unwrap();
            let mode = if m.qubits.is_some() { LabelMode::Qubit } else { LabelMode::Unit };
            let imported =
                sampleset::parse(&bytes, &m, mode, "round trip").map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
            let t = &imported.table;
            prop_assert_eq!(t.num_rows(), rows.len());
            let mut state = vec![0u8; m.num_units()];
            for (r, row) in rows.iter().enumerate() {
                t.row(r, &mut state);
                prop_assert_eq!(&state, &row.state);
                prop_assert_eq!(t.weight[r], row.count as f64);
                prop_assert_eq!(t.energy.as_ref().map(|e| e[r]), Some(row.energy));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn same_seed_same_result_at_one_and_two_threads() {
    let strategy = (model(-1.5f64..1.5), 1usize..300, any::<u64>(), any::<bool>());
    runner(24)
        .run(&strategy, |(m, chains, seed, fixed)| {
            let engine = if fixed { Engine::Fixed(FixedSettings::new(QFormat::Q8_8, 16)) } else { Engine::Float };
            let run = |threads| {
                let mut cfg = SampleConfig::new(engine, chains, 12, 3, seed);
                cfg.threads = threads;
                cfg.progress = false;
                sample::run(&m, &cfg).map_err(|e| TestCaseError::fail(format!("{e:#}")))
            };
            let (one, two) = (run(1)?, run(2)?);
            prop_assert_eq!(&one.stats, &two.stats);
            prop_assert_eq!(&one.samples, &two.samples);
            prop_assert_eq!(one.saturations, two.saturations);
            Ok(())
        })
        .unwrap();
}
