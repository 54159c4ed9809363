//! The model interchange file on the host: load (through core's serde-json-core parser, so
//! host and device read the same way), write, and build sampler-ready storage.
//!
//! [`ModelFile`] is the file's content in file order. [`Built`] owns the CSR storage of one
//! arithmetic (f64, f32, or raw fixed-point integers) and hands out a core [`Model`] view;
//! it also maps each file edge to its model slot, so statistics come back in file order.

use anyhow::{bail, Context, Result};
use calo4p_core::json::{self, Edge, ModelBuffers};
use calo4p_core::model::{Block, Sparse, SparseStorage};
use calo4p_core::qformat::RawWeight;
use calo4p_core::{Model, QFormat};
use serde::Serialize;
use std::path::Path;

/// A Boltzmann machine as the interchange file holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    /// Partition of each unit (non-decreasing).
    pub partition: Vec<u8>,
    /// Bias of each unit.
    pub bias: Vec<f64>,
    /// Edges (i, j, W_ij) in file order.
    pub edges: Vec<Edge>,
    /// Zephyr qubit of each unit, when known.
    pub qubits: Option<Vec<u32>>,
    /// Zephyr graph shape, when known.
    pub zephyr: Option<(u32, u32)>,
    /// Free text.
    pub description: String,
}

#[derive(Serialize)]
struct Out<'a> {
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    zephyr: Option<ZephyrOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qubits: Option<&'a [u32]>,
    partition: &'a [u8],
    bias: &'a [f64],
    edges: Vec<(usize, usize, f64)>,
}

#[derive(Serialize)]
struct ZephyrOut {
    m: u32,
    t: u32,
}

impl ModelFile {
    /// Read and validate a model file; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self> {
        // Capped: `/dev/zero` or a huge file given by mistake is refused, not read without end.
        let bytes = crate::memory::read_file(path, crate::memory::MAX_JSON_INPUT, "model file")?;
        if bytes.starts_with(b"C4PQ") {
            anyhow::bail!(
                "model file {}: this is core's compact binary form (magic C4PQ), written by `calo4p model quantise` \
                 for devices (firmware, fpga-sim), not the model JSON. Give the JSON model here; the fixed-point \
                 engine quantises it the same way (`--engine fixed --format Qm.n`)",
                path.display()
            );
        }
        Self::parse(&bytes).with_context(|| format!("model file {}", path.display()))
    }

    /// Parse model JSON bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        // Every array element but the last is followed by a comma and every edge opens a
        // bracket, so these bound the counts without a first parse.
        let units = bytes.iter().filter(|&&b| b == b',').count() + 1;
        let edges = bytes.iter().filter(|&&b| b == b'[').count();
        let mut partition = vec![0u8; units];
        let mut bias = vec![0.0; units];
        let mut qubits = vec![0u32; units];
        let mut edge_buf = vec![Edge::default(); edges];
        let buf =
            ModelBuffers { partition: &mut partition, bias: &mut bias, qubits: &mut qubits, edges: &mut edge_buf };
        let parsed = json::parse_model(bytes, buf).map_err(|e| anyhow::anyhow!("{e}{}", syntax_position(&e, bytes)))?;
        partition.truncate(parsed.units);
        bias.truncate(parsed.units);
        qubits.truncate(parsed.units);
        edge_buf.truncate(parsed.edges);
        let description = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v.get("description").and_then(|d| d.as_str()).map(str::to_owned))
            .unwrap_or_default();
        let file = Self {
            partition,
            bias,
            edges: edge_buf,
            qubits: parsed.has_qubits.then_some(qubits),
            zephyr: parsed.zephyr,
            description,
        };
        // Graph checks (ranges, intra-partition edges, duplicates) happen in core's builder.
        Built::<f64>::float(&file)?;
        Ok(file)
    }

    /// Number of units.
    pub fn num_units(&self) -> usize {
        self.bias.len()
    }

    /// Units per partition.
    pub fn sizes(&self) -> Vec<usize> {
        let k = self.partition.iter().map(|&p| p as usize + 1).max().unwrap_or(0);
        let mut sizes = vec![0; k];
        for &p in &self.partition {
            sizes[p as usize] += 1;
        }
        sizes
    }

    /// The JSON text in the interchange layout.
    pub fn to_json(&self) -> String {
        let out = Out {
            description: &self.description,
            zephyr: self.zephyr.map(|(m, t)| ZephyrOut { m, t }),
            qubits: self.qubits.as_deref(),
            partition: &self.partition,
            bias: &self.bias,
            edges: self.edges.iter().map(|e| (e.i, e.j, e.w)).collect(),
        };
        serde_json::to_string(&out).expect("model serialises")
    }

    /// Write to `path` through a temporary file, so no half-written model is left behind.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::atomic::write(path, self.to_json().as_bytes())
    }

    /// The model with biases and weights quantised to `format` (as real numbers), for exact
    /// answers of what the fixed-point sampler actually samples.
    pub fn quantised(&self, format: QFormat) -> Result<(ModelFile, Quantisation)> {
        let mut report = Quantisation::default();
        let mut q = |x: f64, what: Site| -> Result<f64> {
            let v = format.quantise(x).context("non-finite parameter")?;
            if v.saturated {
                report.saturated.push(what);
            }
            Ok(format.value(v.raw))
        };
        let bias = self.bias.iter().enumerate().map(|(i, &b)| q(b, Site::Bias(i))).collect::<Result<_>>()?;
        let edges = self
            .edges
            .iter()
            .enumerate()
            .map(|(e, &ed)| Ok(Edge { w: q(ed.w, Site::Edge(e))?, ..ed }))
            .collect::<Result<_>>()?;
        Ok((ModelFile { bias, edges, ..self.clone() }, report))
    }
}

/// A parameter of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// `bias[i]`.
    Bias(usize),
    /// `edges[e]`.
    Edge(usize),
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Site::Bias(i) => write!(f, "bias[{i}]"),
            Site::Edge(e) => write!(f, "edges[{e}]"),
        }
    }
}

/// What quantisation did to the parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Quantisation {
    /// Parameters outside the format's range, clamped to it.
    pub saturated: Vec<Site>,
}

impl Quantisation {
    /// An error for `--strict`, a warning line otherwise; `None` when nothing saturated.
    pub fn message(&self, format: QFormat) -> Option<String> {
        let first: Vec<String> = self.saturated.iter().take(5).map(|s| s.to_string()).collect();
        (!self.saturated.is_empty()).then(|| {
            format!(
                "{} parameter(s) outside the range of {format} [{}, {}] were saturated (first: {})",
                self.saturated.len(),
                format.value(format.min_raw()),
                format.value(format.max_raw()),
                first.join(", ")
            )
        })
    }
}

/// Sampler-ready storage of a model with stored weights `W`.
#[derive(Clone, Debug)]
pub struct Built<W> {
    bias: Vec<W>,
    row_ptr: Vec<u32>,
    col: Vec<u16>,
    weight: Vec<W>,
    sizes: Vec<usize>,
    /// (row_ptr range, entry range) of each pair block, in pair order.
    blocks: Vec<(usize, usize, std::ops::Range<usize>, std::ops::Range<usize>)>,
    scale: f64,
    /// Model slot of each file edge.
    pub slot_of_edge: Vec<usize>,
}

impl Built<f64> {
    /// The float model.
    pub fn float(file: &ModelFile) -> Result<Self> {
        Self::build(file, |x, _| Ok(x), 1.0)
    }
}

impl Built<f32> {
    /// The model in single precision.
    pub fn float32(file: &ModelFile) -> Result<Self> {
        Self::build(file, |x, _| Ok(x as f32), 1.0)
    }
}

impl<W: RawWeight> Built<W> {
    /// The model quantised to `format` (which must fit `W`); saturations are reported in the
    /// returned [`Quantisation`], or refused when `strict`.
    pub fn fixed(file: &ModelFile, format: QFormat, strict: bool) -> Result<(Self, Quantisation)> {
        let mut report = Quantisation::default();
        let built = Self::build(
            file,
            |x, site| {
                let q = format.quantise(x).with_context(|| format!("{site} is not finite"))?;
                if q.saturated {
                    if strict {
                        bail!(
                            "{site} = {x} is outside the range of {format} [{}, {}] (--strict)",
                            format.value(format.min_raw()),
                            format.value(format.max_raw())
                        );
                    }
                    report.saturated.push(site);
                }
                W::from_raw(q.raw).context("format wider than its storage")
            },
            format.lsb(),
        )?;
        Ok((built, report))
    }
}

impl<W: Copy + Default> Built<W> {
    fn build(file: &ModelFile, mut convert: impl FnMut(f64, Site) -> Result<W>, scale: f64) -> Result<Self> {
        let sizes = file.sizes();
        let bias = file.bias.iter().enumerate().map(|(i, &b)| convert(b, Site::Bias(i))).collect::<Result<Vec<W>>>()?;
        let weights =
            file.edges.iter().enumerate().map(|(e, ed)| convert(ed.w, Site::Edge(e))).collect::<Result<Vec<W>>>()?;
        let mut row_ptr = vec![0u32; Model::<W>::row_ptr_len(&sizes)];
        let mut col = vec![0u16; file.edges.len()];
        let mut weight = vec![W::default(); file.edges.len()];
        let storage = SparseStorage { row_ptr: &mut row_ptr, col: &mut col, weight: &mut weight };
        let edges = file.edges.iter().zip(&weights).map(|(e, &w)| (e.i, e.j, w));
        let model = Model::from_edges(&bias, &sizes, edges, storage, scale).map_err(anyhow::Error::msg)?;
        let slot_of_edge = file.edges.iter().map(|e| model.slot(e.i, e.j).expect("every edge has a slot")).collect();
        // Remember where each block's arrays sit, to hand out views later.
        let mut blocks = Vec::new();
        let (mut rp_at, mut e_at) = (0, 0);
        for p in 0..sizes.len() {
            for q in p + 1..sizes.len() {
                if let Some(Block::Sparse(s)) = model.block(p, q) {
                    blocks.push((p, q, rp_at..rp_at + s.row_ptr.len(), e_at..e_at + s.col.len()));
                    rp_at += s.row_ptr.len();
                    e_at += s.col.len();
                }
            }
        }
        Ok(Self { bias, row_ptr, col, weight, sizes, blocks, scale, slot_of_edge })
    }

    /// The core model view.
    pub fn model(&self) -> Model<'_, W> {
        let blocks: Vec<_> = self
            .blocks
            .iter()
            .map(|(p, q, rp, e)| {
                let s = Sparse {
                    row_ptr: &self.row_ptr[rp.clone()],
                    col: &self.col[e.clone()],
                    weight: &self.weight[e.clone()],
                };
                (*p, *q, Block::Sparse(s))
            })
            .collect();
        Model::new(&self.bias, &self.sizes, &blocks, self.scale).expect("storage built by from_edges is valid")
    }
}

/// The model quantised to `format` in core's compact binary form (see `calo4p_core::compact`).
pub fn compact(file: &ModelFile, format: QFormat, strict: bool) -> Result<(Vec<u8>, Quantisation)> {
    fn emit<W: RawWeight>(file: &ModelFile, format: QFormat, strict: bool) -> Result<(Vec<u8>, Quantisation)> {
        let (built, report) = Built::<W>::fixed(file, format, strict)?;
        let model = built.model();
        let mut out = vec![0u8; calo4p_core::compact::emitted_len(&model)];
        calo4p_core::compact::emit(&model, format, &mut out)?;
        Ok((out, report))
    }
    match format.bits() {
        0..=8 => emit::<i8>(file, format, strict),
        9..=16 => emit::<i16>(file, format, strict),
        _ => emit::<i32>(file, format, strict),
    }
}

/// " (line L, column C)" for a JSON syntax error, where a second parser (serde_json, which
/// counts lines) finds one; core's no_std parser knows the field but not the position.
fn syntax_position(e: &json::ParseError, bytes: &[u8]) -> String {
    if !matches!(e, json::ParseError::Syntax { .. }) {
        return String::new();
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        Err(j) if j.line() > 0 => format!(" (line {}, column {})", j.line(), j.column()),
        _ => String::new(),
    }
}
