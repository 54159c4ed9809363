//! Calorimeter geometries of the CaloChallenge 2022 data sets, read from the challenge's
//! own binning files (copied into `binning/` so the crate builds on its own).
//!
//! Each file lists layers; a layer has radial bin edges `r_edges` (mm) and a number of
//! angular bins `n_bin_alpha`. A layer whose `r_edges` is the single value `0` holds no
//! voxels. The flat voxel index of a shower runs over radial bins fastest, then angular
//! bins, then layers, exactly as the challenge's `XMLHandler.py` lays it out:
//! `index = offset(layer) + alpha * n_r(layer) + r`.
//!
//! Voxel centres follow the challenge too: the radial centre is the midpoint of the bin,
//! the angular centre the midpoint of `linspace(-pi, pi, n_alpha + 1)`, and the
//! Cartesian pair used by the features is `eta = r cos(alpha)`, `phi = r sin(alpha)`.
//!
//! Invariants: layers are in file order, `offset` is the running sum of voxel counts,
//! and `n_voxels` is the sum over all layers (368, 533, 6480 and 40500).

use std::fmt;

use anyhow::{bail, Context, Result};

/// One longitudinal layer of a geometry.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The layer's `id` in the binning file (not necessarily its position).
    pub id: usize,
    /// Radial bin edges in mm; empty when the layer has no voxels.
    pub r_edges: Vec<f64>,
    /// Number of angular bins.
    pub n_alpha: usize,
    /// Flat index of the layer's first voxel.
    pub offset: usize,
}

impl Layer {
    /// Number of radial bins.
    pub fn n_r(&self) -> usize {
        self.r_edges.len().saturating_sub(1)
    }

    /// Number of voxels, `n_r * n_alpha`.
    pub fn n_voxels(&self) -> usize {
        self.n_r() * self.n_alpha
    }

    /// Voxel index range of this layer in a flat shower.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.n_voxels()
    }

    /// True when the layer carries voxels (the challenge's "relevant layers").
    pub fn is_relevant(&self) -> bool {
        self.n_r() > 0
    }

    /// True when the layer is binned in angle (the challenge's "layers binned in alpha").
    pub fn binned_in_alpha(&self) -> bool {
        self.n_alpha > 1
    }

    /// Radial bin centres (mm).
    pub fn r_centres(&self) -> Vec<f64> {
        self.r_edges.windows(2).map(|w| w[0] + (w[1] - w[0]) / 2.0).collect()
    }

    /// Angular bin centres (rad): midpoints of `linspace(-pi, pi, n_alpha + 1)`.
    pub fn alpha_centres(&self) -> Vec<f64> {
        let step = 2.0 * std::f64::consts::PI / self.n_alpha as f64;
        (0..self.n_alpha).map(|j| -std::f64::consts::PI + (j as f64 + 0.5) * step).collect()
    }
}

/// The four CaloChallenge geometries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum GeometryKind {
    /// Data set 1, photons: 5 layers, 368 voxels.
    #[cfg_attr(feature = "cli", value(name = "ds1-photons"))]
    Ds1Photons,
    /// Data set 1, charged pions: 7 layers, 533 voxels.
    #[cfg_attr(feature = "cli", value(name = "ds1-pions"))]
    Ds1Pions,
    /// Data set 2, electrons: 45 x 16 x 9 = 6480 voxels.
    #[cfg_attr(feature = "cli", value(name = "ds2"))]
    Ds2,
    /// Data set 3, electrons: 45 x 50 x 18 = 40500 voxels.
    #[cfg_attr(feature = "cli", value(name = "ds3"))]
    Ds3,
}

impl GeometryKind {
    /// All geometries, in data-set order.
    pub const ALL: [GeometryKind; 4] =
        [GeometryKind::Ds1Photons, GeometryKind::Ds1Pions, GeometryKind::Ds2, GeometryKind::Ds3];

    /// The command-line name (`ds1-photons`, ...).
    pub fn name(self) -> &'static str {
        match self {
            GeometryKind::Ds1Photons => "ds1-photons",
            GeometryKind::Ds1Pions => "ds1-pions",
            GeometryKind::Ds2 => "ds2",
            GeometryKind::Ds3 => "ds3",
        }
    }

    /// The challenge's binning file, embedded.
    pub fn binning_xml(self) -> &'static str {
        match self {
            GeometryKind::Ds1Photons => include_str!("binning/binning_dataset_1_photons.xml"),
            GeometryKind::Ds1Pions => include_str!("binning/binning_dataset_1_pions.xml"),
            GeometryKind::Ds2 => include_str!("binning/binning_dataset_2.xml"),
            GeometryKind::Ds3 => include_str!("binning/binning_dataset_3.xml"),
        }
    }

    /// The geometry, parsed from the embedded binning file.
    pub fn geometry(self) -> Geometry {
        // The embedded files are fixed and covered by tests, so a parse failure is a bug.
        Geometry::from_xml(self, self.binning_xml()).expect("embedded binning file parses")
    }

    /// The geometry whose voxel count is `n_voxels`, if exactly one has it.
    pub fn from_voxel_count(n_voxels: usize) -> Option<GeometryKind> {
        GeometryKind::ALL.into_iter().find(|k| k.geometry().n_voxels() == n_voxels)
    }
}

impl fmt::Display for GeometryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A calorimeter geometry: its layers in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Geometry {
    /// Which data set this is.
    pub kind: GeometryKind,
    /// Particle name in the binning file (`photon`, `pion`, `electron`).
    pub particle: String,
    /// All layers of the file, including those without voxels.
    pub layers: Vec<Layer>,
}

/// Where a voxel sits: its layer and bin, and its centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VoxelCentre {
    /// Position of the layer in [`Geometry::layers`].
    pub layer: usize,
    /// Radial bin.
    pub r_bin: usize,
    /// Angular bin.
    pub alpha_bin: usize,
    /// Radial centre (mm).
    pub r: f64,
    /// Angular centre (rad).
    pub alpha: f64,
    /// `r cos(alpha)` (mm), the challenge's Delta-eta coordinate.
    pub eta: f64,
    /// `r sin(alpha)` (mm), the challenge's Delta-phi coordinate.
    pub phi: f64,
}

impl Geometry {
    /// Parses a CaloChallenge binning file.
    pub fn from_xml(kind: GeometryKind, xml: &str) -> Result<Geometry> {
        let particle =
            attribute(tag_after(xml, "<Bin ").context("no <Bin> element")?, "name").unwrap_or_default().to_string();
        let mut layers = Vec::new();
        let mut offset = 0;
        let mut rest = xml;
        while let Some(pos) = rest.find("<Layer") {
            let tag = tag_after(rest, "<Layer").context("unterminated <Layer> element")?;
            rest = &rest[pos + "<Layer".len()..];
            let id: usize = attribute(tag, "id")
                .context("layer without id")?
                .trim()
                .parse()
                .context("layer id is not an integer")?;
            let edges_text = attribute(tag, "r_edges").with_context(|| format!("layer {id} without r_edges"))?;
            let mut r_edges = edges_text
                .split(',')
                .map(|s| s.trim().parse::<f64>())
                .collect::<Result<Vec<f64>, _>>()
                .with_context(|| format!("layer {id}: r_edges {edges_text:?}"))?;
            if r_edges.len() < 2 {
                r_edges.clear();
            } else if r_edges.windows(2).any(|w| w[1] <= w[0]) {
                bail!("layer {id}: r_edges are not increasing");
            }
            let n_alpha: usize = attribute(tag, "n_bin_alpha")
                .with_context(|| format!("layer {id} without n_bin_alpha"))?
                .trim()
                .parse()
                .with_context(|| format!("layer {id}: n_bin_alpha is not an integer"))?;
            if n_alpha == 0 {
                bail!("layer {id}: n_bin_alpha is 0");
            }
            let layer = Layer { id, r_edges, n_alpha, offset };
            offset += layer.n_voxels();
            layers.push(layer);
        }
        if layers.is_empty() {
            bail!("binning file has no layers");
        }
        Ok(Geometry { kind, particle, layers })
    }

    /// Total number of voxels.
    pub fn n_voxels(&self) -> usize {
        self.layers.iter().map(Layer::n_voxels).sum()
    }

    /// The layers that carry voxels, in order.
    pub fn relevant_layers(&self) -> impl Iterator<Item = &Layer> {
        self.layers.iter().filter(|l| l.is_relevant())
    }

    /// Centres of all voxels in flat order.
    pub fn voxel_centres(&self) -> Vec<VoxelCentre> {
        let mut out = Vec::with_capacity(self.n_voxels());
        for (li, layer) in self.layers.iter().enumerate() {
            let rc = layer.r_centres();
            let ac = layer.alpha_centres();
            for (ai, &alpha) in ac.iter().enumerate() {
                for (ri, &r) in rc.iter().enumerate() {
                    out.push(VoxelCentre {
                        layer: li,
                        r_bin: ri,
                        alpha_bin: ai,
                        r,
                        alpha,
                        eta: r * alpha.cos(),
                        phi: r * alpha.sin(),
                    });
                }
            }
        }
        out
    }
}

/// The text of the first tag that starts with `open`, up to its closing `>`.
fn tag_after<'a>(xml: &'a str, open: &str) -> Option<&'a str> {
    let start = xml.find(open)? + open.len();
    let end = xml[start..].find('>')? + start;
    Some(&xml[start..end])
}

/// The value of `name="..."` inside a tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut search = tag;
    loop {
        let pos = search.find(name)?;
        let before_ok = pos == 0 || search.as_bytes()[pos - 1].is_ascii_whitespace();
        let after = search[pos + name.len()..].trim_start();
        if before_ok {
            if let Some(after_eq) = after.strip_prefix('=') {
                let after_eq = after_eq.trim_start();
                let quote = after_eq.chars().next()?;
                if quote == '"' || quote == '\'' {
                    let body = &after_eq[1..];
                    let end = body.find(quote)?;
                    return Some(&body[..end]);
                }
            }
        }
        search = &search[pos + name.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voxel_counts_match_the_challenge() {
        let counts: Vec<usize> = GeometryKind::ALL.iter().map(|k| k.geometry().n_voxels()).collect();
        assert_eq!(counts, vec![368, 533, 6480, 40500]);
    }

    #[test]
    fn relevant_layers_of_ds1_photons() {
        let g = GeometryKind::Ds1Photons.geometry();
        let ids: Vec<usize> = g.relevant_layers().map(|l| l.id).collect();
        assert_eq!(ids, vec![0, 1, 2, 3, 12]);
        let alpha: Vec<usize> = g.relevant_layers().filter(|l| l.binned_in_alpha()).map(|l| l.id).collect();
        assert_eq!(alpha, vec![1, 2]);
        assert_eq!(g.particle, "photon");
    }

    #[test]
    fn flat_order_is_radius_fastest() {
        let g = GeometryKind::Ds2.geometry();
        let c = g.voxel_centres();
        assert_eq!(c.len(), 6480);
        assert_eq!((c[0].layer, c[0].alpha_bin, c[0].r_bin), (0, 0, 0));
        assert_eq!((c[1].layer, c[1].alpha_bin, c[1].r_bin), (0, 0, 1));
        assert_eq!((c[9].layer, c[9].alpha_bin, c[9].r_bin), (0, 1, 0));
        assert_eq!((c[144].layer, c[144].alpha_bin, c[144].r_bin), (1, 0, 0));
        assert!((c[0].r - 2.325).abs() < 1e-12);
        let step = 2.0 * std::f64::consts::PI / 16.0;
        assert!((c[0].alpha - (-std::f64::consts::PI + step / 2.0)).abs() < 1e-12);
    }

    #[test]
    fn geometry_from_voxel_count() {
        assert_eq!(GeometryKind::from_voxel_count(533), Some(GeometryKind::Ds1Pions));
        assert_eq!(GeometryKind::from_voxel_count(7), None);
    }
}
