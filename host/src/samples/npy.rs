//! `.npy` sample files: a 2-D array whose columns are the model's units in order.
//!
//! Two readings of the same file. [`read_npy`] gives a weighted [`SampleTable`] (independent
//! rows, an optional 1-D weight array of one entry per row), as annealer reads are; its columns
//! are units in order or, with `--labels qubit`, the model's qubits in ascending order, and
//! where the two differ `--labels auto` decides only on evidence it states
//! ([`super::labels::resolve`]). [`read_rows`]
//! gives the rows as bytes in file order, for Markov chains whose rows are sweep by sweep
//! (`calo4p sample --out`), where the order carries the autocorrelation.
//! Values are 0/1 (BINARY) or +-1 (SPIN), decided by the file; a file that mixes -1 with 0 is
//! refused.

use super::labels::{column_readings, resolve, LabelMode};
use super::table::SampleTable;
use super::{Imported, Vartype};
use crate::model_file::ModelFile;
use crate::npy;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Read `.npy` rows (columns are the model's units, or its qubits in ascending order, as
/// `labels` says) and optional `.npy` weights.
pub fn read_npy(path: &Path, weights: Option<&Path>, model: &ModelFile, labels: LabelMode) -> Result<Imported> {
    let what = || format!("npy sample file {}", path.display());
    let readings = column_readings(model, labels, &what())?;
    let a = npy::read(path)?;
    let n = model.num_units();
    let (rows, cols) = match a.shape[..] {
        [r, c] => (r, c),
        _ => bail!("{}: shape {:?}; expected a 2-D array of rows", what(), a.shape),
    };
    if cols != n {
        bail!("{}: rows have {cols} columns; the model has {n} units (one column per unit)", what());
    }
    let mut table = SampleTable::zeros(n, rows);
    let mut vartype = Vartype::default();
    for (r, row) in a.data.chunks_exact(n.max(1)).enumerate() {
        for (i, &v) in row.iter().enumerate() {
            if vartype.one(v, r, &|| i.to_string()).with_context(what)? {
                table.set(r, i);
            }
        }
    }
    if rows == 0 {
        bail!("{}: the array has no rows", what());
    }
    let counts = weights.map(|w| format!("weights file {}", w.display()));
    if let Some(wpath) = weights {
        let w = npy::read(wpath)?;
        let wwhat = format!("weights file {}", wpath.display());
        if w.shape.len() != 1 || w.shape[0] != rows {
            bail!("{wwhat}: shape {:?}; expected one weight per row, ({rows},)", w.shape);
        }
        table.weight = w.data;
        table.check_weights(&wwhat)?;
    }
    let (table, mapping, evidence) = resolve(table, readings, model, &format!("{} (columns)", what()))?;
    Ok(Imported { table, vartype: vartype.name(), mapping, evidence, counts })
}

/// Binary rows of a `.npy` file, in file order.
#[derive(Clone, Debug)]
pub struct Rows {
    /// `num_rows x units` bytes, 0 or 1.
    pub data: Vec<u8>,
    /// Units per row.
    pub units: usize,
    /// `SPIN` or `BINARY` (as the file's values said).
    pub vartype: &'static str,
}

impl Rows {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.data.len() / self.units.max(1)
    }
}

/// Read a `.npy` file of rows of `units` values (0/1, or +-1 spins mapped to 0/1); a 1-D array
/// is one row. `what` names the file in errors (`sample file x.npy`, `--init x.npy`).
pub fn read_rows(path: &Path, units: usize, what: &str) -> Result<Rows> {
    // Converted while parsing: a 10^5 x 1208 file is 120 MB as bytes, 1 GB as f64.
    let (mut first_minus, mut first_zero, mut first_bad) = (None, None, None);
    let (shape, data) = npy::read_map(path, |k, v| {
        Ok(match v {
            1.0 => 1u8,
            0.0 => {
                first_zero.get_or_insert(k);
                0
            }
            -1.0 => {
                first_minus.get_or_insert(k);
                0
            }
            _ => {
                first_bad.get_or_insert((k, v));
                0
            }
        })
    })?;
    let cols = match shape[..] {
        [c] | [_, c] => c,
        _ => bail!("{what}: shape {shape:?}; expected a 2-D array of rows of {units} units"),
    };
    if cols != units {
        bail!("{what}: shape {shape:?}; rows have {cols} units, the model has {units}");
    }
    if data.is_empty() {
        bail!("{what}: the array has no rows");
    }
    if let Some((k, v)) = first_bad {
        bail!("{what}: row {}, unit {} is {v}, not 0/1 or ±1", k / units, k % units);
    }
    if let (Some(m), Some(z)) = (first_minus, first_zero) {
        bail!(
            "{what}: the file mixes SPIN and BINARY values: -1 at row {}, unit {}; 0 at row {}, unit {}",
            m / units,
            m % units,
            z / units,
            z % units
        );
    }
    let vartype = if first_minus.is_some() { "SPIN" } else { "BINARY" };
    Ok(Rows { data, units, vartype })
}
