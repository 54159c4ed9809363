//! One function per fuzz target: an input goes through a reader exactly as calo4p reads it,
//! and what the reader accepts is used (built, sampled, read row by row). An error is a fine
//! answer; a panic, an abort or a hang is a finding.
//!
//! Shared by the libFuzzer targets (`fuzz/fuzz_targets/`) and by the replay of the
//! regression corpus under `cargo test` (`tests/tests/fuzz_regressions.rs`, which includes
//! this file by path), so that both run the same code.

use calo4p::model_file::ModelFile;
use calo4p::samples::labels::LabelMode;
use calo4p_core::compact::{self, CompactStorage};
use calo4p_core::gibbs::BlockGibbs;
use calo4p_core::json::{parse_model, Edge, ModelBuffers};
use calo4p_core::model::SparseStorage;
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::{Chains, Fixed, Float, LutSpec, Model, Rule};
use std::path::PathBuf;
use std::sync::OnceLock;

/// A fuzz target: reads one input.
pub type Target = fn(&[u8]);

/// The targets by name, as the corpus directories `fuzz/regressions/<name>/` are named.
pub const TARGETS: [(&str, Target); 9] = [
    ("model_json", model_json),
    ("compact", compact_model),
    ("model_file", model_file),
    ("dimod_json", dimod_json),
    ("csv", csv),
    ("npy", npy),
    ("npy_samples", npy_samples),
    ("hdf5", hdf5),
    ("hw_config", hw_config),
];

/// Largest model the core targets build (units, edges).
const UNITS: usize = 64;
const EDGES: usize = 256;

/// core's model JSON parser into fixed buffers, as a device would; an accepted model is built
/// and swept.
pub fn model_json(data: &[u8]) {
    let (mut p, mut b, mut q, mut e) = ([0u8; UNITS], [0.0; UNITS], [0u32; UNITS], [Edge::default(); EDGES]);
    let buf = ModelBuffers { partition: &mut p, bias: &mut b, qubits: &mut q, edges: &mut e };
    let Ok(m) = parse_model(data, buf) else { return };
    assert!(m.units <= UNITS && m.edges <= EDGES);
    let (mut rp, mut col, mut w) = ([0u32; 64], [0u16; EDGES], [0.0f64; EDGES]);
    let storage = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
    let edges = e[..m.edges].iter().map(|x| (x.i, x.j, x.w));
    if let Ok(model) = Model::from_edges(&b[..m.units], m.sizes(), edges, storage, 1.0) {
        sweep_float(model);
    }
}

/// core's compact binary form. When the first byte is even, the FNV-1a checksum of the rest
/// is appended, so that most inputs reach the structural checks behind it.
pub fn compact_model(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut bytes = rest.to_vec();
    if mode % 2 == 0 {
        let sum = rest.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ b as u32).wrapping_mul(0x0100_0193));
        bytes.extend_from_slice(&sum.to_le_bytes());
    }
    let (mut b, mut rp, mut c, mut w) = ([0i16; UNITS], [0u32; 64], [0u16; EDGES], [0i16; EDGES]);
    let storage = CompactStorage { bias: &mut b, row_ptr: &mut rp, col: &mut c, weight: &mut w };
    let Ok((model, format)) = compact::parse::<i16>(&bytes, storage) else { return };
    let units = model.num_units();
    let mut state = vec![0u8; units * 2];
    let Ok(mut chains) = Chains::new(&mut state, units, 2) else { return };
    let mut table = vec![0u16; 1 << 14];
    let Ok(mut arith) = Fixed::<i16>::new(format, LutSpec::exact(format.frac_bits()), Rule::HeatBath, 1.0, &mut table)
    else {
        return;
    };
    let mut fields = vec![0i32; model.max_partition_size() * 2];
    let mut rngs = [Xoshiro128PlusPlus::from_u64(1), Xoshiro128PlusPlus::from_u64(2)];
    let gibbs = BlockGibbs::new(model);
    for _ in 0..2 {
        gibbs.sweep(&mut arith, &mut chains, &mut rngs, &mut fields).expect("an accepted model samples");
    }
}

/// A few float sweeps of two chains.
fn sweep_float(model: Model<'_, f64>) {
    let units = model.num_units();
    let mut state = vec![0u8; units * 2];
    let Ok(mut chains) = Chains::new(&mut state, units, 2) else { return };
    let mut fields = vec![0.0f64; model.max_partition_size() * 2];
    let mut rngs = [Xoshiro128PlusPlus::from_u64(1), Xoshiro128PlusPlus::from_u64(2)];
    let mut arith = Float::<f64>::new(1.0, Rule::HeatBath).expect("beta 1");
    let gibbs = BlockGibbs::new(model);
    for _ in 0..2 {
        gibbs.sweep(&mut arith, &mut chains, &mut rngs, &mut fields).expect("an accepted model samples");
    }
}

/// The host's model reader (`--model`): core's parser with buffers sized from the input,
/// the description, and the graph checks.
pub fn model_file(data: &[u8]) {
    let _ = ModelFile::parse(data);
}

/// The model the sample readers map labels against: 3 units, qubits 0, 4 and 8 of Z(1,4).
fn sample_model() -> &'static ModelFile {
    static MODEL: OnceLock<ModelFile> = OnceLock::new();
    MODEL.get_or_init(|| {
        ModelFile::parse(br#"{"partition": [0, 1, 2], "bias": [0.5, 0, -1], "edges": [[0, 1, 1.0], [1, 2, -0.5]]}"#)
            .expect("the sample model parses")
    })
}

/// The label mode chosen by a byte.
fn label_mode(b: u8) -> LabelMode {
    match b % 3 {
        0 => LabelMode::Auto,
        1 => LabelMode::Unit,
        _ => LabelMode::Qubit,
    }
}

/// A dimod `SampleSet.to_serializable()` JSON (first byte: label mode), then its statistics.
pub fn dimod_json(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let model = sample_model();
    if let Ok(imported) = calo4p::samples::sampleset::parse(rest, model, label_mode(mode), "fuzz") {
        let _ = imported.table.statistics(model, "fuzz");
    }
}

/// A CSV sample file (first byte: label mode), then its statistics.
pub fn csv(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let model = sample_model();
    if let Ok(imported) = calo4p::samples::csv::parse_csv(text, model, label_mode(mode)) {
        let _ = imported.table.statistics(model, "fuzz");
    }
}

/// The `.npy` array parser.
pub fn npy(data: &[u8]) {
    let _ = calo4p::npy::parse(data);
}

/// A scratch file for readers that take a path: one per thread, in memory where possible.
fn scratch(ext: &str, data: &[u8]) -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let path = dir.join(format!("calo4p-fuzz-{}-{:?}.{ext}", std::process::id(), std::thread::current().id()));
    std::fs::write(&path, data).expect("scratch file");
    path
}

/// `.npy` sample rows through the sample reader (`--samples x.npy`), then their statistics.
pub fn npy_samples(data: &[u8]) {
    let path = scratch("npy", data);
    let model = sample_model();
    if let Ok(imported) = calo4p::samples::npy::read_npy(&path, None, model, calo4p::samples::labels::LabelMode::Auto) {
        let _ = imported.table.statistics(model, "fuzz");
    }
    let _ = std::fs::remove_file(&path);
}

/// A CaloChallenge HDF5 file: opened, checked, and read whole.
pub fn hdf5(data: &[u8]) {
    let path = scratch("h5", data);
    if let Ok(reader) = calo4p::data::hdf5::ShowerReader::open(&path) {
        // read_all allocates what the header claims (issue 11, allocation aborts, is another
        // helper's): claims over 256 MB are read in part, so that the fuzzer goes on.
        if reader.len().saturating_mul(reader.n_voxels().max(1)) <= 1 << 26 {
            let _ = reader.read_all();
        } else {
            let _ = reader.read_rows(0, reader.len().min(4));
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// An fpga-sim hardware configuration (`--hw FILE`), parsed and validated.
pub fn hw_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(hw) = calo4p::fpga_sim::HwConfig::from_json(text) {
        let _ = hw.validate();
        let _ = hw.to_json();
    }
}
