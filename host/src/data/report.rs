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
use crate::report::Report;

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
    page.text(&format!(
        "Reference: {} ({} showers). Generated: {} ({} showers).",
        ev.reference.file, ev.reference.n, ev.generated.file, ev.generated.n
    ));
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

/// Draws the two step outlines on an already built chart (any axis scales).
macro_rules! draw_steps {
    ($chart:expr, $label:expr, $sr:expr, $sg:expr, $logx:expr, $logy:expr) => {{
        let chart = &mut $chart;
        let sci = |v: &f64| format!("{v:.0e}");
        let plain = |v: &f64| format!("{v}");
        let fx: &dyn Fn(&f64) -> String = if $logx { &sci } else { &plain };
        let fy: &dyn Fn(&f64) -> String = if $logy { &sci } else { &plain };
        chart
            .configure_mesh()
            .x_label_formatter(&|v| fx(v))
            .y_label_formatter(&|v| fy(v))
            .x_desc($label)
            .y_desc("density")
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new($sr, REFERENCE_COLOUR.stroke_width(2)))
            .map_err(plot_err)?
            .label("reference")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], REFERENCE_COLOUR));
        chart
            .draw_series(LineSeries::new($sg, GENERATED_COLOUR.stroke_width(2)))
            .map_err(plot_err)?
            .label("generated")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GENERATED_COLOUR));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
    }};
}

/// One feature's reference and generated histograms, as the challenge draws them:
/// densities, a logarithmic y axis except for `E_tot / E_inc`, and a logarithmic x axis
/// for layer energies.
fn histogram_svg(c: &FeatureComparison) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut sr = steps(&c.edges, &c.reference);
        let mut sg = steps(&c.edges, &c.generated);
        let positive = sr.iter().chain(&sg).map(|p| p.1).filter(|&y| y > 0.0);
        let ymax = positive.clone().fold(0.0f64, f64::max).max(1e-300);
        let ymin_pos = positive.fold(f64::INFINITY, f64::min);
        let (lo, hi) = (c.edges[0], *c.edges.last().unwrap_or(&1.0));
        let caption = format!("{} (separation power {:.4})", c.spec.name, c.separation_power);
        let mut builder = ChartBuilder::on(&root);
        builder.caption(caption, ("sans-serif", 18)).margin(10).x_label_area_size(40).y_label_area_size(70);
        let logx = matches!(c.spec.binning, Binning::LogToMax { .. } | Binning::Log { .. }) && lo > 0.0;
        let logy = !matches!(c.spec.kind, FeatureKind::EtotOverEinc | FeatureKind::EtotOverEincAtEnergy)
            && ymin_pos.is_finite();
        let label = c.spec.label.as_str();
        if logy {
            // Empty bins sit on the floor of the axis.
            let floor = ymin_pos / 2.0;
            for p in sr.iter_mut().chain(sg.iter_mut()) {
                p.1 = p.1.max(floor);
            }
            let yr = (floor..ymax * 2.0).log_scale();
            if logx {
                let mut chart = builder.build_cartesian_2d((lo..hi).log_scale(), yr).map_err(plot_err)?;
                draw_steps!(chart, label, sr, sg, logx, logy);
            } else {
                let mut chart = builder.build_cartesian_2d(lo..hi, yr).map_err(plot_err)?;
                draw_steps!(chart, label, sr, sg, logx, logy);
            }
        } else {
            let yr = 0.0..ymax * 1.1;
            if logx {
                let mut chart = builder.build_cartesian_2d((lo..hi).log_scale(), yr).map_err(plot_err)?;
                draw_steps!(chart, label, sr, sg, logx, logy);
            } else {
                let mut chart = builder.build_cartesian_2d(lo..hi, yr).map_err(plot_err)?;
                draw_steps!(chart, label, sr, sg, logx, logy);
            }
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
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
                    "{}: layer {} average shower (colour: log10 E/MeV, {:.2e} .. {:.2e})",
                    geometry.kind, layer.id, vmin, vmax
                ),
                ("sans-serif", 16),
            )
            .map_err(plot_err)?;
        let panels = root.split_evenly((1, 2));
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
