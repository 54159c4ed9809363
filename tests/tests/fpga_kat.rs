//! The fpga-sim known-answer files (`fpga-sim/kat/*.kat`), recomputed through core's
//! `BlockGibbs` with `Draws::PerLane`: every table entry, every draw, every field before and
//! after saturation, every decision and every state. The reader here is independent of
//! fpga-sim's writer, as an RTL testbench's would be.

use calo4p_core::arithmetic::Fixed;
use calo4p_core::gibbs::{BlockGibbs, Chains, Clamp, Draws, LaneMap};
use calo4p_core::model::{Model, SparseStorage};
use calo4p_core::qformat::RawWeight;
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::{LutSpec, QFormat, Rule};
use rand_core::RngCore;
use std::collections::HashMap;
use std::path::PathBuf;

fn hex(s: &str) -> u32 {
    u32::from_str_radix(s, 16).unwrap_or_else(|_| panic!("not hex: {s}"))
}

/// One `update` record.
struct Record {
    sweep: usize,
    partition: usize,
    unit: usize,
    chain: usize,
    lane: usize,
    draw: u32,
    field: i32,
    saturated: i32,
    entry: u32,
    old: u8,
    new: u8,
}

#[derive(Default)]
struct Kat {
    lanes: usize,
    map: String,
    chains: usize,
    sweeps: usize,
    format: String,
    lut_bits: u32,
    lut_index: u32,
    seed: u64,
    sizes: Vec<usize>,
    bias: Vec<i32>,
    edges: Vec<(usize, usize, i32)>,
    clamp: Vec<(usize, u8)>,
    table: Vec<u32>,
    /// states[sweep][chain] = row
    states: HashMap<(usize, usize), Vec<u8>>,
    updates: Vec<Record>,
}

fn parse(text: &str) -> Kat {
    let mut k = Kat::default();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let d = |i: usize| f[i].parse::<usize>().unwrap();
        match f[0] {
            "config" => {
                k.lanes = d(1);
                k.map = f[2].into();
                k.chains = d(3);
                k.sweeps = d(4);
                k.format = f[5].into();
                k.lut_bits = d(6) as u32;
                k.lut_index = d(7) as u32;
                k.seed = f[8].parse().unwrap();
            }
            "partitions" => k.sizes = f[1..].iter().map(|s| s.parse().unwrap()).collect(),
            "bias" => {
                assert_eq!(d(1), k.bias.len());
                k.bias.push(hex(f[2]) as i32);
            }
            "edge" => k.edges.push((d(1), d(2), hex(f[3]) as i32)),
            "clamp" => k.clamp.push((d(1), d(2) as u8)),
            "table" => {
                assert_eq!(d(1), k.table.len());
                k.table.push(hex(f[2]));
            }
            "state" => {
                k.states.insert((d(1), d(2)), f[3].bytes().map(|b| b - b'0').collect());
            }
            "update" => k.updates.push(Record {
                sweep: d(1),
                partition: d(2),
                unit: d(3),
                chain: d(4),
                lane: d(5),
                draw: hex(f[6]),
                field: hex(f[7]) as i32,
                saturated: hex(f[8]) as i32,
                entry: hex(f[9]),
                old: d(10) as u8,
                new: d(11) as u8,
            }),
            other => panic!("unknown record {other}"),
        }
    }
    k
}

fn check<W: RawWeight>(k: &Kat, name: &str) -> usize {
    let format: QFormat = k.format.parse().unwrap();
    let n: usize = k.sizes.iter().sum();
    let c = k.chains;
    let bias: Vec<W> = k.bias.iter().map(|&b| W::from_raw(b).unwrap()).collect();
    let mut rp = vec![0u32; Model::<W>::row_ptr_len(&k.sizes)];
    let (mut col, mut w) = (vec![0u16; k.edges.len()], vec![W::default(); k.edges.len()]);
    let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
    let edges = k.edges.iter().map(|&(i, j, x)| (i, j, W::from_raw(x).unwrap()));
    let model = Model::from_edges(&bias, &k.sizes, edges, st, format.lsb()).unwrap();
    let mut bits = vec![0u32; Clamp::words(n)];
    for &(i, _) in &k.clamp {
        bits[i / 32] |= 1 << (i % 32);
    }
    let map = if k.map == "blocked" { LaneMap::Blocked } else { LaneMap::RoundRobin };
    let draws = Draws::PerLane { lanes: k.lanes, map };
    let sampler = BlockGibbs::new(model).with_clamp(Clamp::new(&bits)).with_draws(draws);
    let spec = LutSpec { bits: k.lut_bits, index_frac_bits: k.lut_index };
    let mut table = vec![0u16; Fixed::<W>::table_len(format, spec, 1.0)];
    let mut arith = Fixed::<W>::new(format, spec, Rule::HeatBath, 1.0, &mut table).unwrap();
    // Table entries.
    assert_eq!(k.table.len(), arith.lut().len(), "{name}: table length");
    let shift = format.frac_bits() - k.lut_index;
    for (idx, &e) in k.table.iter().enumerate() {
        assert_eq!(arith.lut().p_one((idx as i64) << shift), e, "{name}: table entry {idx}");
    }
    // Draws: each stream's records, in file order, are the stream's next words.
    let mut rngs = vec![Xoshiro128PlusPlus::from_u64(0); draws.streams(c)];
    Xoshiro128PlusPlus::chain_streams(k.seed, 0, &mut rngs);
    let mut check_rngs = rngs.clone();
    for u in &k.updates {
        assert_eq!(
            check_rngs[u.lane * c + u.chain].next_u32(),
            u.draw,
            "{name}: draw of unit {} chain {}",
            u.unit,
            u.chain
        );
        let start: usize = k.sizes[..u.partition].iter().sum();
        assert_eq!(map.lane(u.unit - start, k.sizes[u.partition], k.lanes), u.lane, "{name}: lane of unit {}", u.unit);
    }
    // States, fields and decisions, partition by partition.
    let mut state = vec![0u8; n * c];
    for chain in 0..c {
        for (i, &z) in k.states[&(0, chain)].iter().enumerate() {
            state[i * c + chain] = z;
        }
    }
    let mut fields = vec![W::Acc::default(); sampler.scratch_len(c)];
    let (min, max) = (format.min_raw() as i64, format.max_raw() as i64);
    let mut checked = 0;
    for sweep in 1..=k.sweeps {
        for p in 0..k.sizes.len() {
            let before = state.clone();
            let mut chains = Chains::new(&mut state, n, c).unwrap();
            sampler.update(p, &mut arith, &mut chains, &mut rngs, &mut fields).unwrap();
            let start: usize = (0..p).map(|q| k.sizes[q]).sum();
            for u in k.updates.iter().filter(|u| u.sweep == sweep && u.partition == p) {
                let (i, chain) = (u.unit, u.chain);
                let h = W::acc_i64(fields[(i - start) * c + chain]);
                assert_eq!(h, u.field as i64, "{name}: field of unit {i} chain {chain} sweep {sweep}");
                assert_eq!(h.clamp(min, max), u.saturated as i64, "{name}: saturated field");
                assert_eq!(arith.lut().p_one(u.saturated as i64), u.entry, "{name}: table entry used");
                assert_eq!(before[i * c + chain], u.old, "{name}: old state");
                assert_eq!(state[i * c + chain], u.new, "{name}: new state of unit {i} chain {chain} sweep {sweep}");
                // The decision: the r-bit draw below the entry.
                assert_eq!(((u.draw >> (32 - k.lut_bits)) < u.entry) as u8, u.new, "{name}: decision");
                checked += 1;
            }
        }
        for chain in 0..c {
            let row: Vec<u8> = (0..n).map(|i| state[i * c + chain]).collect();
            assert_eq!(row, k.states[&(sweep, chain)], "{name}: states after sweep {sweep}");
        }
    }
    let unclamped = n - k.clamp.len();
    assert_eq!(checked, k.sweeps * unclamped * c, "{name}: every unclamped update is recorded");
    checked
}

#[test]
fn known_answer_files_recomputed_by_core() {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fpga-sim/kat"));
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "kat") {
            let k = parse(&std::fs::read_to_string(&path).unwrap());
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let bits: QFormat = k.format.parse().unwrap();
            let n = if bits.bits() <= 8 { check::<i8>(&k, &name) } else { check::<i16>(&k, &name) };
            assert!(n > 50, "{name}: {n} updates");
            files += 1;
        }
    }
    assert!(files >= 2);
}
