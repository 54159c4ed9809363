//! Variable labels of a sample file and the model units they stand for.
//!
//! An annealer labels variables by physical qubit: integers (linear Zephyr index), strings,
//! or nested lists (dimod's tuples, e.g. Zephyr coordinates (u, w, k, j, z)). A label maps
//! to a unit through the model's `qubits` list; failing that, an integer label is a unit
//! index. The mapping must be one to one and cover every unit.

use crate::model_file::ModelFile;
use anyhow::{bail, Result};
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LabelMode {
    /// Qubits when every label is a qubit of the model, unit indices otherwise.
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

/// The unit of each label. `what` names the labels' file and field in errors.
pub fn map_labels(labels: &[Label], model: &ModelFile, mode: LabelMode, what: &str) -> Result<(Vec<usize>, Mapping)> {
    let by_qubit = qubit_units(model, labels);
    let complete = |u: &Vec<Option<usize>>| u.iter().all(Option::is_some);
    let (units, mapping) = match (mode, &by_qubit) {
        (LabelMode::Qubit, None) => bail!("{what}: --labels qubit, but the model has no `qubits` list"),
        (LabelMode::Qubit, Some(q)) => (q.clone(), Mapping::Qubit),
        (LabelMode::Unit, _) => (index_units(model, labels), Mapping::Unit),
        (LabelMode::Auto, Some(q)) if complete(q) => (q.clone(), Mapping::Qubit),
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
                format!("no unit of the model (unit indices 0..{n}), and the labels are not all qubits of its `qubits` list")
            }
            (LabelMode::Auto, Mapping::Unit) => {
                format!("no unit of the model (unit indices 0..{n}; it has no `qubits` list)")
            }
        };
        bail!("{what}: label(s) {} match {against}", list(&unknown));
    }
    let units: Vec<usize> = units.into_iter().map(|u| u.expect("checked")).collect();
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
    Ok((units, mapping))
}
