//! Independent references for the kernel tests: the naive O(n·m·d) evaluation in f64 straight from
//! the definitions (explicit differences for the distances, explicit augmented vectors x̃ = [x; 1]
//! for the arc-cosine kernels), and the forward-error bound of the mandated algorithm.
//!
//! The library computes ‖x−z‖² as ‖x‖² + ‖z‖² − 2xᵀz (as the issue and EigenPro do). That formula
//! has an absolute error of order d·ε·(‖x‖² + ‖z‖²) in the squared distance, which the Laplace and
//! dispersal kernels amplify near coincident points (t ↦ t^{γ/2} is not Lipschitz at 0), and the
//! NTK amplifies near ξ = ±1 (arccos is not Lipschitz there). [`Reference::allowed`] adds exactly
//! that propagated error to the relative tolerance, so a test fails on any real discrepancy and
//! not on the conditioning of the formula the issue prescribes.
#![allow(dead_code)]

use doubledescent::kernels::{Kernel, KernelKind};
use faer::{Mat, MatRef};
use std::f64::consts::PI;

/// k(x, z) from the definition, and the error the fused algorithm may make in precision `eps`.
pub struct Reference {
    pub value: f64,
    /// √(k(x, x) k(z, z)): the natural scale of the entry (1 for the distance kernels).
    pub scale: f64,
    /// Error propagated from the rounding of the squared distance or of ξ.
    pub propagated: f64,
}

impl Reference {
    pub fn allowed(&self, tol: f64) -> f64 {
        tol * self.scale + self.propagated
    }
}

pub fn reference(kernel: &Kernel, x: &[f64], z: &[f64], eps: f64) -> Reference {
    let d = x.len() as f64;
    let nx: f64 = x.iter().map(|v| v * v).sum();
    let nz: f64 = z.iter().map(|v| v * v).sum();
    // Bound on |computed ‖x−z‖² − true ‖x−z‖²| for the norm expansion.
    let delta2 = 4.0 * (d + 2.0) * eps * (nx + nz);
    match kernel.kind() {
        KernelKind::Laplace { bandwidth: s }
        | KernelKind::Gaussian { bandwidth: s }
        | KernelKind::Dispersal { bandwidth: s, .. } => {
            let d2: f64 = x.iter().zip(z).map(|(a, b)| (a - b) * (a - b)).sum();
            let (value, propagated) = match kernel.kind() {
                KernelKind::Laplace { .. } => {
                    let dd = (d2.sqrt() - (d2 - delta2).max(0.0).sqrt())
                        .max((d2 + delta2).sqrt() - d2.sqrt());
                    ((-d2.sqrt() / s).exp(), dd / s)
                }
                KernelKind::Gaussian { .. } => {
                    ((-d2 / (2.0 * s * s)).exp(), delta2 / (2.0 * s * s))
                }
                KernelKind::Dispersal { gamma, .. } => {
                    let h = gamma / 2.0;
                    let dd = (d2.powf(h) - (d2 - delta2).max(0.0).powf(h))
                        .max((d2 + delta2).powf(h) - d2.powf(h));
                    ((-d2.powf(h) / s).exp(), dd / s)
                }
                _ => unreachable!(),
            };
            Reference {
                value,
                scale: 1.0,
                propagated,
            }
        }
        KernelKind::ReluNngp { bias, depth } | KernelKind::ReluNtk { bias, depth } => {
            assert_eq!(depth, 1, "the propagated-error reference covers depth 1");
            let mut xt = x.to_vec();
            let mut zt = z.to_vec();
            if bias {
                xt.push(1.0);
                zt.push(1.0);
            }
            let nxt: f64 = xt.iter().map(|v| v * v).sum::<f64>().sqrt();
            let nzt: f64 = zt.iter().map(|v| v * v).sum::<f64>().sqrt();
            let dot: f64 = xt.iter().zip(&zt).map(|(a, b)| a * b).sum();
            let r = nxt * nzt;
            if r == 0.0 {
                return Reference {
                    value: 0.0,
                    scale: 0.0,
                    propagated: 0.0,
                };
            }
            let xi = (dot / r).clamp(-1.0, 1.0);
            let theta = xi.acos();
            let nngp = r * (xi * (PI - theta) + (1.0 - xi * xi).sqrt()) / PI;
            let ntk_extra = r * xi * (PI - theta) / PI;
            // Bound on the error of the computed ξ, and its image through arccos.
            let dxi = 4.0 * (d + 5.0) * eps;
            let u = 1.0 - xi.abs();
            let dacos = if u > 2.0 * dxi {
                dxi / (u - dxi).sqrt()
            } else {
                3.0 * dxi.sqrt()
            };
            let nngp_err = r * dxi * 2.0;
            match kernel.kind() {
                KernelKind::ReluNngp { .. } => Reference {
                    value: nngp,
                    scale: r,
                    propagated: nngp_err,
                },
                _ => Reference {
                    value: nngp + ntk_extra,
                    scale: 2.0 * r,
                    propagated: nngp_err + r * (PI * dxi + dacos) / PI,
                },
            }
        }
    }
}

/// Row i of a matrix as f64.
pub fn row_f64<T: Copy + Into<f64>>(a: MatRef<'_, T>, i: usize) -> Vec<f64> {
    (0..a.ncols()).map(|k| a[(i, k)].into()).collect()
}

/// Largest violation of |got − ref| ≤ allowed over all entries; returns (worst excess, where).
pub fn check_against_reference<T: Copy + Into<f64>>(
    kernel: &Kernel,
    x: MatRef<'_, T>,
    z: MatRef<'_, T>,
    got: &Mat<T>,
    eps: f64,
    tol: f64,
) -> Result<(), String> {
    assert_eq!((got.nrows(), got.ncols()), (x.nrows(), z.nrows()));
    let zs: Vec<Vec<f64>> = (0..z.nrows()).map(|j| row_f64(z, j)).collect();
    for i in 0..x.nrows() {
        let xi = row_f64(x, i);
        for (j, zj) in zs.iter().enumerate() {
            let r = reference(kernel, &xi, zj, eps);
            let g: f64 = got[(i, j)].into();
            let err = (g - r.value).abs();
            #[allow(clippy::neg_cmp_op_on_partial_ord)] // a NaN must fail
            if !(err <= r.allowed(tol)) {
                return Err(format!(
                    "{kernel} entry ({i}, {j}): got {g:e}, reference {:e}, error {err:e} > allowed {:e}",
                    r.value,
                    r.allowed(tol)
                ));
            }
        }
    }
    Ok(())
}

/// Deterministic pseudo-random data in [−scale, scale] (SplitMix64), row-major.
pub fn data(n: usize, d: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..n * d)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// Every kind of kernel with the given constants.
pub fn all_kernels(bandwidth: f64, gamma: f64) -> Vec<Kernel> {
    [
        KernelKind::Laplace { bandwidth },
        KernelKind::Gaussian { bandwidth },
        KernelKind::Dispersal { bandwidth, gamma },
        KernelKind::ReluNngp {
            depth: 1,
            bias: false,
        },
        KernelKind::ReluNngp {
            depth: 1,
            bias: true,
        },
        KernelKind::ReluNtk {
            depth: 1,
            bias: false,
        },
        KernelKind::ReluNtk {
            depth: 1,
            bias: true,
        },
    ]
    .into_iter()
    .map(|k| Kernel::try_from(k).expect("valid kernel constants"))
    .collect()
}
