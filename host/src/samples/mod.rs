//! Every sample source, read one way: the layer below every command that reads samples
//! (`qa`, `validate`, `generate`).
//!
//! | source | module | what it gives |
//! |---|---|---|
//! | dimod `SampleSet.to_serializable()` JSON | [`sampleset`] | a weighted [`table::SampleTable`] (`num_occurrences`) |
//! | CSV with a header of labels | [`csv`] | a weighted table |
//! | `.npy` rows (+ optional `.npy` weights) | [`npy`] | a weighted table, or rows in file order ([`npy::Rows`]) |
//! | statistics JSON (`sample --stats`, `qa import`, `exact`) | [`crate::statistics`] | moments only |
//!
//! Variable labels map to model units through the model's `qubits` or as unit indices
//! ([`labels`]), after an explicit label map if one is given; labels that read both ways are
//! decided by stated evidence or refused. [`read`] picks a reader from a [`Format`] (or the extension); [`open`]
//! tells all four apart by content, for commands that take any of them.
//!
//! Invariants: a table's rows are in the model's unit order, every value 0 or 1, weights finite
//! and non-negative with a positive total; errors name the file and the field, row or column.

pub mod csv;
pub mod labels;
pub mod npy;
pub mod sampleset;
pub mod table;

use crate::model_file::ModelFile;
use crate::statistics::Statistics;
use anyhow::{bail, Context, Result};
use labels::{LabelMode, Mapping};
use std::path::{Path, PathBuf};
use table::SampleTable;

/// What an import produced besides the table.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The rows in model order with their weights.
    pub table: SampleTable,
    /// `SPIN` or `BINARY` (as the file said).
    pub vartype: &'static str,
    /// How labels were read.
    pub mapping: Mapping,
    /// Why, when the labels read both ways and the file's evidence decided.
    pub evidence: Option<String>,
    /// Where the weights came from (`num_occurrences`, a weights file); `None`: the file has
    /// no counts and every row weighs 1.
    pub counts: Option<String>,
}

/// Sample file formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// From the file's extension: .json, .csv, .npy.
    #[default]
    Auto,
    /// dimod `SampleSet.to_serializable()` JSON.
    Dimod,
    /// CSV with a header of variable labels.
    Csv,
    /// NumPy rows (columns are units in order).
    Npy,
}

/// How to read a sample file into a weighted table.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// File format.
    pub format: Format,
    /// How variable labels name units.
    pub labels: LabelMode,
    /// Weight per row for `.npy` samples (a 1-D `.npy` array).
    pub weights: Option<PathBuf>,
    /// Map the file's labels through this JSON file first ([`labels::LabelMap`]).
    pub label_map: Option<PathBuf>,
}

/// Read samples for `model` from `path` into a weighted table.
pub fn read(path: &Path, model: &ModelFile, options: &ReadOptions) -> Result<Imported> {
    let format = match options.format {
        Format::Auto => match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("json") => Format::Dimod,
            Some("csv") => Format::Csv,
            Some("npy") => Format::Npy,
            _ => bail!("{}: cannot tell the format from the extension; use --format dimod|csv|npy", path.display()),
        },
        f => f,
    };
    if options.weights.is_some() && format != Format::Npy {
        bail!("--weights is for .npy samples; {} carries its own counts", path.display());
    }
    let map = options.label_map.as_deref().map(labels::LabelMap::load).transpose()?;
    if map.is_some() && format == Format::Npy {
        bail!("--label-map is for labelled samples (dimod JSON, CSV); {} has columns, not labels", path.display());
    }
    let imported = match format {
        Format::Dimod => {
            let bytes = crate::memory::read_file(path, crate::memory::max_sample_input(), "sample set")?;
            let what = format!("sample set {}", path.display());
            sampleset::parse_with(&bytes, model, options.labels, map.as_ref(), &what)
        }
        Format::Csv => csv::read_csv_with(path, model, options.labels, map.as_ref()),
        Format::Npy => npy::read_npy(path, options.weights.as_deref(), model, options.labels),
        Format::Auto => unreachable!("resolved above"),
    }?;
    note_evidence(path, &imported);
    Ok(imported)
}

/// Say on standard error how ambiguous labels were decided, whatever the command prints.
fn note_evidence(path: &Path, imported: &Imported) {
    if let Some(e) = &imported.evidence {
        eprintln!("note: {}: {e}", path.display());
    }
}

/// A sample source told apart by content.
#[derive(Clone, Debug)]
pub enum Source {
    /// `.npy` rows in file order (Markov chains, sweep by sweep).
    Rows(npy::Rows),
    /// Independent weighted rows: a dimod SampleSet or a CSV file.
    Weighted(Imported),
    /// A statistics file: moments without samples.
    Statistics(Statistics),
}

/// Open any sample source for `model`: `.npy` rows, `.csv`, a dimod SampleSet JSON (recognised
/// by its `sample_data` field) or a statistics JSON file; labels as `labels` says.
pub fn open(path: &Path, model: &ModelFile, labels: LabelMode) -> Result<Source> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    match extension.as_str() {
        "npy" => {
            return Ok(Source::Rows(npy::read_rows(
                path,
                model.num_units(),
                &format!("sample file {}", path.display()),
            )?));
        }
        "csv" => {
            let imported = csv::read_csv(path, model, labels)?;
            note_evidence(path, &imported);
            return Ok(Source::Weighted(imported));
        }
        _ => {}
    }
    let bytes = crate::memory::read_file(path, crate::memory::max_sample_input(), "sample file")?;
    if bytes.windows(13).any(|w| w == b"\"sample_data\"") {
        let name = path.display().to_string();
        let imported = sampleset::parse(&bytes, model, labels, &name).with_context(|| format!("sample set {name}"))?;
        note_evidence(path, &imported);
        Ok(Source::Weighted(imported))
    } else {
        Ok(Source::Statistics(Statistics::parse(&bytes, path)?))
    }
}

/// Decides SPIN or BINARY from the values seen so far.
#[derive(Default)]
pub(crate) struct Vartype {
    /// (row, column) of the first -1 and of the first 0.
    minus: Option<(usize, String)>,
    zero: Option<(usize, String)>,
}

impl Vartype {
    /// Is `v` a 1? Errors name the row and column.
    pub(crate) fn one(&mut self, v: f64, row: usize, col: &dyn Fn() -> String) -> Result<bool> {
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

    pub(crate) fn name(&self) -> &'static str {
        if self.minus.is_some() {
            "SPIN"
        } else {
            "BINARY"
        }
    }
}
