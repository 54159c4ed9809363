//! Checkpoints: one file, `DIR/checkpoint.bin`, written through a temporary name and renamed
//! (never half written), every epoch. It holds the configuration, the training state (epoch,
//! step, persistent chains, metrics so far), the networks and prior (burn's module record)
//! and both optimisers' Adam states, so that `--resume` continues bit for bit on the CPU.
//!
//! Layout: the magic line `CALO4P-VAE-1\n`, then four sections, each a little-endian u64
//! length and its bytes: header JSON, module record, optimiser record, prior-optimiser record.

use super::config::VaeConfig;
use super::metrics::EpochMetrics;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name inside a training directory.
pub const FILE: &str = "checkpoint.bin";
const MAGIC: &[u8] = b"CALO4P-VAE-1\n";

/// Where training stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Completed epochs.
    pub epoch: usize,
    /// Completed optimisation steps.
    pub step: usize,
    /// Persistent chains, core's unit-major layout.
    pub chains: Vec<u8>,
    /// Number of chains.
    pub chain_count: usize,
    /// Metrics of the completed epochs.
    pub metrics: Vec<EpochMetrics>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    config: VaeConfig,
    state: TrainState,
}

/// A whole checkpoint.
pub struct Checkpoint {
    /// Configuration.
    pub config: VaeConfig,
    /// State.
    pub state: TrainState,
    /// burn module record of the [`super::Vae`].
    pub model: Vec<u8>,
    /// Optimiser record (networks; everything in the old scheme).
    pub optim: Vec<u8>,
    /// Optimiser record of the new scheme's prior stage.
    pub prior_optim: Vec<u8>,
}

/// The checkpoint path in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

impl Checkpoint {
    /// Serialise.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let header = serde_json::to_vec(&Header { config: self.config.clone(), state: self.state.clone() })?;
        let mut out = MAGIC.to_vec();
        for section in [&header[..], &self.model, &self.optim, &self.prior_optim] {
            out.extend_from_slice(&(section.len() as u64).to_le_bytes());
            out.extend_from_slice(section);
        }
        Ok(out)
    }

    /// Parse; `what` names the file in errors.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Checkpoint> {
        if !bytes.starts_with(MAGIC) {
            bail!("{what} is not a calo4p VAE checkpoint (no CALO4P-VAE-1 header)");
        }
        let mut at = MAGIC.len();
        let mut sections = Vec::with_capacity(4);
        for name in ["header", "module record", "optimiser record", "prior-optimiser record"] {
            let len = bytes
                .get(at..at + 8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
                .with_context(|| format!("{what} is truncated before its {name}"))?;
            at += 8;
            let section = bytes.get(at..at + len).with_context(|| format!("{what} is truncated in its {name}"))?;
            sections.push(section.to_vec());
            at += len;
        }
        if at != bytes.len() {
            bail!("{what} has {} bytes after its last section", bytes.len() - at);
        }
        let header: Header =
            serde_json::from_slice(&sections[0]).with_context(|| format!("{what}: the header is not valid"))?;
        let mut it = sections.into_iter().skip(1);
        Ok(Checkpoint {
            config: header.config,
            state: header.state,
            model: it.next().expect("section"),
            optim: it.next().expect("section"),
            prior_optim: it.next().expect("section"),
        })
    }

    /// Write to `dir/checkpoint.bin` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::atomic::write(&path(dir), &self.to_bytes()?)
    }

    /// Read `dir/checkpoint.bin`.
    pub fn load(dir: &Path) -> Result<Checkpoint> {
        let p = path(dir);
        let bytes = std::fs::read(&p).with_context(|| {
            format!("cannot read {}: is {} a directory written by `calo4p train`?", p.display(), dir.display())
        })?;
        Checkpoint::from_bytes(&bytes, &p.display().to_string())
    }
}
