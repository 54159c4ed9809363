//! Malformed hardware JSON never panics: mutated presets are refused with an error naming a
//! parameter, or accepted and then run (configure a model, one sweep) without panicking.

use calo4p_core::arithmetic::Fixed;
use calo4p_core::model::{Model, SparseStorage};
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_fpga_sim::config::PRESETS;
use calo4p_fpga_sim::{Accelerator, HwConfig, Layout};
use rand_core::RngCore;

const VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "3",
    "17",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "1e308",
    "-1e308",
    "1e-300",
    "0.5",
    "NaN",
    "null",
    "true",
    "\"\"",
    "\"Q99.99\"",
    "\"Q0.0\"",
    "\"Q1.0\"",
    "\"Q16.16\"",
    "\"blocked\"",
    "[]",
    "{}",
    "\"registers\"",
    "\"bram\"",
    "65536",
    "4097",
    "1024",
    "9007199254740993",
];

/// Run an accepted configuration on a small model: errors are fine, panics are not.
fn exercise(hw: &HwConfig) {
    let sizes = [3usize, 3, 2];
    let bias = [100i16, -200, 5, 0, 7, -9, 300, 1];
    let edges = [(0usize, 3usize, 50i16), (1, 4, -70), (2, 6, 90), (3, 7, 11), (0, 7, -300)];
    let mut rp = vec![0u32; Model::<i16>::row_ptr_len(&sizes)];
    let (mut col, mut w) = ([0u16; 5], [0i16; 5]);
    let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
    let model = Model::from_edges(&bias, &sizes, edges, st, 1.0 / 256.0).unwrap();
    for (devices, eta) in [(1, 1.0), (2, 0.25)] {
        let Ok(mut acc) = Accelerator::new(hw, model, None, 2, 1.0, Layout { devices, eta }) else { continue };
        let f = acc.formats();
        let mut table = vec![0u16; acc.table_len()];
        let Ok(mut arith) = Fixed::<i16>::new(f.field, f.lut, f.rule, 1.0, &mut table) else { continue };
        let mut state = vec![0u8; 16];
        let mut rngs = acc.rngs(1, 2);
        let _ = acc.sweep(&mut arith, &mut state, &mut rngs, &mut |_| {});
        let _ = calo4p_fpga_sim::resources::estimate(hw, &acc.memory_needs(), 2);
    }
}

#[test]
fn mutated_presets_never_panic() {
    let mut rng = Xoshiro128PlusPlus::from_u64(0xf022);
    let (mut accepted, mut refused) = (0, 0);
    for (_, text) in PRESETS {
        let bytes = text.as_bytes();
        for _ in 0..600 {
            let mut t = text.to_string();
            match rng.next_u32() % 5 {
                // Replace one number or string value with a hostile one.
                0 | 1 => {
                    let starts: Vec<usize> = t.match_indices(": ").map(|(i, _)| i + 2).collect();
                    let at = starts[rng.next_u32() as usize % starts.len()];
                    let end = t[at..].find([',', '}', '\n']).map_or(t.len(), |e| at + e);
                    let v = VALUES[rng.next_u32() as usize % VALUES.len()];
                    t.replace_range(at..end, v);
                }
                // Truncate.
                2 => t.truncate(rng.next_u32() as usize % bytes.len()),
                // Flip a byte (kept ASCII so the text stays a string).
                3 => {
                    let mut b = bytes.to_vec();
                    let at = rng.next_u32() as usize % b.len();
                    b[at] = (rng.next_u32() % 95 + 32) as u8;
                    t = String::from_utf8(b).unwrap();
                }
                // Drop a field.
                _ => {
                    let lines: Vec<&str> = t.lines().collect();
                    let skip = rng.next_u32() as usize % lines.len();
                    t = lines
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| i != skip)
                        .map(|(_, l)| *l)
                        .collect::<Vec<_>>()
                        .join("\n");
                }
            }
            match HwConfig::from_json(&t) {
                Ok(hw) => {
                    accepted += 1;
                    exercise(&hw);
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.parameter.is_empty() && e.to_string().contains(&e.parameter), "{e}");
                }
            }
        }
    }
    assert!(accepted > 100 && refused > 500, "accepted {accepted}, refused {refused}");
}
