//! Known-answer vectors: a small model, its acceptance table, every draw, field, table entry
//! and state of a few sweeps, in a line-oriented text file an RTL testbench can read with
//! `$fscanf`.
//!
//! Format (one record per line, `#` starts a comment; numbers in hex are fixed-width, two's
//! complement for signed values, indices in decimal):
//!
//! ```text
//! config <lanes> <map: round-robin|blocked> <chains> <sweeps> <format Qm.n> <lut_bits> <lut_index_frac_bits> <seed>
//! partitions <n_0> <n_1> ...
//! bias <unit> <raw, 8 hex>
//! edge <i> <j> <raw, 8 hex>
//! clamp <unit> <value>
//! table <index> <entry, 4 hex>                  # heat bath, beta = 1
//! state <sweep> <chain> <one 0/1 character per unit>   # sweep 0 = the start state
//! update <sweep> <partition> <unit> <chain> <lane> <draw, 8 hex> <field, 8 hex> <saturated field, 8 hex> <entry, 4 hex> <old> <new>
//! ```
//!
//! Streams: chain c on lane g draws from xoshiro128++ seeded with `seed` (SplitMix64) and
//! jumped `g*C + c` times. Start states are the `state 0` records.
//! The files in `fpga-sim/kat/` are checked by this crate's tests (regenerated and compared)
//! and recomputed through core's `BlockGibbs` in `tests/tests/fpga_kat.rs`.

use crate::accelerator::{Accelerator, Layout, Update};
use crate::config::{HwConfig, LaneMapping};
use calo4p_core::arithmetic::Fixed;
use calo4p_core::gibbs::Clamp;
use calo4p_core::model::{Model, SparseStorage};
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::QFormat;
use rand_core::RngCore;
use std::fmt::Write;

/// What a known-answer file holds.
#[derive(Clone, Debug)]
pub struct KatSpec {
    /// File name in `fpga-sim/kat/`.
    pub name: &'static str,
    /// Partition sizes.
    pub sizes: &'static [usize],
    /// Lanes.
    pub lanes: u32,
    /// Lane map.
    pub map: LaneMapping,
    /// Chains.
    pub chains: usize,
    /// Sweeps.
    pub sweeps: usize,
    /// Weight format.
    pub format: &'static str,
    /// Table bits.
    pub lut_bits: u32,
    /// Table index fractional bits.
    pub lut_index_frac_bits: u32,
    /// Seed of the model, the start states and the streams.
    pub seed: u64,
    /// Largest |raw| of weights and biases.
    pub max_raw: i32,
    /// Clamped units and their values.
    pub clamp: &'static [(usize, u8)],
}

/// The committed known-answer files.
pub const SPECS: &[KatSpec] = &[
    KatSpec {
        name: "q8_8_round_robin.kat",
        sizes: &[6, 5, 6, 5],
        lanes: 3,
        map: LaneMapping::RoundRobin,
        chains: 2,
        sweeps: 4,
        format: "Q8.8",
        lut_bits: 16,
        lut_index_frac_bits: 8,
        seed: 20250131,
        max_raw: 600,
        clamp: &[(7, 1), (14, 0)],
    },
    KatSpec {
        name: "q4_4_blocked_saturating.kat",
        sizes: &[5, 7, 4],
        lanes: 2,
        map: LaneMapping::Blocked,
        chains: 3,
        sweeps: 3,
        format: "Q4.4",
        lut_bits: 10,
        lut_index_frac_bits: 3,
        seed: 7,
        max_raw: 127,
        clamp: &[(0, 1)],
    },
];

/// The model of a spec: (biases, edges (i, j, raw)), drawn from xoshiro128++.
pub fn model_of(spec: &KatSpec) -> (Vec<i16>, Vec<(usize, usize, i16)>) {
    let mut rng = Xoshiro128PlusPlus::from_u64(spec.seed ^ 0x006b_6174);
    let span = 2 * spec.max_raw as u64 + 1;
    let raw = |rng: &mut Xoshiro128PlusPlus| ((rng.next_u32() as u64 % span) as i32 - spec.max_raw) as i16;
    let n: usize = spec.sizes.iter().sum();
    let bias: Vec<i16> = (0..n).map(|_| raw(&mut rng)).collect();
    let part: Vec<usize> = spec.sizes.iter().enumerate().flat_map(|(p, &s)| std::iter::repeat_n(p, s)).collect();
    let mut edges = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            if part[i] != part[j] && rng.next_u32() % 5 < 2 {
                edges.push((i, j, raw(&mut rng)));
            }
        }
    }
    (bias, edges)
}

/// The hardware configuration of a spec: registers everywhere, the spec's lanes and map.
pub fn config_of(spec: &KatSpec) -> HwConfig {
    let mut hw = HwConfig::preset("bram-pipelined").expect("preset");
    hw.name = format!("kat-{}", spec.name);
    hw.lanes = spec.lanes;
    hw.lane_map = spec.map;
    hw.arithmetic.format = spec.format.into();
    hw.arithmetic.field_format = None;
    hw.arithmetic.lut_bits = spec.lut_bits;
    hw.arithmetic.lut_index_frac_bits = spec.lut_index_frac_bits;
    hw
}

/// Generate the file text of `spec`.
pub fn generate(spec: &KatSpec) -> String {
    let (bias, edges) = model_of(spec);
    let n = bias.len();
    let format: QFormat = spec.format.parse().expect("spec format");
    let mut rp = vec![0u32; Model::<i16>::row_ptr_len(spec.sizes)];
    let (mut col, mut w) = (vec![0u16; edges.len()], vec![0i16; edges.len()]);
    let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
    let model = Model::from_edges(&bias, spec.sizes, edges.iter().copied(), st, format.lsb()).expect("spec model");
    let mut bits = vec![0u32; Clamp::words(n)];
    for &(i, _) in spec.clamp {
        bits[i / 32] |= 1 << (i % 32);
    }
    let hw = config_of(spec);
    let f = hw.formats().expect("spec formats");
    let c = spec.chains;
    let mut acc = Accelerator::new(&hw, model, Some(Clamp::new(&bits)), c, 1.0, Layout::default()).expect("spec fits");
    let mut table = vec![0u16; Fixed::<i16>::table_len(f.field, f.lut, 1.0)];
    let mut arith = Fixed::<i16>::new(f.field, f.lut, f.rule, 1.0, &mut table).expect("spec table");
    let mut out = String::new();
    let map = match spec.map {
        LaneMapping::RoundRobin => "round-robin",
        LaneMapping::Blocked => "blocked",
    };
    let _ = writeln!(out, "# calo4p fpga-sim known-answer vectors, format 1 (see fpga-sim/src/kat.rs)");
    let _ = writeln!(
        out,
        "config {} {map} {c} {} {} {} {} {}",
        spec.lanes, spec.sweeps, spec.format, spec.lut_bits, spec.lut_index_frac_bits, spec.seed
    );
    let sizes: Vec<String> = spec.sizes.iter().map(|s| s.to_string()).collect();
    let _ = writeln!(out, "partitions {}", sizes.join(" "));
    for (i, &b) in bias.iter().enumerate() {
        let _ = writeln!(out, "bias {i} {:08x}", b as i32 as u32);
    }
    for &(i, j, w) in &edges {
        let _ = writeln!(out, "edge {i} {j} {:08x}", w as i32 as u32);
    }
    for &(i, v) in spec.clamp {
        let _ = writeln!(out, "clamp {i} {v}");
    }
    let shift = f.field.frac_bits() - f.lut.index_frac_bits;
    for k in 0..acc.table_len() {
        let _ = writeln!(out, "table {k} {:04x}", arith.lut().p_one((k as i64) << shift));
    }
    // Start states from a separate generator, clamped units at their values.
    let mut init = Xoshiro128PlusPlus::from_u64(spec.seed.wrapping_add(1));
    let mut state: Vec<u8> = (0..n * c).map(|_| (init.next_u32() >> 31) as u8).collect();
    for &(i, v) in spec.clamp {
        state[i * c..(i + 1) * c].fill(v);
    }
    let mut rngs = acc.rngs(spec.seed, c);
    let write_states = |out: &mut String, sweep: usize, state: &[u8]| {
        for chain in 0..c {
            let row: String = (0..n).map(|i| if state[i * c + chain] == 1 { '1' } else { '0' }).collect();
            let _ = writeln!(out, "state {sweep} {chain} {row}");
        }
    };
    write_states(&mut out, 0, &state);
    for sweep in 1..=spec.sweeps {
        let mut updates: Vec<Update> = Vec::new();
        acc.sweep(&mut arith, &mut state, &mut rngs, &mut |u| updates.push(*u)).expect("sweep");
        for u in updates {
            let _ = writeln!(
                out,
                "update {sweep} {} {} {} {} {:08x} {:08x} {:08x} {:04x} {} {}",
                u.partition,
                u.unit,
                u.chain,
                u.lane,
                u.draw,
                u.field as i32 as u32,
                u.field_saturated as i32 as u32,
                u.table_entry,
                u.old,
                u.new
            );
        }
        write_states(&mut out, sweep, &state);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed files are what the simulator produces now. `CALO4P_BLESS=1` rewrites them.
    #[test]
    fn committed_files_match() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kat");
        for spec in SPECS {
            let text = generate(spec);
            let path = dir.join(spec.name);
            if std::env::var_os("CALO4P_BLESS").is_some() {
                std::fs::write(&path, &text).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(committed == text, "{} differs from the simulator; CALO4P_BLESS=1 rewrites it", path.display());
        }
    }

    #[test]
    fn saturating_spec_saturates() {
        let text = generate(&SPECS[1]);
        let saturated = text
            .lines()
            .filter(|l| l.starts_with("update"))
            .filter(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                f[7] != f[8]
            })
            .count();
        assert!(saturated > 0, "the Q4.4 file should exercise saturation");
    }
}
