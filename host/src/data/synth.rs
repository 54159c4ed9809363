//! A built-in shower generator: parameterised calorimeter showers in the challenge
//! geometries, the default data for the demo and the tests.
//!
//! # Model
//!
//! Each shower is built from the mean energy of every voxel, computed in closed form from
//! a longitudinal and a radial profile, and then fluctuated voxel by voxel.
//!
//! * **Incident energies.** Data set 1 uses its discrete energies `2^8 ... 2^22` MeV
//!   (256 MeV to 4.2 TeV), drawn uniformly; data sets 2 and 3 draw `E` log-uniformly in
//!   1 GeV ... 1 TeV, as the challenge files do.
//! * **Longitudinal profile** (Grindhammer and Peters, "The parameterized simulation of
//!   electromagnetic showers in homogeneous and sampling calorimeters", hep-ex/0001020,
//!   the GFLASH model, with the constants of Geant4's `GFlashHomoShowerTuning`; also
//!   Longo and Sestili, NIM 128 (1975) 283). The energy profile
//!   in depth `t` (radiation lengths) is a Gamma density
//!   `dE/dt = E beta (beta t)^(alpha-1) e^(-beta t) / Gamma(alpha)` with
//!   `T = (alpha - 1)/beta` the depth of the maximum. Per shower, `ln T` and `ln alpha`
//!   are drawn as correlated Gaussians with the GFLASH moments, where `y = E / E_c`:
//!   `<ln T> = ln(ln y - 0.812)`, `sigma(ln T) = 1 / (-1.4 + 1.26 ln y)`,
//!   `<ln alpha> = ln(0.81 + (0.458 + 2.26 / Z) ln y)`,
//!   `sigma(ln alpha) = 1 / (-0.58 + 0.86 ln y)`, correlation `0.705 - 0.023 ln y`.
//!   So the maximum moves as `ln E`. A photon first converts after an exponential depth
//!   of mean `9/7 X0` (PDG, "Passage of particles through matter"), an electron starts
//!   at once. A layer receives the difference of the regularised incomplete Gamma
//!   function at its two boundaries; what lies behind the last layer leaks out.
//! * **Radial profile** (same reference, eqs. for the homogeneous media): a core plus a
//!   tail, `f(r) = p 2r R_C^2/(r^2+R_C^2)^2 + (1-p) 2r R_T^2/(r^2+R_T^2)^2` with `r` in
//!   Moliere radii, whose integral `p r^2/(r^2+R_C^2) + (1-p) r^2/(r^2+R_T^2)` gives each
//!   radial bin exactly. With `tau = t / T` at the layer's centre, `E` in GeV:
//!   `R_C = z1 + z2 tau`, `z1 = 0.0251 + 0.00319 ln E`, `z2 = 0.1162 - 0.000381 Z`;
//!   `R_T = k1 (e^(k3 (tau - k2)) + e^(k4 (tau - k2)))`, `k1 = 0.659 - 0.00309 Z`,
//!   `k2 = 0.645`, `k3 = -2.59`, `k4 = 0.3585 + 0.0412 ln E`;
//!   `p = p1 exp((p2 - tau)/p3 - exp((p2 - tau)/p3))`, `p1 = 2.632 - 0.00094 Z`,
//!   `p2 = 0.401 + 0.00187 Z`, `p3 = 1.313 - 0.0686 ln E`. The angular bins of a ring
//!   share its energy equally (the particle enters on the axis).
//! * **Correlated fluctuations.** Besides the correlated `(ln T, ln alpha)` pair, each
//!   shower's radial scale is multiplied by a log-normal factor (8 %) common to all its
//!   layers, and its whole energy by `1 + c N(0, 1)` (the constant term `c`).
//! * **Sampling fraction and sampling fluctuations.** Only a fraction `f_s` of the energy
//!   is seen by the active medium, in independent "spots": a voxel with mean visible
//!   energy `f_s mu` collects a Poisson number of spots, each with an exponential energy,
//!   i.e. a compound Poisson-Gamma energy whose relative variance makes the total
//!   resolution `a / sqrt(E / GeV)` (`a` the stochastic term; Fabjan and Gianotti,
//!   Rev. Mod. Phys. 75 (2003) 1243). Energies are then calibrated back by `1 / f_s`, so
//!   `E_tot / E_inc` is near one for a contained shower, as in the challenge files.
//!   Voxels with many spots use the Gaussian limit of the same distribution.
//! * **Threshold.** Voxels below 15.15 keV (calibrated; the challenge's `0.5 keV / 0.033`
//!   read-out threshold) are set to zero, which gives the files their sparsity.
//! * **Pions (`ds1-pions`).** A hadron-like variant in units of interaction lengths: the
//!   pion deposits minimum-ionising energy until its first interaction, at an exponential
//!   depth of mean 1 lambda; then a fraction `f_em = 1 - (E / 1 GeV)^(k-1)`, `k = 0.82`
//!   (Groom, NIM A 572 (2007) 633; Gabriel et al., NIM A 338 (1994) 336), fluctuated by
//!   0.1 and clipped to [0.05, 0.95], showers electromagnetically as above, and the rest
//!   as a broader Gamma profile seen with response `h/e = 0.7` and a 50 % stochastic
//!   term. This is a caricature of a hadron shower, enough to exercise the geometry.
//!
//! Detector constants (layer depths in X0 or lambda, Moliere radii, `Z`, `E_c`, `a`, `c`,
//! `f_s`) follow the geometries the challenge describes: an ATLAS-like Pb/LAr barrel
//! (pre-sampler, three accordion layers, then the Fe/scintillator tile calorimeter) for
//! data set 1 and a 45-layer Si/W calorimeter (1.4 mm W + 0.3 mm Si pairs, about
//! 0.8 X0 each; `f_s = 0.033`) for data sets 2 and 3; they are listed in [`Detector`].
//!
//! # Determinism
//!
//! Shower `i` of a run with seed `s` draws from its own PCG stream seeded by
//! `splitmix64(s, i)`, so the output depends only on `(geometry, n, seed)`, not on how
//! many threads generate it.

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::geometry::{Geometry, GeometryKind};
use super::showers::Showers;

/// The read-out threshold on calibrated voxel energy (MeV): 0.5 keV / 0.033.
pub const THRESHOLD_MEV: f64 = 0.5e-3 / 0.033;

/// How incident energies are drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Spectrum {
    /// One of these energies (MeV), uniformly.
    Discrete(Vec<f64>),
    /// Log-uniform between the two bounds (MeV).
    LogUniform(f64, f64),
}

/// Depth range and lateral scale of one read-out layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerModel {
    /// Front and back depth, in the detector's depth unit.
    pub depth: (f64, f64),
    /// Moliere radius in this layer (mm).
    pub moliere_mm: f64,
}

/// A hadronic component (for pions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HadronModel {
    /// Visible response of hadronic energy relative to electromagnetic (h/e).
    pub h_over_e: f64,
    /// Minimum-ionising deposit per depth unit before the first interaction (MeV).
    pub mip_mev_per_unit: f64,
    /// Core and tail radii of the hadronic lateral profile (mm) and the core share.
    pub core_mm: f64,
    /// Tail radius (mm).
    pub tail_mm: f64,
    /// Share of the core.
    pub core_share: f64,
}

/// Detector constants of the parameterisation for one geometry.
#[derive(Clone, Debug, PartialEq)]
pub struct Detector {
    /// Radiation lengths per depth unit (1 when depths are in X0).
    pub x0_per_unit: f64,
    /// Effective atomic number.
    pub z: f64,
    /// Critical energy (MeV).
    pub critical_mev: f64,
    /// Stochastic term `a` of the resolution `a / sqrt(E/GeV)`.
    pub stochastic: f64,
    /// Constant term `c`.
    pub constant: f64,
    /// Sampling fraction `f_s`.
    pub sampling_fraction: f64,
    /// One entry per layer that has voxels, in geometry order.
    pub layers: Vec<LayerModel>,
    /// The incident particle is a photon (starts after a conversion length).
    pub photon: bool,
    /// Hadronic component, for pions.
    pub hadron: Option<HadronModel>,
    /// Incident energies.
    pub spectrum: Spectrum,
}

impl Detector {
    /// The constants for `kind`.
    pub fn for_kind(kind: GeometryKind) -> Detector {
        let ds1_energies: Vec<f64> = (8..=22).map(|k| f64::from(1u32 << k)).collect();
        match kind {
            GeometryKind::Ds1Photons => Detector {
                x0_per_unit: 1.0,
                z: 82.0,
                critical_mev: 7.43,
                stochastic: 0.10,
                constant: 0.007,
                sampling_fraction: 0.18,
                // Pre-sampler, strips, middle, back, first tile layer (X0).
                layers: vec![
                    layer(0.0, 2.0, 35.0),
                    layer(2.0, 6.3, 35.0),
                    layer(6.3, 22.3, 35.0),
                    layer(22.3, 24.8, 35.0),
                    layer(24.8, 52.0, 60.0),
                ],
                photon: true,
                hadron: None,
                spectrum: Spectrum::Discrete(ds1_energies),
            },
            GeometryKind::Ds1Pions => Detector {
                x0_per_unit: 18.0,
                z: 82.0,
                critical_mev: 7.43,
                stochastic: 0.50,
                constant: 0.03,
                sampling_fraction: 0.18,
                // Same barrel in interaction lengths, with the three tile layers.
                layers: vec![
                    layer(0.0, 0.11, 35.0),
                    layer(0.11, 0.35, 35.0),
                    layer(0.35, 1.24, 35.0),
                    layer(1.24, 1.38, 35.0),
                    layer(1.38, 2.88, 60.0),
                    layer(2.88, 6.98, 60.0),
                    layer(6.98, 8.78, 60.0),
                ],
                photon: false,
                hadron: Some(HadronModel {
                    h_over_e: 0.7,
                    mip_mev_per_unit: 300.0,
                    core_mm: 40.0,
                    tail_mm: 200.0,
                    core_share: 0.6,
                }),
                spectrum: Spectrum::Discrete(ds1_energies),
            },
            GeometryKind::Ds2 | GeometryKind::Ds3 => Detector {
                x0_per_unit: 1.0,
                z: 74.0,
                critical_mev: 7.97,
                stochastic: 0.17,
                constant: 0.01,
                sampling_fraction: 0.033,
                layers: (0..45).map(|k| layer(0.806 * k as f64, 0.806 * (k + 1) as f64, 11.3)).collect(),
                photon: false,
                hadron: None,
                spectrum: Spectrum::LogUniform(1.0e3, 1.0e6),
            },
        }
    }
}

fn layer(front: f64, back: f64, moliere_mm: f64) -> LayerModel {
    LayerModel { depth: (front, back), moliere_mm }
}

/// A shower generator for one geometry.
#[derive(Clone, Debug)]
pub struct Generator {
    geometry: Geometry,
    detector: Detector,
    /// Per relevant layer: (geometry layer index, radial edges in mm).
    layers: Vec<(usize, Vec<f64>)>,
}

/// The hidden shape parameters of one generated shower (for tests and studies).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShowerShape {
    /// Depth where the electromagnetic shower starts (detector depth unit).
    pub start: f64,
    /// Depth of the maximum after the start (X0).
    pub t_max_x0: f64,
    /// Gamma shape `alpha`.
    pub alpha: f64,
}

impl Generator {
    /// A generator with the default constants of `geometry`'s data set.
    pub fn new(geometry: &Geometry) -> Generator {
        Generator::with_detector(geometry, Detector::for_kind(geometry.kind))
    }

    /// A generator with explicit detector constants.
    ///
    /// # Panics
    /// If `detector.layers` does not have one entry per layer with voxels.
    pub fn with_detector(geometry: &Geometry, detector: Detector) -> Generator {
        let layers: Vec<(usize, Vec<f64>)> = geometry
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_relevant())
            .map(|(i, l)| (i, l.r_edges.clone()))
            .collect();
        assert_eq!(layers.len(), detector.layers.len(), "one layer model per layer with voxels");
        Generator { geometry: geometry.clone(), detector, layers }
    }

    /// The detector constants.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The incident energy of shower `index` of a run with `seed`.
    pub fn incident_energy(&self, seed: u64, index: u64) -> f64 {
        let mut rng = Rng::for_shower(seed, index);
        self.draw_energy(&mut rng)
    }

    fn draw_energy(&self, rng: &mut Rng) -> f64 {
        match &self.detector.spectrum {
            Spectrum::Discrete(values) => values[(rng.uniform() * values.len() as f64) as usize % values.len()],
            Spectrum::LogUniform(lo, hi) => (lo.ln() + rng.uniform() * (hi / lo).ln()).exp(),
        }
    }

    /// Shower `index` of a run with `seed`, written into `out` (`n_voxels` long);
    /// returns its incident energy.
    pub fn shower(&self, seed: u64, index: u64, out: &mut [f32]) -> f64 {
        let mut rng = Rng::for_shower(seed, index);
        let energy = self.draw_energy(&mut rng);
        self.shower_at(&mut rng, energy, out);
        energy
    }

    /// A shower of incident energy `energy` (MeV) drawn from `seed`, into `out`; returns
    /// its hidden shape parameters.
    pub fn shower_at_energy(&self, seed: u64, energy: f64, out: &mut [f32]) -> ShowerShape {
        let mut rng = Rng::for_shower(seed, u64::MAX);
        self.shower_at(&mut rng, energy, out)
    }

    fn shower_at(&self, rng: &mut Rng, energy: f64, out: &mut [f32]) -> ShowerShape {
        assert_eq!(out.len(), self.geometry.n_voxels(), "shower length");
        out.fill(0.0);
        let d = &self.detector;
        let scale = (1.0 + d.constant * rng.normal()).max(0.0);
        let radial_jitter = (0.08 * rng.normal()).exp();

        // Split the energy between an electromagnetic and a hadronic part.
        let (em_energy, start, hadron) = match &d.hadron {
            None => {
                let start = if d.photon { -(9.0 / 7.0) * rng.uniform_open().ln() / d.x0_per_unit } else { 0.0 };
                (energy, start, None)
            }
            Some(h) => {
                let first = -rng.uniform_open().ln();
                let mip = (h.mip_mev_per_unit * first).min(0.5 * energy);
                let mean_em = 1.0 - (energy / 1000.0).powf(0.82 - 1.0);
                let f_em = (mean_em + 0.1 * rng.normal()).clamp(0.05, 0.95);
                let rest = energy - mip;
                (rest * f_em, first, Some((h, rest * (1.0 - f_em), mip, first)))
            }
        };

        // Electromagnetic longitudinal shape (GFLASH individual-profile moments).
        let ln_y = (em_energy.max(1.0) / d.critical_mev).ln().max(2.0);
        let mean_ln_t = (ln_y - 0.812).max(0.3).ln();
        let sigma_ln_t = 1.0 / (-1.4 + 1.26 * ln_y).max(0.5);
        let mean_ln_a = (0.81 + (0.458 + 2.26 / d.z) * ln_y).ln();
        let sigma_ln_a = 1.0 / (-0.58 + 0.86 * ln_y).max(0.5);
        let rho = (0.705 - 0.023 * ln_y).clamp(-0.99, 0.99);
        let (g1, g2) = (rng.normal(), rng.normal());
        let t_max = (mean_ln_t + sigma_ln_t * g1).exp();
        let alpha = (mean_ln_a + sigma_ln_a * (rho * g1 + (1.0 - rho * rho).sqrt() * g2)).exp().max(1.05);
        let beta = (alpha - 1.0) / t_max;
        let e_gev = em_energy.max(1.0) / 1000.0;

        // Mean calibrated energy of every voxel.
        for (k, (li, r_edges)) in self.layers.iter().enumerate() {
            let lm = d.layers[k];
            let layer = &self.geometry.layers[*li];
            let n_alpha = layer.n_alpha as f64;
            let x0 = |t: f64| ((t - start) * d.x0_per_unit).max(0.0);
            let (a, b) = (x0(lm.depth.0), x0(lm.depth.1));
            let em_share = gamma_p(alpha, beta * b) - gamma_p(alpha, beta * a);
            let em_e = em_energy * em_share;
            let tau = (0.5 * (a + b)).max(0.05) / t_max;
            let (p, rc, rt) = gflash_radial(tau, e_gev, d.z);
            let rm = lm.moliere_mm * radial_jitter;
            let (rc, rt) = (rc * rm, rt * rm);
            let mut had_e = 0.0;
            let mut had_radial = (0.0, 1.0, 1.0);
            if let Some((h, had_energy, mip, first)) = hadron {
                // Hadronic part: Gamma profile in lambda with alpha_h growing like ln E.
                let ah = 1.5 + 0.3 * (had_energy.max(1000.0) / 1000.0).ln();
                let bh = 1.0;
                let ha = (lm.depth.0 - first).max(0.0);
                let hb = (lm.depth.1 - first).max(0.0);
                had_e = had_energy * h.h_over_e * (gamma_p(ah, bh * hb) - gamma_p(ah, bh * ha));
                // Minimum-ionising track before the first interaction.
                let track = (first.min(lm.depth.1) - lm.depth.0).max(0.0);
                let mip_e = mip.min(h.mip_mev_per_unit * track);
                had_e += mip_e;
                had_radial = (h.core_share, h.core_mm, h.tail_mm);
            }
            let base = layer.offset;
            let n_r = layer.n_r();
            let mut f_em_prev = 0.0;
            let mut f_had_prev = 0.0;
            for j in 0..n_r {
                let r = r_edges[j + 1];
                let f_em = radial_cdf(r, p, rc, rt);
                let f_had = radial_cdf(r, had_radial.0, had_radial.1, had_radial.2);
                let ring = em_e * (f_em - f_em_prev) + had_e * (f_had - f_had_prev);
                f_em_prev = f_em;
                f_had_prev = f_had;
                let mean = (ring * scale / n_alpha) as f32;
                for ai in 0..layer.n_alpha {
                    out[base + ai * n_r + j] = mean;
                }
            }
        }

        // Sampling fluctuations: compound Poisson-Gamma in spots of calibrated energy
        // `spot`, chosen so that the total resolution is a / sqrt(E / GeV).
        let spot = d.stochastic * d.stochastic * 1000.0 / 2.0;
        for v in out.iter_mut() {
            let mean = f64::from(*v);
            if mean <= 0.0 {
                continue;
            }
            let lambda = mean / spot;
            let e = if lambda > 25.0 {
                (mean + (2.0 * spot * mean).sqrt() * rng.normal()).max(0.0)
            } else {
                let k = rng.poisson(lambda);
                if k == 0 {
                    0.0
                } else {
                    spot * rng.gamma_int(k)
                }
            };
            *v = if e < THRESHOLD_MEV { 0.0 } else { e as f32 };
        }
        ShowerShape { start, t_max_x0: t_max, alpha }
    }

    /// `n` showers of a run with `seed`, on the current thread.
    pub fn generate_range(&self, seed: u64, range: std::ops::Range<u64>) -> Showers {
        let v = self.geometry.n_voxels();
        let n = (range.end - range.start) as usize;
        let mut showers = Showers { n_voxels: v, incident_energies: Vec::with_capacity(n), energies: vec![0.0; n * v] };
        for (k, i) in range.enumerate() {
            let e = self.shower(seed, i, &mut showers.energies[k * v..(k + 1) * v]);
            showers.incident_energies.push(e);
        }
        showers
    }

    /// As [`generate_range`](Self::generate_range) (the same showers for any thread count),
    /// split over `threads` threads in blocks, calling `progress(done)` with the number of
    /// showers done as blocks complete. The showers are generated in place: the result is
    /// the only copy.
    pub fn generate_parallel(
        &self,
        seed: u64,
        range: std::ops::Range<u64>,
        threads: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Showers {
        let v = self.geometry.n_voxels();
        let n = (range.end - range.start) as usize;
        let mut showers = Showers { n_voxels: v, incident_energies: vec![0.0; n], energies: vec![0.0; n * v] };
        let threads = threads.clamp(1, n.max(1));
        // Several blocks a thread, so that threads that finish early take more.
        let block = n.div_ceil(4 * threads).clamp(1, 1000);
        let mut blocks = Vec::with_capacity(n.div_ceil(block));
        let (mut incident, mut energies) = (&mut showers.incident_energies[..], &mut showers.energies[..]);
        let mut first = range.start;
        while !incident.is_empty() {
            let k = block.min(incident.len());
            let (inc, inc_rest) = std::mem::take(&mut incident).split_at_mut(k);
            let (en, en_rest) = std::mem::take(&mut energies).split_at_mut(k * v);
            blocks.push((first, inc, en));
            (incident, energies, first) = (inc_rest, en_rest, first + k as u64);
        }
        let queue = std::sync::Mutex::new(blocks.into_iter());
        let done = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next();
                    let Some((first, inc, en)) = next else { break };
                    for (k, e) in inc.iter_mut().enumerate() {
                        *e = self.shower(seed, first + k as u64, &mut en[k * v..(k + 1) * v]);
                    }
                    progress(done.fetch_add(inc.len(), std::sync::atomic::Ordering::Relaxed) + inc.len());
                });
            }
        });
        showers
    }
}

/// `n` showers in `geometry`, deterministic in `seed`, on the current thread.
pub fn generate(geometry: &Geometry, n: usize, seed: u64) -> Showers {
    Generator::new(geometry).generate_range(seed, 0..n as u64)
}

/// GFLASH radial parameters `(p, R_C, R_T)` in Moliere radii at `tau = t / T`.
fn gflash_radial(tau: f64, e_gev: f64, z: f64) -> (f64, f64, f64) {
    let ln_e = e_gev.ln();
    let z1 = 0.0251 + 0.00319 * ln_e;
    let z2 = 0.1162 - 0.000381 * z;
    let rc = (z1 + z2 * tau).max(0.005);
    let k1 = 0.659 - 0.00309 * z;
    let k2 = 0.645;
    let k3 = -2.59;
    let k4 = 0.3585 + 0.0412 * ln_e;
    let rt = (k1 * ((k3 * (tau - k2)).exp() + (k4 * (tau - k2)).exp())).max(rc * 1.5);
    let p1 = 2.632 - 0.00094 * z;
    let p2 = 0.401 + 0.00187 * z;
    let p3 = (1.313 - 0.0686 * ln_e).max(0.2);
    let q = (p2 - tau) / p3;
    let p = (p1 * (q - q.exp()).exp()).clamp(0.0, 1.0);
    (p, rc, rt)
}

/// Fraction of a core+tail profile inside radius `r`.
fn radial_cdf(r: f64, p: f64, rc: f64, rt: f64) -> f64 {
    let r2 = r * r;
    p * r2 / (r2 + rc * rc) + (1.0 - p) * r2 / (r2 + rt * rt)
}

/// Natural log of the Gamma function (Lanczos, g = 7, n = 9; |error| < 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised lower incomplete Gamma function `P(a, x)` (series below `a + 1`,
/// Lentz continued fraction above; Numerical Recipes, 3rd ed., section 6.2).
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let gln = ln_gamma(a);
    if x < a + 1.0 {
        let mut ap = a;
        let mut sum = 1.0 / a;
        let mut del = sum;
        for _ in 0..500 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (sum * (-x + a * x.ln() - gln).exp()).min(1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (1.0 - (-x + a * x.ln() - gln).exp() * h).max(0.0)
    }
}

/// SplitMix64 finaliser, to derive independent per-shower seeds.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator's random source: PCG-64 (MCG) with the few distributions it needs.
pub(crate) struct Rng {
    inner: Pcg64Mcg,
    spare: Option<f64>,
}

impl Rng {
    pub(crate) fn from_seed(seed: u64) -> Rng {
        Rng { inner: Pcg64Mcg::seed_from_u64(seed), spare: None }
    }

    fn for_shower(seed: u64, index: u64) -> Rng {
        Rng::from_seed(splitmix64(seed ^ splitmix64(index)))
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.inner.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1].
    fn uniform_open(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// Uniform integer in `0..n` (Lemire's multiply, bias below 2^-64 n).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.inner.next_u64()) * n as u128) >> 64) as usize
    }

    /// Standard normal (Marsaglia's polar method, both values used).
    pub(crate) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * s.ln() / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }

    /// Poisson with mean `lambda` (<= 25): Knuth's product of uniforms.
    fn poisson(&mut self, lambda: f64) -> u32 {
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut prod = self.uniform_open();
        while prod > limit {
            k += 1;
            prod *= self.uniform_open();
        }
        k
    }

    /// Gamma with integer shape `k >= 1` and unit scale.
    fn gamma_int(&mut self, k: u32) -> f64 {
        if k <= 4 {
            let mut prod = 1.0;
            for _ in 0..k {
                prod *= self.uniform_open();
            }
            return -prod.ln();
        }
        // Marsaglia and Tsang, ACM TOMS 26 (2000) 363.
        let d = f64::from(k) - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.uniform_open();
            if u < 1.0 - 0.0331 * x * x * x * x || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
                return d * v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_gamma_known_values() {
        // P(1, x) = 1 - e^-x; P(3, 2) = 0.3233235838169366; P(10, 12) = 0.7576078383294877.
        assert!((gamma_p(1.0, 0.7) - (1.0 - (-0.7f64).exp())).abs() < 1e-13);
        assert!((gamma_p(3.0, 2.0) - 0.323_323_583_816_936_6).abs() < 1e-12);
        assert!((gamma_p(10.0, 12.0) - 0.757_607_838_329_487_7).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn gamma_sampler_mean_and_variance() {
        let mut rng = Rng::from_seed(3);
        for k in [1u32, 3, 7, 20] {
            let n = 20000;
            let xs: Vec<f64> = (0..n).map(|_| rng.gamma_int(k)).collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
            let k = f64::from(k);
            assert!((m - k).abs() < 0.05 * k, "mean {m} for {k}");
            assert!((v - k).abs() < 0.1 * k, "variance {v} for {k}");
        }
    }

    #[test]
    fn deterministic_by_seed_and_independent_of_threads() {
        let g = GeometryKind::Ds1Photons.geometry();
        let a = generate(&g, 2500, 11);
        let generator = Generator::new(&g);
        for threads in [1, 3, 8] {
            let done = std::sync::atomic::AtomicUsize::new(0);
            let b = generator.generate_parallel(11, 0..2500, threads, &|d| {
                done.fetch_max(d, std::sync::atomic::Ordering::Relaxed);
            });
            assert_eq!(a, b, "{threads} threads");
            assert_eq!(done.into_inner(), 2500);
        }
        // A range is those rows of the whole run.
        let part = generator.generate_parallel(11, 1700..2300, 3, &|_| {});
        assert_eq!(part.incident_energies, a.incident_energies[1700..2300]);
        assert_eq!(part.energies, a.energies[1700 * 368..2300 * 368]);
        assert!(generator.generate_parallel(11, 5..5, 3, &|_| {}).is_empty());
        let c = generate(&g, 10, 12);
        assert_ne!(a.row(0), c.row(0));
        a.validate(0).unwrap();
    }
}
