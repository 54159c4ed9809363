//! `calo4p fpga-sim rtl | cosim | synth` as a user runs them: the generated design, the
//! co-simulation of the 7x7x7x7 reference model whose samples pass `validate` against exact,
//! fit refusals before synthesis, and a missing tool named with its package.
//!
//! Tests that need Verilator or yosys print that they were skipped and why when the tools are
//! missing; with `CALO4P_REQUIRE_RTL_TOOLS=1` (as `.ci/run` sets) they fail instead.

use std::path::PathBuf;
use std::process::{Command, Output};

fn calo4p(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calo4p")).args(args).output().expect("calo4p runs")
}

fn model() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/reference/models/rbm_7x7x7x7_seed20250131.json").into()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calo4p-rtl-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CALO4P_REQUIRE_RTL_TOOLS").is_none(), "RTL tools required: `{tool}` is missing");
        eprintln!("SKIPPED: `{tool}` is not installed");
    }
    ok
}

#[test]
fn rtl_writes_every_file_and_refuses_a_used_directory() {
    let dir = scratch("rtl");
    let out = dir.join("design");
    let m = model();
    let o =
        calo4p(&["fpga-sim", "rtl", "-m", &m, "--hw", "bram-pipelined", "--chains", "3", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for f in [
        "calo4p_top.v",
        "calo4p_lane.v",
        "calo4p_params.vh",
        "calo4p_data.h",
        "tb_calo4p.cpp",
        "tb_calo4p.v",
        "README.md",
        "mem/table.mem",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for ext in ["mem", "hex", "coe"] {
        assert!(out.join(format!("mem/lane0_adj.{ext}")).is_file(), "lane0_adj.{ext} missing");
    }
    let params = std::fs::read_to_string(out.join("calo4p_params.vh")).unwrap();
    assert!(params.contains("`define CALO4P_N                28"), "{params}");
    assert!(params.contains("`define CALO4P_C                3"), "{params}");
    // The Intel HEX images end with the end-of-file record and every record checks out.
    let hex = std::fs::read_to_string(out.join("mem/table.hex")).unwrap();
    assert!(hex.ends_with(":00000001FF\n"));
    for line in hex.lines() {
        let bytes: Vec<u8> =
            (1..line.len()).step_by(2).map(|k| u8::from_str_radix(&line[k..k + 2], 16).unwrap()).collect();
        assert_eq!(bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)), 0, "checksum of {line}");
    }
    // A second run into the same directory is refused; nothing is left half-written.
    let again = calo4p(&["fpga-sim", "rtl", "-m", &m, "-o", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("not an empty directory"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn designs_that_cannot_fit_are_refused_before_synthesis() {
    let m = model();
    // 64 chains on 7 instantiated p-bit lanes: 64 x 7 x 128 generator bits alone exceed the UP5K.
    let o = calo4p(&["fpga-sim", "synth", "-m", &m, "--hw", "pbit-array", "--chains", "64", "--family", "ice40"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("does not fit ice40 up5k") && t.contains("flip-flops") && t.contains("> 5280"), "{t}");
    assert!(t.contains("before synthesis"), "{t}");
    let o = calo4p(&["fpga-sim", "synth", "-m", &m, "--family", "gowin"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not one of ice40, ecp5, xilinx"), "{}", text(&o));
}

#[test]
fn a_missing_tool_is_named_with_its_package() {
    let m = model();
    let empty = scratch("nopath");
    let o = Command::new(env!("CARGO_BIN_EXE_calo4p"))
        .args(["fpga-sim", "cosim", "-m", &m, "--sweeps", "2"])
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("apt-get install verilator"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&empty);
}

/// The RTL's samples of the reference model pass `validate` against the exact distribution:
/// 16 chains x 1500 kept sweeps (24,000 samples, about 18,000 effective); `--max-z 5` is five
/// standard errors per statistic, 140 statistics.
#[test]
fn rtl_samples_of_the_reference_model_pass_validate() {
    if !have("verilator") {
        return;
    }
    let dir = scratch("cosim");
    let stats = dir.join("rtl.json");
    let m = model();
    let o = calo4p(&[
        "fpga-sim",
        "cosim",
        "-m",
        &m,
        "--hw",
        "bram-pipelined",
        "--chains",
        "16",
        "--sweeps",
        "1600",
        "--burn-in",
        "100",
        "--seed",
        "7",
        "--stats",
        stats.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["agrees"], true, "{r}");
    assert_eq!(r["rtl_cycles_per_sweep"], r["simulated_cycles_per_sweep"], "{r}");
    assert_eq!(r["updates"], 16 * 1600 * 28, "{r}");
    let v = calo4p(&["validate", "-m", &m, "--samples", stats.to_str().unwrap(), "--max-z", "5"]);
    assert!(v.status.success(), "{}", text(&v));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Clamped units keep their values on the RTL too: the co-simulation agrees draw by draw, and
/// every unclamped unit (not the clamped ones) is updated in every chain and sweep.
#[test]
fn clamped_units_are_held_by_the_rtl() {
    let m = model();
    let bad = calo4p(&["fpga-sim", "rtl", "-m", &m, "--clamp", "28=1", "-o", "/nonexistent/never"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("--clamp: unit 28 is not a unit of the model (28 units)"), "{}", text(&bad));
    if !have("verilator") {
        return;
    }
    let o = calo4p(&[
        "fpga-sim",
        "cosim",
        "-m",
        &m,
        "--hw",
        "mcu-lane",
        "--chains",
        "3",
        "--sweeps",
        "30",
        "--clamp",
        "0=1,9=0,27=1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["agrees"], true, "{r}");
    assert_eq!(r["updates"], 3 * 30 * 25, "{r}");
}
