//! Core's fixed-point block Gibbs on the 1208-unit Z(6,4) model, one chain, for counting
//! instructions per sweep under callgrind (compare with the `mcu-lane` preset's cycles):
//!
//! ```sh
//! cargo build --release -p calo4p-fpga-sim --example core_sweeps
//! for k in 10 110; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$k \
//!     target/release/examples/core_sweeps $k; done
//! ```
//! Instructions per sweep = (Ir(110) - Ir(10)) / 100.

use calo4p_core::arithmetic::Fixed;
use calo4p_core::gibbs::{BlockGibbs, Chains, Draws, LaneMap};
use calo4p_core::model::{Model, SparseStorage};
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::zephyr::Zephyr;
use calo4p_core::{LutSpec, QFormat, Rule};
use rand_core::RngCore;

fn main() {
    let sweeps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let (m, t, n) = (6, 4, 302);
    let z = Zephyr::new(m, t).unwrap();
    let mut q = vec![0u32; 4 * n];
    z.select_per_partition(n, &mut q).unwrap();
    let pos: std::collections::HashMap<u32, usize> = q.iter().enumerate().map(|(i, &q)| (q, i)).collect();
    let mut rng = Xoshiro128PlusPlus::from_u64(1);
    let mut raw = move || ((rng.next_u32() % 257) as i32 - 128) as i16;
    let bias: Vec<i16> = (0..4 * n).map(|_| raw()).collect();
    let mut edges = Vec::new();
    for (i, &qi) in q.iter().enumerate() {
        for nb in z.neighbours(qi as usize).unwrap() {
            if let Some(&j) = pos.get(&(nb as u32)) {
                if i < j {
                    edges.push((i, j, raw()));
                }
            }
        }
    }
    let sizes = [n; 4];
    let mut rp = vec![0u32; Model::<i16>::row_ptr_len(&sizes)];
    let (mut col, mut w) = (vec![0u16; edges.len()], vec![0i16; edges.len()]);
    let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
    let model = Model::from_edges(&bias, &sizes, edges.iter().copied(), st, QFormat::Q8_8.lsb()).unwrap();
    let spec = LutSpec { bits: 16, index_frac_bits: 8 };
    let mut table = vec![0u16; Fixed::<i16>::table_len(QFormat::Q8_8, spec, 1.0)];
    let mut arith = Fixed::<i16>::new(QFormat::Q8_8, spec, Rule::HeatBath, 1.0, &mut table).unwrap();
    let sampler = BlockGibbs::new(model).with_draws(Draws::PerLane { lanes: 1, map: LaneMap::RoundRobin });
    let mut rngs = vec![Xoshiro128PlusPlus::from_u64(0); 1];
    Xoshiro128PlusPlus::chain_streams(7, 0, &mut rngs);
    let mut state = vec![0u8; 4 * n];
    let mut chains = Chains::new(&mut state, 4 * n, 1).unwrap();
    let mut fields = vec![0i32; sampler.scratch_len(1)];
    for _ in 0..sweeps {
        sampler.sweep(&mut arith, &mut chains, &mut rngs, &mut fields).unwrap();
    }
    let ones: usize = chains.state().iter().map(|&z| z as usize).sum();
    println!("{} edges, {sweeps} sweeps, {ones} units on", edges.len());
}
