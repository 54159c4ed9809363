//! Where a fixed-point sampler's bias comes from: `calo4p precision`.
//!
//! For each weight format and table resolution r:
//!
//! * (a) **weight quantisation** changes the model: the exact distribution of the quantised
//!   model against the float model's;
//! * (b) **the sampler's own bias**: what the fixed-point chain samples against the exact
//!   distribution of the quantised model. With an exactly summed field this comes only from
//!   the table and the r-bit draws. For models of up to [`stationary::MAX_UNITS`] units it is
//!   computed without sampling noise, as the exact stationary distribution of the chain
//!   (power iteration); for larger enumerable models it is estimated by sampling and
//!   carries a standard error;
//! * (c) **statistical error**: the largest standard error of a moment with N independent
//!   samples, the noise a bias must be compared with.
//!
//! Biases are reported as total variation (TV) where the distribution is known and as the
//! largest moment deviation (unit means and edge second moments) always.

use super::stationary::{self, boltzmann, moments, total_variation};
use crate::exact::exact;
use crate::model_file::{Built, ModelFile};
#[cfg(feature = "cli")]
use crate::report::{line_plot, Report, Scale, Series};
use crate::sample::{run, Engine, FixedSettings, SampleConfig};
use anyhow::{bail, Result};
use calo4p_core::qformat::RawWeight;
use calo4p_core::{Fixed, LutSpec, QFormat, Rule};
use serde::Serialize;

/// One setting's bias decomposition.
#[derive(Clone, Debug, Serialize)]
pub struct Setting {
    /// Weight format.
    pub format: String,
    /// Table bits r.
    pub lut_bits: u32,
    /// (a) TV between the quantised and the float model, when enumerable.
    pub quantisation_tv: Option<f64>,
    /// (a) largest moment deviation.
    pub quantisation_moment: f64,
    /// (b) TV between the chain and the quantised model, when computed exactly.
    pub sampler_tv: Option<f64>,
    /// (b) largest moment deviation.
    pub sampler_moment: f64,
    /// Standard error of (b) when it was sampled.
    pub sampler_moment_se: Option<f64>,
    /// (c) largest standard error of a moment with the requested number of samples.
    pub statistical_error: f64,
    /// (a) + (b) on moments.
    pub total_moment: f64,
    /// Parameters that saturated on quantisation.
    pub saturated: usize,
    /// Power-iteration sweeps (exact (b) only).
    pub sweeps: Option<usize>,
}

/// Inputs of [`decompose`].
#[derive(Clone, Debug)]
pub struct PrecisionConfig {
    /// Weight formats.
    pub formats: Vec<QFormat>,
    /// Table resolutions.
    pub lut_bits: Vec<u32>,
    /// Inverse temperature.
    pub beta: f64,
    /// Samples for (c), and for (b) when it has to be sampled.
    pub samples: usize,
    /// Seed for sampled (b).
    pub seed: u64,
    /// Show progress.
    pub progress: bool,
}

fn max_dev(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

fn concat(m: (Vec<f64>, Vec<f64>)) -> Vec<f64> {
    m.0.into_iter().chain(m.1).collect()
}

/// The bias decomposition of every (format, r) setting.
pub fn decompose(file: &ModelFile, cfg: &PrecisionConfig) -> Result<Vec<Setting>> {
    let n = file.num_units();
    let edges: Vec<(usize, usize)> = file.edges.iter().map(|e| (e.i, e.j)).collect();
    let exact_float = exact(file, cfg.beta)?;
    let float_moments: Vec<f64> = exact_float.mean.iter().chain(&exact_float.edge_second_moment).copied().collect();
    let statistical_error =
        float_moments.iter().map(|&p| (p * (1.0 - p) / cfg.samples as f64).sqrt()).fold(0.0, f64::max);
    let enumerable = n <= stationary::MAX_UNITS;
    let float_p = if enumerable { Some(boltzmann(&Built::float(file)?, cfg.beta)?) } else { None };
    let mut out = Vec::new();
    for &format in &cfg.formats {
        for s in match format.bits() {
            0..=8 => per_format::<i8>(file, format, cfg, &edges, &float_moments, float_p.as_deref())?,
            9..=16 => per_format::<i16>(file, format, cfg, &edges, &float_moments, float_p.as_deref())?,
            _ => per_format::<i32>(file, format, cfg, &edges, &float_moments, float_p.as_deref())?,
        } {
            out.push(Setting { statistical_error, ..s });
        }
    }
    Ok(out)
}

fn per_format<W: RawWeight>(
    file: &ModelFile,
    format: QFormat,
    cfg: &PrecisionConfig,
    edges: &[(usize, usize)],
    float_moments: &[f64],
    float_p: Option<&[f64]>,
) -> Result<Vec<Setting>> {
    let (built, report) = Built::<W>::fixed(file, format, false)?;
    let (quantised_file, _) = file.quantised(format)?;
    let q_exact = exact(&quantised_file, cfg.beta)?;
    let q_moments: Vec<f64> = q_exact.mean.iter().chain(&q_exact.edge_second_moment).copied().collect();
    let q_p = match float_p {
        Some(_) => Some(boltzmann(&built, cfg.beta)?),
        None => None,
    };
    let quantisation_tv = float_p.zip(q_p.as_deref()).map(|(f, q)| total_variation(f, q));
    let quantisation_moment = max_dev(&q_moments, float_moments);
    let mut out = Vec::new();
    for &bits in &cfg.lut_bits {
        let spec = LutSpec { bits, index_frac_bits: format.frac_bits().min(12) };
        let (sampler_tv, sampler_moment, sampler_moment_se, sweeps) = match &q_p {
            Some(q_p) => {
                let mut table = vec![0u16; Fixed::<W>::table_len(format, spec, cfg.beta)];
                let arith = Fixed::<W>::new(format, spec, Rule::HeatBath, cfg.beta, &mut table)?;
                let st = stationary::stationary(&built, &arith, 1e-14, 100_000)?;
                let chain = concat(moments(&built, edges, &st.p));
                (Some(total_variation(&st.p, q_p)), max_dev(&chain, &q_moments), None, Some(st.sweeps))
            }
            None => {
                let chains = 100.min(cfg.samples);
                let sweeps = cfg.samples.div_ceil(chains);
                let mut sc =
                    SampleConfig::new(Engine::Fixed(FixedSettings::new(format, bits)), chains, sweeps, 100, cfg.seed);
                sc.beta = cfg.beta;
                sc.progress = cfg.progress;
                let run = run(file, &sc)?;
                let got: Vec<f64> =
                    run.stats.mean.iter().copied().chain(run.stats.edge_second_moment.iter().map(|e| e.2)).collect();
                let se =
                    q_moments.iter().map(|&p| (p * (1.0 - p) / (chains * sweeps) as f64).sqrt()).fold(0.0, f64::max);
                (None, max_dev(&got, &q_moments), Some(se), None)
            }
        };
        out.push(Setting {
            format: format.to_string(),
            lut_bits: bits,
            quantisation_tv,
            quantisation_moment,
            sampler_tv,
            sampler_moment,
            sampler_moment_se,
            statistical_error: 0.0,
            total_moment: quantisation_moment + sampler_moment,
            saturated: report.saturated.len(),
            sweeps,
        });
    }
    Ok(out)
}

/// The cheapest setting (fewest weight bits, then fewest table bits) whose total moment
/// bias is within `tolerance`.
pub fn smallest_meeting<'s>(settings: &'s [Setting], formats: &[QFormat], tolerance: f64) -> Option<&'s Setting> {
    let bits = |s: &Setting| formats.iter().find(|f| f.to_string() == s.format).map_or(u32::MAX, |f| f.bits());
    settings.iter().filter(|s| s.total_moment <= tolerance).min_by_key(|s| (bits(s), s.lut_bits))
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.2e}"))
}

/// Table rows of the settings.
pub fn rows(settings: &[Setting]) -> Vec<Vec<String>> {
    settings
        .iter()
        .map(|s| {
            vec![
                s.format.clone(),
                s.lut_bits.to_string(),
                fmt_opt(s.quantisation_tv),
                format!("{:.2e}", s.quantisation_moment),
                fmt_opt(s.sampler_tv),
                match s.sampler_moment_se {
                    Some(se) => format!("{:.2e} ± {se:.1e}", s.sampler_moment),
                    None => format!("{:.2e}", s.sampler_moment),
                },
                format!("{:.2e}", s.statistical_error),
                format!("{:.2e}", s.total_moment),
                s.saturated.to_string(),
            ]
        })
        .collect()
}

/// Column headings of [`rows`].
pub const HEADER: [&str; 9] =
    ["format", "r", "(a) TV", "(a) max|dm|", "(b) TV", "(b) max|dm|", "(c) SE", "(a)+(b) max|dm|", "saturated"];

#[cfg(feature = "cli")]
/// The plot and the report section; returns the verdict for `tolerance` and the plot.
pub fn build_report(
    settings: &[Setting],
    formats: &[QFormat],
    tolerance: Option<f64>,
    samples: usize,
    report: &mut Report,
) -> Result<(Option<String>, String)> {
    let names: Vec<String> = formats.iter().map(|f| f.to_string()).collect();
    let mut series = Vec::new();
    for name in &names {
        let pts = |f: &dyn Fn(&Setting) -> f64| -> Vec<(f64, f64)> {
            settings.iter().filter(|s| &s.format == name).map(|s| (s.lut_bits as f64, f(s))).collect()
        };
        series.push((format!("{name} (b) sampler"), pts(&|s| s.sampler_tv.unwrap_or(s.sampler_moment))));
        series.push((format!("{name} (a) quantisation"), pts(&|s| s.quantisation_tv.unwrap_or(s.quantisation_moment))));
    }
    let tv = settings.iter().all(|s| s.sampler_tv.is_some());
    let y = if tv { "total variation" } else { "largest moment deviation" };
    let svg = line_plot(
        "bias of the fixed-point sampler",
        "table bits r",
        y,
        &series.iter().map(|(n, p)| Series { name: n, points: p.clone() }).collect::<Vec<_>>(),
        Scale::Log,
    )?;
    report.heading("Bias decomposition");
    report.text(&format!(
        "(a) weight quantisation: exact quantised model vs exact float model. (b) the sampler's own bias: \
         {} vs the exact quantised model. (c) largest standard error of a moment with {samples} independent samples.",
        if tv { "the exact stationary distribution of the fixed-point chain" } else { "fixed-point samples" }
    ));
    report.table(&HEADER, rows(settings));
    report.svg("precision.svg", svg.clone());
    let verdict = tolerance.map(|t| match smallest_meeting(settings, formats, t) {
        Some(s) => format!("smallest setting within {t:e}: {} with a {}-bit table", s.format, s.lut_bits),
        None => format!("no setting keeps the moment bias within {t:e}"),
    });
    if let Some(v) = &verdict {
        report.text(v);
    }
    Ok((verdict, svg))
}

/// Check the inputs.
pub fn check(cfg: &PrecisionConfig) -> Result<()> {
    if cfg.formats.is_empty() || cfg.lut_bits.is_empty() {
        bail!("give at least one --formats entry and one --lut-bits entry");
    }
    if let Some(b) = cfg.lut_bits.iter().find(|&&b| b == 0 || b > 16) {
        bail!("--lut-bits {b}: table resolution must be 1..=16");
    }
    if cfg.samples < 2 {
        bail!("--samples {}: too few samples for a standard error", cfg.samples);
    }
    Ok(())
}
