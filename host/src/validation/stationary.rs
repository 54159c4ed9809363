//! The exact stationary distribution of a block-Gibbs chain, by power iteration over all
//! 2^n states, for any arithmetic.
//!
//! One sweep updates partition 0, then 1, ...; updating partition P replaces, for every
//! configuration of the other units, the distribution over P's units by the product of each
//! unit's transition given the others ([`Arithmetic::p_one`]: σ(βh) for floats, the
//! table entry / 2^r for fixed point, Metropolis included). Units of P are independent given
//! the rest, so the update is a Kronecker product of 2 x 2 matrices, applied unit by unit:
//! O(n 2^n) per sweep. The iteration stops when a sweep changes the distribution by less
//! than `tolerance` in L1; for the float arithmetic the result is the Boltzmann distribution
//! (a test checks this), for fixed point it is what the hardware samples, without sampling
//! noise.

use crate::model_file::Built;
use anyhow::{bail, Result};
use calo4p_core::model::Weight;
use calo4p_core::Arithmetic;

/// Most units for which the stationary distribution is computed (2^24 states, 128 MiB).
pub const MAX_UNITS: usize = 24;

/// The stationary distribution, indexed by state (bit i = unit i), and the sweeps it took.
pub struct Stationary {
    /// π(z).
    pub p: Vec<f64>,
    /// Sweeps until convergence.
    pub sweeps: usize,
    /// L1 change of the last sweep.
    pub change: f64,
}

/// Power iteration for the chain that `arith` samples on `built`.
pub fn stationary<A>(built: &Built<A::Weight>, arith: &A, tolerance: f64, max_sweeps: usize) -> Result<Stationary>
where
    A: Arithmetic,
    A::Weight: Weight + Default,
{
    let model = built.model();
    let n = model.num_units();
    if n > MAX_UNITS {
        bail!("the stationary distribution needs all 2^{n} states; the limit is {MAX_UNITS} units");
    }
    let mut neighbours: Vec<Vec<(usize, A::Weight)>> = vec![Vec::new(); n];
    model.for_each_edge(|_, i, j, w| {
        neighbours[i].push((j, w));
        neighbours[j].push((i, w));
    });
    let states = 1usize << n;
    let mut p = vec![1.0 / states as f64; states];
    let mut previous = p.clone();
    for sweep in 1..=max_sweeps {
        for part in 0..model.num_partitions() {
            let range = model.range(part);
            let mut q = vec![0.0; range.len()];
            let mut q_from_one = vec![0.0; range.len()];
            // Every configuration of the units outside the partition.
            let mask: usize = range.clone().map(|i| 1usize << i).sum();
            let mut rest = 0usize;
            loop {
                for (k, i) in range.clone().enumerate() {
                    let mut f = arith.start(model.bias()[i]);
                    for &(j, w) in &neighbours[i] {
                        f = arith.add_if(f, w, ((rest >> j) & 1) as u8);
                    }
                    q[k] = arith.p_one(f, 0);
                    q_from_one[k] = arith.p_one(f, 1);
                }
                // Apply unit by unit: new(z_i) = Σ_old T(old -> new) p(old).
                for (k, i) in range.clone().enumerate() {
                    let bit = 1usize << i;
                    let others = mask & !bit;
                    let mut sub = 0usize;
                    loop {
                        let (s0, s1) = (rest | sub, rest | sub | bit);
                        let (p0, p1) = (p[s0], p[s1]);
                        p[s1] = p0 * q[k] + p1 * q_from_one[k];
                        p[s0] = p0 * (1.0 - q[k]) + p1 * (1.0 - q_from_one[k]);
                        if sub == others {
                            break;
                        }
                        sub = (sub.wrapping_sub(others)) & others;
                    }
                }
                if rest == !mask & (states - 1) {
                    break;
                }
                rest = (rest.wrapping_sub(!mask & (states - 1))) & !mask & (states - 1);
            }
        }
        let change: f64 = p.iter().zip(&previous).map(|(a, b)| (a - b).abs()).sum();
        if change < tolerance {
            return Ok(Stationary { p, sweeps: sweep, change });
        }
        previous.copy_from_slice(&p);
    }
    bail!("the chain's distribution did not settle to {tolerance:e} (L1) within {max_sweeps} sweeps")
}

/// The Boltzmann distribution of the model `built` stores (in its own scaled units).
pub fn boltzmann<W: Weight + Default>(built: &Built<W>, beta: f64) -> Result<Vec<f64>> {
    let model = built.model();
    let n = model.num_units();
    if n > MAX_UNITS {
        bail!("enumerating 2^{n} states; the limit is {MAX_UNITS} units");
    }
    let energies: Vec<f64> = (0..1usize << n).map(|s| model.energy(|i| ((s >> i) & 1) as u8)).collect();
    let low = energies.iter().fold(f64::INFINITY, |m, &e| m.min(e));
    let mut p: Vec<f64> = energies.iter().map(|&e| (-beta * (e - low)).exp()).collect();
    let z: f64 = p.iter().sum();
    p.iter_mut().for_each(|x| *x /= z);
    Ok(p)
}

/// ½ Σ |p − q|.
pub fn total_variation(p: &[f64], q: &[f64]) -> f64 {
    0.5 * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>()
}

/// Unit means and edge second moments (in the model file's edge order) of a distribution.
pub fn moments<W: Copy + Default>(built: &Built<W>, edges: &[(usize, usize)], p: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = built.model().num_units();
    let mut mean = vec![0.0; n];
    let mut edge = vec![0.0; edges.len()];
    for (s, &ps) in p.iter().enumerate() {
        for (i, m) in mean.iter_mut().enumerate() {
            if (s >> i) & 1 == 1 {
                *m += ps;
            }
        }
        for (k, &(i, j)) in edges.iter().enumerate() {
            if (s >> i) & (s >> j) & 1 == 1 {
                edge[k] += ps;
            }
        }
    }
    (mean, edge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{random_model, Selection};
    use calo4p_core::{Fixed, Float, LutSpec, QFormat, Rule};

    /// The float chain's stationary distribution is the Boltzmann distribution, for both
    /// rules: block Gibbs and Metropolis sweeps leave it invariant.
    #[test]
    fn float_chain_is_boltzmann() {
        let file = random_model(1, 4, 3, 2, 1.0, Selection::First).unwrap();
        let built = Built::float(&file).unwrap();
        let exact = boltzmann(&built, 1.3).unwrap();
        for rule in [Rule::HeatBath, Rule::Metropolis] {
            let st = stationary(&built, &Float::<f64>::new(1.3, rule).unwrap(), 1e-13, 20_000).unwrap();
            assert!(total_variation(&st.p, &exact) < 1e-10, "{rule:?}");
        }
    }

    /// Fixed point with a coarse table is biased, a finer table less so.
    #[test]
    fn fixed_chain_bias_shrinks_with_table_bits() {
        let file = random_model(1, 4, 3, 2, 1.0, Selection::First).unwrap();
        let (built, _) = Built::<i16>::fixed(&file, QFormat::Q8_8, false).unwrap();
        let exact = boltzmann(&built, 1.0).unwrap();
        let mut tvs = Vec::new();
        for bits in [8, 12, 16] {
            let spec = LutSpec { bits, index_frac_bits: 8 };
            let mut table = vec![0u16; Fixed::<i16>::table_len(QFormat::Q8_8, spec, 1.0)];
            let arith = Fixed::<i16>::new(QFormat::Q8_8, spec, Rule::HeatBath, 1.0, &mut table).unwrap();
            tvs.push(total_variation(&stationary(&built, &arith, 1e-14, 20_000).unwrap().p, &exact));
        }
        assert!(tvs[0] > tvs[1] && tvs[1] > tvs[2] && tvs[2] > 0.0, "{tvs:?}");
        assert!(tvs[2] < 1e-3, "{tvs:?}");
    }
}
