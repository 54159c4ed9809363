//! Simulated annealing finds the ground state of a small model, in float and fixed point,
//! with heat-bath and Metropolis updates.

use calo4p::model_file::{Built, ModelFile};
use calo4p::topology::{random_model, Selection};
use calo4p_core::anneal::{anneal, Schedule};
use calo4p_core::gibbs::BlockGibbs;
use calo4p_core::model::Weight;
use calo4p_core::rng::{chain_streams, Pcg32};
use calo4p_core::{Arithmetic, Chains, Fixed, Float, LutSpec, QFormat, Rule};

/// The lowest energy over all 2^n states.
fn ground_state(model: &ModelFile) -> f64 {
    let n = model.num_units();
    (0u32..1 << n)
        .map(|s| {
            let z = |i: usize| (s >> i) & 1 == 1;
            let mut e = 0.0;
            for i in 0..n {
                if z(i) {
                    e -= model.bias[i];
                }
            }
            for ed in &model.edges {
                if z(ed.i) && z(ed.j) {
                    e -= ed.w;
                }
            }
            e
        })
        .fold(f64::INFINITY, f64::min)
}

fn lowest_found<A>(built: &Built<A::Weight>, mut arith: A, schedule: &Schedule<'_>) -> f64
where
    A: Arithmetic,
    A::Weight: Weight + Default,
{
    let model = built.model();
    let (n, c) = (model.num_units(), 16);
    let mut rngs = vec![Pcg32::new(0, 0); c];
    chain_streams(77, 0, &mut rngs);
    let mut state = vec![0u8; n * c];
    let mut chains = Chains::new(&mut state, n, c).unwrap();
    chains.randomise(&mut rngs);
    let sampler = BlockGibbs::new(model);
    let mut fields = vec![A::Field::default(); sampler.scratch_len(c)];
    let mut best = f64::INFINITY;
    anneal(&sampler, schedule, &mut arith, &mut chains, &mut rngs, &mut fields, |_, _, ch| {
        for k in 0..c {
            best = best.min(model.energy(|i| ch.get(i, k)));
        }
    })
    .unwrap();
    best
}

#[test]
fn annealing_reaches_the_ground_state() {
    let file = random_model(1, 4, 5, 9, 1.0, Selection::First).unwrap();
    let (quantised, _) = file.quantised(QFormat::Q8_8).unwrap();
    let (e_float, e_fixed) = (ground_state(&file), ground_state(&quantised));
    let pts = [(0.0, 0.0), (150.0, 0.6), (250.0, 0.6), (260.0, 1.0)];
    let schedules =
        [Schedule::Geometric { from: 0.05, to: 8.0, sweeps: 300 }, Schedule::Annealer { beta_max: 8.0, points: &pts }];
    for schedule in &schedules {
        for rule in [Rule::HeatBath, Rule::Metropolis] {
            let float = Built::float(&file).unwrap();
            let found = lowest_found(&float, Float::<f64>::new(1.0, rule).unwrap(), schedule);
            assert!((found - e_float).abs() < 1e-9, "float {rule:?}: {found} vs {e_float}");
            let (fixed, _) = Built::<i16>::fixed(&file, QFormat::Q8_8, false).unwrap();
            // Storage for the smallest β of the schedule.
            let mut table = vec![0u16; Fixed::<i16>::table_len(QFormat::Q8_8, LutSpec::exact(8), 0.008)];
            let arith = Fixed::<i16>::new(QFormat::Q8_8, LutSpec::exact(8), rule, 1.0, &mut table).unwrap();
            let found = lowest_found(&fixed, arith, schedule);
            assert!((found - e_fixed).abs() < 1e-9, "fixed {rule:?}: {found} vs {e_fixed}");
        }
    }
}
