//! Simulated annealing: a β schedule driving block sweeps.
//!
//! Each sweep runs at one β from the [`Schedule`]; the update rule (heat bath or Metropolis)
//! is the arithmetic's ([`crate::Rule`]). For the fixed-point arithmetic every new β refills the
//! acceptance table, as a device would between sweeps.
//!
//! The annealer-like schedule follows a quantum annealer's programme: the anneal fraction
//! s(t) runs piecewise linearly through (time, s) points (for example a ramp to s_p, a pause
//! at s_p, then a fast quench to 1), and β(s) = β_max · s, the classical analogue of the
//! growing problem-to-driver energy ratio B(s)/A(s). A point at s = 0 is taken as a small
//! positive β (β_max · 1e-3) since β = 0 is no temperature.

use crate::arithmetic::Arithmetic;
use crate::gibbs::{BlockGibbs, Chains, SampleError};
use crate::sigmoid::LutError;
use core::fmt;
use rand_core::RngCore;

/// A β per sweep.
#[derive(Clone, Copy, Debug)]
pub enum Schedule<'a> {
    /// `sweeps` values from `from` to `to` in equal steps.
    Linear {
        /// First β.
        from: f64,
        /// Last β.
        to: f64,
        /// Number of sweeps.
        sweeps: usize,
    },
    /// `sweeps` values from `from` to `to` in equal ratios (`from`, `to` > 0).
    Geometric {
        /// First β.
        from: f64,
        /// Last β.
        to: f64,
        /// Number of sweeps.
        sweeps: usize,
    },
    /// One β per sweep, as given.
    Custom(&'a [f64]),
    /// An annealer programme: anneal fraction s through `(time, s)` points, one sweep per unit
    /// of time, β = `beta_max` · s.
    Annealer {
        /// β at s = 1.
        beta_max: f64,
        /// `(time, s)` with increasing times starting at 0, s in [0, 1].
        points: &'a [(f64, f64)],
    },
}

/// Why an anneal cannot run.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum AnnealError {
    /// The schedule is empty or has a non-finite or non-positive β.
    Schedule,
    /// The table could not be rebuilt for a β.
    Lut(LutError),
    /// Storage shapes.
    Sample(SampleError),
}

impl fmt::Display for AnnealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Schedule => f.write_str(
                "annealing schedule is empty, not increasing in time, or has a β that is not finite and positive",
            ),
            Self::Lut(e) => write!(f, "{e}"),
            Self::Sample(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for AnnealError {}

impl Schedule<'_> {
    /// Number of sweeps.
    pub fn len(&self) -> usize {
        match *self {
            Self::Linear { sweeps, .. } | Self::Geometric { sweeps, .. } => sweeps,
            Self::Custom(b) => b.len(),
            Self::Annealer { points, .. } => points.last().map_or(0, |&(t, _)| libm::floor(t) as usize + 1),
        }
    }

    /// True when the schedule has no sweep.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// β of sweep `k` (< `len()`).
    pub fn beta(&self, k: usize) -> f64 {
        let frac = |k: usize, n: usize| {
            if n <= 1 {
                1.0
            } else {
                k as f64 / (n - 1) as f64
            }
        };
        match *self {
            Self::Linear { from, to, sweeps } => from + (to - from) * frac(k, sweeps),
            Self::Geometric { from, to, sweeps } => from * libm::pow(to / from, frac(k, sweeps)),
            Self::Custom(b) => b[k],
            Self::Annealer { beta_max, points } => {
                let t = k as f64;
                let s = points
                    .windows(2)
                    .find(|w| t <= w[1].0)
                    .map(|w| {
                        let ((t0, s0), (t1, s1)) = (w[0], w[1]);
                        if t1 > t0 {
                            s0 + (s1 - s0) * (t - t0) / (t1 - t0)
                        } else {
                            s1
                        }
                    })
                    .unwrap_or_else(|| points.last().map_or(1.0, |p| p.1));
                beta_max * s.max(1e-3)
            }
        }
    }

    /// Check that every β is finite and positive and annealer times increase.
    pub fn validate(&self) -> Result<(), AnnealError> {
        if self.is_empty() {
            return Err(AnnealError::Schedule);
        }
        if let Self::Annealer { points, .. } = *self {
            let ok = points.first().is_some_and(|p| p.0 == 0.0)
                && points.windows(2).all(|w| w[0].0 <= w[1].0)
                && points.iter().all(|p| (0.0..=1.0).contains(&p.1));
            if !ok {
                return Err(AnnealError::Schedule);
            }
        }
        if (0..self.len()).map(|k| self.beta(k)).all(|b| b.is_finite() && b > 0.0) {
            Ok(())
        } else {
            Err(AnnealError::Schedule)
        }
    }
}

/// Run `schedule` on `chains`: one block sweep per β. `observe(k, beta, chains)` is called
/// after each sweep.
pub fn anneal<A, R, W>(
    sampler: &BlockGibbs<'_, W>,
    schedule: &Schedule<'_>,
    arith: &mut A,
    chains: &mut Chains<'_>,
    rngs: &mut [R],
    fields: &mut [A::Field],
    mut observe: impl FnMut(usize, f64, &Chains<'_>),
) -> Result<(), AnnealError>
where
    A: Arithmetic<Weight = W>,
    R: RngCore,
    W: Copy,
{
    schedule.validate()?;
    for k in 0..schedule.len() {
        let beta = schedule.beta(k);
        arith.set_beta(beta).map_err(AnnealError::Lut)?;
        sampler.sweep(arith, chains, rngs, fields).map_err(AnnealError::Sample)?;
        observe(k, beta, chains);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let lin = Schedule::Linear { from: 0.1, to: 1.0, sweeps: 10 };
        assert_eq!((lin.beta(0), lin.beta(9), lin.len()), (0.1, 1.0, 10));
        let geo = Schedule::Geometric { from: 0.1, to: 10.0, sweeps: 3 };
        assert!((geo.beta(1) - 1.0).abs() < 1e-12);
        // Ramp to s = 0.5 over 10 sweeps, pause 5, quench to 1 in 1.
        let pts = [(0.0, 0.0), (10.0, 0.5), (15.0, 0.5), (16.0, 1.0)];
        let ann = Schedule::Annealer { beta_max: 4.0, points: &pts };
        assert_eq!(ann.len(), 17);
        assert_eq!(ann.beta(5), 1.0);
        assert_eq!(ann.beta(12), 2.0);
        assert_eq!(ann.beta(16), 4.0);
        assert!(ann.validate().is_ok());
        assert_eq!(Schedule::Custom(&[1.0, f64::NAN]).validate(), Err(AnnealError::Schedule));
        assert_eq!(Schedule::Custom(&[]).validate(), Err(AnnealError::Schedule));
    }
}
