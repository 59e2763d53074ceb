// Kernel matrices K(X, Z) and matrix-free products K(X, Z) W, fused in one pass.
//
// Compiled at run time by NVRTC (src/backend/cuda/mod.rs), for the compute capability of the device in use.
// No host headers are available under NVRTC: only builtins and the CUDA math API are used.
//
// Layout conventions (shared with src/backend/cuda/kernels.rs):
//   X   n x d, row-major        Z   m x d, row-major
//   xn  n squared row norms      zn  m squared row norms
//   K   n x m, column-major with leading dimension ld (the layout of a faer::Mat column block)
//   W   m x c, row-major         KW  n x c, row-major
//
// Every kernel is a function of (||x||^2, ||z||^2, x.z); the transform below is the same formula as
// the CPU path (src/kernels/mod.rs, `Params::value` on `KernelParams` of src/backend/abi.rs), so
// that the two agree to rounding. The KIND_* numbers are those of src/backend/abi.rs.

#define KIND_LAPLACE 0
#define KIND_GAUSSIAN 1
#define KIND_DISPERSAL 2
#define KIND_NNGP 3
#define KIND_NTK 4

// Output tile of one block: TM x TN, computed by 16 x 16 threads, each holding RM x RN values in
// registers; the feature dimension is staged through shared memory BK columns at a time.
#define TM 64
#define TN 64
#define BK 16
#define RM 4
#define RN 4
#define NT 256
// Columns of W handled by one pass of the matrix-free product.
#define CW 8

__device__ __forceinline__ float dd_exp(float x) { return expf(x); }
__device__ __forceinline__ double dd_exp(double x) { return exp(x); }
__device__ __forceinline__ float dd_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double dd_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float dd_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double dd_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ float dd_acos(float x) { return acosf(x); }
__device__ __forceinline__ double dd_acos(double x) { return acos(x); }
__device__ __forceinline__ float dd_max(float x, float y) { return fmaxf(x, y); }
__device__ __forceinline__ double dd_max(double x, double y) { return fmax(x, y); }
__device__ __forceinline__ float dd_min(float x, float y) { return fminf(x, y); }
__device__ __forceinline__ double dd_min(double x, double y) { return fmin(x, y); }
__device__ __forceinline__ float dd_fma(float a, float b, float c) { return fmaf(a, b, c); }
__device__ __forceinline__ double dd_fma(double a, double b, double c) { return fma(a, b, c); }

// k(x, z) from nx = ||x||^2, nz = ||z||^2 and g = x.z.
//   Laplace    exp(-sqrt(d2) * p1)          p1 = 1/sigma
//   Gaussian   exp(-d2 * p1)                p1 = 1/(2 sigma^2)
//   dispersal  exp(-d2^p2 * p1)             p1 = 1/sigma, p2 = gamma/2
//   with d2 = max(nx + nz - 2g, 0).
//   ReLU NNGP and NTK of depth L (src/kernels/mod.rs, "Deep arc-cosine kernels"), with
//   b = bias ? 1 : 0 and S1 = (nx + b, nz + b, g + b); per layer l = 1 .. L:
//     r = sqrt(Sxx Szz), xi = clamp(Sxz / r, -1, 1), a = pi - acos xi,
//     F = r (xi a + sqrt(1 - xi^2)) / pi, theta_1 = r xi,
//     last layer: NNGP = F, NTK = F + theta a / pi;
//     otherwise: Sxz = F + b, Sxx += b, Szz += b, theta = theta a / pi + Sxz;
//   and k = 0 when r = 0. At L = 1 this is r (xi a + sqrt(1 - xi^2)) / pi (+ r xi a / pi).
template <typename T>
__device__ __forceinline__ T dd_transform(int kind, T nx, T nz, T g, T p1, T p2, int bias,
                                          int depth) {
    if (kind <= KIND_DISPERSAL) {
        T d2 = dd_max(nx + nz - (T)2 * g, (T)0);
        if (kind == KIND_LAPLACE) return dd_exp(-dd_sqrt(d2) * p1);
        if (kind == KIND_GAUSSIAN) return dd_exp(-d2 * p1);
        return dd_exp(-dd_pow(d2, p2) * p1);
    }
    T b = bias ? (T)1 : (T)0;
    T pi = (T)3.14159265358979323846;
    T sxx = nx + b, szz = nz + b, sxz = g + b, theta = (T)0;
    for (int l = 1;; ++l) {
        T r = dd_sqrt(sxx * szz);
        if (!(r > (T)0)) return (T)0;
        T xi = dd_min(dd_max(sxz / r, (T)-1), (T)1);
        T a = pi - dd_acos(xi);
        T nngp = r * (xi * a + dd_sqrt((T)1 - xi * xi)) / pi;
        if (l == 1) theta = r * xi;
        if (l >= depth) return kind == KIND_NNGP ? nngp : nngp + theta * a / pi;
        sxz = nngp + b;
        sxx = sxx + b;
        szz = szz + b;
        theta = theta * a / pi + sxz;
    }
}

// k(x, x) in closed form (distance 0, xi = 1): the exact diagonal of a self matrix. Depth L:
// NNGP nx + L b, NTK (L + 1) nx + b L (L + 3) / 2.
template <typename T>
__device__ __forceinline__ T dd_diagonal(int kind, T nx, int bias, int depth) {
    if (kind <= KIND_DISPERSAL) return (T)1;
    T b = bias ? (T)1 : (T)0;
    if (!(nx + b > (T)0)) return (T)0;
    if (depth == 1) {
        T r = nx + b;
        return kind == KIND_NNGP ? r : r + r;
    }
    T l = (T)depth;
    if (kind == KIND_NNGP) return nx + l * b;
    return (l + (T)1) * nx + b * l * (l + (T)3) / (T)2;
}

// Accumulates the TM x TN tile of X Z^T starting at rows (i0, j0) into acc. Thread (tx, ty) owns
// rows i0 + a_lane + 16 r and columns j0 + b_lane + 16 c: the caller picks which of tx, ty indexes
// rows, so the same loop serves the column-major matrix kernel and the row-reducing K W kernel.
template <typename T>
__device__ __forceinline__ void dd_gram_tile(const T* __restrict__ X, const T* __restrict__ Z,
                                             int n, int m, int d, int i0, int j0, int a_lane,
                                             int b_lane, T (*xs)[TM + 1], T (*zs)[TN + 1],
                                             T acc[RM][RN]) {
    int tid = threadIdx.y * 16 + threadIdx.x;
#pragma unroll
    for (int r = 0; r < RM; ++r)
#pragma unroll
        for (int c = 0; c < RN; ++c) acc[r][c] = (T)0;
    for (int k0 = 0; k0 < d; k0 += BK) {
        // Consecutive threads read consecutive features of one row: coalesced for row-major data.
        for (int e = tid; e < TM * BK; e += NT) {
            int row = e / BK, col = e % BK;
            int gi = i0 + row, gk = k0 + col;
            xs[col][row] = (gi < n && gk < d) ? X[(long long)gi * d + gk] : (T)0;
        }
        for (int e = tid; e < TN * BK; e += NT) {
            int row = e / BK, col = e % BK;
            int gj = j0 + row, gk = k0 + col;
            zs[col][row] = (gj < m && gk < d) ? Z[(long long)gj * d + gk] : (T)0;
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            T a[RM], b[RN];
#pragma unroll
            for (int r = 0; r < RM; ++r) a[r] = xs[k][a_lane + 16 * r];
#pragma unroll
            for (int c = 0; c < RN; ++c) b[c] = zs[k][b_lane + 16 * c];
#pragma unroll
            for (int r = 0; r < RM; ++r)
#pragma unroll
                for (int c = 0; c < RN; ++c) acc[r][c] = dd_fma(a[r], b[c], acc[r][c]);
        }
        __syncthreads();
    }
}

// Squared row norms, one warp per row.
template <typename T>
__device__ void dd_sqnorms(const T* __restrict__ X, T* __restrict__ out, int n, int d) {
    long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (warp >= n) return;
    T s = (T)0;
    for (int k = lane; k < d; k += 32) {
        T v = X[warp * d + k];
        s = dd_fma(v, v, s);
    }
    for (int off = 16; off > 0; off >>= 1) s += __shfl_down_sync(0xffffffffu, s, off);
    if (lane == 0) out[warp] = s;
}

// The full matrix: out[i + j * ld] = k(x_i, z_j) for the n rows of this chunk. For a self matrix
// (Z = X), `row0` is the global index of the chunk's first row and `self_diag` makes the diagonal
// exact; `upper_only` skips the tiles strictly below the diagonal (dd_mirror fills them).
template <typename T>
__device__ void dd_kmat(const T* __restrict__ X, const T* __restrict__ Z, const T* __restrict__ xn,
                        const T* __restrict__ zn, T* __restrict__ out, int n, int m, int d,
                        long long ld, int row0, int self_diag, int upper_only, int kind, T p1, T p2,
                        int bias, int depth) {
    if (upper_only && blockIdx.y < blockIdx.x) return;
    __shared__ T xs[BK][TM + 1];
    __shared__ T zs[BK][TN + 1];
    int i0 = blockIdx.x * TM, j0 = blockIdx.y * TN;
    int tx = threadIdx.x, ty = threadIdx.y;
    T acc[RM][RN];
    // tx indexes rows: a warp writes 16 consecutive entries of a column of K.
    dd_gram_tile<T>(X, Z, n, m, d, i0, j0, tx, ty, xs, zs, acc);
#pragma unroll
    for (int r = 0; r < RM; ++r) {
        int i = i0 + tx + 16 * r;
        if (i >= n) continue;
        T nx = xn[i];
#pragma unroll
        for (int c = 0; c < RN; ++c) {
            int j = j0 + ty + 16 * c;
            if (j >= m) continue;
            T v = (self_diag && i + row0 == j) ? dd_diagonal<T>(kind, nx, bias, depth)
                                                : dd_transform<T>(kind, nx, zn[j], acc[r][c], p1, p2, bias, depth);
            out[(long long)j * ld + i] = v;
        }
    }
}

// Copies the strict upper triangle of the n x n column-major matrix onto the lower one, through a
// 32 x 32 shared tile so that reads and writes are both coalesced. Block (32, 8).
template <typename T>
__device__ void dd_mirror(T* __restrict__ a, int n, long long ld) {
    __shared__ T tile[32][33];
    int bi = blockIdx.x, bj = blockIdx.y;  // destination tile: rows bi*32.., cols bj*32..
    if (bi < bj) return;
    int tx = threadIdx.x, ty = threadIdx.y;
    // Source: rows bj*32 + tx, cols bi*32 + ty + 8k (the transposed tile, above the diagonal).
    for (int k = 0; k < 32; k += 8) {
        int r = bj * 32 + tx, c = bi * 32 + ty + k;
        if (r < n && c < n) tile[ty + k][tx] = a[(long long)c * ld + r];
    }
    __syncthreads();
    for (int k = 0; k < 32; k += 8) {
        int r = bi * 32 + tx, c = bj * 32 + ty + k;  // destination (r, c) = source (c, r)
        if (r < n && c < n && r > c) a[(long long)c * ld + r] = tile[tx][ty + k];
    }
}

// Matrix-free product, first stage: partial[s][i][q] = sum over the Z tiles of split s of
// k(x_i, z_j) W[j][col0 + q], for q < cw <= CW. The K tile lives only in registers. Grid
// (ceil(n / TM), splits); block (16, 16). Here ty indexes rows and tx columns of the K tile, so the
// 16 lanes that share a row reduce with warp shuffles and one lane writes each partial sum.
template <typename T>
__device__ void dd_kw(const T* __restrict__ X, const T* __restrict__ Z, const T* __restrict__ xn,
                      const T* __restrict__ zn, const T* __restrict__ W, T* __restrict__ partial,
                      int n, int m, int d, int c_total, int col0, int cw, int tiles_per_split,
                      int kind, T p1, T p2, int bias, int depth) {
    __shared__ T xs[BK][TM + 1];
    __shared__ T zs[BK][TN + 1];
    __shared__ T ws[TN][CW];
    int i0 = blockIdx.x * TM;
    int split = blockIdx.y;
    int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
    T part[RM][CW];
#pragma unroll
    for (int r = 0; r < RM; ++r)
#pragma unroll
        for (int q = 0; q < CW; ++q) part[r][q] = (T)0;
    T nx[RM];
#pragma unroll
    for (int r = 0; r < RM; ++r) {
        int i = i0 + ty + 16 * r;
        nx[r] = i < n ? xn[i] : (T)0;
    }
    int tile_begin = split * tiles_per_split;
    int tiles = (m + TN - 1) / TN;
    int tile_end = min(tiles, tile_begin + tiles_per_split);
    for (int t = tile_begin; t < tile_end; ++t) {
        int j0 = t * TN;
        T acc[RM][RN];
        dd_gram_tile<T>(X, Z, n, m, d, i0, j0, ty, tx, xs, zs, acc);
        for (int e = tid; e < TN * CW; e += NT) {
            int jj = e / CW, q = e % CW;
            int j = j0 + jj;
            ws[jj][q] = (j < m && q < cw) ? W[(long long)j * c_total + col0 + q] : (T)0;
        }
        __syncthreads();
#pragma unroll
        for (int c = 0; c < RN; ++c) {
            int jj = tx + 16 * c;
            int j = j0 + jj;
            T nz = j < m ? zn[j] : (T)0;
#pragma unroll
            for (int r = 0; r < RM; ++r) {
                T kv = j < m ? dd_transform<T>(kind, nx[r], nz, acc[r][c], p1, p2, bias, depth) : (T)0;
#pragma unroll
                for (int q = 0; q < CW; ++q) part[r][q] = dd_fma(kv, ws[jj][q], part[r][q]);
            }
        }
        __syncthreads();
    }
    // Reduce over the 16 lanes (tx) that share rows; they form one half of a warp.
#pragma unroll
    for (int r = 0; r < RM; ++r)
#pragma unroll
        for (int q = 0; q < CW; ++q) {
            T v = part[r][q];
            for (int off = 8; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
            part[r][q] = v;
        }
    if (tx == 0) {
#pragma unroll
        for (int r = 0; r < RM; ++r) {
            int i = i0 + ty + 16 * r;
            if (i >= n) continue;
#pragma unroll
            for (int q = 0; q < CW; ++q)
                if (q < cw) partial[((long long)split * n + i) * cw + q] = part[r][q];
        }
    }
}

// Second stage: out[i][col0 + q] = sum over splits of partial[s][i][q] (a fixed order: the result
// does not depend on scheduling).
template <typename T>
__device__ void dd_kw_reduce(const T* __restrict__ partial, T* __restrict__ out, int n, int c_total,
                             int col0, int cw, int splits) {
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (long long)n * cw) return;
    long long i = e / cw;
    int q = (int)(e % cw);
    T s = (T)0;
    for (int k = 0; k < splits; ++k) s += partial[((long long)k * n + i) * cw + q];
    out[i * c_total + col0 + q] = s;
}

#define DD_INSTANTIATE(T, SUF)                                                                      \
    extern "C" __global__ void dd_sqnorms_##SUF(const T* X, T* out, int n, int d) {                 \
        dd_sqnorms<T>(X, out, n, d);                                                                \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(NT)                                                \
        dd_kmat_##SUF(const T* X, const T* Z, const T* xn, const T* zn, T* out, int n, int m,       \
                      int d, long long ld, int row0, int self_diag, int upper_only, int kind, T p1, \
                      T p2, int bias, int depth) {                                                  \
        dd_kmat<T>(X, Z, xn, zn, out, n, m, d, ld, row0, self_diag, upper_only, kind, p1, p2,       \
                   bias, depth);                                                                    \
    }                                                                                               \
    extern "C" __global__ void dd_mirror_##SUF(T* a, int n, long long ld) {                         \
        dd_mirror<T>(a, n, ld);                                                                     \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(NT)                                                \
        dd_kw_##SUF(const T* X, const T* Z, const T* xn, const T* zn, const T* W, T* partial,      \
                    int n, int m, int d, int c_total, int col0, int cw, int tiles_per_split,        \
                    int kind, T p1, T p2, int bias, int depth) {                                    \
        dd_kw<T>(X, Z, xn, zn, W, partial, n, m, d, c_total, col0, cw, tiles_per_split, kind, p1,   \
                 p2, bias, depth);                                                                  \
    }                                                                                               \
    extern "C" __global__ void dd_kw_reduce_##SUF(const T* partial, T* out, int n, int c_total,     \
                                                  int col0, int cw, int splits) {                   \
        dd_kw_reduce<T>(partial, out, n, c_total, col0, cw, splits);                                \
    }

DD_INSTANTIATE(float, f32)
DD_INSTANTIATE(double, f64)
