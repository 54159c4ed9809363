//! Singular values of the inter-partition weight blocks (`calo4p svd`).
//!
//! For partitions `p < q` the block is the dense `|p| × |q|` matrix `W_pq` with
//! `W_pq[a, b] = W_ij` for the edge between the `a`-th unit of `p` and the `b`-th unit of `q`
//! (units in file order within their partition) and 0 where there is no edge. Its singular
//! values come from nalgebra's SVD, sorted descending. The rank counts singular values above
//! `max(rows, cols) · σ_max · ε` (numpy's `matrix_rank` tolerance).

use crate::model_file::ModelFile;
#[cfg(feature = "cli")]
use crate::report::{line_plot, print_table, Output, Report, Scale, Series};
#[cfg(feature = "cli")]
use anyhow::Result;
use nalgebra::DMatrix;
use serde::Serialize;
#[cfg(feature = "cli")]
use std::path::PathBuf;

/// The spectrum of one inter-partition block.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockSpectrum {
    /// First partition.
    pub p: usize,
    /// Second partition (`q > p`).
    pub q: usize,
    /// Units of `p`.
    pub rows: usize,
    /// Units of `q`.
    pub cols: usize,
    /// Singular values, descending (`min(rows, cols)` of them).
    pub singular_values: Vec<f64>,
}

impl BlockSpectrum {
    /// Singular values treated as zero lie at or below this.
    pub fn tolerance(&self) -> f64 {
        self.largest() * self.rows.max(self.cols) as f64 * f64::EPSILON
    }

    /// Numerical rank.
    pub fn rank(&self) -> usize {
        let tol = self.tolerance();
        self.singular_values.iter().filter(|&&s| s > tol).count()
    }

    /// Largest singular value (the spectral norm); 0 for an empty block.
    pub fn largest(&self) -> f64 {
        self.singular_values.first().copied().unwrap_or(0.0)
    }

    /// Smallest singular value above the rank tolerance, if any.
    pub fn smallest_nonzero(&self) -> Option<f64> {
        let tol = self.tolerance();
        self.singular_values.iter().copied().rfind(|&s| s > tol)
    }

    /// Frobenius norm, sqrt(Σ σ²).
    pub fn frobenius(&self) -> f64 {
        self.singular_values.iter().map(|s| s * s).sum::<f64>().sqrt()
    }
}

/// The spectrum of every block `p < q`, in the order (0,1), (0,2), …, (1,2), ….
pub fn block_singular_values(model: &ModelFile) -> Vec<BlockSpectrum> {
    let sizes = model.sizes();
    let mut local = vec![0usize; model.num_units()];
    let mut seen = vec![0usize; sizes.len()];
    for (i, &p) in model.partition.iter().enumerate() {
        local[i] = seen[p as usize];
        seen[p as usize] += 1;
    }
    let mut blocks: Vec<DMatrix<f64>> = Vec::new();
    let mut pairs = Vec::new();
    for p in 0..sizes.len() {
        for q in p + 1..sizes.len() {
            pairs.push((p, q));
            blocks.push(DMatrix::zeros(sizes[p], sizes[q]));
        }
    }
    let index = |p: usize, q: usize| pairs.iter().position(|&pq| pq == (p, q)).expect("p < q is a pair");
    for e in &model.edges {
        let (pi, pj) = (model.partition[e.i] as usize, model.partition[e.j] as usize);
        // The model builder refuses intra-partition edges; orient each edge as (p < q).
        let (a, b, p, q) = if pi < pj { (e.i, e.j, pi, pj) } else { (e.j, e.i, pj, pi) };
        if p != q {
            blocks[index(p, q)][(local[a], local[b])] = e.w;
        }
    }
    pairs
        .into_iter()
        .zip(blocks)
        .map(|((p, q), m)| {
            let (rows, cols) = m.shape();
            let mut singular_values =
                if rows == 0 || cols == 0 { Vec::new() } else { m.singular_values().as_slice().to_vec() };
            singular_values.sort_by(|a, b| b.total_cmp(a));
            BlockSpectrum { p, q, rows, cols, singular_values }
        })
        .collect()
}

#[cfg(feature = "cli")]
/// `calo4p svd`: singular values of each inter-partition weight block.
#[derive(clap::Args, Debug)]
pub struct SvdArgs {
    /// Model file.
    #[arg(short, long)]
    pub model: PathBuf,
    /// Table or JSON, plot and report.
    #[command(flatten)]
    pub output: Output,
}

/// Table columns of [`rows`].
pub const HEADER: [&str; 7] = ["block", "size", "edges", "rank", "largest", "smallest nonzero", "Frobenius"];

/// One table row per block.
pub fn rows(model: &ModelFile, spectra: &[BlockSpectrum]) -> Vec<Vec<String>> {
    spectra
        .iter()
        .map(|s| {
            let edges = model
                .edges
                .iter()
                .filter(|e| {
                    let (a, b) = (model.partition[e.i] as usize, model.partition[e.j] as usize);
                    (a.min(b), a.max(b)) == (s.p, s.q)
                })
                .count();
            vec![
                format!("{}-{}", s.p, s.q),
                format!("{}x{}", s.rows, s.cols),
                edges.to_string(),
                s.rank().to_string(),
                format!("{:.6}", s.largest()),
                s.smallest_nonzero().map_or("-".into(), |v| format!("{v:.6}")),
                format!("{:.6}", s.frobenius()),
            ]
        })
        .collect()
}

#[cfg(feature = "cli")]
#[derive(Serialize)]
struct BlockOut<'a> {
    #[serde(flatten)]
    spectrum: &'a BlockSpectrum,
    rank: usize,
    smallest_nonzero: Option<f64>,
    frobenius: f64,
}

#[cfg(feature = "cli")]
/// The plot: singular values of each block against their index, log scale.
pub fn plot(spectra: &[BlockSpectrum]) -> Result<String> {
    let names: Vec<String> = spectra.iter().map(|s| format!("block {}-{}", s.p, s.q)).collect();
    let series: Vec<Series<'_>> = spectra
        .iter()
        .zip(&names)
        .map(|(s, name)| Series {
            name,
            points: s.singular_values.iter().enumerate().map(|(k, &v)| ((k + 1) as f64, v)).collect(),
        })
        .collect();
    line_plot("singular values of the weight blocks", "index k", "σ_k", &series, Scale::Log)
}

#[cfg(feature = "cli")]
/// Run `calo4p svd`.
pub fn run_svd(args: SvdArgs) -> Result<()> {
    crate::atomic::refuse_clobber(&[Some(&args.model)], &[args.output.plot.as_ref()])?;
    let model = ModelFile::load(&args.model)?;
    crate::memory::ensure(crate::memory::dense_blocks::<f64>(&model.sizes()), || {
        format!("svd of {}", args.model.display())
    })?;
    let spectra = block_singular_values(&model);
    for sp in &spectra {
        crate::validation::finite::require(
            &format!("model file {}: block {}-{}", args.model.display(), sp.p, sp.q),
            &[("singular value", &sp.singular_values), ("Frobenius norm", &[sp.frobenius()])],
        )?;
    }
    if args.output.json {
        let out: Vec<BlockOut<'_>> = spectra
            .iter()
            .map(|s| BlockOut {
                spectrum: s,
                rank: s.rank(),
                smallest_nonzero: s.smallest_nonzero(),
                frobenius: s.frobenius(),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "model": args.model, "blocks": out }))?);
    } else {
        print_table(&HEADER, &rows(&model, &spectra));
    }
    if args.output.plot.is_some() || args.output.report.is_some() {
        let svg = plot(&spectra)?;
        if let Some(path) = &args.output.plot {
            crate::atomic::write(path, svg.as_bytes())?;
        }
        if let Some(dir) = &args.output.report {
            let mut report = Report::new(&format!("calo4p svd: {}", args.model.display()));
            report.input(&args.model);
            report.text(
                "Singular values of each inter-partition weight block W_pq (|p| x |q|, zero where there is no edge), \
                 from nalgebra's SVD. Rank: singular values above max(rows, cols) · σ_max · ε.",
            );
            report.table(&HEADER, rows(&model, &spectra));
            report.svg("singular_values.svg", svg);
            let values: Vec<Vec<String>> = spectra
                .iter()
                .map(|s| {
                    let list: Vec<String> = s.singular_values.iter().map(|v| format!("{v:.4}")).collect();
                    vec![format!("{}-{}", s.p, s.q), list.join(" ")]
                })
                .collect();
            report.table(&["block", "singular values"], values);
            eprintln!("report: {}", report.write(dir)?.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calo4p_core::json::Edge;

    fn model(partition: Vec<u8>, edges: &[(usize, usize, f64)]) -> ModelFile {
        ModelFile {
            bias: vec![0.0; partition.len()],
            partition,
            edges: edges.iter().map(|&(i, j, w)| Edge { i, j, w }).collect(),
            qubits: None,
            zephyr: None,
            description: String::new(),
        }
    }

    #[test]
    fn diagonal_and_rank_one_blocks() {
        // Partitions of sizes 2, 3, 1: block 0-1 diagonal (3, -4), block 0-2 rank one, 1-2 empty.
        let m = model(vec![0, 0, 1, 1, 1, 2], &[(0, 2, 3.0), (1, 3, -4.0), (0, 5, 1.0), (1, 5, 1.0)]);
        let s = block_singular_values(&m);
        assert_eq!(
            s.iter().map(|b| (b.p, b.q, b.rows, b.cols)).collect::<Vec<_>>(),
            [(0, 1, 2, 3), (0, 2, 2, 1), (1, 2, 3, 1)]
        );
        assert!((s[0].singular_values[0] - 4.0).abs() < 1e-12 && (s[0].singular_values[1] - 3.0).abs() < 1e-12);
        assert_eq!(s[0].rank(), 2);
        assert!((s[0].frobenius() - 5.0).abs() < 1e-12);
        assert!((s[1].largest() - 2f64.sqrt()).abs() < 1e-12 && s[1].rank() == 1);
        assert_eq!((s[2].rank(), s[2].largest(), s[2].smallest_nonzero()), (0, 0.0, None));
        let table = rows(&m, &s);
        assert_eq!(table[0][2], "2");
        assert_eq!(table[2][5], "-");
        #[cfg(feature = "cli")]
        assert!(plot(&s).unwrap().contains("<svg"));
    }
}
