//! Resource estimate: LUTs, flip-flops, DSP slices and block RAMs, each line with its formula.
//!
//! The primitives are those of the configured family (`family` in the config):
//! * `xilinx-ultrascale-plus`: LUT6, FDRE flip-flops, DSP48E2, RAMB36E2 (36 Kb, aspect ratios
//!   512x72, 1Kx36, 2Kx18, 4Kx9, 8Kx4, 16Kx2, 32Kx1).
//! * `intel-agilex`: ALMs counted as LUT6 pairs, M20K (20 Kb: 512x40, 1Kx20, 2Kx10, 4Kx5,
//!   8Kx2, 16Kx1), variable-precision DSP blocks.
//!
//! These are first-order estimates for comparing design points (adders at one LUT per bit on
//! the carry chain, xor trees fused into LUT6s), not synthesis results. Symbols: L lanes per
//! device, A adder width, C chains, wb weight bits, a accumulator bits, fb field bits, r table
//! bits, S pipeline depth.

use crate::accelerator::MemoryNeeds;
use crate::config::{resource_family, HwConfig, Memory, MemoryKind};
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
    /// Block RAMs (RAMB36 or M20K).
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
    /// Bits of memory configured (weights, states, table).
    pub memory_bits: u64,
}

/// Block RAM aspect ratios (width, depth) of a family.
fn aspects(family: &str) -> &'static [(u64, u64)] {
    match family {
        "intel-agilex" => &[(40, 512), (20, 1024), (10, 2048), (5, 4096), (2, 8192), (1, 16384)],
        "lattice-ice40" => &[(16, 256), (8, 512), (4, 1024), (2, 2048)],
        "lattice-ecp5" => &[(36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)],
        _ => &[(72, 512), (36, 1024), (18, 2048), (9, 4096), (4, 8192), (2, 16384), (1, 32768)],
    }
}

/// Block RAMs for one bank: the cheapest aspect ratio, min over (w, d) of
/// ceil(word / w) x ceil(depth / d).
fn brams_per_bank(family: &str, word_bits: u64, depth: u64) -> u64 {
    aspects(family).iter().map(|&(w, d)| word_bits.div_ceil(w) * depth.div_ceil(d)).min().unwrap_or(0)
}

fn memory_line(family: &str, name: &str, m: &Memory) -> Line {
    match m.kind {
        MemoryKind::Bram => {
            let per = brams_per_bank(family, m.word_bits as u64, m.depth);
            Line {
                item: format!("{name} memory (block RAM)"),
                formula: format!(
                    "banks x min over aspect (w, d) of ceil(word/w) ceil(depth/d) = {} x {per} (word {}, depth {})",
                    m.banks, m.word_bits, m.depth
                ),
                luts: 0,
                ffs: 0,
                dsps: 0,
                brams: m.banks as u64 * per,
            }
        }
        MemoryKind::Registers if m.depth >= 16 => {
            let luts = m.banks as u64 * m.word_bits as u64 * m.depth.div_ceil(64);
            Line {
                item: format!("{name} memory (distributed LUT RAM)"),
                formula: format!(
                    "banks x word x ceil(depth/64) = {} x {} x {}",
                    m.banks,
                    m.word_bits,
                    m.depth.div_ceil(64)
                ),
                luts,
                ffs: 0,
                dsps: 0,
                brams: 0,
            }
        }
        MemoryKind::Registers => Line {
            item: format!("{name} memory (flip-flops)"),
            formula: format!("banks x depth x word = {} x {} x {}", m.banks, m.depth, m.word_bits),
            luts: 0,
            ffs: m.bits(),
            dsps: 0,
            brams: 0,
        },
    }
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
    if a == 1 {
        push("multiply-accumulate", format!("L DSPs = {l}"), 0, 0, l, 0);
    } else {
        push("term gating (weight AND state)", format!("L A wb = {l} x {a} x {wb}"), l * a * wb, 0, 0, 0);
        push("adder tree", format!("L (A-1) a = {l} x {} x {acc}", a - 1), l * (a - 1) * acc, 0, 0, 0);
    }
    push("field saturation", format!("L (a + fb) = {l} x ({acc} + {fb})"), l * (acc + fb), 0, 0, 0);
    push("comparator", format!("L r = {l} x {r}"), l * r, 0, 0, 0);
    // xoshiro128++: two 32-bit adds and four fused xor stages of 32 bits.
    push("xoshiro128++ logic", format!("L (2 x 32 + 4 x 32) = {l} x 192"), l * 192, 0, 0, 0);
    let rng_bits = l * c * 128;
    if c <= 4 {
        push("xoshiro128++ state (flip-flops)", format!("L C 128 = {l} x {c} x 128"), 0, rng_bits, 0, 0);
    } else {
        let per = brams_per_bank(&hw.family, 128, c);
        push(
            "xoshiro128++ state (block RAM per lane)",
            format!("L x ceil-aspect(128 bits x C) = {l} x {per} (C = {c})"),
            0,
            0,
            0,
            l * per,
        );
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
    // the table index (an adder and two caps, about 4a), the small per-lane ROMs that synthesis
    // keeps in LUTs (about one LUT per bit of a fetched word, A (1 + wb + ub)), and ~128 LUTs
    // of control; without it the estimate missed ~310 LUTs per lane.
    push(
        "issue control, table index, per-lane ROMs",
        format!("L (4a + A (1 + wb + ub) + 128) = {l} x (4 x {acc} + {a} x (1 + {wb} + {ub}) + 128)"),
        l * (4 * acc + a * (1 + wb + ub) + 128),
        0,
        0,
        0,
    );
    let m = &hw.memories;
    if m.state.kind == MemoryKind::Registers {
        // States in flip-flops (as the RTL keeps them) are read through m : 1 multiplexers,
        // one per adder slot and one for the unit's own state per lane (a LUTk selects among
        // k - 2 inputs), and each bit has a write port per lane: the address compare, enable,
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
        let read = ((a + 1) * m_in).div_ceil(k - 2);
        let per_bit = (ub + cb + 3).div_ceil(k - 1);
        push(
            "state read multiplexers",
            format!("L ceil((A + 1) m / (k - 2)) = {l} x ceil({} x {m_in} / {}) (m inputs, LUT{k})", a + 1, k - 2),
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
    }
    for (name, mem) in [("weight", &m.weight), ("state", &m.state), ("table", &m.table)] {
        let mut line = memory_line(&hw.family, name, mem);
        if name == "state" && line.ffs > 0 {
            // Flip-flops hold the model's states, not the configured capacity (measured: the
            // RTL keeps N C bits).
            line.formula = format!("N C = {} (of {} configured)", needs.state_bits, line.ffs);
            line.ffs = needs.state_bits;
        }
        lines.push(line);
    }
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

    #[test]
    fn bram_aspects() {
        // 1208 x 27-bit entries: 72-bit words hold two, depth 512 -> one RAMB36 per bank.
        assert_eq!(brams_per_bank("xilinx-ultrascale-plus", 72, 512), 1);
        assert_eq!(brams_per_bank("xilinx-ultrascale-plus", 36, 1024), 1);
        assert_eq!(brams_per_bank("xilinx-ultrascale-plus", 16, 4096), 2);
        assert_eq!(brams_per_bank("xilinx-ultrascale-plus", 1, 65536), 2);
        assert_eq!(brams_per_bank("intel-agilex", 40, 512), 1);
        assert_eq!(brams_per_bank("lattice-ice40", 8, 512), 1);
        assert_eq!(brams_per_bank("lattice-ecp5", 36, 1024), 2);
    }

    /// The estimate stays within 20% of `synth_xilinx -family xcup -flatten` (yosys 0.23) for
    /// the designs measured in BENCHMARKS.md ("RTL: synthesis and co-simulation"):
    /// (preset, needs, instantiated lanes, measured LUTs, measured flip-flops).
    #[test]
    fn estimate_matches_yosys_on_measured_designs() {
        let reference = MemoryNeeds {
            weight_bits: 16,
            weight_entry_bits: 21,
            weight_entries: 168,
            state_bits: 28,
            table_entries: 101,
            accumulator_bits: 20,
            max_degree: 14,
        };
        let zephyr_200 = MemoryNeeds {
            weight_bits: 16,
            weight_entry_bits: 24,
            weight_entries: 898,
            state_bits: 200,
            table_entries: 101,
            accumulator_bits: 19,
            max_degree: 4,
        };
        // bram-pipelined on the 28-unit model instantiates 7 of its 16 lanes (7 units per colour).
        let cases = [
            ("ice40-up5k", reference, 4, 3030, 1056),
            ("ecp5-85", zephyr_200, 8, 12178, 2386),
            ("bram-pipelined", MemoryNeeds { table_entries: 3018, ..reference }, 7, 4505, 2058),
        ];
        for (preset, needs, lanes, luts, ffs) in cases {
            let mut hw = HwConfig::preset(preset).unwrap();
            hw.family = "xilinx-ultrascale-plus".into();
            hw.lanes = lanes;
            let e = estimate(&hw, &needs, 1).total;
            for (what, est, measured) in [("LUTs", e.luts, luts), ("flip-flops", e.ffs, ffs)] {
                let err = (est as f64 / measured as f64 - 1.0).abs();
                assert!(err < 0.2, "{preset} {what}: estimate {est}, yosys {measured}");
            }
        }
    }
}
