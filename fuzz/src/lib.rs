//! Fuzz targets for calo4p's readers (issue 11): core's model JSON and compact form, the host's
//! model files, dimod JSON, CSV and `.npy` sample files, CaloChallenge HDF5 and fpga-sim
//! hardware configurations. Run one with `cargo +nightly fuzz run <target>` from `/work/main`
//! (see `fuzz/README.md`).

#[path = "targets.rs"]
pub mod targets;
