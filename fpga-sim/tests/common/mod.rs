//! Models shared by the integration tests.
#![allow(dead_code)]

use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::zephyr::Zephyr;
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
