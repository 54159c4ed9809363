//! The accelerator as RTL: the hand-written lane, controller, delay and generator modules in
//! `fpga-sim/rtl/`, and, for one model, hardware configuration, seed and starting state, the
//! generated top level, parameter header, memory images, C header and Verilator testbench.
//!
//! **Design.** Every global lane that has units becomes a `calo4p_lane` instance with its own
//! memories, which is how the RTL reproduces [`Accelerator::sweep`] bit for bit:
//! - a job memory, one word per (phase, unit) the lane updates, in issue order:
//!   `{word base, words, bias, unit}`;
//! - an adjacency memory of `adder_width` slots per word, `{valid, weight, neighbour}`, each
//!   unit's list (neighbours ascending, as the simulator's weight memory) padded to whole words
//!   (a unit without neighbours has one empty word);
//! - the jobs per phase, the xoshiro128++ state of each chain (stream `g*C + c`) and a copy of
//!   the acceptance table.
//!
//! The state array (`N x C` bits, unit-major) sits in the top level, read by every lane and
//! written by each lane's write-back port; the colour-phase controller counts the cycles.
//!
//! **Timing against fpga-sim.** A job takes `max(1, ceil(d / adder_width))` cycles per chain,
//! the simulator's compute term, and a phase ends `depth` cycles after its last issue plus the
//! barrier, as in the simulator. The RTL gives each lane its own weight, state and table read
//! ports, so it never stalls on the shared banks that fpga-sim's memory model charges for:
//! where fpga-sim reports `memory_stall` cycles the RTL is faster by the stall of the
//! critical lanes ([`RtlDesign::expected_cycles`] says by how much; the presets never stall).
//!
//! Not in RTL: the partitioned multi-device mode, more than 64 chains (the testbench reads a
//! unit's chains as one 64-bit word).

use crate::accelerator::Accelerator;
use calo4p_core::arithmetic::{Fixed, Rule};
use calo4p_core::qformat::RawWeight;
use calo4p_core::rng::Xoshiro128PlusPlus;
use rand_core::RngCore;
use std::fmt::Write as _;

/// The hand-written RTL: (file name, text).
pub const SOURCES: &[(&str, &str)] = &[
    ("calo4p_lane.v", include_str!("../rtl/calo4p_lane.v")),
    ("calo4p_control.v", include_str!("../rtl/calo4p_control.v")),
    ("calo4p_delay.v", include_str!("../rtl/calo4p_delay.v")),
    ("calo4p_rom.v", include_str!("../rtl/calo4p_rom.v")),
    ("calo4p_xoshiro128pp.v", include_str!("../rtl/calo4p_xoshiro128pp.v")),
];

/// The pin-limited wrapper that synthesis and place-and-route take as top level.
pub const FPGA_TOP: (&str, &str) = ("calo4p_fpga.v", include_str!("../rtl/calo4p_fpga.v"));

/// The Verilator testbench (C++): runs `+sweeps=K` sweeps, printing `S k` before each, the
/// lanes' `U lane unit chain draw bit field` lines (with `-DCALO4P_TRACE`), `C cycles` and one
/// `Z unit chains-hex` line per unit after each.
pub const TESTBENCH: &str = include_str!("../rtl/tb_calo4p.cpp");

/// The same testbench in Verilog for event-driven simulators (Icarus, Questa, xsim; Verilator
/// with `--timing`): the same `S`, `C` and `Z` lines.
pub const TESTBENCH_V: (&str, &str) = ("tb_calo4p.v", include_str!("../rtl/tb_calo4p.v"));

/// Most chains the generated testbench reads.
pub const MAX_CHAINS: usize = 64;

/// Why a design cannot be generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtlError(pub String);

impl std::fmt::Display for RtlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RtlError {}

/// One memory image: its name (no extension), word width and words (each as little-endian
/// 32-bit limbs).
#[derive(Clone, Debug)]
pub struct Image {
    /// File stem, e.g. `lane3_adj`.
    pub name: String,
    /// What it holds.
    pub what: &'static str,
    /// Bits per word.
    pub width: u32,
    /// Words, each `ceil(width / 32)` limbs, least significant first.
    pub words: Vec<Vec<u32>>,
}

impl Image {
    fn new(name: String, what: &'static str, width: u32) -> Self {
        Self { name, what, width, words: Vec::new() }
    }

    fn limbs(&self) -> usize {
        self.width.div_ceil(32) as usize
    }

    /// Append a word given as (value, bits) fields, least significant field first.
    fn push(&mut self, fields: &[(u64, u32)]) {
        let mut w = vec![0u32; self.limbs()];
        let mut at = 0u32;
        for &(v, bits) in fields {
            for b in 0..bits {
                if (v >> b) & 1 == 1 {
                    let k = at + b;
                    w[(k / 32) as usize] |= 1 << (k % 32);
                }
            }
            at += bits;
        }
        debug_assert!(at <= self.width);
        self.words.push(w);
    }

    fn hex_digits(&self) -> usize {
        self.width.div_ceil(4) as usize
    }

    fn word_hex(&self, w: &[u32]) -> String {
        let mut s = String::new();
        for limb in w.iter().rev() {
            let _ = write!(s, "{limb:08x}");
        }
        s[s.len() - self.hex_digits()..].to_string()
    }

    /// `$readmemh` text.
    pub fn mem(&self) -> String {
        let mut s = format!("// {} ({} words of {} bits)\n", self.what, self.words.len(), self.width);
        for w in &self.words {
            s.push_str(&self.word_hex(w));
            s.push('\n');
        }
        s
    }

    /// Xilinx `.coe` text.
    pub fn coe(&self) -> String {
        let mut s = format!(
            "; {} ({} words of {} bits)\nmemory_initialization_radix=16;\nmemory_initialization_vector=\n",
            self.what,
            self.words.len(),
            self.width
        );
        for (k, w) in self.words.iter().enumerate() {
            s.push_str(&self.word_hex(w));
            s.push_str(if k + 1 == self.words.len() { ";\n" } else { ",\n" });
        }
        s
    }

    /// Intel HEX: each word as `ceil(width / 8)` bytes, most significant first, at byte
    /// address `index * bytes`.
    pub fn intel_hex(&self) -> String {
        let bytes_per = self.width.div_ceil(8) as usize;
        let mut data = Vec::with_capacity(self.words.len() * bytes_per);
        for w in &self.words {
            for b in (0..bytes_per).rev() {
                data.push((w[b / 4] >> (8 * (b % 4))) as u8);
            }
        }
        let mut s = String::new();
        let record = |s: &mut String, kind: u8, addr: u16, bytes: &[u8]| {
            let mut sum = bytes.len() as u8;
            sum = sum.wrapping_add((addr >> 8) as u8).wrapping_add(addr as u8).wrapping_add(kind);
            let _ = write!(s, ":{:02X}{addr:04X}{kind:02X}", bytes.len());
            for &b in bytes {
                sum = sum.wrapping_add(b);
                let _ = write!(s, "{b:02X}");
            }
            let _ = writeln!(s, "{:02X}", sum.wrapping_neg());
        };
        let mut upper = 0u32;
        for (k, chunk) in data.chunks(16).enumerate() {
            let addr = (k * 16) as u32;
            if addr >> 16 != upper {
                upper = addr >> 16;
                record(&mut s, 4, 0, &(upper as u16).to_be_bytes());
            }
            record(&mut s, 0, addr as u16, chunk);
        }
        record(&mut s, 1, 0, &[]);
        s
    }
}

/// Bits to write `x` (at least 1).
fn bits(x: u64) -> u32 {
    (64 - x.leading_zeros()).max(1)
}

/// One lane instance.
#[derive(Clone, Debug)]
struct Lane {
    global: usize,
    jobs: Image,
    adj: Image,
    counts: Image,
    rng: Image,
    draws: Image,
    /// Job-index bits (jp), word-address bits, words-per-job bits.
    jb: u32,
    wdb: u32,
    nwb: u32,
    /// (unit, bias, words, base) for the C header.
    job_list: Vec<(u32, i64, u32, u32)>,
    entries: Vec<(u32, i64)>,
}

/// A read-only memory of the design, for capacity estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Words.
    pub words: u64,
    /// Bits per word.
    pub width: u32,
    /// Read through a register (block-RAM style) rather than in the issue cycle.
    pub registered: bool,
}

/// A generated design: files to write and what the RTL will count.
#[derive(Clone, Debug)]
pub struct RtlDesign {
    /// (relative path, contents).
    pub files: Vec<(String, String)>,
    /// Instantiated lanes (global lanes with at least one unit).
    pub lanes: usize,
    /// Units.
    pub units: usize,
    /// Chains.
    pub chains: usize,
    /// Cycles per sweep the RTL's counter will show (the static schedule without memory
    /// stalls).
    pub expected_cycles: u64,
    /// fpga-sim's cycles per sweep for the same configuration (with its shared-memory stalls).
    pub simulated_cycles: u64,
    /// Unit-address and chain-index bits.
    pub unit_bits: u32,
    /// Chain-index bits.
    pub chain_bits: u32,
    /// Every lane's job, adjacency, count and table memories.
    pub memories: Vec<Memory>,
    /// Updates per sweep.
    pub updates_per_sweep: u64,
}

/// Generate the design for `acc` with datapath `arith` (its table), starting `state`
/// (unit-major, `state[i*C + c]`) and the generators `rngs` (`acc.streams(C)` of them, in the
/// state the first sweep will draw from).
pub fn design<W: RawWeight>(
    acc: &Accelerator<'_, W>,
    arith: &Fixed<'_, W>,
    state: &[u8],
    rngs: &[Xoshiro128PlusPlus],
) -> Result<RtlDesign, RtlError> {
    let model = acc.model();
    let hw = acc.config();
    let n = model.num_units();
    if n == 0 || state.is_empty() || !state.len().is_multiple_of(n) {
        return Err(RtlError(format!("state has {} entries, not a multiple of {n} units", state.len())));
    }
    let c = state.len() / n;
    if c > MAX_CHAINS {
        return Err(RtlError(format!("{c} chains: the RTL testbench reads at most {MAX_CHAINS} chains per unit")));
    }
    if acc.layout().devices != 1 {
        return Err(RtlError("the RTL models one device; the partitioned mode is fpga-sim only".into()));
    }
    if rngs.len() != acc.streams(c) {
        return Err(RtlError(format!("{} generators given, the design needs {}", rngs.len(), acc.streams(c))));
    }
    let f = acc.formats();
    let lut = arith.lut();
    let table_len = lut.len();
    let shift = f.field.frac_bits() - f.lut.index_frac_bits;
    let table: Vec<u32> = (0..table_len)
        .map(|k| {
            let m = (k as i64) << shift;
            match lut.rule() {
                Rule::HeatBath => lut.p_one(m),
                Rule::Metropolis => lut.p_accept_rise(m),
            }
        })
        .collect();
    let p_count = model.num_partitions();
    let a = hw.adder_width as usize;
    let ub = bits(n as u64 - 1);
    let cb = bits(c as u64 - 1);
    let wb = f.weight.bits();
    let ab = acc.accumulator_bits().max(f.field.bits()).max(wb) + 1;
    let sw = 1 + wb + ub;
    let mask = |x: i64, b: u32| (x as u64) & ((1u64 << b) - 1);
    let mut lanes = Vec::new();
    let mut has_jobs = vec![false; p_count];
    let mut issue = vec![vec![0u64; acc.lanes()]; p_count];
    for g in 0..acc.lanes() {
        let total: usize = (0..p_count).map(|p| acc.plan()[p][g].len()).sum();
        if total == 0 {
            continue;
        }
        let mut job_list = Vec::new();
        let mut entries = Vec::new();
        let mut words = 0u32;
        for (p, issue_p) in issue.iter_mut().enumerate() {
            for &i in &acc.plan()[p][g] {
                let (nb, w) = acc.adjacency(i as usize);
                let nw = nb.len().div_ceil(a).max(1) as u32;
                job_list.push((i, model.bias()[i as usize].raw() as i64, nw, words));
                entries.extend(nb.iter().zip(w).map(|(&j, w)| (j, w.raw() as i64)));
                entries.resize(entries.len() + nw as usize * a - nb.len(), (u32::MAX, 0));
                words += nw;
                issue_p[g] += nw as u64 * c as u64;
                has_jobs[p] = true;
            }
        }
        let max_nw = job_list.iter().map(|j| j.2).max().unwrap_or(1);
        let (jb, wdb, nwb) = (bits(job_list.len() as u64 - 1), bits(words as u64 - 1), bits(max_nw as u64));
        let mut jobs = Image::new(format!("lane{g}_jobs"), "jobs {word base, words, bias, unit}", wdb + nwb + wb + ub);
        for &(i, bias, nw, base) in &job_list {
            jobs.push(&[(i as u64, ub), (mask(bias, wb), wb), (nw as u64, nwb), (base as u64, wdb)]);
        }
        let mut adj =
            Image::new(format!("lane{g}_adj"), "adjacency words, slots {valid, weight, neighbour}", a as u32 * sw);
        for word in entries.chunks(a) {
            let fields: Vec<(u64, u32)> = word
                .iter()
                .flat_map(|&(j, w)| {
                    let valid = j != u32::MAX;
                    [
                        (if valid { j as u64 } else { 0 }, ub),
                        (if valid { mask(w, wb) } else { 0 }, wb),
                        (valid as u64, 1),
                    ]
                })
                .collect();
            adj.push(&fields);
        }
        let mut counts = Image::new(format!("lane{g}_cnt"), "jobs per colour phase", jb + 1);
        for p in 0..p_count {
            counts.push(&[(acc.plan()[p][g].len() as u64, jb + 1)]);
        }
        let mut rng = Image::new(format!("lane{g}_rng"), "xoshiro128++ state per chain {s3, s2, s1, s0}", 128);
        for ch in 0..c {
            let s = rngs[g * c + ch].state();
            rng.push(&[(s[0] as u64, 32), (s[1] as u64, 32), (s[2] as u64, 32), (s[3] as u64, 32)]);
        }
        let mut draws = Image::new(format!("lane{g}_draw"), "next draw per chain (output of the state)", 32);
        for ch in 0..c {
            draws.push(&[(rngs[g * c + ch].clone().next_u32() as u64, 32)]);
        }
        lanes.push(Lane { global: g, jobs, adj, counts, rng, draws, jb, wdb, nwb, job_list, entries });
    }
    if lanes.is_empty() {
        return Err(RtlError("every unit is clamped: nothing to update".into()));
    }
    let r = f.lut.bits;
    let mut tbl = Image::new("table".into(), "acceptance table entries", r);
    for &t in &table {
        tbl.push(&[(t as u64, r)]);
    }
    let depth = hw.latency.depth();
    let expected_cycles: u64 = (0..p_count)
        .map(|p| {
            let t = issue[p].iter().copied().max().unwrap_or(0);
            t + if has_jobs[p] { depth } else { 0 } + hw.barrier_cycles as u64
        })
        .sum();
    let simulated_cycles = acc.sweep_cycles(c).total;
    let pb = bits(p_count as u64 - 1);
    let (fmin, fmax) = (f.field.min_raw() as i64, f.field.max_raw() as i64);
    let rule = match f.rule {
        Rule::HeatBath => 0,
        Rule::Metropolis => 1,
    };

    // Parameter header (`define macros, shared by the top level and anyone integrating it).
    let mut vh = String::new();
    let _ = writeln!(vh, "// calo4p accelerator parameters for this model and hardware ({}). Generated.", hw.name);
    let defs: Vec<(&str, String, &str)> = vec![
        ("N", n.to_string(), "units"),
        ("C", c.to_string(), "chains"),
        ("UB", ub.to_string(), "unit-address bits"),
        ("CB", cb.to_string(), "chain-index bits"),
        ("L", lanes.len().to_string(), "instantiated lanes"),
        ("P", p_count.to_string(), "colour phases (partitions)"),
        ("PB", pb.to_string(), "phase-index bits"),
        ("A", a.to_string(), "adder width (slots per adjacency word)"),
        ("WB", wb.to_string(), "weight bits"),
        ("AB", ab.to_string(), "accumulator bits (exact field, signed)"),
        ("FMIN", format!("-{}'sd{}", ab, -fmin), "field register minimum (raw)"),
        ("FMAX", format!("{}'sd{}", ab, fmax), "field register maximum (raw)"),
        ("R", r.to_string(), "table entry and draw bits"),
        ("SHIFT", shift.to_string(), "field bits below the table index"),
        ("TLEN", table_len.to_string(), "table entries"),
        ("TB", bits(table_len as u64 - 1).to_string(), "table-address bits"),
        ("RULE", rule.to_string(), "0 heat bath, 1 Metropolis"),
        ("LAT_WF", hw.latency.weight_fetch.to_string(), "weight-fetch latency"),
        ("LAT_AT", hw.latency.adder_tree.to_string(), "adder-tree latency"),
        ("LAT_TL", hw.latency.table_lookup.to_string(), "table-lookup latency"),
        ("LAT_CW", hw.latency.compare_writeback.to_string(), "compare and write-back latency"),
        ("DEPTH", depth.to_string(), "pipeline depth"),
        ("BARRIER", hw.barrier_cycles.to_string(), "barrier cycles per phase"),
        (
            "HAS_JOBS",
            format!(
                "{}'b{}",
                p_count,
                (0..p_count).rev().map(|p| if has_jobs[p] { '1' } else { '0' }).collect::<String>()
            ),
            "phases with at least one update",
        ),
        ("CYCLES_PER_SWEEP", expected_cycles.to_string(), "what the cycle counter shows after a sweep"),
    ];
    for (k, v, what) in &defs {
        let _ = writeln!(vh, "`define CALO4P_{k:<16} {v:<24} // {what}");
    }
    // Starting state, bit i*C + c.
    let mut init = String::new();
    let total_bits = n * c;
    for d in (0..total_bits.div_ceil(4)).rev() {
        let mut nib = 0u8;
        for b in 0..4 {
            let k = d * 4 + b;
            if k < total_bits && state[k] != 0 {
                nib |= 1 << b;
            }
        }
        let _ = write!(init, "{nib:x}");
    }
    let _ = writeln!(vh, "`define CALO4P_STATE_INIT {total_bits}'h{init}");

    // Top level.
    let mut top = String::new();
    let _ = writeln!(
        top,
        "// calo4p sampling accelerator, top level for {n} units, {c} chains, {} lanes ({}). Generated by\n\
         // `calo4p fpga-sim rtl`; the modules it instantiates are fpga-sim/rtl/*.v.\n\
         //\n\
         // Interface: pulse `start` for one sweep; `done` pulses when its last state is written and\n\
         // `cycles` holds the sweep's cycle count; `rd_data` is the state of unit `rd_addr`, one bit\n\
         // per chain (combinational read). Memories are initialised from mem/*.mem at configuration.\n\
         `include \"calo4p_params.vh\"\n\
         module calo4p_top (\n    input  wire clk,\n    input  wire start,\n    output wire done,\n    output wire running,\n    \
         output wire [63:0] cycles,\n    input  wire [`CALO4P_UB-1:0] rd_addr,\n    output wire [`CALO4P_C-1:0] rd_data\n);\n    \
         localparam N = `CALO4P_N, C = `CALO4P_C, UB = `CALO4P_UB, CB = `CALO4P_CB, L = `CALO4P_L;\n    \
         reg [N*C-1:0] state = `CALO4P_STATE_INIT;\n    \
         wire [L-1:0] busy, last, we, wbit;\n    wire [L*UB-1:0] waddr;\n    wire [L*CB-1:0] wchain;\n    \
         wire issue_en, load, sweep_start;\n    wire [`CALO4P_PB-1:0] load_phase;\n    \
         calo4p_control #(.P(`CALO4P_P), .PB(`CALO4P_PB), .DEPTH(`CALO4P_DEPTH), .BARRIER(`CALO4P_BARRIER), .HAS_JOBS(`CALO4P_HAS_JOBS)) ctl (\n        \
         .clk(clk), .start(start), .all_last(&(~busy | last)), .done(done), .cycles(cycles), .running(running),\n        \
         .issue_en(issue_en), .load(load), .load_phase(load_phase), .sweep_start(sweep_start));",
        lanes.len(),
        hw.name
    );
    for (k, lane) in lanes.iter().enumerate() {
        let _ = writeln!(
            top,
            "    calo4p_lane #(.LANE({g}), .N(N), .C(C), .CB(CB), .UB(UB), .WB(`CALO4P_WB), .AB(`CALO4P_AB), .A(`CALO4P_A),\n        \
             .P(`CALO4P_P), .PB(`CALO4P_PB), .NJ({nj}), .JB({jb}), .NWD({nwd}), .WDB({wdb}), .NWB({nwb}),\n        \
             .FMIN(`CALO4P_FMIN), .FMAX(`CALO4P_FMAX), .R(`CALO4P_R), .SHIFT(`CALO4P_SHIFT), .TLEN(`CALO4P_TLEN), .TB(`CALO4P_TB), .RULE(`CALO4P_RULE),\n        \
             .LAT_WF(`CALO4P_LAT_WF), .LAT_AT(`CALO4P_LAT_AT), .LAT_TL(`CALO4P_LAT_TL), .LAT_CW(`CALO4P_LAT_CW),\n        \
             .JOB_FILE(\"mem/{jobs}.mem\"), .ADJ_FILE(\"mem/{adj}.mem\"), .CNT_FILE(\"mem/{cnt}.mem\"), .RNG_FILE(\"mem/{rng}.mem\"), .DRW_FILE(\"mem/{drw}.mem\"), .TBL_FILE(\"mem/table.mem\")\n    \
             ) lane{g} (\n        \
             .clk(clk), .load(load), .load_phase(load_phase), .sweep_start(sweep_start), .issue_en(issue_en), .state(state),\n        \
             .busy(busy[{k}]), .last(last[{k}]), .we(we[{k}]), .waddr(waddr[{k}*UB +: UB]), .wchain(wchain[{k}*CB +: CB]), .wbit(wbit[{k}]));",
            g = lane.global,
            nj = lane.jobs.words.len(),
            jb = lane.jb,
            nwd = lane.adj.words.len(),
            wdb = lane.wdb,
            nwb = lane.nwb,
            jobs = lane.jobs.name,
            adj = lane.adj.name,
            cnt = lane.counts.name,
            rng = lane.rng.name,
            drw = lane.draws.name,
        );
    }
    top.push_str(
        "    integer l;\n    always @(posedge clk)\n        for (l = 0; l < L; l = l + 1)\n            \
         if (we[l]) state[waddr[l*UB +: UB] * C + wchain[l*CB +: CB]] <= wbit[l];\n    \
         assign rd_data = state[rd_addr * C +: C];\nendmodule\n",
    );

    // C header for a soft core: the same data as the images, as plain arrays.
    let mut h = String::new();
    let _ = writeln!(
        h,
        "/* calo4p accelerator data for {n} units, {c} chains, {} lanes ({}). Generated by `calo4p fpga-sim rtl`. */\n\
         #ifndef CALO4P_DATA_H\n#define CALO4P_DATA_H\n#include <stdint.h>\n",
        lanes.len(),
        hw.name
    );
    for (k, v, what) in &defs {
        if !v.contains('\'') {
            let _ = writeln!(h, "#define CALO4P_{k} {v} /* {what} */");
        }
    }
    let _ = writeln!(h, "#define CALO4P_FMIN ({fmin})\n#define CALO4P_FMAX ({fmax})\n");
    let arr = |h: &mut String, ty: &str, name: &str, vals: &mut dyn Iterator<Item = String>| {
        let _ = writeln!(h, "static const {ty} {name}[] = {{");
        let v: Vec<String> = vals.collect();
        for chunk in v.chunks(12) {
            let _ = writeln!(h, "    {},", chunk.join(", "));
        }
        let _ = writeln!(h, "}};");
    };
    arr(&mut h, "uint16_t", "calo4p_table", &mut table.iter().map(|t| t.to_string()));
    arr(&mut h, "uint8_t", "calo4p_state_init", &mut state.iter().map(|s| s.to_string()));
    for lane in &lanes {
        let g = lane.global;
        let _ = writeln!(h, "/* lane {g}: {} jobs */", lane.job_list.len());
        arr(
            &mut h,
            "uint32_t",
            &format!("calo4p_lane{g}_job_unit"),
            &mut lane.job_list.iter().map(|j| j.0.to_string()),
        );
        arr(&mut h, "int32_t", &format!("calo4p_lane{g}_job_bias"), &mut lane.job_list.iter().map(|j| j.1.to_string()));
        arr(
            &mut h,
            "uint32_t",
            &format!("calo4p_lane{g}_job_words"),
            &mut lane.job_list.iter().map(|j| j.2.to_string()),
        );
        arr(
            &mut h,
            "uint32_t",
            &format!("calo4p_lane{g}_job_base"),
            &mut lane.job_list.iter().map(|j| j.3.to_string()),
        );
        let nb = |j: u32| if j == u32::MAX { "-1".to_string() } else { j.to_string() };
        arr(&mut h, "int32_t", &format!("calo4p_lane{g}_adj_unit"), &mut lane.entries.iter().map(|e| nb(e.0)));
        arr(
            &mut h,
            "int32_t",
            &format!("calo4p_lane{g}_adj_weight"),
            &mut lane.entries.iter().map(|e| e.1.to_string()),
        );
        arr(
            &mut h,
            "uint32_t",
            &format!("calo4p_lane{g}_phase_jobs"),
            &mut (0..p_count).map(|p| acc.plan()[p][g].len().to_string()),
        );
        arr(
            &mut h,
            "uint32_t",
            &format!("calo4p_lane{g}_rng"),
            &mut (0..c).flat_map(|ch| rngs[g * c + ch].state()).map(|s| format!("0x{s:08x}u")),
        );
    }
    h.push_str("#endif\n");

    let mut files: Vec<(String, String)> = SOURCES.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    files.push((FPGA_TOP.0.into(), FPGA_TOP.1.into()));
    files.push(("calo4p_top.v".into(), top));
    files.push(("calo4p_params.vh".into(), vh));
    files.push(("calo4p_data.h".into(), h));
    files.push(("tb_calo4p.cpp".into(), TESTBENCH.to_string()));
    files.push((TESTBENCH_V.0.into(), TESTBENCH_V.1.into()));
    files.push(("README.md".into(), readme(hw, n, c, lanes.len(), expected_cycles)));
    let (wf, tl) = (hw.latency.weight_fetch > 0, hw.latency.table_lookup > 0);
    let mut memories = Vec::new();
    for lane in &lanes {
        let m = |im: &Image, registered| Memory { words: im.words.len() as u64, width: im.width, registered };
        memories.extend([m(&lane.jobs, false), m(&lane.adj, wf), m(&lane.counts, false), m(&tbl, tl)]);
    }
    let updates_per_sweep = lanes.iter().map(|l| l.job_list.len() as u64).sum::<u64>() * c as u64;
    let mut images = vec![tbl];
    for lane in lanes.iter() {
        images.extend([lane.jobs.clone(), lane.adj.clone(), lane.counts.clone(), lane.rng.clone(), lane.draws.clone()]);
    }
    for im in &images {
        files.push((format!("mem/{}.mem", im.name), im.mem()));
        files.push((format!("mem/{}.hex", im.name), im.intel_hex()));
        files.push((format!("mem/{}.coe", im.name), im.coe()));
    }
    Ok(RtlDesign {
        files,
        lanes: lanes.len(),
        units: n,
        chains: c,
        expected_cycles,
        simulated_cycles,
        unit_bits: ub,
        chain_bits: cb,
        memories,
        updates_per_sweep,
    })
}

/// What the generated directory holds and how to use it.
fn readme(hw: &crate::HwConfig, n: usize, c: usize, lanes: usize, cycles: u64) -> String {
    let sources = SOURCES.iter().map(|s| s.0).collect::<Vec<_>>().join(" ");
    format!(
        "# calo4p accelerator RTL: {n} units, {c} chains, {lanes} lanes ({hw})\n\n\
         Generated by `calo4p fpga-sim rtl`. A sweep takes {cycles} cycles.\n\n\
         | file | what |\n|---|---|\n\
         | `calo4p_top.v` | top level: state array, controller, one `calo4p_lane` per lane with units |\n\
         | `{sources}` | the modules (from fpga-sim/rtl/) |\n\
         | `calo4p_fpga.v` | pin-limited wrapper for synthesis and place and route |\n\
         | `calo4p_params.vh` | parameters as `define macros |\n\
         | `calo4p_data.h` | the same data as C arrays, for a soft core |\n\
         | `mem/*.mem`, `mem/*.hex`, `mem/*.coe` | memory images: `$readmemh`, Intel HEX (words big-endian), Xilinx COE |\n\
         | `tb_calo4p.cpp`, `tb_calo4p.v` | testbenches (Verilator; event-driven simulators) |\n\n\
         Memory images per lane `g`: `lane<g>_jobs` {{word base, words, bias, unit}} per (phase, unit) in issue\n\
         order; `lane<g>_adj` adjacency words of {a} slots {{valid, weight, neighbour}}, slot 0 in the low bits;\n\
         `lane<g>_cnt` jobs per colour phase; `lane<g>_rng` xoshiro128++ state {{s3, s2, s1, s0}} per chain\n\
         (stream g*C + c) and `lane<g>_draw` the next draw of each (the output of that state). `table` holds the acceptance table ({r}-bit entries).\n\n\
         Simulate:\n\n```sh\n\
         verilator --cc --exe --build -DCALO4P_TRACE --top-module calo4p_top -CFLAGS -DCALO4P_UNITS={n} \\\n    \
         tb_calo4p.cpp calo4p_top.v {sources}\nobj_dir/Vcalo4p_top +sweeps=10\n```\n",
        hw = hw.name,
        a = hw.adder_width,
        r = hw.arithmetic.lut_bits,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intel_hex_records_check_out() {
        let mut im = Image::new("t".into(), "test", 12);
        for v in [0xabcu64, 0x123, 0xfff] {
            im.push(&[(v, 12)]);
        }
        // 3 words of 2 bytes, big-endian within the word.
        assert_eq!(im.intel_hex(), ":060000000ABC01230FFF02\n:00000001FF\n");
        assert_eq!(im.mem(), "// test (3 words of 12 bits)\nabc\n123\nfff\n");
        assert!(im.coe().ends_with("abc,\n123,\nfff;\n"));
    }

    #[test]
    fn fields_pack_least_significant_first() {
        let mut im = Image::new("t".into(), "test", 70);
        im.push(&[(1, 1), (0x3f, 6), (u64::MAX, 63)]);
        assert_eq!(im.word_hex(&im.words[0]), "3fffffffffffffffff");
    }
}
