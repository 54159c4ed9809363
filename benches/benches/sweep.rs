//! One block-Gibbs sweep of the 1208-unit Z(6,4) model (302 units per partition) over many
//! chains side by side: spin updates per second for f64, f32 and fixed Q8.8 (16-bit table),
//! on every instruction-set path this processor has; and whole `sample` runs (threads,
//! recording) at 1024 chains.
//!
//! `cargo bench -p calo4p-benches --bench sweep [-- FILTER]`

use calo4p::model_file::Built;
use calo4p::sample::{self, Engine, FixedSettings, SampleConfig};
use calo4p::topology::{random_model, Selection};
use calo4p_core::gibbs::{BlockGibbs, Isa};
use calo4p_core::rng::{chain_streams, Pcg32, Pcg32Lanes, Streams, Xoshiro128PlusPlus, XoshiroLanes};
use calo4p_core::{Arithmetic, Chains, Fixed, Float, LutSpec, Model, QFormat, Rule};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn bench_engine<A, S>(c: &mut Criterion, name: &str, isa: Isa, model: Model<'_, A::Weight>, mut arith: A, rngs: &mut S)
where
    A: Arithmetic,
    A::Weight: Copy,
    S: Streams + ?Sized,
{
    let Some(sampler) = BlockGibbs::new(model).with_isa(isa) else { return };
    let chains = rngs.count();
    let n = model.num_units();
    let mut state = vec![0u8; n * chains];
    let mut ch = Chains::new(&mut state, n, chains).unwrap();
    ch.randomise_streams(rngs);
    let mut fields = vec![A::Field::default(); sampler.scratch_len(chains)];
    let mut group = c.benchmark_group("sweep_z64_1208");
    group.throughput(Throughput::Elements((n * chains) as u64));
    group.bench_function(BenchmarkId::new(format!("{name}/{isa:?}"), chains), |b| {
        b.iter(|| sampler.sweep_streams(&mut arith, &mut ch, rngs, &mut fields).unwrap())
    });
    group.finish();
}

fn sweeps(c: &mut Criterion) {
    let file = random_model(6, 4, 302, 1, 1.0, Selection::First).unwrap();
    let f64m = Built::<f64>::float(&file).unwrap();
    let f32m = Built::<f32>::float32(&file).unwrap();
    let (q88, _) = Built::<i16>::fixed(&file, QFormat::Q8_8, false).unwrap();
    let len = Fixed::<i16>::table_len(QFormat::Q8_8, LutSpec::exact(8), 1.0);
    let (mut table, mut wide) = (vec![0u16; len], vec![0u32; len]);
    let best = Isa::detect();
    for chains in [1usize, 64, 256, 1024] {
        let pcg = || {
            let mut r = vec![Pcg32::new(0, 0); chains];
            chain_streams(1, 0, &mut r);
            r
        };
        let float = |rule| Float::<f64>::new(1.0, rule).unwrap();
        bench_engine(c, "f64_pcg32", best, f64m.model(), float(Rule::HeatBath), &mut pcg()[..]);
        bench_engine(
            c,
            "f32_pcg32",
            best,
            f32m.model(),
            Float::<f32>::new(1.0, Rule::HeatBath).unwrap(),
            &mut pcg()[..],
        );
        // Per-chain generator objects and the u16 table: the plain kernel.
        let fixed = Fixed::<i16>::new(QFormat::Q8_8, LutSpec::exact(8), Rule::HeatBath, 1.0, &mut table).unwrap();
        bench_engine(c, "q8.8_pcg32", best, q88.model(), fixed, &mut pcg()[..]);
        // Structure-of-arrays generators and the widened table (what `sample` runs), per path.
        for isa in Isa::ALL {
            let fixed = Fixed::<i16>::new(QFormat::Q8_8, LutSpec::exact(8), Rule::HeatBath, 1.0, &mut table)
                .unwrap()
                .with_wide_table(&mut wide);
            let mut words = vec![0u64; 2 * chains];
            bench_engine(c, "q8.8_pcg32_lanes", isa, q88.model(), fixed, &mut Pcg32Lanes::new(&mut words, 1, 0));
        }
        let fixed = Fixed::<i16>::new(QFormat::Q8_8, LutSpec::exact(8), Rule::HeatBath, 1.0, &mut table)
            .unwrap()
            .with_wide_table(&mut wide);
        let mut words = vec![0u32; 4 * chains];
        bench_engine(c, "q8.8_xoshiro_lanes", best, q88.model(), fixed, &mut XoshiroLanes::new(&mut words, 1, 0));
        let mut x = vec![Xoshiro128PlusPlus::from_u64(0); chains];
        Xoshiro128PlusPlus::chain_streams(1, 0, &mut x);
        let fixed = Fixed::<i16>::new(QFormat::Q8_8, LutSpec::exact(8), Rule::HeatBath, 1.0, &mut table).unwrap();
        bench_engine(c, "q8.8_xoshiro", best, q88.model(), fixed, &mut x[..]);
    }
}

/// Whole runs of `sample` (quantisation, blocks over threads, recording), 1024 chains,
/// 20 sweeps: all burn-in, or all recorded (moments after every sweep).
fn sample_runs(c: &mut Criterion) {
    let file = random_model(6, 4, 302, 1, 1.0, Selection::First).unwrap();
    let chains = 1024;
    let mut group = c.benchmark_group("sample_z64_1208");
    group.throughput(Throughput::Elements((file.num_units() * chains * 20) as u64));
    group.sample_size(10);
    for (name, engine) in [
        ("q8.8", Engine::Fixed(FixedSettings::new(QFormat::Q8_8, 16))),
        ("f32", Engine::Float32),
        ("f64", Engine::Float),
    ] {
        for (what, burn_in, sweeps) in [("burn_in", 19, 1), ("recorded", 0, 20)] {
            let cfg = SampleConfig::new(engine, chains, sweeps, burn_in, 1);
            group.bench_function(BenchmarkId::new(format!("{name}/{what}"), chains), |b| {
                b.iter(|| sample::run(&file, &cfg).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = sweeps, sample_runs
}
criterion_main!(benches);
