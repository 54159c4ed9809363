//! The new scheme's Boltzmann-machine stage: moments of binary samples and the centred
//! gradient on the graph's existing edges,
//!
//! - dW_ij = Cov_d(z_i, z_j) - Cov_m(z_i, z_j)
//! - db_i = <z_i>_d - <z_i>_m - 1/2 sum_j dW_ij (<z_j>_d + <z_j>_m)
//!
//! This is the log-likelihood gradient in the parameterisation centred on the offsets
//! `mu = (<z>_d + <z>_m) / 2` (Melchior et al. 2016), mapped back to the plain parameters:
//! with `mu` halfway, the offset terms of the centred second moments cancel and leave the
//! covariances. Both are ascent directions; Adam minimises, so it is handed their negatives.

/// Unit means and per-edge second moments of a set of 0/1 rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Moments {
    /// <z_i>.
    pub mean: Vec<f64>,
    /// <z_i z_j> per edge.
    pub edge: Vec<f64>,
}

/// Moments of `rows` (row-major, `units` per row, values 0 or 1) weighted by `weight`
/// (uniform when `None`).
pub fn moments(rows: &[u8], units: usize, edges: &[(usize, usize)], weight: Option<&[f64]>) -> Moments {
    let n = rows.len() / units;
    let mut mean = vec![0.0; units];
    let mut edge = vec![0.0; edges.len()];
    let mut total = 0.0;
    for r in 0..n {
        let w = weight.map_or(1.0, |w| w[r]);
        let z = &rows[r * units..(r + 1) * units];
        for (m, &zi) in mean.iter_mut().zip(z) {
            if zi != 0 {
                *m += w;
            }
        }
        for (m, &(i, j)) in edge.iter_mut().zip(edges) {
            if z[i] != 0 && z[j] != 0 {
                *m += w;
            }
        }
        total += w;
    }
    let inv = if total > 0.0 { 1.0 / total } else { 0.0 };
    mean.iter_mut().for_each(|m| *m *= inv);
    edge.iter_mut().for_each(|m| *m *= inv);
    Moments { mean, edge }
}

/// The centred gradient (ascent direction of the log-likelihood).
#[derive(Clone, Debug, PartialEq)]
pub struct CentredGradient {
    /// Per unit.
    pub db: Vec<f64>,
    /// Per edge.
    pub dw: Vec<f64>,
}

/// dW and db from data and model moments.
pub fn centred_gradient(data: &Moments, model: &Moments, edges: &[(usize, usize)]) -> CentredGradient {
    let (d, m) = (&data.mean, &model.mean);
    let dw: Vec<f64> = edges
        .iter()
        .enumerate()
        .map(|(e, &(i, j))| (data.edge[e] - d[i] * d[j]) - (model.edge[e] - m[i] * m[j]))
        .collect();
    let mut db: Vec<f64> = d.iter().zip(m).map(|(a, b)| a - b).collect();
    for (e, &(i, j)) in edges.iter().enumerate() {
        db[i] -= 0.5 * dw[e] * (d[j] + m[j]);
        db[j] -= 0.5 * dw[e] * (d[i] + m[i]);
    }
    CentredGradient { db, dw }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::{energy, exact_with};
    use crate::model_file::ModelFile;
    use crate::vae::prior::Graph;

    /// A tiny prior (2 units per partition), its data and its exact model moments.
    fn tiny() -> (Graph, Vec<f64>, Vec<f64>, Vec<u8>) {
        let g = Graph::on(2, 1, 4).unwrap();
        let mut rng = rand_pcg::Pcg32::new(5, 5);
        let b: Vec<f64> = (0..g.units()).map(|_| crate::topology::normal(&mut rng) * 0.5).collect();
        let w: Vec<f64> = g.edges.iter().map(|_| crate::topology::normal(&mut rng) * 0.5).collect();
        let data: Vec<u8> = (0..40 * g.units()).map(|_| (rand_core::RngCore::next_u32(&mut rng) >> 31) as u8).collect();
        (g, b, w, data)
    }

    fn exact_moments(file: &ModelFile, g: &Graph) -> Moments {
        let ex = exact_with(file, 1.0, true).unwrap();
        let n = g.units();
        let second = ex.second_moment.unwrap();
        Moments { mean: ex.mean.clone(), edge: g.edges.iter().map(|&(i, j)| second[i * n + j]).collect() }
    }

    /// Mean log-likelihood of `data` under the model with centred parameters around `mu`:
    /// E_c(z) = -(z - mu).b_c - sum W_ij (z_i - mu_i)(z_j - mu_j).
    fn centred_log_likelihood(g: &Graph, bc: &[f64], w: &[f64], mu: &[f64], data: &[u8]) -> f64 {
        // Back to plain parameters (the constant does not change the likelihood).
        let mut b = bc.to_vec();
        for (e, &(i, j)) in g.edges.iter().enumerate() {
            b[i] -= w[e] * mu[j];
            b[j] -= w[e] * mu[i];
        }
        let file = g.model_file(&b, w, String::new());
        let ln_z = exact_with(&file, 1.0, false).unwrap().ln_z;
        let n = g.units();
        let rows = data.len() / n;
        -(0..rows).map(|r| energy(&file, &data[r * n..(r + 1) * n])).sum::<f64>() / rows as f64 - ln_z
    }

    #[test]
    fn centred_gradient_matches_a_direct_computation() {
        let (g, b, w, data) = tiny();
        let file = g.model_file(&b, &w, String::new());
        let n = g.units();
        let dm = moments(&data, n, &g.edges, None);
        let mm = exact_moments(&file, &g);
        let grad = centred_gradient(&dm, &mm, &g.edges);
        // Direct: the centred second moments <(z_i - mu_i)(z_j - mu_j)>, computed from the
        // data rows and from the exact distribution's moments.
        let mu: Vec<f64> = dm.mean.iter().zip(&mm.mean).map(|(a, b)| 0.5 * (a + b)).collect();
        let rows = data.len() / n;
        for (e, &(i, j)) in g.edges.iter().enumerate() {
            let cd = (0..rows)
                .map(|r| (f64::from(data[r * n + i]) - mu[i]) * (f64::from(data[r * n + j]) - mu[j]))
                .sum::<f64>()
                / rows as f64;
            let cm = mm.edge[e] - mu[i] * mm.mean[j] - mu[j] * mm.mean[i] + mu[i] * mu[j];
            assert!((grad.dw[e] - (cd - cm)).abs() < 1e-12, "edge {e}");
        }
        // Direct: finite differences of the exact log-likelihood in centred coordinates give
        // the centred gradient; one step of it, mapped back to plain parameters, moves the
        // plain parameters by (dW, db) per unit step.
        let mut bc = b.clone();
        for (e, &(i, j)) in g.edges.iter().enumerate() {
            bc[i] += w[e] * mu[j];
            bc[j] += w[e] * mu[i];
        }
        let h = 1e-5;
        let ll = |bc: &[f64], w: &[f64]| centred_log_likelihood(&g, bc, w, &mu, &data);
        let gbc: Vec<f64> = (0..n)
            .map(|i| {
                let (mut up, mut down) = (bc.clone(), bc.clone());
                up[i] += h;
                down[i] -= h;
                (ll(&up, &w) - ll(&down, &w)) / (2.0 * h)
            })
            .collect();
        let gw: Vec<f64> = (0..w.len())
            .map(|e| {
                let (mut up, mut down) = (w.clone(), w.clone());
                up[e] += h;
                down[e] -= h;
                (ll(&bc, &up) - ll(&bc, &down)) / (2.0 * h)
            })
            .collect();
        for (e, (fd, dw)) in gw.iter().zip(&grad.dw).enumerate() {
            assert!((fd - dw).abs() < 1e-6, "dW[{e}]: finite differences {fd} vs {dw}");
        }
        // b = b_c - W mu, so a step (gbc, gw) in centred coordinates moves b by gbc - gw mu.
        let mut db = gbc.clone();
        for (e, &(i, j)) in g.edges.iter().enumerate() {
            db[i] -= gw[e] * mu[j];
            db[j] -= gw[e] * mu[i];
        }
        for (i, (direct, centred)) in db.iter().zip(&grad.db).enumerate() {
            assert!((direct - centred).abs() < 1e-6, "db[{i}]: direct {direct} vs {centred}");
        }
    }

    #[test]
    fn at_the_data_distribution_the_gradient_vanishes() {
        let (g, _, _, data) = tiny();
        let m = moments(&data, g.units(), &g.edges, None);
        let grad = centred_gradient(&m, &m, &g.edges);
        assert!(grad.dw.iter().chain(&grad.db).all(|x| x.abs() < 1e-15));
    }
}
