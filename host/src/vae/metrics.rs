//! The metrics log: one JSON object per epoch in `DIR/metrics.jsonl` (rewritten atomically
//! from the checkpoint's copy, so a resumed run's log has no duplicate or partial lines), and
//! the HTML page of loss curves `DIR/report/index.html`.

use super::config::VaeConfig;
use crate::model_file::ModelFile;
use crate::report::{line_plot, Report, Scale, Series};
use crate::validation::svd;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What one epoch measured (means over its steps; validation on the held-back showers).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch (1-based).
    pub epoch: usize,
    /// `joint` (old scheme), `autoencoder` or `prior` (new scheme).
    pub stage: String,
    /// Steps so far.
    pub step: usize,
    /// Relaxation temperature at the end of the epoch.
    pub temperature: f64,
    /// Total loss minimised (the prior stage minimises no network loss: 0).
    pub loss: f64,
    /// Reconstruction MSE (sum over voxels).
    pub reconstruction: Option<f64>,
    /// Hit cross-entropy (sum over voxels).
    pub hit: Option<f64>,
    /// Encoder E_q[ln q] (sum over latent units).
    pub entropy: Option<f64>,
    /// Mean prior energy of posterior samples (or of encoded data in the prior stage).
    pub positive_energy: Option<f64>,
    /// -<E> over the negative phase's model samples.
    pub negative_energy: Option<f64>,
    /// Validation reconstruction with hard samples.
    pub val_reconstruction: f64,
    /// Validation hit cross-entropy with hard samples.
    pub val_hit: f64,
    /// The prior's negative log-likelihood of the encoded validation showers.
    pub val_nll: f64,
    /// ln Z of the prior.
    pub ln_z: f64,
    /// Its standard error (0 when enumerated).
    pub ln_z_error: f64,
    /// Whether ln Z was enumerated.
    pub ln_z_exact: bool,
    /// Wall time of the epoch's steps (s).
    pub seconds: f64,
    /// Of which the negative phase (s).
    pub negative_phase_seconds: f64,
}

/// Write the log.
pub fn write_log(dir: &Path, metrics: &[EpochMetrics]) -> Result<()> {
    let mut text = String::new();
    for m in metrics {
        text.push_str(&serde_json::to_string(m)?);
        text.push('\n');
    }
    crate::atomic::write(&dir.join("metrics.jsonl"), text.as_bytes())
}

fn curve<'a>(name: &'a str, metrics: &[EpochMetrics], f: impl Fn(&EpochMetrics) -> Option<f64>) -> Series<'a> {
    Series { name, points: metrics.iter().filter_map(|m| Some((m.epoch as f64, f(m)?))).collect() }
}

/// The page of loss curves and the prior's block spectra, `DIR/report/index.html`.
pub fn write_report(dir: &Path, config: &VaeConfig, metrics: &[EpochMetrics], prior: &ModelFile) -> Result<PathBuf> {
    let scheme = format!("{:?}", config.scheme).to_lowercase();
    let mut page = Report::new(&format!("calo4p train: {scheme} scheme, {}", config.geometry));
    training_section(&mut page, config, metrics, prior)?;
    page.write(&dir.join("report"))
}

/// Loss curves, the metrics table and the prior's block spectra, appended to `page`.
pub fn training_section(
    page: &mut Report,
    config: &VaeConfig,
    metrics: &[EpochMetrics],
    prior: &ModelFile,
) -> Result<()> {
    page.text(&format!(
        "Latent 4 x {} units on Z({}, {}); hidden {:?}; batch {}; {} training and {} held-back showers; negative phase: {} chains, {} sweep(s) per step, {} arithmetic.",
        config.latent_per_partition,
        config.zephyr.0,
        config.zephyr.1,
        config.hidden,
        config.batch_size,
        config.n_train,
        config.n_val,
        config.chains,
        config.sweeps_per_step,
        config.negative_engine
    ));
    page.heading("Loss terms");
    let terms = [
        curve("reconstruction", metrics, |m| m.reconstruction),
        curve("hit", metrics, |m| m.hit),
        curve("val reconstruction", metrics, |m| Some(m.val_reconstruction)),
        curve("val hit", metrics, |m| Some(m.val_hit)),
    ];
    page.svg("autoencoder.svg", line_plot("Autoencoder terms", "epoch", "per shower", &terms, Scale::Linear)?);
    let prior_terms = [
        curve("entropy E_q[ln q]", metrics, |m| m.entropy),
        curve("positive energy", metrics, |m| m.positive_energy),
        curve("negative energy", metrics, |m| m.negative_energy),
    ];
    page.svg("prior-terms.svg", line_plot("Prior terms", "epoch", "per shower", &prior_terms, Scale::Linear)?);
    let nll =
        [curve("val NLL (prior, encoded)", metrics, |m| Some(m.val_nll)), curve("ln Z", metrics, |m| Some(m.ln_z))];
    page.svg("nll.svg", line_plot("Prior log-likelihood", "epoch", "nats", &nll, Scale::Linear)?);
    let rows = metrics
        .iter()
        .map(|m| {
            let o = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
            vec![
                m.epoch.to_string(),
                m.stage.clone(),
                format!("{:.4}", m.loss),
                o(m.reconstruction),
                o(m.hit),
                o(m.entropy),
                o(m.positive_energy),
                o(m.negative_energy),
                format!("{:.4}", m.val_nll),
                format!("{:.4} ± {:.4}{}", m.ln_z, m.ln_z_error, if m.ln_z_exact { " (exact)" } else { " (AIS)" }),
                format!("{:.1}", m.seconds),
                format!("{:.0}%", 100.0 * m.negative_phase_seconds / m.seconds.max(1e-9)),
            ]
        })
        .collect();
    page.table(
        &["epoch", "stage", "loss", "recon", "hit", "E_q ln q", "E+", "E-", "val NLL", "ln Z", "s", "neg. phase"],
        rows,
    );
    let spectra = svd::block_singular_values(prior);
    if spectra.iter().any(|s| s.largest() > 0.0) {
        page.heading("Singular values of the prior's weight blocks");
        page.svg("svd.svg", svd::plot(&spectra)?);
    }
    Ok(())
}
