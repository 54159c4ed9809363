//! The RTL (Verilator) against the simulator and core, draw by draw, state by state and cycle
//! by cycle: random Zephyr models at two lane counts, with clamping, for 100 sweeps, in heat
//! bath and Metropolis, pipelined (bram-pipelined) and combinational (pbit-array) designs.
//!
//! Without Verilator the tests print that they were skipped and why; with
//! `CALO4P_REQUIRE_RTL_TOOLS=1` (as `.ci/run` sets) a missing tool fails them instead.

mod common;

use calo4p_core::arithmetic::Fixed;
use calo4p_core::gibbs::Clamp;
use calo4p_core::model::Model;
use calo4p_fpga_sim::config::{LaneMapping, RuleKind};
use calo4p_fpga_sim::cosim;
use calo4p_fpga_sim::tools::{self, ToolError};
use calo4p_fpga_sim::{rtl, synth};
use calo4p_fpga_sim::{Accelerator, HwConfig, Layout};

/// Skip (or, under CI, fail) when Verilator is missing.
fn tools_present() -> bool {
    match tools::require("verilator") {
        Ok(()) => true,
        Err(e) => {
            assert!(std::env::var_os("CALO4P_REQUIRE_RTL_TOOLS").is_none(), "RTL tools required: {e}");
            eprintln!("SKIPPED: {e}");
            false
        }
    }
}

struct Case {
    preset: &'static str,
    lanes: u32,
    adder_width: u32,
    map: LaneMapping,
    chains: usize,
    clamp: Vec<(usize, u8)>,
    metropolis: bool,
    seed: u64,
}

fn accelerator<'m>(case: &Case, model: Model<'m, i16>, clamp: Option<Clamp<'m>>) -> Accelerator<'m, i16> {
    let mut hw = HwConfig::preset(case.preset).unwrap();
    hw.lanes = case.lanes;
    hw.adder_width = case.adder_width;
    hw.lane_map = case.map;
    if case.metropolis {
        hw.arithmetic.rule = RuleKind::Metropolis;
    }
    Accelerator::new(&hw, model, clamp, case.chains, 1.0, Layout::default()).unwrap()
}

fn run(case: &Case, m: usize, n: usize) -> cosim::CosimReport {
    common::with_q8_8_model(m, n, case.seed, |model| {
        let total = model.num_units();
        let mut bits = vec![0u32; Clamp::words(total)];
        for &(i, _) in &case.clamp {
            bits[i / 32] |= 1 << (i % 32);
        }
        let clamp = (!case.clamp.is_empty()).then(|| Clamp::new(&bits));
        let mut acc = accelerator(case, model, clamp);
        let mut rngs = acc.rngs(case.seed, case.chains);
        let state = cosim::random_start(total, case.chains, &mut rngs, &case.clamp);
        let dir = scratch(case);
        let report = match cosim::cosim(&mut acc, clamp, 1.0, &state, &rngs, 100, &dir, false) {
            Ok(r) => r,
            Err(ToolError::Missing(..)) => unreachable!("checked"),
            Err(e) => panic!("{e}"),
        };
        if std::env::var_os("CALO4P_KEEP_RTL").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        report
    })
}

/// The design of `model` on `case`'s accelerator, unclamped, from random starts.
fn unclamped_design(case: &Case, model: Model<'_, i16>) -> rtl::RtlDesign {
    let acc = accelerator(case, model, None);
    let f = acc.formats();
    let mut table = vec![0u16; acc.table_len()];
    let arith = Fixed::<i16>::new(f.field, f.lut, f.rule, 1.0, &mut table).unwrap();
    let mut rngs = acc.rngs(case.seed, case.chains);
    let state = cosim::random_start(model.num_units(), case.chains, &mut rngs, &[]);
    rtl::design(&acc, &arith, &state, &rngs).unwrap()
}

fn scratch(case: &Case) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("calo4p-rtl-test-{}-{}-{}", case.preset, case.lanes, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn check(r: &cosim::CosimReport) {
    if let Some(m) = &r.mismatch {
        panic!("{m}");
    }
    assert_eq!(r.rtl_cycles_per_sweep, r.expected_cycles_per_sweep, "cycle counter");
    assert_eq!(r.memory_stall_per_sweep, 0, "the presets never stall");
    assert_eq!(r.rtl_cycles_per_sweep, r.simulated_cycles_per_sweep, "RTL cycles equal fpga-sim's");
    assert_eq!(r.updates as usize, 100 * r.chains * (r.units - 3), "every unclamped unit, every chain, every sweep");
}

#[test]
fn pipelined_lanes_match_heat_bath_at_two_lane_counts() {
    if !tools_present() {
        return;
    }
    for (lanes, map, aw) in [(2, LaneMapping::RoundRobin, 4), (5, LaneMapping::Blocked, 3)] {
        let case = Case {
            preset: "bram-pipelined",
            lanes,
            adder_width: aw,
            map,
            chains: 3,
            clamp: vec![(0, 1), (12, 0), (40, 1)],
            metropolis: false,
            seed: 11 + lanes as u64,
        };
        let r = run(&case, 1, 12);
        check(&r);
    }
}

#[test]
fn combinational_pbits_match_metropolis() {
    if !tools_present() {
        return;
    }
    let case = Case {
        preset: "pbit-array",
        lanes: 12,
        adder_width: 20,
        map: LaneMapping::RoundRobin,
        chains: 2,
        clamp: vec![(3, 0), (20, 1), (47, 0)],
        metropolis: true,
        seed: 5,
    };
    let r = run(&case, 1, 12);
    check(&r);
}

/// A small synthesis for iCE40 UP5K with place and route: the counts come from yosys's report
/// and nextpnr's, and respect the lower bounds the fit check states.
#[test]
fn synthesis_reports_resources_and_fmax() {
    for tool in ["yosys", "nextpnr-ice40"] {
        if let Err(e) = tools::require(tool) {
            assert!(std::env::var_os("CALO4P_REQUIRE_RTL_TOOLS").is_none(), "RTL tools required: {e}");
            eprintln!("SKIPPED: {e}");
            return;
        }
    }
    let case = Case {
        preset: "mcu-lane",
        lanes: 1,
        adder_width: 1,
        map: LaneMapping::RoundRobin,
        chains: 1,
        clamp: vec![],
        metropolis: false,
        seed: 3,
    };
    common::with_q8_8_model(1, 4, case.seed, |model| {
        let d = unclamped_design(&case, model);
        let dev = synth::device("ice40", Some("up5k")).unwrap();
        let needs = synth::fit(&d, &dev).unwrap();
        let dir = scratch(&case);
        tools::write_design(&dir, &d).unwrap();
        let r = synth::synthesize(&dir, &dev, true).unwrap();
        eprintln!("{r:?}");
        assert!(r.luts > 0 && r.luts <= dev.luts, "{} LUTs", r.luts);
        assert!(r.ffs >= needs.ffs, "{} flip-flops, the states and generators alone need {}", r.ffs, needs.ffs);
        assert!(r.brams >= 1, "the registered adjacency and table reads map to block RAM");
        let fmax = r.fmax_mhz.unwrap();
        assert!(fmax > 1.0 && fmax < 1000.0, "Fmax {fmax} MHz");
        assert!(r.placed.iter().any(|p| p.0 == "ICESTORM_LC" && p.1 > 0));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// The Verilog testbench (for event-driven simulators), run by Verilator with `--timing`,
/// prints the same cycle counts and states as the C++ testbench the co-simulation checks.
#[test]
fn verilog_testbench_agrees_with_the_verilator_testbench() {
    if !tools_present() {
        return;
    }
    let case = Case {
        preset: "bram-pipelined",
        lanes: 3,
        adder_width: 4,
        map: LaneMapping::RoundRobin,
        chains: 2,
        clamp: vec![],
        metropolis: false,
        seed: 9,
    };
    common::with_q8_8_model(1, 4, case.seed, |model| {
        let d = unclamped_design(&case, model);
        let dir = scratch(&case);
        tools::write_design(&dir, &d).unwrap();
        let exe = cosim::verilate(&dir, &d).unwrap();
        let reference = cosim::simulate(&dir, &exe, 5, case.chains).unwrap();
        let mut sources = vec!["tb_calo4p.v", "calo4p_top.v"];
        sources.extend(rtl::SOURCES.iter().map(|s| s.0));
        let built = std::process::Command::new("verilator")
            .current_dir(&dir)
            .args(["--binary", "--timing", "-Wno-fatal", "-Wno-WIDTH", "-j", "2", "--top-module", "tb_calo4p"])
            .args(["-Mdir", "vtb"])
            .args(&sources)
            .output()
            .unwrap();
        assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
        let out =
            std::process::Command::new(dir.join("vtb/Vtb_calo4p")).current_dir(&dir).arg("+sweeps=5").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let cycles: Vec<u64> = text.lines().filter_map(|l| l.strip_prefix("C ")).map(|c| c.parse().unwrap()).collect();
        assert_eq!(cycles, reference.iter().map(|s| s.cycles).collect::<Vec<_>>());
        let states: Vec<u8> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Z "))
            .flat_map(|l| {
                let bits = u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap();
                (0..case.chains).map(move |c| ((bits >> c) & 1) as u8)
            })
            .collect();
        assert_eq!(states, reference.iter().flat_map(|s| s.state.clone()).collect::<Vec<_>>());
        let _ = std::fs::remove_dir_all(&dir);
    });
}
