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

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A line with a marker at each point.
    LinePoints,
    /// A line only.
    Line,
    /// A thin dashed-looking line (references such as ±2 standard errors).
    Guide,
    /// Markers only (statistics that are not a function of x, such as z-scores).
    Points,
}

/// A plot of several series, with marks, reference lines and a legend above the axes (never
/// over the data).
pub struct Plot<'a> {
    /// Title.
    pub title: &'a str,
    /// x axis label.
    pub x_label: &'a str,
    /// y axis label.
    pub y_label: &'a str,
    /// y scale.
    pub scale: Scale,
    /// Series and how each is drawn.
    pub layers: Vec<(Series<'a>, Mark)>,
    /// Horizontal reference lines (y values), drawn grey.
    pub h_lines: Vec<f64>,
    /// Vertical reference lines (x value, label).
    pub v_lines: Vec<(f64, String)>,
    /// Width and height in pixels.
    pub size: (u32, u32),
}

impl<'a> Plot<'a> {
    /// A plot with no series yet.
    pub fn new(title: &'a str, x_label: &'a str, y_label: &'a str, scale: Scale) -> Self {
        Self {
            title,
            x_label,
            y_label,
            scale,
            layers: Vec::new(),
            h_lines: Vec::new(),
            v_lines: Vec::new(),
            size: (800, 480),
        }
    }

    /// Add a series drawn as `mark`.
    pub fn with(mut self, series: Series<'a>, mark: Mark) -> Self {
        self.layers.push((series, mark));
        self
    }

    /// Draw it as an SVG string.
    pub fn svg(&self) -> Result<String> {
        draw_plot(self)
    }
}

/// The tick spacing an axis labeller picks for a rough spacing `raw` (a tenth of the range):
/// the smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return raw;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * p).find(|&s| s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * p)
}

/// Decimals that show ticks `step` apart exactly (`0.25` needs 2, `0.5` needs 1).
fn decimals_for(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    (0..12)
        .find(|&d| {
            let x = step * 10f64.powi(d);
            (x - x.round()).abs() < 1e-6 * x.max(1.0)
        })
        .unwrap_or(12) as usize
}

/// A tick label for `v` on an axis whose ticks are about `step` apart: fixed decimals for
/// magnitudes from 10^-3 to 10^5, scientific notation (`1.5e-13`) beyond, never more digits
/// than the spacing resolves (no `0.30000000000000004`).
pub fn format_tick(v: f64, step: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let step = if step.is_finite() && step > 0.0 { nice_step(step) } else { v.abs().max(1e-300) };
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    let mag = v.abs();
    if (1e-3..1e5).contains(&mag) && step >= 1e-4 {
        return format!("{v:.*}", decimals_for(step));
    }
    let e = mag.log10().floor() as i32;
    let digits = ((e as f64 - (step.log10() + 1e-9).floor()).max(0.0) as usize
        + decimals_for(step / 10f64.powf((step.log10() + 1e-9).floor())))
    .min(6);
    let mantissa = v / 10f64.powi(e);
    // Rounding can carry the mantissa to 10.
    let text = format!("{mantissa:.digits$}");
    if text.trim_start_matches('-').starts_with("10") {
        return format!("{:.digits$}e{}", mantissa / 10.0, e + 1);
    }
    format!("{text}e{e}")
}

/// A tick label on a logarithmic axis: plain numbers from 10^-3 to 10^4, `2e-7` beyond.
pub fn format_log_tick(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return String::new();
    }
    let e = v.log10().floor() as i32;
    let m = v / 10f64.powi(e);
    let m = (m * 10.0).round() / 10.0;
    if (-3..4).contains(&e) {
        let decimals = if m.fract().abs() < 1e-9 { (-e).max(0) as usize } else { (1 - e).max(0) as usize };
        return format!("{v:.decimals$}");
    }
    if (m - m.round()).abs() < 1e-9 {
        format!("{}e{e}", m.round())
    } else {
        format!("{m:.1}e{e}")
    }
}

/// Characters of the widest tick label of an axis over `lo..hi`.
pub fn tick_width(lo: f64, hi: f64, log: bool) -> usize {
    let step = (hi - lo) / 10.0;
    (0..=10)
        .map(|k| {
            if log {
                format_log_tick(lo * (hi / lo).powf(k as f64 / 10.0))
            } else {
                format_tick(lo + step * k as f64, step)
            }
        })
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(4)
}

/// Draw a legend as a row (wrapping) of entries in `area` above the axes.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(&str, RGBColor, Mark)],
) -> Result<()> {
    let (w, _) = area.dim_in_pixel();
    let (mut x, mut y) = (70i32, 4i32);
    for (name, colour, mark) in entries {
        let width = 34 + 7 * name.chars().count() as i32;
        if x + width > w as i32 - 10 && x > 70 {
            (x, y) = (70, y + 20);
        }
        let cy = y + 8;
        match mark {
            Mark::Points => {
                area.draw(&Circle::new((x + 10, cy), 4, colour.filled())).map_err(plot_error)?;
            }
            Mark::Guide => {
                area.draw(&PathElement::new(vec![(x, cy), (x + 22, cy)], colour.stroke_width(1)))
                    .map_err(plot_error)?;
            }
            _ => {
                area.draw(&PathElement::new(vec![(x, cy), (x + 22, cy)], colour.stroke_width(2)))
                    .map_err(plot_error)?;
                if *mark == Mark::LinePoints {
                    area.draw(&Circle::new((x + 11, cy), 3, colour.filled())).map_err(plot_error)?;
                }
            }
        }
        area.draw(&Text::new(name.to_string(), (x + 28, y + 1), ("sans-serif", 14).into_font())).map_err(plot_error)?;
        x += width + 14;
    }
    Ok(())
}

fn plot_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plot: {e:?}")
}

/// Rows of legend entries a plot of width `w` needs.
fn legend_rows(names: &[&str], w: u32) -> u32 {
    let (mut x, mut rows) = (70i32, 1u32);
    for name in names {
        let width = 34 + 7 * name.chars().count() as i32;
        if x + width > w as i32 - 10 && x > 70 {
            (x, rows) = (70, rows + 1);
        }
        x += width + 14;
    }
    rows
}

fn draw_plot(p: &Plot<'_>) -> Result<String> {
    let scale = p.scale;
    let keep = |y: f64| y.is_finite() && (scale == Scale::Linear || y > 0.0);
    let pts = || p.layers.iter().flat_map(|(s, _)| s.points.iter().copied()).filter(|&(x, y)| x.is_finite() && keep(y));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in pts() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    for &y in p.h_lines.iter().filter(|&&y| keep(y)) {
        (y0, y1) = (y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.1, 1.0);
    }
    if x1 <= x0 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    let (ylo, yhi) = match scale {
        Scale::Linear => {
            let pad = ((y1 - y0) * 0.05).max(1e-12 * y1.abs().max(1e-300));
            (y0 - pad, y1 + pad)
        }
        Scale::Log => (y0 / 1.5, if y1 > y0 { y1 * 1.5 } else { y0 * 10.0 }),
    };
    let names: Vec<&str> = p.layers.iter().map(|(s, _)| s.name).filter(|n| !n.is_empty()).collect();
    let legend_h = if names.is_empty() { 0 } else { 20 * legend_rows(&names, p.size.0) + 6 };
    let y_area = (20 + 8 * tick_width(ylo, yhi, scale == Scale::Log) as u32 + 24).max(60);
    let x_step = (x1 - x0) / 10.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (p.size.0, p.size.1 + legend_h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let root = root.titled(p.title, ("sans-serif", 18)).map_err(plot_error)?;
        let (legend, body) = root.split_vertically(legend_h);
        // A series without a name continues the one before it (same colour, no legend entry).
        let mut colours = Vec::with_capacity(p.layers.len());
        let mut next = 0usize;
        for (s, _) in &p.layers {
            if s.name.is_empty() && next > 0 {
                colours.push(COLOURS[(next - 1) % COLOURS.len()]);
            } else {
                colours.push(COLOURS[next % COLOURS.len()]);
                next += 1;
            }
        }
        let entries: Vec<(&str, RGBColor, Mark)> = p
            .layers
            .iter()
            .zip(&colours)
            .filter(|((s, _), _)| !s.name.is_empty())
            .map(|((s, m), &c)| (s.name, c, *m))
            .collect();
        draw_legend(&legend, &entries)?;
        let mut builder = ChartBuilder::on(&body);
        builder.margin(8).margin_right(28).x_label_area_size(46).y_label_area_size(y_area);
        let x_fmt = |v: &f64| format_tick(*v, x_step);
        let y_step = (yhi - ylo) / 10.0;
        let y_fmt = |v: &f64| format_tick(*v, y_step);
        let log_fmt = |v: &f64| format_log_tick(*v);
        macro_rules! draw {
            ($chart:expr, $yfmt:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(p.x_label)
                    .y_desc(p.y_label)
                    .x_label_formatter(&x_fmt)
                    .y_label_formatter($yfmt)
                    .label_style(("sans-serif", 13))
                    .axis_desc_style(("sans-serif", 15))
                    .light_line_style(RGBColor(238, 238, 238))
                    .draw()
                    .map_err(plot_error)?;
                for &y in p.h_lines.iter().filter(|&&y| keep(y)) {
                    chart
                        .draw_series(LineSeries::new(vec![(x0, y), (x1, y)], RGBColor(150, 150, 150).stroke_width(1)))
                        .map_err(plot_error)?;
                }
                for (x, label) in &p.v_lines {
                    let (a, b) = (ylo, yhi);
                    chart
                        .draw_series(LineSeries::new(vec![(*x, a), (*x, b)], RGBColor(120, 120, 120).stroke_width(1)))
                        .map_err(plot_error)?;
                    chart
                        .draw_series(std::iter::once(Text::new(label.clone(), (*x, b), ("sans-serif", 12).into_font())))
                        .map_err(plot_error)?;
                }
                for ((s, mark), &colour) in p.layers.iter().zip(&colours) {
                    let data: Vec<(f64, f64)> =
                        s.points.iter().copied().filter(|&(x, y)| x.is_finite() && keep(y)).collect();
                    let radius = if data.len() > 400 { 2 } else { 3 };
                    match mark {
                        Mark::Points => {
                            chart
                                .draw_series(data.iter().map(|&q| Circle::new(q, radius, colour.mix(0.8).filled())))
                                .map_err(plot_error)?;
                        }
                        Mark::Guide => {
                            chart.draw_series(LineSeries::new(data, colour.stroke_width(1))).map_err(plot_error)?;
                        }
                        Mark::Line | Mark::LinePoints => {
                            chart
                                .draw_series(LineSeries::new(data.clone(), colour.stroke_width(2)))
                                .map_err(plot_error)?;
                            if *mark == Mark::LinePoints && data.len() <= 200 {
                                chart
                                    .draw_series(data.iter().map(|&q| Circle::new(q, radius, colour.filled())))
                                    .map_err(plot_error)?;
                            }
                        }
                    }
                }
            }};
        }
        match scale {
            Scale::Linear => {
                draw!(builder.build_cartesian_2d(x0..x1, ylo..yhi).map_err(plot_error)?, &y_fmt)
            }
            Scale::Log => {
                draw!(builder.build_cartesian_2d(x0..x1, (ylo..yhi).log_scale()).map_err(plot_error)?, &log_fmt)
            }
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// An SVG line plot with markers.
pub fn line_plot(title: &str, x_label: &str, y_label: &str, series: &[Series<'_>], scale: Scale) -> Result<String> {
    let mut plot = Plot::new(title, x_label, y_label, scale);
    for s in series {
        plot.layers.push((Series { name: s.name, points: s.points.clone() }, Mark::LinePoints));
    }
    plot.svg()
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
            .margin_right(28)
            .x_label_area_size(60)
            .y_label_area_size((20 + 8 * tick_width(0.0, top, false) as u32 + 24).max(60))
            .build_cartesian_2d((0..n).into_segmented(), 0.0..top)
            .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
        let y_step = top / 10.0;
        chart
            .configure_mesh()
            .y_desc(y_label)
            .y_label_formatter(&|v| format_tick(*v, y_step))
            .label_style(("sans-serif", 13))
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
    SvgRow(Vec<(String, String)>),
}

/// A plot as an HTML figure, captioned with a link to its file.
fn figure(h: &mut String, name: &str, svg: &str) {
    // Drop the XML prolog so the SVG can sit inside HTML.
    let body = svg.find("<svg").map_or(svg, |at| &svg[at..]);
    let name = escape(name);
    let _ = writeln!(h, "<figure>{body}<figcaption><a href=\"{name}\">{name}</a></figcaption></figure>");
}

/// An HTML report under construction.
///
/// Every page opens with a header: the tool and its version, the command line, the date
/// (UTC) and the SHA-256 of each input file named with [`Report::input`] (the digest
/// `sha256sum` prints).
pub struct Report {
    title: String,
    parts: Vec<Part>,
    command: String,
    created: String,
    inputs: Vec<(String, String)>,
}

/// SHA-256 of a file, in hex; an unreadable file says why instead.
pub fn file_sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return format!("(cannot read: {e})"),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => hasher.update(&buf[..k]),
            Err(e) => return format!("(cannot read: {e})"),
        }
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `seconds` since the Unix epoch as `YYYY-MM-DD hh:mm:ss UTC` (proleptic Gregorian).
pub fn utc_timestamp(seconds: u64) -> String {
    let (days, rem) = ((seconds / 86_400) as i64, seconds % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem / 60 % 60, rem % 60)
}

fn shell_quote(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl Report {
    /// An empty report.
    pub fn new(title: &str) -> Self {
        let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let args: Vec<String> = std::env::args().collect();
        let program = args.first().map(|a| Path::new(a).file_name().map_or(a.clone(), |f| f.to_string_lossy().into()));
        let command =
            program.into_iter().chain(args.iter().skip(1).cloned()).map(|a| shell_quote(&a)).collect::<Vec<_>>();
        Self {
            title: title.to_owned(),
            parts: Vec::new(),
            command: command.join(" "),
            created: utc_timestamp(seconds),
            inputs: Vec::new(),
        }
    }

    /// Name an input file in the header, with its SHA-256 (read now).
    pub fn input(&mut self, path: &Path) {
        let name = path.display().to_string();
        if !self.inputs.iter().any(|(n, _)| *n == name) {
            self.inputs.push((name, file_sha256(path)));
        }
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

    /// Plots side by side (for comparisons); each is also written as `DIR/name`.
    pub fn svg_row(&mut self, figures: Vec<(String, String)>) {
        self.parts.push(Part::SvgRow(figures));
    }

    /// The page as HTML text, plots inlined.
    pub fn html(&self) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title><style>\
             body{{font-family:sans-serif;margin:2em;max-width:1100px}}\
             table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:3px 8px;text-align:right}}\
             th{{background:#eee}}.header{{font-size:90%;color:#333;background:#f6f6f6;border:1px solid #ddd;\
             padding:.5em 1em}}.header td,.header th{{border:none;text-align:left;padding:1px 8px}}\
             .header code{{word-break:break-all}}figure{{margin:1em 0}}svg{{max-width:100%;height:auto}}\
             .row{{display:flex;gap:1em}}.row figure{{flex:1;min-width:0}}\
             </style></head><body><h1>{0}</h1>\n",
            escape(&self.title)
        );
        let _ = write!(
            h,
            "<table class=\"header\"><tr><th>tool</th><td>calo4p {}</td></tr>\
             <tr><th>command</th><td><code>{}</code></td></tr><tr><th>date</th><td>{}</td></tr>",
            env!("CARGO_PKG_VERSION"),
            escape(&self.command),
            escape(&self.created)
        );
        for (name, digest) in &self.inputs {
            let _ = write!(
                h,
                "<tr><th>input</th><td><code>{}</code> SHA-256 <code>{}</code></td></tr>",
                escape(name),
                escape(digest)
            );
        }
        h.push_str("</table>\n");
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
                Part::Svg { name, svg } => figure(&mut h, name, svg),
                Part::SvgRow(figures) => {
                    h.push_str("<div class=\"row\">");
                    for (name, svg) in figures {
                        figure(&mut h, name, svg);
                    }
                    h.push_str("</div>\n");
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
            let figures = match part {
                Part::Svg { name, svg } => vec![(name, svg)],
                Part::SvgRow(f) => f.iter().map(|(n, s)| (n, s)).collect(),
                _ => Vec::new(),
            };
            for (name, svg) in figures {
                crate::atomic::write(&dir.join(name), svg.as_bytes())?;
                out.push(dir.join(name));
            }
        }
        Ok(out)
    }
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
        assert!(html.contains("calo4p ") && html.contains("UTC"));
    }

    #[test]
    fn input_digest_is_sha256() {
        let path = std::env::temp_dir().join(format!("calo4p-sha-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        // FIPS 180-2 test vector.
        assert_eq!(file_sha256(&path), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let mut r = Report::new("t");
        r.input(&path);
        assert!(r.html().contains("ba7816bf8f01cfea"));
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn dates_and_ticks() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_timestamp(951_782_400 + 3661), "2000-02-29 01:01:01 UTC");
        assert_eq!(utc_timestamp(1_764_412_800), "2025-11-29 10:40:00 UTC");
        assert_eq!(format_tick(0.30000000000000004, 0.1), "0.3");
        assert_eq!(format_tick(1.0000000000000002e-13, 1e-14), "1.0e-13");
        assert_eq!(format_tick(-2.5e-7, 5e-8), "-2.5e-7");
        assert_eq!(format_tick(1e-17, 0.1), "0");
        assert_eq!(format_tick(1500.0, 500.0), "1500");
        assert_eq!(format_tick(9.0, 0.8), "9");
        assert_eq!(format_tick(0.75, 0.22), "0.75");
        assert_eq!(format_tick(2.5e-9, 2.2e-10), "2.50e-9");
        assert_eq!(format_tick(0.9999999, 1e-8), "9.999999e-1");
        assert_eq!(format_tick(9.96e-9, 1e-10), "1.0e-8");
        assert_eq!(format_log_tick(1.0000000000000002e-13), "1e-13");
        assert_eq!(format_log_tick(0.002), "0.002");
        assert_eq!(format_log_tick(20.000000000000004), "20");
        assert_eq!(format_log_tick(3e5), "3e5");
    }
}
