//! dimod's `SampleSet.to_serializable()` JSON (schema 3.x), what an Ocean user saves with
//! `json.dump(sampleset.to_serializable(), f)`.
//!
//! Arrays are `{"type": "array", "data": ..., "data_type": ..., "shape": [...],
//! "use_bytes": b}`. `data` is a nested list, or, with `use_bytes`, the array's raw
//! little-endian bytes; JSON cannot hold raw bytes, so those must arrive base64-encoded as
//! a string (`base64.b64encode(arr.tobytes()).decode()`), and are decoded as such.
//! Packed rows (`sample_packed`, the default since 3.1) are ceil(n/32) uint32 words; variable
//! j is bit j mod 32, from the least significant bit, of word j/32; a set bit is +1 (SPIN)
//! or 1 (BINARY). Unpacked rows hold the values themselves.
//!
//! Nested lists are flattened while parsing (no intermediate JSON tree), with the length of
//! every row kept, so a ragged row is named. A parse error is located by its JSON path
//! (`vectors.energy.data[17]`) as well as its line and column.

use super::labels::{readings, resolve, Label, LabelMap, LabelMode};
use super::table::{check_count, SampleTable};
use super::Imported;
use crate::model_file::ModelFile;
use anyhow::{bail, Context, Result};
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Deserialize)]
struct SampleSetJson {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    version: VersionJson,
    num_variables: usize,
    #[serde(default)]
    num_rows: Option<usize>,
    sample_data: ArrayJson,
    #[serde(default)]
    sample_type: Option<String>,
    #[serde(default)]
    sample_packed: Option<bool>,
    #[serde(default)]
    vectors: BTreeMap<String, ArrayJson>,
    variable_labels: Vec<serde_json::Value>,
    variable_type: String,
}

#[derive(Deserialize)]
struct VersionJson {
    sampleset_schema: String,
}

#[derive(Deserialize)]
struct ArrayJson {
    data: Flat,
    data_type: String,
    shape: Vec<usize>,
    #[serde(default)]
    use_bytes: bool,
}

/// A flattened numeric array: integers until the first non-integer, then floats.
#[derive(Default)]
struct Flat {
    ints: Vec<i64>,
    floats: Option<Vec<f64>>,
    /// Base64 text, for `use_bytes` arrays.
    text: Option<String>,
    /// Flattened length of each element of the outer list that is itself a list.
    row_len: Vec<u32>,
    /// Whether the element just read was a list.
    was_list: bool,
}

impl Flat {
    fn len(&self) -> usize {
        self.floats.as_ref().map_or(self.ints.len(), Vec::len)
    }
    fn push_int(&mut self, v: i64) {
        match &mut self.floats {
            Some(f) => f.push(v as f64),
            None => self.ints.push(v),
        }
    }
    fn push_float(&mut self, v: f64) {
        let f = self.floats.get_or_insert_with(|| self.ints.drain(..).map(|i| i as f64).collect());
        f.push(v);
    }
    fn value(&self, k: usize) -> f64 {
        match &self.floats {
            Some(f) => f[k],
            None => self.ints[k] as f64,
        }
    }
}

struct FlatSink<'a> {
    flat: &'a mut Flat,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for FlatSink<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FlatSink<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("numbers in nested lists, or base64 text")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let v = i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))?;
        self.flat.push_int(v);
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.flat.push_int(v);
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.flat.push_float(v);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.flat.push_int(v as i64);
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if self.depth > 0 {
            return Err(E::custom(format!("text `{v}` inside a numeric array")));
        }
        self.flat.text = Some(v.to_owned());
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.depth;
        let flat = self.flat;
        loop {
            let before = flat.len();
            flat.was_list = false;
            if seq.next_element_seed(FlatSink { flat: &mut *flat, depth: depth + 1 })?.is_none() {
                break;
            }
            if depth == 0 && flat.was_list {
                flat.row_len.push((flat.len() - before) as u32);
            }
        }
        flat.was_list = true;
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Flat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut flat = Flat::default();
        FlatSink { flat: &mut flat, depth: 0 }.deserialize(d)?;
        Ok(flat)
    }
}

/// The JSON path (`vectors.energy.data[3]`) of byte `offset`, by scanning what precedes it.
fn json_path(bytes: &[u8], offset: usize) -> String {
    enum Frame {
        Obj(Option<String>, bool),
        Arr(usize),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    let end = offset.min(bytes.len());
    while i < end {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < end && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Obj(key, expect_key @ true)) = stack.last_mut() {
                    *key = Some(String::from_utf8_lossy(&bytes[start..i.min(end)]).into_owned());
                    *expect_key = false;
                }
            }
            b'{' => stack.push(Frame::Obj(None, true)),
            b'[' => stack.push(Frame::Arr(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Arr(n)) => *n += 1,
                Some(Frame::Obj(_, expect_key)) => *expect_key = true,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Obj(Some(k), _) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Obj(None, _) => {}
            Frame::Arr(n) => path.push_str(&format!("[{n}]")),
        }
    }
    if path.is_empty() {
        "the top level".into()
    } else {
        format!("`{path}`")
    }
}

/// Byte offset of a 1-based (line, column).
fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut at = 0;
    for _ in 1..line {
        match memchr_newline(&bytes[at..]) {
            Some(k) => at += k + 1,
            None => return bytes.len(),
        }
    }
    (at + column.saturating_sub(1)).min(bytes.len())
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// Explain a serde_json error: where (path, line, column) and, for Python's non-standard
/// NaN/Infinity, why.
fn explain(bytes: &[u8], e: serde_json::Error) -> anyhow::Error {
    if e.is_eof() {
        return anyhow::anyhow!("the JSON is truncated (it ends inside {}): {e}", json_path(bytes, bytes.len()));
    }
    let at = offset_of(bytes, e.line(), e.column());
    // serde_json reports the column of the offending byte or just past it.
    let window = &bytes[at.saturating_sub(2)..(at + 10).min(bytes.len())];
    let text = String::from_utf8_lossy(window);
    let path = json_path(bytes, at);
    for bad in ["NaN", "Infinity", "-Infinity"] {
        if text.contains(bad) {
            return anyhow::anyhow!(
                "{path} holds {bad} at line {} column {}: JSON has no non-finite numbers \
                 (Python's json module writes them for float('nan') or float('inf'))",
                e.line(),
                e.column()
            );
        }
    }
    anyhow::anyhow!("invalid JSON in {path}: {e}")
}

/// Decode standard or URL-safe base64 (padding optional, whitespace ignored).
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for (k, c) in text.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => bail!("character {k} ({:?}) is not base64", c as char),
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// Reads one little-endian element: an integer, or a float as `Err`.
type ReadElement = fn(&[u8]) -> Result<i64, f64>;

/// The array's values as f64 (exact for every integer type up to 2^53).
fn values(a: &mut ArrayJson, field: &str) -> Result<Flat> {
    let count: usize = a.shape.iter().product();
    let mut flat = Flat::default();
    match &a.data.text {
        Some(text) => {
            if !a.use_bytes {
                bail!("`{field}.data` is text but `use_bytes` is false");
            }
            let bytes = base64_decode(text).with_context(|| {
                format!("`{field}.data` is text, read as base64 (use_bytes arrays must be base64-encoded in JSON)")
            })?;
            let (size, read): (usize, ReadElement) = match a.data_type.as_str() {
                "int8" => (1, |b| Ok(b[0] as i8 as i64)),
                "uint8" | "bool" => (1, |b| Ok(b[0] as i64)),
                "int16" => (2, |b| Ok(i16::from_le_bytes([b[0], b[1]]) as i64)),
                "uint16" => (2, |b| Ok(u16::from_le_bytes([b[0], b[1]]) as i64)),
                "int32" => (4, |b| Ok(i32::from_le_bytes(b.try_into().expect("4")) as i64)),
                "uint32" => (4, |b| Ok(u32::from_le_bytes(b.try_into().expect("4")) as i64)),
                "int64" => (8, |b| Ok(i64::from_le_bytes(b.try_into().expect("8")))),
                "uint64" => (8, |b| Ok(u64::from_le_bytes(b.try_into().expect("8")) as i64)),
                "float32" => (4, |b| Err(f32::from_le_bytes(b.try_into().expect("4")) as f64)),
                "float64" => (8, |b| Err(f64::from_le_bytes(b.try_into().expect("8")))),
                other => bail!("`{field}.data_type` `{other}` is not a numeric type this reader knows"),
            };
            if bytes.len() != count * size {
                bail!(
                    "`{field}.data` decodes to {} bytes; shape {:?} of {} needs {}",
                    bytes.len(),
                    a.shape,
                    a.data_type,
                    count * size
                );
            }
            for b in bytes.chunks_exact(size) {
                match read(b) {
                    Ok(i) => flat.push_int(i),
                    Err(f) => flat.push_float(f),
                }
            }
        }
        None => {
            if a.data.len() != count {
                bail!("`{field}.data` holds {} numbers; shape {:?} needs {count}", a.data.len(), a.shape);
            }
            // Move rather than copy: the sample data can be hundreds of megabytes.
            return Ok(std::mem::take(&mut a.data));
        }
    }
    Ok(flat)
}

/// Check that every row of a nested `data` list has `want` numbers.
fn check_rows(a: &ArrayJson, field: &str, want: usize, unit: &str) -> Result<()> {
    if a.data.text.is_none() {
        if let Some((r, &len)) = a.data.row_len.iter().enumerate().find(|(_, &l)| l as usize != want) {
            bail!("`{field}.data` row {r} has {len} {unit}; every row needs {want}");
        }
    }
    Ok(())
}

/// Parse sample-set JSON for `model`. `what` names the file in errors.
pub fn parse(bytes: &[u8], model: &ModelFile, labels: LabelMode, what: &str) -> Result<Imported> {
    parse_with(bytes, model, labels, None, what)
}

/// [`parse`], the labels first translated through `map` (`--label-map`).
pub fn parse_with(
    bytes: &[u8],
    model: &ModelFile,
    labels: LabelMode,
    map: Option<&LabelMap>,
    what: &str,
) -> Result<Imported> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut s = SampleSetJson::deserialize(&mut de).map_err(|e| explain(bytes, e)).with_context(|| what.to_owned())?;
    de.end().map_err(|e| explain(bytes, e)).with_context(|| what.to_owned())?;
    convert(&mut s, model, labels, map).with_context(|| what.to_owned())
}

fn convert(
    s: &mut SampleSetJson,
    model: &ModelFile,
    label_mode: LabelMode,
    map: Option<&LabelMap>,
) -> Result<Imported> {
    if let Some(kind) = &s.kind {
        if kind != "SampleSet" {
            bail!("`type` is `{kind}`, not `SampleSet`");
        }
    }
    let version = &s.version.sampleset_schema;
    if !version.starts_with("3.") {
        bail!("`version.sampleset_schema` is {version}; this reader knows schema 3.x");
    }
    let vartype: &'static str = match s.variable_type.as_str() {
        "SPIN" => "SPIN",
        "BINARY" => "BINARY",
        other => bail!("`variable_type` is `{other}`; only SPIN and BINARY samples are binary units"),
    };
    let n = s.num_variables;
    if s.variable_labels.len() != n {
        bail!("`variable_labels` has {} labels but `num_variables` is {n}", s.variable_labels.len());
    }
    let labels: Vec<Label> = s
        .variable_labels
        .iter()
        .enumerate()
        .map(|(k, v)| Label::from_json(v, &format!("`variable_labels[{k}]`")))
        .collect::<Result<_>>()?;
    let labels = match map {
        Some(map) => map.apply(&labels, "`variable_labels`")?,
        None => labels,
    };
    let readings = readings(&labels, model, label_mode, "`variable_labels`")?;
    let packed = s.sample_packed.unwrap_or(true);
    let sd = &mut s.sample_data;
    if sd.shape.len() != 2 {
        bail!("`sample_data.shape` is {:?}; expected [rows, columns]", sd.shape);
    }
    let rows = sd.shape[0];
    if let Some(r) = s.num_rows {
        if r != rows {
            bail!("`num_rows` is {r} but `sample_data.shape` has {rows} rows");
        }
    }
    let mut table = SampleTable::zeros(model.num_units(), rows);
    if packed {
        let words = n.div_ceil(32);
        if sd.shape[1] != words {
            bail!(
                "`sample_data.shape` is {:?}: rows of {} words, but `num_variables` {n} packs into {words} uint32 words",
                sd.shape,
                sd.shape[1]
            );
        }
        check_rows(sd, "sample_data", words, "words")?;
        let data = values(sd, "sample_data")?;
        if let Some(f) = &data.floats {
            if let Some(k) = f.iter().position(|x| x.fract() != 0.0) {
                bail!("`sample_data` row {} word {} is {}, not a uint32 word", k / words, k % words, f[k]);
            }
        }
        for r in 0..rows {
            for w in 0..words {
                let v = data.value(r * words + w);
                if !(0.0..=u32::MAX as f64).contains(&v) {
                    bail!("`sample_data` row {r} word {w} is {v}, not a uint32 word");
                }
                let mut bits = v as u64;
                while bits != 0 {
                    let k = w * 32 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    // Padding bits past the last variable carry nothing (dimod ignores them too).
                    if k < n {
                        table.set(r, k);
                    }
                }
            }
        }
    } else {
        if sd.shape[1] != n {
            bail!("`sample_data.shape` is {:?}: rows of {} values, but `num_variables` is {n}", sd.shape, sd.shape[1]);
        }
        check_rows(sd, "sample_data", n, "values")?;
        let data = values(sd, "sample_data")?;
        let (zero, one) = if vartype == "SPIN" { (-1.0, 1.0) } else { (0.0, 1.0) };
        for r in 0..rows {
            for (k, label) in labels.iter().enumerate() {
                let v = data.value(r * n + k);
                if v == one {
                    table.set(r, k);
                } else if v != zero {
                    bail!("`sample_data` row {r} variable {label} is {v}; {vartype} values are {zero} or {one}");
                }
            }
        }
    }
    let _ = &s.sample_type;
    let mut energy = None;
    let mut vectors = Vec::new();
    let mut counts = None;
    for (name, mut a) in std::mem::take(&mut s.vectors) {
        let field = format!("vectors.{name}");
        if a.shape.first() != Some(&rows) {
            bail!("`{field}.shape` is {:?}; the sample set has {rows} rows", a.shape);
        }
        if a.shape.len() > 1 {
            // Per-row vectors of higher rank carry nothing the statistics use.
            continue;
        }
        let v = values(&mut a, &field)?;
        let col: Vec<f64> = (0..rows).map(|r| v.value(r)).collect();
        match name.as_str() {
            "num_occurrences" => {
                for (r, &c) in col.iter().enumerate() {
                    check_count(c, || format!("`{field}.data[{r}]`"))?;
                }
                counts = Some(col);
            }
            "energy" => {
                if let Some(r) = col.iter().position(|c| !c.is_finite()) {
                    bail!("`{field}.data[{r}]` is {}; energies must be finite", col[r]);
                }
                energy = Some(col);
            }
            _ => vectors.push((name, col)),
        }
    }
    let counted = counts.is_some();
    if let Some(c) = counts {
        table.weight = c;
    }
    table.energy = energy;
    table.vectors = vectors;
    table.check_weights("`vectors.num_occurrences`")?;
    let (table, mapping, evidence) = resolve(table, readings, model, "`variable_labels`")?;
    Ok(Imported { table, vartype, mapping, evidence, counts: counted.then(|| "num_occurrences".to_owned()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_decode("AQIDBA==").unwrap(), vec![1, 2, 3, 4]);
        assert_eq!(base64_decode("AQID").unwrap(), vec![1, 2, 3]);
        assert!(base64_decode("AQ*D").is_err());
    }

    #[test]
    fn paths_of_offsets() {
        let text = br#"{"a": 1, "vectors": {"energy": {"data": [1, 2, NaN]}}}"#;
        let at = text.iter().position(|&c| c == b'N').unwrap();
        assert_eq!(json_path(text, at), "`vectors.energy.data[2]`");
    }
}
