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
use crate::config::{HwConfig, Memory, MemoryKind, resource_family};
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
    if family == "intel-agilex" {
        &[(40, 512), (20, 1024), (10, 2048), (5, 4096), (2, 8192), (1, 16384)]
    } else {
        &[(72, 512), (36, 1024), (18, 2048), (9, 4096), (4, 8192), (2, 16384), (1, 32768)]
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
        push(
            "adder tree",
            format!("L (A-1) a = {l} x {} x {acc}", a - 1),
            l * (a - 1) * acc,
            if hw.latency.adder_tree > 0 { l * (a / 2).max(1) * acc } else { 0 },
            0,
            0,
        );
    }
    push(
        "field register and saturation",
        format!("L (a + fb) LUTs, L a FFs = {l} x ({acc} + {fb}), {l} x {acc}"),
        l * (acc + fb),
        l * acc,
        0,
        0,
    );
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
    push("pipeline registers", format!("L S (a + 32) = {l} x {s} x ({acc} + 32)"), 0, l * s * (acc + 32), 0, 0);
    let m = &hw.memories;
    for (name, mem) in [("weight", &m.weight), ("state", &m.state), ("table", &m.table)] {
        lines.push(memory_line(&hw.family, name, mem));
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
    }
}
