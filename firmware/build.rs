//! Picks the memory map for the target and bakes the run into the image: the compact model
//! (`FIRMWARE_MODEL`, a file written by `calo4p model quantise`) and the run's sweeps, chains
//! and seed (`FIRMWARE_SWEEPS`, `FIRMWARE_CHAINS`, `FIRMWARE_SEED`).
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let memory = match env::var("CARGO_CFG_TARGET_ARCH").unwrap().as_str() {
        "arm" => "link/cortex-m4.x",
        "riscv32" => "link/rv32.x",
        other => panic!("calo4p-firmware targets thumbv7em-none-eabihf and riscv32imac-unknown-none-elf, not {other}"),
    };
    fs::copy(manifest.join(memory), out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={memory}");

    let model = env::var("FIRMWARE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("models/rbm_7x7x7x7_seed20250131.q8_8.c4pq"));
    let bytes = fs::read(&model).unwrap_or_else(|e| panic!("FIRMWARE_MODEL {}: {e}", model.display()));
    fs::write(out.join("model.c4pq"), bytes).unwrap();
    println!("cargo:rerun-if-changed={}", model.display());

    let num = |name: &str, default: u64| -> u64 {
        println!("cargo:rerun-if-env-changed={name}");
        env::var(name).map_or(default, |v| v.parse().unwrap_or_else(|e| panic!("{name}={v}: {e}")))
    };
    let config = format!(
        "/// Sweeps to run.\npub const SWEEPS: usize = {};\n/// Chains side by side.\npub const CHAINS: usize = {};\n/// Seed of the chain streams.\npub const SEED: u64 = {};\n",
        num("FIRMWARE_SWEEPS", 100),
        num("FIRMWARE_CHAINS", 4),
        num("FIRMWARE_SEED", 7),
    );
    fs::write(out.join("config.rs"), config).unwrap();
    println!("cargo:rerun-if-env-changed=FIRMWARE_MODEL");
}
