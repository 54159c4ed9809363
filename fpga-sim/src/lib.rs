//! calo4p-fpga-sim: a cycle-level model of a Boltzmann-machine sampling accelerator that
//! samples bit-exactly with `calo4p-core`.
//!
//! | module | what it is |
//! |---|---|
//! | [`config`] | hardware configurations (lanes, adder width, latencies, memories, clock), JSON presets, checks that name the parameter |
//! | [`accelerator`] | the simulator: lanes, adder trees, pipeline, memories and colour phases performing every update with core's arithmetic and xoshiro128++, and counting cycles; the partitioned multi-device mode |
//! | [`resources`] | LUT, flip-flop, DSP and block-RAM estimates with their formulas |
//! | [`kat`] | known-answer vectors (draws, fields, table entries, states) in a hex file an RTL testbench can read |
//! | [`rtl`] | the RTL (`rtl/*.v`) and, per model, its generated top level, parameter header, memory images (`.mem`, Intel HEX, `.coe`), C header and Verilator testbench |
//! | [`cosim`] | Verilator co-simulation against the simulator and core, draw by draw and cycle by cycle |
//! | [`synth`] | yosys synthesis (iCE40, ECP5, Xilinx) and nextpnr-ice40 place and route: resources and Fmax parsed from the tools' reports; fit checks before synthesis |
//! | [`tools`] | finding and running the external tools; a missing one names its Debian package |
//!
//! The contract with core: for the same model, seed and lane mapping, [`Accelerator::sweep`]
//! produces the states of core's `BlockGibbs` with `Draws::PerLane`, sweep by sweep
//! (`tests/bit_exact.rs`). Stream `g*C + c` of xoshiro128++ (the seed's generator jumped
//! that many times) belongs to chain c on global lane g.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod accelerator;
pub mod config;
pub mod cosim;
pub mod kat;
pub mod resources;
pub mod rtl;
pub mod synth;
pub mod tools;

pub use accelerator::{Accelerator, Cycles, Layout, MemoryNeeds, Rates, SimError, Update};
pub use config::{ConfigError, HwConfig};
