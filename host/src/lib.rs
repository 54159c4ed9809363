//! The calo4p host library: everything behind the `calo4p` command line.
//!
//! | module | what it is |
//! |---|---|
//! | [`args`] | checked values of options several commands share (β) |
//! | [`model_file`] | the model interchange JSON: load, save, quantise, build core storage |
//! | [`statistics`] | the statistics JSON that samplers, exact answers and imports share |
//! | [`exact`] | exact moments and ln Z of small models by enumeration |
//! | [`fpga_sim`] | `calo4p fpga-sim`: runs on a simulated accelerator (calo4p-fpga-sim), cycles, resources, design sweeps |
//! | [`sample`] | block Gibbs runs with any engine, generator and start |
//! | [`anneal`] | simulated annealing with core's schedules; reads as a dimod SampleSet |
//! | [`topology`] | Zephyr graphs and random Zephyr models |
//! | [`npy`] | NumPy `.npy` arrays |
//! | [`demo`] | the built-in demonstration |
//! | [`samples`] | every sample source: dimod SampleSet JSON, CSV, .npy rows and weights, statistics files; labels |
//! | [`autocorrelation`] | ensemble autocorrelation and τ_int, shared by `sample`, `validate` and `acf` |
//! | [`qa`] | annealer samples: import, weighting, β_eff, Ising export |
//! | [`data`] | calorimeter showers: CaloChallenge files, synthetic showers, scores |
//! | [`validation`] | validation and diagnostics: comparisons, precision, autocorrelation, spectra |
//! | [`report`] | tables, SVG plots and self-contained HTML pages |
//! | `vae` | Calo4pQVAE: training, prior export, shower generation (cargo feature `vae`, burn) |
//! | [`atomic`] | files written under a temporary name and renamed: never half written; `-` is standard output |
//! | [`output`] | results on standard output: closed pipes, exit statuses |
pub mod anneal;
pub mod args;
pub mod atomic;
pub mod autocorrelation;
pub mod data;
pub mod demo;
pub mod exact;
pub mod fpga_rtl;
pub mod fpga_sim;
pub mod memory;
pub mod model_file;
pub mod npy;
pub mod output;
pub mod qa;
pub mod report;
pub mod sample;
pub mod samples;
pub mod statistics;
pub mod topology;
#[cfg(feature = "vae")]
pub mod vae;
pub mod validation;
