//! Property tests of the fast–slow approximation over random valid and invalid settings.

use doubledescent::science::teacher_student::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn stable_a_equals_original_where_well_conditioned(alpha in 0.01f64..20.0, log_lam in -8.0f64..3.0) {
        let lam = 10f64.powf(log_lam);
        // The original denominator x + √(x² + 4λ), x = 1 − α − λ, cancels when x < 0 and 4λ ≪ x²
        // (α > 1 at small λ, or large λ); compare only where the cancellation factor is ≤ 1e4.
        let x = 1.0 - alpha - lam;
        let root = (x * x + 4.0 * lam).sqrt();
        prop_assume!((x.abs() + root) / (x + root) <= 1e4);
        let (s, o) = (a_stable(alpha, lam), a_original(alpha, lam));
        prop_assert!(((s - o) / s).abs() < 1e-9, "α={alpha} λ={lam}: {s} vs {o}");
        // And it is the larger root of a² − (1 + α + λ)a + α = 0.
        let resid = s * s - (1.0 + alpha + lam) * s + alpha;
        prop_assert!(resid.abs() <= 1e-9 * s * s);
        prop_assert!(s >= alpha.max(1.0) * (1.0 - 1e-12));
    }

    #[test]
    fn curves_are_finite_and_error_nonnegative(
        d in 2usize..300,
        p_frac in 0.01f64..0.99,
        n_frac in 0.1f64..4.0,
        log_kappa in 0.0f64..5.0,
        ridge_choice in 0usize..3,
        log_ridge in -8.0f64..0.0,
        noise in 0.0f64..1.0,
    ) {
        let p = ((d as f64 * p_frac).round() as usize).clamp(1, d - 1);
        let n = ((d as f64 * n_frac).round() as usize).max(1);
        let ridge = if ridge_choice == 0 { 0.0 } else { 10f64.powf(log_ridge) };
        let cfg = Config::new(n, d, p, 10f64.powf(log_kappa)).with_ridge(ridge).with_noise(noise);
        let res = fast_slow(&cfg, &analytic_times(), Freeze::None);
        // Closed-form t → ∞ limit of b_i at λ = 0: the approximation exists iff b₁b₂ < 1 there.
        let b_inf = |alpha: f64| if alpha > 1.0 { 1.0 / (alpha - 1.0) } else { alpha / (1.0 - alpha) };
        let det_inf = 1.0 - b_inf(n as f64 / p as f64) * b_inf(n as f64 / (d - p) as f64);
        let threshold = n == p || n == d - p;
        match res {
            Ok(c) => {
                prop_assert!(!threshold, "n = p or n = d − p must be rejected");
                for j in 0..c.eg.len() {
                    prop_assert!(c.r[j].is_finite() && c.q[j].is_finite());
                    prop_assert!(c.eg[j] >= -1e-12, "t={} E_G={}", c.times[j], c.eg[j]);
                    prop_assert!(c.q[j] >= -1e-12, "t={} Q={}", c.times[j], c.q[j]);
                }
            }
            Err(e) => {
                // Only at a threshold, or where the t → ∞ criterion says the system can break
                // down (with a ridge, b_i is smaller, so λ = 0 is the worst case).
                prop_assert!(threshold || det_inf < 1e-6, "unexpected error: {e}");
                prop_assert!(matches!(e, doubledescent::Error::Singular(_)), "{e}");
            }
        }
    }

    #[test]
    fn invalid_settings_are_errors(d in 2usize..200, which in 0usize..6, x in -5.0f64..0.0) {
        let mut cfg = Config::new(d + 7, d, d / 2, 10.0);
        match which {
            0 => cfg.p = d + 1,
            1 => cfg.kappa = x,
            2 => cfg.ridge = x - 1e-9,
            3 => cfg.noise = f64::NAN,
            4 => cfg.n = cfg.p,
            _ => cfg.n = d - cfg.p,
        }
        prop_assert!(fast_slow(&cfg, &analytic_times(), Freeze::None).is_err());
    }
}
