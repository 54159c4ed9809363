//! Validation and diagnostics: how far a sampler is from the distribution it should draw,
//! where the gap comes from, and whether chains mix.
//!
//! | module | command | what it measures |
//! |---|---|---|
//! | [`compare`] | `validate` | biases, z-scores with effective sample sizes, correlation-matrix Frobenius distances, TV and KL |
//! | [`stationary`] | `precision` | the exact stationary distribution of a chain in any arithmetic |
//! | [`precision`] | `precision` | weight-quantisation bias, the sampler's own bias, statistical error |
//! | [`acf`] | `acf` | magnetisation autocorrelation and integrated autocorrelation time |
//! | [`svd`] | `svd` | singular values of the inter-partition weight blocks |
#[cfg(feature = "cli")]
pub mod acf;
pub mod columns;
#[cfg(feature = "cli")]
mod command;
pub mod compare;
pub mod finite;
pub mod precision;
pub mod stationary;
pub mod svd;
#[cfg(feature = "cli")]
pub use command::*;
