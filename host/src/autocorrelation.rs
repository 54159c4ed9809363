//! Autocorrelation of a statistic over Monte Carlo sweeps, estimated over an ensemble of
//! independent chains, and the integrated autocorrelation time.
//!
//! One estimator for every user: `sample` (the effective sample size of its statistics),
//! `validate` (z-scores with effective sample sizes) and `acf` (the command).
//!
//! The input is a series `f[t * chains + c]`: the value of chain `c` after sweep `t`,
//! `t = 0..t_max` (sweep-major, as [`crate::sample::SampleRun::magnetisation`] holds it).
//! Averages `<.>` are over the chains at fixed times, so a transient (chains started far from
//! equilibrium) shows up as a dependence on `t` instead of being averaged away:
//!
//! * `ACF(t, τ) = <f(t) f(t+τ)> − <f(t)><f(t+τ)>`, computed as the mean of the products of
//!   the deviations from the ensemble means at `t` and `t+τ` (the same number, more stable);
//! * `ACF_N(t, τ) = ACF(t, τ) / (<f(t)²> − <f(t)>²)`, normalised by the variance at `t`;
//! * `C(τ) = 1/(t_max − τ) Σ_{t=0}^{t_max−τ−1} ACF_N(t, τ)`, so `C(0) = 1`;
//! * `τ_int = 1 + 2 Σ_{τ=1}^{W} C(τ)` (the convention in which independent samples give 1 and
//!   N samples are worth N / τ_int independent ones), with Sokal's automatic window: the
//!   smallest `W ≥ 1` with `W ≥ c · τ_int(W)` (default `c = 5`). Its error is Madras and
//!   Sokal's `δτ_int = τ_int · sqrt(2 (2W + 1) / N)` with `N = chains · t_max` samples.
//!
//! A time at which every chain holds the same value (the ensemble is frozen there) has no
//! variance: its `ACF_N(t, ·)` is NaN, it is left out of `C(τ)` (which then averages over the
//! remaining times) and counted in [`Acf::frozen_times`]. If no time varies, it is an error.
//! Variances use the ensemble size `chains` as divisor (population moments, as numpy's
//! `var` and `mean` give).
//!
//! Memory: [`ensemble_acf`] keeps the full `t_max × (max_lag + 1)` matrices; [`ensemble_summary`]
//! computes the same `C(τ)` and `τ_int` without them (for long runs). Both compute the
//! autocorrelations of 256 times at once on the current rayon pool and sum them in time
//! order, so the numbers do not depend on the number of threads.

use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::Serialize;

/// Autocorrelation estimates of one ensemble of chains.
#[derive(Clone, Debug, Serialize)]
pub struct Acf {
    /// `ACF(t, τ)`: row `t` holds `τ = 0..=min(max_lag, t_max − 1 − t)` (rows near the end
    /// are shorter). Empty from [`ensemble_summary`].
    pub acf: Vec<Vec<f64>>,
    /// `ACF_N(t, τ)`, laid out as [`Acf::acf`]; NaN at frozen times.
    pub acf_n: Vec<Vec<f64>>,
    /// `C(τ)`, `τ = 0..=max_lag`.
    pub c: Vec<f64>,
    /// Integrated autocorrelation time `1 + 2 Σ_{τ=1}^{W} C(τ)`.
    pub tau_int: f64,
    /// Madras–Sokal standard error of `tau_int`.
    pub tau_int_error: f64,
    /// Sokal window `W`; equal to `max_lag` when the window did not close within the lags
    /// computed (then `tau_int` is a lower estimate: use more lags).
    pub window: usize,
    /// Ensemble mean `<f(t)>` per time.
    pub mean: Vec<f64>,
    /// Ensemble variance `<f(t)²> − <f(t)>²` per time.
    pub variance: Vec<f64>,
    /// Times at which all chains agreed (no variance), left out of `C(τ)`.
    pub frozen_times: usize,
}

impl Acf {
    /// Whether Sokal's window closed before the last lag computed.
    pub fn window_closed(&self) -> bool {
        self.window + 1 < self.c.len()
    }
}

/// Integrated autocorrelation time of a normalised autocorrelation `rho` (`rho[τ]`,
/// `rho[0] = 1` is not read) from `samples` samples: `(τ_int, error, W)` with
/// `τ_int = 1 + 2 Σ_{τ=1}^{W} ρ(τ)`, `W` the smallest lag `≥ 1` with `W ≥ c_window · τ_int(W)`
/// (or the last lag, `rho.len() − 1`, when none qualifies: then the window did not close),
/// and the Madras–Sokal error `τ_int · sqrt(2 (2W + 1) / samples)` (infinite for no samples).
/// With `rho.len() ≤ 1` the answer is `(1, 0, 0)`.
pub fn tau_int(rho: &[f64], c_window: f64, samples: usize) -> (f64, f64, usize) {
    if rho.len() <= 1 {
        return (1.0, 0.0, 0);
    }
    let mut tau = 1.0;
    let mut window = rho.len() - 1;
    for (w, &r) in rho.iter().enumerate().skip(1) {
        tau += 2.0 * r;
        if w as f64 >= c_window * tau {
            window = w;
            break;
        }
    }
    let error =
        if samples == 0 { f64::INFINITY } else { tau.abs() * (2.0 * (2 * window + 1) as f64 / samples as f64).sqrt() };
    (tau, error, window)
}

/// `ACF`, `ACF_N`, `C(τ)` and `τ_int` of `series` (`series[t * chains + c]`) for lags
/// `0..=max_lag`, with Sokal's window constant `c_window`. Errors: fewer than 2 chains or 2
/// times, a length that is not a multiple of `chains`, `max_lag` of 0 or not below the number
/// of times, a non-positive window constant, non-finite values, or no time with any variance.
pub fn ensemble_acf(series: &[f64], chains: usize, max_lag: usize, c_window: f64) -> Result<Acf> {
    estimate(series, chains, max_lag, c_window, true)
}

/// As [`ensemble_acf`] without the `ACF` and `ACF_N` matrices (left empty): memory of the
/// order of the series, not `t_max × max_lag`.
pub fn ensemble_summary(series: &[f64], chains: usize, max_lag: usize, c_window: f64) -> Result<Acf> {
    estimate(series, chains, max_lag, c_window, false)
}

/// Times whose autocorrelations are computed in parallel at once.
const TIMES_PER_BATCH: usize = 256;
/// Lags whose products [`dots`] sums side by side.
const LAGS_AT_ONCE: usize = 4;

/// `Σ_k here[k] there[l][k]` for each `l`, every sum in chain order from −0.0, as
/// `Iterator::sum` adds: the same numbers, with `L` independent additions in flight instead
/// of one. Not inlined: inlined into the caller, its sums went through the stack.
#[inline(never)]
fn dots<const L: usize>(here: &[f64], there: [&[f64]; L]) -> [f64; L] {
    let there = there.map(|t| &t[..here.len()]);
    let mut sum = [-0.0f64; L];
    for (k, &x) in here.iter().enumerate() {
        for (s, t) in sum.iter_mut().zip(&there) {
            *s += x * t[k];
        }
    }
    sum
}

fn estimate(series: &[f64], chains: usize, max_lag: usize, c_window: f64, keep: bool) -> Result<Acf> {
    if chains < 2 {
        bail!("autocorrelation over an ensemble needs at least 2 chains, got {chains}");
    }
    if !series.len().is_multiple_of(chains) {
        bail!("series of {} values is not a whole number of sweeps of {chains} chains", series.len());
    }
    let times = series.len() / chains;
    if times < 2 {
        bail!("autocorrelation needs at least 2 sweeps, got {times}");
    }
    if max_lag == 0 || max_lag >= times {
        bail!("max lag {max_lag} must be between 1 and the number of sweeps minus 1 ({})", times - 1);
    }
    if !(c_window.is_finite() && c_window > 0.0) {
        bail!("Sokal window constant c = {c_window} must be a finite positive number");
    }
    if let Some(at) = series.iter().position(|v| !v.is_finite()) {
        bail!("value {} (sweep {}, chain {}) is not finite", series[at], at / chains, at % chains);
    }
    let inv = 1.0 / chains as f64;
    let row = |t: usize| &series[t * chains..(t + 1) * chains];
    let mean: Vec<f64> = (0..times).map(|t| row(t).iter().sum::<f64>() * inv).collect();
    let dev: Vec<f64> = series.iter().enumerate().map(|(k, &v)| v - mean[k / chains]).collect();
    let variance: Vec<f64> =
        (0..times).map(|t| dev[t * chains..(t + 1) * chains].iter().map(|d| d * d).sum::<f64>() * inv).collect();
    // Exact test: rounding can leave a tiny positive variance where all values agree.
    let frozen: Vec<bool> = (0..times).map(|t| row(t).iter().all(|&v| v == row(t)[0])).collect();
    let frozen_times = frozen.iter().filter(|&&f| f).count();
    if frozen_times == times {
        bail!("the chains never differ from each other (all {times} sweeps frozen): no autocorrelation to estimate");
    }
    let mut sum = vec![0.0; max_lag + 1];
    let mut count = vec![0usize; max_lag + 1];
    let (mut acf, mut acf_n) = (Vec::new(), Vec::new());
    // ACF(t, ·) of a batch of times on every worker of the current rayon pool, then summed
    // into C(τ) in time order: the same sums, bit for bit, as one thread gives, in memory of
    // one batch (not t_max × max_lag).
    for batch in (0..times).step_by(TIMES_PER_BATCH) {
        let rows: Vec<Vec<f64>> = (batch..(batch + TIMES_PER_BATCH).min(times))
            .into_par_iter()
            .map(|t| {
                let at = |tau: usize| &dev[(t + tau) * chains..(t + tau + 1) * chains];
                let lags = max_lag.min(times - 1 - t) + 1;
                let mut row = Vec::with_capacity(lags);
                let mut tau = 0;
                while tau + LAGS_AT_ONCE <= lags {
                    let taus: [usize; LAGS_AT_ONCE] = std::array::from_fn(|l| tau + l);
                    row.extend(dots(at(0), taus.map(at)).map(|a| a * inv));
                    tau += LAGS_AT_ONCE;
                }
                row.extend((tau..lags).map(|tau| dots(at(0), [at(tau)])[0] * inv));
                row
            })
            .collect();
        for (t, a_row) in (batch..).zip(rows) {
            let n_row: Vec<f64> = a_row.iter().map(|&a| if frozen[t] { f64::NAN } else { a / variance[t] }).collect();
            if !frozen[t] {
                for (tau, &n) in n_row.iter().enumerate() {
                    sum[tau] += n;
                    count[tau] += 1;
                }
            }
            if keep {
                acf.push(a_row);
                acf_n.push(n_row);
            }
        }
    }
    if let Some(tau) = count.iter().position(|&n| n == 0) {
        bail!("no varying sweep has a partner at lag {tau}: the chains are frozen too often; lower the max lag");
    }
    let c: Vec<f64> = sum.iter().zip(&count).map(|(s, &n)| s / n as f64).collect();
    let (tau_int, tau_int_error, window) = tau_int(&c, c_window, series.len());
    Ok(Acf { acf, acf_n, c, tau_int, tau_int_error, window, mean, variance, frozen_times })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::normal;
    use rand_core::RngCore;

    fn ar1(chains: usize, sweeps: usize, phi: f64, seed: u64) -> Vec<f64> {
        let mut rng = rand_pcg::Pcg32::new(seed, 0);
        let s = (1.0 - phi * phi).sqrt();
        let mut x: Vec<f64> = (0..chains).map(|_| normal(&mut rng)).collect();
        let mut out = Vec::with_capacity(chains * sweeps);
        for _ in 0..sweeps {
            out.extend_from_slice(&x);
            for v in &mut x {
                *v = phi * *v + s * normal(&mut rng);
            }
        }
        out
    }

    #[test]
    fn tau_int_of_known_correlations() {
        // Independent samples: only rho(0); the window closes at 5 >= 5 * 1.
        let (t, e, w) = tau_int(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 5.0, 100);
        assert_eq!((t, w), (1.0, 5));
        assert!((e - (2.0 * 11.0 / 100.0f64).sqrt()).abs() < 1e-15);
        // Geometric rho: 1 + 2 Σ φ^τ up to the window.
        let phi: f64 = 0.5;
        let rho: Vec<f64> = (0..50).map(|k| phi.powi(k)).collect();
        let (t, _, w) = tau_int(&rho, 5.0, 1000);
        let want = 1.0 + 2.0 * (1..=w).map(|k| phi.powi(k as i32)).sum::<f64>();
        assert!((t - want).abs() < 1e-12 && w as f64 >= 5.0 * t && ((w - 1) as f64) < 5.0 * (t - 2.0 * rho[w]));
        // Window not closed: the last lag.
        assert_eq!(tau_int(&[1.0, 0.9, 0.9], 5.0, 10).2, 2);
        assert_eq!(tau_int(&[1.0], 5.0, 10), (1.0, 0.0, 0));
        assert!(tau_int(&[1.0, 0.0], 5.0, 0).1.is_infinite());
    }

    #[test]
    fn bernoulli_noise_has_no_correlation() {
        let (chains, sweeps, max_lag) = (200, 400, 20);
        let mut rng = rand_pcg::Pcg32::new(7, 0);
        let series: Vec<f64> = (0..chains * sweeps).map(|_| if rng.next_u32() & 1 == 1 { 1.0 } else { -1.0 }).collect();
        let acf = ensemble_acf(&series, chains, max_lag, 5.0).unwrap();
        assert_eq!(acf.c[0], 1.0);
        for tau in 1..=max_lag {
            // C(τ) averages sweeps − τ ensemble correlations, each with SE ≈ 1/sqrt(chains);
            // the terms of different t are uncorrelated, so SE(C) ≈ 1/sqrt(chains (sweeps − τ)).
            let se = 1.0 / ((chains * (sweeps - tau)) as f64).sqrt();
            assert!(acf.c[tau].abs() < 4.0 * se, "C({tau}) = {} vs SE {se}", acf.c[tau]);
        }
        assert!((acf.tau_int - 1.0).abs() < 4.0 * acf.tau_int_error.max(0.01), "{}", acf.tau_int);
        assert!(acf.window_closed());
    }

    #[test]
    fn ar1_gives_its_tau_int() {
        for (phi, seed) in [(0.9, 1u64), (0.5, 2)] {
            let want = (1.0 + phi) / (1.0 - phi);
            let acf = ensemble_acf(&ar1(200, 2000, phi, seed), 200, 150, 5.0).unwrap();
            assert!(acf.window_closed());
            assert!(
                (acf.tau_int - want).abs() < 4.0 * acf.tau_int_error,
                "phi {phi}: {} ± {} vs {want}",
                acf.tau_int,
                acf.tau_int_error
            );
            for tau in 1..5 {
                assert!((acf.c[tau] - phi.powi(tau as i32)).abs() < 0.02, "C({tau}) = {}", acf.c[tau]);
            }
        }
    }

    #[test]
    fn summary_matches_full() {
        let s = ar1(10, 60, 0.7, 3);
        let (a, b) = (ensemble_acf(&s, 10, 30, 5.0).unwrap(), ensemble_summary(&s, 10, 30, 5.0).unwrap());
        assert_eq!(a.c, b.c);
        assert_eq!((a.tau_int, a.window), (b.tau_int, b.window));
        assert!(b.acf.is_empty() && a.acf.len() == 60 && a.acf[0].len() == 31 && a.acf[59].len() == 1);
    }

    #[test]
    fn frozen_times_are_left_out() {
        let mut s = ar1(4, 20, 0.5, 4);
        s[12..16].fill(0.25); // sweep 3 frozen
        let a = ensemble_acf(&s, 4, 5, 5.0).unwrap();
        assert_eq!(a.frozen_times, 1);
        assert!(a.acf_n[3].iter().all(|v| v.is_nan()) && a.acf[3].iter().all(|&v| v == 0.0));
        assert!(a.c.iter().all(|v| v.is_finite()) && a.c[0] == 1.0);
    }

    /// The side-by-side sums are `Iterator::sum`'s, bit for bit: signed zeros included.
    #[test]
    fn dots_add_as_iterator_sum() {
        let series = ar1(37, 6, 0.7, 9);
        let mut rows: Vec<&[f64]> = series.chunks(37).collect();
        let zeros = [-0.0; 37];
        rows.push(&zeros);
        for here in &rows {
            let want: Vec<u64> =
                rows.iter().map(|t| here.iter().zip(*t).map(|(x, y)| x * y).sum::<f64>().to_bits()).collect();
            let got: Vec<u64> = rows
                .chunks_exact(7)
                .flat_map(|t| dots(here, [t[0], t[1], t[2], t[3], t[4], t[5], t[6]]))
                .map(f64::to_bits)
                .collect();
            assert_eq!(got, want);
            assert_eq!(dots(here, [rows[6]])[0].to_bits(), want[6]);
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let s = ar1(4, 10, 0.5, 5);
        let err = |r: Result<Acf>| r.unwrap_err().to_string();
        assert!(err(ensemble_acf(&s, 1, 2, 5.0)).contains("at least 2 chains"));
        assert!(err(ensemble_acf(&s[..4], 4, 1, 5.0)).contains("at least 2 sweeps"));
        assert!(err(ensemble_acf(&s[..39], 4, 2, 5.0)).contains("whole number"));
        assert!(err(ensemble_acf(&s, 4, 10, 5.0)).contains("max lag 10"));
        assert!(err(ensemble_acf(&s, 4, 0, 5.0)).contains("max lag 0"));
        assert!(err(ensemble_acf(&s, 4, 2, 0.0)).contains("window constant"));
        assert!(err(ensemble_acf(&[0.5; 40], 4, 2, 5.0)).contains("never differ"));
        let mut nan = s.clone();
        nan[9] = f64::NAN;
        assert!(err(ensemble_acf(&nan, 4, 2, 5.0)).contains("sweep 2, chain 1"));
        let mut one = vec![0.5; 40];
        one[39] = 1.0; // only the last sweep varies: no partner at lag 1
        assert!(err(ensemble_acf(&one, 4, 1, 5.0)).contains("lag 1"));
    }
}
