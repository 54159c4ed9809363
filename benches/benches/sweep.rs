//! One block-Gibbs sweep of the 1208-unit Z(6,4) model (302 units per partition) over many
//! chains side by side: spin updates per second for f64, f32 and fixed Q8.8 (16-bit table).
//!
//! `cargo bench -p calo4p-benches --bench sweep`

use calo4p::model_file::Built;
use calo4p::topology::{random_model, Selection};
use calo4p_core::gibbs::BlockGibbs;
use calo4p_core::rng::{chain_streams, Pcg32, Xoshiro128PlusPlus};
use calo4p_core::{Arithmetic, Chains, Fixed, Float, LutSpec, Model, QFormat, Rule};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand_core::RngCore;

fn bench_engine<A, R>(c: &mut Criterion, name: &str, model: Model<'_, A::Weight>, mut arith: A, mut rngs: Vec<R>)
where
    A: Arithmetic,
    A::Weight: Copy,
    R: RngCore,
{
    let chains = rngs.len();
    let n = model.num_units();
    let mut state = vec![0u8; n * chains];
    let mut ch = Chains::new(&mut state, n, chains).unwrap();
    ch.randomise(&mut rngs);
    let sampler = BlockGibbs::new(model);
    let mut fields = vec![A::Field::default(); sampler.scratch_len(chains)];
    let mut group = c.benchmark_group("sweep_z64_1208");
    group.throughput(Throughput::Elements((n * chains) as u64));
    group.bench_function(BenchmarkId::new(name, chains), |b| {
        b.iter(|| sampler.sweep(&mut arith, &mut ch, &mut rngs, &mut fields).unwrap())
    });
    group.finish();
}

fn sweeps(c: &mut Criterion) {
    let file = random_model(6, 4, 302, 1, 1.0, Selection::First).unwrap();
    let f64m = Built::<f64>::float(&file).unwrap();
    let f32m = Built::<f32>::float32(&file).unwrap();
    let (q88, _) = Built::<i16>::fixed(&file, QFormat::Q8_8, false).unwrap();
    let mut table = vec![0u16; Fixed::<i16>::table_len(QFormat::Q8_8, LutSpec::exact(8), 1.0)];
    for chains in [1usize, 64, 256] {
        let pcg = || {
            let mut r = vec![Pcg32::new(0, 0); chains];
            chain_streams(1, 0, &mut r);
            r
        };
        bench_engine(c, "f64_pcg32", f64m.model(), Float::<f64>::new(1.0, Rule::HeatBath).unwrap(), pcg());
        bench_engine(c, "f32_pcg32", f32m.model(), Float::<f32>::new(1.0, Rule::HeatBath).unwrap(), pcg());
        let fixed = Fixed::<i16>::new(QFormat::Q8_8, LutSpec::exact(8), Rule::HeatBath, 1.0, &mut table).unwrap();
        bench_engine(c, "q8.8_pcg32", q88.model(), fixed, pcg());
        let mut x = vec![Xoshiro128PlusPlus::from_u64(0); chains];
        Xoshiro128PlusPlus::chain_streams(1, 0, &mut x);
        let fixed = Fixed::<i16>::new(QFormat::Q8_8, LutSpec::exact(8), Rule::HeatBath, 1.0, &mut table).unwrap();
        bench_engine(c, "q8.8_xoshiro", q88.model(), fixed, x);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = sweeps
}
criterion_main!(benches);
