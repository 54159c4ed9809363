//! Instructions per spin update of the fixed-point block Gibbs kernel, counted by callgrind
//! through gungraun (stable on a noisy machine, unlike time).
//!
//! Each benchmark runs 10 sweeps of the 1208-unit Z(6,4) model (302 units per partition,
//! N(0,1), seed 1) over 1024 chains, Q8.8 weights and fields, a 16-bit table, as
//! `calo4p sample` runs them: structure-of-arrays streams, the widened table, gather plans built
//! once. `burn_in` sweeps only; `recorded` also carries energies and counts of ones through the
//! kernel and records moments after every sweep. Set-up (model, quantisation, table, plans,
//! random start, and the tracker's first energy sum) is outside the counted function. Divide the instructions gungraun reports by
//! 10 x 1024 x 1208 = 12,369,920 updates.
//!
//! ```sh
//! cargo install gungraun-runner --version 0.20.0
//! cargo bench -p calo4p-benches --bench ipu
//! ```
//!
//! Valgrind emulates no AVX-512, so the kernel's run-time dispatch picks its AVX2 path.

use calo4p::model_file::Built;
use calo4p::topology::{random_model, Selection};
use calo4p_core::gibbs::{BlockGibbs, Plans};
use calo4p_core::rng::{Pcg32Lanes, Streams, XoshiroLanes};
use calo4p_core::stats::{Moments, Tracker};
use calo4p_core::{Chains, Fixed, LutSpec, QFormat, Rule};
use gungraun::{library_benchmark, library_benchmark_group, main};
use std::hint::black_box;

const CHAINS: usize = 1024;
const SWEEPS: usize = 10;

/// Storage that lives as long as the benchmark process (set-up runs once per benchmark).
fn leak<T>(x: T) -> &'static mut T {
    Box::leak(Box::new(x))
}

/// Everything a counted run needs, built outside the count.
struct Run<S: Streams + 'static> {
    sampler: BlockGibbs<'static, i16>,
    arith: Fixed<'static, i16>,
    chains: Chains<'static>,
    streams: S,
    fields: Vec<i32>,
    plans: Plans<'static>,
    /// Moments and the tracker of every chain's energy and ones, for recorded runs.
    record: Option<(Moments<'static>, Tracker<'static>)>,
}

impl<S: Streams + 'static> Run<S> {
    /// With moments and a tracker made from the current state.
    fn recording(mut self) -> Self {
        let model = *self.sampler.model();
        let (n, slots) = (model.num_units(), model.num_slots());
        let moments =
            Moments::new(leak(vec![0u64; n]), leak(vec![0u64; slots]), leak(vec![0u64; Moments::packed_len(n)]));
        let tracker = Tracker::new(&model, &self.chains, leak(vec![0i32; CHAINS]), leak(vec![0i32; CHAINS]));
        self.record = Some((moments, tracker.expect("integer model")));
        self
    }
}

fn setup<S: Streams + 'static>(streams: impl FnOnce() -> S) -> Run<S> {
    let file = random_model(6, 4, 302, 1, 1.0, Selection::First).expect("model");
    let (built, _) = Built::<i16>::fixed(&file, QFormat::Q8_8, false).expect("quantise");
    let built = leak(built);
    let model = built.model();
    let sampler = BlockGibbs::new(model);
    let spec = LutSpec::exact(8);
    let len = Fixed::<i16>::table_len(QFormat::Q8_8, spec, 1.0);
    let (table, wide) = (leak(vec![0u16; len]), leak(vec![0u32; len]));
    let arith =
        Fixed::<i16>::new(QFormat::Q8_8, spec, Rule::HeatBath, 1.0, table).expect("table").with_wide_table(wide);
    let n = model.num_units();
    let mut streams = streams();
    let mut chains = Chains::new(leak(vec![0u8; n * CHAINS]), n, CHAINS).expect("chains");
    chains.randomise_streams(&mut streams);
    let plans = sampler.plans(&arith, CHAINS, leak(vec![0i32; sampler.plans_len()]));
    Run { sampler, arith, chains, streams, fields: vec![0; sampler.scratch_len(CHAINS)], plans, record: None }
}

fn pcg32() -> Run<Pcg32Lanes<'static>> {
    setup(|| Pcg32Lanes::new(leak(vec![0u64; 2 * CHAINS]), 1, 0))
}

fn xoshiro() -> Run<XoshiroLanes<'static>> {
    setup(|| XoshiroLanes::new(leak(vec![0u32; 4 * CHAINS]), 1, 0))
}

fn pcg32_recording() -> Run<Pcg32Lanes<'static>> {
    pcg32().recording()
}

fn xoshiro_recording() -> Run<XoshiroLanes<'static>> {
    xoshiro().recording()
}

/// Burn-in: sweeps alone.
fn sweep_only<S: Streams>(r: &mut Run<S>) -> u64 {
    for _ in 0..SWEEPS {
        r.sampler.sweep_with(&mut r.arith, &mut r.chains, &mut r.streams, &mut r.fields, &r.plans, &mut ()).unwrap();
    }
    r.chains.state()[0] as u64
}

/// Recorded sweeps: energies and ones carried through the kernel, moments after every sweep.
fn sweep_and_record<S: Streams>(r: &mut Run<S>) -> u64 {
    let model = *r.sampler.model();
    let Some((moments, tracker)) = r.record.as_mut() else { return 0 };
    for _ in 0..SWEEPS {
        r.sampler.sweep_with(&mut r.arith, &mut r.chains, &mut r.streams, &mut r.fields, &r.plans, tracker).unwrap();
        moments.record_tracked(&model, &r.chains, tracker);
    }
    moments.num_samples()
}

// The counted functions (gungraun takes neither generics nor doc comments on them).
#[library_benchmark]
#[bench::pcg32(setup = pcg32)]
fn burn_in_pcg32(mut r: Run<Pcg32Lanes<'static>>) -> u64 {
    black_box(sweep_only(&mut r))
}

#[library_benchmark]
#[bench::xoshiro(setup = xoshiro)]
fn burn_in_xoshiro(mut r: Run<XoshiroLanes<'static>>) -> u64 {
    black_box(sweep_only(&mut r))
}

#[library_benchmark]
#[bench::pcg32(setup = pcg32_recording)]
fn recorded_pcg32(mut r: Run<Pcg32Lanes<'static>>) -> u64 {
    black_box(sweep_and_record(&mut r))
}

#[library_benchmark]
#[bench::xoshiro(setup = xoshiro_recording)]
fn recorded_xoshiro(mut r: Run<XoshiroLanes<'static>>) -> u64 {
    black_box(sweep_and_record(&mut r))
}

library_benchmark_group!(
    name = sweeps,
    benchmarks = [burn_in_pcg32, burn_in_xoshiro, recorded_pcg32, recorded_xoshiro]
);
main!(library_benchmark_groups = sweeps);
