//! Plain sample files: CSV with a header of labels, and `.npy` rows.
//!
//! CSV: the first line names the columns; a column named `num_occurrences` holds each row's
//! count, `energy` its energy, `chain_break_fraction` is carried along, every other column
//! is a variable label (an integer when it reads as one). Values are +-1 (SPIN) or 0/1
//! (BINARY); which is decided by the file, and a file that mixes -1 with 0 is refused.
//! `.npy`: a 2-D array whose columns are the model's units in order, with an optional 1-D
//! weight array of one entry per row.

use super::labels::{map_labels, Label, LabelMode, Mapping};
use super::sampleset::Imported;
use super::table::SampleTable;
use crate::model_file::ModelFile;
use crate::npy;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Decides SPIN or BINARY from the values seen so far.
#[derive(Default)]
struct Vartype {
    /// (row, column) of the first -1 and of the first 0.
    minus: Option<(usize, String)>,
    zero: Option<(usize, String)>,
}

impl Vartype {
    /// Is `v` a 1? Errors name the row and column.
    fn one(&mut self, v: f64, row: usize, col: &dyn Fn() -> String) -> Result<bool> {
        if v == 1.0 {
            return Ok(true);
        }
        let here = || (row, col());
        if v == -1.0 {
            self.minus.get_or_insert_with(here);
        } else if v == 0.0 {
            self.zero.get_or_insert_with(here);
        } else {
            bail!("row {row} column {} is {v}; values are +-1 (SPIN) or 0/1 (BINARY)", col());
        }
        if let (Some((rm, cm)), Some((rz, cz))) = (&self.minus, &self.zero) {
            bail!("the file mixes SPIN and BINARY values: -1 at row {rm} column {cm}, 0 at row {rz} column {cz}");
        }
        Ok(false)
    }

    fn name(&self) -> &'static str {
        if self.minus.is_some() {
            "SPIN"
        } else {
            "BINARY"
        }
    }
}

/// Split one CSV line (double quotes around a cell are allowed; no embedded newlines).
fn cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Read a CSV sample file for `model`; errors name the file, the row and the column.
pub fn read_csv(path: &Path, model: &ModelFile, mode: LabelMode) -> Result<Imported> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_csv(&text, model, mode).with_context(|| format!("CSV sample file {}", path.display()))
}

/// Parse CSV text.
pub fn parse_csv(text: &str, model: &ModelFile, mode: LabelMode) -> Result<Imported> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().context("the file is empty: expected a header of variable labels")?;
    let header: Vec<String> = cells(header).into_iter().map(|c| c.trim().to_owned()).collect();
    let mut count_col = None;
    let mut energy_col = None;
    let mut extra_cols = Vec::new();
    let mut label_cols = Vec::new();
    for (c, name) in header.iter().enumerate() {
        match name.as_str() {
            "num_occurrences" => count_col = Some(c),
            "energy" => energy_col = Some(c),
            "chain_break_fraction" => extra_cols.push(c),
            _ => label_cols.push(c),
        }
    }
    let labels: Vec<Label> = label_cols.iter().map(|&c| Label::from_text(&header[c])).collect();
    let (unit_of, mapping) = map_labels(&labels, model, mode, "header")?;
    let body: Vec<(usize, &str)> = lines.collect();
    let mut table = SampleTable::zeros(model.num_units(), body.len());
    let mut counts = vec![1.0; body.len()];
    let mut energy = vec![0.0; if energy_col.is_some() { body.len() } else { 0 }];
    let mut extra = vec![vec![0.0; body.len()]; extra_cols.len()];
    let mut vartype = Vartype::default();
    for (r, &(line_no, line)) in body.iter().enumerate() {
        let row = cells(line);
        if row.len() != header.len() {
            bail!("line {} (row {r}) has {} cells; the header has {}", line_no + 1, row.len(), header.len());
        }
        let num = |c: usize| -> Result<f64> {
            row[c].trim().parse::<f64>().with_context(|| {
                format!("line {} (row {r}) column `{}`: `{}` is not a number", line_no + 1, header[c], row[c])
            })
        };
        for (k, &c) in label_cols.iter().enumerate() {
            let v = num(c)?;
            if vartype.one(v, r, &|| format!("`{}` (line {})", header[c], line_no + 1))? {
                table.set(r, unit_of[k]);
            }
        }
        if let Some(c) = count_col {
            let v = num(c)?;
            if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0) {
                bail!("line {} (row {r}) `num_occurrences` is {v}; counts are non-negative integers", line_no + 1);
            }
            counts[r] = v;
        }
        if let Some(c) = energy_col {
            energy[r] = num(c)?;
            if !energy[r].is_finite() {
                bail!("line {} (row {r}) `energy` is {}; energies must be finite", line_no + 1, energy[r]);
            }
        }
        for (x, &c) in extra.iter_mut().zip(&extra_cols) {
            x[r] = num(c)?;
        }
    }
    if body.is_empty() {
        bail!("the file has a header but no rows");
    }
    table.weight = counts;
    table.energy = energy_col.map(|_| energy);
    table.vectors = extra_cols.iter().map(|&c| header[c].clone()).zip(extra).collect();
    table.check_weights("`num_occurrences`")?;
    Ok(Imported { table, vartype: vartype.name(), mapping })
}

/// Read `.npy` rows (columns are the model's units) and optional `.npy` weights.
pub fn read_npy(path: &Path, weights: Option<&Path>, model: &ModelFile) -> Result<Imported> {
    let what = || format!("npy sample file {}", path.display());
    let a = npy::read(path)?;
    let n = model.num_units();
    let (rows, cols) = match a.shape[..] {
        [r, c] => (r, c),
        _ => bail!("{}: shape {:?}; expected a 2-D array of rows", what(), a.shape),
    };
    if cols != n {
        bail!("{}: rows have {cols} columns; the model has {n} units (columns are units in order)", what());
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
    if let Some(wpath) = weights {
        let w = npy::read(wpath)?;
        let wwhat = format!("weights file {}", wpath.display());
        if w.shape.len() != 1 || w.shape[0] != rows {
            bail!("{wwhat}: shape {:?}; expected one weight per row, ({rows},)", w.shape);
        }
        table.weight = w.data;
        table.check_weights(&wwhat)?;
    }
    Ok(Imported { table, vartype: vartype.name(), mapping: Mapping::Unit })
}
