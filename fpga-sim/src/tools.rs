//! The external hardware tools (Verilator, yosys, nextpnr-ice40): finding them, running them,
//! writing a generated design for them.
//!
//! Tools are found on `PATH`; a missing one is an error naming the Debian package to install
//! ([`ToolError::Missing`]), so callers and tests can tell "skipped" from "failed".

use crate::rtl::{self, RtlDesign};
use std::fmt;
use std::path::Path;
use std::process::Command;

/// Why a tool run failed.
#[derive(Debug)]
pub enum ToolError {
    /// The tool is not installed: (tool, Debian package).
    Missing(&'static str, &'static str),
    /// It ran and failed: (what, its output tail).
    Failed(String, String),
    /// Its output was not what was expected.
    Output(String),
    /// Reading or writing files.
    Io(String, std::io::Error),
    /// The design could not be generated.
    Design(rtl::RtlError),
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(tool, pkg) => {
                write!(f, "`{tool}` is not installed (apt-get install {pkg})")
            }
            Self::Failed(what, tail) => write!(f, "{what} failed:\n{tail}"),
            Self::Output(m) => write!(f, "unexpected tool output: {m}"),
            Self::Io(p, e) => write!(f, "{p}: {e}"),
            Self::Design(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ToolError {}

/// The tools and their Debian packages.
pub const TOOLS: &[(&str, &str)] =
    &[("verilator", "verilator"), ("yosys", "yosys"), ("nextpnr-ice40", "nextpnr-ice40"), ("icepack", "fpga-icestorm")];

/// Whether `tool` is on PATH; `Err(Missing)` names its package.
pub fn require(tool: &'static str) -> Result<(), ToolError> {
    let pkg = TOOLS.iter().find(|t| t.0 == tool).map_or(tool, |t| t.1);
    let ok = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
    if ok {
        Ok(())
    } else {
        Err(ToolError::Missing(tool, pkg))
    }
}

/// Write the design's files under `dir`.
pub fn write_design(dir: &Path, d: &RtlDesign) -> Result<(), ToolError> {
    for (rel, text) in &d.files {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ToolError::Io(parent.display().to_string(), e))?;
        }
        std::fs::write(&p, text).map_err(|e| ToolError::Io(p.display().to_string(), e))?;
    }
    Ok(())
}

pub(crate) fn run(cmd: &mut Command, what: &str) -> Result<String, ToolError> {
    let out = cmd.output().map_err(|e| ToolError::Io(what.to_string(), e))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let all = format!("{text}{err}");
        let tail: Vec<&str> = all.lines().rev().take(30).collect();
        return Err(ToolError::Failed(what.to_string(), tail.into_iter().rev().collect::<Vec<_>>().join("\n")));
    }
    Ok(text)
}
