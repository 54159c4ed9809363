//! Two distributions over one model's units, side by side.
//!
//! A [`Side`] is the exact distribution, a statistics file (from any engine or from imported
//! annealer samples), a file of samples, or annealer samples themselves (a dimod SampleSet
//! JSON or CSV, every distinct row weighted by its `num_occurrences`). From two sides [`compare`] reports:
//!
//! * the bias of every unit mean and edge second moment (max and RMS);
//! * z-scores with **effective** sample sizes: for sample files each statistic's integrated
//!   autocorrelation time τ_int (Sokal's window, see [`crate::autocorrelation::tau_int`]) over the chains
//!   turns N samples into N / τ_int; statistics files carry `effective_samples`; exact
//!   answers have no error. Where a side has no error estimate, z-scores are not reported;
//! * the Frobenius metric ‖C_A − C_B‖_F between Pearson correlation matrices
//!   C_ij = (⟨z_i z_j⟩ − m_i m_j) / √(m_i(1−m_i) m_j(1−m_j)), over all units, within each
//!   partition and for each partition pair (needs all pairwise moments: exact or samples);
//! * for models small enough to enumerate, the total-variation distance
//!   ½ Σ_z |p̂(z) − p(z)| and KL(p̂ ‖ p) = Σ p̂ ln(p̂/p) between an empirical distribution and
//!   the exact one. Both carry a finite-sample floor: an exact sampler with N samples has
//!   TV of order √(number of likely states / N). [`tv_floor`] estimates that floor for N
//!   independent exact draws, so that a TV is read against what a perfect sampler would show.

use super::columns::{integrated_time_bits, BitColumns};
use crate::exact::{energy, exact_with, MAX_ENUMERATED};
use crate::model_file::ModelFile;
use crate::progress;
use crate::samples::{self, labels::LabelMode, npy::Rows, Imported, Source};
use crate::statistics::{max_rms, Statistics};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// Most units for which pairwise moments (and the Frobenius metric) are computed from
/// samples: the n × n matrices take 8 n² bytes per side (134 MB at 4096 units), and the
/// popcounts n²/2 × rows/64 word operations.
pub const MAX_PAIRWISE_UNITS: usize = 4096;

/// One side of a comparison.
#[derive(Clone, Debug)]
pub struct Side {
    /// Where it came from.
    pub label: String,
    /// ⟨z_i⟩.
    pub mean: Vec<f64>,
    /// ⟨z_i z_j⟩ per model edge.
    pub edge: Vec<f64>,
    /// Standard error of each statistic (means, then edges); `None` when unknown.
    pub se: Option<Vec<f64>>,
    /// Effective sample size (smallest over statistics for sample files).
    pub effective_samples: Option<f64>,
    /// Samples behind the numbers.
    pub num_samples: Option<f64>,
    /// Full n x n second moments, when known.
    pub second_moment: Option<Vec<f64>>,
    /// Why `second_moment` is not known (for the Frobenius note).
    pub no_pairs: Option<String>,
    /// Empirical distribution over states (packed into u64), for small models.
    pub states: Option<HashMap<u64, f64>>,
    /// ln Z, for the exact side.
    pub ln_z: Option<f64>,
}

impl Side {
    /// Exact answers (all pairwise moments included).
    pub fn exact(model: &ModelFile, beta: f64) -> Result<Self> {
        let ex = exact_with(model, beta, true)?;
        let k = model.num_units() + model.edges.len();
        Ok(Self {
            label: "exact".into(),
            mean: ex.mean,
            edge: ex.edge_second_moment,
            se: Some(vec![0.0; k]),
            effective_samples: Some(f64::INFINITY),
            num_samples: None,
            no_pairs: ex.second_moment.is_none().then(|| "exact enumeration kept no pairwise moments".into()),
            second_moment: ex.second_moment,
            states: None,
            ln_z: Some(ex.ln_z),
        })
    }

    /// A statistics file (`calo4p sample --stats`, `qa import --stats`, `exact --out`).
    pub fn statistics(model: &ModelFile, path: &Path) -> Result<Self> {
        Self::from_statistics(model, Statistics::load(path)?, path)
    }

    /// Statistics already read from `path`.
    fn from_statistics(model: &ModelFile, s: Statistics, path: &Path) -> Result<Self> {
        s.check_matches(model, &format!("statistics file {}", path.display()))?;
        let edge: Vec<f64> = s.edge_second_moment.iter().map(|e| e.2).collect();
        let exact = s.source.as_deref() == Some("exact");
        let ess = if exact { Some(f64::INFINITY) } else { s.effective_samples };
        let se = ess.map(|n| s.mean.iter().chain(&edge).map(|&p| (p * (1.0 - p) / n).sqrt()).collect());
        Ok(Self {
            label: path.display().to_string(),
            mean: s.mean,
            edge,
            se,
            effective_samples: ess,
            num_samples: s.num_samples.map(|n| n as f64),
            second_moment: None,
            no_pairs: Some(format!(
                "statistics file {} holds unit means and edge moments only; the correlation matrix also needs \
                 every pair of units without an edge (give the sample file instead)",
                path.display()
            )),
            states: None,
            ln_z: s.ln_z,
        })
    }

    /// A `.npy` file of samples, one row per sample, one column per unit (0/1, or ±1 spins),
    /// rows ordered sweep by sweep with `chains` chains each (as `calo4p sample --out`).
    pub fn samples(model: &ModelFile, path: &Path, chains: usize) -> Result<Self> {
        let rows = samples::npy::read_rows(path, model.num_units(), &format!("sample file {}", path.display()))?;
        Self::from_sample_rows(model, &rows, chains, &path.display().to_string(), false)
    }

    /// Rows read from a sample file.
    fn from_sample_rows(model: &ModelFile, rows: &Rows, chains: usize, label: &str, progress: bool) -> Result<Self> {
        Self::weighted_shown(model, &rows.data, Weighting::Chains(chains), label, progress)
    }

    /// Samples held in memory (`rows` x units, sweep-major then chain).
    pub fn from_rows(model: &ModelFile, rows: &[u8], chains: usize, label: &str) -> Result<Self> {
        Self::weighted_shown(model, rows, Weighting::Chains(chains), label, false)
    }

    /// Annealer samples: a dimod SampleSet JSON or a CSV file (as `calo4p qa import` reads
    /// them), each distinct row weighted by its `num_occurrences`.
    pub fn annealer(model: &ModelFile, imported: &Imported, label: &str) -> Result<Self> {
        Self::annealer_shown(model, imported, label, false)
    }

    fn annealer_shown(model: &ModelFile, imported: &Imported, label: &str, progress: bool) -> Result<Self> {
        let t = &imported.table;
        t.check_weights(label)?;
        let n = model.num_units();
        let mut rows = vec![0u8; t.num_rows() * n];
        for (r, row) in rows.chunks_exact_mut(n.max(1)).enumerate() {
            t.row(r, row);
        }
        let weighting = Weighting::Counts { weight: &t.weight, effective: t.effective_size() };
        Self::weighted_shown(model, &rows, weighting, label, progress)
    }

    /// Moments, effective sample sizes and (up to [`MAX_PAIRWISE_UNITS`]) all pairwise
    /// moments of byte rows, from bit columns by popcount, statistics shared among the cores;
    /// `progress` shows a bar on standard error.
    fn weighted_shown(
        model: &ModelFile,
        rows: &[u8],
        weighting: Weighting<'_>,
        label: &str,
        progress: bool,
    ) -> Result<Self> {
        let n = model.num_units();
        let count = rows.len() / n.max(1);
        let (chains, weight) = match weighting {
            Weighting::Chains(chains) => (chains, None),
            Weighting::Counts { weight, .. } => (1, Some(weight)),
        };
        if chains == 0 || !count.is_multiple_of(chains) {
            bail!("{label}: {count} samples do not split into {chains} chains of equal length");
        }
        let sweeps = count / chains;
        let cols = BitColumns::new(rows, n, weight);
        let total = cols.total_weight();
        if total < 2.0 {
            bail!("{label}: {total} sample(s) are too few to estimate anything");
        }
        let pairwise = n <= MAX_PAIRWISE_UNITS;
        let statistics = n + model.edges.len();
        let pair_work = if pairwise { n * (n + 1) / 2 } else { 0 };
        let bar = progress::bar(
            (statistics + pair_work) as u64,
            progress,
            &format!("{label}: moments and autocorrelations"),
            "statistics",
        );
        // Every statistic (unit means, then edges) as a bit column, its mean and τ_int.
        let per_stat = |s: usize, scratch: &mut Vec<u64>| -> (f64, f64) {
            let x: &[u64] = if s < n {
                cols.column(s)
            } else {
                let e = &model.edges[s - n];
                scratch.clear();
                scratch.extend(cols.column(e.i).iter().zip(cols.column(e.j)).map(|(a, b)| a & b));
                scratch
            };
            let mu = if s < n { cols.ones(s) } else { cols.both(model.edges[s - n].i, model.edges[s - n].j) } / total;
            let var = mu * (1.0 - mu);
            let ess = if var <= 0.0 {
                f64::NAN
            } else {
                match weighting {
                    // Annealer reads are independent draws.
                    Weighting::Counts { effective, .. } => effective,
                    Weighting::Chains(_) if sweeps < 4 => count as f64,
                    Weighting::Chains(_) => count as f64 / integrated_time_bits(x, chains, sweeps, mu),
                }
            };
            bar.inc(1);
            (mu, ess)
        };
        let per: Vec<(f64, f64)> = (0..statistics)
            .into_par_iter()
            .map_init(|| Vec::with_capacity(cols.words()), |b, s| per_stat(s, b))
            .collect();
        let second_moment = pairwise.then(|| {
            let upper: Vec<Vec<f64>> = (0..n)
                .into_par_iter()
                .map(|i| {
                    let row = cols.second_moment_row(i);
                    bar.inc((n - i) as u64);
                    row
                })
                .collect();
            let mut m = vec![0.0; n * n];
            for (i, row) in upper.iter().enumerate() {
                for (k, &v) in row.iter().enumerate() {
                    m[i * n + i + k] = v;
                    m[(i + k) * n + i] = v;
                }
            }
            m
        });
        bar.finish_and_clear();
        let states = (n <= 64).then(|| {
            let w = |r: usize| weight.map_or(1.0, |w| w[r]);
            let mut h: HashMap<u64, f64> = HashMap::new();
            for (r, row) in rows.chunks_exact(n.max(1)).enumerate() {
                let key = row.iter().enumerate().fold(0u64, |k, (i, &v)| k | (((v != 0) as u64) << i));
                *h.entry(key).or_insert(0.0) += w(r) / total;
            }
            h
        });
        let mean: Vec<f64> = per[..n].iter().map(|p| p.0).collect();
        let edge: Vec<f64> = per[n..].iter().map(|p| p.0).collect();
        let mut min_ess = f64::INFINITY;
        let se: Vec<f64> = per
            .iter()
            .map(|&(mu, ess)| {
                if ess.is_nan() {
                    return 0.0;
                }
                min_ess = min_ess.min(ess);
                (mu * (1.0 - mu) / ess).sqrt()
            })
            .collect();
        Ok(Self {
            label: label.to_owned(),
            mean,
            edge,
            se: Some(se),
            effective_samples: Some(min_ess),
            num_samples: Some(total),
            no_pairs: (!pairwise).then(|| {
                format!(
                    "{label}: {n} units would need {n} x {n} moment matrices ({:.1} GB per side); computed up to \
                     {MAX_PAIRWISE_UNITS} units",
                    8.0 * (n * n) as f64 / 1e9
                )
            }),
            second_moment,
            states,
            ln_z: None,
        })
    }
}

/// How the rows of a sample file count.
#[derive(Clone, Copy)]
enum Weighting<'a> {
    /// Equal weights; rows sweep by sweep with this many chains (autocorrelated).
    Chains(usize),
    /// Independent rows with these weights, worth `effective` draws.
    Counts { weight: &'a [f64], effective: f64 },
}

/// Frobenius distances between correlation matrices.
#[derive(Clone, Debug, Serialize)]
pub struct Frobenius {
    /// ‖C_A − C_B‖_F over all units.
    pub all: f64,
    /// Within each partition.
    pub per_partition: Vec<f64>,
    /// Between each partition pair (p, q), p < q.
    pub per_pair: Vec<(usize, usize, f64)>,
    /// Units left out because a side never varied them (correlation undefined).
    pub frozen_units: Vec<usize>,
}

/// What a comparison found.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Side A.
    pub a: String,
    /// Side B.
    pub b: String,
    /// Effective sample sizes.
    pub effective_samples: (Option<f64>, Option<f64>),
    /// max |Δ⟨z_i⟩|.
    pub mean_bias_max: f64,
    /// RMS of Δ⟨z_i⟩.
    pub mean_bias_rms: f64,
    /// max |Δ⟨z_i z_j⟩|.
    pub edge_bias_max: f64,
    /// RMS of Δ⟨z_i z_j⟩.
    pub edge_bias_rms: f64,
    /// Largest |z| over all statistics, when both sides have errors.
    pub z_max: Option<f64>,
    /// Fraction of statistics with |z| > 3.
    pub z_over_3: Option<f64>,
    /// Per-statistic z-scores (means then edges).
    #[serde(skip)]
    pub z: Option<Vec<f64>>,
    /// Per-unit mean bias (A − B).
    #[serde(skip)]
    pub mean_bias: Vec<f64>,
    /// Correlation-matrix distances.
    pub frobenius: Option<Frobenius>,
    /// Total variation distance between the empirical and exact distributions.
    pub total_variation: Option<f64>,
    /// Expected TV of as many independent draws from the exact distribution ([`tv_floor`]).
    pub total_variation_floor: Option<f64>,
    /// KL(empirical ‖ exact).
    pub kl_divergence: Option<f64>,
    /// What could not be computed, and why.
    pub notes: Vec<String>,
}

fn correlation(m: &[f64], n: usize) -> (Vec<f64>, Vec<bool>) {
    let var: Vec<f64> = (0..n).map(|i| m[i * n + i] * (1.0 - m[i * n + i])).collect();
    let frozen: Vec<bool> = var.iter().map(|&v| v <= 1e-300).collect();
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            if !frozen[i] && !frozen[j] {
                c[i * n + j] = (m[i * n + j] - m[i * n + i] * m[j * n + j]) / (var[i] * var[j]).sqrt();
            }
        }
    }
    (c, frozen)
}

fn frobenius(model: &ModelFile, a: &[f64], b: &[f64]) -> Frobenius {
    let n = model.num_units();
    let (ca, fa) = correlation(a, n);
    let (cb, fb) = correlation(b, n);
    let frozen: Vec<usize> = (0..n).filter(|&i| fa[i] || fb[i]).collect();
    let keep = |i: usize| !fa[i] && !fb[i];
    let norm = |rows: &dyn Fn(usize) -> bool, cols: &dyn Fn(usize) -> bool| -> f64 {
        let mut s = 0.0;
        for i in (0..n).filter(|&i| rows(i) && keep(i)) {
            for j in (0..n).filter(|&j| cols(j) && keep(j)) {
                let d = ca[i * n + j] - cb[i * n + j];
                s += d * d;
            }
        }
        s.sqrt()
    };
    let k = model.sizes().len();
    let part = |p: usize| move |i: usize| model.partition[i] as usize == p;
    Frobenius {
        all: norm(&|_| true, &|_| true),
        per_partition: (0..k).map(|p| norm(&part(p), &part(p))).collect(),
        per_pair: (0..k)
            .flat_map(|p| (p + 1..k).map(move |q| (p, q)))
            .map(|(p, q)| (p, q, norm(&part(p), &part(q))))
            .collect(),
        frozen_units: frozen,
    }
}

impl Comparison {
    /// Fail when any figure of the comparison is NaN or infinite (a NaN bias would pass every
    /// tolerance). Left out by design: effective sample sizes (an exact side's is infinite) and
    /// an infinite z, which is a difference where neither side varies (standard error 0); it
    /// fails every `--max-z`. A NaN z is still an error.
    pub fn require_finite(&self) -> Result<()> {
        let one = |x: Option<f64>| x.map_or(Vec::new(), |v| vec![v]);
        let z: Vec<f64> = self.z.iter().flatten().map(|&v| if v.is_infinite() { 0.0 } else { v }).collect();
        let (frob, parts, pairs) = match &self.frobenius {
            Some(f) => (vec![f.all], f.per_partition.clone(), f.per_pair.iter().map(|p| p.2).collect()),
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        crate::validation::finite::require(
            &format!("comparing {} with {}", self.a, self.b),
            &[
                ("unit mean bias", &self.mean_bias),
                ("unit means: RMS bias", &[self.mean_bias_rms]),
                ("edge moments: max |bias|", &[self.edge_bias_max]),
                ("edge moments: RMS bias", &[self.edge_bias_rms]),
                ("z", &z),
                ("total variation", &one(self.total_variation)),
                ("KL", &one(self.kl_divergence)),
                ("Frobenius", &frob),
                ("Frobenius per partition", &parts),
                ("Frobenius per partition pair", &pairs),
            ],
        )
    }
}

/// Compare side A with side B (B is usually the reference).
pub fn compare(model: &ModelFile, a: &Side, b: &Side, beta: f64) -> Comparison {
    let n = model.num_units();
    let mut notes = Vec::new();
    let mean_bias: Vec<f64> = a.mean.iter().zip(&b.mean).map(|(x, y)| x - y).collect();
    let edge_bias: Vec<f64> = a.edge.iter().zip(&b.edge).map(|(x, y)| x - y).collect();
    let (mean_bias_max, mean_bias_rms) = max_rms(mean_bias.iter().copied());
    let (edge_bias_max, edge_bias_rms) = max_rms(edge_bias.iter().copied());
    let z = match (&a.se, &b.se) {
        (Some(sa), Some(sb)) => Some(
            mean_bias
                .iter()
                .chain(&edge_bias)
                .zip(sa.iter().zip(sb))
                .map(|(d, (x, y))| {
                    let se = (x * x + y * y).sqrt();
                    if se > 0.0 {
                        d / se
                    } else if d.abs() < 1e-12 {
                        0.0
                    } else {
                        f64::INFINITY
                    }
                })
                .collect::<Vec<f64>>(),
        ),
        _ => {
            for s in [a, b].into_iter().filter(|s| s.se.is_none()) {
                notes.push(format!(
                    "z-scores: {} has no effective sample size (give samples, or statistics with `effective_samples`)",
                    s.label
                ));
            }
            None
        }
    };
    let z_max = z.as_ref().map(|z| z.iter().fold(0.0f64, |m, x| m.max(x.abs())));
    let z_over_3 = z.as_ref().map(|z| z.iter().filter(|x| x.abs() > 3.0).count() as f64 / z.len().max(1) as f64);
    let frobenius = match (&a.second_moment, &b.second_moment) {
        (Some(ma), Some(mb)) => Some(frobenius(model, ma, mb)),
        _ => {
            for why in [&a.no_pairs, &b.no_pairs].into_iter().flatten() {
                notes.push(format!("Frobenius metric: {why}"));
            }
            None
        }
    };
    let (mut total_variation, mut total_variation_floor, mut kl_divergence) = (None, None, None);
    let empirical_vs_exact = match (a.ln_z, b.ln_z, &a.states, &b.states) {
        (None, Some(ln_z), Some(states), _) => Some((ln_z, states, a.num_samples)),
        (Some(ln_z), None, _, Some(states)) => Some((ln_z, states, b.num_samples)),
        _ => None,
    };
    if let Some((ln_z, states, draws)) = empirical_vs_exact {
        let mut z = vec![0u8; n];
        let pairs: Vec<(f64, f64)> = states
            .iter()
            .map(|(&key, &q)| {
                for (i, zi) in z.iter_mut().enumerate() {
                    *zi = ((key >> i) & 1) as u8;
                }
                (q, (-beta * energy(model, &z) - ln_z).exp())
            })
            .collect();
        let covered: f64 = pairs.iter().map(|&(_, p)| p).sum();
        let tv: f64 = pairs.iter().map(|&(q, p)| (q - p).abs()).sum();
        total_variation = Some(0.5 * (tv + (1.0 - covered).max(0.0)));
        kl_divergence = Some(pairs.iter().map(|&(q, p)| q * (q / p).ln()).sum::<f64>());
        total_variation_floor = draws.map(|d| tv_floor(&pairs, d));
    } else if n <= MAX_ENUMERATED + 10 {
        notes.push("TV and KL: need samples on one side and exact answers on the other".into());
    }
    Comparison {
        a: a.label.clone(),
        b: b.label.clone(),
        effective_samples: (a.effective_samples, b.effective_samples),
        mean_bias_max,
        mean_bias_rms,
        edge_bias_max,
        edge_bias_rms,
        z_max,
        z_over_3,
        z,
        mean_bias,
        frobenius,
        total_variation,
        total_variation_floor,
        kl_divergence,
        notes,
    }
}

/// E|X − np| for X ~ Binomial(n, p), by de Moivre's closed form
/// 2 k C(n, k) p^k (1 − p)^(n − k + 1) with k = ⌊np⌋ + 1 (in logarithms; `n` real-valued).
pub fn binomial_mean_abs_deviation(n: f64, p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && n >= 1.0) {
        return 0.0;
    }
    let k = (n * p).floor() + 1.0;
    let ln_choose = libm::lgamma(n + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(n - k + 1.0);
    2.0 * k * (ln_choose + k * p.ln() + (n - k + 1.0) * (-p).ln_1p()).exp()
}

/// The total variation an exact sampler shows with `draws` independent samples:
/// E[TV] = ½ Σ_x E|p̂_x − p_x| = ½ Σ_x p_x · MAD(draws, p_x) / (draws p_x). The sum over all
/// 2^n states is estimated by importance sampling from the observed states (empirical
/// frequency q_x standing in for p_x), which is unbiased when the samples follow p. Correlated
/// samples raise the floor, so this is a lower bound for a Markov chain.
/// `pairs` holds (q_x, p_x) for every observed state.
pub fn tv_floor(pairs: &[(f64, f64)], draws: f64) -> f64 {
    0.5 * pairs.iter().map(|&(q, p)| q * binomial_mean_abs_deviation(draws, p) / (draws * p)).sum::<f64>()
}

/// Load a side named on the command line: `exact`, or any sample source
/// ([`crate::samples::open`]: `.npy` rows, annealer samples as dimod SampleSet JSON or `.csv`,
/// or a statistics file). `progress` shows bars on standard error.
pub fn load_side(
    model: &ModelFile,
    spec: &str,
    chains: usize,
    beta: f64,
    labels: LabelMode,
    progress: bool,
) -> Result<Side> {
    if spec == "exact" {
        return Side::exact(model, beta).context("exact reference");
    }
    let path = Path::new(spec);
    match samples::open(path, model, labels)? {
        Source::Rows(rows) => Side::from_sample_rows(model, &rows, chains, spec, progress),
        Source::Weighted(imported) => Side::annealer_shown(model, &imported, spec, progress),
        Source::Statistics(s) => Side::from_statistics(model, s, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    /// ln C(n, k) by summation, independent of lgamma.
    fn ln_choose(n: u64, k: u64) -> f64 {
        (0..k).map(|i| ((n - i) as f64).ln() - ((i + 1) as f64).ln()).sum()
    }

    #[test]
    fn mean_abs_deviation_matches_direct_summation() {
        for (n, p) in [(1u64, 0.3f64), (7, 0.5), (50, 0.013), (400, 0.25), (2000, 1e-4), (2000, 0.999)] {
            let direct: f64 = (0..=n)
                .map(|k| {
                    let pk = (ln_choose(n, k) + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp();
                    pk * (k as f64 - n as f64 * p).abs()
                })
                .sum();
            let got = binomial_mean_abs_deviation(n as f64, p);
            assert!((got - direct).abs() <= 1e-9 * direct.max(1e-12), "n {n} p {p}: {got} vs {direct}");
        }
        assert_eq!(binomial_mean_abs_deviation(10.0, 0.0), 0.0);
        assert_eq!(binomial_mean_abs_deviation(10.0, 1.0), 0.0);
    }

    /// Independent draws from a known distribution: the mean TV over many repetitions
    /// matches the floor estimated from each repetition's own draws, within 4 standard errors.
    #[test]
    fn floor_predicts_the_tv_of_independent_draws() {
        let states = 64usize;
        let w: Vec<f64> = (0..states).map(|x| (-0.08 * x as f64).exp()).collect();
        let total: f64 = w.iter().sum();
        let p: Vec<f64> = w.iter().map(|v| v / total).collect();
        let cdf: Vec<f64> = p
            .iter()
            .scan(0.0, |c, v| {
                *c += v;
                Some(*c)
            })
            .collect();
        let mut rng = rand_pcg::Pcg32::new(11, 0);
        let (draws, reps) = (300usize, 2000usize);
        let (mut tvs, mut floors) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let mut count = vec![0usize; states];
            for _ in 0..draws {
                let u = rng.next_u32() as f64 / 4294967296.0;
                count[cdf.iter().position(|&c| u < c).unwrap_or(states - 1)] += 1;
            }
            let pairs: Vec<(f64, f64)> =
                (0..states).filter(|&x| count[x] > 0).map(|x| (count[x] as f64 / draws as f64, p[x])).collect();
            let covered: f64 = pairs.iter().map(|&(_, p)| p).sum();
            tvs.push(0.5 * (pairs.iter().map(|&(q, p)| (q - p).abs()).sum::<f64>() + 1.0 - covered));
            floors.push(tv_floor(&pairs, draws as f64));
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let se = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() * (v.len() - 1)) as f64).sqrt()
        };
        let (t, f) = (mean(&tvs), mean(&floors));
        let tolerance = 4.0 * (se(&tvs).powi(2) + se(&floors).powi(2)).sqrt();
        assert!((t - f).abs() < tolerance, "mean TV {t} vs floor {f} (tolerance {tolerance})");
    }
}
