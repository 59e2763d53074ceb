//! "Double Descent Demystified", `linear_regression_adversarial.py`:
//! the smallest singular direction of the training matrix as an attack.
//!
//! * Adversarial test datum: every test row moved by α·v_min (v_min the right singular vector of
//!   the smallest singular value); the prediction moves by α(u_min·y)/σ_min, most at N = D.
//! * Adversarial training data: training targets moved by α·u_min; β̂ moves by (α/σ_min)v_min,
//!   the training error does not change, the test error grows.
//!
//! α ∈ {0, 0.1, 0.316, 1, 3.16, 10, 31.6}, N = 1..39, 50 splits per N. The original takes whichever
//! sign of the singular pair LAPACK returns; here the worse of the two signs is used, so the
//! construction is adversarial and backend-independent (equal to the original where the α² term
//! dominates). Per table: `<table>_adversarial.{png,svg,csv}`.
//!
//! `cargo run --release --example ls_adversarial`

mod common;

use common::tables;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::Result;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Series, Style, Table, run_example,
    write_csv,
};
use doubledescent::science::least_squares::Sweep;
use tables::{
    TEST, TRAIN, TableArgs, argmax, means, mse_limits, run_sweeps, sci, shade, sig3, slug,
    threshold,
};

/// Adversarial test datum and adversarial training data, per table.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    #[command(flatten)]
    tables: TableArgs,
}

fn panel(title: &str) -> LinePanel {
    LinePanel::new(
        title,
        Axis::log("P/N (parameters / training samples)"),
        Axis::log("MSE (mean over splits)"),
    )
    .legend(Legend::UpperRight)
}

fn study(s: &Sweep, dir: &std::path::Path) -> Result<Table> {
    let x = s.ratios();
    let stem = slug(&s.dataset);
    let train = means(&s.summary(|f| f.train_mse)?);
    let test = means(&s.summary(|f| f.test_mse)?);
    let mut header = vec![
        "n".to_string(),
        "p_over_n".into(),
        "train_mse".into(),
        "test_mse".into(),
    ];
    let mut cols: Vec<Vec<f64>> = vec![
        s.config.sizes.iter().map(|&n| n as f64).collect(),
        x.clone(),
        train.clone(),
        test.clone(),
    ];
    let mut all = vec![train.clone(), test.clone()];

    let p1 = panel(&format!("{}: unablated", s.dataset))
        .with(Series::line("train", x.clone(), train.clone(), TRAIN))
        .with(Series::line("test", x.clone(), test.clone(), TEST));
    let na = s.config.adversarial_test.len();
    let mut p2 = panel("adversarial test datum x + α·v_min");
    let mut adv_test = Vec::new();
    for (j, a) in s.config.adversarial_test.iter().enumerate() {
        let v = means(&s.summary(|f| f.adversarial_test[j])?);
        p2 = p2.with(Series::line(
            format!("α = {}", sig3(*a)),
            x.clone(),
            v.clone(),
            shade(j, na),
        ));
        header.push(format!("adv_test_{a}_test_mse"));
        cols.push(v.clone());
        all.push(v.clone());
        adv_test.push(v);
    }
    let nt = s.config.adversarial_train.len();
    let mut p3 = panel("adversarial training data y + α·u_min");
    let mut adv_train = Vec::new();
    for (j, a) in s.config.adversarial_train.iter().enumerate() {
        let te = means(&s.summary(|f| f.adversarial_train[j].test)?);
        let tr = means(&s.summary(|f| f.adversarial_train[j].train)?);
        p3 = p3
            .with(Series::line(
                format!("test α = {}", sig3(*a)),
                x.clone(),
                te.clone(),
                shade(j, nt),
            ))
            .with(
                Series::line("", x.clone(), tr.clone(), shade(j, nt))
                    .styled(Style::Dashed)
                    .unlabeled(),
            );
        header.push(format!("adv_train_{a}_train_mse"));
        header.push(format!("adv_train_{a}_test_mse"));
        cols.push(tr.clone());
        cols.push(te.clone());
        all.push(te.clone());
        adv_train.push((tr, te));
    }
    let refs: Vec<&[f64]> = all.iter().map(Vec::as_slice).collect();
    let (lo, hi) = mse_limits(&s.config.sizes, s.dim, &train, &refs);
    let line = threshold(1.0, &[&[lo, hi]]);
    let limited = |p: LinePanel| LinePanel {
        y: p.y.clone().range(lo, hi),
        ..p
    };
    let fig = Figure::new(3)
        .panel_size(560, 440)
        .titled(format!(
            "{}: adversarial data (D = {}, {} splits per N; dashed: train)",
            s.dataset, s.dim, s.config.repeats
        ))
        .with(Panel::Line(limited(p1.with(line.clone()))))
        .with(Panel::Line(limited(p2.with(line.clone()))))
        .with(Panel::Line(limited(p3.with(line))));
    let mut files = fig.save(dir, &format!("{stem}_adversarial"))?;
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let c: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let path = dir.join(format!("{stem}_adversarial.csv"));
    write_csv(&path, &h, &c)?;
    files.push(path);
    for f in &files {
        println!("wrote {}", f.display());
    }

    let d = s.config.sizes.iter().position(|&n| n == s.dim);
    let last = s.config.sizes.len() - 1;
    let mut undefined_ratio = false;
    let mut t = Table::new([
        "α",
        "test: x+αv N=1",
        "N=D",
        "largest N",
        "max at N",
        "train data: test N=D",
        "largest N",
        "max Δtrain / train",
    ]);
    for (j, a) in s.config.adversarial_test.iter().enumerate() {
        let v = &adv_test[j];
        let mut row = vec![
            sig3(*a),
            sci(v[0]),
            d.map_or("-".into(), |i| sci(v[i])),
            sci(v[last]),
            s.config.sizes[argmax(v)].to_string(),
        ];
        if let Some((tr, te)) = adv_train.get(j) {
            // Largest change of the mean train MSE, relative to its largest value.
            let scale = train.iter().copied().fold(0.0, f64::max);
            let change = tr
                .iter()
                .zip(&train)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            // A zero (or non-finite) training error leaves the ratio undefined: "—".
            let change = if scale > 0.0 && scale.is_finite() && change.is_finite() {
                format!("{:.1e}", change / scale)
            } else {
                undefined_ratio = true;
                "—".into()
            };
            row.extend([d.map_or("-".into(), |i| sci(te[i])), sci(te[last]), change]);
        }
        t.row(row);
    }
    if undefined_ratio {
        println!(
            "— in \"max Δtrain / train\": the mean training MSE is 0 at every size (or not \
             finite), so the relative change is undefined"
        );
    }
    Ok(t)
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("ls_adversarial")?;
    let device = args.fig.device()?;
    for s in run_sweeps(&args.tables, args.fig.quick, &device, |_| {})? {
        let t = study(&s, &dir)?;
        println!(
            "\n{} — mean test MSE over {} splits (D = {})\n{t}",
            s.dataset, s.config.repeats, s.dim
        );
        if s.dataset == "Diabetes" {
            println!(
                "original (LAPACK's sign): x+αv at N=10 1.9e9 (α=0.1) … 1.9e14 (α=31.6), at N=39 \
                 1.2e6 … 1.2e11; training data α=31.6 at N=10: 5.98e7 → 4.1e7"
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("ls_adversarial", || run(&args))
}
