//! Fréchet and kernel physics distances (FPD, KPD), as defined by JetNet
//! (`jetnet.evaluation.fpd` / `kpd`; Kansal et al., arXiv:2211.10295).
//!
//! * Both scale every feature by the reference's `max |x|` (a column that is all zero is
//!   left as it is), applied to reference and generated features alike.
//! * **FPD**: for `num_points` batch sizes `N` evenly spaced in `1/N` between
//!   `1/min_samples` and `1/max_samples`, the Fréchet distance
//!   `|mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))` (covariances with `N - 1`) is
//!   averaged over `num_batches` pairs of samples drawn with replacement; a straight
//!   line in `1/N`, with intercept and slope constrained to be non-negative, is fitted,
//!   and its intercept (the value at infinite `N`) is the FPD, with its standard error.
//!   `tr (S_1 S_2)^(1/2)` is computed as the sum of the square roots of the eigenvalues
//!   of the symmetric matrix `S_1^(1/2) S_2 S_1^(1/2)`, which has the same spectrum.
//! * **KPD**: the median over `num_batches` pairs of samples (`batch_size` each, drawn
//!   with replacement) of the unbiased MMD^2 estimate with the kernel
//!   `k(x, y) = (x . y / d + 1)^4`; the error is half the 16.275-83.725 percentile range.
//!
//! The random draws use this crate's PCG stream, not numpy's, so results agree with
//! JetNet statistically, and exactly for the deterministic pieces
//! ([`frechet_distance`], [`mmd_poly_unbiased`], [`fit_intercept`]).

use anyhow::{bail, Result};

use super::synth::Rng;

/// Settings of [`fpd`], JetNet's defaults by [`Default`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct FpdOptions {
    /// Smallest batch size.
    pub min_samples: usize,
    /// Largest batch size.
    pub max_samples: usize,
    /// Batches per batch size.
    pub num_batches: usize,
    /// Number of batch sizes.
    pub num_points: usize,
    /// Seed of the draws.
    pub seed: u64,
}

impl Default for FpdOptions {
    fn default() -> Self {
        FpdOptions { min_samples: 20_000, max_samples: 50_000, num_batches: 20, num_points: 10, seed: 42 }
    }
}

/// Settings of [`kpd`], JetNet's defaults by [`Default`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct KpdOptions {
    /// Number of batches.
    pub num_batches: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Seed of the draws.
    pub seed: u64,
}

impl Default for KpdOptions {
    fn default() -> Self {
        KpdOptions { num_batches: 10, batch_size: 5_000, seed: 42 }
    }
}

/// A score and its uncertainty.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Score {
    /// The value.
    pub value: f64,
    /// Its uncertainty.
    pub error: f64,
}

/// A feature matrix: `n` rows of `d` columns, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// Rows.
    pub n: usize,
    /// Columns.
    pub d: usize,
    /// Values, row-major.
    pub values: Vec<f64>,
}

impl Matrix {
    /// Wraps row-major values.
    pub fn new(n: usize, d: usize, values: Vec<f64>) -> Matrix {
        assert_eq!(values.len(), n * d, "matrix size");
        Matrix { n, d, values }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.d..(i + 1) * self.d]
    }
}

/// Scales both matrices by the reference's column-wise `max |x|` (JetNet's
/// `_normalise_features`).
pub fn normalise(reference: &Matrix, generated: &Matrix) -> (Matrix, Matrix) {
    let d = reference.d;
    let mut maxes = vec![0.0f64; d];
    for i in 0..reference.n {
        for (m, &x) in maxes.iter_mut().zip(reference.row(i)) {
            *m = m.max(x.abs());
        }
    }
    for m in &mut maxes {
        if *m == 0.0 {
            *m = 1.0;
        }
    }
    let scale = |m: &Matrix| {
        let mut v = m.values.clone();
        for row in v.chunks_mut(d) {
            for (x, s) in row.iter_mut().zip(&maxes) {
                *x /= s;
            }
        }
        Matrix::new(m.n, d, v)
    };
    (scale(reference), scale(generated))
}

/// Mean and covariance (`N - 1` normalisation) of the rows `idx` of `m`.
pub fn mean_cov(m: &Matrix, idx: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let d = m.d;
    let n = idx.len();
    // A sample drawn with replacement repeats rows; each distinct row is visited once
    // with its multiplicity, which matters when the batch is larger than the file.
    let rows = multiplicities(m.n, idx);
    let mut mu = vec![0.0; d];
    for &(i, c) in &rows {
        for (a, &x) in mu.iter_mut().zip(m.row(i)) {
            *a += c * x;
        }
    }
    for a in &mut mu {
        *a /= n as f64;
    }
    let mut cov = vec![0.0; d * d];
    let mut centred = vec![0.0; d];
    for &(i, c) in &rows {
        for ((v, &x), &u) in centred.iter_mut().zip(m.row(i)).zip(&mu) {
            *v = x - u;
        }
        for a in 0..d {
            let ca = c * centred[a];
            let row = &mut cov[a * d..a * d + d];
            for (b, &cb) in centred.iter().enumerate().skip(a) {
                row[b] += ca * cb;
            }
        }
    }
    let norm = 1.0 / (n as f64 - 1.0).max(1.0);
    for a in 0..d {
        for b in a..d {
            let v = cov[a * d + b] * norm;
            cov[a * d + b] = v;
            cov[b * d + a] = v;
        }
    }
    (mu, cov)
}

/// The distinct rows of `idx` (all below `n`) with their counts, in row order.
fn multiplicities(n: usize, idx: &[usize]) -> Vec<(usize, f64)> {
    let mut counts = vec![0u32; n];
    for &i in idx {
        counts[i] += 1;
    }
    counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(i, &c)| (i, f64::from(c))).collect()
}

/// The Fréchet distance between two Gaussians (pytorch-fid's formula).
///
/// `tr (S1 S2)^(1/2)` is the sum of the square roots of the eigenvalues of `S1 S2`,
/// which are those of the symmetric `L^T S2 L` for the Cholesky factor `S1 = L L^T`;
/// a singular `S1` (a feature constant over the batch) falls back to `S1^(1/2) S2 S1^(1/2)`
/// through an eigen-decomposition of `S1`.
pub fn frechet_distance(mu1: &[f64], s1: &[f64], mu2: &[f64], s2: &[f64]) -> f64 {
    let d = mu1.len();
    let diff: f64 = mu1.iter().zip(mu2).map(|(a, b)| (a - b) * (a - b)).sum();
    let trace = |s: &[f64]| (0..d).map(|i| s[i * d + i]).sum::<f64>();
    let mut m = match cholesky(s1, d) {
        Some(l) => {
            let lt = transpose(&l, d);
            matmul(&lt, &matmul(s2, &l, d), d)
        }
        None => {
            let (w, v) = symmetric_eigen(s1, d);
            let mut root = vec![0.0; d * d];
            let scaled: Vec<f64> = w.iter().map(|&x| x.max(0.0).sqrt()).collect();
            for i in 0..d {
                for j in i..d {
                    let (ri, rj) = (&v[i * d..i * d + d], &v[j * d..j * d + d]);
                    let acc: f64 = ri.iter().zip(rj).zip(&scaled).map(|((a, b), c)| a * b * c).sum();
                    root[i * d + j] = acc;
                    root[j * d + i] = acc;
                }
            }
            matmul(&matmul(&root, s2, d), &root, d)
        }
    };
    for i in 0..d {
        for j in i + 1..d {
            let a = 0.5 * (m[i * d + j] + m[j * d + i]);
            m[i * d + j] = a;
            m[j * d + i] = a;
        }
    }
    let w2 = symmetric_eigenvalues(&m, d);
    let tr_covmean: f64 = w2.iter().map(|&x| x.max(0.0).sqrt()).sum();
    diff + trace(s1) + trace(s2) - 2.0 * tr_covmean
}

/// Lower Cholesky factor (row-major) of a symmetric matrix, or `None` when a pivot is
/// not clearly positive (relative to the largest diagonal element).
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let max_diag = (0..n).map(|i| a[i * n + i]).fold(0.0f64, f64::max);
    let tiny = 1e-12 * max_diag;
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = l[i * n..i * n + j].iter().zip(&l[j * n..j * n + j]).map(|(p, q)| p * q).sum();
            let v = a[i * n + j] - dot;
            if i == j {
                if v.is_nan() || v <= tiny {
                    return None;
                }
                l[i * n + i] = v.sqrt();
            } else {
                l[i * n + j] = v / l[j * n + j];
            }
        }
    }
    Some(l)
}

fn transpose(a: &[f64], d: usize) -> Vec<f64> {
    let mut t = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            t[j * d + i] = a[i * d + j];
        }
    }
    t
}

fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut c = vec![0.0; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            if aik == 0.0 {
                continue;
            }
            let (row_c, row_b) = (&mut c[i * d..i * d + d], &b[k * d..k * d + d]);
            for (cv, &bv) in row_c.iter_mut().zip(row_b) {
                *cv += aik * bv;
            }
        }
    }
    c
}

/// Eigenvalues and eigenvectors (columns of the row-major `d x d` result) of a symmetric
/// matrix: Householder reduction to tridiagonal form and the implicit QL algorithm
/// (`tred2` / `tql2` of EISPACK, as in JAMA).
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    tridiagonal_ql(a, n, true)
}

/// The eigenvalues alone of a symmetric matrix (same algorithm, no eigenvectors, which
/// saves most of the work).
pub fn symmetric_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
    tridiagonal_ql(a, n, false).0
}

// Kept index for index with the published algorithm so it can be checked against it.
#[allow(clippy::needless_range_loop, clippy::manual_memcpy)]
fn tridiagonal_ql(a: &[f64], n: usize, vectors: bool) -> (Vec<f64>, Vec<f64>) {
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| a[i * n..(i + 1) * n].to_vec()).collect();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    if n == 0 {
        return (d, Vec::new());
    }
    // tred2
    for j in 0..n {
        d[j] = v[n - 1][j];
    }
    for i in (1..n).rev() {
        let mut scale = 0.0;
        let mut h = 0.0;
        for k in 0..i {
            scale += d[k].abs();
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[i - 1][j];
                v[i][j] = 0.0;
                v[j][i] = 0.0;
            }
        } else {
            for k in 0..i {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for ej in e.iter_mut().take(i) {
                *ej = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[j][i] = f;
                g = e[j] + v[j][j] * f;
                for k in j + 1..i {
                    g += v[k][j] * d[k];
                    e[k] += v[k][j] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[k][j] -= f * e[k] + g * d[k];
                }
                d[j] = v[i - 1][j];
                v[i][j] = 0.0;
            }
        }
        d[i] = h;
    }
    if !vectors {
        // The reduction leaves the tridiagonal's diagonal on the diagonal of `v`.
        for j in 0..n {
            d[j] = v[j][j];
        }
    } else {
        for i in 0..n - 1 {
            v[n - 1][i] = v[i][i];
            v[i][i] = 1.0;
            let h = d[i + 1];
            if h != 0.0 {
                for k in 0..=i {
                    d[k] = v[k][i + 1] / h;
                }
                for j in 0..=i {
                    let mut g = 0.0;
                    for k in 0..=i {
                        g += v[k][i + 1] * v[k][j];
                    }
                    for k in 0..=i {
                        v[k][j] -= g * d[k];
                    }
                }
            }
            for k in 0..=i {
                v[k][i + 1] = 0.0;
            }
        }
        for j in 0..n {
            d[j] = v[n - 1][j];
            v[n - 1][j] = 0.0;
        }
        v[n - 1][n - 1] = 1.0;
    }
    e[0] = 0.0;
    // tql2
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n {
            if e[m].abs() <= eps * tst1 {
                break;
            }
            m += 1;
        }
        let m = m.min(n - 1);
        if m > l {
            let mut iter = 0;
            loop {
                iter += 1;
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d.iter_mut().take(n).skip(l + 2) {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    if vectors {
                        for row in v.iter_mut() {
                            h = row[i + 1];
                            row[i + 1] = s * row[i] + c * h;
                            row[i] = c * row[i] - s * h;
                        }
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 || iter > 60 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    let flat = v.into_iter().flatten().collect();
    (d, flat)
}

/// A straight-line fit `y = intercept + slope x`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LineFit {
    /// Value at `x = 0`.
    pub intercept: f64,
    /// Slope.
    pub slope: f64,
    /// Standard error of the intercept.
    pub intercept_error: f64,
}

/// Least-squares line `y = a + b x` with `a, b >= 0` (scipy's bounded `curve_fit`, as
/// `jetnet.fpd` calls it); the intercept's error comes from the residual variance, as
/// `curve_fit` reports it (`absolute_sigma = False`).
pub fn fit_intercept(x: &[f64], y: &[f64]) -> LineFit {
    let n = x.len() as f64;
    let sx: f64 = x.iter().sum();
    let sy: f64 = y.iter().sum();
    let sxx: f64 = x.iter().map(|v| v * v).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    let det = n * sxx - sx * sx;
    let (mut a, mut b) =
        if det.abs() > 0.0 { ((sxx * sy - sx * sxy) / det, (n * sxy - sx * sy) / det) } else { (sy / n, 0.0) };
    if a < 0.0 || b < 0.0 {
        // The constrained optimum lies on a bound: try each face and keep the best.
        let cands = [(0.0, if sxx > 0.0 { (sxy / sxx).max(0.0) } else { 0.0 }), ((sy / n).max(0.0), 0.0)];
        let ssr = |a: f64, b: f64| x.iter().zip(y).map(|(xi, yi)| (yi - a - b * xi).powi(2)).sum::<f64>();
        let best = cands.iter().copied().min_by(|p, q| ssr(p.0, p.1).total_cmp(&ssr(q.0, q.1))).unwrap_or((0.0, 0.0));
        a = best.0;
        b = best.1;
    }
    let ssr: f64 = x.iter().zip(y).map(|(xi, yi)| (yi - a - b * xi).powi(2)).sum();
    let dof = (n - 2.0).max(1.0);
    let s2 = ssr / dof;
    let sigma_a = if det.abs() > 0.0 { (s2 * sxx / det).sqrt() } else { f64::INFINITY };
    LineFit { intercept: a, slope: b, intercept_error: sigma_a }
}

/// The batch sizes of an FPD run: `1 / linspace(1/min, 1/max, points)`, truncated to
/// integers as JetNet does.
pub fn fpd_batch_sizes(opts: &FpdOptions) -> Vec<usize> {
    let a = 1.0 / opts.min_samples as f64;
    let b = 1.0 / opts.max_samples as f64;
    let k = opts.num_points.max(1);
    (0..k)
        .map(|i| {
            let t = if k == 1 { a } else { a + (b - a) * i as f64 / (k - 1) as f64 };
            (1.0 / t) as usize
        })
        .collect()
}

fn draw_indices(rng: &mut Rng, n: usize, size: usize) -> Vec<usize> {
    (0..size).map(|_| rng.below(n)).collect()
}

fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Runs `jobs` closures on all cores, in order of results.
fn run_parallel<T: Send>(jobs: Vec<Box<dyn FnOnce() -> T + Send + '_>>) -> Vec<T> {
    let next = std::sync::Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads() {
            s.spawn(|| loop {
                let job = next.lock().expect("job queue").pop();
                match job {
                    Some((i, f)) => {
                        let r = f();
                        results.lock().expect("results").push((i, r));
                    }
                    None => break,
                }
            });
        }
    });
    let mut r = results.into_inner().expect("results");
    r.sort_by_key(|(i, _)| *i);
    r.into_iter().map(|(_, v)| v).collect()
}

/// FPD of `generated` against `reference` (unnormalised features; see the module doc).
/// `progress(done, total)` is called as batches finish.
pub fn fpd(
    reference: &Matrix,
    generated: &Matrix,
    opts: &FpdOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Score> {
    check(reference, generated)?;
    let (x, y) = normalise(reference, generated);
    let sizes = fpd_batch_sizes(opts);
    let mut rng = Rng::from_seed(opts.seed);
    let total = sizes.len() * opts.num_batches;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut jobs: Vec<Box<dyn FnOnce() -> (usize, f64) + Send + '_>> = Vec::new();
    for (p, &size) in sizes.iter().enumerate() {
        for _ in 0..opts.num_batches {
            let i1 = draw_indices(&mut rng, x.n, size);
            let i2 = draw_indices(&mut rng, y.n, size);
            let (x, y, done) = (&x, &y, &done);
            jobs.push(Box::new(move || {
                let (m1, s1) = mean_cov(x, &i1);
                let (m2, s2) = mean_cov(y, &i2);
                let v = frechet_distance(&m1, &s1, &m2, &s2);
                let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(k, total);
                (p, v)
            }));
        }
    }
    let results = run_parallel(jobs);
    let mut means = vec![0.0; sizes.len()];
    for (p, v) in results {
        means[p] += v / opts.num_batches as f64;
    }
    let inv: Vec<f64> = sizes.iter().map(|&s| 1.0 / s as f64).collect();
    let fit = fit_intercept(&inv, &means);
    Ok(Score { value: fit.intercept, error: fit.intercept_error })
}

/// Unbiased MMD^2 with the kernel `(x . y / d + 1)^4` between the rows `ix` of `x` and
/// the rows `iy` of `y` (equal counts).
pub fn mmd_poly_unbiased(x: &Matrix, ix: &[usize], y: &Matrix, iy: &[usize]) -> f64 {
    let d = x.d as f64;
    let m = ix.len() as f64;
    let k = |a: &[f64], b: &[f64]| {
        let dot: f64 = a.iter().zip(b).map(|(p, q)| p * q).sum();
        (dot / d + 1.0).powi(4)
    };
    // Sum of k over ordered pairs of distinct sample positions, with repeated rows
    // counted by multiplicity: sum_{i != j} c_i c_j k_ij + sum_i c_i (c_i - 1) k_ii.
    let off_diagonal = |mat: &Matrix, idx: &[usize]| {
        let rows = multiplicities(mat.n, idx);
        let mut s = 0.0;
        for (a, &(i, ci)) in rows.iter().enumerate() {
            let ri = mat.row(i);
            let mut inner = 0.0;
            for &(j, cj) in &rows[a + 1..] {
                inner += cj * k(ri, mat.row(j));
            }
            s += 2.0 * ci * inner + ci * (ci - 1.0) * k(ri, ri);
        }
        s
    };
    let kxx = off_diagonal(x, ix);
    let kyy = off_diagonal(y, iy);
    let (rx, ry) = (multiplicities(x.n, ix), multiplicities(y.n, iy));
    let mut kxy = 0.0;
    for &(i, ci) in &rx {
        let ri = x.row(i);
        let mut inner = 0.0;
        for &(j, cj) in &ry {
            inner += cj * k(ri, y.row(j));
        }
        kxy += ci * inner;
    }
    kxx / (m * (m - 1.0)) + kyy / (m * (m - 1.0)) - 2.0 * kxy / (m * m)
}

/// KPD of `generated` against `reference` (unnormalised features; see the module doc).
pub fn kpd(
    reference: &Matrix,
    generated: &Matrix,
    opts: &KpdOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Score> {
    check(reference, generated)?;
    let (x, y) = normalise(reference, generated);
    let mut rng = Rng::from_seed(opts.seed);
    let total = opts.num_batches;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut jobs: Vec<Box<dyn FnOnce() -> f64 + Send + '_>> = Vec::new();
    for _ in 0..opts.num_batches {
        let i1 = draw_indices(&mut rng, x.n, opts.batch_size);
        let i2 = draw_indices(&mut rng, y.n, opts.batch_size);
        let (x, y, done) = (&x, &y, &done);
        jobs.push(Box::new(move || {
            let v = mmd_poly_unbiased(x, &i1, y, &i2);
            let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(k, total);
            v
        }));
    }
    let vals = run_parallel(jobs);
    let value = percentile(&vals, 50.0);
    let error = (percentile(&vals, 83.725) - percentile(&vals, 16.275)) / 2.0;
    Ok(Score { value, error })
}

/// numpy's default (linear) percentile.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

fn check(reference: &Matrix, generated: &Matrix) -> Result<()> {
    if reference.d != generated.d {
        bail!("feature dimension differs: reference {} vs generated {}", reference.d, generated.d);
    }
    if reference.n < 2 || generated.n < 2 {
        bail!("need at least two showers in each set");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_of_a_known_matrix() {
        let a = [4.0, 1.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 2.0];
        let (mut w, v) = symmetric_eigen(&a, 3);
        // Reconstruct A = V diag(w) V^T.
        for i in 0..3 {
            for j in 0..3 {
                let r: f64 = (0..3).map(|k| v[i * 3 + k] * w[k] * v[j * 3 + k]).sum();
                assert!((r - a[i * 3 + j]).abs() < 1e-12);
            }
        }
        w.sort_by(f64::total_cmp);
        let expect = [3.0 - 3f64.sqrt(), 3.0, 3.0 + 3f64.sqrt()];
        for (a, b) in w.iter().zip(expect) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn frechet_of_identical_gaussians_is_zero() {
        let s = [2.0, 0.5, 0.5, 1.0];
        assert!(frechet_distance(&[1.0, 2.0], &s, &[1.0, 2.0], &s).abs() < 1e-12);
        // Commuting case: sum (sqrt a - sqrt b)^2.
        let d = frechet_distance(&[0.0], &[4.0], &[1.0], &[9.0]);
        assert!((d - (1.0 + 1.0)).abs() < 1e-12);
    }

    #[test]
    fn eigenvalues_alone_match_the_full_decomposition() {
        let mut rng = Rng::from_seed(5);
        let n = 12;
        let x: Vec<f64> = (0..n * n).map(|_| rng.normal()).collect();
        let a = matmul(&transpose(&x, n), &x, n);
        let (mut w, _) = symmetric_eigen(&a, n);
        let mut w2 = symmetric_eigenvalues(&a, n);
        w.sort_by(f64::total_cmp);
        w2.sort_by(f64::total_cmp);
        for (p, q) in w.iter().zip(&w2) {
            assert!((p - q).abs() < 1e-9 * p.abs().max(1.0), "{p} vs {q}");
        }
    }

    #[test]
    fn frechet_paths_agree() {
        // A full-rank S1 takes the Cholesky path; the same S1 with a zero row and column
        // takes the eigen path, and the distance only loses that coordinate's terms.
        let mut rng = Rng::from_seed(9);
        let n = 6;
        let draw = |rng: &mut Rng| {
            let x: Vec<f64> = (0..n * n).map(|_| rng.normal()).collect();
            matmul(&transpose(&x, n), &x, n)
        };
        let (s1, s2) = (draw(&mut rng), draw(&mut rng));
        let mu = vec![0.0; n];
        // Reference: explicit square root of S1 through its eigen-decomposition.
        let reference = |s1: &[f64]| {
            let (w, v) = symmetric_eigen(s1, n);
            let mut root = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    root[i * n + j] = (0..n).map(|k| v[i * n + k] * w[k].max(0.0).sqrt() * v[j * n + k]).sum();
                }
            }
            let m = matmul(&matmul(&root, &s2, n), &root, n);
            let (mw, _) = symmetric_eigen(&m, n);
            let tr: f64 = (0..n).map(|i| s1[i * n + i] + s2[i * n + i]).sum();
            tr - 2.0 * mw.iter().map(|x| x.max(0.0).sqrt()).sum::<f64>()
        };
        let (got, want) = (frechet_distance(&mu, &s1, &mu, &s2), reference(&s1));
        assert!((got - want).abs() < 1e-9 * want.abs(), "{got} vs {want}");
        let mut singular = s1.clone();
        for k in 0..n {
            singular[k] = 0.0;
            singular[k * n] = 0.0;
        }
        assert!(cholesky(&singular, n).is_none());
        let (got, want) = (frechet_distance(&mu, &singular, &mu, &s2), reference(&singular));
        assert!((got - want).abs() < 1e-9 * want.abs(), "{got} vs {want}");
    }

    #[test]
    fn fit_recovers_a_line_and_respects_bounds() {
        let x = [1.0, 2.0, 3.0];
        let f = fit_intercept(&x, &[2.5, 3.5, 4.5]);
        assert!((f.intercept - 1.5).abs() < 1e-12 && f.intercept_error < 1e-6);
        let f = fit_intercept(&x, &[0.0, 2.0, 4.0]);
        assert_eq!(f.intercept, 0.0);
    }

    #[test]
    fn repeated_rows_count_with_their_multiplicity() {
        let x = Matrix::new(3, 2, vec![0.1, 0.5, -0.3, 0.2, 0.7, -0.4]);
        let y = Matrix::new(2, 2, vec![0.2, 0.1, -0.5, 0.3]);
        let ix = [0, 2, 0, 1, 0];
        let iy = [1, 1, 0, 1, 0];
        // The same samples written out as distinct rows.
        let xs = Matrix::new(5, 2, ix.iter().flat_map(|&i| x.row(i).to_vec()).collect());
        let ys = Matrix::new(5, 2, iy.iter().flat_map(|&i| y.row(i).to_vec()).collect());
        let all: Vec<usize> = (0..5).collect();
        let a = mmd_poly_unbiased(&x, &ix, &y, &iy);
        let b = mmd_poly_unbiased(&xs, &all, &ys, &all);
        assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        let (m1, c1) = mean_cov(&x, &ix);
        let (m2, c2) = mean_cov(&xs, &all);
        for (p, q) in m1.iter().chain(&c1).zip(m2.iter().chain(&c2)) {
            assert!((p - q).abs() < 1e-14);
        }
    }

    #[test]
    fn percentile_like_numpy() {
        let v = [3.0, 1.0, 2.0, 4.0];
        assert!((percentile(&v, 50.0) - 2.5).abs() < 1e-12);
        assert!((percentile(&v, 16.275) - 1.48825).abs() < 1e-12);
    }
}
