//! The calo4p host library: everything behind the `calo4p` command line.
pub mod data;
