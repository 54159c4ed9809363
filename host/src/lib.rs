//! The calo4p host library: everything behind the `calo4p` command line.
//!
//! | module | what it is |
//! |---|---|
//! | [`model_file`] | the model interchange JSON: load, save, quantise, build core storage |
//! | [`statistics`] | the statistics JSON that samplers, exact answers and imports share |
//! | [`exact`] | exact moments and ln Z of small models by enumeration |
//! | [`sample`] | block Gibbs runs with any engine, generator and start |
//! | [`topology`] | Zephyr graphs and random Zephyr models |
//! | [`npy`] | NumPy `.npy` arrays |
//! | [`demo`] | the built-in demonstration |
//! | [`qa`] | annealer samples: import (dimod SampleSet JSON, CSV, .npy), weighting, β_eff, Ising export |
//! | [`data`] | calorimeter showers: CaloChallenge files, synthetic showers, scores |
//! | [`validation`] | validation and diagnostics: comparisons, precision, autocorrelation, spectra |
//! | [`report`] | tables, SVG plots and self-contained HTML pages |
//! | [`atomic`] | files written under a temporary name and renamed: never half written |
pub mod atomic;
pub mod data;
pub mod demo;
pub mod exact;
pub mod model_file;
pub mod npy;
pub mod qa;
pub mod report;
pub mod sample;
pub mod statistics;
pub mod topology;
pub mod validation;
