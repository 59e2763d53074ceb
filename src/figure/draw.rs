//! Rendering of [`Figure`]s with plotters (bitmap and SVG backends, embedded font).
//!
//! All charts use linear coordinates; a log axis is drawn by plotting log₁₀ of the data and
//! labelling integer ticks 10ᵏ. Lines are clipped to the plot rectangle before drawing.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::chart::SeriesAnno;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::ErrorBar;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{Axis, Figure, Heatmap, Legend, LinePanel, Note, Panel, Rgb, Series, Style};
use crate::error::{Error, Result};

const FONT: &str = "sans-serif";

fn pe(e: impl std::fmt::Display) -> Error {
    Error::Plot(e.to_string())
}

fn ensure_font() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "embedded DejaVu Sans font could not be loaded".to_string())
    })
    .clone()
    .map_err(Error::Plot)
}

fn color(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

pub(super) fn save(fig: &Figure, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    ensure_font()?;
    if fig.panels.is_empty() {
        return Err(Error::invalid(
            "panels",
            0,
            "a figure needs at least one panel",
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let rows = fig.panels.len().div_ceil(fig.cols);
    let cols = fig.cols.min(fig.panels.len());
    let title_h = if fig.title.is_some() { 40 } else { 0 };
    let size = (
        fig.panel_size.0 * cols as u32,
        fig.panel_size.1 * rows as u32 + title_h,
    );
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    // Both files are opened first, so that an unwritable path is an I/O error naming the file
    // (plotters would report it only after drawing, as a nested debug value).
    for path in [&png, &svg] {
        std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    }
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw(fig, &root, rows, cols)?;
        root.present()
            .map_err(|e| Error::Plot(format!("{}: {e}", png.display())))?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw(fig, &root, rows, cols)?;
        root.present()
            .map_err(|e| Error::Plot(format!("{}: {e}", svg.display())))?;
    }
    Ok(vec![png, svg])
}

fn draw<DB: DrawingBackend>(
    fig: &Figure,
    root: &DrawingArea<DB, Shift>,
    rows: usize,
    cols: usize,
) -> Result<()> {
    root.fill(&WHITE).map_err(pe)?;
    let body = match &fig.title {
        Some(t) => root.titled(t, (FONT, 24)).map_err(pe)?,
        None => root.clone(),
    };
    let areas = body.split_evenly((rows, cols));
    for (panel, area) in fig.panels.iter().zip(areas.iter()) {
        match panel {
            Panel::Line(p) => draw_line_panel(p, area)?,
            Panel::Heatmap(h) => draw_heatmap(h, area)?,
        }
    }
    Ok(())
}

/// Data value → chart coordinate (log₁₀ on log axes); `None` when not representable.
fn tr(axis: &Axis, v: f64) -> Option<f64> {
    if !v.is_finite() {
        None
    } else if axis.log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

/// The chart range of an axis, from its fixed range or the data (with a 5 % margin).
fn axis_range(axis: &Axis, data: impl Iterator<Item = f64>) -> (f64, f64) {
    if let Some((lo, hi)) = axis.range
        && let (Some(a), Some(b)) = (tr(axis, lo), tr(axis, hi))
        && b > a
    {
        return (a, b);
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in data.filter_map(|v| tr(axis, v)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    if axis.log {
        (lo, hi)
    } else {
        (lo - pad, hi + pad)
    }
}

fn superscript(k: i64) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::from("10");
    if k < 0 {
        s.push('⁻');
    }
    for c in k.unsigned_abs().to_string().chars() {
        s.push(DIGITS[c.to_digit(10).unwrap_or(0) as usize]);
    }
    s
}

/// A log axis that spans fewer than three powers of ten: its ticks are labelled with their values
/// (two significant digits) instead of 10ᵏ alone, so that it still shows at least three labels.
fn dense_log(axis: &Axis, (lo, hi): (f64, f64)) -> bool {
    axis.log && hi.floor() - lo.ceil() < 2.0
}

/// `x` briefly: two significant digits below 10 (0.25, 4), whole numbers up to 9999, then 1.6e4.
fn two_digits(x: f64) -> String {
    if !(x.is_finite() && x > 0.0) {
        return String::new();
    }
    let e = x.log10().floor();
    if (-2.0..4.0).contains(&e) {
        let decimals = (1.0 - e).max(0.0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.1e}")
    }
}

fn tick_label(axis: &Axis, v: f64, dense: bool) -> String {
    if dense {
        two_digits(10f64.powf(v))
    } else if axis.log {
        let k = v.round();
        if (v - k).abs() < 1e-6 {
            superscript(k as i64)
        } else {
            String::new()
        }
    } else if let Some(f) = axis.format {
        f(v)
    } else {
        let r = (v * 1e6).round() / 1e6;
        if r == 0.0 { "0".into() } else { format!("{r}") }
    }
}

fn n_labels(axis: &Axis, (lo, hi): (f64, f64)) -> usize {
    if dense_log(axis, (lo, hi)) {
        10
    } else if axis.log {
        ((hi.floor() - lo.ceil()) as usize + 1).clamp(2, 12)
    } else {
        6
    }
}

/// Clips the segment a–b to the rectangle (Liang–Barsky); `None` when fully outside.
fn clip(
    a: (f64, f64),
    b: (f64, f64),
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - x0),
        (dx, x1 - a.0),
        (-dy, a.1 - y0),
        (dy, y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    Some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

/// The series' points in chart coordinates, split into runs that stay inside the rectangle.
fn clipped_runs(
    s: &Series,
    xa: &Axis,
    ya: &Axis,
    xr: (f64, f64),
    yr: (f64, f64),
) -> Vec<Vec<(f64, f64)>> {
    let pts: Vec<Option<(f64, f64)>> =
        s.x.iter()
            .zip(&s.y)
            .map(|(x, y)| Some((tr(xa, *x)?, tr(ya, *y)?)))
            .collect();
    let mut runs: Vec<Vec<(f64, f64)>> = vec![];
    let mut cur: Vec<(f64, f64)> = vec![];
    for w in pts.windows(2) {
        match (w[0], w[1]) {
            (Some(a), Some(b)) => match clip(a, b, xr, yr) {
                Some((ca, cb)) => {
                    if cur.last() != Some(&ca) {
                        if !cur.is_empty() {
                            runs.push(std::mem::take(&mut cur));
                        }
                        cur.push(ca);
                    }
                    cur.push(cb);
                }
                None => {
                    if !cur.is_empty() {
                        runs.push(std::mem::take(&mut cur));
                    }
                }
            },
            _ => {
                if !cur.is_empty() {
                    runs.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

fn inside((x, y): (f64, f64), xr: (f64, f64), yr: (f64, f64)) -> bool {
    x >= xr.0 && x <= xr.1 && y >= yr.0 && y <= yr.1
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw_series<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    s: &Series,
    xa: &Axis,
    ya: &Axis,
) -> Result<()> {
    let xr = (chart.x_range().start, chart.x_range().end);
    let yr = (chart.y_range().start, chart.y_range().end);
    let c = color(s.color);
    let stroke = c.stroke_width(s.width);
    let mut labelled = false;
    let label = s.label.clone();
    let style = s.style;
    let mut attach = |anno: &mut SeriesAnno<'_, DB>| {
        if let (Some(l), false) = (&label, labelled) {
            labelled = true;
            anno.label(l.clone()).legend(move |(x, y)| match style {
                Style::Points => PathElement::new(vec![(x + 8, y), (x + 14, y)], c.stroke_width(6)),
                Style::Filled => {
                    PathElement::new(vec![(x, y), (x + 22, y)], c.mix(0.3).stroke_width(8))
                }
                _ => PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(2)),
            });
        }
    };
    let runs = clipped_runs(s, xa, ya, xr, yr);
    match s.style {
        Style::Line => {
            for run in runs {
                let a = chart
                    .draw_series(LineSeries::new(run, stroke))
                    .map_err(pe)?;
                attach(a);
            }
        }
        Style::Dashed | Style::DashedPoints => {
            for run in runs {
                let a = chart
                    .draw_series(DashedLineSeries::new(run, 7u32, 5u32, stroke))
                    .map_err(pe)?;
                attach(a);
            }
        }
        Style::Points => {}
        Style::Filled => {
            let clamp = |v: f64, r: (f64, f64)| v.max(r.0).min(r.1);
            let poly: Vec<(f64, f64)> =
                s.x.iter()
                    .zip(&s.y)
                    .filter_map(|(x, y)| Some((clamp(tr(xa, *x)?, xr), clamp(tr(ya, *y)?, yr))))
                    .collect();
            if poly.len() >= 3 {
                let a = chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.3).filled())))
                    .map_err(pe)?;
                attach(a);
            }
        }
    }
    let pts: Vec<(f64, f64)> =
        s.x.iter()
            .zip(&s.y)
            .filter_map(|(x, y)| Some((tr(xa, *x)?, tr(ya, *y)?)))
            .filter(|p| inside(*p, xr, yr))
            .collect();
    if matches!(s.style, Style::Points | Style::DashedPoints) {
        let a = chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))
            .map_err(pe)?;
        attach(a);
    }
    if let Some(err) = &s.yerr {
        let bars: Vec<_> =
            s.x.iter()
                .zip(&s.y)
                .zip(err)
                .filter_map(|((x, y), e)| {
                    let e = (*e)?;
                    let (xt, yt) = (tr(xa, *x)?, tr(ya, *y)?);
                    let lo = tr(ya, y - e).unwrap_or(yr.0).max(yr.0);
                    let hi = tr(ya, y + e)?.min(yr.1);
                    inside((xt, yt), xr, yr)
                        .then(|| ErrorBar::new_vertical(xt, lo, yt, hi, c.stroke_width(1), 6))
                })
                .collect();
        chart.draw_series(bars).map_err(pe)?;
    }
    Ok(())
}

fn legend_pos(l: Legend) -> Option<SeriesLabelPosition> {
    match l {
        Legend::UpperRight => Some(SeriesLabelPosition::UpperRight),
        Legend::LowerRight => Some(SeriesLabelPosition::LowerRight),
        Legend::UpperLeft => Some(SeriesLabelPosition::UpperLeft),
        Legend::LowerLeft => Some(SeriesLabelPosition::LowerLeft),
        Legend::Hidden => None,
    }
}

fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    legend: Legend,
    any_label: bool,
    font_size: u32,
) -> Result<()> {
    if let (Some(pos), true) = (legend_pos(legend), any_label) {
        chart
            .configure_series_labels()
            .position(pos)
            .label_font((FONT, font_size))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(pe)?;
    }
    Ok(())
}

fn configure<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    xa: &Axis,
    ya: &Axis,
    xr: (f64, f64),
    yr: (f64, f64),
) -> Result<()> {
    let (dx, dy) = (dense_log(xa, xr), dense_log(ya, yr));
    let fx = |v: &f64| tick_label(xa, *v, dx);
    let fy = |v: &f64| tick_label(ya, *v, dy);
    chart
        .configure_mesh()
        .x_desc(xa.label.as_str())
        .y_desc(ya.label.as_str())
        .x_labels(n_labels(xa, xr))
        .y_labels(n_labels(ya, yr))
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(pe)
}

fn draw_notes<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    notes: &[Note],
    xa: &Axis,
    ya: &Axis,
) -> Result<()> {
    for n in notes {
        let (Some(x), Some(y)) = (tr(xa, n.x), tr(ya, n.y)) else {
            continue;
        };
        let style = if n.vertical {
            TextStyle::from((FONT, 18).into_font()).transform(FontTransform::Rotate270)
        } else {
            TextStyle::from((FONT, 18).into_font())
        };
        chart
            .draw_series(std::iter::once(Text::new(n.text.clone(), (x, y), style)))
            .map_err(pe)?;
    }
    Ok(())
}

fn draw_line_panel<DB: DrawingBackend>(p: &LinePanel, area: &DrawingArea<DB, Shift>) -> Result<()> {
    let xr = axis_range(&p.x, p.series.iter().flat_map(|s| s.x.iter().copied()));
    let mut yr = axis_range(&p.y, p.series.iter().flat_map(|s| s.y.iter().copied()));
    if p.identity_line && p.y.range.is_none() && p.x.log == p.y.log {
        yr = (yr.0.min(xr.0), yr.1.max(xr.1));
    }
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, 18))
        .margin(12)
        .margin_right(28)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(pe)?;
    configure(&mut chart, &p.x, &p.y, xr, yr)?;
    if p.identity_line {
        let (lo, hi) = (xr.0.max(yr.0), xr.1.min(yr.1));
        if hi > lo {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(lo, lo), (hi, hi)],
                    6u32,
                    4u32,
                    BLACK.mix(0.6).stroke_width(1),
                ))
                .map_err(pe)?
                .label("y = x")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], BLACK.stroke_width(1))
                });
        }
    }
    for s in &p.series {
        draw_series(&mut chart, s, &p.x, &p.y)?;
    }
    draw_notes(&mut chart, &p.notes, &p.x, &p.y)?;
    let any_label = p.identity_line || p.series.iter().any(|s| s.label.is_some());
    draw_legend(&mut chart, p.legend, any_label, 14)
}

/// Cell edges (in chart coordinates) around the given centres.
fn edges(centres: &[f64]) -> Vec<f64> {
    let n = centres.len();
    if n == 1 {
        return vec![centres[0] - 0.5, centres[0] + 0.5];
    }
    let mut e = Vec::with_capacity(n + 1);
    e.push(centres[0] - 0.5 * (centres[1] - centres[0]));
    for w in centres.windows(2) {
        e.push(0.5 * (w[0] + w[1]));
    }
    e.push(centres[n - 1] + 0.5 * (centres[n - 1] - centres[n - 2]));
    e
}

fn draw_heatmap<DB: DrawingBackend>(h: &Heatmap, area: &DrawingArea<DB, Shift>) -> Result<()> {
    if h.values.len() != h.ys.len() || h.values.iter().any(|r| r.len() != h.xs.len()) {
        return Err(Error::ShapeMismatch {
            what: "heat-map values vs cell centres".into(),
            expected: format!("{}×{}", h.ys.len(), h.xs.len()),
            got: format!(
                "{}×{}",
                h.values.len(),
                h.values.first().map_or(0, |r| r.len())
            ),
        });
    }
    if h.xs.is_empty() || h.ys.is_empty() {
        return Err(Error::invalid(
            "xs/ys",
            0,
            "a heat map needs at least one cell",
        ));
    }
    let xs: Vec<f64> =
        h.xs.iter()
            .map(|v| tr(&h.x, *v).unwrap_or(f64::NAN))
            .collect();
    let ys: Vec<f64> =
        h.ys.iter()
            .map(|v| tr(&h.y, *v).unwrap_or(f64::NAN))
            .collect();
    if xs.iter().chain(&ys).any(|v| v.is_nan()) {
        return Err(Error::invalid(
            "xs/ys",
            "non-positive or non-finite centre",
            "log axes need positive, finite cell centres",
        ));
    }
    let (xe, ye) = (edges(&xs), edges(&ys));
    let full = (xe[0], xe[xe.len() - 1]);
    let fully = (ye[0], ye[ye.len() - 1]);
    // A fixed axis range wins; otherwise the cells' own extent.
    let xr =
        h.x.range
            .map_or(full, |_| axis_range(&h.x, std::iter::empty()));
    let yr =
        h.y.range
            .map_or(fully, |_| axis_range(&h.y, std::iter::empty()));
    let width = area.dim_in_pixel().0;
    let (main, bar) = area.split_horizontally(width.saturating_sub(95));
    let mut chart = ChartBuilder::on(&main)
        .caption(&h.title, (FONT, 18))
        .margin(12)
        .margin_right(28)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(pe)?;
    let mut cells = Vec::with_capacity(xs.len() * ys.len());
    for (iy, row) in h.values.iter().enumerate() {
        for (ix, v) in row.iter().enumerate() {
            let (x0, x1) = (xe[ix].max(xr.0), xe[ix + 1].min(xr.1));
            let (y0, y1) = (ye[iy].max(yr.0), ye[iy + 1].min(yr.1));
            if x1 <= x0 || y1 <= y0 || !v.is_finite() {
                continue;
            }
            let c = color(h.colormap.map(*v, h.vmin, h.vmax));
            cells.push(Rectangle::new([(x0, y0), (x1, y1)], c.filled()));
        }
    }
    chart.draw_series(cells).map_err(pe)?;
    configure(&mut chart, &h.x, &h.y, xr, yr)?;
    for s in &h.overlays {
        draw_series(&mut chart, s, &h.x, &h.y)?;
    }
    draw_notes(&mut chart, &h.notes, &h.x, &h.y)?;
    let any_label = h.overlays.iter().any(|s| s.label.is_some());
    draw_legend(&mut chart, h.legend, any_label, 13)?;
    // Colour bar.
    let (vmin, vmax) = (h.vmin, h.vmax.max(h.vmin + 1e-12));
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(40)
        .margin_bottom(57)
        .margin_right(50)
        .y_label_area_size(0)
        .right_y_label_area_size(40)
        .build_cartesian_2d(0.0..1.0, vmin..vmax)
        .map_err(pe)?;
    let steps = 128;
    cb.draw_series((0..steps).map(|i| {
        let a = vmin + (vmax - vmin) * i as f64 / steps as f64;
        let b = vmin + (vmax - vmin) * (i + 1) as f64 / steps as f64;
        let c = color(h.colormap.map(0.5 * (a + b), vmin, vmax));
        Rectangle::new([(0.0, a), (1.0, b)], c.filled())
    }))
    .map_err(pe)?;
    let fy = |v: &f64| {
        let r = (v * 1e4).round() / 1e4;
        format!("{r}")
    };
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&fy)
        .label_style((FONT, 13))
        .draw()
        .map_err(pe)?;
    if !h.colorbar_label.is_empty() {
        bar.draw(&Text::new(
            h.colorbar_label.clone(),
            (4, 14),
            (FONT, 14).into_font().color(&BLACK),
        ))
        .map_err(pe)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_inside_and_cuts_crossing_segments() {
        let r = (0.0, 1.0);
        assert_eq!(
            clip((0.2, 0.2), (0.8, 0.8), r, r),
            Some(((0.2, 0.2), (0.8, 0.8)))
        );
        let ((a, b), (c, d)) = clip((0.5, 0.5), (0.5, 2.0), r, r).unwrap();
        assert!((a - 0.5).abs() < 1e-12 && (b - 0.5).abs() < 1e-12);
        assert!((c - 0.5).abs() < 1e-12 && (d - 1.0).abs() < 1e-12);
        assert_eq!(clip((2.0, 2.0), (3.0, 3.0), r, r), None);
    }

    #[test]
    fn short_log_axes_still_show_three_labels() {
        use plotters::coord::ranged1d::{KeyPointHint, Ranged};
        use plotters::coord::types::RangedCoordf64;
        let a = Axis::log("loss");
        // Within one decade (the cross-entropy of llc_over_training), two, and exactly three.
        for (lo, hi) in [
            (0.09, 2.4),
            (0.3, 0.9),
            (1.0, 60.0),
            (2.0, 3.0),
            (0.01, 1.0),
        ] {
            let r = (f64::log10(lo), f64::log10(hi));
            let dense = dense_log(&a, r);
            let ticks = RangedCoordf64::from(r.0..r.1).key_points(n_labels(&a, r).max_num_points());
            let labels: Vec<String> = ticks
                .iter()
                .map(|v| tick_label(&a, *v, dense))
                .filter(|l| !l.is_empty())
                .collect();
            assert!(labels.len() >= 3, "[{lo}, {hi}]: {labels:?}");
        }
        assert_eq!(two_digits(10f64.powf(-0.5)), "0.32");
        assert_eq!(two_digits(2.0), "2");
        assert_eq!(two_digits(25.1), "25");
        assert_eq!(two_digits(1585.0), "1585");
        assert_eq!(two_digits(15849.0), "1.6e4");
        assert!(!dense_log(&a, (-3.0, 1.0)));
    }

    #[test]
    fn log_tick_labels_are_powers_of_ten() {
        let a = Axis::log("t");
        assert_eq!(tick_label(&a, 3.0, false), "10³");
        assert_eq!(tick_label(&a, -2.0, false), "10⁻²");
        assert_eq!(tick_label(&a, 0.5, false), "");
    }
}
