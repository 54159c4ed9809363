//! CSV sample files with a header of labels.
//!
//! The first line names the columns; a column named `num_occurrences` holds each row's
//! count, `energy` its energy, `chain_break_fraction` is carried along, every other column
//! is a variable label (an integer when it reads as one). Values are +-1 (SPIN) or 0/1
//! (BINARY); which is decided by the file, and a file that mixes -1 with 0 is refused.

use super::labels::{readings, resolve, Label, LabelMap, LabelMode};
use super::table::{check_count, SampleTable};
use super::{Imported, Vartype};
use crate::model_file::ModelFile;
use anyhow::{bail, Context, Result};
use std::path::Path;

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
    read_csv_with(path, model, mode, None)
}

/// [`read_csv`], the header's labels first translated through `map` (`--label-map`).
pub fn read_csv_with(path: &Path, model: &ModelFile, mode: LabelMode, map: Option<&LabelMap>) -> Result<Imported> {
    let text = crate::memory::read_text(path, crate::memory::max_sample_input(), "CSV sample file")?;
    parse_csv_with(&text, model, mode, map).with_context(|| format!("CSV sample file {}", path.display()))
}

/// Parse CSV text.
pub fn parse_csv(text: &str, model: &ModelFile, mode: LabelMode) -> Result<Imported> {
    parse_csv_with(text, model, mode, None)
}

/// Parse CSV text, the header's labels first translated through `map`.
pub fn parse_csv_with(text: &str, model: &ModelFile, mode: LabelMode, map: Option<&LabelMap>) -> Result<Imported> {
    // A byte-order mark (Excel writes one) is not part of the first label.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
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
    let labels = match map {
        Some(map) => map.apply(&labels, "header")?,
        None => labels,
    };
    let readings = readings(&labels, model, mode, "header")?;
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
                table.set(r, k);
            }
        }
        if let Some(c) = count_col {
            let v = num(c)?;
            check_count(v, || format!("line {} (row {r}) `num_occurrences`", line_no + 1))?;
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
    let (table, mapping, evidence) = resolve(table, readings, model, "header")?;
    let counts = count_col.map(|_| "num_occurrences".to_owned());
    Ok(Imported { table, vartype: vartype.name(), mapping, evidence, counts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use calo4p_core::json::Edge;

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_label() {
        let model = ModelFile {
            partition: vec![0, 1],
            bias: vec![0.5, -0.5],
            edges: vec![Edge { i: 0, j: 1, w: 1.0 }],
            qubits: None,
            zephyr: None,
            description: String::new(),
        };
        let plain = parse_csv_with("0,1\n1,0\n0,1\n", &model, LabelMode::Unit, None).unwrap();
        let marked = parse_csv_with("\u{feff}0,1\n1,0\n0,1\n", &model, LabelMode::Unit, None).unwrap();
        assert_eq!(marked.table, plain.table);
        let mut row = [0u8; 2];
        marked.table.row(0, &mut row);
        assert_eq!(row, [1, 0]);
    }
}
