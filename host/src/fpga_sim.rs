//! `calo4p fpga-sim`: run a model on a simulated accelerator (`calo4p-fpga-sim`), count its
//! cycles and resources, and record what it samples in `calo4p sample`'s file layouts, so
//! `calo4p validate` reads the results unchanged. `calo4p fpga-sim sweep` varies lanes,
//! adder width and memory ports and shows where a design stops scaling.

use crate::model_file::{Built, ModelFile};
use crate::progress;
use crate::report::{line_plot, print_table, Report, Scale, Series};
use crate::statistics::Statistics;
use anyhow::{bail, Context, Result};
use calo4p_core::arithmetic::Fixed;
use calo4p_core::gibbs::Chains;
use calo4p_core::qformat::RawWeight;
use calo4p_core::stats::{magnetisation, Moments};
use calo4p_fpga_sim::resources::{self, Resources};
use calo4p_fpga_sim::{Accelerator, Cycles, MemoryNeeds, Rates};
pub use calo4p_fpga_sim::{HwConfig, Layout};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `calo4p fpga-sim`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct FpgaSimArgs {
    /// `sweep`: vary the design instead of running it.
    #[command(subcommand)]
    pub command: Option<FpgaSimCommand>,
    /// The run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands of `calo4p fpga-sim`.
#[derive(Subcommand, Debug)]
pub enum FpgaSimCommand {
    /// Vary lanes, adder width and memory ports: cycles, updates/ns and resources per point.
    Sweep(SweepArgs),
    /// Write the accelerator's RTL for a model: top level, parameter header, memory images
    /// (.mem, Intel HEX, .coe), C header and Verilator testbench.
    Rtl(crate::fpga_rtl::RtlArgs),
    /// Build the RTL with Verilator and compare every update, state and the cycle counter
    /// with fpga-sim and core (exit 1 on a difference).
    Cosim(crate::fpga_rtl::CosimArgs),
    /// Synthesise the RTL with yosys (ice40, ecp5, xilinx) and place and route it with
    /// nextpnr (iCE40, ECP5): resources, Fmax and updates/ns.
    Synth(crate::fpga_rtl::SynthArgs),
}

/// A run on one configuration.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Model file.
    #[arg(short, long, required = true)]
    pub model: Option<PathBuf>,
    /// Hardware: a preset (pbit-array, mcu-lane, bram-pipelined, niazi2024, ice40-up5k, ecp5-85) or a JSON file.
    #[arg(long, default_value = "bram-pipelined")]
    pub hw: String,
    /// Chains (time-multiplexed through the lanes).
    #[arg(long, default_value_t = 100)]
    pub chains: usize,
    /// Recorded sweeps per chain.
    #[arg(long, default_value_t = 1000)]
    pub sweeps: usize,
    /// Sweeps discarded first.
    #[arg(long, default_value_t = 100)]
    pub burn_in: usize,
    /// Seed of the lane generators (stream g*C + c: xoshiro128++ jumped that many times).
    #[arg(short, long, default_value_t = 0)]
    pub seed: u64,
    /// Inverse temperature (folded into the acceptance table).
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::beta)]
    pub beta: f64,
    /// Devices the model is split over (partitioned mode).
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// η = f_comm / f_update: boundary states refreshed every round(1/η) colour phases.
    #[arg(long, default_value_t = 1.0)]
    pub eta: f64,
    /// Refuse parameters outside the hardware's format instead of saturating them.
    #[arg(long)]
    pub strict: bool,
    /// Write statistics JSON here (`calo4p sample --stats` layout; `-` = standard output).
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Write the samples (rows of uint8 units, sweep by sweep, chains within) to this .npy.
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Write an HTML report (cycles, rates, resources) into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Hide the progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `calo4p fpga-sim sweep`.
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// Model file.
    #[arg(short, long)]
    pub model: PathBuf,
    /// Base hardware: a preset or a JSON file.
    #[arg(long, default_value = "bram-pipelined")]
    pub hw: String,
    /// Lane counts.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32,64,128,256")]
    pub lanes: Vec<u32>,
    /// Adder widths (terms per lane per cycle).
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub adder_width: Vec<u32>,
    /// Read ports per bank of the weight, state and table memories.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub ports: Vec<u32>,
    /// Chains.
    #[arg(long, default_value_t = 1)]
    pub chains: usize,
    /// Write an HTML report (table and plot) into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A hardware configuration from a preset name or a JSON file.
pub fn load_hw(spec: &str) -> Result<HwConfig> {
    if let Some(hw) = HwConfig::preset(spec) {
        return Ok(hw);
    }
    let path = Path::new(spec);
    if !path.exists() {
        let names: Vec<&str> = calo4p_fpga_sim::config::PRESETS.iter().map(|p| p.0).collect();
        bail!("--hw {spec}: neither a preset ({}) nor a file", names.join(", "));
    }
    let text = crate::memory::read_text(path, crate::memory::MAX_JSON_INPUT, "--hw file")?;
    HwConfig::from_json(&text).with_context(|| format!("--hw {}", path.display()))
}

/// What a run needs besides the model and the hardware.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Chains.
    pub chains: usize,
    /// Recorded sweeps.
    pub sweeps: usize,
    /// Discarded sweeps.
    pub burn_in: usize,
    /// Seed.
    pub seed: u64,
    /// Inverse temperature.
    pub beta: f64,
    /// Devices and η.
    pub layout: Layout,
    /// Refuse out-of-range parameters.
    pub strict: bool,
    /// Keep the samples.
    pub keep_samples: bool,
    /// Show progress.
    pub progress: bool,
}

/// What a run produced.
#[derive(Clone, Debug, Serialize)]
pub struct RunOutput {
    /// Hardware name.
    pub hardware: String,
    /// Devices.
    pub devices: usize,
    /// η.
    pub eta: f64,
    /// Chains, recorded sweeps, burn-in.
    pub chains: usize,
    /// Recorded sweeps.
    pub sweeps: usize,
    /// Burn-in sweeps.
    pub burn_in: usize,
    /// Cycles of the whole run (burn-in included).
    pub cycles: Cycles,
    /// Cycles of one sweep.
    pub cycles_per_sweep: f64,
    /// Rates at the configured clock.
    pub rates: Rates,
    /// Memory needs of the model (fullest device).
    pub memory: MemoryNeeds,
    /// Resource estimate per device.
    pub resources: Resources,
    /// Fields that saturated the field register.
    pub saturations: u64,
    /// Parameters saturated on quantisation.
    pub quantisation_saturations: usize,
    /// Moments in file order (`calo4p sample`'s statistics layout).
    #[serde(skip)]
    pub stats: Statistics,
    /// Samples (sweep-major, then chain), when kept.
    #[serde(skip)]
    pub samples: Vec<u8>,
}

/// Run `model` on `hw`.
pub fn run(model: &ModelFile, hw: &HwConfig, cfg: &RunConfig) -> Result<RunOutput> {
    if cfg.chains == 0 || cfg.sweeps == 0 {
        bail!("need at least one chain and one sweep");
    }
    let f = hw.formats()?;
    if f.weight.bits() <= 8 {
        run_with::<i8>(model, hw, cfg)
    } else {
        run_with::<i16>(model, hw, cfg)
    }
}

fn run_with<W: RawWeight>(model: &ModelFile, hw: &HwConfig, cfg: &RunConfig) -> Result<RunOutput> {
    let f = hw.formats()?;
    let (built, quantisation) = Built::<W>::fixed(model, f.weight, cfg.strict)?;
    let m = built.model();
    let c = cfg.chains;
    let mut acc = Accelerator::new(hw, m, None, c, cfg.beta, cfg.layout)?;
    let mut table = vec![0u16; acc.table_len()];
    let mut arith = Fixed::<W>::new(f.field, f.lut, f.rule, cfg.beta, &mut table)?;
    let mut rngs = acc.rngs(cfg.seed, c);
    let n = m.num_units();
    let mut state = vec![0u8; n * c];
    // Random starts as `calo4p sample` makes them: one draw per unit from the first C streams.
    Chains::new(&mut state, n, c)?.randomise(&mut rngs);
    let mut unit_ones = vec![0u64; n];
    let mut edge_ones = vec![0u64; m.num_slots()];
    let mut packed = vec![0u64; n];
    let mut moments = Moments::new(&mut unit_ones, &mut edge_ones, &mut packed);
    let total = cfg.burn_in + cfg.sweeps;
    let bar = progress::bar(total as u64, cfg.progress, &format!("fpga-sim {} x {c} chains", hw.name), "sweeps");
    let mut cycles = Cycles::default();
    let mut samples = Vec::new();
    let track_ess = tracks_ess(c, cfg.sweeps);
    let mut mags = Vec::new();
    let mut row = vec![0u8; n];
    for t in 0..total {
        cycles += &acc.sweep(&mut arith, &mut state, &mut rngs, &mut |_| {})?;
        if t >= cfg.burn_in {
            let chains = Chains::new(&mut state, n, c)?;
            moments.record(&m, &chains);
            if track_ess {
                mags.extend((0..c).map(|k| magnetisation(&chains, k)));
            }
            if cfg.keep_samples {
                for k in 0..c {
                    chains.row(k, &mut row);
                    samples.extend_from_slice(&row);
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let source = format!(
        "fpga-sim {} ({} devices, eta {}), fixed {} table {} bits, beta {}",
        hw.name, cfg.layout.devices, cfg.layout.eta, f.weight, f.lut.bits, cfg.beta
    );
    let mut stats = statistics(model, &built, &moments, track_ess.then_some(&mags[..]), c, cfg.sweeps, source);
    stats.saturations = Some(calo4p_core::Arithmetic::saturations(&arith));
    let memory = acc.memory_needs();
    Ok(RunOutput {
        hardware: hw.name.clone(),
        devices: cfg.layout.devices,
        eta: cfg.layout.eta,
        chains: c,
        sweeps: cfg.sweeps,
        burn_in: cfg.burn_in,
        cycles_per_sweep: cycles.total as f64 / total as f64,
        rates: Rates::of(&cycles, hw, acc.lanes()),
        cycles,
        memory,
        resources: resources::estimate(hw, &memory, c),
        saturations: calo4p_core::Arithmetic::saturations(&arith),
        quantisation_saturations: quantisation.saturated.len(),
        stats,
        samples,
    })
}

/// Whether a run of `chains` x `sweeps` records the ensemble magnetisation for the effective
/// sample size (as `calo4p sample` does).
pub(crate) fn tracks_ess(chains: usize, sweeps: usize) -> bool {
    chains >= 2 && sweeps >= 8 && chains * sweeps <= 1 << 24
}

/// Statistics in `calo4p sample`'s layout from recorded `moments`; with `mags` (chain
/// magnetisations, sweep-major), the effective sample size as `calo4p sample` computes it
/// (Sokal's window on the ensemble magnetisation), so `validate` weighs both the same way.
pub(crate) fn statistics<W: RawWeight>(
    model: &ModelFile,
    built: &Built<W>,
    moments: &Moments<'_>,
    mags: Option<&[f64]>,
    chains: usize,
    sweeps: usize,
    source: String,
) -> Statistics {
    let ess = mags.and_then(|mags| {
        let max_lag = (sweeps / 4).clamp(1, 200);
        let acf = crate::autocorrelation::ensemble_summary(mags, chains, max_lag, 5.0).ok()?;
        (acf.window < max_lag && acf.tau_int.is_finite()).then(|| (chains * sweeps) as f64 / acf.tau_int.max(1.0))
    });
    let n = model.num_units();
    Statistics {
        mean: (0..n).map(|i| moments.mean(i)).collect(),
        edge_second_moment: model
            .edges
            .iter()
            .zip(&built.slot_of_edge)
            .map(|(e, &s)| (e.i, e.j, moments.edge_moment(s)))
            .collect(),
        energy_mean: Some(moments.energy().mean()),
        energy_variance: Some(moments.energy().variance()),
        num_samples: Some(moments.num_samples()),
        effective_samples: ess,
        ln_z: None,
        source: Some(source),
        saturations: None,
    }
}

fn emit(text: &str) -> Result<()> {
    std::io::stdout().write_all(text.as_bytes()).context("standard output")
}

fn cycle_rows(o: &RunOutput) -> Vec<Vec<String>> {
    let c = &o.cycles;
    let pct = |x: u64| format!("{:.1}%", 100.0 * x as f64 / c.total.max(1) as f64);
    vec![
        vec!["total".into(), c.total.to_string(), "100%".into()],
        vec!["compute".into(), c.compute.to_string(), pct(c.compute)],
        vec!["memory stalls".into(), c.memory_stall.to_string(), pct(c.memory_stall)],
        vec!["pipeline fill/drain".into(), c.fill_drain.to_string(), pct(c.fill_drain)],
        vec!["barriers".into(), c.barrier.to_string(), pct(c.barrier)],
        vec!["device links".into(), c.link.to_string(), pct(c.link)],
        vec!["lane-cycles waiting at barriers".into(), c.barrier_wait_lane_cycles.to_string(), String::new()],
    ]
}

fn resource_rows(r: &Resources) -> Vec<Vec<String>> {
    r.lines
        .iter()
        .chain(std::iter::once(&r.total))
        .map(|l| {
            vec![
                l.item.clone(),
                l.luts.to_string(),
                l.ffs.to_string(),
                l.dsps.to_string(),
                l.brams.to_string(),
                l.formula.clone(),
            ]
        })
        .collect()
}

/// Run `calo4p fpga-sim`.
pub fn run_fpga_sim(args: FpgaSimArgs) -> Result<()> {
    match args.command {
        Some(FpgaSimCommand::Sweep(s)) => return run_sweep(s),
        Some(FpgaSimCommand::Rtl(a)) => return crate::fpga_rtl::run_rtl(a),
        Some(FpgaSimCommand::Cosim(a)) => {
            return match crate::fpga_rtl::run_cosim(a)? {
                true => Ok(()),
                false => Err(crate::output::CheckFailed("the RTL differs from fpga-sim or core".into()).into()),
            };
        }
        Some(FpgaSimCommand::Synth(a)) => return crate::fpga_rtl::run_synth(a),
        None => {}
    }
    let a = args.run;
    let path = a.model.clone().context("--model is required")?;
    let model = ModelFile::load(&path)?;
    let hw = load_hw(&a.hw)?;
    let cfg = RunConfig {
        chains: a.chains,
        sweeps: a.sweeps,
        burn_in: a.burn_in,
        seed: a.seed,
        beta: a.beta,
        layout: Layout { devices: a.devices, eta: a.eta },
        strict: a.strict,
        keep_samples: a.out.is_some(),
        progress: !a.quiet && !a.json,
    };
    let o = run(&model, &hw, &cfg).with_context(|| format!("fpga-sim on {}", path.display()))?;
    if o.quantisation_saturations > 0 {
        eprintln!(
            "warning: {} parameter(s) saturated on quantisation; use --strict to refuse",
            o.quantisation_saturations
        );
    }
    if o.saturations > 0 {
        eprintln!("warning: {} field(s) saturated the field register", o.saturations);
    }
    if let Some(p) = &a.stats {
        o.stats.save(p)?;
    }
    if let Some(p) = &a.out {
        crate::npy::write_u8(p, &o.samples, o.samples.len() / model.num_units(), model.num_units())?;
    }
    if a.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&o)?))?;
    } else {
        let r = &o.rates;
        println!("hardware      {} ({} devices, eta {})", hw.name, o.devices, o.eta);
        println!("model         {} ({} units)", path.display(), model.num_units());
        println!("run           {} chains x ({} burn-in + {} sweeps)", o.chains, o.burn_in, o.sweeps);
        println!("updates       {}", o.cycles.updates);
        println!("cycles/sweep  {:.1}", o.cycles_per_sweep);
        println!("updates/cycle {:.3}", r.updates_per_cycle);
        println!("lane use      {:.1}%", 100.0 * r.lane_utilisation);
        println!(
            "updates/ns    {:.4} at {} MHz x {} phases/clock",
            r.updates_per_ns, hw.clock_mhz, hw.phases_per_clock
        );
        println!("time          {:.6} s", r.seconds);
        println!("<E>           {:.6}", o.stats.energy_mean.unwrap_or(f64::NAN));
        println!("saturations   {}\n", o.saturations);
        print_table(&["cycles", "count", "share"], &cycle_rows(&o));
        println!("\nresources per device: {}", o.resources.family);
        print_table(&["item", "LUT", "FF", "DSP", "BRAM", "formula"], &resource_rows(&o.resources));
    }
    if let Some(dir) = &a.report {
        let mut rep = Report::new(&format!("calo4p fpga-sim: {} on {}", hw.name, path.display()));
        rep.text(&format!(
            "{} chains, {} burn-in + {} sweeps, seed {}, {} devices, eta {}: {:.4} updates/ns, {:.1} cycles per sweep, lane utilisation {:.1}%.",
            o.chains, o.burn_in, o.sweeps, a.seed, o.devices, o.eta, o.rates.updates_per_ns, o.cycles_per_sweep, 100.0 * o.rates.lane_utilisation
        ));
        rep.heading("Cycles");
        rep.table(&["cycles", "count", "share"], cycle_rows(&o));
        let c = &o.cycles;
        let bars = vec![
            ("compute".to_string(), c.compute as f64),
            ("memory".to_string(), c.memory_stall as f64),
            ("fill/drain".to_string(), c.fill_drain as f64),
            ("barrier".to_string(), c.barrier as f64),
            ("link".to_string(), c.link as f64),
        ];
        rep.svg("cycles.svg", crate::report::bar_plot("where the cycles go", "cycles", &bars)?);
        rep.heading(&format!("Resources per device ({})", o.resources.family));
        rep.table(&["item", "LUT", "FF", "DSP", "BRAM", "formula"], resource_rows(&o.resources));
        rep.heading("Hardware configuration");
        rep.text(&hw.to_json());
        eprintln!("report: {}", rep.write(dir)?.display());
    }
    Ok(())
}

/// One design point of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct SweepPoint {
    /// Lanes.
    pub lanes: u32,
    /// Adder width.
    pub adder_width: u32,
    /// Ports per bank.
    pub ports: u32,
    /// Cycles of one sweep (`None` when the configuration is refused).
    pub cycles: Option<Cycles>,
    /// Rates.
    pub rates: Option<Rates>,
    /// LUTs, FFs, DSPs, BRAMs.
    pub resources: Option<[u64; 4]>,
    /// Why the point was refused.
    pub error: Option<String>,
}

/// Evaluate the design points of a sweep: one simulated sweep's static schedule each.
pub fn sweep_points(model: &ModelFile, base: &HwConfig, s: &SweepArgs) -> Result<Vec<SweepPoint>> {
    let f = base.formats()?;
    if f.weight.bits() <= 8 {
        sweep_with::<i8>(model, base, s)
    } else {
        sweep_with::<i16>(model, base, s)
    }
}

fn sweep_with<W: RawWeight>(model: &ModelFile, base: &HwConfig, s: &SweepArgs) -> Result<Vec<SweepPoint>> {
    let (built, _) = Built::<W>::fixed(model, base.formats()?.weight, false)?;
    let mut out = Vec::new();
    for &ports in &s.ports {
        for &adder_width in &s.adder_width {
            for &lanes in &s.lanes {
                let mut hw = base.clone();
                hw.lanes = lanes;
                hw.adder_width = adder_width;
                for m in [&mut hw.memories.weight, &mut hw.memories.state, &mut hw.memories.table] {
                    m.ports = ports;
                }
                let mut p =
                    SweepPoint { lanes, adder_width, ports, cycles: None, rates: None, resources: None, error: None };
                match Accelerator::new(&hw, built.model(), None, s.chains, 1.0, Layout::default()) {
                    Ok(acc) => {
                        let c = acc.sweep_cycles(s.chains);
                        let r = resources::estimate(&hw, &acc.memory_needs(), s.chains).total;
                        p.rates = Some(Rates::of(&c, &hw, acc.lanes()));
                        p.cycles = Some(c);
                        p.resources = Some([r.luts, r.ffs, r.dsps, r.brams]);
                    }
                    Err(e) => p.error = Some(e.to_string()),
                }
                out.push(p);
            }
        }
    }
    Ok(out)
}

fn run_sweep(s: SweepArgs) -> Result<()> {
    let model = ModelFile::load(&s.model)?;
    let base = load_hw(&s.hw)?;
    if s.chains == 0 {
        bail!("--chains must be at least 1");
    }
    let points = sweep_points(&model, &base, &s)?;
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            let mut row = vec![p.lanes.to_string(), p.adder_width.to_string(), p.ports.to_string()];
            match (&p.cycles, &p.rates, &p.resources) {
                (Some(c), Some(r), Some(res)) => row.extend([
                    c.total.to_string(),
                    format!("{:.1}%", 100.0 * c.memory_stall as f64 / c.total.max(1) as f64),
                    format!("{:.1}%", 100.0 * r.lane_utilisation),
                    format!("{:.4}", r.updates_per_ns),
                    res[0].to_string(),
                    res[3].to_string(),
                ]),
                _ => row.push(p.error.clone().unwrap_or_default()),
            }
            row
        })
        .collect();
    let header = ["lanes", "adder", "ports", "cycles/sweep", "stalls", "lane use", "updates/ns", "LUT", "BRAM"];
    if s.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&points)?))?;
    } else {
        print_table(&header, &rows);
    }
    if let Some(dir) = &s.report {
        let names: Vec<String> = s
            .ports
            .iter()
            .flat_map(|&p| s.adder_width.iter().map(move |&a| format!("adder {a}, {p} port(s)")))
            .collect();
        let series: Vec<Series<'_>> = names
            .iter()
            .enumerate()
            .map(|(k, name)| Series {
                name,
                points: points
                    .iter()
                    .skip(k * s.lanes.len())
                    .take(s.lanes.len())
                    .filter_map(|p| p.rates.map(|r| ((p.lanes as f64).log2(), r.updates_per_ns)))
                    .collect(),
            })
            .collect();
        let mut rep = Report::new(&format!("calo4p fpga-sim sweep: {} on {}", base.name, s.model.display()));
        rep.text(&format!(
            "{} chains, clock {} MHz; lanes on a log2 axis (1 to 2^k). Lanes, adder width and memory ports varied from the base configuration; the design stops scaling where updates/ns flattens (memory stalls or barriers dominate).",
            s.chains, base.clock_mhz
        ));
        rep.svg(
            "scaling.svg",
            line_plot("updates per ns against lanes", "log2(lanes)", "updates/ns", &series, Scale::Log)?,
        );
        rep.table(&header, rows);
        eprintln!("report: {}", rep.write(dir)?.display());
    }
    Ok(())
}
