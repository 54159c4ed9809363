//! The calo4p host library: everything behind the `calo4p` command line.
//!
//! Default features: `cli` (clap, indicatif, plotters: the command line, progress and
//! reports) and `vae` (burn). With `default-features = false` the library keeps model files,
//! sample sources, sampling, exact answers, validation, annealer import and calorimeter data.
//!
//! | module | what it is |
//! |---|---|
//! | [`args`] | checked values of options several commands share (β) |
//! | [`model_file`] | the model interchange JSON: load, save, quantise, build core storage |
//! | [`statistics`] | the statistics JSON that samplers, exact answers and imports share |
//! | [`exact`] | exact moments and ln Z of small models by enumeration |
//! | `fpga_sim` | `calo4p fpga-sim`: runs on a simulated accelerator (calo4p-fpga-sim), cycles, resources, design sweeps (feature `cli`) |
//! | `fpga_rtl` | `calo4p fpga-sim rtl/cosim/synth`: the accelerator as RTL, Verilator co-simulation, yosys/nextpnr (feature `cli`) |
//! | [`sample`] | block Gibbs runs with any engine, generator and start |
//! | [`anneal`] | simulated annealing with core's schedules; reads as a dimod SampleSet |
//! | [`topology`] | Zephyr graphs and random Zephyr models |
//! | [`npy`] | NumPy `.npy` arrays |
//! | `demo` | the built-in demonstration (feature `cli`) |
//! | [`samples`] | every sample source: dimod SampleSet JSON, CSV, .npy rows and weights, statistics files; labels |
//! | [`autocorrelation`] | ensemble autocorrelation and τ_int, shared by `sample`, `validate` and `acf` |
//! | [`qa`] | annealer samples: import, weighting, β_eff, Ising export |
//! | [`data`] | calorimeter showers: CaloChallenge files, synthetic showers, scores |
//! | [`validation`] | validation and diagnostics: comparisons, precision, autocorrelation, spectra |
//! | `report` | tables, SVG plots and self-contained HTML pages (feature `cli`) |
//! | [`progress`] | progress bars and spinners on standard error (no-ops without `cli`) |
//! | `vae` | Calo4pQVAE: training, prior export, shower generation (feature `vae`: burn; implies `cli`) |
//! | [`atomic`] | files written under a temporary name and renamed: never half written; `-` is standard output |
//! | [`output`] | results on standard output: closed pipes, exit statuses |
pub mod anneal;
pub mod args;
pub mod atomic;
pub mod autocorrelation;
pub mod data;
#[cfg(feature = "cli")]
pub mod demo;
pub mod exact;
#[cfg(feature = "cli")]
pub mod fpga_rtl;
#[cfg(feature = "cli")]
pub mod fpga_sim;
pub mod memory;
pub mod model_file;
pub mod npy;
pub mod output;
pub mod progress;
pub mod qa;
#[cfg(feature = "cli")]
pub mod report;
pub mod sample;
pub mod samples;
pub mod statistics;
pub mod topology;
#[cfg(feature = "vae")]
pub mod vae;
pub mod validation;
