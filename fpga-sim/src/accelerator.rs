//! The accelerator: lanes, adder trees, pipeline, memories and colour phases, performing
//! every update itself and counting the cycles it takes.
//!
//! **Datapath.** Each lane owns one xoshiro128++ stream per chain. For each unit dealt to it
//! (core's [`LaneMap`], in unit order) and each chain (chains time-multiplexed in order), the
//! lane reads the unit's adjacency list from the weight memory (each edge stored at both
//! ends, an entry = weight + neighbour address), gates each weight by the neighbour's state
//! bit (core's [`Arithmetic::add_if`] on a zero field), sums `adder_width` terms per cycle
//! in a balanced adder tree, adds the partial sum to the field register that started at the
//! bias ([`Arithmetic::start`]), and decides with core's [`Arithmetic::decide`] (saturation
//! to the field register, the `r`-bit table, the comparison) from the lane's next draw.
//! Integer addition is associative and commutative, and core's accumulator is wide enough to
//! be exact ([`Accelerator::new`] refuses models whose fan-in would need more), so the tree's
//! order gives core's field exactly. States of one partition are written in place: no edge
//! joins two units of a partition, so no update of a phase reads another's result.
//!
//! **Stream contract.** The unit at position k of its partition runs on global lane
//! `g = map.lane(k, size, G)` (G = devices x lanes) and chain c draws from `rngs[g*C + c]`:
//! core's `Draws::PerLane { lanes: G, map }`. Clamped units are skipped and never draw.
//!
//! **Timing.** A job (one unit of one chain) with d neighbour terms occupies its lane for
//! `ii = max(compute, memory)` cycles: `compute = max(1, ceil(d / A))` adder-tree cycles,
//! `memory` the cycles the shared memories need to deliver the job's operands when all L
//! lanes draw on them equally: `ceil(d L / W)` for W weight entries per cycle over all
//! weight banks and ports, `ceil(d L / S)` for S state reads, `ceil(L / T)` for T table
//! reads (registers deliver without limit). `ii - compute` is a memory stall. Jobs issue
//! back to back; the last result is written `depth = Σ latencies` cycles after its last
//! issue cycle, so every colour phase costs `max_lane(Σ ii) + depth + barrier_cycles`
//! (the pipeline drains at the barrier because the next colour reads these states).
//! Lanes that finish early wait at the barrier (`barrier_wait_lane_cycles`).
//!
//! **Closed forms.** With registers everywhere (or memories that never stall), no clamped
//! units, one device and `adder_width >= max degree`, a sweep over partitions of sizes n_p
//! with C chains and L lanes takes
//! `Σ_p (C ceil(n_p / L) + depth + barrier_cycles)` cycles (either lane map).
//! With one lane, `adder_width = 1` and memories delivering one entry per cycle, it takes
//! `Σ_p (C Σ_{i∈p} max(1, d_i) + depth + barrier_cycles)`. Both are tested.
//!
//! **Devices.** With D devices each unit belongs to the device of its global lane
//! (`g / L`). A device holds its own units' weights and a copy of the other devices' states,
//! refreshed every `R = round(1/η)` colour phases (all devices at once). Own states are
//! always current; remote ones are as old as the last refresh. With η = 1 a refresh follows
//! every phase, which is exactly the monolithic sampler with G lanes. A refresh costs
//! `link.latency_cycles + ceil(B C / link.bits_per_cycle)` cycles, B the most boundary units
//! (units with a neighbour on another device) any device holds.

use crate::config::{ConfigError, Formats, HwConfig, MemoryKind};
use calo4p_core::arithmetic::{Arithmetic, Fixed};
use calo4p_core::gibbs::{Clamp, LaneMap};
use calo4p_core::model::{Block, Model};
use calo4p_core::qformat::RawWeight;
use calo4p_core::rng::Xoshiro128PlusPlus;
use rand_core::RngCore;
use serde::Serialize;
use std::fmt;

/// How the model is spread over devices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    /// Devices D >= 1.
    pub devices: usize,
    /// η = f_comm / f_update in (0, 1]: boundary states are refreshed every round(1/η)
    /// colour phases.
    pub eta: f64,
}

impl Default for Layout {
    fn default() -> Self {
        Self { devices: 1, eta: 1.0 }
    }
}

/// Longest refresh period accepted, in colour phases.
pub const MAX_REFRESH_PERIOD: f64 = 1e6;

impl Layout {
    /// Colour phases between boundary refreshes.
    pub fn refresh_period(&self) -> u64 {
        (1.0 / self.eta).round().max(1.0) as u64
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.devices == 0 || self.devices > 4096 {
            return Err(ConfigError::new("devices", format!("{} is outside 1..=4096", self.devices)));
        }
        if !(self.eta.is_finite() && self.eta > 0.0 && self.eta <= 1.0 && 1.0 / self.eta <= MAX_REFRESH_PERIOD) {
            return Err(ConfigError::new("eta", format!("{} is outside [1e-6, 1]", self.eta)));
        }
        Ok(())
    }
}

/// Why a sweep cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    /// Storage of the wrong size.
    Shape {
        /// Which storage.
        field: &'static str,
        /// Entries needed.
        expected: usize,
        /// Entries lent.
        found: usize,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape { field, expected, found } => {
                write!(f, "`{field}` has {found} entries, the accelerator needs {expected}")
            }
        }
    }
}

impl std::error::Error for SimError {}

/// Cycle counts, split by cause. The split follows the critical (slowest) lane of each
/// phase, so `compute + memory_stall + fill_drain + barrier + link = total`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cycles {
    /// All cycles.
    pub total: u64,
    /// Adder-tree cycles on the critical lanes.
    pub compute: u64,
    /// Cycles the critical lanes waited for memory.
    pub memory_stall: u64,
    /// Pipeline fill and drain at each colour barrier.
    pub fill_drain: u64,
    /// Barrier synchronisation.
    pub barrier: u64,
    /// Boundary exchanges between devices.
    pub link: u64,
    /// Lane-cycles spent waiting at barriers for slower lanes (not part of `total`).
    pub barrier_wait_lane_cycles: u64,
    /// Lane-cycles spent computing (adder-tree cycles of all lanes).
    pub lane_compute: u64,
    /// Unit updates performed (one per unclamped unit per chain per sweep).
    pub updates: u64,
    /// Colour phases.
    pub phases: u64,
    /// Boundary refreshes.
    pub refreshes: u64,
}

impl Cycles {
    fn add(&mut self, o: &Cycles) {
        self.total += o.total;
        self.compute += o.compute;
        self.memory_stall += o.memory_stall;
        self.fill_drain += o.fill_drain;
        self.barrier += o.barrier;
        self.link += o.link;
        self.barrier_wait_lane_cycles += o.barrier_wait_lane_cycles;
        self.lane_compute += o.lane_compute;
        self.updates += o.updates;
        self.phases += o.phases;
        self.refreshes += o.refreshes;
    }
}

impl std::ops::AddAssign<&Cycles> for Cycles {
    fn add_assign(&mut self, o: &Cycles) {
        self.add(o);
    }
}

/// Rates derived from [`Cycles`] at a configuration's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Updates per cycle (colour-phase slot).
    pub updates_per_cycle: f64,
    /// Fraction of lane-cycles spent computing.
    pub lane_utilisation: f64,
    /// Updates per nanosecond.
    pub updates_per_ns: f64,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl Rates {
    /// Rates of `c` on `lanes` lanes (all devices) at `hw`'s clock.
    pub fn of(c: &Cycles, hw: &HwConfig, lanes: usize) -> Self {
        let total = c.total.max(1) as f64;
        let seconds = c.total as f64 / hw.phase_rate_hz();
        Self {
            updates_per_cycle: c.updates as f64 / total,
            lane_utilisation: c.lane_compute as f64 / (total * lanes as f64),
            updates_per_ns: if seconds > 0.0 { c.updates as f64 / seconds * 1e-9 } else { 0.0 },
            seconds,
        }
    }
}

/// One update as the hardware performed it (for known-answer files and debugging).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Update {
    /// Colour phase (partition).
    pub partition: usize,
    /// Unit (global index).
    pub unit: usize,
    /// Chain.
    pub chain: usize,
    /// Global lane.
    pub lane: usize,
    /// Cycle (from the phase start) at which the result is written.
    pub commit_cycle: u64,
    /// The 32-bit draw.
    pub draw: u32,
    /// The exact field (raw, before saturation).
    pub field: i64,
    /// The field after saturation to the field register.
    pub field_saturated: i64,
    /// Heat-bath table entry at that field (the threshold the r-bit draw is compared with).
    pub table_entry: u32,
    /// State before.
    pub old: u8,
    /// State after.
    pub new: u8,
}

/// Operand throughput of the memories, per cycle, over all lanes (`None` = unlimited).
#[derive(Clone, Copy, Debug)]
struct Supply {
    weight: Option<u64>,
    state: Option<u64>,
    table: Option<u64>,
}

/// A configured accelerator holding one model.
#[derive(Debug)]
pub struct Accelerator<'m, W> {
    hw: HwConfig,
    formats: Formats,
    model: Model<'m, W>,
    layout: Layout,
    lanes: usize,
    /// The weight memory image: adjacency of unit i at `adj_start[i]..adj_start[i+1]`.
    adj_start: Vec<usize>,
    adj_unit: Vec<u32>,
    adj_weight: Vec<W>,
    /// `plan[p][g]`: units of partition p on global lane g, in unit order, clamped ones left out.
    plan: Vec<Vec<Vec<u32>>>,
    owner: Vec<u32>,
    boundary_bits_per_chain: u64,
    supply: Supply,
    acc_bits: u32,
    table_len: usize,
    needs: MemoryNeeds,
    /// Remote states as of the last refresh (partitioned mode).
    snapshot: Vec<u8>,
    phase_counter: u64,
    scratch: Vec<i64>,
}

/// What [`Accelerator::new`] found the model needs of the memories (per device, the largest).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryNeeds {
    /// Bits of one weight.
    pub weight_bits: u32,
    /// Bits of one weight-memory entry (weight + neighbour address).
    pub weight_entry_bits: u32,
    /// Weight-memory entries: biases plus both ends of every edge.
    pub weight_entries: u64,
    /// State bits: own and neighbouring units, times chains.
    pub state_bits: u64,
    /// Table entries.
    pub table_entries: u64,
    /// Accumulator bits for an exact field: weight bits + ceil(log2(max fan-in + 1)).
    pub accumulator_bits: u32,
    /// Largest fan-in.
    pub max_degree: usize,
    /// Units of the fullest lane: the depth of the RTL's per-lane job ROM.
    pub lane_units: u64,
    /// Adjacency words of the fullest lane, `adder_width` slots each and at least one per unit:
    /// the depth of the RTL's per-lane adjacency ROM.
    pub lane_words: u64,
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

impl<'m, W: RawWeight> Accelerator<'m, W> {
    /// Configure `hw` (already validated) for `model` (raw weights in the hardware's format)
    /// with `chains` chains at inverse temperature `beta`. Refuses models the memories cannot
    /// hold and fan-ins the accumulator cannot sum exactly, naming the parameter.
    pub fn new(
        hw: &HwConfig,
        model: Model<'m, W>,
        clamp: Option<Clamp<'m>>,
        chains: usize,
        beta: f64,
        layout: Layout,
    ) -> Result<Self, ConfigError> {
        hw.validate()?;
        layout.validate()?;
        let formats = hw.formats()?;
        if formats.weight.bits() > W::BITS {
            return Err(ConfigError::new(
                "arithmetic.format",
                format!("{} does not fit the {}-bit weights of this model", formats.weight, W::BITS),
            ));
        }
        if chains == 0 || chains > 1 << 20 {
            return Err(ConfigError::new("chains", format!("{chains} is outside 1..=2^20")));
        }
        if !(beta.is_finite() && beta > 0.0) {
            return Err(ConfigError::new("beta", format!("{beta} is not finite and positive")));
        }
        let n = model.num_units();
        // Adjacency lists, each edge at both ends, neighbours in ascending order.
        let mut deg = vec![0usize; n];
        model.for_each_edge(|_, i, j, _| {
            deg[i] += 1;
            deg[j] += 1;
        });
        let mut adj_start = vec![0usize; n + 1];
        for i in 0..n {
            adj_start[i + 1] = adj_start[i] + deg[i];
        }
        let mut fill = adj_start.clone();
        let mut adj_unit = vec![0u32; adj_start[n]];
        let mut adj_weight = vec![W::default(); adj_start[n]];
        for_each_weight(&model, |i, j, w| {
            for (a, b) in [(i, j), (j, i)] {
                adj_unit[fill[a]] = b as u32;
                adj_weight[fill[a]] = w;
                fill[a] += 1;
            }
        });
        for i in 0..n {
            let s = adj_start[i]..adj_start[i + 1];
            let mut pairs: Vec<(u32, W)> =
                adj_unit[s.clone()].iter().copied().zip(adj_weight[s.clone()].iter().copied()).collect();
            pairs.sort_by_key(|p| p.0);
            for (k, (u, w)) in pairs.into_iter().enumerate() {
                adj_unit[s.start + k] = u;
                adj_weight[s.start + k] = w;
            }
        }
        let max_degree = deg.iter().copied().max().unwrap_or(0);
        let acc_bits = formats.weight.bits() + (usize::BITS - max_degree.leading_zeros());
        if acc_bits > 32 {
            return Err(ConfigError::new(
                "arithmetic.format",
                format!(
                    "a fan-in of {max_degree} {} weights needs a {acc_bits}-bit accumulator; core's exact field holds 32",
                    formats.weight
                ),
            ));
        }
        let lanes = hw.lanes as usize * layout.devices;
        let map: LaneMap = hw.lane_map.into();
        let mut owner = vec![0u32; n];
        let mut plan = Vec::new();
        for p in 0..model.num_partitions() {
            let range = model.range(p);
            let mut per_lane = vec![Vec::new(); lanes];
            for (k, i) in range.clone().enumerate() {
                let g = map.lane(k, range.len(), lanes);
                owner[i] = (g / hw.lanes as usize) as u32;
                if !clamp.is_some_and(|c| c.is_clamped(i)) {
                    per_lane[g].push(i as u32);
                }
            }
            plan.push(per_lane);
        }
        // Memory needs of the fullest device.
        let index_bits = (usize::BITS - (n.max(2) - 1).leading_zeros()).max(1);
        let entry_bits = formats.weight.bits() + index_bits;
        let mut weight_entries = vec![0u64; layout.devices];
        let mut state_units = vec![0u64; layout.devices];
        let mut boundary = vec![0u64; layout.devices];
        let mut seen = vec![usize::MAX; n];
        for d in 0..layout.devices {
            for i in (0..n).filter(|&i| owner[i] as usize == d) {
                weight_entries[d] += 1 + deg[i] as u64;
                let mut remote = false;
                for &j in std::iter::once(&(i as u32)).chain(&adj_unit[adj_start[i]..adj_start[i + 1]]) {
                    remote |= owner[j as usize] as usize != d;
                    if seen[j as usize] != d {
                        seen[j as usize] = d;
                        state_units[d] += 1;
                    }
                }
                boundary[d] += remote as u64;
            }
        }
        // The RTL's per-lane ROMs (rtl.rs) as deep as the fullest lane needs them.
        let (mut lane_units, mut lane_words) = (0u64, 0u64);
        for g in 0..lanes {
            let units = plan.iter().flat_map(|p| &p[g]);
            lane_units = lane_units.max(units.clone().count() as u64);
            let words = units.map(|&i| deg[i as usize].div_ceil(hw.adder_width as usize).max(1) as u64).sum();
            lane_words = lane_words.max(words);
        }
        let table_len = Fixed::<W>::table_len(formats.field, formats.lut, beta);
        let needs = MemoryNeeds {
            weight_bits: formats.weight.bits(),
            weight_entry_bits: entry_bits,
            weight_entries: weight_entries.iter().copied().max().unwrap_or(0),
            state_bits: state_units.iter().copied().max().unwrap_or(0) * chains as u64,
            table_entries: table_len as u64,
            accumulator_bits: acc_bits,
            max_degree,
            lane_units,
            lane_words,
        };
        check_memories(hw, &needs)?;
        let m = &hw.memories;
        let supply = |kind: MemoryKind, per_cycle: u64| (kind == MemoryKind::Bram).then_some(per_cycle);
        let supply = Supply {
            weight: supply(m.weight.kind, m.weight.entries_per_cycle(entry_bits)),
            state: supply(m.state.kind, m.state.banks as u64 * m.state.ports as u64),
            table: supply(m.table.kind, m.table.banks as u64 * m.table.ports as u64),
        };
        Ok(Self {
            hw: hw.clone(),
            formats,
            model,
            layout,
            lanes,
            adj_start,
            adj_unit,
            adj_weight,
            plan,
            owner,
            boundary_bits_per_chain: boundary.iter().copied().max().unwrap_or(0),
            supply,
            acc_bits,
            table_len,
            needs,
            snapshot: Vec::new(),
            phase_counter: 0,
            scratch: Vec::new(),
        })
    }

    /// Global lanes G (devices x lanes per device).
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Random streams needed for C chains: one per global lane and chain.
    pub fn streams(&self, chains: usize) -> usize {
        self.lanes * chains
    }

    /// The core draw mode this accelerator matches.
    pub fn draws(&self) -> calo4p_core::Draws {
        calo4p_core::Draws::PerLane { lanes: self.lanes, map: self.hw.lane_map.into() }
    }

    /// The configuration.
    pub fn config(&self) -> &HwConfig {
        &self.hw
    }

    /// The datapath formats.
    pub fn formats(&self) -> Formats {
        self.formats
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The model.
    pub fn model(&self) -> &Model<'m, W> {
        &self.model
    }

    /// Accumulator bits the datapath needs.
    pub fn accumulator_bits(&self) -> u32 {
        self.acc_bits
    }

    /// Table entries at the configured β.
    pub fn table_len(&self) -> usize {
        self.table_len
    }

    /// What the model needs of the memories (fullest device), for the chains it was
    /// configured with.
    pub fn memory_needs(&self) -> MemoryNeeds {
        self.needs
    }

    /// Generators for `chains` chains from `seed`: stream s = g*C + c is xoshiro128++ from
    /// `seed` jumped s times (core's `Xoshiro128PlusPlus::chain_streams`).
    pub fn rngs(&self, seed: u64, chains: usize) -> Vec<Xoshiro128PlusPlus> {
        let mut rngs = vec![Xoshiro128PlusPlus::from_u64(0); self.streams(chains)];
        Xoshiro128PlusPlus::chain_streams(seed, 0, &mut rngs);
        rngs
    }

    /// The static schedule: `plan()[p][g]` lists the units of partition p on global lane g,
    /// in issue order, clamped units left out.
    pub fn plan(&self) -> &[Vec<Vec<u32>>] {
        &self.plan
    }

    /// Unit i's adjacency list as the weight memory holds it: neighbours in ascending order
    /// and their weights.
    pub fn adjacency(&self, i: usize) -> (&[u32], &[W]) {
        let s = self.adj_start[i]..self.adj_start[i + 1];
        (&self.adj_unit[s.clone()], &self.adj_weight[s])
    }

    /// Cycles of one job (one unit of one chain): (initiation interval, compute cycles).
    pub(crate) fn job(&self, degree: usize) -> (u64, u64) {
        let d = degree as u64;
        let l = self.hw.lanes as u64;
        let compute = ceil_div(d, self.hw.adder_width as u64).max(1);
        let memory = [
            self.supply.weight.map_or(0, |s| ceil_div(d * l, s)),
            self.supply.state.map_or(0, |s| ceil_div(d * l, s)),
            self.supply.table.map_or(0, |s| ceil_div(l, s)),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        (compute.max(memory), compute)
    }

    /// Cycles of one colour phase of `chains` chains (state-independent: the schedule is
    /// static). Lanes of all devices run in parallel.
    fn phase_cycles(&self, p: usize, chains: usize) -> Cycles {
        let c = chains as u64;
        let mut busy = Vec::with_capacity(self.lanes);
        let mut out = Cycles { phases: 1, ..Cycles::default() };
        let mut critical = (0u64, 0u64);
        for units in &self.plan[p] {
            let (mut ii, mut comp) = (0u64, 0u64);
            for &i in units {
                let (a, b) = self.job(self.degree(i as usize));
                ii += a * c;
                comp += b * c;
            }
            out.updates += units.len() as u64 * c;
            out.lane_compute += comp;
            if ii > critical.0 {
                critical = (ii, comp);
            }
            busy.push(ii);
        }
        let any = out.updates > 0;
        out.compute = critical.1;
        out.memory_stall = critical.0 - critical.1;
        out.fill_drain = if any { self.hw.latency.depth() } else { 0 };
        out.barrier = self.hw.barrier_cycles as u64;
        out.barrier_wait_lane_cycles = busy.iter().map(|&b| critical.0 - b).sum();
        out.total = critical.0 + out.fill_drain + out.barrier;
        out
    }

    fn degree(&self, i: usize) -> usize {
        self.adj_start[i + 1] - self.adj_start[i]
    }

    fn refresh_cycles(&self, chains: usize) -> u64 {
        self.hw.link.latency_cycles as u64
            + ceil_div(self.boundary_bits_per_chain * chains as u64, self.hw.link.bits_per_cycle as u64)
    }

    /// Cycles of one sweep of `chains` chains, from the static schedule alone (what
    /// [`Accelerator::sweep`] returns, without computing states; the refresh count assumes
    /// the sweep starts on a refresh boundary).
    pub fn sweep_cycles(&self, chains: usize) -> Cycles {
        let mut out = Cycles::default();
        let period = self.layout.refresh_period();
        for p in 0..self.model.num_partitions() {
            out += &self.phase_cycles(p, chains);
            if self.layout.devices > 1 && (p as u64 + 1).is_multiple_of(period) {
                out.link += self.refresh_cycles(chains);
                out.total += self.refresh_cycles(chains);
                out.refreshes += 1;
            }
        }
        out
    }

    /// One sweep over every colour in order, updating `state` (unit-major, `state[i*C + c]`)
    /// with draws from `rngs` (`streams(C)` of them); `trace` sees every update.
    pub fn sweep<R: RngCore>(
        &mut self,
        arith: &mut Fixed<'_, W>,
        state: &mut [u8],
        rngs: &mut [R],
        trace: &mut dyn FnMut(&Update),
    ) -> Result<Cycles, SimError> {
        let n = self.model.num_units();
        if n == 0 || !state.len().is_multiple_of(n) || state.is_empty() {
            return Err(SimError::Shape { field: "state", expected: n.max(1), found: state.len() });
        }
        let c = state.len() / n;
        if rngs.len() != self.streams(c) {
            return Err(SimError::Shape { field: "rngs", expected: self.streams(c), found: rngs.len() });
        }
        if self.layout.devices > 1 && self.snapshot.len() != state.len() {
            self.snapshot = state.to_vec();
        }
        let mut out = Cycles::default();
        for p in 0..self.model.num_partitions() {
            self.phase(p, arith, state, rngs, trace);
            let cycles = self.phase_cycles(p, c);
            out += &cycles;
            self.phase_counter += 1;
            if self.layout.devices > 1 && self.phase_counter.is_multiple_of(self.layout.refresh_period()) {
                self.snapshot.copy_from_slice(state);
                out.link += self.refresh_cycles(c);
                out.total += self.refresh_cycles(c);
                out.refreshes += 1;
            }
        }
        Ok(out)
    }

    fn phase<R: RngCore>(
        &mut self,
        p: usize,
        arith: &mut Fixed<'_, W>,
        state: &mut [u8],
        rngs: &mut [R],
        trace: &mut dyn FnMut(&Update),
    ) {
        let c = state.len() / self.model.num_units();
        let a = self.hw.adder_width as usize;
        let depth = self.hw.latency.depth();
        let (min, max) = (self.formats.field.min_raw() as i64, self.formats.field.max_raw() as i64);
        let partitioned = self.layout.devices > 1;
        let mut terms = std::mem::take(&mut self.scratch);
        for g in 0..self.lanes {
            let device = g / self.hw.lanes as usize;
            let mut cycle = 0u64;
            for k in 0..self.plan[p][g].len() {
                let i = self.plan[p][g][k] as usize;
                let adj = self.adj_start[i]..self.adj_start[i + 1];
                let (ii, _) = self.job(adj.len());
                for chain in 0..c {
                    // Operands: own units' states are current, remote ones as of the last refresh.
                    let read = |j: usize| {
                        if partitioned && self.owner[j] as usize != device {
                            self.snapshot[j * c + chain]
                        } else {
                            state[j * c + chain]
                        }
                    };
                    let mut field = arith.start(self.model.bias()[i]);
                    let units = &self.adj_unit[adj.clone()];
                    let weights = &self.adj_weight[adj.clone()];
                    for (us, ws) in units.chunks(a).zip(weights.chunks(a)) {
                        terms.clear();
                        terms.extend(
                            us.iter()
                                .zip(ws)
                                .map(|(&j, &w)| W::acc_i64(arith.add_if(W::Acc::default(), w, read(j as usize)))),
                        );
                        field = field + W::acc_from_i64(adder_tree(&mut terms));
                    }
                    let draw = rngs[g * c + chain].next_u32();
                    let old = state[i * c + chain];
                    let new = arith.decide(field, old, draw);
                    state[i * c + chain] = new;
                    cycle += ii;
                    let h = W::acc_i64(field);
                    let hs = h.clamp(min, max);
                    trace(&Update {
                        partition: p,
                        unit: i,
                        chain,
                        lane: g,
                        commit_cycle: cycle + depth,
                        draw,
                        field: h,
                        field_saturated: hs,
                        table_entry: arith.lut().p_one(hs),
                        old,
                        new,
                    });
                }
            }
        }
        self.scratch = terms;
    }
}

/// A balanced binary adder tree over `terms` (consumed): level by level, pairs summed.
fn adder_tree(terms: &mut [i64]) -> i64 {
    let mut len = terms.len();
    while len > 1 {
        let half = len / 2;
        for k in 0..half {
            terms[k] = terms[2 * k] + terms[2 * k + 1];
        }
        if len % 2 == 1 {
            terms[half] = terms[len - 1];
            len = half + 1;
        } else {
            len = half;
        }
    }
    terms.first().copied().unwrap_or(0)
}

/// Every stored weight `(i, j, w)` in global indices.
fn for_each_weight<W: Copy>(model: &Model<'_, W>, mut f: impl FnMut(usize, usize, W)) {
    let k = model.num_partitions();
    for p in 0..k {
        for q in p + 1..k {
            let Some(block) = model.block(p, q) else { continue };
            let (ps, qs) = (model.range(p).start, model.range(q).start);
            match block {
                Block::Sparse(s) => {
                    for r in 0..model.size(p) {
                        for e in s.row_ptr[r] as usize..s.row_ptr[r + 1] as usize {
                            f(ps + r, qs + s.col[e] as usize, s.weight[e]);
                        }
                    }
                }
                Block::Dense(d) => {
                    let cols = model.size(q);
                    for (e, &w) in d.weight.iter().enumerate() {
                        f(ps + e / cols, qs + e % cols, w);
                    }
                }
            }
        }
    }
}

fn check_memories(hw: &HwConfig, needs: &MemoryNeeds) -> Result<(), ConfigError> {
    let m = &hw.memories;
    if m.weight.word_bits < needs.weight_entry_bits {
        return Err(ConfigError::new(
            "memories.weight.word_bits",
            format!(
                "{}-bit words cannot hold {}-bit entries (weight + neighbour address)",
                m.weight.word_bits, needs.weight_entry_bits
            ),
        ));
    }
    let have = m.weight.entries(needs.weight_entry_bits);
    if have < needs.weight_entries {
        return Err(ConfigError::new(
            "memories.weight.depth",
            format!(
                "the model needs {} weight entries of {} bits, the memory holds {have}",
                needs.weight_entries, needs.weight_entry_bits
            ),
        ));
    }
    if m.state.bits() < needs.state_bits {
        return Err(ConfigError::new(
            "memories.state.depth",
            format!("the model and chains need {} state bits, the memory holds {}", needs.state_bits, m.state.bits()),
        ));
    }
    let have = m.table.entries(hw.arithmetic.lut_bits);
    if have < needs.table_entries {
        return Err(ConfigError::new(
            "memories.table.depth",
            format!("the acceptance table needs {} entries, the memory holds {have}", needs.table_entries),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adder_tree_sums() {
        for n in 0..20 {
            let mut t: Vec<i64> = (1..=n).collect();
            assert_eq!(adder_tree(&mut t), n * (n + 1) / 2);
        }
    }
}
