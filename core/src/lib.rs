//! calo4p-core: Boltzmann-machine samplers for constrained hardware, in fixed and floating
//! point, without `std`, `alloc` or `unsafe`.
//!
//! The layers, bottom up:
//!
//! | module | what it is |
//! |---|---|
//! | [`zephyr`] | D-Wave's Zephyr graph Z(m, t): coordinates, edges, the 4-colouring, unit selection |
//! | [`model`] | a K-partite Boltzmann machine in caller-owned storage (sparse CSR or dense blocks) |
//! | [`qformat`] | signed fixed-point formats `Qm.n` and quantisation with counted saturation |
//! | [`sigmoid`] | the `r`-bit acceptance table of the fixed-point sampler |
//! | [`arithmetic`] | the [`Arithmetic`] trait: one kernel, float ([`Float`]) or fixed ([`Fixed`]) |
//! | [`expf`] | e^x in f32 without branches or tables, within 1 ulp of libm: the float sampler's decisions, vectorised |
//! | [`rng`] | per-chain PCG32 streams and a hardware-style xoshiro128++ |
//! | [`gibbs`] | block (chromatic) Gibbs sweeps over many chains side by side, with clamping; plans kept across sweeps, and a [`Tally`] of every update's exact field |
//! | [`anneal`] | β schedules and simulated annealing with heat-bath or Metropolis updates |
//! | [`stats`] | streaming moments: means, edge second moments, energy, magnetisation; energies carried through the sweeps ([`stats::Tracker`]) |
//! | `json` | the model interchange JSON parsed with serde-json-core into fixed capacity (feature `json`, on by default) |
//! | [`compact`] | the quantised model's compact binary form, checked on the way in |
//!
//! Conventions: binary units z ∈ {0, 1}, E(z) = -b·z - Σ W_ij z_i z_j, p ∝ exp(-βE).
//! Errors are typed and never panics on input.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod anneal;
pub mod arithmetic;
pub mod compact;
pub mod expf;
pub mod gibbs;
#[cfg(feature = "json")]
pub mod json;
pub mod model;
pub mod qformat;
pub mod rng;
pub mod sigmoid;
pub mod stats;
pub mod zephyr;

pub use arithmetic::{Arithmetic, Fixed, Float, Rule};
pub use gibbs::{Chains, Clamp, Draws, LaneMap, Plans, Tally};
pub use model::{Model, ModelError};
pub use qformat::QFormat;
pub use sigmoid::LutSpec;
