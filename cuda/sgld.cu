// Fused SGLD update for many chains in one launch (Lau et al., arXiv 2308.12108; `optim_sgld` of
// `validating_lambdahat/sgld_utils.py`):
//   w <- w - (eps p / 2) (nbeta g + gamma (w - w*)) + sqrt(eps p) N(0, 1)
// with g the gradient of the minibatch mean loss and p an optional diagonal preconditioner.
//
// Compiled at run time by NVRTC (src/backend/cuda/mod.rs). No host headers: builtins and the math
// API only.
//
// Layout (shared with src/backend/cuda/sgld.rs): w and g are chains x d, row-major (chain c's
// parameters at c*d); w_star and precond have length d. One thread per pair of parameters of one
// chain: grid (ceil(d/2/256), chains), 256 threads.
//
// Noise: Philox4x32-10 (Salmon et al., SC 2011) with key (seed lo, seed hi) and counter
// (pair, chain, step lo, step hi); the four words make two 53-bit uniforms u1 in (0, 1] and u2 in
// [0, 1), and Box-Muller gives the normals of parameters 2*pair and 2*pair+1. This is the stream
// of src/random/philox.rs: the CPU and the GPU draw the same uniforms bit for bit, and normals that
// agree to about 1e-15 (log, sincos and FMA contraction round differently here, and the CPU uses
// branch-free fdlibm polynomials).

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

__device__ __forceinline__ uint4 dd_philox(uint4 c, uint2 k) {
#pragma unroll
    for (int i = 0; i < 10; ++i) {
        unsigned int hi0 = __umulhi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        unsigned int hi1 = __umulhi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = make_uint4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k.x += PHILOX_W0;
        k.y += PHILOX_W1;
    }
    return c;
}

__device__ __forceinline__ void dd_normal_pair(unsigned long long seed, unsigned int chain,
                                               unsigned long long step, unsigned int pair,
                                               double* z0, double* z1) {
    uint4 r = dd_philox(make_uint4(pair, chain, (unsigned int)step, (unsigned int)(step >> 32)),
                        make_uint2((unsigned int)seed, (unsigned int)(seed >> 32)));
    double u1 = ((double)((unsigned long long)(r.x >> 5) * 67108864ull + (r.y >> 6)) + 1.0) /
                9007199254740992.0;
    double u2 = (double)((unsigned long long)(r.z >> 5) * 67108864ull + (r.w >> 6)) /
                9007199254740992.0;
    double rad = sqrt(-2.0 * log(u1));
    double s, c;
    sincos(6.283185307179586 * u2, &s, &c);
    *z0 = rad * c;
    *z1 = rad * s;
}

template <typename T>
__device__ void sgld_update(T* w, const T* w_star, const T* g, const T* precond, int d,
                            double eps, double nbeta, double gamma, unsigned long long seed,
                            unsigned long long step, int use_precond) {
    const unsigned int chain = blockIdx.y;
    const int pair = blockIdx.x * blockDim.x + threadIdx.x;
    // In 64 bits: 2 * pair passes INT_MAX when d is close to it.
    const long long k0 = 2LL * pair;
    if (k0 >= d) return;
    double z[2];
    dd_normal_pair(seed, chain, step, (unsigned int)pair, &z[0], &z[1]);
    T* wc = w + (long long)chain * d;
    const T* gc = g + (long long)chain * d;
    for (int e = 0; e < 2; ++e) {
        long long k = k0 + e;
        if (k >= d) break;
        double p = use_precond ? (double)precond[k] : 1.0;
        double wk = (double)wc[k];
        double drift = nbeta * (double)gc[k] + gamma * (wk - (double)w_star[k]);
        wc[k] = (T)(wk - 0.5 * eps * p * drift + sqrt(eps * p) * z[e]);
    }
}

extern "C" __global__ void dd_sgld_update_f32(float* w, const float* w_star, const float* g,
                                              const float* precond, int d, double eps,
                                              double nbeta, double gamma,
                                              unsigned long long seed, unsigned long long step,
                                              int use_precond) {
    sgld_update<float>(w, w_star, g, precond, d, eps, nbeta, gamma, seed, step, use_precond);
}

extern "C" __global__ void dd_sgld_update_f64(double* w, const double* w_star, const double* g,
                                              const double* precond, int d, double eps,
                                              double nbeta, double gamma,
                                              unsigned long long seed, unsigned long long step,
                                              int use_precond) {
    sgld_update<double>(w, w_star, g, precond, d, eps, nbeta, gamma, seed, step, use_precond);
}
