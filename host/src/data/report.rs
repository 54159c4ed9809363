//! The `evaluate --report DIR` output: one SVG per feature histogram, one SVG per layer
//! with the average reference and generated showers, and an `index.html` that shows
//! the scores, a table of separation powers and every plot.
//!
//! Each file is written under a temporary name and renamed, and `index.html` comes
//! last, so a report directory with an index is complete.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;

use super::features::{Binning, FeatureComparison, FeatureKind};
use super::geometry::{Geometry, Layer};
use super::{Evaluation, ShowerSummary};
use crate::report::{draw_legend, format_log_tick, format_tick, tick_width, Mark, Plot, Report, Scale, Series};

const REFERENCE_COLOUR: RGBColor = RGBColor(31, 119, 180);
const GENERATED_COLOUR: RGBColor = RGBColor(214, 39, 40);

/// Writes the whole report into `dir` (created if missing).
pub fn write_report(
    dir: &Path,
    geometry: &Geometry,
    reference: &ShowerSummary,
    generated: &ShowerSummary,
    ev: &Evaluation,
) -> Result<()> {
    let mut page = Report::new(&format!("Shower evaluation, geometry {}", ev.geometry));
    for file in [&ev.reference.file, &ev.generated.file].into_iter().filter(|f| !f.is_empty()) {
        page.input(Path::new(file));
    }
    page.text(&format!(
        "Reference: {} ({} showers). Generated: {} ({} showers).",
        ev.reference.file, ev.reference.n, ev.generated.file, ev.generated.n
    ));
    for note in &ev.notes {
        page.text(&format!("Note: {note}"));
    }
    page.heading("Physics distances");
    page.table(
        &["score", "value", "error"],
        vec![
            vec!["FPD".into(), format!("{:.6}", ev.fpd.value), format!("{:.6}", ev.fpd.error)],
            vec!["KPD".into(), format!("{:.4e}", ev.kpd.value), format!("{:.4e}", ev.kpd.error)],
        ],
    );
    let (f, k) = (&ev.fpd_options, &ev.kpd_options);
    page.text(&format!(
        "FPD: batch sizes {}..{}, {} points x {} batches; KPD: {} batches of {}; seed {} (JetNet definitions, \
         features scaled by the reference's max |x|).",
        f.min_samples, f.max_samples, f.num_points, f.num_batches, k.num_batches, k.batch_size, f.seed
    ));
    if let Some(c) = &ev.classifier {
        page.heading("Classifier metric");
        page.table(
            &["score", "value", "chance level"],
            vec![
                vec!["AUC".into(), format!("{:.4}", c.auc), format!("0.5 ± {:.4}", c.auc_null_error)],
                vec!["JSD (bits)".into(), format!("{:.4}", c.jsd), "0".into()],
                vec!["accuracy".into(), format!("{:.4}", c.accuracy), "0.5".into()],
            ],
        );
        let o = &c.options;
        page.text(&format!(
            "As the CaloChallenge's high-level classifier: a network with {} hidden layers of {} (LeakyReLU) learns to \
             tell generated from reference showers on their high-level features and ln E_inc; {} / {} / {} showers of \
             each set train, calibrate (isotonic) and test it; the epoch with the lowest validation loss ({} of {}) is \
             kept. AUC 0.5 and JSD 0 mean it cannot tell them apart; JSD = 1 − BCE / ln 2 of the calibrated test \
             predictions.",
            o.layers, o.hidden, c.split[0], c.split[1], c.split[2], c.best_epoch, o.epochs
        ));
    }
    page.heading("Separation power per feature");
    page.table(
        &["feature", "separation power"],
        ev.features.iter().map(|c| vec![c.spec.name.clone(), format!("{:.6}", c.separation_power)]).collect(),
    );
    page.heading("Average showers per layer");
    let (mean_ref, mean_gen) = (&reference.mean_shower, &generated.mean_shower);
    for layer in geometry.relevant_layers() {
        page.svg(&format!("average_layer_{}.svg", layer.id), average_layer_svg(geometry, layer, mean_ref, mean_gen)?);
    }
    page.heading("Average showers per incident energy");
    page.text(
        "Mean energy deposited in each layer (longitudinal profile) by showers of each incident energy, \
         reference against generated.",
    );
    let mut rows = Vec::new();
    for (key, (n_ref, sum_ref)) in &reference.energy_sums {
        let Some((n_gen, sum_gen)) = generated.energy_sums.get(key) else {
            rows.push(vec![super::energy_group_label(*key), n_ref.to_string(), "0".into(), "-".into(), "-".into()]);
            continue;
        };
        let layers: Vec<&Layer> = geometry.relevant_layers().collect();
        let profile = |sum: &[f64], n: usize| -> Vec<(f64, f64)> {
            layers.iter().enumerate().map(|(k, l)| (k as f64, sum[l.range()].iter().sum::<f64>() / n as f64)).collect()
        };
        let (pr, pg) = (profile(sum_ref, *n_ref), profile(sum_gen, *n_gen));
        let total = |p: &[(f64, f64)]| p.iter().map(|x| x.1).sum::<f64>();
        rows.push(vec![
            super::energy_group_label(*key),
            n_ref.to_string(),
            n_gen.to_string(),
            format!("{:.4e}", total(&pr)),
            format!("{:.4e}", total(&pg)),
        ]);
        let title = format!("average shower, {}", super::energy_group_label(*key));
        let ids: Vec<String> = layers.iter().map(|l| l.id.to_string()).collect();
        let x_label = format!("layer position (layer ids {})", ids.join(", "));
        let plot = Plot::new(&title, &x_label, "mean layer energy [MeV]", Scale::Log)
            .with(Series { name: "reference", points: pr }, Mark::LinePoints)
            .with(Series { name: "generated", points: pg }, Mark::Points);
        page.svg(&format!("average_energy_{key}.svg"), plot.svg()?);
    }
    page.table(
        &[
            "incident energy",
            "reference showers",
            "generated showers",
            "mean E_dep, reference",
            "mean E_dep, generated",
        ],
        rows,
    );
    page.heading("Feature histograms");
    for c in &ev.features {
        page.svg(&format!("hist_{}.svg", c.spec.name), histogram_svg(c)?);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    crate::atomic::write(&dir.join("evaluation.json"), serde_json::to_string_pretty(ev)?.as_bytes())?;
    page.write(dir)?;
    Ok(())
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting failed: {e:?}")
}

/// Step outline of a density histogram.
fn steps(edges: &[f64], counts: &[f64]) -> Vec<(f64, f64)> {
    let total: f64 = counts.iter().sum();
    let mut pts = Vec::with_capacity(2 * counts.len() + 2);
    pts.push((edges[0], 0.0));
    for (k, &c) in counts.iter().enumerate() {
        let w = edges[k + 1] - edges[k];
        let y = if total > 0.0 && w > 0.0 { c / (total * w) } else { 0.0 };
        pts.push((edges[k], y));
        pts.push((edges[k + 1], y));
    }
    pts.push((*edges.last().unwrap_or(&0.0), 0.0));
    pts
}

/// Density and its Poisson error in each bin: `c / (N w)` and `√c / (N w)`.
fn densities(edges: &[f64], counts: &[f64]) -> Vec<(f64, f64)> {
    let total: f64 = counts.iter().sum();
    counts
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let w = edges[k + 1] - edges[k];
            if total > 0.0 && w > 0.0 {
                (c / (total * w), c.max(0.0).sqrt() / (total * w))
            } else {
                (0.0, 0.0)
            }
        })
        .collect()
}

/// Ratio generated / reference of the densities per bin with its error (Poisson errors of
/// both counts, relative errors added in quadrature); `None` where the reference bin is empty.
fn ratios(edges: &[f64], reference: &[f64], generated: &[f64]) -> Vec<Option<(f64, f64)>> {
    let (dr, dg) = (densities(edges, reference), densities(edges, generated));
    dr.iter()
        .zip(&dg)
        .zip(reference.iter().zip(generated))
        .map(|((&(r, _), &(g, _)), (&cr, &cg))| {
            (r > 0.0 && cr > 0.0).then(|| {
                let q = g / r;
                let rel = (1.0 / cr + if cg > 0.0 { 1.0 / cg } else { 0.0 }).sqrt();
                (q, q * rel)
            })
        })
        .collect()
}

/// Range of the ratio panel.
const RATIO_RANGE: (f64, f64) = (0.5, 1.5);

/// Bin centre on a linear or logarithmic axis.
fn centre(edges: &[f64], k: usize, logx: bool) -> f64 {
    if logx {
        (edges[k] * edges[k + 1]).sqrt()
    } else {
        0.5 * (edges[k] + edges[k + 1])
    }
}

/// Draws the upper panel (step outlines with Poisson error bars) on a built chart.
macro_rules! draw_hist_panel {
    ($chart:expr, $c:expr, $logx:expr, $floor:expr, $xfmt:expr, $yfmt:expr) => {{
        let chart = &mut $chart;
        let c: &FeatureComparison = $c;
        chart
            .configure_mesh()
            .x_label_formatter(&|_| String::new())
            .y_label_formatter($yfmt)
            .y_desc("density")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(plot_err)?;
        let _ = $xfmt;
        for (counts, colour) in [(&c.reference, REFERENCE_COLOUR), (&c.generated, GENERATED_COLOUR)] {
            let mut s = steps(&c.edges, counts);
            for p in s.iter_mut() {
                p.1 = p.1.max($floor);
            }
            chart.draw_series(LineSeries::new(s, colour.stroke_width(2))).map_err(plot_err)?;
            let bars: Vec<PathElement<(f64, f64)>> = densities(&c.edges, counts)
                .into_iter()
                .enumerate()
                .filter(|(_, (d, _))| *d > 0.0)
                .map(|(k, (d, e))| {
                    let x = centre(&c.edges, k, $logx);
                    PathElement::new(vec![(x, (d - e).max($floor)), (x, d + e)], colour.stroke_width(1))
                })
                .collect();
            chart.draw_series(bars).map_err(plot_err)?;
        }
    }};
}

/// Draws the ratio panel (generated / reference with error bars) on a built chart.
macro_rules! draw_ratio_panel {
    ($chart:expr, $c:expr, $label:expr, $logx:expr, $xfmt:expr) => {{
        let chart = &mut $chart;
        let c: &FeatureComparison = $c;
        chart
            .configure_mesh()
            .x_label_formatter($xfmt)
            .y_label_formatter(&|v: &f64| format_tick(*v, 0.1))
            .y_labels(3)
            .x_desc($label)
            .y_desc("gen / ref")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(plot_err)?;
        let (x0, x1) = (c.edges[0], *c.edges.last().unwrap_or(&1.0));
        chart
            .draw_series(LineSeries::new(vec![(x0, 1.0), (x1, 1.0)], REFERENCE_COLOUR.stroke_width(1)))
            .map_err(plot_err)?;
        for (k, r) in ratios(&c.edges, &c.reference, &c.generated).into_iter().enumerate() {
            let Some((q, e)) = r else { continue };
            let x = centre(&c.edges, k, $logx);
            let (lo, hi) = ((q - e).max(RATIO_RANGE.0), (q + e).min(RATIO_RANGE.1));
            if lo < hi {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, lo), (x, hi)],
                        GENERATED_COLOUR.stroke_width(1),
                    )))
                    .map_err(plot_err)?;
            }
            if (RATIO_RANGE.0..=RATIO_RANGE.1).contains(&q) {
                chart
                    .draw_series(std::iter::once(Circle::new((x, q), 3, GENERATED_COLOUR.filled())))
                    .map_err(plot_err)?;
            } else {
                // Off the panel: a triangle on its edge.
                let y = q.clamp(RATIO_RANGE.0 + 0.03, RATIO_RANGE.1 - 0.03);
                chart
                    .draw_series(std::iter::once(TriangleMarker::new((x, y), 5, GENERATED_COLOUR.filled())))
                    .map_err(plot_err)?;
            }
        }
    }};
}

/// One feature's reference and generated histograms, as the challenge's `evaluate.py` draws
/// them: densities with Poisson error bars, a logarithmic y axis except for `E_tot / E_inc`,
/// a logarithmic x axis for layer energies, and below, the ratio generated / reference with
/// its error (points off the 0.5..1.5 panel are triangles on its edge).
fn histogram_svg(c: &FeatureComparison) -> Result<String> {
    let mut svg = String::new();
    {
        let (w, h) = (680u32, 560u32);
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let sp = c.separation_power;
        let caption = format!("{} (separation power {})", c.spec.name, format_tick(sp, (sp.abs() / 100.0).max(1e-12)));
        let root = root.titled(&caption, ("sans-serif", 18)).map_err(plot_err)?;
        let (legend, body) = root.split_vertically(26);
        draw_legend(
            &legend,
            &[("reference", REFERENCE_COLOUR, Mark::Line), ("generated", GENERATED_COLOUR, Mark::Line)],
        )?;
        let (_, body_h) = body.dim_in_pixel();
        let (top, bottom) = body.split_vertically(body_h * 68 / 100);
        let dens: Vec<(f64, f64)> =
            densities(&c.edges, &c.reference).into_iter().chain(densities(&c.edges, &c.generated)).collect();
        let ymax = dens.iter().map(|d| d.0 + d.1).fold(0.0f64, f64::max).max(1e-300);
        let ymin_pos = dens.iter().map(|d| d.0).filter(|&y| y > 0.0).fold(f64::INFINITY, f64::min);
        let (lo, hi) = (c.edges[0], *c.edges.last().unwrap_or(&1.0));
        let logx = matches!(c.spec.binning, Binning::LogToMax { .. } | Binning::Log { .. }) && lo > 0.0;
        let logy = !matches!(c.spec.kind, FeatureKind::EtotOverEinc | FeatureKind::EtotOverEincAtEnergy)
            && ymin_pos.is_finite();
        let label = c.spec.label.as_str();
        let floor = if logy { ymin_pos / 2.0 } else { 0.0 };
        let y_area = (20 + 8 * tick_width(if logy { floor } else { 0.0 }, ymax * 1.1, logy) as u32 + 24).max(60);
        let x_step = (hi - lo) / 10.0;
        let xfmt_lin = move |v: &f64| format_tick(*v, x_step);
        let xfmt_log = |v: &f64| format_log_tick(*v);
        let xfmt: &dyn Fn(&f64) -> String = if logx { &xfmt_log } else { &xfmt_lin };
        let y_step = ymax * 1.1 / 10.0;
        let yfmt_lin = move |v: &f64| format_tick(*v, y_step);
        let yfmt_log = |v: &f64| format_log_tick(*v);
        let yfmt: &dyn Fn(&f64) -> String = if logy { &yfmt_log } else { &yfmt_lin };
        let mut tb = ChartBuilder::on(&top);
        tb.margin(8).margin_right(28).margin_bottom(0).x_label_area_size(4).y_label_area_size(y_area);
        let mut bb = ChartBuilder::on(&bottom);
        bb.margin(8).margin_right(28).margin_top(2).x_label_area_size(46).y_label_area_size(y_area);
        let (r0, r1) = RATIO_RANGE;
        match (logx, logy) {
            (true, true) => {
                let mut chart =
                    tb.build_cartesian_2d((lo..hi).log_scale(), (floor..ymax * 2.0).log_scale()).map_err(plot_err)?;
                draw_hist_panel!(chart, c, true, floor, xfmt, yfmt);
            }
            (false, true) => {
                let mut chart = tb.build_cartesian_2d(lo..hi, (floor..ymax * 2.0).log_scale()).map_err(plot_err)?;
                draw_hist_panel!(chart, c, false, floor, xfmt, yfmt);
            }
            (true, false) => {
                let mut chart = tb.build_cartesian_2d((lo..hi).log_scale(), 0.0..ymax * 1.1).map_err(plot_err)?;
                draw_hist_panel!(chart, c, true, 0.0, xfmt, yfmt);
            }
            (false, false) => {
                let mut chart = tb.build_cartesian_2d(lo..hi, 0.0..ymax * 1.1).map_err(plot_err)?;
                draw_hist_panel!(chart, c, false, 0.0, xfmt, yfmt);
            }
        }
        if logx {
            let mut chart = bb.build_cartesian_2d((lo..hi).log_scale(), r0..r1).map_err(plot_err)?;
            draw_ratio_panel!(chart, c, label, true, xfmt);
        } else {
            let mut chart = bb.build_cartesian_2d(lo..hi, r0..r1).map_err(plot_err)?;
            draw_ratio_panel!(chart, c, label, false, xfmt);
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// A vertical colour bar for the logarithmic scale `vmin..vmax` (MeV), labelled at each decade.
fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    vmin: f64,
    vmax: f64,
) -> Result<()> {
    let (_, h) = area.dim_in_pixel();
    let (top, bottom) = (40i32, h as i32 - 40);
    let (x0, x1) = (10i32, 30i32);
    let span = (vmax / vmin).log10();
    let steps = 64;
    for k in 0..steps {
        let t0 = k as f64 / steps as f64;
        let y_hi = bottom - ((bottom - top) as f64 * (k + 1) as f64 / steps as f64).round() as i32;
        let y_lo = bottom - ((bottom - top) as f64 * k as f64 / steps as f64).round() as i32;
        area.draw(&Rectangle::new([(x0, y_hi), (x1, y_lo)], colour(t0 + 0.5 / steps as f64).filled()))
            .map_err(plot_err)?;
    }
    area.draw(&Rectangle::new([(x0, top), (x1, bottom)], BLACK.stroke_width(1))).map_err(plot_err)?;
    let first = vmin.log10().ceil() as i32;
    let last = vmax.log10().floor() as i32;
    for e in first..=last {
        let t = (e as f64 - vmin.log10()) / span;
        let y = bottom - ((bottom - top) as f64 * t).round() as i32;
        area.draw(&PathElement::new(vec![(x1, y), (x1 + 4, y)], BLACK.stroke_width(1))).map_err(plot_err)?;
        area.draw(&Text::new(format_log_tick(10f64.powi(e)), (x1 + 7, y - 7), ("sans-serif", 13).into_font()))
            .map_err(plot_err)?;
    }
    area.draw(&Text::new("MeV", (x0, top - 22), ("sans-serif", 13).into_font())).map_err(plot_err)?;
    Ok(())
}

/// Viridis-like colour for `t` in [0, 1].
fn colour(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] =
        [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let k = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - k as f64;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Average reference and generated showers of one layer, drawn in polar coordinates
/// (radius on a log(1 + r) scale, colour log10 of the mean voxel energy).
fn average_layer_svg(geometry: &Geometry, layer: &Layer, mean_ref: &[f64], mean_gen: &[f64]) -> Result<String> {
    let range = layer.range();
    let vmax =
        mean_ref[range.clone()].iter().chain(&mean_gen[range.clone()]).cloned().fold(0.0f64, f64::max).max(1e-12);
    let vmin = vmax * 1e-4;
    let rho = |r: f64| (1.0 + r).ln();
    let rmax = rho(*layer.r_edges.last().unwrap_or(&1.0));
    let n_r = layer.n_r();
    let sub = (64 / layer.n_alpha).max(2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 470)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let root = root
            .titled(
                &format!(
                    "{}: layer {} average shower (mean voxel energy, MeV; grey: below {})",
                    geometry.kind,
                    layer.id,
                    format_log_tick(vmin)
                ),
                ("sans-serif", 16),
            )
            .map_err(plot_err)?;
        let (images, bar) = root.split_horizontally(900 - 110);
        draw_colour_bar(&bar, vmin, vmax)?;
        let panels = images.split_evenly((1, 2));
        for (panel, (title, mean)) in panels.iter().zip([("reference", mean_ref), ("generated", mean_gen)]) {
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 16))
                .margin(10)
                .build_cartesian_2d(-rmax..rmax, -rmax..rmax)
                .map_err(plot_err)?;
            let step = 2.0 * std::f64::consts::PI / layer.n_alpha as f64;
            for a in 0..layer.n_alpha {
                for j in 0..n_r {
                    let e = mean[layer.offset + a * n_r + j];
                    let t = if e > vmin { (e / vmin).log10() / (vmax / vmin).log10() } else { 0.0 };
                    let style = if e > vmin { colour(t).filled() } else { RGBColor(240, 240, 240).filled() };
                    let (r0, r1) = (rho(layer.r_edges[j]), rho(layer.r_edges[j + 1]));
                    let a0 = -std::f64::consts::PI + a as f64 * step;
                    let polys: Vec<Polygon<(f64, f64)>> = (0..sub)
                        .map(|s| {
                            let t0 = a0 + step * s as f64 / sub as f64;
                            let t1 = a0 + step * (s + 1) as f64 / sub as f64;
                            Polygon::new(
                                vec![
                                    (r0 * t0.cos(), r0 * t0.sin()),
                                    (r1 * t0.cos(), r1 * t0.sin()),
                                    (r1 * t1.cos(), r1 * t1.sin()),
                                    (r0 * t1.cos(), r0 * t1.sin()),
                                ],
                                style,
                            )
                        })
                        .collect();
                    chart.draw_series(polys).map_err(plot_err)?;
                }
            }
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_ends() {
        assert_eq!(colour(0.0), RGBColor(68, 1, 84));
        assert_eq!(colour(1.0), RGBColor(253, 231, 37));
    }

    #[test]
    fn steps_integrate_to_one() {
        let edges = [0.0, 1.0, 3.0];
        let s = steps(&edges, &[2.0, 2.0]);
        let area: f64 = s.windows(2).map(|w| (w[1].0 - w[0].0) * w[0].1).sum();
        assert!((area - 1.0).abs() < 1e-12);
    }
}
