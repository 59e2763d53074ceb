//! "Double Descent Demystified", `smallest_nonzero_singular_value.py` (factor 1): the smallest non-zero singular
//! value of the training matrix is smallest at N = D, which is where 1/σ_min blows up the fit.
//!
//! * Monte Carlo: the median (and mean) σ_min of n × d matrices with i.i.d. N(0, Σ) rows against
//!   n/d, for the original's 3-D covariance Σ = [[23,9,4],[9,6,2],[4,2,5]] and for Σ = I₁₀.
//! * The same on data: the mean over 50 splits of σ_min of N training rows of each table
//!   (blog Fig. 5; the diabetes minimum is 0.00264 at N = 10).
//! * The original script's own numbers: S²/n of the first n of 1500 points drawn with
//!   `np.random.seed(0); np.random.multivariate_normal(0, Σ, 1500)` (NumPy's legacy stream; the
//!   square root of Σ uses the singular-vector signs LAPACK returns for this Σ).
//!
//! Writes `smallest_singular_value.{png,svg,csv}` and `prefix_eigenvalues.csv`.
//!
//! `cargo run --release --example smallest_singular_value`

mod common;

use common::tables;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Style, Table,
    check_flag_memory, run_example, write_csv,
};
use doubledescent::random::numpy::RandomState;
use doubledescent::science::least_squares::gaussian_smallest_singular_values;
use doubledescent::{Result, linalg};
use faer::{Mat, Par};
use tables::{TableArgs, means, run_sweeps, sci, shade};

/// σ_min against n/d: Monte Carlo on Gaussian data and on the regression tables.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    #[command(flatten)]
    tables: TableArgs,
    /// Monte-Carlo draws per n (default 2000; 300 with --quick)
    #[arg(long)]
    draws: Option<usize>,
    /// Seed of the Monte-Carlo draws
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

const COV: [[f64; 3]; 3] = [[23.0, 9.0, 4.0], [9.0, 6.0, 2.0], [4.0, 2.0, 5.0]];
/// Spec §4 [derived]: median σ_min over 2000 draws for n = 1, 2, 3, 4, 5, 6, 10, 25, 100.
const SPEC_MEDIANS: [(usize, f64); 9] = [
    (1, 4.51),
    (2, 1.84),
    (3, 0.71),
    (4, 1.37),
    (5, 1.89),
    (6, 2.31),
    (10, 3.63),
    (25, 6.67),
    (100, 14.2),
];

/// `np.random.multivariate_normal(0, cov, size)` on NumPy's legacy stream: z = randn(size, d),
/// x = z · diag(√s) Vᵀ with (u, s, Vᵀ) = svd(cov). Singular vectors are signed as LAPACK returns
/// them for the original's Σ (largest-magnitude entry negative), which regenerates its draws.
fn numpy_multivariate_normal(
    rs: &mut RandomState,
    cov: &Mat<f64>,
    size: usize,
) -> Result<Mat<f64>> {
    let d = cov.nrows();
    let svd = linalg::thin_svd(cov.as_ref(), Par::Seq)?;
    let mut vt = Mat::from_fn(d, d, |i, j| svd.v[(j, i)] * svd.s[i].sqrt());
    for i in 0..d {
        let big = (0..d)
            .max_by(|&a, &b| vt[(i, a)].abs().total_cmp(&vt[(i, b)].abs()))
            .unwrap_or(0);
        if vt[(i, big)] > 0.0 {
            for j in 0..d {
                vt[(i, j)] = -vt[(i, j)];
            }
        }
    }
    let z = rs.randn(size * d);
    let z = Mat::from_fn(size, d, |i, j| z[i * d + j]);
    Ok((z.as_ref()) * (vt.as_ref()))
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("smallest_singular_value")?;
    let device = args.fig.device()?;
    let draws = args.fig.pick(args.draws, 2000, 300);
    // The Monte Carlo keeps every draw of the 40 sizes of the 10-D case with its SVD.
    check_flag_memory("draws", draws, draws as u128 * 3 * 820 * 10 * 8)?;
    let cov = Mat::from_fn(3, 3, |i, j| COV[i][j]);

    // Monte Carlo, 3-D covariance of the original and the isotropic 10-D Gaussian.
    let n3: Vec<usize> = (1..=12).chain([15, 20, 25, 50, 100]).collect();
    let mc3 = gaussian_smallest_singular_values(cov.as_ref(), &n3, draws, args.seed, &device)?;
    let eye = Mat::<f64>::identity(10, 10);
    let n10: Vec<usize> = (1..=40).collect();
    let mc10 =
        gaussian_smallest_singular_values(eye.as_ref(), &n10, draws, args.seed + 1, &device)?;
    let ratio =
        |ns: &[usize], d: usize| -> Vec<f64> { ns.iter().map(|&n| n as f64 / d as f64).collect() };
    let (x3, x10) = (ratio(&n3, 3), ratio(&n10, 10));
    let med = |st: &[doubledescent::stats::RepeatStats]| -> Vec<f64> {
        st.iter().map(|r| r.median).collect()
    };
    let mc_panel = LinePanel::new(
        format!("Gaussian data, {draws} draws per n"),
        Axis::log("n / d"),
        Axis::log("σ_min (median; dashed: mean)"),
    )
    .with(Series::line(
        "d = 3, Σ of the original",
        x3.clone(),
        med(&mc3),
        Rgb::hex(0x1F77B4),
    ))
    .with(
        Series::line("", x3.clone(), means(&mc3), Rgb::hex(0x1F77B4))
            .styled(Style::Dashed)
            .unlabeled(),
    )
    .with(Series::line(
        "d = 10, Σ = I",
        x10.clone(),
        med(&mc10),
        Rgb::hex(0xD62728),
    ))
    .with(
        Series::line("", x10.clone(), means(&mc10), Rgb::hex(0xD62728))
            .styled(Style::Dashed)
            .unlabeled(),
    )
    .with(
        Series::line(
            "original medians (d = 3)",
            SPEC_MEDIANS.iter().map(|(n, _)| *n as f64 / 3.0).collect(),
            SPEC_MEDIANS.iter().map(|(_, v)| *v).collect(),
            Rgb(0, 0, 0),
        )
        .styled(Style::Points),
    )
    .legend(Legend::LowerRight);

    // The regression tables.
    let sweeps = run_sweeps(&args.tables, args.fig.quick, &device, |cfg| {
        cfg.cutoffs.clear();
        cfg.leading_modes.clear();
        cfg.adversarial_test.clear();
        cfg.adversarial_train.clear();
    })?;
    let mut data_panel = LinePanel::new(
        "regression tables (mean over splits)",
        Axis::log("N / D"),
        Axis::log("σ_min of X_train (mean)"),
    )
    .legend(Legend::LowerRight);
    let mut data_table = Table::new([
        "table",
        "D",
        "min of mean σ_min",
        "at N",
        "N=1",
        "largest N",
    ]);
    let mut csv_cols: Vec<(String, Vec<f64>)> = vec![];
    for (i, s) in sweeps.iter().enumerate() {
        let m = means(&s.summary(|f| f.smallest_singular_value)?);
        let x: Vec<f64> = s
            .config
            .sizes
            .iter()
            .map(|&n| n as f64 / s.dim as f64)
            .collect();
        let lo = (0..m.len())
            .min_by(|&a, &b| m[a].total_cmp(&m[b]))
            .unwrap_or(0);
        data_table.row([
            s.dataset.clone(),
            s.dim.to_string(),
            sci(m[lo]),
            s.config.sizes[lo].to_string(),
            sci(m[0]),
            sci(m[m.len() - 1]),
        ]);
        data_panel = data_panel.with(Series::line(
            s.dataset.clone(),
            x.clone(),
            m.clone(),
            shade(i, sweeps.len() + 1),
        ));
        csv_cols.push((format!("{}_n_over_d", tables::slug(&s.dataset)), x));
        csv_cols.push((format!("{}_sigma_min_mean", tables::slug(&s.dataset)), m));
    }

    let fig = Figure::new(2)
        .panel_size(620, 460)
        .titled("Smallest non-zero singular value: minimal at N = D")
        .with(Panel::Line(mc_panel))
        .with(Panel::Line(data_panel));
    let mut files = fig.save(&dir, "smallest_singular_value")?;
    // CSV: the Monte-Carlo curves, then the tables' curves (columns padded to one length).
    let mut cols: Vec<(String, Vec<f64>)> = vec![
        ("d3_n".into(), n3.iter().map(|&n| n as f64).collect()),
        ("d3_median".into(), med(&mc3)),
        ("d3_mean".into(), means(&mc3)),
        ("d10_n".into(), n10.iter().map(|&n| n as f64).collect()),
        ("d10_median".into(), med(&mc10)),
        ("d10_mean".into(), means(&mc10)),
    ];
    cols.extend(csv_cols);
    let len = cols.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    for (_, c) in cols.iter_mut() {
        c.resize(len, f64::NAN);
    }
    let h: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let c: Vec<&[f64]> = cols.iter().map(|(_, c)| c.as_slice()).collect();
    let path = dir.join("smallest_singular_value.csv");
    write_csv(&path, &h, &c)?;
    files.push(path);

    // The original's prefixes: S²/n of the first n of 1500 seed-0 draws.
    let mut rs = RandomState::new(0);
    let x = numpy_multivariate_normal(&mut rs, &cov, 1500)?;
    let prefixes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 25, 100];
    let mut prefix_table = Table::new(["n", "eigenvalues S²/n", "smallest"]);
    let mut pcols: Vec<Vec<f64>> = vec![vec![]; 4];
    for &n in &prefixes {
        let sub = Mat::from_fn(n, 3, |i, j| x[(i, j)] / (n as f64).sqrt());
        let s = linalg::thin_svd(sub.as_ref(), Par::Seq)?.s;
        let ev: Vec<f64> = s.iter().map(|v| v * v).collect();
        prefix_table.row([
            n.to_string(),
            ev.iter().map(|v| sci(*v)).collect::<Vec<_>>().join(", "),
            sci(*ev.last().unwrap_or(&f64::NAN)),
        ]);
        pcols[0].push(n as f64);
        for k in 0..3 {
            pcols[k + 1].push(ev.get(k).copied().unwrap_or(f64::NAN));
        }
    }
    let path = dir.join("prefix_eigenvalues.csv");
    let c: Vec<&[f64]> = pcols.iter().map(Vec::as_slice).collect();
    write_csv(&path, &["n", "eig1", "eig2", "eig3"], &c)?;
    files.push(path);
    for f in &files {
        println!("wrote {}", f.display());
    }

    let mut mc_table = Table::new([
        "n",
        "median σ_min (d=3)",
        "original",
        "mean",
        "95% CI of mean",
    ]);
    for (i, &n) in n3.iter().enumerate() {
        let spec = SPEC_MEDIANS
            .iter()
            .find(|(m, _)| *m == n)
            .map_or("-".into(), |(_, v)| sci(*v));
        let r = &mc3[i];
        mc_table.row([
            n.to_string(),
            sci(r.median),
            spec,
            sci(r.mean),
            format!("{} … {}", sci(r.ci_low), sci(r.ci_high)),
        ]);
    }
    println!("\nMonte Carlo, Σ = [[23,9,4],[9,6,2],[4,2,5]], {draws} draws per n\n{mc_table}");
    let lo10 = (0..mc10.len())
        .min_by(|&a, &b| mc10[a].median.total_cmp(&mc10[b].median))
        .unwrap_or(0);
    println!(
        "Σ = I₁₀: smallest median σ_min {} at n = {}",
        sci(mc10[lo10].median),
        n10[lo10]
    );
    println!("\nRegression tables (original: Diabetes 0.00264 at N = 10)\n{data_table}");
    println!(
        "\nThe original's seed-0 prefixes (printed: n=3 → 87.2, 2.52, 0.354; n=100 → 29.5, 4.04, 2.00)\n{prefix_table}"
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("smallest_singular_value", || run(&args))
}
