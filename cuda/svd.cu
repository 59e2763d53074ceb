// Batched thin SVD of many small matrices of one shape: one-sided Jacobi (Hestenes 1958;
// Demmel & Veselic 1992), one thread block per matrix.
//
// Compiled at run time by NVRTC (src/backend/cuda/mod.rs). No host headers: builtins and the math
// API only.
//
// Layout (shared with src/backend/cuda/svd.rs): matrix b of the batch is W_b, mw x nw with mw >= nw,
// column-major, at a + b*mw*nw. The host passes A or A^T so that mw >= nw always holds.
// Outputs, per matrix: U (mw x nw, column-major), S (nw, descending), V (nw x nw, column-major),
// with W = U diag(S) V^T; sweeps[b] = number of sweeps, or -1 when max_sweeps were not enough.
//
// Algorithm. Columns p < q are orthogonalised in pairs by plane rotations applied on the right:
//   alpha = |w_p|^2, beta = |w_q|^2, gamma = w_p . w_q; if |gamma| > tol * sqrt(alpha) * sqrt(beta)
//   (two square roots: alpha * beta overflows float for column norms above about 1.3e9):
//   zeta = (beta - alpha) / (2 gamma), t = sign(zeta) / (|zeta| + sqrt(1 + zeta^2)), or
//   t = sign(zeta) / (2 |zeta|) once |zeta| > 1/eps (where sqrt(1 + zeta^2) = |zeta| in T, and
//   zeta^2 could overflow), c = 1 / sqrt(1 + t^2), s = c t,
//   [w_p, w_q] <- [c w_p - s w_q, s w_p + c w_q]
// and the same rotation accumulates into V (starting from I). A sweep visits every pair once in
// the round-robin (circle) order: nw_even - 1 rounds of nw_even / 2 disjoint pairs, so the pairs of
// a round are independent and are spread over the block's warps (one warp per pair, the dot
// products reduced with shuffles). Sweeps repeat until a whole sweep performs no rotation.
// At convergence the columns are orthogonal: S_j = |w_j|, U_j = w_j / S_j, sorted descending.
//
// The working copies of W and V live in shared memory when use_shared is set (the host checks
// that (mw*nw + nw*nw) values fit), otherwise in the global scratch `work` (2 per matrix: W then V).

#define WARP 32

__device__ __forceinline__ float dd_sqrt_s(float x) { return sqrtf(x); }
__device__ __forceinline__ double dd_sqrt_s(double x) { return sqrt(x); }
__device__ __forceinline__ float dd_abs_s(float x) { return fabsf(x); }
__device__ __forceinline__ double dd_abs_s(double x) { return fabs(x); }
// 1/eps: beyond it sqrt(1 + zeta^2) rounds to |zeta|.
__device__ __forceinline__ float dd_inv_eps(float) { return 8388608.0f; }
__device__ __forceinline__ double dd_inv_eps(double) { return 4503599627370496.0; }

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
    for (int off = WARP / 2; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// Element of round r, pair k, side (0 = first, 1 = second) in the circle method with N players:
// player 0 stays at position 0, the others rotate by r; pair k joins positions k and N-1-k.
__device__ __forceinline__ int circle_player(int r, int k, int side, int N) {
    int pos = side == 0 ? k : N - 1 - k;
    if (pos == 0) return 0;
    return ((pos - 1 + r) % (N - 1)) + 1;
}

template <typename T>
__device__ void jacobi_svd(const T* __restrict__ a, T* __restrict__ u, T* __restrict__ s,
                           T* __restrict__ v, int* __restrict__ sweeps, T* __restrict__ work,
                           int mw, int nw, T tol, int max_sweeps, int use_shared) {
    extern __shared__ __align__(16) unsigned char dd_smem[];
    const int b = blockIdx.x;
    const int tid = threadIdx.x;
    const int lane = tid % WARP;
    const int warp = tid / WARP;
    const int nwarps = blockDim.x / WARP;
    const long long wsize = (long long)mw * nw;
    const long long vsize = (long long)nw * nw;

    T* W;
    T* V;
    T* norms;
    int* perm;
    if (use_shared) {
        W = reinterpret_cast<T*>(dd_smem);
        V = W + wsize;
        norms = V + vsize;
    } else {
        W = work + (long long)b * (wsize + vsize);
        V = W + wsize;
        norms = reinterpret_cast<T*>(dd_smem);
    }
    perm = reinterpret_cast<int*>(norms + nw);
    __shared__ int rotated;

    const T* A = a + (long long)b * wsize;
    for (long long i = tid; i < wsize; i += blockDim.x) W[i] = A[i];
    for (long long i = tid; i < vsize; i += blockDim.x) {
        int r = (int)(i % nw), c = (int)(i / nw);
        V[i] = r == c ? T(1) : T(0);
    }
    __syncthreads();

    const int N = nw + (nw & 1);  // an odd column count gets a dummy player that never rotates
    int sweep = 0;
    int converged = (nw < 2);
    while (!converged && sweep < max_sweeps) {
        if (tid == 0) rotated = 0;
        __syncthreads();
        for (int r = 0; r < N - 1; ++r) {
            for (int k = warp; k < N / 2; k += nwarps) {
                int p = circle_player(r, k, 0, N);
                int q = circle_player(r, k, 1, N);
                if (p >= nw || q >= nw) continue;
                if (p > q) { int t = p; p = q; q = t; }
                T* wp = W + (long long)p * mw;
                T* wq = W + (long long)q * mw;
                T al = T(0), be = T(0), ga = T(0);
                for (int i = lane; i < mw; i += WARP) {
                    T x = wp[i], y = wq[i];
                    al += x * x;
                    be += y * y;
                    ga += x * y;
                }
                al = warp_sum(al);
                be = warp_sum(be);
                ga = warp_sum(ga);
                // Every lane holds the same sums, so the whole warp takes the same branch.
                if (ga != T(0) && dd_abs_s(ga) > tol * dd_sqrt_s(al) * dd_sqrt_s(be)) {
                    T zeta = (be - al) / (T(2) * ga);
                    T az = dd_abs_s(zeta);
                    T t = az > dd_inv_eps(az) ? T(1) / (T(2) * az)
                                              : T(1) / (az + dd_sqrt_s(T(1) + zeta * zeta));
                    if (zeta < T(0)) t = -t;
                    T c = T(1) / dd_sqrt_s(T(1) + t * t);
                    T sn = c * t;
                    for (int i = lane; i < mw; i += WARP) {
                        T x = wp[i], y = wq[i];
                        wp[i] = c * x - sn * y;
                        wq[i] = sn * x + c * y;
                    }
                    T* vp = V + (long long)p * nw;
                    T* vq = V + (long long)q * nw;
                    for (int i = lane; i < nw; i += WARP) {
                        T x = vp[i], y = vq[i];
                        vp[i] = c * x - sn * y;
                        vq[i] = sn * x + c * y;
                    }
                    // Several warps may set the flag between two barriers: an atomic, not a
                    // racing plain store.
                    if (lane == 0) atomicOr(&rotated, 1);
                }
            }
            __syncthreads();
        }
        ++sweep;
        converged = (rotated == 0);
        __syncthreads();  // everyone has read `rotated` before thread 0 resets it
    }

    // Singular values: column norms, one warp per column.
    for (int j = warp; j < nw; j += nwarps) {
        const T* wj = W + (long long)j * mw;
        T acc = T(0);
        for (int i = lane; i < mw; i += WARP) acc += wj[i] * wj[i];
        acc = warp_sum(acc);
        if (lane == 0) norms[j] = dd_sqrt_s(acc);
    }
    __syncthreads();
    // Descending order (stable insertion sort of indices; nw is small).
    if (tid == 0) {
        for (int j = 0; j < nw; ++j) perm[j] = j;
        for (int j = 1; j < nw; ++j) {
            int key = perm[j];
            int i = j - 1;
            while (i >= 0 && norms[perm[i]] < norms[key]) {
                perm[i + 1] = perm[i];
                --i;
            }
            perm[i + 1] = key;
        }
        sweeps[b] = converged ? sweep : -1;
    }
    __syncthreads();

    T* U = u + (long long)b * wsize;
    T* Vo = v + (long long)b * vsize;
    T* S = s + (long long)b * nw;
    for (long long i = tid; i < wsize; i += blockDim.x) {
        int r = (int)(i % mw), c = (int)(i / mw);
        int src = perm[c];
        T nrm = norms[src];
        U[i] = nrm > T(0) ? W[(long long)src * mw + r] / nrm : T(0);
    }
    for (long long i = tid; i < vsize; i += blockDim.x) {
        int r = (int)(i % nw), c = (int)(i / nw);
        Vo[i] = V[(long long)perm[c] * nw + r];
    }
    for (int j = tid; j < nw; j += blockDim.x) S[j] = norms[perm[j]];
}

extern "C" __global__ void dd_jacobi_svd_f32(const float* a, float* u, float* s, float* v,
                                             int* sweeps, float* work, int mw, int nw, float tol,
                                             int max_sweeps, int use_shared) {
    jacobi_svd<float>(a, u, s, v, sweeps, work, mw, nw, tol, max_sweeps, use_shared);
}

extern "C" __global__ void dd_jacobi_svd_f64(const double* a, double* u, double* s, double* v,
                                             int* sweeps, double* work, int mw, int nw, double tol,
                                             int max_sweeps, int use_shared) {
    jacobi_svd<double>(a, u, s, v, sweeps, work, mw, nw, tol, max_sweeps, use_shared);
}
