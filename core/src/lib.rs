//! calo4p-core: Boltzmann-machine samplers for constrained hardware.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// placeholder
pub mod zephyr;
