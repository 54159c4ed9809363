//! Annealer samples: import, weighting, effective temperature, and the way back.
//!
//! An annealer returns distinct samples with a count of how often each occurred, at an
//! unknown effective inverse temperature β_eff. This module brings such answers home:
//!
//! * [`crate::samples`] reads the samples (dimod SampleSet JSON, CSV, `.npy` rows), maps
//!   variable labels to model units and produces one [`crate::samples::table::SampleTable`]:
//!   rows in the model's unit order, a weight per row (`num_occurrences`), energies and other
//!   per-row vectors.
//! * [`crate::samples::table::SampleTable::statistics`] gives the weighted moments in the statistics layout
//!   of `calo4p sample` (so `validate` can compare them with anything else).
//! * [`beta`] estimates β_eff by energy moment matching and by maximum pseudo-likelihood,
//!   each with a bootstrap uncertainty.
//! * [`ising`] writes the Ising problem an annealer takes, with β folded in.
//!
//! Every input is validated before anything is written; errors name the file and the field,
//! row or column at fault, and outputs are written through a temporary file and a rename.

pub mod beta;
#[cfg(feature = "cli")]
mod command;
pub mod ising;
#[cfg(feature = "cli")]
pub use command::*;
