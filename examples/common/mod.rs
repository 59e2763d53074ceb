//! Helpers shared by the examples: the teacher–student figure panels and summaries, MNIST splits,
//! line figures with their CSV, and (in [`tables`]) the least-squares examples' regression tables
//! and sweeps.
#![allow(dead_code)]

pub mod dln;
pub mod llc;
pub mod networks;
pub mod tables;

use doubledescent::figure::{Rgb, Table};

/// Colours of the original fig3 (κ in increasing order).
pub const KAPPA_COLORS: [Rgb; 7] = [
    Rgb::hex(0x4337CD),
    Rgb::hex(0x4B62F4),
    Rgb::hex(0x4B8FE8),
    Rgb::hex(0x52B2CD),
    Rgb::hex(0x67C59A),
    Rgb::hex(0xA6C859),
    Rgb::hex(0xEDB832),
];

/// `t + 1` for every time (the original figures' x axis).
pub fn plus_one(times: &[f64]) -> Vec<f64> {
    times.iter().map(|t| t + 1.0).collect()
}

/// A point (x, y) of a curve.
pub type Point = (f64, f64);

/// First local minimum and the largest later local maximum of a curve (x, y), as in the
/// spec's "min … @ x, max … @ x" summaries; `None` when the curve is monotone there.
pub fn min_then_max(x: &[f64], y: &[f64]) -> (Option<Point>, Option<Point>) {
    let n = y.len();
    let first_min = (1..n.saturating_sub(1)).find(|&i| y[i] < y[i - 1] && y[i] <= y[i + 1]);
    let Some(i) = first_min else {
        return (None, None);
    };
    let later_max = (i + 1..n.saturating_sub(1))
        .filter(|&j| y[j] > y[j - 1] && y[j] >= y[j + 1])
        .max_by(|&a, &b| y[a].total_cmp(&y[b]));
    (Some((x[i], y[i])), later_max.map(|j| (x[j], y[j])))
}

/// "0.2329 @ 14.2" or "-".
pub fn at(p: Option<(f64, f64)>) -> String {
    p.map_or("-".into(), |(x, y)| format!("{y:.4} @ {}", short(x)))
}

/// Compact number: 14.2, 331, 8.25e3.
pub fn short(x: f64) -> String {
    if x.abs() >= 1e4 {
        format!("{x:.2e}")
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        let r = (x * 10.0).round() / 10.0;
        format!("{r}")
    }
}

/// Prints a titled table.
pub fn print_table(title: &str, table: &Table) {
    println!("\n{title}\n{table}");
}

use doubledescent::Result;
use doubledescent::figure::{Axis, Colormap, Heatmap, Legend, LinePanel, Series, Style};
use doubledescent::linalg::linspace;
use doubledescent::science::teacher_student::{
    ApproxCurves, Config, Freeze, analytic_times, fast_slow,
};

/// The fig1 curves (fast only, slow only, both) of one configuration.
pub fn fig1_curves(cfg: &Config) -> Result<[ApproxCurves; 3]> {
    let times = analytic_times();
    Ok([
        fast_slow(cfg, &times, Freeze::FastOnly)?,
        fast_slow(cfg, &times, Freeze::SlowOnly)?,
        fast_slow(cfg, &times, Freeze::None)?,
    ])
}

/// One fig1-style panel with the three curves of `cfg`.
pub fn fig1_panel(cfg: &Config, curves: &[ApproxCurves; 3]) -> LinePanel {
    let x = plus_one(&curves[0].times);
    LinePanel::new(
        format!("n={} d={} p={} κ={}", cfg.n, cfg.d, cfg.p, cfg.kappa),
        Axis::log("Training time").range(1.0, 1e5),
        Axis::linear("MSE Generalization Error").range(0.0, 0.5),
    )
    .with(Series::line(
        "Fast feature",
        x.clone(),
        curves[0].eg.clone(),
        Rgb::hex(0x0076BA),
    ))
    .with(Series::line(
        "Slow feature",
        x.clone(),
        curves[1].eg.clone(),
        Rgb::hex(0xFF9300),
    ))
    .with(Series::line(
        "Both features",
        x,
        curves[2].eg.clone(),
        Rgb::hex(0x353535),
    ))
    .legend(Legend::LowerLeft)
}

/// The fig3 κ sweep of one (n, d, p): the (R, Q) phase diagram on the 1 − 2R + Q background and
/// the E_G(t) panel, plus the curves.
pub fn fig3_panels(
    base: &Config,
    kappas: &[f64],
) -> Result<(Heatmap, LinePanel, Vec<ApproxCurves>)> {
    let times = analytic_times();
    let x = plus_one(&times);
    let mut curves = Vec::with_capacity(kappas.len());
    for &k in kappas {
        let cfg = Config {
            kappa: k,
            ..base.clone()
        };
        curves.push(fast_slow(&cfg, &times, Freeze::None)?);
    }
    let rs = linspace(0.0, 1.05, 100);
    let qs = linspace(0.0, 1.3, 100);
    let values = qs
        .iter()
        .map(|q| rs.iter().map(|r| 1.0 - 2.0 * r + q).collect())
        .collect();
    let title = format!("n={} d={} p={}", base.n, base.d, base.p);
    let mut phase = Heatmap {
        title: title.clone(),
        x: Axis::linear("R"),
        y: Axis::linear("Q"),
        xs: rs,
        ys: qs,
        values,
        vmin: 0.0,
        vmax: 2.5,
        colormap: Colormap::Plasma,
        colorbar_label: "1−2R+Q".into(),
        overlays: vec![],
        legend: Legend::LowerRight,
        notes: vec![],
    };
    let mut eg = LinePanel::new(
        title,
        Axis::log("Training time t+1").range(1.0, 1e7),
        Axis::linear("E_G").range(0.0, 0.5),
    )
    .legend(Legend::UpperRight);
    for (i, (k, c)) in kappas.iter().zip(&curves).enumerate() {
        let color = KAPPA_COLORS[i % KAPPA_COLORS.len()];
        let label = format!("κ={}", kappa_label(*k));
        phase
            .overlays
            .push(Series::line(label.clone(), c.r.clone(), c.q.clone(), color));
        let last = c.r.len() - 1;
        phase.overlays.push(
            Series::line("", vec![c.r[last]], vec![c.q[last]], color)
                .styled(Style::Points)
                .unlabeled(),
        );
        eg = eg.with(Series::line(label, x.clone(), c.eg.clone(), color));
    }
    Ok((phase, eg, curves))
}

/// Writes the (R, Q, E_G) curves of a κ sweep as one CSV (columns `r_k<κ>`, `q_k<κ>`, `eg_k<κ>`).
pub fn write_kappa_sweep(
    path: &std::path::Path,
    kappas: &[f64],
    curves: &[ApproxCurves],
) -> Result<()> {
    let x = plus_one(&curves[0].times);
    let mut header = vec!["t_plus_1".to_string()];
    let mut cols: Vec<&[f64]> = vec![&x];
    for (k, c) in kappas.iter().zip(curves) {
        let kl = kappa_label(*k);
        header.extend([format!("r_k{kl}"), format!("q_k{kl}"), format!("eg_k{kl}")]);
        cols.extend([c.r.as_slice(), c.q.as_slice(), c.eg.as_slice()]);
    }
    let hdr: Vec<&str> = header.iter().map(String::as_str).collect();
    doubledescent::figure::write_csv(path, &hdr, &cols)
}

/// Prints the files an example wrote.
pub fn report(files: &[std::path::PathBuf]) {
    for f in files {
        println!("wrote {}", f.display());
    }
}

/// κ as printed in legends: 1, 7, 1000, 1e5.
pub fn kappa_label(k: f64) -> String {
    if k >= 1e4 {
        format!("{k:.0e}")
    } else {
        format!("{k}")
    }
}

use doubledescent::data::{self, Dataset, Split};

/// The tutorial's MNIST split (dd_tutorial spec §2.1): with `dir`, the first `per_class` digits
/// of each class of the full MNIST training files and all 10,000 test digits; without, the same
/// selection from the embedded 10k subset, tested on the digits not selected.
pub fn mnist_split(dir: Option<&std::path::Path>, per_class: usize) -> Result<(Dataset, Dataset)> {
    match dir {
        Some(path) => {
            let train = data::mnist(path, Split::Train)?
                .first_per_class(per_class)?
                .train;
            Ok((train, data::mnist(path, Split::Test)?))
        }
        None => {
            let split = data::mnist_embedded()?.first_per_class(per_class)?;
            Ok((split.train, split.rest))
        }
    }
}

/// Saves line panels side by side as `<stem>.png` and `<stem>.svg`, the plotted numbers as
/// `<stem>.csv`, and prints the paths.
pub fn save_lines(
    dir: &std::path::Path,
    stem: &str,
    panels: Vec<LinePanel>,
    panel_size: (u32, u32),
    header: &[&str],
    columns: &[&[f64]],
) -> Result<()> {
    let mut fig =
        doubledescent::figure::Figure::new(panels.len()).panel_size(panel_size.0, panel_size.1);
    for p in panels {
        fig = fig.with(doubledescent::figure::Panel::Line(p));
    }
    let files = fig.save(dir, stem)?;
    let csv = dir.join(format!("{stem}.csv"));
    doubledescent::figure::write_csv(&csv, header, columns)?;
    report(&files);
    report(&[csv]);
    Ok(())
}

/// The results of the `done` runs of a sweep folder (made by the `sweep` example), each read
/// from the field `key` of the run's JSON result (the whole result when `key` is empty). Says
/// how many runs were done, failed or missing; refuses a folder without one usable run.
pub fn sweep_results<T: serde::de::DeserializeOwned>(
    dir: &std::path::Path,
    key: &str,
) -> doubledescent::Result<Vec<T>> {
    use doubledescent::Error;
    use doubledescent::sweep::{RunStore, Status};
    let store = RunStore::open(dir)?;
    let progress = store.progress()?;
    let mut out = vec![];
    for r in store.records()? {
        if r.status != Status::Done {
            continue;
        }
        let v = match (&r.result, key) {
            (Some(v), "") => v,
            (Some(v), k) => v.get(k).ok_or_else(|| {
                Error::Format(format!(
                    "run {} in {} has no `{k}` in its result: was the sweep's command the right task?",
                    r.id,
                    dir.display()
                ))
            })?,
            (None, _) => {
                return Err(Error::Format(format!(
                    "run {} in {} wrote no JSON result: was the sweep's command the right task?",
                    r.id,
                    dir.display()
                )));
            }
        };
        out.push(
            serde_json::from_value(v.clone())
                .map_err(|e| Error::Format(format!("run {} in {}: {e}", r.id, dir.display())))?,
        );
    }
    println!(
        "{}: {} of {} runs done, {} failed, {} missing",
        dir.display(),
        progress.done,
        progress.total,
        progress.failed.len(),
        progress.missing.len()
    );
    if out.is_empty() {
        return Err(Error::invalid(
            "--from-runs",
            dir.display(),
            "holds no finished run yet (see `sweep status`)",
        ));
    }
    Ok(out)
}
