//! The CaloChallenge high-level features of a batch of showers, their histograms and
//! the challenge's separation power.
//!
//! Definitions follow the challenge's `HighLevelFeatures.py` and
//! `evaluate_plotting_helper.py`:
//! * `E_tot / E_inc`, the summed voxel energy over the incident energy;
//! * per layer with voxels: the layer energy `E_l`, the sparsity `1 - mean(E_voxel > 0)`,
//!   the centre of energy in `r`, `sum(r E) / (sum(E) + 1e-16)`, and the width
//!   `sqrt(max(0, sum(r^2 E) / (sum(E) + 1e-16) - EC^2))`;
//! * per layer binned in angle: the same centre and width in `eta = r cos(alpha)` and in
//!   `phi = r sin(alpha)`.
//!
//! Histogram ranges are the challenge's: `E_tot / E_inc` in 100 bins on [0.5, 1.5];
//! centres on [-100, 100] mm (layers 12 and 13: [-500, 500]; data sets 2 and 3:
//! [-30, 30]) and widths on [0, 100] (resp. [0, 400], [0, 30]) in 100 bins; sparsity in
//! 20 bins on [0, 1]; layer energies in 40 logarithmic bins from the 15.15 keV threshold
//! to the reference's maximum (the challenge's `--x_scale log`); the radial centre and
//! width in 50 bins on [0, r_max / 2] and [0, r_max / 4] of the layer.
//!
//! Two more comparisons of the challenge are histogrammed but are not FPD/KPD features:
//! the distribution of single voxel energies ([`voxel_energy_spec`]) and, for data set 1,
//! `E_tot / E_inc` per incident energy ([`compare_etot_per_energy`]).
//!
//! The separation power of two histograms is `0.5 sum (p - q)^2 / (p + q + 1e-16)`,
//! with `p` and `q` each normalised to unit sum over the bins (the triangular
//! discrimination of arXiv:2009.03796, eq. 15), as the challenge computes it.

use super::geometry::{Geometry, GeometryKind};
use super::showers::Showers;
use super::synth::THRESHOLD_MEV;

/// What a feature measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// Total deposited over incident energy.
    EtotOverEinc,
    /// Energy in a layer (MeV).
    LayerEnergy,
    /// Fraction of empty voxels in a layer.
    Sparsity,
    /// Centre of energy in r (mm).
    CentreR,
    /// Width in r (mm).
    WidthR,
    /// Centre of energy in eta (mm).
    CentreEta,
    /// Centre of energy in phi (mm).
    CentrePhi,
    /// Width in eta (mm).
    WidthEta,
    /// Width in phi (mm).
    WidthPhi,
    /// Energy of single voxels (MeV), all voxels of all showers.
    VoxelEnergy,
    /// `E_tot / E_inc` for one incident-energy range of data set 1.
    EtotOverEincAtEnergy,
}

/// How a feature is histogrammed.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Binning {
    /// `bins` equal bins on `[lo, hi]`.
    Linear {
        /// Lower edge.
        lo: f64,
        /// Upper edge.
        hi: f64,
        /// Number of bins.
        bins: usize,
    },
    /// `bins` logarithmic bins on `[lo, hi]`.
    Log {
        /// Lower edge.
        lo: f64,
        /// Upper edge.
        hi: f64,
        /// Number of bins.
        bins: usize,
    },
    /// `bins` logarithmic bins from `lo` to the reference's maximum.
    LogToMax {
        /// Lower edge.
        lo: f64,
        /// Number of bins.
        bins: usize,
    },
}

/// One named feature column.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FeatureSpec {
    /// Short name, e.g. `E_layer_2`.
    pub name: String,
    /// Human label for plots.
    pub label: String,
    /// What it measures.
    pub kind: FeatureKind,
    /// Layer id in the binning file, if per layer.
    pub layer: Option<usize>,
    /// Histogram binning.
    pub binning: Binning,
}

/// The feature columns of a geometry, in a fixed order: `E_tot / E_inc`, then per layer
/// with voxels `E`, sparsity, `EC_r`, `width_r`, then (if binned in angle) `EC_eta`,
/// `EC_phi`, `width_eta`, `width_phi`.
pub fn specs(geometry: &Geometry) -> Vec<FeatureSpec> {
    let wide = matches!(geometry.kind, GeometryKind::Ds2 | GeometryKind::Ds3);
    let mut out = vec![FeatureSpec {
        name: "Etot_Einc".into(),
        label: "E_tot / E_inc".into(),
        kind: FeatureKind::EtotOverEinc,
        layer: None,
        binning: Binning::Linear { lo: 0.5, hi: 1.5, bins: 100 },
    }];
    for l in geometry.relevant_layers() {
        let id = l.id;
        let r_max = *l.r_edges.last().unwrap_or(&1.0);
        let (centre, width) = if wide {
            (30.0, 30.0)
        } else if id == 12 || id == 13 {
            (500.0, 400.0)
        } else {
            (100.0, 100.0)
        };
        let mut push = |name: &str, label: &str, kind, binning| {
            out.push(FeatureSpec {
                name: format!("{name}_{id}"),
                label: format!("{label}, layer {id}"),
                kind,
                layer: Some(id),
                binning,
            })
        };
        push("E_layer", "Energy [MeV]", FeatureKind::LayerEnergy, Binning::LogToMax { lo: THRESHOLD_MEV, bins: 40 });
        let lin = |lo, hi, bins| Binning::Linear { lo, hi, bins };
        push("sparsity", "Sparsity", FeatureKind::Sparsity, lin(0.0, 1.0, 20));
        push("EC_r", "Centre of energy in r [mm]", FeatureKind::CentreR, lin(0.0, r_max / 2.0, 50));
        push("width_r", "Width in r [mm]", FeatureKind::WidthR, lin(0.0, r_max / 4.0, 50));
        if l.binned_in_alpha() {
            push("EC_eta", "Centre of energy in Δη [mm]", FeatureKind::CentreEta, lin(-centre, centre, 100));
            push("EC_phi", "Centre of energy in Δφ [mm]", FeatureKind::CentrePhi, lin(-centre, centre, 100));
            push("width_eta", "Width in Δη [mm]", FeatureKind::WidthEta, lin(0.0, width, 100));
            push("width_phi", "Width in Δφ [mm]", FeatureKind::WidthPhi, lin(0.0, width, 100));
        }
    }
    out
}

/// Feature values of a batch: `n` rows of `specs.len()` columns, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// The columns.
    pub specs: Vec<FeatureSpec>,
    /// Values, row-major.
    pub values: Vec<f64>,
    /// Number of rows (showers).
    pub n: usize,
}

impl Features {
    /// Number of columns.
    pub fn dim(&self) -> usize {
        self.specs.len()
    }

    /// Column `j` as a vector.
    pub fn column(&self, j: usize) -> Vec<f64> {
        let d = self.dim();
        (0..self.n).map(|i| self.values[i * d + j]).collect()
    }

    /// Appends the rows of `other` (same columns).
    pub fn extend(&mut self, other: &Features) {
        assert_eq!(self.specs, other.specs, "same features");
        self.values.extend_from_slice(&other.values);
        self.n += other.n;
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let d = self.dim();
        &self.values[i * d..(i + 1) * d]
    }
}

/// Computes all features of `showers` in `geometry`.
///
/// # Panics
/// If the showers' voxel count differs from the geometry's (callers check files first).
pub fn compute(geometry: &Geometry, showers: &Showers) -> Features {
    assert_eq!(showers.n_voxels, geometry.n_voxels(), "voxel count");
    let specs = specs(geometry);
    let d = specs.len();
    let centres = geometry.voxel_centres();
    let mut values = Vec::with_capacity(showers.len() * d);
    for i in 0..showers.len() {
        let row = showers.row(i);
        let total: f64 = row.iter().map(|&e| f64::from(e)).sum();
        values.push(total / showers.incident_energies[i]);
        for l in geometry.relevant_layers() {
            let range = l.range();
            let e = &row[range.clone()];
            let c = &centres[range];
            let mut sum = 0.0;
            let mut nonzero = 0usize;
            let (mut r1, mut r2, mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
            for (&ev, cv) in e.iter().zip(c) {
                let ev = f64::from(ev);
                sum += ev;
                if ev > 0.0 {
                    nonzero += 1;
                }
                r1 += cv.r * ev;
                r2 += cv.r * cv.r * ev;
                x1 += cv.eta * ev;
                x2 += cv.eta * cv.eta * ev;
                y1 += cv.phi * ev;
                y2 += cv.phi * cv.phi * ev;
            }
            let norm = sum + 1e-16;
            let width = |m1: f64, m2: f64| (m2 / norm - (m1 / norm).powi(2)).max(0.0).sqrt();
            values.push(sum);
            values.push(1.0 - nonzero as f64 / e.len() as f64);
            values.push(r1 / norm);
            values.push(width(r1, r2));
            if l.binned_in_alpha() {
                values.push(x1 / norm);
                values.push(y1 / norm);
                values.push(width(x1, x2));
                values.push(width(y1, y2));
            }
        }
    }
    Features { specs, values, n: showers.len() }
}

/// The bin edges of `spec` given the reference column.
pub fn bin_edges(spec: &FeatureSpec, reference: &[f64]) -> Vec<f64> {
    match spec.binning {
        Binning::Linear { lo, hi, bins } => linspace(lo, hi, bins + 1),
        Binning::Log { lo, hi, bins } => {
            linspace(lo.log10(), hi.log10(), bins + 1).into_iter().map(|x| 10f64.powf(x)).collect()
        }
        Binning::LogToMax { lo, bins } => {
            let max = reference.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            if max.is_finite() && max > lo * 1.0001 {
                let (a, b) = (lo.log10(), max.log10());
                linspace(a, b, bins + 1).into_iter().map(|x| 10f64.powf(x)).collect()
            } else {
                linspace(0.0, max.max(1.0), bins + 1)
            }
        }
    }
}

/// `n` evenly spaced values from `lo` to `hi` inclusive (numpy's `linspace`).
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![lo];
    }
    let step = (hi - lo) / (n - 1) as f64;
    (0..n).map(|i| if i == n - 1 { hi } else { lo + step * i as f64 }).collect()
}

/// Counts of `values` in the bins `edges` (numpy's `histogram`: half-open bins, the
/// last one closed; values outside are dropped).
pub fn histogram(values: &[f64], edges: &[f64]) -> Vec<f64> {
    let nb = edges.len().saturating_sub(1);
    let mut counts = vec![0.0; nb];
    if nb == 0 {
        return counts;
    }
    let (lo, hi) = (edges[0], edges[nb]);
    for &v in values {
        if !(v >= lo && v <= hi) {
            continue;
        }
        // First edge greater than v, minus one; the top edge belongs to the last bin.
        let k = edges.partition_point(|&e| e <= v);
        let bin = if k > nb { nb - 1 } else { k - 1 };
        counts[bin.min(nb - 1)] += 1.0;
    }
    counts
}

/// The challenge's separation power of two count histograms on the same bins.
pub fn separation_power(counts_ref: &[f64], counts_gen: &[f64]) -> f64 {
    let s1: f64 = counts_ref.iter().sum();
    let s2: f64 = counts_gen.iter().sum();
    let mut total = 0.0;
    for (&a, &b) in counts_ref.iter().zip(counts_gen) {
        let p = if s1 > 0.0 { a / s1 } else { 0.0 };
        let q = if s2 > 0.0 { b / s2 } else { 0.0 };
        total += (p - q) * (p - q) / (p + q + 1e-16);
    }
    0.5 * total
}

/// One feature's histograms and separation power.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FeatureComparison {
    /// The feature.
    pub spec: FeatureSpec,
    /// Bin edges.
    pub edges: Vec<f64>,
    /// Reference counts.
    pub reference: Vec<f64>,
    /// Generated counts.
    pub generated: Vec<f64>,
    /// Separation power.
    pub separation_power: f64,
}

/// Histograms every feature of both sets on the reference's bins.
pub fn compare(reference: &Features, generated: &Features) -> Vec<FeatureComparison> {
    assert_eq!(reference.specs, generated.specs, "same features");
    (0..reference.dim())
        .map(|j| {
            let r = reference.column(j);
            let g = generated.column(j);
            let spec = reference.specs[j].clone();
            let edges = bin_edges(&spec, &r);
            let hr = histogram(&r, &edges);
            let hg = histogram(&g, &edges);
            let sep = separation_power(&hr, &hg);
            FeatureComparison { spec, edges, reference: hr, generated: hg, separation_power: sep }
        })
        .collect()
}

/// The voxel-energy histogram of the challenge (`plot_cell_dist`): 50 logarithmic bins
/// from the read-out threshold to the data set's largest incident energy (the challenge
/// stops at the reference's largest voxel; a fixed top edge lets a file be histogrammed
/// while it streams past).
pub fn voxel_energy_spec(geometry: &Geometry) -> FeatureSpec {
    let hi = match geometry.kind {
        GeometryKind::Ds1Photons | GeometryKind::Ds1Pions => 4_194_304.0,
        GeometryKind::Ds2 | GeometryKind::Ds3 => 1.0e6,
    };
    FeatureSpec {
        name: "voxel_energy".into(),
        label: "Voxel energy [MeV]".into(),
        kind: FeatureKind::VoxelEnergy,
        layer: None,
        binning: Binning::Log { lo: THRESHOLD_MEV, hi, bins: 50 },
    }
}

/// The `E_tot / E_inc` histograms of data set 1 per incident energy (the challenge's
/// `plot_Etot_Einc_discrete`): showers with `2^k <= E_inc < 2^(k+1)` MeV for
/// `k = 8 ..= 22`, 20 bins on [0.4, 1.4], or on [0.9, 1.1] above 4 GeV for photons.
/// Empty for data sets 2 and 3.
pub fn compare_etot_per_energy(
    geometry: &Geometry,
    reference: (&Features, &[f64]),
    generated: (&Features, &[f64]),
) -> Vec<FeatureComparison> {
    let photons = match geometry.kind {
        GeometryKind::Ds1Photons => true,
        GeometryKind::Ds1Pions => false,
        GeometryKind::Ds2 | GeometryKind::Ds3 => return Vec::new(),
    };
    let select = |f: &Features, inc: &[f64], lo: f64, hi: f64| -> Vec<f64> {
        (0..f.n).filter(|&i| inc[i] >= lo && inc[i] < hi).map(|i| f.row(i)[0]).collect()
    };
    (0..15)
        .map(|i| {
            let lo = f64::from(1u32 << (8 + i));
            let hi = 2.0 * lo;
            let (a, b) = if i > 3 && photons { (0.9, 1.1) } else { (0.4, 1.4) };
            let spec = FeatureSpec {
                name: format!("Etot_Einc_E{}", lo as u64),
                label: format!("E_tot / E_inc at E_inc = {} MeV", lo as u64),
                kind: FeatureKind::EtotOverEincAtEnergy,
                layer: None,
                binning: Binning::Linear { lo: a, hi: b, bins: 20 },
            };
            let edges = bin_edges(&spec, &[]);
            let hr = histogram(&select(reference.0, reference.1, lo, hi), &edges);
            let hg = histogram(&select(generated.0, generated.1, lo, hi), &edges);
            let separation_power = separation_power(&hr, &hg);
            FeatureComparison { spec, edges, reference: hr, generated: hg, separation_power }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_follows_numpy_edges() {
        let edges = linspace(0.0, 1.0, 5);
        let h = histogram(&[0.0, 0.25, 0.3, 1.0, 1.2, -0.1, f64::NAN], &edges);
        assert_eq!(h, vec![1.0, 2.0, 0.0, 1.0]);
    }

    #[test]
    fn separation_power_bounds() {
        assert_eq!(separation_power(&[1.0, 2.0], &[2.0, 4.0]), 0.0);
        assert!((separation_power(&[1.0, 0.0], &[0.0, 3.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn feature_count_of_ds1_photons() {
        let g = GeometryKind::Ds1Photons.geometry();
        // 1 + 5 layers x 4 + 2 angular layers x 4.
        assert_eq!(specs(&g).len(), 29);
    }
}
