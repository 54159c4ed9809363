//! The metrics log: one JSON object per epoch in `DIR/metrics.jsonl` (rewritten atomically
//! from the checkpoint's copy, so a resumed run's log has no duplicate or partial lines), and
//! the HTML page of loss curves `DIR/report/index.html`.

use super::config::VaeConfig;
use crate::model_file::ModelFile;
use crate::report::{line_plot, Mark, Plot, Report, Scale, Series};
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
    /// Encoder E_q[ln q], summed over the 3 N encoded units (between -3 N ln 2, a uniform
    /// posterior, and 0, a deterministic one): the mean over the epoch's steps (relaxed
    /// samples); in the new scheme's prior stage, where the encoder is frozen, its value on
    /// the training showers along the hard samples the prior is trained on.
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

/// The page of loss curves and the prior's block spectra, `DIR/report/index.html`; `initial`
/// is the prior the run started from.
pub fn write_report(
    dir: &Path,
    config: &VaeConfig,
    metrics: &[EpochMetrics],
    initial: &ModelFile,
    prior: &ModelFile,
) -> Result<PathBuf> {
    let scheme = format!("{:?}", config.scheme).to_lowercase();
    let mut page = Report::new(&format!("calo4p train: {scheme} scheme, {}", config.geometry));
    training_section(&mut page, config, metrics)?;
    let trained = format!("after the {scheme} scheme (epoch {})", metrics.last().map_or(0, |m| m.epoch));
    svd_section(&mut page, &[("at initialisation", initial), (&trained, prior)])?;
    page.write(&dir.join("report"))
}

/// Loss curves and the metrics table, appended to `page`.
pub fn training_section(page: &mut Report, config: &VaeConfig, metrics: &[EpochMetrics]) -> Result<()> {
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
    let uniform = -3.0 * config.latent_per_partition as f64 * std::f64::consts::LN_2;
    let mut plot = Plot::new("Prior terms", "epoch", "per shower", Scale::Linear);
    for series in [
        curve("entropy E_q[ln q]", metrics, |m| m.entropy),
        curve("positive energy", metrics, |m| m.positive_energy),
        curve("negative energy", metrics, |m| m.negative_energy),
    ] {
        plot = plot.with(series, Mark::LinePoints);
    }
    plot = plot.with(curve("-3N ln 2 (uniform posterior)", metrics, |_| Some(uniform)), Mark::Guide);
    page.svg("prior-terms.svg", plot.svg()?);
    page.text(&entropy_note(config, metrics));
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
    Ok(())
}

/// What the logged encoder entropy shows, in words and numbers.
pub fn entropy_note(config: &VaeConfig, metrics: &[EpochMetrics]) -> String {
    let n3 = 3 * config.latent_per_partition;
    let uniform = -(n3 as f64) * std::f64::consts::LN_2;
    let range = |stage: &str| {
        let v: Vec<f64> = metrics.iter().filter(|m| m.stage == stage).filter_map(|m| m.entropy).collect();
        Some((
            *v.first()?,
            *v.last()?,
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ))
    };
    let mut text = format!(
        "E_q[ln q] is the encoder's negative entropy summed over its {n3} encoded units: -3N ln 2 = {uniform:.2} for a uniform posterior (q = 1/2, as at initialisation), 0 for a deterministic one."
    );
    match config.scheme {
        super::Scheme::Old => {
            text.push_str(" In the old scheme it is a term of the loss (weighted by kl_weight), which pulls the posterior towards the prior");
            if let Some((first, last, lo, hi)) = range("joint") {
                text.push_str(&format!(": {first:.2} in the first epoch, {last:.2} in the last ({lo:.2} to {hi:.2})"));
            }
            text.push('.');
        }
        super::Scheme::New => {
            text.push_str(
                " In the new scheme it is logged but not minimised: stage 1 minimises reconstruction + hit only",
            );
            if let Some((first, last, _, _)) = range("autoencoder") {
                text.push_str(&format!(
                    ", and the encoder's posterior sharpens: {first:.2} in the first epoch, {last:.2} in the last"
                ));
            }
            text.push_str(". Stage 2 freezes the encoder, so its entropy stays where stage 1 left it");
            if let Some((_, _, lo, hi)) = range("prior") {
                text.push_str(&format!(
                    ": measured on the training showers in every prior epoch, {lo:.4} to {hi:.4} (it moves only with the hard samples that condition partitions 2 and 3)"
                ));
            }
            text.push_str(
                ". It does not stay at -3N ln 2: that value belongs to an encoder whose posterior is uniform.",
            );
        }
    }
    text
}

/// The singular values of the inter-partition weight blocks of each of `priors` (label,
/// model), computed by [`svd::block_singular_values`] (what `calo4p svd` prints), plotted
/// side by side as on the slides, with a table of rank, largest singular value and Frobenius
/// norm per block. A prior with no nonzero weight (the all-zero initialisation) has nothing to
/// draw on a log scale: its panel is linear, the zero spectra lying on the axis.
pub fn svd_section(page: &mut Report, priors: &[(&str, &ModelFile)]) -> Result<()> {
    let spectra: Vec<Vec<svd::BlockSpectrum>> = priors.iter().map(|(_, p)| svd::block_singular_values(p)).collect();
    let top = spectra.iter().flatten().map(svd::BlockSpectrum::largest).fold(0.0, f64::max);
    let bottom = spectra.iter().flatten().filter_map(svd::BlockSpectrum::smallest_nonzero).fold(top, f64::min);
    page.heading("Singular values of the prior's weight blocks");
    page.text(&format!(
        "Each inter-partition block W_pq (|p| x |q| units, zero where the graph has no edge), for the prior {}. \
         Grey lines mark the largest and smallest nonzero singular values over all panels, so the panels share a range{}.",
        priors.iter().map(|(l, _)| *l).collect::<Vec<_>>().join(", "),
        if spectra.iter().any(|s| s.iter().all(|b| b.largest() == 0.0)) {
            "; a panel whose weights are all zero (the prior starts uniform, W = 0) is drawn on a linear scale"
        } else {
            ""
        }
    ));
    let mut figures = Vec::new();
    for (k, ((label, _), blocks)) in priors.iter().zip(&spectra).enumerate() {
        let names: Vec<String> = blocks.iter().map(|s| format!("block {}-{}", s.p, s.q)).collect();
        let zero = blocks.iter().all(|s| s.largest() == 0.0);
        let mut plot = Plot::new(label, "index k", "σ_k", if zero { Scale::Linear } else { Scale::Log });
        plot.size = (520, 420);
        for (s, name) in blocks.iter().zip(&names) {
            let points = s.singular_values.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v)).collect();
            plot = plot.with(Series { name, points }, Mark::LinePoints);
        }
        if top > 0.0 {
            plot.h_lines = if zero { vec![top] } else { vec![bottom, top] };
        }
        figures.push((format!("svd-{k}.svg"), plot.svg()?));
    }
    page.svg_row(figures);
    let mut header = vec!["block".to_string(), "size".to_string()];
    for (label, _) in priors {
        header.extend([format!("{label}: rank"), "σ_max".into(), "‖W‖_F".into()]);
    }
    let rows = (0..spectra.first().map_or(0, Vec::len))
        .map(|b| {
            let s0 = &spectra[0][b];
            let mut row = vec![format!("{}-{}", s0.p, s0.q), format!("{}x{}", s0.rows, s0.cols)];
            for blocks in &spectra {
                let s = &blocks[b];
                row.extend([s.rank().to_string(), format!("{:.4}", s.largest()), format!("{:.4}", s.frobenius())]);
            }
            row
        })
        .collect();
    page.table(&header.iter().map(String::as_str).collect::<Vec<_>>(), rows);
    Ok(())
}
