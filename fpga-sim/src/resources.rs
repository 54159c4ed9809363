//! Resource estimate: LUTs, flip-flops, DSP slices and block RAMs, each line with its formula.
//!
//! The primitives are those of the configured family (`family` in the config):
//! * `xilinx-ultrascale-plus`: LUT6, FDRE flip-flops, DSP48E2; block RAM counted in 18 Kb
//!   units as the synthesis report counts them (RAMB18E2 = 1, RAMB36E2 = 2).
//! * `intel-agilex`: ALMs counted as LUT6 pairs, M20K (20 Kb: 512x40, 1Kx20, 2Kx10, 4Kx5,
//!   8Kx2, 16Kx1), variable-precision DSP blocks.
//! * `lattice-ice40`: LUT4, SB_RAM40_4K (4 Kb). `lattice-ecp5`: LUT4, DP16KD (18 Kb).
//!
//! These are first-order estimates for comparing design points (adders at one LUT per bit on
//! the carry chain, xor trees fused into LUT6s), not synthesis results. Symbols: L lanes per
//! device, A adder width, C chains, wb weight bits, a accumulator bits, fb field bits, r table
//! bits, S pipeline depth.
//!
//! **Memories** are the ones the RTL builds (`rtl.rs`), not the shared, banked memories the
//! hardware JSON configures for fpga-sim's cycle model: every lane has its own adjacency, job
//! and table ROMs, sized by the model (the fullest lane's), and the states sit in flip-flops.
//! Whether a ROM becomes block RAM follows yosys 0.23's `memory_libmap` ([`rom_brams`]): only
//! a ROM read through a register can, and only where its block RAMs cost less than the
//! ROM's bits in logic; it gave yosys's count on all 53 designs measured (BENCHMARKS.md, "RTL").

use crate::accelerator::MemoryNeeds;
use crate::config::{resource_family, HwConfig};
use serde::Serialize;

/// One line of the estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    /// What it is.
    pub item: String,
    /// The formula with the numbers put in.
    pub formula: String,
    /// LUTs.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// DSP slices.
    pub dsps: u64,
    /// Block RAMs (18 Kb units on UltraScale+: RAMB18E2 = 1, RAMB36E2 = 2; M20K, DP16KD,
    /// SB_RAM40_4K).
    pub brams: u64,
}

/// The estimate for one device.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resources {
    /// The family and its primitives.
    pub family: String,
    /// Lines.
    pub lines: Vec<Line>,
    /// Sums.
    pub total: Line,
    /// Bits of memory configured in the hardware JSON (weights, states, table), for fpga-sim's
    /// cycle model; the lines count the RTL's memories instead.
    pub memory_bits: u64,
}

/// A block RAM as yosys 0.23's `memory_libmap` sees it: its cost, the units the estimate
/// counts it as, and its (width, depth) aspect ratios for one read port.
struct BlockRam {
    name: &'static str,
    cost: f64,
    units: u64,
    aspects: &'static [(u64, u64)],
}

/// What `memory_libmap` weighs for a ROM on `family`: the cost of one ROM bit in soft logic
/// (its default 1/16, or 1/64 that `synth_xilinx` passes for LUT6 families) and the block
/// RAMs of the library files `synth_ice40`, `synth_ecp5` and `synth_xilinx -family xcup` use
/// (`brams.txt`, `brams_xc4v.txt` with HAS_SIZE_36: costs 64, 128, 129 and 257).
fn rom_rule(family: &str) -> (f64, &'static [BlockRam]) {
    const X18: &[(u64, u64)] = &[(1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)];
    const X36: &[(u64, u64)] = &[(1, 32768), (2, 16384), (4, 8192), (9, 4096), (18, 2048), (36, 1024), (72, 512)];
    match family {
        "lattice-ice40" => (
            1.0 / 16.0,
            &[BlockRam {
                name: "SB_RAM40_4K",
                cost: 64.0,
                units: 1,
                aspects: &[(2, 2048), (4, 1024), (8, 512), (16, 256)],
            }],
        ),
        "lattice-ecp5" => (1.0 / 16.0, &[BlockRam { name: "DP16KD", cost: 128.0, units: 1, aspects: X18 }]),
        // Not in yosys 0.23's Agilex flow; taken as a LUT6 family with a RAMB18-like M20K.
        "intel-agilex" => (
            1.0 / 64.0,
            &[BlockRam {
                name: "M20K",
                cost: 129.0,
                units: 1,
                aspects: &[(1, 16384), (2, 8192), (5, 4096), (10, 2048), (20, 1024), (40, 512)],
            }],
        ),
        _ => (
            1.0 / 64.0,
            &[
                BlockRam { name: "RAMB18E2", cost: 129.0, units: 1, aspects: X18 },
                BlockRam { name: "RAMB36E2", cost: 257.0, units: 2, aspects: X36 },
            ],
        ),
    }
}

/// How yosys 0.23 maps one ROM: the block RAMs, or 0 where it stays in logic.
#[derive(Clone, Debug, PartialEq)]
pub struct RomMapping {
    /// Block RAM units (0: soft logic).
    pub brams: u64,
    /// Why, with the numbers.
    pub why: String,
}

/// Block RAMs yosys 0.23 (`memory_libmap`) gives a ROM of `depth` words of `width` bits on
/// `family`, read through a register (`registered`) or in the same cycle. A ROM read in the
/// same cycle stays in logic (block RAMs read synchronously). Otherwise the cheapest block
/// RAM over the aspect ratios (w, d) costs cost x ceil(ceil(depth / d) width / w) plus 0.5 per
/// output bit of each extra address block's multiplexer, and wins only below the logic cost,
/// floor(width x depth x per-bit cost) (memory_libmap compares it as an integer; its ~2 of
/// read-port emulation is left out).
pub fn rom_brams(family: &str, width: u64, depth: u64, registered: bool) -> RomMapping {
    let (per_bit, blocks) = rom_rule(family);
    let bits = width * depth;
    if !registered || bits == 0 {
        return RomMapping { brams: 0, why: "read in the issue cycle: logic".into() };
    }
    let logic = (bits as f64 * per_bit).floor();
    let mut best: Option<(f64, u64, String)> = None;
    for b in blocks {
        for &(w, d) in b.aspects {
            let blocks_deep = depth.div_ceil(d);
            let n = (blocks_deep * width).div_ceil(w);
            let cost = b.cost * n as f64 + 0.5 * ((blocks_deep - 1) * width) as f64;
            if best.as_ref().is_none_or(|x| cost < x.0) {
                best = Some((cost, n * b.units, format!("{n} {} {d}x{w}", b.name)));
            }
        }
    }
    let Some((cost, units, what)) = best else {
        return RomMapping { brams: 0, why: "no block RAM: logic".into() };
    };
    let rule = format!("logic {bits} x 1/{} = {logic} vs {what} {cost}", (1.0 / per_bit).round());
    if cost < logic {
        RomMapping { brams: units, why: format!("{rule}: block RAM") }
    } else {
        RomMapping { brams: 0, why: format!("{rule}: logic") }
    }
}

/// Bits to write `x` (at least 1), as rtl.rs sizes addresses.
fn bits_for(x: u64) -> u64 {
    u64::from(64 - x.leading_zeros()).max(1)
}

/// Estimate one device of `hw` holding a model with `needs`, running `chains` chains.
pub fn estimate(hw: &HwConfig, needs: &MemoryNeeds, chains: usize) -> Resources {
    let family = resource_family(&hw.family).map(|f| f.0).unwrap_or("unknown");
    let l = hw.lanes as u64;
    let a = hw.adder_width as u64;
    let wb = needs.weight_bits as u64;
    let acc = needs.accumulator_bits as u64;
    let fb = hw.formats().map(|f| f.field.bits() as u64).unwrap_or(acc);
    let r = hw.arithmetic.lut_bits as u64;
    let s = hw.latency.depth();
    let c = chains as u64;
    let mut lines = Vec::new();
    let mut push = |item: &str, formula: String, luts: u64, ffs: u64, dsps: u64, brams: u64| {
        lines.push(Line { item: item.into(), formula, luts, ffs, dsps, brams })
    };
    // Adder slots past the largest fan-in are always empty (their valid bit is a constant 0 in
    // the adjacency ROM): synthesis drops their gating, adders and state multiplexers along with
    // their ROM bits (measured, yosys 0.23: iCE40, Z(6,4) n = 35 on one lane of A = 8, fan-in 4,
    // 1810 LUT4; 2230 estimated counting all 8 slots, 1810 with these 4).
    let slots = a.min(needs.max_degree.max(1) as u64);
    if a == 1 {
        push("multiply-accumulate", format!("L DSPs = {l}"), 0, 0, l, 0);
    } else {
        push(
            "term gating (weight AND state)",
            format!("L min(A, dmax) wb = {l} x {slots} x {wb}"),
            l * slots * wb,
            0,
            0,
            0,
        );
        push(
            "adder tree",
            format!("L (min(A, dmax) - 1) a = {l} x {} x {acc}", slots - 1),
            l * (slots - 1) * acc,
            0,
            0,
            0,
        );
    }
    push("field saturation", format!("L (a + fb) = {l} x ({acc} + {fb})"), l * (acc + fb), 0, 0, 0);
    push("comparator", format!("L r = {l} x {r}"), l * r, 0, 0, 0);
    // xoshiro128++: two 32-bit adds and four fused xor stages of 32 bits.
    push("xoshiro128++ logic", format!("L (2 x 32 + 4 x 32) = {l} x 192"), l * 192, 0, 0, 0);
    // The RTL keeps each chain's generator state and next draw in a per-lane memory read in
    // the decision cycle, so never in block RAM: flip-flops for one chain (and on iCE40, which
    // has no LUT RAM), LUT RAM otherwise (measured, yosys 0.23: RAM32M16 / TRELLIS_DPR16X4).
    match hw.family.as_str() {
        "lattice-ice40" | "intel-agilex" => {
            push("xoshiro128++ state (flip-flops)", format!("L C 128 = {l} x {c} x 128"), 0, l * c * 128, 0, 0)
        }
        _ if c == 1 => {
            push("xoshiro128++ state (flip-flops)", format!("L C 128 = {l} x {c} x 128"), 0, l * c * 128, 0, 0)
        }
        "lattice-ecp5" => {
            // TRELLIS_DPR16X4: 16 words of 4 bits in 4 LUT4s.
            let cells = 160u64.div_ceil(4) * c.div_ceil(16);
            push(
                "xoshiro128++ state and draws (LUT RAM)",
                format!("L x 4 ceil(160/4) ceil(C/16) = {l} x 4 x {cells} (TRELLIS_DPR16X4)"),
                l * 4 * cells,
                0,
                0,
                0,
            )
        }
        _ => {
            // RAM32M16 (16 bits x 32 words) or RAM64M8 (8 bits x 64 words), 8 LUT6 each.
            let cells = if c <= 32 { 160 / 16 } else { 160 / 8 * c.div_ceil(64) };
            push(
                "xoshiro128++ state and draws (LUT RAM)",
                format!("L x 8 x (160 bits / (16 or 8)) = {l} x 8 x {cells} (RAM32M16 / RAM64M8)"),
                l * 8 * cells,
                0,
                0,
                0,
            )
        }
    }
    // Unit-address bits (ub) and chain bits (cb).
    let ub = needs.weight_entry_bits.saturating_sub(needs.weight_bits) as u64;
    let cb = (u64::BITS - (c.max(2) - 1).leading_zeros()) as u64 * u64::from(c > 1);
    // Calibrated on yosys 0.23 (BENCHMARKS.md "RTL: synthesis and co-simulation"): the
    // weights of a fetched word, the field register, and per stage the unit and chain address
    // with about 8 control bits (valid, first, last, signs, write enable). The earlier
    // S (a + 32) per lane, plus adder-tree and field registers, was twice the measured count.
    push(
        "pipeline and field registers",
        format!("L (A wb + a + S (ub + cb + 8)) = {l} x ({a} x {wb} + {acc} + {s} x ({ub} + {cb} + 8))"),
        0,
        l * (a * wb + acc + s * (ub + cb + 8)),
        0,
        0,
    );
    // Calibrated likewise: the job, word and chain counters and the adjacency address adder,
    // the table index (an adder and two caps, about 4a) and ~128 LUTs of control (with the
    // ROMs kept in logic, ~310 LUTs per lane were missing without it).
    push("issue control, table index", format!("L (4a + 128) = {l} x (4 x {acc} + 128)"), l * (4 * acc + 128), 0, 0, 0);
    let m = &hw.memories;
    // The RTL keeps the states in flip-flops whatever kind of state memory the JSON
    // configures (measured: Z(6,4) n = 100 on one bram-pipelined lane, 2430 LUT6 by yosys,
    // estimated 2487 with these lines, 787 without). They are read through m : 1 multiplexers,
    // one per used adder slot (min(A, dmax)) and one for the unit's own state per lane (a
    // LUTk selects among k - 2 inputs), and each bit has a write port per lane: the address compare, enable,
    // written bit and held bit, ub + cb + 3 inputs in a tree of LUTk. Measured (yosys 0.23,
    // BENCHMARKS.md "RTL"): 4.45 LUT6 per lane and state bit on UltraScale+ at ub = 8.
    // Without a weight-fetch register the adjacency ROM is constant logic and synthesis
    // prunes a slot's multiplexer to the neighbours stored in that slot, at most
    // m = ceil(E / (L A)) units of C chains (E weight-memory entries); without any pipeline
    // register the write address is too, and each bit keeps the one port of its owner lane
    // (the p-bit arrays).
    let sb = needs.state_bits;
    let k = resource_family(&hw.family).map_or(6, |f| f.1) as u64;
    let m_in = if hw.latency.weight_fetch == 0 { sb.min(needs.weight_entries.div_ceil(l * a) * c) } else { sb };
    let ports = if s == 0 { 1 } else { l };
    let read = ((slots + 1) * m_in).div_ceil(k - 2);
    let per_bit = (ub + cb + 3).div_ceil(k - 1);
    push(
        "state read multiplexers",
        format!(
            "L ceil((min(A, dmax) + 1) m / (k - 2)) = {l} x ceil({} x {m_in} / {}) (m inputs, LUT{k})",
            slots + 1,
            k - 2
        ),
        l * read,
        0,
        0,
        0,
    );
    push(
        "state write ports",
        format!("ports N C ceil((ub + cb + 3) / (k - 1)) = {ports} x {sb} x {per_bit}"),
        ports * sb * per_bit,
        0,
        0,
        0,
    );
    // ECP5 only: synth_ecp5 (yosys 0.23) maps into more LUT4s than the LUT4 lines above, which
    // match iCE40 (SB_LUT4, within 8% on four designs). Three terms, fitted (least squares in
    // relative error, rounded) on eight ECP5 designs of the current RTL (BENCHMARKS.md "RTL":
    // Z(6,4) n = 16, 17 on one lane, n = 50 on two, n = 180, 190, 210, 240 on eight, the 28-unit
    // reference on seven), all within 5% with them and 20-48% low without:
    // * per state bit: 12 LUT4, and per lane and state bit: 3 more. Its abc9 mapping builds the
    //   state array's next-state logic and each lane's read multiplexers from LUT5-LUT7 (2-8
    //   LUT4 joined by PFUMX / L6MUX21: 29758 and 17787 of them for 720 units), where iCE40
    //   keeps LUT4 trees;
    // * per lane: 88 LUT4, mostly carry chains counted as whole CCU2C (2 LUT4 per 2 bits,
    //   also where a chain only compares: u < p, u + p, the counters and the index caps).
    if hw.family == "lattice-ecp5" {
        push(
            "state array wide-LUT mapping (ECP5)",
            format!("(12 + 3 L) N C = (12 + 3 x {l}) x {sb} (fitted, yosys 0.23 synth_ecp5)"),
            (12 + 3 * l) * sb,
            0,
            0,
            0,
        );
        push(
            "carry cells and control (ECP5)",
            format!("88 L = 88 x {l} (fitted, CCU2C counted as 2 LUT4)"),
            88 * l,
            0,
            0,
            0,
        );
    }
    // The RTL's memories (rtl.rs), one set per lane, as deep as the fullest lane needs them.
    // Adjacency: A slots of {valid, weight, neighbour}, but slots past the largest fan-in are
    // always empty and synthesis drops them. Jobs: {word base, words, bias, unit}, read in the
    // issue cycle. Table: r bits per entry. A ROM kept in logic costs its bits over 2^k per LUT
    // (calibrated with the lines above on the four UltraScale+ designs of the test below; on
    // ECP5, one lane of Z(6,4) n = 16 with its 64 x 92 adjacency ROM in logic took 335 LUT4
    // more than n = 17 with it in block RAM, against 368 here).
    let adj_w = slots * (1 + wb + ub);
    let job_w =
        bits_for(needs.lane_words.max(1) - 1) + bits_for((needs.max_degree as u64).div_ceil(a).max(1)) + wb + ub;
    let roms = [
        ("adjacency ROM", adj_w, needs.lane_words, hw.latency.weight_fetch > 0, "min(A, dmax) (1 + wb + ub)"),
        ("job ROM", job_w, needs.lane_units, false, "word base, words, bias, unit"),
        ("table ROM", r, needs.table_entries, hw.latency.table_lookup > 0, "r"),
    ];
    for (name, width, depth, registered, w_is) in roms {
        let map = rom_brams(&hw.family, width, depth, registered);
        if map.brams > 0 {
            push(
                &format!("{name} per lane (block RAM)"),
                format!("L x {} = {l} x {} ({depth} words x {width} bits = {w_is}; {})", map.brams, map.brams, map.why),
                0,
                0,
                0,
                l * map.brams,
            );
        } else {
            // A LUTk holds 2^k bits; small ROMs fold into the logic they feed, and a one-word
            // ROM (one unit per lane, as in the p-bit arrays) is constants.
            let luts = if depth <= 1 { 0 } else { (width * depth).div_ceil(1 << k) };
            push(
                &format!("{name} per lane (logic)"),
                format!("L ceil(W D / 2^k) = {l} x ceil({width} x {depth} / {}) (W = {w_is}; {})", 1u64 << k, map.why),
                l * luts,
                0,
                0,
                0,
            );
        }
    }
    // The state array is flip-flops in the RTL whatever the JSON configures: the model's N C
    // bits (measured), not the configured capacity.
    push(
        "state (flip-flops)",
        format!("N C = {} (the JSON configures {} bits)", needs.state_bits, m.state.bits()),
        0,
        needs.state_bits,
        0,
        0,
    );
    let total = Line {
        item: "total".into(),
        formula: "sum of the lines".into(),
        luts: lines.iter().map(|x| x.luts).sum(),
        ffs: lines.iter().map(|x| x.ffs).sum(),
        dsps: lines.iter().map(|x| x.dsps).sum(),
        brams: lines.iter().map(|x| x.brams).sum(),
    };
    Resources { family: family.into(), lines, total, memory_bits: m.weight.bits() + m.state.bits() + m.table.bits() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `memory_libmap`'s choice for the ROMs of measured designs (yosys 0.23, run up to the
    /// memory mapping on the generated RTL; BENCHMARKS.md "RTL"): (family, width, depth,
    /// registered read, block RAM units it used).
    #[test]
    fn rom_mapping_follows_yosys() {
        let cases = [
            // Tables (r bits x entries), read through a register.
            ("lattice-ecp5", 8, 101, true, 0),
            ("lattice-ecp5", 8, 201, true, 0),
            ("lattice-ecp5", 8, 401, true, 1),
            ("lattice-ecp5", 8, 1599, true, 1),
            ("lattice-ice40", 8, 101, true, 0),
            ("lattice-ice40", 8, 201, true, 1),
            ("lattice-ice40", 8, 800, true, 2),
            ("lattice-ice40", 8, 1599, true, 4),
            ("xilinx-ultrascale-plus", 16, 190, true, 0),
            ("xilinx-ultrascale-plus", 8, 401, true, 0),
            ("xilinx-ultrascale-plus", 16, 756, true, 1),
            ("xilinx-ultrascale-plus", 16, 3018, true, 3),
            // Adjacency ROMs (A slots of 1 + wb + ub bits x words).
            ("lattice-ecp5", 92, 64, true, 0),
            ("lattice-ecp5", 96, 68, true, 3),
            ("lattice-ecp5", 100, 52, true, 0),
            ("lattice-ecp5", 100, 100, true, 3),
            ("lattice-ecp5", 50, 256, true, 2),
            ("lattice-ecp5", 108, 262, true, 3),
            ("lattice-ecp5", 100, 100, false, 0),
            ("lattice-ice40", 88, 32, true, 0),
            ("lattice-ice40", 96, 68, true, 6),
            ("lattice-ice40", 100, 140, true, 7),
            ("lattice-ice40", 104, 400, true, 13),
            ("xilinx-ultrascale-plus", 100, 140, true, 0),
            ("xilinx-ultrascale-plus", 104, 200, true, 0),
            ("xilinx-ultrascale-plus", 104, 400, true, 3),
        ];
        for (family, width, depth, registered, brams) in cases {
            let m = rom_brams(family, width, depth, registered);
            assert_eq!(m.brams, brams, "{family} {depth} x {width}: {}", m.why);
        }
    }

    /// What the 7x7x7x7 reference model needs on the presets measured here.
    const REFERENCE: MemoryNeeds = MemoryNeeds {
        weight_bits: 16,
        weight_entry_bits: 21,
        weight_entries: 168,
        state_bits: 28,
        table_entries: 101,
        accumulator_bits: 20,
        max_degree: 14,
        lane_units: 8,
        lane_words: 14,
    };

    /// The estimate stays within 20% of `synth_xilinx -family xcup -flatten` (yosys 0.23) in
    /// LUTs and flip-flops, and equals its block RAM count, for the designs measured in
    /// BENCHMARKS.md ("RTL: synthesis and co-simulation"): (preset, needs, instantiated lanes,
    /// measured LUTs, flip-flops, 18 Kb block RAMs).
    #[test]
    fn estimate_matches_yosys_on_measured_designs() {
        let reference = REFERENCE;
        let zephyr_200 = MemoryNeeds {
            weight_bits: 16,
            weight_entry_bits: 24,
            weight_entries: 898,
            state_bits: 200,
            table_entries: 101,
            accumulator_bits: 19,
            max_degree: 4,
            lane_units: 28,
            lane_words: 28,
        };
        // bram-pipelined on the 28-unit model instantiates 7 of its 16 lanes (7 units per colour).
        let bram_pipelined = MemoryNeeds { table_entries: 3018, lane_units: 4, lane_words: 10, ..reference };
        // Z(6,4) n = 100 (400 units, fan-in at most 4) on one bram-pipelined lane.
        let zephyr_400 = MemoryNeeds {
            weight_bits: 16,
            weight_entry_bits: 25,
            weight_entries: 1796,
            state_bits: 400,
            table_entries: 3018,
            accumulator_bits: 19,
            max_degree: 4,
            lane_units: 400,
            lane_words: 400,
        };
        let cases = [
            ("ice40-up5k", reference, 4, 3030, 1056, 0),
            ("ecp5-85", zephyr_200, 8, 12178, 2386, 0),
            ("bram-pipelined", bram_pipelined, 7, 4505, 2058, 21),
            ("bram-pipelined", zephyr_400, 1, 2430, 860, 6),
        ];
        for (preset, needs, lanes, luts, ffs, brams) in cases {
            let mut hw = HwConfig::preset(preset).unwrap();
            hw.family = "xilinx-ultrascale-plus".into();
            hw.lanes = lanes;
            let e = estimate(&hw, &needs, 1).total;
            for (what, est, measured) in [("LUTs", e.luts, luts), ("flip-flops", e.ffs, ffs)] {
                let err = (est as f64 / measured as f64 - 1.0).abs();
                assert!(err < 0.2, "{preset} {what}: estimate {est}, yosys {measured}");
            }
            assert_eq!(e.brams, brams, "{preset} block RAMs");
        }
    }

    /// Block RAMs of whole designs in their own families, exact against yosys 0.23
    /// (`calo4p fpga-sim synth --no-pnr`, BENCHMARKS.md "RTL"): (preset, lanes, adder width,
    /// needs, block RAMs). Zephyr models are `calo4p model random --zephyr 6,4
    /// --per-partition n --seed 1`; 7x7x7x7 is the reference model.
    #[test]
    fn block_rams_match_yosys_per_family() {
        let reference = REFERENCE;
        // Z(6,4) with n units per colour class on one lane of A = 4: 4n words of 1 + 16 + ub bits.
        let zephyr = |n: u64, ub: u32, lane_units: u64| MemoryNeeds {
            weight_bits: 16,
            weight_entry_bits: 16 + ub,
            weight_entries: 0,
            state_bits: 4 * n,
            table_entries: 101,
            accumulator_bits: 19,
            max_degree: 4,
            lane_units,
            lane_words: lane_units,
        };
        let z200 = MemoryNeeds {
            weight_entry_bits: 26,
            state_bits: 800,
            max_degree: 20,
            accumulator_bits: 21,
            lane_units: 100,
            lane_words: 262,
            ..zephyr(200, 10, 100)
        };
        let cases = [
            // 800 units on 8 lanes: the adjacency ROMs (262 words x 108 bits) in 3 DP16KD each.
            ("ecp5-85", 8, 4, z200, 24),
            // One lane of Z(6,4) n = 16 (64 words x 92 bits: logic) and n = 17 (68 x 96: 3 DP16KD).
            ("ecp5-85", 1, 4, zephyr(16, 6, 64), 0),
            ("ecp5-85", 1, 4, zephyr(17, 7, 68), 3),
            ("ecp5-85", 2, 4, zephyr(50, 8, 100), 6),
            ("ice40-up5k", 2, 4, zephyr(50, 8, 100), 14),
            // Adder width 8 with fan-in 4: the empty slots are dropped (100 bits, not 200).
            ("ice40-up5k", 1, 8, zephyr(35, 8, 140), 7),
            // The table: 401 entries x 8 bits in a DP16KD per lane (7 lanes built), 800 in two
            // SB_RAM40_4K per lane.
            ("ecp5-85", 7, 4, MemoryNeeds { table_entries: 401, lane_units: 4, lane_words: 10, ..reference }, 7),
            ("ice40-up5k", 4, 4, MemoryNeeds { table_entries: 800, ..reference }, 8),
            // 3018 x 16 table (3 RAMB18) and 400 x 104 adjacency (3 RAMB18) on one lane.
            ("bram-pipelined", 1, 4, MemoryNeeds { table_entries: 3018, ..zephyr(100, 9, 400) }, 6),
        ];
        for (preset, lanes, adder_width, needs, brams) in cases {
            let mut hw = HwConfig::preset(preset).unwrap();
            hw.lanes = lanes;
            hw.adder_width = adder_width;
            let e = estimate(&hw, &needs, 1);
            let lines: Vec<_> = e.lines.iter().filter(|l| l.brams > 0).map(|l| &l.formula).collect();
            assert_eq!(e.total.brams, brams, "{preset} x {lanes} lanes: {lines:?}");
        }
    }

    /// LUT4 counts of whole designs in their own families within 20% of yosys 0.23
    /// (`calo4p fpga-sim synth --no-pnr`; ECP5: LUT4 + 2 x CCU2C, iCE40: SB_LUT4 without
    /// SB_CARRY, as synth.rs counts them; BENCHMARKS.md "RTL"): (preset, lanes built, adder
    /// width, needs as `calo4p fpga-sim --json` reports them, yosys LUTs). Zephyr models are
    /// `calo4p model random --zephyr 6,4 --per-partition n --seed 1`, R the 7x7x7x7 reference
    /// model (its table at 6 and 7 fractional index bits: 401 and 800 entries).
    #[test]
    fn lut4_estimate_matches_yosys_per_family() {
        // (weight entry bits, weight entries, units, table entries, accumulator bits, largest
        // fan-in, lane units, lane words); Q8.8 weights throughout.
        let needs =
            |web: u32, entries: u64, units: u64, table: u64, acc: u32, dmax: usize, lu: u64, lw: u64| MemoryNeeds {
                weight_bits: 16,
                weight_entry_bits: web,
                weight_entries: entries,
                state_bits: units,
                table_entries: table,
                accumulator_bits: acc,
                max_degree: dmax,
                lane_units: lu,
                lane_words: lw,
            };
        let z16 = needs(22, 284, 64, 101, 19, 4, 64, 64);
        let z17 = needs(23, 304, 68, 101, 19, 4, 68, 68);
        let z18 = needs(23, 324, 72, 101, 19, 4, 20, 20);
        let z35 = needs(24, 628, 140, 101, 19, 4, 140, 140);
        let z50 = needs(24, 898, 200, 101, 19, 4, 100, 100);
        // The current RTL on 8 lanes (lane sha256 ecd2072862cb...); n = 180 is the largest
        // that places and routes on an ECP5-85.
        let z180 = needs(26, 5544, 720, 101, 21, 20, 92, 168);
        let z190 = needs(26, 7000, 760, 101, 21, 20, 96, 220);
        let z210 = needs(26, 9924, 840, 101, 21, 20, 108, 310);
        let z240 = needs(26, 14304, 960, 101, 21, 20, 120, 436);
        let r = REFERENCE;
        let cases = [
            ("ecp5-85", 2, 4, z50, 7684),
            ("ecp5-85", 8, 4, z180, 77446),
            ("ecp5-85", 8, 4, z190, 80844),
            ("ecp5-85", 8, 4, z210, 92239),
            ("ecp5-85", 8, 4, z240, 101962),
            ("ecp5-85", 7, 4, MemoryNeeds { table_entries: 401, lane_units: 4, lane_words: 10, ..r }, 7020),
            ("ecp5-85", 1, 4, z17, 2276),
            // Its 64 x 92 adjacency ROM in logic (n = 17's is in block RAM).
            ("ecp5-85", 1, 4, z16, 2611),
            ("ice40-up5k", 2, 4, z50, 3913),
            ("ice40-up5k", 4, 4, MemoryNeeds { table_entries: 800, ..r }, 3044),
            // Slots 4..7 empty (fan-in 4): their multiplexers, gating and adders are dropped.
            ("ice40-up5k", 1, 8, z35, 1810),
            ("ice40-up5k", 4, 4, r, 3194),
            ("ice40-up5k", 4, 4, z18, 4612),
        ];
        for (preset, lanes, adder_width, needs, luts) in cases {
            let mut hw = HwConfig::preset(preset).unwrap();
            hw.lanes = lanes;
            hw.adder_width = adder_width;
            let est = estimate(&hw, &needs, 1).total.luts;
            let err = (est as f64 / luts as f64 - 1.0).abs();
            assert!(err < 0.2, "{preset} x {lanes} lanes, {} units: estimate {est}, yosys {luts}", needs.state_bits);
        }
    }
}
