//! No parser panics on input. Thousands of corrupted model files, JSON and compact, go
//! through core's parsers, and every model that parses is then built and sampled; the
//! host's readers (model JSON, dimod sample sets, CSV, `.npy`, CaloChallenge HDF5) get the
//! same treatment. A parse may succeed or fail; it must not panic, and what it accepts
//! must be safe to run.

use calo4p::data::hdf5;
use calo4p::model_file::ModelFile;
use calo4p::npy;
use calo4p::samples::csv::parse_csv;
use calo4p::samples::labels::LabelMode;
use calo4p::samples::sampleset;
use calo4p_core::compact::{self, CompactStorage};
use calo4p_core::gibbs::BlockGibbs;
use calo4p_core::json::{parse_model, Edge, ModelBuffers};
use calo4p_core::model::SparseStorage;
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::{Chains, Fixed, Float, LutSpec, Model, QFormat, Rule};
use rand_core::RngCore;
use std::path::PathBuf;

const JSON: &str = r#"{"description": "fuzz seed", "zephyr": {"m": 1, "t": 1}, "qubits": [4, 5, 6, 7, 8, 9],
  "partition": [0, 0, 1, 1, 2, 3], "bias": [0.5, -1.25, 2e-1, 0, -3, 1.5],
  "edges": [[0, 2, 1.5], [1, 3, -0.25], [2, 4, 0.75], [3, 5, -2], [0, 5, 1]]}"#;

/// Tokens a corrupted file is likely to hold.
const TOKENS: [&str; 14] =
    ["NaN", "-1", "1e999", "[", "]", "{", "}", ",", "\"", "99999999999999999999", "null", "[0, 0, 1.0]", ":", "4"];

/// One random corruption: flip a bit, drop a byte range, duplicate a range, or insert a token.
fn mutate(rng: &mut Xoshiro128PlusPlus, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.next_u32() % 3 {
        let at = rng.next_u32() as usize % (v.len() + 1);
        match rng.next_u32() % 4 {
            0 if at < v.len() => v[at] ^= 1 << (rng.next_u32() % 8),
            1 => {
                let end = (at + 1 + rng.next_u32() as usize % 8).min(v.len());
                v.drain(at.min(end)..end);
            }
            2 => {
                let end = (at + 1 + rng.next_u32() as usize % 16).min(v.len());
                let copy = v[at.min(end)..end].to_vec();
                v.splice(at..at, copy);
            }
            _ => {
                let t = TOKENS[rng.next_u32() as usize % TOKENS.len()];
                v.splice(at..at, t.bytes());
            }
        }
    }
    v
}

#[test]
fn corrupted_json_models_are_errors_or_models() {
    let mut rng = Xoshiro128PlusPlus::from_u64(7);
    let (mut accepted, mut built, mut refused) = (0, 0, 0);
    for _ in 0..20_000 {
        let bytes = mutate(&mut rng, JSON.as_bytes());
        let (mut p, mut b, mut q, mut e) = ([0u8; 8], [0.0; 8], [0u32; 8], [Edge::default(); 8]);
        let buf = ModelBuffers { partition: &mut p, bias: &mut b, qubits: &mut q, edges: &mut e };
        match parse_model(&bytes, buf) {
            Ok(m) => {
                accepted += 1;
                assert!(m.units <= 8 && m.edges <= 8);
                assert!(b[..m.units].iter().all(|x| x.is_finite()) && e[..m.edges].iter().all(|x| x.w.is_finite()));
                // Index ranges and partitions are the model's to check: build it, then sample.
                let (mut rp, mut col, mut w) = ([0u32; 64], [0u16; 8], [0.0f64; 8]);
                let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
                let edges = e[..m.edges].iter().map(|x| (x.i, x.j, x.w));
                if let Ok(model) = Model::from_edges(&b[..m.units], m.sizes(), edges, st, 1.0) {
                    built += 1;
                    sweep_float(model);
                }
            }
            Err(err) => {
                refused += 1;
                assert!(!format!("{err}").is_empty());
            }
        }
    }
    // Both outcomes are exercised, so the loop tests something.
    assert!(
        built > 100 && accepted > built && refused > 10_000,
        "accepted {accepted}, built {built}, refused {refused}"
    );
}

/// A few float sweeps of two chains.
fn sweep_float(model: Model<'_, f64>) {
    let units = model.num_units();
    let mut state = vec![0u8; units * 2];
    let mut chains = Chains::new(&mut state, units, 2).unwrap();
    let mut fields = vec![0.0f64; model.max_partition_size() * 2];
    let mut rngs = [Xoshiro128PlusPlus::from_u64(1), Xoshiro128PlusPlus::from_u64(2)];
    let mut arith = Float::<f64>::new(1.0, Rule::HeatBath).unwrap();
    let gibbs = BlockGibbs::new(model);
    for _ in 0..3 {
        gibbs.sweep(&mut arith, &mut chains, &mut rngs, &mut fields).unwrap();
    }
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

#[test]
fn corrupted_compact_models_are_errors_or_safe_models() {
    let bias = [3i16, -2, 1, 0, 5, -7];
    let edges = [(0usize, 2usize, 7i16), (1, 3, -9), (2, 4, 11), (3, 5, -1), (0, 5, 300)];
    let (mut rp, mut col, mut w) = ([0u32; 32], [0u16; 5], [0i16; 5]);
    let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
    let model = Model::from_edges(&bias, &[2, 2, 1, 1], edges, st, QFormat::Q8_8.lsb()).unwrap();
    let mut out = [0u8; 256];
    let len = compact::emit(&model, QFormat::Q8_8, &mut out).unwrap();
    let good = &out[..len];

    let mut rng = Xoshiro128PlusPlus::from_u64(11);
    let (mut sampled, mut refused) = (0, 0);
    for k in 0..20_000 {
        let mut bytes = mutate(&mut rng, &good[..len - 4]);
        // Most corruptions carry a valid checksum, so that they reach the structural checks.
        if k % 8 != 0 {
            let sum = fnv1a(&bytes);
            bytes.extend_from_slice(&sum.to_le_bytes());
        }
        let (mut b, mut rp, mut c, mut w) = ([0i16; 16], [0u32; 64], [0u16; 16], [0i16; 16]);
        let storage = CompactStorage { bias: &mut b, row_ptr: &mut rp, col: &mut c, weight: &mut w };
        match compact::parse::<i16>(&bytes, storage) {
            Ok((m, format)) => {
                let units = m.num_units();
                let mut state = vec![0u8; units * 2];
                let mut chains = Chains::new(&mut state, units, 2).unwrap();
                let mut table = vec![0u16; 1 << 14];
                let Ok(mut arith) =
                    Fixed::<i16>::new(format, LutSpec::exact(format.frac_bits()), Rule::HeatBath, 1.0, &mut table)
                else {
                    refused += 1;
                    continue;
                };
                let mut fields = vec![0i32; m.max_partition_size() * 2];
                let mut rngs = [Xoshiro128PlusPlus::from_u64(1), Xoshiro128PlusPlus::from_u64(2)];
                let gibbs = BlockGibbs::new(m);
                for _ in 0..3 {
                    gibbs.sweep(&mut arith, &mut chains, &mut rngs, &mut fields).unwrap();
                }
                sampled += 1;
            }
            Err(err) => {
                refused += 1;
                assert!(!format!("{err}").is_empty());
            }
        }
    }
    assert!(sampled > 50 && refused > 10_000, "sampled {sampled}, refused {refused}");
}

fn reference(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/reference/")).join(rel)
}

/// Feed `iterations` corruptions of `input` to `read`; returns how many were accepted.
fn corrupt_and_read(seed: u64, input: &[u8], iterations: usize, mut read: impl FnMut(&[u8]) -> bool) -> usize {
    let mut rng = Xoshiro128PlusPlus::from_u64(seed);
    (0..iterations).filter(|_| read(&mutate(&mut rng, input))).count()
}

#[test]
fn host_readers_refuse_corrupted_input_without_panicking() {
    let model_json = JSON.as_bytes();
    let accepted = corrupt_and_read(1, model_json, 5000, |b| ModelFile::parse(b).is_ok());
    assert!(accepted > 50 && accepted < 2500, "model files accepted: {accepted}");

    let tiny = ModelFile::parse(br#"{"partition": [0, 1, 2], "bias": [0, 0, 0], "edges": [[0, 1, 1.0], [1, 2, 1.0]]}"#)
        .unwrap();
    let set = std::fs::read(reference("samplesets/tiny_3var_aggregated.spin.json")).unwrap();
    let accepted = corrupt_and_read(2, &set, 5000, |b| sampleset::parse(b, &tiny, LabelMode::Auto, "fuzz").is_ok());
    assert!(accepted > 20 && accepted < 2500, "sample sets accepted: {accepted}");

    let csv = b"0,1,2,num_occurrences\n1,0,1,2\n0,1,1,1\n1,1,0,3\n";
    let accepted = corrupt_and_read(3, csv, 5000, |b| {
        std::str::from_utf8(b).is_ok_and(|t| parse_csv(t, &tiny, LabelMode::Auto).is_ok())
    });
    assert!(accepted > 20 && accepted < 2500, "CSV files accepted: {accepted}");

    let dir = std::env::temp_dir().join(format!("calo4p-no-panic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let npy_path = dir.join("rows.npy");
    npy::write_u8(&npy_path, &[0, 1, 1, 1, 0, 1], 2, 3).unwrap();
    let rows = std::fs::read(&npy_path).unwrap();
    let accepted = corrupt_and_read(4, &rows, 5000, |b| npy::parse(b).is_ok());
    assert!(accepted > 20 && accepted < 2500, ".npy files accepted: {accepted}");

    // HDF5: bit flips and cuts in the challenge's own format fixture.
    let h5 =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/data/ds1_photons_format_fixture.h5")).unwrap();
    let path = dir.join("corrupt.h5");
    let accepted = corrupt_and_read(5, &h5, 1000, |b| {
        std::fs::write(&path, b).unwrap();
        hdf5::read(&path).is_ok()
    });
    assert!(accepted < 1000, "HDF5 files accepted: {accepted}");
    std::fs::remove_dir_all(&dir).unwrap();
}
