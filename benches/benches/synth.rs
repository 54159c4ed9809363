//! Throughput of the built-in shower generator, one core: showers per second for
//! ds1-photons (the issue asks for at least 10^4) and, for scale, ds2.

use calo4p::data::synth::Generator;
use calo4p::data::GeometryKind;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn synth(c: &mut Criterion) {
    let mut group = c.benchmark_group("synth");
    for (kind, n) in [(GeometryKind::Ds1Photons, 1000u64), (GeometryKind::Ds2, 100)] {
        let generator = Generator::new(&kind.geometry());
        group.throughput(Throughput::Elements(n));
        let mut seed = 0u64;
        group.bench_function(format!("{kind}_{n}_showers"), |b| {
            b.iter(|| {
                seed += 1;
                generator.generate_range(seed, 0..n)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, synth);
criterion_main!(benches);
