//! Models shared by the integration tests.
#![allow(dead_code)]

use calo4p_core::model::{Model, SparseStorage};
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::zephyr::Zephyr;
use calo4p_core::QFormat;
use rand_core::RngCore;

/// Partition sizes, raw biases, edges (i, j, raw).
pub type RawModel = (Vec<usize>, Vec<i32>, Vec<(usize, usize, i32)>);

/// A 4-partite model on Z(m, t) with `n` units per colour, raw parameters uniform in
/// [-max_raw, max_raw]: (sizes, biases, edges).
pub fn zephyr_model(m: usize, t: usize, n: usize, seed: u64, max_raw: i32) -> RawModel {
    let z = Zephyr::new(m, t).unwrap();
    let mut q = vec![0u32; 4 * n];
    z.select_per_partition(n, &mut q).unwrap();
    let unit_of: std::collections::HashMap<usize, usize> =
        q.iter().enumerate().map(|(i, &q)| (q as usize, i)).collect();
    let mut rng = Xoshiro128PlusPlus::from_u64(seed);
    let span = 2 * max_raw as u64 + 1;
    let mut raw = move || (rng.next_u32() as u64 % span) as i32 - max_raw;
    let bias = (0..4 * n).map(|_| raw()).collect();
    let mut edges = Vec::new();
    for (i, &qi) in q.iter().enumerate() {
        for nb in z.neighbours(qi as usize).unwrap() {
            if let Some(&j) = unit_of.get(&nb) {
                if i < j {
                    edges.push((i, j, raw()));
                }
            }
        }
    }
    (vec![n; 4], bias, edges)
}

/// Call `f` with the Q8.8 model of [`zephyr_model`] on Z(m, 4).
pub fn with_q8_8_model<R>(m: usize, n: usize, seed: u64, f: impl FnOnce(Model<'_, i16>) -> R) -> R {
    let (sizes, bias, edges) = zephyr_model(m, 4, n, seed, 384);
    let bias: Vec<i16> = bias.iter().map(|&b| b as i16).collect();
    let mut rp = vec![0u32; Model::<i16>::row_ptr_len(&sizes)];
    let (mut col, mut w) = (vec![0u16; edges.len()], vec![0i16; edges.len()]);
    let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
    let e = edges.iter().map(|&(i, j, x)| (i, j, x as i16));
    f(Model::from_edges(&bias, &sizes, e, st, QFormat::Q8_8.lsb()).unwrap())
}
