//! Variable labels of a sample file and the model units they stand for.
//!
//! An annealer labels variables by physical qubit: integers (linear Zephyr index), strings,
//! or nested lists (dimod's tuples, e.g. Zephyr coordinates (u, w, k, j, z)). A label maps
//! to a unit through the model's `qubits` list, or as a unit index; strings map through an
//! explicit [`LabelMap`] (`--label-map FILE`). The mapping must be one to one and cover every
//! unit.
//!
//! Labels 0..n-1 are often both unit indices and qubits of the model (every model that fills
//! its Zephyr graph), and the two readings give different answers. [`readings`] returns both
//! then, and [`resolve`] decides only on evidence it states: the file's own energies, which
//! the right reading reproduces exactly up to scale and offset, or else the mean energy,
//! which is lower in the right reading (a relabelling keeps the entropy, so for Boltzmann
//! samples at β > 0 Gibbs' inequality puts the right reading's mean energy below every other's)
//! by more than [`EVIDENCE_SIGMAS`] standard errors. Without such evidence it is an error
//! that asks for `--labels unit|qubit`.

use super::table::SampleTable;
use crate::model_file::ModelFile;
use anyhow::{bail, Context, Result};
use calo4p_core::zephyr::{Coord, Zephyr};
use std::fmt;

/// One variable label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Label {
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A tuple (a nested list in JSON).
    Tuple(Vec<Label>),
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Int(i) => write!(f, "{i}"),
            Label::Str(s) => write!(f, "'{s}'"),
            Label::Tuple(t) => {
                f.write_str("(")?;
                for (k, l) in t.iter().enumerate() {
                    if k > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{l}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl Label {
    /// A label from JSON; `where_` names the value in errors.
    pub fn from_json(v: &serde_json::Value, where_: &str) -> Result<Self> {
        Ok(match v {
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Label::Int(i),
                None => bail!("{where_} = {n} is not an integer label"),
            },
            serde_json::Value::String(s) => Label::Str(s.clone()),
            serde_json::Value::Array(a) => Label::Tuple(
                a.iter()
                    .enumerate()
                    .map(|(k, x)| Label::from_json(x, &format!("{where_}[{k}]")))
                    .collect::<Result<_>>()?,
            ),
            other => bail!("{where_} = {other} is not an integer, string or list label"),
        })
    }

    /// A label from a CSV header cell: an integer when it reads as one.
    pub fn from_text(s: &str) -> Self {
        s.trim().parse().map(Label::Int).unwrap_or_else(|_| Label::Str(s.trim().to_owned()))
    }

    fn integer(&self) -> Option<i64> {
        match self {
            Label::Int(i) => Some(*i),
            Label::Str(s) => s.trim().parse().ok(),
            Label::Tuple(_) => None,
        }
    }
}

/// How labels name units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum LabelMode {
    /// Qubits when every label is a qubit of the model, unit indices when every label is a unit
    /// index; when both hold, decided by the file's energies (stated), else an error.
    #[default]
    Auto,
    /// Physical qubits (linear Zephyr index or (u, w, k, j, z)) through the model's `qubits`.
    Qubit,
    /// Unit indices 0..n.
    Unit,
}

/// Which mapping was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// Through the model's qubits.
    Qubit,
    /// As unit indices.
    Unit,
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mapping::Qubit => "labels are qubits",
            Mapping::Unit => "labels are unit indices",
        })
    }
}

fn qubit_units(model: &ModelFile, labels: &[Label]) -> Option<Vec<Option<usize>>> {
    let qubits = model.qubits.as_ref()?;
    let zephyr = model.zephyr.and_then(|(m, t)| Zephyr::new(m as usize, t as usize).ok());
    let unit_of_qubit: std::collections::HashMap<u32, usize> =
        qubits.iter().enumerate().map(|(i, &q)| (q, i)).collect();
    Some(
        labels
            .iter()
            .map(|l| {
                let q = match l {
                    Label::Tuple(t) if t.len() == 5 => {
                        let c: Vec<usize> = t.iter().filter_map(|x| x.integer()?.try_into().ok()).collect();
                        let c = (c.len() == 5).then(|| Coord { u: c[0], w: c[1], k: c[2], j: c[3], z: c[4] })?;
                        zephyr.as_ref()?.linear(c)? as i64
                    }
                    other => other.integer()?,
                };
                u32::try_from(q).ok().and_then(|q| unit_of_qubit.get(&q).copied())
            })
            .collect(),
    )
}

fn index_units(model: &ModelFile, labels: &[Label]) -> Vec<Option<usize>> {
    let n = model.num_units();
    labels.iter().map(|l| l.integer().and_then(|i| usize::try_from(i).ok()).filter(|&i| i < n)).collect()
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(8).map(|x| x.to_string()).collect();
    if items.len() > 8 {
        format!("{} ... ({} in all)", shown.join(", "), items.len())
    } else {
        shown.join(", ")
    }
}

/// One way of reading a file's labels (or columns): the model unit of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Unit of label (column) k.
    pub units: Vec<usize>,
    /// Through qubits or as unit indices.
    pub mapping: Mapping,
}

/// How many standard errors the mean energies of two readings must differ by before the
/// lower one is taken.
pub const EVIDENCE_SIGMAS: f64 = 5.0;

/// Check that `units` names every unit of the model exactly once.
fn one_to_one(labels: &[Label], units: Vec<usize>, model: &ModelFile, mapping: Mapping, what: &str) -> Result<Reading> {
    let mut label_of_unit: Vec<Option<usize>> = vec![None; model.num_units()];
    for (k, &u) in units.iter().enumerate() {
        if let Some(first) = label_of_unit[u] {
            bail!("{what}: labels {} and {} both name unit {u}", labels[first], labels[k]);
        }
        label_of_unit[u] = Some(k);
    }
    let missing: Vec<String> = label_of_unit
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_none())
        .map(|(i, _)| match (&model.qubits, mapping) {
            (Some(q), Mapping::Qubit) => format!("unit {i} (qubit {})", q[i]),
            _ => format!("unit {i}"),
        })
        .collect();
    if !missing.is_empty() {
        bail!("{what}: no variable for {} of the model ({mapping})", list(&missing));
    }
    Ok(Reading { units, mapping })
}

/// The unit of each label, when only one reading fits. `what` names the labels' file and
/// field in errors. An ambiguous file is an error here; readers use [`readings`] and
/// [`resolve`], which can weigh the file's evidence.
pub fn map_labels(labels: &[Label], model: &ModelFile, mode: LabelMode, what: &str) -> Result<(Vec<usize>, Mapping)> {
    match &readings(labels, model, mode, what)?[..] {
        [one] => Ok((one.units.clone(), one.mapping)),
        _ => Err(ambiguous(model, what, "")),
    }
}

fn ambiguous(model: &ModelFile, what: &str, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{what}: the labels are all unit indices 0..{} and all qubits of the model's `qubits` list, and the two \
         readings differ{why}; say which with --labels unit or --labels qubit (`qa import`, `qa beta`; to validate \
         such a file, `qa import --labels ... --stats S` first and validate S), or relabel the file",
        model.num_units()
    )
}

/// Every reading of `labels` that names each unit once: one, or, for `--labels auto` when the
/// labels are both unit indices and qubits and the two differ, both (qubits first).
pub fn readings(labels: &[Label], model: &ModelFile, mode: LabelMode, what: &str) -> Result<Vec<Reading>> {
    let by_qubit = qubit_units(model, labels);
    let complete = |u: &[Option<usize>]| u.iter().all(Option::is_some);
    let (units, mapping) = match (mode, &by_qubit) {
        (LabelMode::Qubit, None) => bail!("{what}: --labels qubit, but the model has no `qubits` list"),
        (LabelMode::Qubit, Some(q)) => (q.clone(), Mapping::Qubit),
        (LabelMode::Unit, _) => (index_units(model, labels), Mapping::Unit),
        (LabelMode::Auto, Some(q)) if complete(q) => {
            let by_index = index_units(model, labels);
            if complete(&by_index) && by_index != *q {
                let take = |u: &[Option<usize>]| u.iter().map(|u| u.expect("complete")).collect::<Vec<_>>();
                let q = one_to_one(labels, take(q), model, Mapping::Qubit, what);
                let u = one_to_one(labels, take(&by_index), model, Mapping::Unit, what);
                return match (q, u) {
                    (Ok(q), Ok(u)) => Ok(vec![q, u]),
                    (Ok(one), Err(_)) | (Err(_), Ok(one)) => Ok(vec![one]),
                    (Err(e), Err(_)) => Err(e),
                };
            }
            (q.clone(), Mapping::Qubit)
        }
        (LabelMode::Auto, Some(q)) => {
            let by_index = index_units(model, labels);
            if complete(&by_index) {
                (by_index, Mapping::Unit)
            } else {
                // Report against whichever reading explains more labels.
                let known = |u: &Vec<Option<usize>>| u.iter().filter(|x| x.is_some()).count();
                if known(q) >= known(&by_index) {
                    (q.clone(), Mapping::Qubit)
                } else {
                    (by_index, Mapping::Unit)
                }
            }
        }
        (LabelMode::Auto, None) => (index_units(model, labels), Mapping::Unit),
    };
    let unknown: Vec<&Label> = labels.iter().zip(&units).filter(|(_, u)| u.is_none()).map(|(l, _)| l).collect();
    if !unknown.is_empty() {
        let n = model.num_units();
        let against = match (mode, mapping) {
            (LabelMode::Qubit, _) => "no qubit of the model (its `qubits` list; --labels qubit)".to_owned(),
            (LabelMode::Unit, _) => format!("no unit of the model (unit indices 0..{n}; --labels unit)"),
            (LabelMode::Auto, Mapping::Qubit) => {
                format!("no qubit of the model (its `qubits` list), and the labels are not all unit indices below {n}")
            }
            (LabelMode::Auto, Mapping::Unit) if model.qubits.is_some() => {
                format!(
                    "no unit of the model (unit indices 0..{n}), and the labels are not all qubits of its `qubits` list"
                )
            }
            (LabelMode::Auto, Mapping::Unit) => {
                format!("no unit of the model (unit indices 0..{n}; it has no `qubits` list)")
            }
        };
        let hint = if unknown.iter().any(|l| l.integer().is_none()) {
            "; labels that are not numbers map through --label-map FILE"
        } else {
            ""
        };
        bail!("{what}: label(s) {} match {against}{hint}", list(&unknown));
    }
    let units: Vec<usize> = units.into_iter().map(|u| u.expect("checked")).collect();
    Ok(vec![one_to_one(labels, units, model, mapping, what)?])
}

/// The readings of `.npy` columns: units in order, or (`--labels qubit`) the model's qubits in
/// ascending order, as a sample set labelled by qubit stores them once sorted. `--labels auto`
/// gives both when the two orders differ.
pub fn column_readings(model: &ModelFile, mode: LabelMode, what: &str) -> Result<Vec<Reading>> {
    let n = model.num_units();
    let in_order = Reading { units: (0..n).collect(), mapping: Mapping::Unit };
    let by_qubit = model.qubits.as_ref().map(|q| {
        let mut units: Vec<usize> = (0..n).collect();
        units.sort_by_key(|&i| q[i]);
        Reading { units, mapping: Mapping::Qubit }
    });
    Ok(match (mode, by_qubit) {
        (LabelMode::Unit, _) | (LabelMode::Auto, None) => vec![in_order],
        (LabelMode::Qubit, None) => bail!("{what}: --labels qubit, but the model has no `qubits` list"),
        (LabelMode::Qubit, Some(q)) => vec![q],
        (LabelMode::Auto, Some(q)) if q.units == in_order.units => vec![in_order],
        (LabelMode::Auto, Some(q)) => vec![q, in_order],
    })
}

/// Least-squares fit y = a x + c: the slope and the residual RMS relative to y's spread.
fn affine_fit(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|v| (v - my).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    if x.len() < 3 || sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    let a = sxy / sxx;
    let rss: f64 = x.iter().zip(y).map(|(u, v)| (v - my - a * (u - mx)).powi(2)).sum();
    Some((a, (rss / syy).sqrt()))
}

fn reading_name(m: Mapping) -> &'static str {
    match m {
        Mapping::Qubit => "qubits",
        Mapping::Unit => "unit indices",
    }
}

/// Put a table read in label (column) order into unit order. With two readings, decide by the
/// file's energies or the mean energy (see the module's text) and say how in the returned note;
/// without evidence, an error that asks for `--labels`.
pub fn resolve(
    by_label: SampleTable,
    readings: Vec<Reading>,
    model: &ModelFile,
    what: &str,
) -> Result<(SampleTable, Mapping, Option<String>)> {
    let [a, b] = match <[Reading; 2]>::try_from(readings) {
        Ok(two) => two,
        Err(mut one) => {
            let r = one.pop().context("no reading of the labels")?;
            return Ok((by_label.permuted(&r.units), r.mapping, None));
        }
    };
    let (ta, tb) = (by_label.permuted(&a.units), by_label.permuted(&b.units));
    let (ea, eb) = (ta.energies(model), tb.energies(model));
    let (na, nb) = (reading_name(a.mapping), reading_name(b.mapping));
    if let Some(file) = &by_label.energy {
        if let (Some((sa, ra)), Some((sb, rb))) = (affine_fit(&ea, file), affine_fit(&eb, file)) {
            let fits = |s: f64, r: f64| s > 0.0 && r < 1e-6;
            let note = |n: &str, s: f64, r: f64, other: &str, ro: f64| {
                format!(
                    "labels read as {n}: the file's energies are {s:.6} E(z) + const with them (relative residual \
                     {r:.1e}), not with {other} (residual {ro:.2}); --labels overrides"
                )
            };
            if fits(sa, ra) && rb > 1e-3 {
                return Ok((ta, a.mapping, Some(note(na, sa, ra, nb, rb))));
            }
            if fits(sb, rb) && ra > 1e-3 {
                return Ok((tb, b.mapping, Some(note(nb, sb, rb, na, ra))));
            }
        }
    }
    // Paired difference of the two readings' energies, weighted; its standard error from the
    // effective number of draws.
    let total = ta.total_weight();
    let d: Vec<f64> = ea.iter().zip(&eb).map(|(x, y)| x - y).collect();
    let mean = d.iter().zip(&ta.weight).map(|(d, w)| w * d).sum::<f64>() / total;
    let var = d.iter().zip(&ta.weight).map(|(d, w)| w * (d - mean).powi(2)).sum::<f64>() / total;
    let se = (var / ta.effective_size().max(1.0)).sqrt();
    let mean_of = |e: &[f64]| e.iter().zip(&ta.weight).map(|(e, w)| w * e).sum::<f64>() / total;
    let (ma, mb) = (mean_of(&ea), mean_of(&eb));
    if mean != 0.0 && mean.abs() > EVIDENCE_SIGMAS * se {
        let sigmas = if se > 0.0 { format!("{:.0} standard errors", mean.abs() / se) } else { "exactly".into() };
        let (keep, mapping, n, m, other, mo) =
            if mean < 0.0 { (ta, a.mapping, na, ma, nb, mb) } else { (tb, b.mapping, nb, mb, na, ma) };
        let note = format!(
            "labels read as {n}: mean energy {m:.4} with them, {mo:.4} read as {other} (apart by {sigmas}); a \
             relabelling keeps the entropy, so Boltzmann samples at beta > 0 have the lower mean energy in their true \
             reading; --labels overrides"
        );
        return Ok((keep, mapping, Some(note)));
    }
    let why = format!(
        " (mean energy {ma:.4} read as {na}, {mb:.4} read as {nb}: apart by less than {EVIDENCE_SIGMAS} standard \
         errors{})",
        if by_label.energy.is_some() { ", and the file's energies fit neither reading alone" } else { "" }
    );
    Err(ambiguous(model, what, &why))
}

/// An explicit map from a file's labels to integer labels (`--label-map FILE`), read as qubits
/// or unit indices as `--labels` says. JSON: an object `{"label": value}` (an integer label is
/// matched by its decimal text, a tuple by its JSON list text) or a list of `[label, value]`
/// pairs; a value is an integer or a Zephyr coordinate `[u, w, k, j, z]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelMap {
    entries: Vec<(Label, Label)>,
}

impl LabelMap {
    /// Read a map file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let bytes = crate::memory::read_file(path, crate::memory::MAX_JSON_INPUT, "label map")?;
        Self::parse(&bytes, &format!("label map {}", path.display()))
    }

    /// Parse map JSON; `what` names the file in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_slice(bytes)
            .with_context(|| format!("{what}: not JSON (expected {{\"label\": qubit}})"))?;
        let mut entries = Vec::new();
        match &v {
            serde_json::Value::Object(o) => {
                for (key, value) in o {
                    let label = match serde_json::from_str::<serde_json::Value>(key) {
                        Ok(a @ serde_json::Value::Array(_)) => Label::from_json(&a, &format!("{what}: key `{key}`"))?,
                        _ => Label::from_text(key),
                    };
                    entries.push((label, Label::from_json(value, &format!("{what}: `{key}`"))?));
                }
            }
            serde_json::Value::Array(a) => {
                for (k, pair) in a.iter().enumerate() {
                    let Some([l, v]) = pair.as_array().map(Vec::as_slice) else {
                        bail!("{what}: entry [{k}] is {pair}, not a [label, value] pair");
                    };
                    entries.push((
                        Label::from_json(l, &format!("{what}: [{k}][0]"))?,
                        Label::from_json(v, &format!("{what}: [{k}][1]"))?,
                    ));
                }
            }
            other => bail!("{what}: the top level is {other}, not an object {{\"label\": value}} or a list of pairs"),
        }
        for (k, (l, v)) in entries.iter().enumerate() {
            if !matches!(v, Label::Int(i) if *i >= 0) && !matches!(v, Label::Tuple(t) if t.len() == 5) {
                bail!(
                    "{what}: label {l} maps to {v}, not a non-negative integer or a Zephyr coordinate (u, w, k, j, z)"
                );
            }
            if let Some(first) = entries[..k].iter().position(|(m, _)| m == l) {
                bail!("{what}: label {l} is mapped twice ({} and {v})", entries[first].1);
            }
        }
        Ok(Self { entries })
    }

    /// The label each of `labels` maps to; labels the map lacks are an error naming them.
    pub fn apply(&self, labels: &[Label], what: &str) -> Result<Vec<Label>> {
        let by_label: std::collections::HashMap<String, &Label> =
            self.entries.iter().map(|(l, v)| (key(l), v)).collect();
        let mut missing = Vec::new();
        let out: Vec<Label> = labels
            .iter()
            .map(|l| {
                by_label.get(&key(l)).map(|v| (*v).clone()).unwrap_or_else(|| {
                    missing.push(l.clone());
                    l.clone()
                })
            })
            .collect();
        if !missing.is_empty() {
            bail!("{what}: label(s) {} are not in the label map", list(&missing));
        }
        Ok(out)
    }
}

/// Labels compare by text: 5 and "5" are one label (a CSV header cannot tell them apart).
fn key(l: &Label) -> String {
    match l {
        Label::Int(i) => i.to_string(),
        Label::Str(s) => s.clone(),
        Label::Tuple(t) => format!("[{}]", t.iter().map(key).collect::<Vec<_>>().join(",")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calo4p_core::json::Edge;

    /// Two units on qubits 1 and 0: labels 0 and 1 read both ways, swapped.
    fn swapped() -> ModelFile {
        ModelFile {
            partition: vec![0, 1],
            bias: vec![1.0, -2.0],
            edges: vec![Edge { i: 0, j: 1, w: 0.5 }],
            qubits: Some(vec![1, 0]),
            zephyr: None,
            description: String::new(),
        }
    }

    #[test]
    fn ambiguous_labels_give_both_readings_and_resolve_by_energies() {
        let model = swapped();
        let labels = [Label::Int(0), Label::Int(1)];
        let both = readings(&labels, &model, LabelMode::Auto, "t").unwrap();
        assert_eq!(both.iter().map(|r| r.mapping).collect::<Vec<_>>(), [Mapping::Qubit, Mapping::Unit]);
        assert!(map_labels(&labels, &model, LabelMode::Auto, "t").unwrap_err().to_string().contains("--labels unit"));
        assert_eq!(readings(&labels, &model, LabelMode::Unit, "t").unwrap().len(), 1);
        // Rows in label order, with energies that are 2 E(z) + 3 when labels are unit indices.
        let rows = [0u8, 1, 1, 0, 1, 1, 0, 0];
        let mut table = SampleTable::from_rows(&rows, 2, None).unwrap();
        let e = |z0: f64, z1: f64| -(z0 - 2.0 * z1 + 0.5 * z0 * z1);
        table.energy = Some(rows.chunks(2).map(|r| 2.0 * e(r[0] as f64, r[1] as f64) + 3.0).collect());
        let (t, mapping, note) = resolve(table.clone(), both.clone(), &model, "t").unwrap();
        assert_eq!(mapping, Mapping::Unit);
        assert!(note.unwrap().contains("2.000000 E(z)"));
        assert_eq!(t, table);
        // Without energies and without a difference in mean energy: refused.
        table.energy = None;
        let even = SampleTable::from_rows(&[0, 0, 1, 1], 2, None).unwrap();
        let err = resolve(even, both, &model, "t").unwrap_err().to_string();
        assert!(err.contains("--labels unit or --labels qubit"), "{err}");
    }

    #[test]
    fn label_maps_by_object_or_pairs() {
        let map = LabelMap::parse(br#"{"a": 5, "[1,2]": 7}"#, "m.json").unwrap();
        let got = map.apply(&[Label::Str("a".into()), Label::Tuple(vec![Label::Int(1), Label::Int(2)])], "f").unwrap();
        assert_eq!(got, [Label::Int(5), Label::Int(7)]);
        let err = map.apply(&[Label::Str("b".into())], "f").unwrap_err().to_string();
        assert!(err.contains("'b' are not in the label map"), "{err}");
        let pairs = LabelMap::parse(br#"[["x", 0], ["y", [0, 1, 0, 0, 0]]]"#, "m.json").unwrap();
        assert_eq!(pairs.apply(&[Label::Str("x".into())], "f").unwrap(), [Label::Int(0)]);
        for bad in [&br#"{"a": -1}"#[..], br#"[["a", 1], ["a", 2]]"#, br#"[1]"#, b"3"] {
            assert!(LabelMap::parse(bad, "m.json").unwrap_err().to_string().contains("m.json"));
        }
    }
}
