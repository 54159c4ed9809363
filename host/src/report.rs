//! Tables, plots and one self-contained HTML page, shared by every command that reports.
//!
//! [`print_table`] prints for people; [`line_plot`] and [`bar_plot`] draw SVG strings (plotters);
//! [`Output`] holds the `--json`, `--plot` and `--report` options; [`Report`] collects text, tables
//! and SVGs and writes `DIR/index.html` with every plot inlined, plus each SVG beside it,
//! through temporary files and renames so a report directory is never half written.

use anyhow::{Context, Result};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Output options shared by the diagnostics commands.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Output {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write the plot (SVG) here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Write an HTML report into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// One named series of (x, y) points.
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// Points in x order.
    pub points: Vec<(f64, f64)>,
}

/// Axis scale of y.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Base-10 logarithmic (non-positive values are dropped).
    Log,
}

/// An SVG line plot with markers.
pub fn line_plot(title: &str, x_label: &str, y_label: &str, series: &[Series<'_>], scale: Scale) -> Result<String> {
    let keep = |y: f64| y.is_finite() && (scale == Scale::Linear || y > 0.0);
    let pts = || series.iter().flat_map(|s| s.points.iter().copied()).filter(|&(x, y)| x.is_finite() && keep(y));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in pts() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.1, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("plot: {e}"))?;
        let mut builder = ChartBuilder::on(&root);
        builder.caption(title, ("sans-serif", 18)).margin(12).x_label_area_size(40).y_label_area_size(70);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(x_label)
                    .y_desc(y_label)
                    .draw()
                    .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
                for (k, s) in series.iter().enumerate() {
                    let colour = COLOURS[k % COLOURS.len()];
                    let data: Vec<(f64, f64)> =
                        s.points.iter().copied().filter(|&(x, y)| x.is_finite() && keep(y)).collect();
                    chart
                        .draw_series(LineSeries::new(data.clone(), colour.stroke_width(2)))
                        .map_err(|e| anyhow::anyhow!("plot: {e}"))?
                        .label(s.name)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
                    chart
                        .draw_series(data.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                        .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
            }};
        }
        match scale {
            Scale::Linear => {
                let pad = ((y1 - y0) * 0.05).max(1e-12);
                draw!(builder
                    .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
                    .map_err(|e| anyhow::anyhow!("plot: {e}"))?)
            }
            Scale::Log => {
                let (lo, hi) = (y0 / 2.0, if y1 > y0 { y1 * 2.0 } else { y0 * 10.0 });
                draw!(builder
                    .build_cartesian_2d(x0..x1, (lo..hi).log_scale())
                    .map_err(|e| anyhow::anyhow!("plot: {e}"))?)
            }
        }
        root.present().map_err(|e| anyhow::anyhow!("plot: {e}"))?;
    }
    Ok(svg)
}

/// A bar chart of one value per label (e.g. singular values, biases per setting).
pub fn bar_plot(title: &str, y_label: &str, bars: &[(String, f64)]) -> Result<String> {
    let top = bars.iter().map(|b| b.1).filter(|v| v.is_finite()).fold(0.0f64, f64::max).max(1e-12) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("plot: {e}"))?;
        let n = bars.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(70)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..top)
            .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
        chart
            .configure_mesh()
            .y_desc(y_label)
            .x_labels(n)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0.clone()).unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let x0 = SegmentValue::Exact(i);
                let x1 = SegmentValue::Exact(i + 1);
                let mut r = Rectangle::new([(x0, 0.0), (x1, b.1.max(0.0))], COLOURS[0].filled());
                r.set_margin(0, 0, 6, 6);
                r
            }))
            .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("plot: {e}"))?;
    }
    Ok(svg)
}

enum Part {
    Heading(String),
    Text(String),
    Table { header: Vec<String>, rows: Vec<Vec<String>> },
    Svg { name: String, svg: String },
}

/// An HTML report under construction.
pub struct Report {
    title: String,
    parts: Vec<Part>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl Report {
    /// An empty report.
    pub fn new(title: &str) -> Self {
        Self { title: title.to_owned(), parts: Vec::new() }
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) {
        self.parts.push(Part::Heading(text.to_owned()));
    }

    /// A paragraph.
    pub fn text(&mut self, text: &str) {
        self.parts.push(Part::Text(text.to_owned()));
    }

    /// A table.
    pub fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>) {
        self.parts.push(Part::Table { header: header.iter().map(|s| s.to_string()).collect(), rows });
    }

    /// A plot; also written as `DIR/name`.
    pub fn svg(&mut self, name: &str, svg: String) {
        self.parts.push(Part::Svg { name: name.to_owned(), svg });
    }

    /// The page as HTML text, plots inlined.
    pub fn html(&self) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title><style>\
             body{{font-family:sans-serif;margin:2em;max-width:1100px}}\
             table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:3px 8px;text-align:right}}\
             th{{background:#eee}}</style></head><body><h1>{0}</h1>\n",
            escape(&self.title)
        );
        for part in &self.parts {
            match part {
                Part::Heading(t) => {
                    let _ = writeln!(h, "<h2>{}</h2>", escape(t));
                }
                Part::Text(t) => {
                    let _ = writeln!(h, "<p>{}</p>", escape(t));
                }
                Part::Table { header, rows } => {
                    h.push_str("<table><tr>");
                    for c in header {
                        let _ = write!(h, "<th>{}</th>", escape(c));
                    }
                    h.push_str("</tr>\n");
                    for row in rows {
                        h.push_str("<tr>");
                        for c in row {
                            let _ = write!(h, "<td>{}</td>", escape(c));
                        }
                        h.push_str("</tr>\n");
                    }
                    h.push_str("</table>\n");
                }
                Part::Svg { name, svg } => {
                    // Drop the XML prolog so the SVG can sit inside HTML.
                    let body = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
                    let name = escape(name);
                    let _ =
                        writeln!(h, "<figure>{body}<figcaption><a href=\"{name}\">{name}</a></figcaption></figure>");
                }
            }
        }
        h.push_str("</body></html>\n");
        h
    }

    /// Write every SVG and `index.html` (last) into `dir`; returns the index path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        self.write_svgs(dir, "report")?;
        let index = dir.join("index.html");
        crate::atomic::write(&index, self.html().as_bytes())?;
        Ok(index)
    }

    /// Write each SVG to `dir` without a page (for `--plots DIR`).
    pub fn write_plots(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        self.write_svgs(dir, "plot")
    }

    /// Create `dir` (named `what` in the error) and write every SVG into it.
    fn write_svgs(&self, dir: &Path, what: &str) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {what} directory {}", dir.display()))?;
        let mut out = Vec::new();
        for part in &self.parts {
            if let Part::Svg { name, svg } = part {
                crate::atomic::write(&dir.join(name), svg.as_bytes())?;
                out.push(dir.join(name));
            }
        }
        Ok(out)
    }
}

/// A progress bar on standard error for `len` steps of `unit`s (hidden unless `show`).
pub fn progress_bar(len: u64, show: bool, what: &str, unit: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let template = format!("{{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}");
    let style = indicatif::ProgressStyle::with_template(&template).expect("valid template").progress_chars("=> ");
    indicatif::ProgressBar::new(len).with_style(style).with_message(what.to_owned())
}

/// Print a table to standard output with right-aligned columns.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
        println!("{}", parts.join("  "));
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_inlines_plots_and_escapes_text() {
        let mut r = Report::new("a < b");
        r.table(&["x", "y"], vec![vec!["1".into(), "<2>".into()]]);
        let svg = line_plot("t", "x", "y", &[Series { name: "s", points: vec![(0.0, 1.0), (1.0, 0.5)] }], Scale::Log)
            .unwrap();
        assert!(svg.contains("<svg"));
        r.svg("p.svg", svg);
        r.svg("b.svg", bar_plot("bars", "v", &[("a".into(), 1.0), ("b".into(), 2.0)]).unwrap());
        let html = r.html();
        assert!(
            html.contains("<title>a &lt; b</title>") && html.contains("&lt;2&gt;") && html.matches("<svg").count() == 2
        );
        assert!(!html.contains("<?xml"));
    }
}
