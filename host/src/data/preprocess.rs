//! The voxel preprocessing the VAE trains on, and its exact inverse.
//!
//! With `R = 1e-7`, a voxel energy `E` of a shower with incident energy `E_inc` maps to
//! `x = R + (1 - 2R) E / E_inc` and then to the logit distance from `R`,
//! `u = ln(x (1 - R) / (R (1 - x)))`. Writing `d = (1 - 2R) E / E_inc`, this equals
//! `ln1p(d / R) - ln1p(-d / (1 - R))`, which is how it is evaluated: an empty voxel maps
//! to exactly `u = 0` and back, and nothing cancels for small energies. The inverse is
//! `E = E_inc R (1 - R) expm1(u) / ((1 - 2R)(1 - R + R e^u))`, in closed form for the
//! same reason. Both run in `f64`; a round trip through `f32` storage of `u` is exact to
//! `f32` precision.
//!
//! Invariant: `forward` maps `[0, E_inc]` monotonically onto `[0, 2 logit(1 - R)]`;
//! `u < 0` is outside its image, and [`inverse_row`] clamps such values to an empty
//! voxel so that generated showers stay physical.

/// The regulator `R` of the logit transform.
pub const R: f64 = 1e-7;

/// `u` of one voxel energy `e` (MeV) in a shower of incident energy `e_inc` (MeV).
pub fn forward(e: f64, e_inc: f64) -> f64 {
    let d = (1.0 - 2.0 * R) * e / e_inc;
    (d / R).ln_1p() - (-d / (1.0 - R)).ln_1p()
}

/// The voxel energy (MeV) whose transform is `u`, for incident energy `e_inc` (MeV).
pub fn inverse(u: f64, e_inc: f64) -> f64 {
    e_inc * R * (1.0 - R) * u.exp_m1() / ((1.0 - 2.0 * R) * (1.0 - R + R * u.exp()))
}

/// Transforms one shower row into `out` (same length).
pub fn forward_row(row: &[f32], e_inc: f64, out: &mut [f32]) {
    assert_eq!(row.len(), out.len(), "row length");
    for (o, &e) in out.iter_mut().zip(row) {
        *o = forward(f64::from(e), e_inc) as f32;
    }
}

/// Inverts one transformed row into `out`; values below 0 become empty voxels.
pub fn inverse_row(u: &[f32], e_inc: f64, out: &mut [f32]) {
    assert_eq!(u.len(), out.len(), "row length");
    for (o, &x) in out.iter_mut().zip(u) {
        *o = if x > 0.0 { inverse(f64::from(x), e_inc) as f32 } else { 0.0 };
    }
}

/// Transforms a whole batch: row-major like [`Showers::energies`](super::Showers).
pub fn forward_showers(showers: &super::Showers) -> Vec<f32> {
    let v = showers.n_voxels;
    let mut out = vec![0.0; showers.energies.len()];
    for (i, &e_inc) in showers.incident_energies.iter().enumerate() {
        forward_row(showers.row(i), e_inc, &mut out[i * v..(i + 1) * v]);
    }
    out
}

/// Inverts a whole batch of transformed rows back into showers.
pub fn inverse_showers(u: &[f32], incident_energies: &[f64], n_voxels: usize) -> super::Showers {
    assert_eq!(u.len(), incident_energies.len() * n_voxels, "batch length");
    let mut energies = vec![0.0; u.len()];
    for (i, &e_inc) in incident_energies.iter().enumerate() {
        let r = i * n_voxels..(i + 1) * n_voxels;
        inverse_row(&u[r.clone()], e_inc, &mut energies[r]);
    }
    super::Showers { n_voxels, incident_energies: incident_energies.to_vec(), energies }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_a_fixed_point() {
        assert_eq!(forward(0.0, 1234.0), 0.0);
        assert_eq!(inverse(0.0, 1234.0), 0.0);
    }

    #[test]
    fn matches_the_textbook_formula() {
        for &(e, inc) in &[(1.0, 1000.0), (500.0, 1000.0), (1e-3, 4.0e6), (999.0, 1000.0)] {
            let x = R + (1.0 - 2.0 * R) * e / inc;
            let naive = (x * (1.0 - R) / (R * (1.0 - x))).ln();
            assert!((forward(e, inc) - naive).abs() < 1e-9 * naive.abs().max(1.0));
        }
    }

    #[test]
    fn round_trip_to_float_precision() {
        let inc = 65536.0;
        for k in 0..200 {
            let e = inc * 10f64.powf(-9.0 + 9.0 * k as f64 / 199.0);
            let back = inverse(forward(e, inc), inc);
            assert!(((back - e) / e).abs() < 1e-12, "{e} -> {back}");
            let back32 = inverse(f64::from(forward(e, inc) as f32), inc);
            assert!(((back32 - e) / e).abs() < 1e-5, "{e} -> {back32}");
        }
    }
}
