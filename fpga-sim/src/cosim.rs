//! Verilator co-simulation of the RTL against the simulator (draw by draw, cycle by cycle) and
//! core's hardware draw mode (state by state).

use crate::accelerator::{Accelerator, Update};
use crate::rtl::{self, RtlDesign};
use crate::tools::{require, run, write_design, ToolError};
use calo4p_core::arithmetic::Fixed;
use calo4p_core::gibbs::{BlockGibbs, Chains, Clamp};
use calo4p_core::qformat::RawWeight;
use calo4p_core::rng::Xoshiro128PlusPlus;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Build the testbench with Verilator in `dir/obj_dir` (update traces compiled in); returns
/// the executable.
pub fn verilate(dir: &Path, d: &RtlDesign) -> Result<PathBuf, ToolError> {
    require("verilator")?;
    let mut cmd = Command::new("verilator");
    cmd.current_dir(dir)
        .args(["--cc", "--exe", "--build", "-O2", "-j", "2", "--x-assign", "fast", "--x-initial", "fast"])
        .args(["-Wall", "-Wno-DECLFILENAME", "-Wno-UNUSED", "-Wno-WIDTH"])
        .args(["+define+CALO4P_TRACE", "--top-module", "calo4p_top", "-Mdir", "obj_dir"])
        .arg("-CFLAGS")
        .arg(format!("-DCALO4P_UNITS={} -O1", d.units))
        .arg("tb_calo4p.cpp")
        .arg("calo4p_top.v")
        .args(rtl::SOURCES.iter().map(|s| s.0));
    run(&mut cmd, "verilator")?;
    Ok(dir.join("obj_dir").join("Vcalo4p_top"))
}

/// What the RTL did in one sweep.
#[derive(Clone, Debug, Default)]
pub struct RtlSweep {
    /// The cycle counter.
    pub cycles: u64,
    /// Updates in the order the lanes decided them: (lane, unit, chain, draw, new, field).
    pub updates: Vec<(usize, usize, usize, u32, u8, i64)>,
    /// States after the sweep, unit-major (`[i*C + c]`).
    pub state: Vec<u8>,
}

/// Run `sweeps` sweeps of the built testbench in `dir`.
pub fn simulate(dir: &Path, exe: &Path, sweeps: usize, chains: usize) -> Result<Vec<RtlSweep>, ToolError> {
    let text = run(Command::new(exe).current_dir(dir).arg(format!("+sweeps={sweeps}")), "the Verilator testbench")?;
    let mut out: Vec<RtlSweep> = Vec::new();
    let bad = |l: &str| ToolError::Output(format!("testbench line `{l}`"));
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("S") => out.push(RtlSweep::default()),
            Some("C") => {
                let s = out.last_mut().ok_or_else(|| bad(line))?;
                s.cycles = f.next().and_then(|x| x.parse().ok()).ok_or_else(|| bad(line))?;
            }
            Some("U") => {
                let s = out.last_mut().ok_or_else(|| bad(line))?;
                let v: Vec<&str> = f.collect();
                let num = |k: usize| v.get(k).and_then(|x| x.parse::<i64>().ok()).ok_or_else(|| bad(line));
                let draw = v.get(3).and_then(|x| u32::from_str_radix(x, 16).ok()).ok_or_else(|| bad(line))?;
                s.updates.push((num(0)? as usize, num(1)? as usize, num(2)? as usize, draw, num(4)? as u8, num(5)?));
            }
            Some("Z") => {
                let s = out.last_mut().ok_or_else(|| bad(line))?;
                let _unit = f.next();
                let bitsv = f.next().and_then(|x| u64::from_str_radix(x, 16).ok()).ok_or_else(|| bad(line))?;
                s.state.extend((0..chains).map(|c| ((bitsv >> c) & 1) as u8));
            }
            _ => {}
        }
    }
    if out.len() != sweeps {
        return Err(ToolError::Output(format!("{} sweeps reported, {sweeps} asked for", out.len())));
    }
    Ok(out)
}

/// The first difference between the RTL and the references.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Sweep (0-based).
    pub sweep: usize,
    /// Unit.
    pub unit: usize,
    /// Global lane.
    pub lane: usize,
    /// Chain.
    pub chain: usize,
    /// fpga-sim's draw and result.
    pub expected_draw: u32,
    /// fpga-sim's new state.
    pub expected: u8,
    /// The RTL's draw and result (None: the RTL made no such update).
    pub rtl_draw: Option<u32>,
    /// The RTL's new state.
    pub rtl: Option<u8>,
    /// Which comparison failed.
    pub against: &'static str,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first difference ({}) at sweep {}, unit {}, lane {}, chain {}: expected draw {:08x} -> {}, RTL ",
            self.against, self.sweep, self.unit, self.lane, self.chain, self.expected_draw, self.expected
        )?;
        match (self.rtl_draw, self.rtl) {
            (Some(d), Some(z)) => write!(f, "draw {d:08x} -> {z}"),
            (None, Some(z)) => write!(f, "state {z}"),
            _ => write!(f, "made no update"),
        }
    }
}

/// A co-simulation's result.
#[derive(Clone, Debug, Serialize)]
pub struct CosimReport {
    /// Sweeps compared.
    pub sweeps: usize,
    /// Units, chains, instantiated lanes.
    pub units: usize,
    /// Chains.
    pub chains: usize,
    /// Instantiated lanes.
    pub lanes: usize,
    /// Updates compared draw by draw.
    pub updates: u64,
    /// The RTL's cycle counter, per sweep (all sweeps equal for a static schedule).
    pub rtl_cycles_per_sweep: u64,
    /// The static schedule's cycles per sweep (what the RTL must count).
    pub expected_cycles_per_sweep: u64,
    /// fpga-sim's cycles per sweep (adds shared-memory stalls, which the RTL does not have).
    pub simulated_cycles_per_sweep: u64,
    /// fpga-sim's memory stall per sweep (critical lanes): `simulated - expected`.
    pub memory_stall_per_sweep: u64,
    /// The first difference, if any.
    pub mismatch: Option<Mismatch>,
    /// The RTL's states after each sweep (sweep-major, each unit-major `[i*C + c]`), when kept.
    #[serde(skip)]
    pub samples: Vec<u8>,
}

impl CosimReport {
    /// True when states, draws and cycle counts all agree.
    pub fn agrees(&self) -> bool {
        self.mismatch.is_none() && self.rtl_cycles_per_sweep == self.expected_cycles_per_sweep
    }
}

/// Generate, verilate and run the RTL for `sweeps` sweeps from `state` (unit-major) with the
/// generators `rngs` (stream g*C + c), in `dir`; compare every update with fpga-sim, every
/// state with core's `BlockGibbs` in the accelerator's draw mode, and the cycle counter with
/// the static schedule.
#[allow(clippy::too_many_arguments)]
pub fn cosim<W: RawWeight>(
    acc: &mut Accelerator<'_, W>,
    clamp: Option<Clamp<'_>>,
    beta: f64,
    state: &[u8],
    rngs: &[Xoshiro128PlusPlus],
    sweeps: usize,
    dir: &Path,
    keep_samples: bool,
) -> Result<CosimReport, ToolError> {
    // The references' datapaths: fpga-sim (draw by draw; its table is also the design's) and
    // core (states).
    let f = acc.formats();
    let mut t1 = vec![0u16; acc.table_len()];
    let mut t2 = t1.clone();
    let mut a_sim = Fixed::<W>::new(f.field, f.lut, f.rule, beta, &mut t1).map_err(output)?;
    let mut a_core = Fixed::<W>::new(f.field, f.lut, f.rule, beta, &mut t2).map_err(output)?;
    let d = rtl::design(acc, &a_sim, state, rngs).map_err(ToolError::Design)?;
    write_design(dir, &d)?;
    let exe = verilate(dir, &d)?;
    let got = simulate(dir, &exe, sweeps, d.chains)?;
    let (n, c) = (d.units, d.chains);

    let (mut s_sim, mut s_core) = (state.to_vec(), state.to_vec());
    let (mut r_sim, mut r_core) = (rngs.to_vec(), rngs.to_vec());
    let mut sampler = BlockGibbs::new(*acc.model()).with_draws(acc.draws());
    if let Some(k) = clamp {
        sampler = sampler.with_clamp(k);
    }
    let mut fields = vec![W::Acc::default(); sampler.scratch_len(c)];
    let mut report = CosimReport {
        sweeps,
        units: n,
        chains: c,
        lanes: d.lanes,
        updates: 0,
        rtl_cycles_per_sweep: got.first().map_or(0, |s| s.cycles),
        expected_cycles_per_sweep: d.expected_cycles,
        simulated_cycles_per_sweep: d.simulated_cycles,
        memory_stall_per_sweep: d.simulated_cycles.saturating_sub(d.expected_cycles),
        mismatch: None,
        samples: Vec::new(),
    };
    for (k, rtl_sweep) in got.iter().enumerate() {
        let mut ups: Vec<Update> = Vec::new();
        acc.sweep(&mut a_sim, &mut s_sim, &mut r_sim, &mut |u| ups.push(*u)).map_err(output)?;
        let mut chains = Chains::new(&mut s_core, n, c).map_err(output)?;
        sampler.sweep(&mut a_core, &mut chains, &mut r_core, &mut fields).map_err(output)?;
        if rtl_sweep.cycles != d.expected_cycles {
            report.rtl_cycles_per_sweep = rtl_sweep.cycles;
        }
        if rtl_sweep.updates.len() != ups.len() {
            return Err(ToolError::Output(format!(
                "sweep {k}: the RTL made {} updates, fpga-sim {}",
                rtl_sweep.updates.len(),
                ups.len()
            )));
        }
        let mut by_key = std::collections::HashMap::new();
        for &(lane, unit, chain, draw, z, _) in &rtl_sweep.updates {
            by_key.insert((unit, chain), (lane, draw, z));
        }
        report.updates += ups.len() as u64;
        for u in &ups {
            let got = by_key.get(&(u.unit, u.chain));
            if got != Some(&(u.lane, u.draw, u.new)) {
                report.mismatch = Some(Mismatch {
                    sweep: k,
                    unit: u.unit,
                    lane: u.lane,
                    chain: u.chain,
                    expected_draw: u.draw,
                    expected: u.new,
                    rtl_draw: got.map(|g| g.1),
                    rtl: got.map(|g| g.2),
                    against: "fpga-sim update",
                });
                return Ok(report);
            }
        }
        for (against, reference) in [("fpga-sim state", &s_sim), ("core BlockGibbs state", &s_core)] {
            if let Some(pos) = (0..n * c).find(|&p| rtl_sweep.state[p] != reference[p]) {
                let (unit, chain) = (pos / c, pos % c);
                let lane = ups.iter().find(|u| u.unit == unit).map_or(usize::MAX, |u| u.lane);
                report.mismatch = Some(Mismatch {
                    sweep: k,
                    unit,
                    lane,
                    chain,
                    expected_draw: ups.iter().find(|u| u.unit == unit && u.chain == chain).map_or(0, |u| u.draw),
                    expected: reference[pos],
                    rtl_draw: None,
                    rtl: Some(rtl_sweep.state[pos]),
                    against,
                });
                return Ok(report);
            }
        }
        if keep_samples {
            report.samples.extend_from_slice(&rtl_sweep.state);
        }
    }
    Ok(report)
}

/// A reference's refusal (of what the design was already built from) as a tool-output error.
fn output(e: impl fmt::Display) -> ToolError {
    ToolError::Output(e.to_string())
}

/// Random starting states as `calo4p sample` makes them (one draw per unit from the first C
/// streams), with clamped units set to their values.
pub fn random_start(n: usize, c: usize, rngs: &mut [Xoshiro128PlusPlus], clamped: &[(usize, u8)]) -> Vec<u8> {
    let mut state = vec![0u8; n * c];
    if let Ok(mut ch) = Chains::new(&mut state, n, c) {
        ch.randomise(rngs);
    }
    for &(i, v) in clamped {
        state[i * c..(i + 1) * c].fill(v);
    }
    state
}
