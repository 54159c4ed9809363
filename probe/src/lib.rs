//! Proof that calo4p-core runs without `std` and without `alloc`.
//!
//! A staticlib with its own panic handler: if anything in core's dependency graph links
//! `std`, the build fails on a duplicate `panic_impl` lang item; if it links `alloc`, it
//! fails for want of a global allocator. The entry point builds the 1208-unit Z(6,4)
//! model (302 units per partition) at Q8.8 in stack storage, parses a small model with
//! serde-json-core, and runs fixed-point block Gibbs sweeps with xoshiro128++.
#![no_std]

use calo4p_core::json::{parse_model, Edge, ModelBuffers};
use calo4p_core::model::SparseStorage;
use calo4p_core::qformat::QFormat;
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::stats::Moments;
use calo4p_core::zephyr::Zephyr;
use calo4p_core::{gibbs::BlockGibbs, Chains, Fixed, LutSpec, Model, Rule};
use rand_core::RngCore;

const PER: usize = 302;
const N: usize = 4 * PER;
/// Edges among the first 302 qubits of each colour class of Z(6,4).
const E: usize = 11009;
const ROW_PTR: usize = (PER + 1) * 6;
const TABLE: usize = 3018;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

const SMALL: &[u8] = br#"{"partition": [0, 0, 1, 1], "bias": [0.5, -0.5, 1.0, 0.25],
    "edges": [[0, 2, 1.5], [1, 3, -0.75], [0, 3, 0.125]], "qubits": [0, 2, 1, 3]}"#;

/// Parse the small model, then sample the Z(6,4) model; returns a checksum, or 0 on error.
#[no_mangle]
pub extern "C" fn calo4p_probe(seed: u64) -> u64 {
    small_model_ones() + zephyr_ones(seed).unwrap_or(0)
}

fn small_model_ones() -> u64 {
    let (mut p, mut b, mut q, mut e) = ([0u8; 8], [0.0f64; 8], [0u32; 8], [Edge::default(); 8]);
    let buf = ModelBuffers { partition: &mut p, bias: &mut b, qubits: &mut q, edges: &mut e };
    match parse_model(SMALL, buf) {
        Ok(parsed) => parsed.edges as u64,
        Err(_) => 0,
    }
}

fn zephyr_ones(seed: u64) -> Option<u64> {
    let z = Zephyr::new(6, 4).ok()?;
    let mut qubits = [0u32; N];
    z.select_per_partition(PER, &mut qubits).ok()?;
    let mut rng = Xoshiro128PlusPlus::from_u64(seed);
    let fmt = QFormat::Q8_8;
    // Weights uniform in [-1, 1) at Q8.8, edges found from the topology.
    let mut raw = || (rng.next_u32() >> 23) as i16 - 256;
    let mut bias = [0i16; N];
    bias.iter_mut().for_each(|b| *b = raw());
    let mut edges = [(0usize, 0usize, 0i16); E];
    let mut m = 0;
    for (i, &qi) in qubits.iter().enumerate() {
        for nb in z.neighbours(qi as usize)? {
            let j = qubits.iter().position(|&q| q as usize == nb);
            if let Some(j) = j.filter(|&j| j > i) {
                *edges.get_mut(m)? = (i, j, raw());
                m += 1;
            }
        }
    }
    let (mut row_ptr, mut col, mut weight) = ([0u32; ROW_PTR], [0u16; E], [0i16; E]);
    let storage = SparseStorage { row_ptr: &mut row_ptr, col: &mut col, weight: &mut weight };
    let model = Model::from_edges(&bias, &[PER; 4], edges[..m].iter().copied(), storage, fmt.lsb()).ok()?;
    let mut table = [0u16; TABLE];
    let mut arith = Fixed::<i16>::new(fmt, LutSpec::exact(8), Rule::HeatBath, 1.0, &mut table).ok()?;
    let mut state = [0u8; N];
    let mut chains = Chains::new(&mut state, N, 1).ok()?;
    let mut rngs = [Xoshiro128PlusPlus::from_u64(seed ^ 1)];
    chains.randomise(&mut rngs);
    let mut fields = [0i32; PER];
    let sampler = BlockGibbs::new(model);
    let (mut unit_ones, mut edge_ones) = ([0u64; N], [0u64; E]);
    let mut moments = Moments::new(&mut unit_ones, &mut edge_ones, &mut []);
    for _ in 0..10 {
        sampler.sweep(&mut arith, &mut chains, &mut rngs, &mut fields).ok()?;
        moments.record(&model, &chains);
    }
    Some((0..N).map(|i| (moments.mean(i) * 10.0) as u64).sum())
}
