//! Hardware configurations: what a designer sets, read from JSON and checked before use.
//!
//! A [`HwConfig`] is parsed with serde (unknown fields refused) and then checked by
//! [`HwConfig::validate`]; past that point the simulator trusts it. Checks that need the
//! model (memories large enough, accumulator wide enough) happen in
//! [`crate::Accelerator::new`]. Every error names the parameter at fault by its JSON path,
//! e.g. `memories.weight.depth`.

use calo4p_core::gibbs::LaneMap;
use calo4p_core::{LutSpec, QFormat, Rule};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A refused configuration: the parameter (JSON path) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the parameter, e.g. `lanes` or `memories.table.word_bits`.
    pub parameter: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        Self { parameter: parameter.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameter `{}`: {}", self.parameter, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where a memory lives, which decides its read bandwidth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryKind {
    /// Flip-flops or LUT fabric next to the lanes: every word readable every cycle.
    Registers,
    /// Block RAM: `ports` reads per bank per cycle, shared by all lanes.
    Bram,
}

/// One memory: `banks` x `depth` words of `word_bits`, `ports` reads per bank per cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    /// Registers or block RAM.
    pub kind: MemoryKind,
    /// Independent banks.
    pub banks: u32,
    /// Read ports per bank (1 or 2 for true dual-port block RAM).
    pub ports: u32,
    /// Bits per word.
    pub word_bits: u32,
    /// Words per bank.
    pub depth: u64,
}

impl Memory {
    /// Total bits.
    pub fn bits(&self) -> u64 {
        self.banks as u64 * self.depth * self.word_bits as u64
    }

    /// Entries of `entry_bits` it holds (entries do not straddle words).
    pub fn entries(&self, entry_bits: u32) -> u64 {
        self.banks as u64 * self.depth * (self.word_bits / entry_bits.max(1)) as u64
    }

    /// Entries of `entry_bits` all banks deliver per cycle.
    pub fn entries_per_cycle(&self, entry_bits: u32) -> u64 {
        self.banks as u64 * self.ports as u64 * (self.word_bits / entry_bits.max(1)) as u64
    }

    fn validate(&self, name: &str) -> Result<(), ConfigError> {
        let p = |f: &str| format!("memories.{name}.{f}");
        if self.banks == 0 || self.banks > 1 << 20 {
            return Err(ConfigError::new(p("banks"), format!("{} is outside 1..=2^20", self.banks)));
        }
        if self.ports == 0 || self.ports > 64 {
            return Err(ConfigError::new(p("ports"), format!("{} is outside 1..=64", self.ports)));
        }
        if self.word_bits == 0 || self.word_bits > 1 << 16 {
            return Err(ConfigError::new(p("word_bits"), format!("{} is outside 1..=65536", self.word_bits)));
        }
        if self.depth == 0 || self.depth > 1 << 32 {
            return Err(ConfigError::new(p("depth"), format!("{} is outside 1..=2^32", self.depth)));
        }
        Ok(())
    }
}

/// The three memories of an accelerator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memories {
    /// Weights and biases, one adjacency list per unit (each edge stored at both ends), each
    /// entry a weight and the neighbour's address.
    pub weight: Memory,
    /// Unit states, one bit per unit and chain.
    pub state: Memory,
    /// The acceptance table, one entry per word slot of `lut_bits`.
    pub table: Memory,
}

/// Pipeline stage latencies in cycles. A unit's result is written back
/// `weight_fetch + adder_tree + table_lookup + compare_writeback` cycles after its last
/// term issues; the pipeline drains at every colour barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Weight (and neighbour state) memory read.
    pub weight_fetch: u32,
    /// Adder tree.
    pub adder_tree: u32,
    /// Acceptance-table read.
    pub table_lookup: u32,
    /// Comparison with the draw and state write-back.
    pub compare_writeback: u32,
}

impl Latency {
    /// Pipeline depth.
    pub fn depth(&self) -> u64 {
        self.weight_fetch as u64 + self.adder_tree as u64 + self.table_lookup as u64 + self.compare_writeback as u64
    }
}

/// How units are dealt to lanes (core's [`LaneMap`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LaneMapping {
    /// Unit k of a partition on lane k mod L.
    RoundRobin,
    /// Contiguous blocks of ceil(size / L) units per lane (a static assignment).
    Blocked,
}

impl From<LaneMapping> for LaneMap {
    fn from(m: LaneMapping) -> Self {
        match m {
            LaneMapping::RoundRobin => LaneMap::RoundRobin,
            LaneMapping::Blocked => LaneMap::Blocked,
        }
    }
}

/// The random generator in each lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RngKind {
    /// core's xoshiro128++ (one stream per lane and chain, streams 2^64 draws apart).
    Xoshiro128pp,
}

/// The update rule in the configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// Heat bath (Gibbs).
    #[default]
    HeatBath,
    /// Metropolis.
    Metropolis,
}

impl From<RuleKind> for Rule {
    fn from(r: RuleKind) -> Self {
        match r {
            RuleKind::HeatBath => Rule::HeatBath,
            RuleKind::Metropolis => Rule::Metropolis,
        }
    }
}

/// Number formats of the datapath.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArithmeticConfig {
    /// Weight and bias format, `Qm.n` (m counts the sign bit).
    pub format: String,
    /// Field register format (fractional bits equal the weights'); default: `format`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_format: Option<String>,
    /// Bits r of each table entry and of each draw's compared part (1..=16).
    pub lut_bits: u32,
    /// Fractional bits of the field that index the table (at most the field's own).
    pub lut_index_frac_bits: u32,
    /// Update rule.
    #[serde(default)]
    pub rule: RuleKind,
}

/// The inter-device link of the partitioned mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Boundary-state bits a device sends per cycle.
    pub bits_per_cycle: u32,
    /// Cycles from send to use (serialisation, wire, deserialisation).
    pub latency_cycles: u32,
}

impl Default for Link {
    fn default() -> Self {
        Self { bits_per_cycle: 64, latency_cycles: 32 }
    }
}

/// A hardware configuration (see `fpga-sim/presets/` for examples).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HwConfig {
    /// Short name.
    pub name: String,
    /// What it models.
    #[serde(default)]
    pub description: String,
    /// The FPGA family whose primitives the resource estimate assumes
    /// (`xilinx-ultrascale-plus`, `intel-agilex`, `lattice-ice40` or `lattice-ecp5`).
    pub family: String,
    /// Clock frequency in MHz.
    pub clock_mhz: f64,
    /// Colour phases per clock period: 1 for a synchronous design; K for p-bit arrays with
    /// phase-shifted clocks, one per colour, so a sweep of K colours fits one period.
    #[serde(default = "one")]
    pub phases_per_clock: u32,
    /// Parallel update lanes (p-bit or neuron units).
    pub lanes: u32,
    /// Neighbour terms each lane sums per cycle (adder-tree inputs).
    pub adder_width: u32,
    /// Lane mapping.
    pub lane_map: LaneMapping,
    /// Pipeline latencies.
    pub latency: Latency,
    /// Cycles to synchronise all lanes at a colour barrier.
    pub barrier_cycles: u32,
    /// Random generator per lane.
    pub rng: RngKind,
    /// Datapath formats.
    pub arithmetic: ArithmeticConfig,
    /// Memories.
    pub memories: Memories,
    /// Link between devices (partitioned mode only).
    #[serde(default)]
    pub link: Link,
}

fn one() -> u32 {
    1
}

/// The JSON path of the parameter serde refused in `input` with `msg`: the named field for
/// a missing or unknown field, else the first leaf whose replacement by a valid preset's value
/// makes the error go away or change.
fn locate(input: &serde_json::Value, msg: &str) -> String {
    use serde_json::Value;
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        if let Value::Object(m) = v {
            for (k, x) in m {
                let p = format!("{path}/{k}");
                out.push(p.clone());
                walk(x, &p, out);
            }
        }
    }
    let reference: Value = serde_json::from_str(PRESETS[2].1).expect("preset JSON");
    let dotted = |p: &str| p.trim_start_matches('/').replace('/', ".");
    // The field serde names, which may itself contain a backtick (a fuzzed name).
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| msg.strip_prefix(p))
        .and_then(|r| r.find("`, ").or_else(|| r.rfind('`')).map(|e| &r[..e]))
        .unwrap_or("");
    let (unknown, missing) = (msg.starts_with("unknown field"), msg.starts_with("missing field"));
    if unknown || missing {
        // An unknown field is in the input and not in the preset; a missing one the reverse.
        let (mut paths, there, absent_from) =
            (Vec::new(), if unknown { input } else { &reference }, if unknown { &reference } else { input });
        walk(there, "", &mut paths);
        if let Some(p) = paths.iter().find(|p| p.rsplit('/').next() == Some(named) && absent_from.pointer(p).is_none())
        {
            return dotted(p);
        }
        return if named.is_empty() { "(document)".into() } else { named.to_string() };
    }
    let mut paths = Vec::new();
    walk(input, "", &mut paths);
    // Deepest first, so the leaf is named rather than the object holding it.
    paths.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
    for p in &paths {
        let (Some(good), mut v) = (reference.pointer(p), input.clone()) else { continue };
        if let Some(slot) = v.pointer_mut(p) {
            *slot = good.clone();
        }
        if serde_json::from_value::<HwConfig>(v).map_or_else(|e| e.to_string() != msg, |_| true) {
            return dotted(p);
        }
    }
    "(document)".into()
}

/// Largest lane count accepted (beyond any FPGA; refused as absurd).
pub const MAX_LANES: u32 = 1 << 22;

/// The datapath formats, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Formats {
    /// Weight format.
    pub weight: QFormat,
    /// Field register format.
    pub field: QFormat,
    /// Table layout.
    pub lut: LutSpec,
    /// Rule.
    pub rule: Rule,
}

impl HwConfig {
    /// Parse JSON text and validate it. A document serde refuses is searched for the
    /// parameter at fault (see [`locate`]), so errors name it even for a wrong type.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ConfigError::new("(document)", format!("not JSON: {e}")))?;
        let hw: Self = serde_json::from_value(value.clone()).map_err(|e| {
            let msg = e.to_string();
            ConfigError::new(locate(&value, &msg), msg)
        })?;
        hw.validate()?;
        Ok(hw)
    }

    /// A built-in preset by name (`pbit-array`, `mcu-lane`, `bram-pipelined`, `niazi2024`,
    /// `ice40-up5k`, `ecp5-85`).
    pub fn preset(name: &str) -> Option<Self> {
        let text = PRESETS.iter().find(|(n, _)| *n == name)?.1;
        Some(Self::from_json(text).expect("presets are valid (tested)"))
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a config serialises")
    }

    /// Check every parameter that does not depend on the model.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.clock_mhz.is_finite() && self.clock_mhz > 0.0 && self.clock_mhz <= 5000.0) {
            return Err(ConfigError::new("clock_mhz", format!("{} MHz is outside (0, 5000]", self.clock_mhz)));
        }
        if self.phases_per_clock == 0 || self.phases_per_clock > 64 {
            return Err(ConfigError::new("phases_per_clock", format!("{} is outside 1..=64", self.phases_per_clock)));
        }
        if self.lanes == 0 || self.lanes > MAX_LANES {
            return Err(ConfigError::new("lanes", format!("{} is outside 1..={MAX_LANES}", self.lanes)));
        }
        if self.adder_width == 0 || self.adder_width > 4096 {
            return Err(ConfigError::new("adder_width", format!("{} is outside 1..=4096", self.adder_width)));
        }
        let l = &self.latency;
        for (name, v) in [
            ("weight_fetch", l.weight_fetch),
            ("adder_tree", l.adder_tree),
            ("table_lookup", l.table_lookup),
            ("compare_writeback", l.compare_writeback),
        ] {
            if v > 1024 {
                return Err(ConfigError::new(format!("latency.{name}"), format!("{v} cycles is more than 1024")));
            }
        }
        if self.barrier_cycles > 1 << 20 {
            return Err(ConfigError::new("barrier_cycles", format!("{} is more than 2^20", self.barrier_cycles)));
        }
        resource_family(&self.family)?;
        self.memories.weight.validate("weight")?;
        self.memories.state.validate("state")?;
        self.memories.table.validate("table")?;
        let f = self.formats()?;
        if self.memories.table.word_bits < f.lut.bits {
            return Err(ConfigError::new(
                "memories.table.word_bits",
                format!("{}-bit words cannot hold {}-bit table entries", self.memories.table.word_bits, f.lut.bits),
            ));
        }
        if self.link.bits_per_cycle == 0 || self.link.bits_per_cycle > 1 << 20 {
            return Err(ConfigError::new(
                "link.bits_per_cycle",
                format!("{} is outside 1..=2^20", self.link.bits_per_cycle),
            ));
        }
        if self.link.latency_cycles > 1 << 24 {
            return Err(ConfigError::new(
                "link.latency_cycles",
                format!("{} is more than 2^24", self.link.latency_cycles),
            ));
        }
        Ok(())
    }

    /// The datapath formats, parsed and checked.
    pub fn formats(&self) -> Result<Formats, ConfigError> {
        let a = &self.arithmetic;
        let weight: QFormat =
            a.format.parse().map_err(|e| ConfigError::new("arithmetic.format", format!("`{}`: {e}", a.format)))?;
        if weight.bits() > 16 {
            return Err(ConfigError::new(
                "arithmetic.format",
                format!("{weight} is wider than the 16-bit weights the datapath supports"),
            ));
        }
        let field = match &a.field_format {
            None => weight,
            Some(s) => s.parse().map_err(|e| ConfigError::new("arithmetic.field_format", format!("`{s}`: {e}")))?,
        };
        if field.frac_bits() != weight.frac_bits() || field.bits() > 32 {
            return Err(ConfigError::new(
                "arithmetic.field_format",
                format!("{field} must have the {} fractional bits of {weight} and at most 32 bits", weight.frac_bits()),
            ));
        }
        if a.lut_bits == 0 || a.lut_bits > calo4p_core::sigmoid::MAX_BITS {
            return Err(ConfigError::new("arithmetic.lut_bits", format!("{} is outside 1..=16", a.lut_bits)));
        }
        if a.lut_index_frac_bits > field.frac_bits() {
            return Err(ConfigError::new(
                "arithmetic.lut_index_frac_bits",
                format!("{} is finer than the field's {} fractional bits", a.lut_index_frac_bits, field.frac_bits()),
            ));
        }
        Ok(Formats {
            weight,
            field,
            lut: LutSpec { bits: a.lut_bits, index_frac_bits: a.lut_index_frac_bits },
            rule: a.rule.into(),
        })
    }

    /// Colour phases per second.
    pub fn phase_rate_hz(&self) -> f64 {
        self.clock_mhz * 1e6 * self.phases_per_clock as f64
    }
}

/// The primitives of a supported FPGA family: (name, LUT inputs, block RAM bits, widest
/// block RAM port in bits).
pub(crate) fn resource_family(name: &str) -> Result<(&'static str, u32, u64, u32), ConfigError> {
    match name {
        "xilinx-ultrascale-plus" => {
            Ok(("AMD/Xilinx UltraScale+ (LUT6, FDRE, DSP48E2, block RAM in RAMB18E2 units)", 6, 36 * 1024, 72))
        }
        "intel-agilex" => Ok(("Intel Agilex (ALM as 2 LUT6, M20K, variable-precision DSP)", 6, 20 * 1024, 40)),
        "lattice-ice40" => Ok(("Lattice iCE40 (LUT4, SB_CARRY, SB_DFF, SB_RAM40_4K, SB_MAC16)", 4, 4 * 1024, 16)),
        "lattice-ecp5" => Ok(("Lattice ECP5 (LUT4, CCU2C, TRELLIS_FF, DP16KD, MULT18X18D)", 4, 18 * 1024, 36)),
        other => Err(ConfigError::new(
            "family",
            format!(
                "`{other}` is not a known family (xilinx-ultrascale-plus, intel-agilex, lattice-ice40, lattice-ecp5)"
            ),
        )),
    }
}

/// The built-in presets: (name, JSON).
pub const PRESETS: &[(&str, &str)] = &[
    ("pbit-array", include_str!("../presets/pbit-array.json")),
    ("mcu-lane", include_str!("../presets/mcu-lane.json")),
    ("bram-pipelined", include_str!("../presets/bram-pipelined.json")),
    ("niazi2024", include_str!("../presets/niazi2024.json")),
    ("ice40-up5k", include_str!("../presets/ice40-up5k.json")),
    ("ecp5-85", include_str!("../presets/ecp5-85.json")),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_round_trip() {
        for (name, _) in PRESETS {
            let hw = HwConfig::preset(name).unwrap();
            assert_eq!(&hw.name, name);
            assert_eq!(HwConfig::from_json(&hw.to_json()).unwrap(), hw);
        }
    }

    #[test]
    fn errors_name_the_parameter() {
        let base = HwConfig::preset("bram-pipelined").unwrap();
        type Edit = Box<dyn Fn(&mut HwConfig)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("lanes", Box::new(|h| h.lanes = 0)),
            ("adder_width", Box::new(|h| h.adder_width = 0)),
            ("clock_mhz", Box::new(|h| h.clock_mhz = 0.0)),
            ("clock_mhz", Box::new(|h| h.clock_mhz = f64::NAN)),
            ("clock_mhz", Box::new(|h| h.clock_mhz = 1e9)),
            ("memories.table.word_bits", Box::new(|h| h.memories.table.word_bits = 8)),
            ("memories.weight.banks", Box::new(|h| h.memories.weight.banks = 0)),
            ("arithmetic.format", Box::new(|h| h.arithmetic.format = "Q20.12".into())),
            ("arithmetic.format", Box::new(|h| h.arithmetic.format = "nonsense".into())),
            ("arithmetic.lut_bits", Box::new(|h| h.arithmetic.lut_bits = 17)),
            ("arithmetic.field_format", Box::new(|h| h.arithmetic.field_format = Some("Q8.4".into()))),
            ("family", Box::new(|h| h.family = "abacus".into())),
        ];
        for (param, edit) in cases {
            let mut hw = base.clone();
            edit(&mut hw);
            let err = hw.validate().unwrap_err();
            assert_eq!(err.parameter, param, "{err}");
            assert!(err.to_string().contains(param));
        }
        let err = HwConfig::from_json(r#"{"name": "x"}"#).unwrap_err();
        assert_eq!(err.parameter, "family", "{err}");
        let err = HwConfig::from_json(&base.to_json().replacen("\"lanes\"", "\"lames\"", 1)).unwrap_err();
        assert_eq!(err.parameter, "lames", "{err}");
        let err = HwConfig::from_json(&base.to_json().replacen("\"ports\": 2", "\"ports\": -2", 1)).unwrap_err();
        assert_eq!(err.parameter, "memories.weight.ports", "{err}");
        let err = HwConfig::from_json(&base.to_json().replacen("\"round-robin\"", "\"spiral\"", 1)).unwrap_err();
        assert_eq!(err.parameter, "lane_map", "{err}");
        let err =
            HwConfig::from_json(&base.to_json().replacen("\"adder_tree\": 2", "\"adder_tree\": 2, \"extra\": 1", 1))
                .unwrap_err();
        assert_eq!(err.parameter, "latency.extra", "{err}");
        let err = HwConfig::from_json("{ nope").unwrap_err();
        assert_eq!(err.parameter, "(document)", "{err}");
    }
}
