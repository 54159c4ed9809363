//! A batch of calorimeter showers held in memory, as the challenge files store them.
//!
//! Invariants (checked by [`Showers::validate`], relied on everywhere else): there are
//! `n` incident energies and `n * n_voxels` voxel energies, row-major (one shower per
//! row); every energy is finite, incident energies are positive and voxel energies are
//! non-negative. Units are MeV.

use anyhow::{bail, Result};

/// `n` showers of `n_voxels` voxels each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Showers {
    /// Voxels per shower.
    pub n_voxels: usize,
    /// Incident energy of each shower (MeV).
    pub incident_energies: Vec<f64>,
    /// Voxel energies (MeV), row-major, `len() == n * n_voxels`.
    pub energies: Vec<f32>,
}

impl Showers {
    /// An empty batch of showers with `n_voxels` voxels each.
    pub fn new(n_voxels: usize) -> Showers {
        Showers { n_voxels, incident_energies: Vec::new(), energies: Vec::new() }
    }

    /// Number of showers.
    pub fn len(&self) -> usize {
        self.incident_energies.len()
    }

    /// True when there are no showers.
    pub fn is_empty(&self) -> bool {
        self.incident_energies.is_empty()
    }

    /// The voxel energies of shower `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.energies[i * self.n_voxels..(i + 1) * self.n_voxels]
    }

    /// Appends one shower.
    pub fn push(&mut self, incident_energy: f64, voxels: &[f32]) {
        assert_eq!(voxels.len(), self.n_voxels, "shower length");
        self.incident_energies.push(incident_energy);
        self.energies.extend_from_slice(voxels);
    }

    /// Appends all showers of `other`.
    pub fn extend(&mut self, other: &Showers) {
        assert_eq!(other.n_voxels, self.n_voxels, "shower length");
        self.incident_energies.extend_from_slice(&other.incident_energies);
        self.energies.extend_from_slice(&other.energies);
    }

    /// Checks the invariants; the error names the dataset and row (0-based, counted
    /// from `first_row`) of the first offending value.
    pub fn validate(&self, first_row: usize) -> Result<()> {
        if self.energies.len() != self.len() * self.n_voxels {
            bail!(
                "dataset 'showers' holds {} values, expected {} rows x {} voxels",
                self.energies.len(),
                self.len(),
                self.n_voxels
            );
        }
        for (i, &e) in self.incident_energies.iter().enumerate() {
            if !e.is_finite() || e <= 0.0 {
                bail!(
                    "dataset 'incident_energies' row {}: incident energy {e} is not a positive finite number",
                    first_row + i
                );
            }
        }
        for (i, row) in self.energies.chunks(self.n_voxels.max(1)).enumerate() {
            for (voxel, &e) in row.iter().enumerate() {
                if !e.is_finite() || e < 0.0 {
                    bail!(
                        "dataset 'showers' row {} voxel {voxel}: energy {e} is not a non-negative finite number",
                        first_row + i
                    );
                }
            }
        }
        Ok(())
    }
}
