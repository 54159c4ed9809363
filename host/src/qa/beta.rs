//! The effective inverse temperature β_eff of weighted samples, two ways.
//!
//! Samples are taken to follow p(z) ∝ exp(-β E(z)) with E the model's energy at β = 1.
//!
//! * **Energy moment matching** solves ⟨E⟩_samples = ⟨E⟩_model(β) by
//!   β ← β - η (⟨E⟩_samples - ⟨E⟩_model(β)) / Var_model(E), a Newton step (d⟨E⟩/dβ =
//!   -Var(E)) with an adaptive factor η: halved when the residual did not shrink (an
//!   overshoot, or noise), grown back towards 1 otherwise, and each step bounded to [-β/2, +β]. The model side is
//!   exact enumeration for small models and block Gibbs sampling otherwise. It stops when the
//!   residual is within a fraction of its standard error √(se_samples² + se_model²) (a
//!   quarter for exact answers, one for sampled ones), after the sampled side's standard
//!   error has been driven below half the samples' by doubling the sweeps.
//! * **Maximum pseudo-likelihood** maximises Σ_r w_r Σ_i ln σ(β s_ri h_ri), s = 2z - 1,
//!   h_i = b_i + Σ_j W_ij z_j, which is concave in β (as `maximum_pseudolikelihood_temperature`
//!   of dwave-system does), by Newton's method with step halving.
//!
//! Uncertainties are bootstrap standard deviations: every row's weight is redrawn as a Poisson
//! count (mean = its count, or its weight times Poisson(1) for fractional weights), and each
//! replicate is solved by one Newton step from the estimate, with the model's curve fixed;
//! the sampled model side's own standard error is added in quadrature. The bootstrap treats
//! rows as independent draws, as an annealer's reads are; for rows of one Markov chain it
//! understates the error by the chain's autocorrelation.

use crate::exact::{enumerated_units, exact};
use crate::model_file::ModelFile;
use crate::sample::{self, Engine, SampleConfig};
use crate::samples::table::SampleTable;
use anyhow::{bail, Context, Result};
use rand_core::{RngCore, SeedableRng};
use serde::Serialize;

/// Most enumerated units for which the model side of moment matching is exact by default.
pub const EXACT_LIMIT: usize = 24;

/// Where ⟨E⟩_model(β) comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ModelSide {
    /// Exact for models whose enumeration is small, block Gibbs otherwise.
    #[default]
    Auto,
    /// Exact enumeration.
    Exact,
    /// Block Gibbs sampling (float engine).
    Gibbs,
}

/// Settings of an estimation.
#[derive(Clone, Debug)]
pub struct BetaConfig {
    /// Bootstrap replicates (0: none).
    pub bootstrap: usize,
    /// Seed of the bootstrap and of the Gibbs model side.
    pub seed: u64,
    /// Model side of moment matching.
    pub model_side: ModelSide,
    /// Gibbs chains per evaluation.
    pub chains: usize,
    /// Gibbs sweeps per evaluation (doubled while the model side is noisier than the data).
    pub sweeps: usize,
    /// Gibbs burn-in sweeps.
    pub burn_in: usize,
    /// Starting β of moment matching.
    pub start: f64,
    /// Most iterations of moment matching.
    pub max_iterations: usize,
    /// Most rows pseudo-likelihood uses (a weighted subsample beyond).
    pub max_rows: usize,
    /// Show progress bars.
    pub progress: bool,
}

impl Default for BetaConfig {
    fn default() -> Self {
        Self {
            bootstrap: 200,
            seed: 0,
            model_side: ModelSide::Auto,
            chains: 64,
            sweeps: 500,
            burn_in: 200,
            start: 1.0,
            max_iterations: 50,
            max_rows: 20_000,
            progress: false,
        }
    }
}

/// One estimate.
#[derive(Clone, Debug, Serialize)]
pub struct Estimate {
    /// β_eff.
    pub beta: f64,
    /// Bootstrap standard deviation (with the sampled model side's error), if computed.
    pub std_error: Option<f64>,
    /// Iterations taken.
    pub iterations: usize,
    /// Whether the stopping rule was met.
    pub converged: bool,
    /// How the estimate was made.
    pub method: String,
}

/// One step of moment matching, for the record.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// β evaluated.
    pub beta: f64,
    /// ⟨E⟩_model(β).
    pub model_energy: f64,
    /// Its standard error (0 when exact).
    pub model_energy_se: f64,
    /// ⟨E⟩_samples - ⟨E⟩_model(β).
    pub residual: f64,
}

/// Both estimates and the data they came from.
#[derive(Clone, Debug, Serialize)]
pub struct BetaReport {
    /// Weighted mean energy of the samples (β = 1 energy).
    pub sample_energy_mean: f64,
    /// Its standard error.
    pub sample_energy_se: f64,
    /// Rows and total weight.
    pub rows: usize,
    /// Σ weights.
    pub total_weight: f64,
    /// Energy moment matching.
    pub moment_matching: Option<Estimate>,
    /// The iterations of moment matching.
    pub moment_matching_steps: Vec<Step>,
    /// Maximum pseudo-likelihood.
    pub pseudo_likelihood: Option<Estimate>,
}

struct Rng(rand_pcg::Pcg64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(rand_pcg::Pcg64::seed_from_u64(seed))
    }
    fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn poisson(&mut self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return 0.0;
        }
        if lambda < 30.0 {
            let limit = (-lambda).exp();
            let (mut k, mut p) = (0.0, self.uniform());
            while p > limit {
                k += 1.0;
                p *= self.uniform();
            }
            k
        } else {
            let (u1, u2) = (self.uniform().max(f64::MIN_POSITIVE), self.uniform());
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (lambda + lambda.sqrt() * z).round().max(0.0)
        }
    }
    /// Bootstrap weights of one replicate.
    fn resample(&mut self, weight: &[f64], counts: bool) -> Vec<f64> {
        weight.iter().map(|&w| if counts { self.poisson(w) } else { w * self.poisson(1.0) }).collect()
    }
}

fn weighted_mean_var(x: &[f64], w: &[f64]) -> (f64, f64) {
    let total: f64 = w.iter().sum();
    let mean = x.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / total;
    let var = x.iter().zip(w).map(|(x, w)| w * (x - mean).powi(2)).sum::<f64>() / total;
    (mean, var)
}

fn std_dev(x: &[f64]) -> f64 {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len().max(2) - 1) as f64).sqrt()
}

/// ⟨E⟩_model(β), Var_model(E) and the standard error of the first.
struct ModelEnergy<'a> {
    model: &'a ModelFile,
    exact: bool,
    config: &'a BetaConfig,
    sweeps: usize,
    calls: u64,
}

impl ModelEnergy<'_> {
    fn at(&mut self, beta: f64) -> Result<(f64, f64, f64)> {
        if self.exact {
            let ex = exact(self.model, beta)?;
            return Ok((ex.energy_mean, ex.energy_variance, 0.0));
        }
        self.calls += 1;
        let c = self.config;
        let mut cfg = SampleConfig::new(Engine::Float, c.chains, self.sweeps, c.burn_in, c.seed ^ self.calls << 32);
        cfg.beta = beta;
        cfg.keep_samples = true;
        cfg.progress = c.progress;
        let run = sample::run(self.model, &cfg).with_context(|| format!("block Gibbs at beta {beta}"))?;
        let n = self.model.num_units();
        let table = SampleTable::from_rows(&run.samples, n, None)?;
        let energies = table.energies(self.model);
        // Batch means over chains: rows are sweep-major, then chain.
        let mut chain_mean = vec![0.0; c.chains];
        for (r, e) in energies.iter().enumerate() {
            chain_mean[r % c.chains] += e / self.sweeps as f64;
        }
        let mean = chain_mean.iter().sum::<f64>() / c.chains as f64;
        let var = energies.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / energies.len() as f64;
        Ok((mean, var, std_dev(&chain_mean) / (c.chains as f64).sqrt()))
    }
}

/// Energy moment matching (see the module documentation).
pub fn moment_matching(
    table: &SampleTable,
    model: &ModelFile,
    config: &BetaConfig,
    energies: &[f64],
) -> Result<(Estimate, Vec<Step>)> {
    let (e_data, var_data) = weighted_mean_var(energies, &table.weight);
    let se_data = (var_data / table.effective_size()).sqrt();
    let exact_side = match config.model_side {
        ModelSide::Exact => true,
        ModelSide::Gibbs => false,
        ModelSide::Auto => enumerated_units(model).len() <= EXACT_LIMIT,
    };
    let mut side = ModelEnergy { model, exact: exact_side, config, sweeps: config.sweeps, calls: 0 };
    let kappa = if exact_side { 0.25 } else { 1.0 };
    let mut beta = config.start;
    let mut eta: f64 = 1.0;
    let mut last_residual: Option<f64> = None;
    let mut steps = Vec::new();
    let mut converged = false;
    let mut last = (beta, 0.0, 1.0, 0.0);
    for _ in 0..config.max_iterations {
        let (m, var, se_m) = side.at(beta)?;
        last = (beta, m, var, se_m);
        let r = e_data - m;
        steps.push(Step { beta, model_energy: m, model_energy_se: se_m, residual: r });
        if var.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            bail!("the model's energy has no variance at beta {beta}: moment matching cannot move");
        }
        let tol = kappa * (se_data.powi(2) + se_m.powi(2)).sqrt();
        if r.abs() <= tol.max(1e-12 * m.abs().max(1.0)) {
            if exact_side || se_m <= se_data / 2.0 || side.sweeps >= 64 * config.sweeps {
                converged = true;
                break;
            }
            // Within the noise of the model side: make it less noisy and look again.
            side.sweeps *= 2;
            continue;
        }
        if let Some(prev) = last_residual {
            eta = if r.abs() >= prev.abs() { eta * 0.5 } else { (eta * 1.5).min(1.0) };
        }
        last_residual = Some(r);
        let step = (-eta * r / var).clamp(-beta / 2.0, beta);
        beta += step;
    }
    let (beta_last, m, var, se_m) = last;
    // The remaining residual, removed by a last Newton step along the model's curve.
    let beta_hat = beta_last - (e_data - m) / var;
    let std_error = (config.bootstrap > 0).then(|| {
        let mut rng = Rng::new(config.seed);
        let counts = table.integer_weights();
        let replicates: Vec<f64> = (0..config.bootstrap)
            .map(|_| {
                let w = rng.resample(&table.weight, counts);
                let (e, _) = weighted_mean_var(energies, &w);
                beta_hat + (e_data - e) / var
            })
            .collect();
        (std_dev(&replicates).powi(2) + (se_m / var).powi(2)).sqrt()
    });
    let method = if exact_side {
        "energy moment matching, model side exact".to_owned()
    } else {
        format!(
            "energy moment matching, model side block Gibbs ({} chains, up to {} sweeps)",
            config.chains, side.sweeps
        )
    };
    Ok((Estimate { beta: beta_hat, std_error, iterations: steps.len(), converged, method }, steps))
}

/// s_i h_i of every unit of every row pseudo-likelihood uses, with the rows' weights.
fn aligned_fields(table: &SampleTable, model: &ModelFile, config: &BetaConfig) -> (Vec<f64>, Vec<f64>) {
    let n = model.num_units();
    let mut adj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for e in &model.edges {
        adj[e.i].push((e.j, e.w));
        adj[e.j].push((e.i, e.w));
    }
    let (rows, weight): (Vec<usize>, Vec<f64>) = if table.num_rows() > config.max_rows {
        // A weighted subsample with replacement, as counts.
        let mut rng = Rng::new(config.seed ^ 0x5eed);
        let mut cum = Vec::with_capacity(table.num_rows());
        let mut acc = 0.0;
        for w in &table.weight {
            acc += w;
            cum.push(acc);
        }
        let mut count = vec![0.0; table.num_rows()];
        for _ in 0..config.max_rows {
            let u = rng.uniform() * acc;
            let r = cum.partition_point(|&c| c <= u).min(table.num_rows() - 1);
            count[r] += 1.0;
        }
        count.iter().enumerate().filter(|(_, &c)| c > 0.0).map(|(r, &c)| (r, c)).unzip()
    } else {
        table.weight.iter().enumerate().filter(|(_, &w)| w > 0.0).map(|(r, &w)| (r, w)).unzip()
    };
    let mut x = Vec::with_capacity(rows.len() * n);
    let mut z = vec![0u8; n];
    for &r in &rows {
        table.row(r, &mut z);
        for i in 0..n {
            let h = model.bias[i] + adj[i].iter().map(|&(j, w)| w * z[j] as f64).sum::<f64>();
            x.push(if z[i] == 1 { h } else { -h });
        }
    }
    (x, weight)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn ln_sigmoid(x: f64) -> f64 {
    if x > 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

/// Per-row gradient and curvature of the log pseudo-likelihood at `beta`.
fn row_derivatives(x: &[f64], n: usize, beta: f64) -> (Vec<f64>, Vec<f64>) {
    x.chunks_exact(n)
        .map(|row| {
            row.iter().fold((0.0, 0.0), |(g, h), &x| {
                let p = sigmoid(-beta * x);
                (g + x * p, h + x * x * p * (1.0 - p))
            })
        })
        .unzip()
}

/// Maximum pseudo-likelihood (see the module documentation).
pub fn pseudo_likelihood(table: &SampleTable, model: &ModelFile, config: &BetaConfig) -> Result<Estimate> {
    let n = model.num_units();
    let (x, weight) = aligned_fields(table, model, config);
    if x.iter().all(|&v| v >= 0.0) {
        bail!(
            "every sample agrees with every local field (all units at their conditional mode), so the \
             pseudo-likelihood grows without bound in beta: no finite estimate"
        );
    }
    if x.iter().all(|&v| v <= 0.0) {
        bail!("every sample opposes every local field: the pseudo-likelihood is maximal at beta -> -infinity");
    }
    let objective = |beta: f64| -> f64 {
        x.chunks_exact(n).zip(&weight).map(|(row, w)| w * row.iter().map(|&v| ln_sigmoid(beta * v)).sum::<f64>()).sum()
    };
    let mut beta = config.start;
    let mut f = objective(beta);
    let mut converged = false;
    let mut iterations = 0;
    while iterations < 100 {
        iterations += 1;
        let (g, h) = row_derivatives(&x, n, beta);
        let grad: f64 = g.iter().zip(&weight).map(|(g, w)| g * w).sum();
        let curv: f64 = h.iter().zip(&weight).map(|(h, w)| h * w).sum();
        if curv.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            bail!("the pseudo-likelihood has no curvature at beta {beta}");
        }
        let mut step = grad / curv;
        // Newton on a concave function, halved until the objective does not fall.
        let mut next = beta + step;
        let mut f_next = objective(next);
        while f_next < f && step.abs() > 1e-15 {
            step /= 2.0;
            next = beta + step;
            f_next = objective(next);
        }
        beta = next;
        f = f_next;
        if step.abs() <= 1e-12 * beta.abs().max(1.0) {
            converged = true;
            break;
        }
    }
    let std_error = (config.bootstrap > 0).then(|| {
        let (g, h) = row_derivatives(&x, n, beta);
        let mut rng = Rng::new(config.seed.wrapping_add(1));
        let counts = weight.iter().all(|w| w.fract() == 0.0);
        let replicates: Vec<f64> = (0..config.bootstrap)
            .map(|_| {
                let w = rng.resample(&weight, counts);
                let grad: f64 = g.iter().zip(&w).map(|(g, w)| g * w).sum();
                let curv: f64 = h.iter().zip(&w).map(|(h, w)| h * w).sum();
                beta + grad / curv
            })
            .collect();
        std_dev(&replicates)
    });
    let rows = weight.len();
    let method = if table.num_rows() > config.max_rows {
        format!("maximum pseudo-likelihood on a weighted subsample of {} draws ({rows} distinct rows)", config.max_rows)
    } else {
        "maximum pseudo-likelihood".to_owned()
    };
    Ok(Estimate { beta, std_error, iterations, converged, method })
}

/// Which estimates to make.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Method {
    /// Both.
    #[default]
    Both,
    /// Energy moment matching only.
    Moments,
    /// Maximum pseudo-likelihood only.
    Pseudolikelihood,
}

/// Estimate β_eff of `table`'s rows under `model`.
pub fn estimate(table: &SampleTable, model: &ModelFile, config: &BetaConfig, method: Method) -> Result<BetaReport> {
    if !(config.start.is_finite() && config.start > 0.0) {
        bail!("the starting beta {} is not a finite positive number", config.start);
    }
    if config.max_rows < 2 {
        bail!("--max-rows {}: pseudo-likelihood needs at least 2 rows", config.max_rows);
    }
    let energies = table.energies(model);
    crate::validation::finite::require("the samples' energies E(z)", &[("row", &energies)])?;
    let (mean, var) = weighted_mean_var(&energies, &table.weight);
    let pl = match method {
        Method::Both | Method::Pseudolikelihood => Some(pseudo_likelihood(table, model, config)?),
        Method::Moments => None,
    };
    // One energy (one row, or rows of equal energy) has no spread (pseudo-likelihood, asked
    // first, names the case of rows at their conditional modes): the bootstrap would report
    // an error of 0 and moment matching a β fitted to a single value.
    let positive: Vec<f64> = energies.iter().zip(&table.weight).filter(|(_, w)| **w > 0.0).map(|(e, _)| *e).collect();
    if positive.iter().all(|e| *e == positive[0]) {
        bail!(
            "{} row(s) of positive weight, all of energy {}: beta_eff needs samples of at least 2 distinct energies \
             (one energy fits any beta's mean only by chance, and its bootstrap error would read 0)",
            positive.len(),
            positive.first().copied().unwrap_or(f64::NAN)
        );
    }
    let (mm, steps) = match method {
        Method::Both | Method::Moments => {
            let (e, s) = moment_matching(table, model, config, &energies)?;
            (Some(e), s)
        }
        Method::Pseudolikelihood => (None, Vec::new()),
    };
    let report = BetaReport {
        sample_energy_mean: mean,
        sample_energy_se: (var / table.effective_size()).sqrt(),
        rows: table.num_rows(),
        total_weight: table.total_weight(),
        moment_matching: mm,
        moment_matching_steps: steps,
        pseudo_likelihood: pl,
    };
    let estimates: Vec<f64> = [&report.moment_matching, &report.pseudo_likelihood]
        .into_iter()
        .flatten()
        .flat_map(|e| [Some(e.beta), e.std_error])
        .flatten()
        .collect();
    crate::validation::finite::require(
        "beta_eff",
        &[("<E>", &[report.sample_energy_mean, report.sample_energy_se]), ("beta and its error", &estimates)],
    )?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_mean_and_variance() {
        let mut rng = Rng::new(3);
        for lambda in [0.5, 1.0, 7.0, 50.0] {
            let x: Vec<f64> = (0..200_000).map(|_| rng.poisson(lambda)).collect();
            let m = x.iter().sum::<f64>() / x.len() as f64;
            let v = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64;
            assert!((m - lambda).abs() < 0.02 * lambda.max(1.0), "{lambda}: mean {m}");
            assert!((v - lambda).abs() < 0.05 * lambda.max(1.0), "{lambda}: variance {v}");
        }
    }
}
