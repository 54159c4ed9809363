//! Simulated annealing on the host: core's β schedules and update rules with any engine, each
//! read one chain annealed from a random state, the final states aggregated into a dimod
//! SampleSet (distinct rows, `num_occurrences`, energies).
//!
//! The sample set is what an Ocean user saves from a sampler
//! (`json.dump(sampleset.to_serializable(), f)`, schema 3.2.0, BINARY), so everything that
//! takes annealer samples takes it: `qa import`, `qa beta`, `validate` and
//! `dimod.SampleSet.from_serializable`. Variables are labelled by the model's qubits when it
//! has them (as an annealer labels them), by unit index otherwise.
//!
//! Schedules are written `KIND:ARGS` ([`ScheduleSpec`]); an annealer-like programme runs the
//! anneal fraction s through `(time, s)` points with β = β_max · s, so a ramp, a pause and a
//! quench are `annealer:8:0,0:20,0.125:120,0.125:121,1`.

use crate::model_file::{Built, ModelFile, Quantisation};
use crate::progress;
use crate::sample::{Engine, FixedSettings, RngKind};
use anyhow::{bail, Context, Result};
use calo4p_core::anneal::{anneal, Schedule};
use calo4p_core::arithmetic::{Arithmetic, Fixed, Float, Rule};
use calo4p_core::gibbs::{BlockGibbs, Chains};
use calo4p_core::qformat::RawWeight;
use calo4p_core::rng::{self, Pcg32, Xoshiro128PlusPlus};
use rand_core::RngCore;
use serde_json::json;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Reads annealed side by side in one batch (bounds the state memory; results do not depend
/// on it, since read `k` always runs on chain stream `k`).
const BATCH: usize = 1024;

/// A β schedule as the command line spells it.
#[derive(Clone, Debug, PartialEq)]
pub enum ScheduleSpec {
    /// `linear:FROM,TO,SWEEPS`: β in equal steps.
    Linear {
        /// First β.
        from: f64,
        /// Last β.
        to: f64,
        /// Sweeps.
        sweeps: usize,
    },
    /// `geometric:FROM,TO,SWEEPS`: β in equal ratios.
    Geometric {
        /// First β.
        from: f64,
        /// Last β.
        to: f64,
        /// Sweeps.
        sweeps: usize,
    },
    /// `custom:B1,B2,...`: one β per sweep.
    Custom(Vec<f64>),
    /// `annealer:BETA_MAX:T,S:T,S:...`: anneal fraction s through (time, s) points, one sweep
    /// per unit of time, β = β_max · s.
    Annealer {
        /// β at s = 1.
        beta_max: f64,
        /// (time, s) points.
        points: Vec<(f64, f64)>,
    },
}

/// The accepted spellings, for `--help` and errors.
pub const SCHEDULE_HELP: &str = "linear:FROM,TO,SWEEPS | geometric:FROM,TO,SWEEPS | custom:B1,B2,... | \
                                 annealer:BETA_MAX:T,S:T,S:... (s in [0, 1] at sweep T, beta = BETA_MAX * s)";

fn numbers(s: &str, what: &str) -> Result<Vec<f64>> {
    s.split(',').map(|x| x.trim().parse::<f64>().with_context(|| format!("{what}: `{x}` is not a number"))).collect()
}

impl FromStr for ScheduleSpec {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let (kind, args) = s.split_once(':').with_context(|| format!("schedule `{s}`: expected {SCHEDULE_HELP}"))?;
        let spec = match kind {
            "linear" | "geometric" => {
                let v = numbers(args, kind)?;
                let [from, to, sweeps] = v[..] else {
                    bail!("schedule `{s}`: {kind} takes FROM,TO,SWEEPS");
                };
                if !(sweeps >= 1.0 && sweeps.fract() == 0.0) {
                    bail!("schedule `{s}`: SWEEPS {sweeps} is not a positive integer");
                }
                let sweeps = sweeps as usize;
                if kind == "linear" {
                    Self::Linear { from, to, sweeps }
                } else {
                    Self::Geometric { from, to, sweeps }
                }
            }
            "custom" => Self::Custom(numbers(args, kind)?),
            "annealer" => {
                let mut parts = args.split(':');
                let beta_max = parts.next().unwrap_or_default();
                let beta_max = beta_max
                    .trim()
                    .parse::<f64>()
                    .with_context(|| format!("schedule `{s}`: BETA_MAX `{beta_max}` is not a number"))?;
                let points = parts
                    .map(|p| match numbers(p, "annealer point")?[..] {
                        [t, s] => Ok((t, s)),
                        _ => bail!("annealer point `{p}` is not T,S"),
                    })
                    .collect::<Result<Vec<_>>>()
                    .with_context(|| format!("schedule `{s}`"))?;
                Self::Annealer { beta_max, points }
            }
            _ => bail!("schedule `{s}`: unknown kind `{kind}`; expected {SCHEDULE_HELP}"),
        };
        spec.schedule().validate().map_err(|e| anyhow::anyhow!("schedule `{s}`: {e}"))?;
        Ok(spec)
    }
}

impl fmt::Display for ScheduleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(",");
        match self {
            Self::Linear { from, to, sweeps } => write!(f, "linear:{from},{to},{sweeps}"),
            Self::Geometric { from, to, sweeps } => write!(f, "geometric:{from},{to},{sweeps}"),
            Self::Custom(b) => write!(f, "custom:{}", join(&mut b.iter().map(f64::to_string))),
            Self::Annealer { beta_max, points } => {
                write!(f, "annealer:{beta_max}")?;
                points.iter().try_for_each(|(t, s)| write!(f, ":{t},{s}"))
            }
        }
    }
}

impl ScheduleSpec {
    /// core's view of it.
    pub fn schedule(&self) -> Schedule<'_> {
        match *self {
            Self::Linear { from, to, sweeps } => Schedule::Linear { from, to, sweeps },
            Self::Geometric { from, to, sweeps } => Schedule::Geometric { from, to, sweeps },
            Self::Custom(ref b) => Schedule::Custom(b),
            Self::Annealer { beta_max, ref points } => Schedule::Annealer { beta_max, points },
        }
    }

    /// Smallest β of the schedule (it sizes the fixed-point acceptance table).
    pub fn min_beta(&self) -> f64 {
        let s = self.schedule();
        (0..s.len()).map(|k| s.beta(k)).fold(f64::INFINITY, f64::min)
    }

    /// β of the last sweep.
    pub fn final_beta(&self) -> f64 {
        let s = self.schedule();
        s.beta(s.len() - 1)
    }
}

/// Everything an anneal needs besides the model.
#[derive(Clone, Debug)]
pub struct AnnealConfig {
    /// Arithmetic.
    pub engine: Engine,
    /// Update rule.
    pub rule: Rule,
    /// Generator.
    pub rng: RngKind,
    /// β per sweep.
    pub schedule: ScheduleSpec,
    /// Independent reads (chains annealed from random states).
    pub reads: usize,
    /// Seed: read `k` runs on chain stream `k` of this seed.
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
}

/// One distinct final state.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// One byte (0 or 1) per unit.
    pub state: Vec<u8>,
    /// How many reads ended here.
    pub count: u64,
    /// E(z) with the model's own (unquantised) parameters.
    pub energy: f64,
}

/// What an anneal produced.
#[derive(Clone, Debug)]
pub struct AnnealRun {
    /// Distinct final states, lowest energy first.
    pub rows: Vec<Row>,
    /// Fields that saturated the field register (fixed point only).
    pub saturations: u64,
    /// Parameters that saturated on quantisation (fixed point only).
    pub quantisation: Quantisation,
}

/// Anneal `config.reads` chains of `model`.
pub fn run(model: &ModelFile, config: &AnnealConfig) -> Result<AnnealRun> {
    if config.reads == 0 {
        bail!("--reads must be at least 1");
    }
    let mut finals = Vec::with_capacity(config.reads * model.num_units());
    let (saturations, quantisation) = match config.engine {
        Engine::Float => {
            let built = Built::float(model)?;
            let s = with_rng(&built, || Ok(Float::<f64>::new(1.0, config.rule)?), config, &mut finals)?;
            (s, Quantisation::default())
        }
        Engine::Float32 => {
            let built = Built::float32(model)?;
            let s = with_rng(&built, || Ok(Float::<f32>::new(1.0, config.rule)?), config, &mut finals)?;
            (s, Quantisation::default())
        }
        Engine::Fixed(s) => match s.format.bits() {
            0..=8 => fixed::<i8>(model, config, s, &mut finals)?,
            9..=16 => fixed::<i16>(model, config, s, &mut finals)?,
            _ => fixed::<i32>(model, config, s, &mut finals)?,
        },
    };
    let rows = aggregate(model, &finals);
    let energies: Vec<f64> = rows.iter().map(|r| r.energy).collect();
    // JSON has no NaN or infinity: serde_json would write `null`, a file nothing reads back.
    crate::validation::finite::require("the reads' energies E(z)", &[("read", &energies)])?;
    Ok(AnnealRun { rows, saturations, quantisation })
}

fn fixed<W: RawWeight>(
    model: &ModelFile,
    config: &AnnealConfig,
    s: FixedSettings,
    finals: &mut Vec<u8>,
) -> Result<(u64, Quantisation)> {
    if s.field.frac_bits() != s.format.frac_bits() {
        bail!("field format {} must have the fractional bits of the weight format {}", s.field, s.format);
    }
    let (built, quantisation) = Built::<W>::fixed(model, s.format, s.strict)?;
    // The table is rebuilt for every β; the smallest β needs the longest one.
    let min_beta = config.schedule.min_beta();
    let mut table = vec![0u16; Fixed::<W>::table_len(s.field, s.lut, min_beta)];
    let mut saturations = 0;
    for first in (0..config.reads).step_by(BATCH) {
        let arith = Fixed::<W>::new(s.field, s.lut, config.rule, min_beta, &mut table)?;
        saturations += batch(&built, arith, config, first, finals)?;
    }
    Ok((saturations, quantisation))
}

fn with_rng<W, A>(
    built: &Built<W>,
    arith: impl Fn() -> Result<A>,
    config: &AnnealConfig,
    finals: &mut Vec<u8>,
) -> Result<u64>
where
    W: Copy + Default + calo4p_core::model::Weight,
    A: Arithmetic<Weight = W>,
{
    let mut saturations = 0;
    for first in (0..config.reads).step_by(BATCH) {
        saturations += batch(built, arith()?, config, first, finals)?;
    }
    Ok(saturations)
}

/// Anneal reads `first..first + BATCH` (or up to `config.reads`), appending their final states.
fn batch<W, A>(built: &Built<W>, mut arith: A, config: &AnnealConfig, first: usize, finals: &mut Vec<u8>) -> Result<u64>
where
    W: Copy + Default + calo4p_core::model::Weight,
    A: Arithmetic<Weight = W>,
{
    let c = BATCH.min(config.reads - first);
    match config.rng {
        RngKind::Pcg32 => {
            let mut rngs = vec![Pcg32::new(0, 0); c];
            rng::chain_streams(config.seed, first as u64, &mut rngs);
            anneal_chains(built, &mut arith, config, &mut rngs, first, finals)?;
        }
        RngKind::Xoshiro => {
            let mut rngs = vec![Xoshiro128PlusPlus::from_u64(0); c];
            Xoshiro128PlusPlus::chain_streams(config.seed, first as u64, &mut rngs);
            anneal_chains(built, &mut arith, config, &mut rngs, first, finals)?;
        }
    }
    Ok(arith.saturations())
}

fn anneal_chains<W, A, R>(
    built: &Built<W>,
    arith: &mut A,
    config: &AnnealConfig,
    rngs: &mut [R],
    first: usize,
    finals: &mut Vec<u8>,
) -> Result<()>
where
    W: Copy + Default + calo4p_core::model::Weight,
    A: Arithmetic<Weight = W>,
    R: RngCore,
{
    let m = built.model();
    let (n, c) = (m.num_units(), rngs.len());
    let mut state = vec![0u8; n * c];
    let mut chains = Chains::new(&mut state, n, c)?;
    chains.randomise(rngs);
    let sampler = BlockGibbs::new(m);
    let mut fields = vec![A::Field::default(); sampler.scratch_len(c)];
    let schedule = config.schedule.schedule();
    let what = format!("annealing reads {}..{} of {}", first + 1, first + c, config.reads);
    let bar = progress::bar(schedule.len() as u64, config.progress, &what, "sweeps");
    anneal(&sampler, &schedule, arith, &mut chains, rngs, &mut fields, |_, _, _| bar.inc(1))
        .map_err(|e| anyhow::anyhow!("annealing: {e}"))?;
    bar.finish_and_clear();
    let mut row = vec![0u8; n];
    for k in 0..c {
        chains.row(k, &mut row);
        finals.extend_from_slice(&row);
    }
    Ok(())
}

/// Distinct rows of `finals` (one byte per unit, read after read) with their counts and
/// energies, lowest energy first (ties in order of first occurrence).
pub fn aggregate(model: &ModelFile, finals: &[u8]) -> Vec<Row> {
    let n = model.num_units();
    let mut index: HashMap<&[u8], usize> = HashMap::new();
    let mut rows: Vec<Row> = Vec::new();
    for state in finals.chunks_exact(n.max(1)) {
        match index.get(state) {
            Some(&r) => rows[r].count += 1,
            None => {
                index.insert(state, rows.len());
                rows.push(Row { state: state.to_vec(), count: 1, energy: crate::exact::energy(model, state) });
            }
        }
    }
    rows.sort_by(|a, b| a.energy.total_cmp(&b.energy));
    rows
}

/// The rows as dimod's `SampleSet.to_serializable()` JSON (schema 3.2.0, BINARY, unpacked
/// int8 samples), with `info` saying how they were made.
pub fn sampleset_json(model: &ModelFile, rows: &[Row], info: serde_json::Value) -> serde_json::Value {
    let n = model.num_units();
    let labels: Vec<u64> = match &model.qubits {
        Some(q) if q.len() == n => q.iter().map(|&q| u64::from(q)).collect(),
        _ => (0..n as u64).collect(),
    };
    let array = |data: serde_json::Value, data_type: &str, shape: serde_json::Value| json!({"type": "array", "data": data, "data_type": data_type, "shape": shape, "use_bytes": false});
    json!({
        "type": "SampleSet",
        "version": {"sampleset_schema": "3.2.0"},
        "num_variables": n,
        "num_rows": rows.len(),
        "sample_data": array(rows.iter().map(|r| r.state.clone()).collect(), "int8", json!([rows.len(), n])),
        "sample_type": "int8",
        "sample_packed": false,
        "vectors": {
            "energy": array(rows.iter().map(|r| r.energy).collect(), "float64", json!([rows.len()])),
            "num_occurrences": array(rows.iter().map(|r| r.count).collect(), "int64", json!([rows.len()])),
        },
        "variable_labels": labels,
        "variable_type": "BINARY",
        "info": info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_spellings_round_trip() {
        for s in ["linear:0.1,2,50", "geometric:0.05,4,20", "custom:0.5,1,2", "annealer:8:0,0:20,0.125:120,0.125:121,1"]
        {
            let spec: ScheduleSpec = s.parse().unwrap();
            assert_eq!(spec.to_string(), s);
        }
        let spec: ScheduleSpec = "annealer:8:0,0:20,0.125:120,0.125:121,1".parse().unwrap();
        assert_eq!(spec.schedule().len(), 122);
        assert_eq!((spec.min_beta(), spec.final_beta()), (8e-3, 8.0));
        let geo: ScheduleSpec = "geometric:0.05,4,20".parse().unwrap();
        assert!((geo.final_beta() - 4.0).abs() < 1e-12);
    }

    #[test]
    fn bad_schedules_are_named() {
        for (s, want) in [
            ("linear:0.1,2", "FROM,TO,SWEEPS"),
            ("linear:0.1,2,2.5", "positive integer"),
            ("geometric:0,2,10", "finite and positive"),
            ("custom:1,x", "`x` is not a number"),
            ("annealer:8:1,0:2,1", "increasing in time"),
            ("annealer:8:0,0:2,1.5", "schedule `annealer"),
            ("cosine:1,2,3", "unknown kind `cosine`"),
            ("linear", "expected linear:"),
        ] {
            let e = format!("{:#}", s.parse::<ScheduleSpec>().unwrap_err());
            assert!(e.contains(want), "{s}: {e}");
        }
    }

    #[test]
    fn aggregation_counts_and_sorts_by_energy() {
        let model = ModelFile::parse(br#"{"partition": [0, 1], "bias": [1.0, -0.5], "edges": [[0, 1, 2.0]]}"#).unwrap();
        let finals = [0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1];
        let rows = aggregate(&model, &finals);
        let got: Vec<(Vec<u8>, u64, f64)> = rows.iter().map(|r| (r.state.clone(), r.count, r.energy)).collect();
        assert_eq!(got, vec![(vec![1, 1], 3, -2.5), (vec![1, 0], 1, -1.0), (vec![0, 0], 2, 0.0)]);
        let v = sampleset_json(&model, &rows, json!({}));
        assert_eq!(v["num_rows"], 3);
        assert_eq!(v["vectors"]["num_occurrences"]["data"], json!([3, 1, 2]));
        assert_eq!(v["variable_labels"], json!([0, 1]));
    }
}
