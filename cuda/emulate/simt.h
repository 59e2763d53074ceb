// The emulated CUDA device: just enough of CUDA's execution model, in C++, to compile the crate's
// cuda/*.cu sources for the CPU and run them there, unchanged (src/backend/cuda/emulate.rs
// compiles each source with this header in front and loads the result).
//
// Execution model.
//   * Blocks run one after another on the calling OS thread (the Rust side spreads the blocks of a
//     launch over its worker threads); the threads of a block are fibres, each with its own stack,
//     switched cooperatively: a thread runs until it reaches __syncthreads, a warp shuffle or its
//     end. Each of the scheduler's passes over the runnable threads starts at a different thread
//     and goes up or down (drawn from the block and the pass), so a missing __syncthreads lets a
//     thread see shared memory that its neighbours have, or have not yet, written.
//   * __syncthreads is a barrier over the block's threads that have not exited; threads waiting at
//     different __syncthreads (a barrier in divergent code) are an error, as is a deadlock.
//   * Warp shuffles (__shfl_sync, __shfl_up/down/xor_sync) exchange through a per-warp slot array:
//     every lane named in the mask must reach a shuffle with the same mask; a mask that names an
//     exited or missing lane, or a lane that calls without being named, is an error.
//   * __shared__ variables are thread_local (each OS thread runs one block at a time); dynamic
//     shared memory (`extern __shared__ T name[]`) is one thread_local array of the largest card's
//     size, filled with 0xFF bytes (NaN, -1) when a block starts, and everything past the
//     launch's size is poisoned under AddressSanitizer and checked for writes after the block.
//   * threadIdx, blockIdx, blockDim and gridDim are thread_local, set before a fibre resumes.
//   * The math API maps to the C library's functions (they round differently from CUDA's);
//     atomics are the compiler's relaxed __atomic builtins.
//
// Compiled with -fsanitize=undefined (array bounds, overflow, misaligned access) always, with
// -fsanitize=address when the process runs under AddressSanitizer, or with -fsanitize=thread when
// it runs under ThreadSanitizer. Under ThreadSanitizer every thread of a block is a TSan fibre,
// switched without synchronisation; __syncthreads and __syncwarp are release/acquire pairs, and
// warp shuffles order nothing (as in CUDA), so any two accesses to the same memory, one a write,
// that no barrier separates are reported as a data race: a missing __syncthreads is found even
// where the order the threads happen to run in hides it. (Blocks are ordered one after another
// for TSan: races between blocks are not checked.)

#pragma once

#include <dlfcn.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define DD_EMU_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#else
#define DD_EMU_ASAN 0
#endif
#if defined(__SANITIZE_THREAD__)
#define DD_EMU_TSAN 1
#include <sanitizer/tsan_interface.h>
#else
#define DD_EMU_TSAN 0
#endif
// The runtime's own bookkeeping (thread states, exchange slots) is shared by the fibres and the
// scheduler without happens-before edges by design: ThreadSanitizer checks the kernels, not it.
#define DD_EMU_RUNTIME __attribute__((no_sanitize_thread, noinline))

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

// ---- CUDA keywords ----------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __shared__ thread_local
#define __constant__ const
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __syncthreads() dd_emu::syncthreads(__LINE__)
#define __syncwarp(...) dd_emu::syncwarp(__LINE__, ##__VA_ARGS__)
#define __shfl_sync(mask, v, ...) dd_emu::shfl(__LINE__, dd_emu::IDX, mask, v, __VA_ARGS__)
#define __shfl_up_sync(mask, v, ...) dd_emu::shfl(__LINE__, dd_emu::UP, mask, v, __VA_ARGS__)
#define __shfl_down_sync(mask, v, ...) dd_emu::shfl(__LINE__, dd_emu::DOWN, mask, v, __VA_ARGS__)
#define __shfl_xor_sync(mask, v, ...) dd_emu::shfl(__LINE__, dd_emu::XOR, mask, v, __VA_ARGS__)

#ifndef DD_EMU_SHARED_CAP
#define DD_EMU_SHARED_CAP (232448)
#endif
#define warpSize 32

// ---- Vector types and index variables ----------------------------------------------------------
struct uint2 { unsigned int x, y; };
struct uint3 { unsigned int x, y, z; };
struct uint4 { unsigned int x, y, z, w; };
struct int2 { int x, y; };
struct float2 { float x, y; };
struct double2 { double x, y; };
struct dim3 { unsigned int x, y, z; };
static inline uint2 make_uint2(unsigned int x, unsigned int y) { return {x, y}; }
static inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) {
    return {x, y, z, w};
}
static inline int2 make_int2(int x, int y) { return {x, y}; }
static inline float2 make_float2(float x, float y) { return {x, y}; }
static inline double2 make_double2(double x, double y) { return {x, y}; }

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

// ---- Integer and math intrinsics ---------------------------------------------------------------
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
static inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
static inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
static inline int __popc(unsigned int x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned int)x); }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
// __expf, __logf, __sinf, __cosf, __powf and __sincosf are the C library's own (glibc declares
// them).
static inline float __fdividef(float x, float y) { return x / y; }
static inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }

// ---- Atomics (relaxed, as CUDA's: atomic, but they order nothing) -------------------------------
#define DD_EMU_ATOMIC_INT(T)                                                                        \
    static inline T atomicAdd(T* p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }   \
    static inline T atomicSub(T* p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }   \
    static inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }     \
    static inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }   \
    static inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }   \
    static inline T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); } \
    static inline T atomicCAS(T* p, T expected, T v) {                                             \
        __atomic_compare_exchange_n(p, &expected, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);   \
        return expected;                                                                           \
    }                                                                                              \
    static inline T atomicMax(T* p, T v) {                                                         \
        T old = __atomic_load_n(p, __ATOMIC_RELAXED);                                              \
        while (old < v && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED,         \
                                                       __ATOMIC_RELAXED)) {                        \
        }                                                                                          \
        return old;                                                                                \
    }                                                                                              \
    static inline T atomicMin(T* p, T v) {                                                         \
        T old = __atomic_load_n(p, __ATOMIC_RELAXED);                                              \
        while (old > v && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED,         \
                                                       __ATOMIC_RELAXED)) {                        \
        }                                                                                          \
        return old;                                                                                \
    }
DD_EMU_ATOMIC_INT(int)
DD_EMU_ATOMIC_INT(unsigned int)
DD_EMU_ATOMIC_INT(unsigned long long)
#define DD_EMU_ATOMIC_FLOAT(T, BITS)                                                                \
    static inline T atomicAdd(T* p, T v) {                                                         \
        BITS* q = (BITS*)p;                                                                        \
        BITS old = __atomic_load_n(q, __ATOMIC_RELAXED), next;                                     \
        do {                                                                                       \
            T f;                                                                                   \
            memcpy(&f, &old, sizeof f);                                                            \
            f += v;                                                                                \
            memcpy(&next, &f, sizeof f);                                                           \
        } while (!__atomic_compare_exchange_n(q, &old, next, true, __ATOMIC_RELAXED,               \
                                              __ATOMIC_RELAXED));                                  \
        T f;                                                                                       \
        memcpy(&f, &old, sizeof f);                                                                \
        return f;                                                                                  \
    }
DD_EMU_ATOMIC_FLOAT(float, unsigned int)
DD_EMU_ATOMIC_FLOAT(double, unsigned long long)

namespace dd_emu {

// ---- Fibres ------------------------------------------------------------------------------------
#if defined(__x86_64__)
// Saves the callee-saved registers and the stack pointer into *from, loads `to` and returns on
// the other stack (System V ABI: rbx, rbp, r12-r15 are callee-saved; nothing here touches the
// floating-point control words).
extern "C" void dd_emu_switch(void** from, void* to);
asm(R"(
    .text
    .p2align 4
    .globl dd_emu_switch
    .hidden dd_emu_switch
    .type dd_emu_switch, @function
dd_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size dd_emu_switch, .-dd_emu_switch
)");
#endif

enum State { RUNNABLE, AT_BARRIER, AT_WARP, EXITED };
enum Shuffle { IDX, UP, DOWN, XOR };

struct Fiber {
    char* stack;
    size_t stack_size;
#if defined(__x86_64__)
    void* sp;
#else
    ucontext_t ctx;
#endif
    State state;
    int line;
    unsigned int mask;
    void* fake_stack;
    void* tsan;
    bool started;
};

struct Warp {
    unsigned int gen;
    unsigned long long slot[2][32];
    char sync[2];
};

struct Block {
    Fiber* fibers;
    int threads;
    Warp* warps;
    void (*thunk)(void**);
    void** args;
    uint3 idx;
    dim3 dim;
    int current;
    int failed;
    char* err;
    size_t errlen;
#if defined(__x86_64__)
    void* sched_sp;
#else
    ucontext_t sched_ctx;
#endif
    void* sched_fake;
    const void* sched_bottom;
    size_t sched_size;
    void* sched_tsan;
    unsigned int barrier_gen;
    char barrier_sync[2];
};

thread_local Block* tl_block;

// The fibre stacks of this OS thread, kept between blocks: each is `stack_bytes` with an
// inaccessible guard page below it (a stack overflow faults instead of corrupting a neighbour).
static const size_t stack_bytes = DD_EMU_ASAN ? (512u << 10) : (128u << 10);
struct StackPool {
    char* stacks[1024];
    int count;
    ~StackPool() {
        for (int i = 0; i < count; ++i) munmap(stacks[i] - 4096, stack_bytes + 4096);
    }
};
thread_local StackPool tl_stacks;
thread_local Fiber tl_fibers[1024];
thread_local void* tl_tsan_fibres[1024];
thread_local Warp tl_warps[32];

static char* stack_for(int i) {
    StackPool& p = tl_stacks;
    while (p.count <= i) {
        void* m = mmap(nullptr, stack_bytes + 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) return nullptr;
        mprotect(m, 4096, PROT_NONE);
        p.stacks[p.count++] = (char*)m + 4096;
    }
    return p.stacks[i];
}

static uint3 thread_index(const Block* b, int i) {
    unsigned int u = (unsigned int)i;
    return {u % b->dim.x, (u / b->dim.x) % b->dim.y, u / (b->dim.x * b->dim.y)};
}

static void describe_thread(const Block* b, int i, char* out, size_t len) {
    uint3 t = thread_index(b, i);
    snprintf(out, len, "thread (%u,%u,%u) of block (%u,%u,%u)", t.x, t.y, t.z, b->idx.x, b->idx.y,
             b->idx.z);
}

DD_EMU_RUNTIME static void to_scheduler(bool dying);

// Records the first error of the block; the fibre that calls it stops here.
__attribute__((format(printf, 1, 2))) DD_EMU_RUNTIME static void fail_in_fibre(const char* fmt, ...) {
    Block* b = tl_block;
    if (!b->failed) {
        char who[96];
        describe_thread(b, b->current, who, sizeof who);
        char what[320];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        snprintf(b->err, b->errlen, "%s: %s", who, what);
        b->failed = 1;
    }
    b->fibers[b->current].state = EXITED;
    to_scheduler(true);
    __builtin_unreachable();
}

DD_EMU_RUNTIME static void fibre_main() {
    Block* b = tl_block;
#if DD_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &b->sched_bottom, &b->sched_size);
#endif
    b->thunk(b->args);
    b->fibers[b->current].state = EXITED;
    to_scheduler(true);
    __builtin_unreachable();
}

DD_EMU_RUNTIME static void to_scheduler(bool dying) {
    Block* b = tl_block;
    Fiber& f = b->fibers[b->current];
#if DD_EMU_ASAN
    __sanitizer_start_switch_fiber(dying ? nullptr : &f.fake_stack, b->sched_bottom, b->sched_size);
#endif
#if DD_EMU_TSAN
    // A thread's end is ordered before the block's end; its other switches order nothing.
    __tsan_switch_to_fiber(b->sched_tsan, dying ? 0 : __tsan_switch_to_fiber_no_sync);
#endif
    (void)dying;
#if defined(__x86_64__)
    dd_emu_switch(&f.sp, b->sched_sp);
#else
    swapcontext(&f.ctx, &b->sched_ctx);
#endif
#if DD_EMU_ASAN
    __sanitizer_finish_switch_fiber(f.fake_stack, &b->sched_bottom, &b->sched_size);
#endif
}

DD_EMU_RUNTIME static void resume(Block* b, int i) {
    b->current = i;
    Fiber& f = b->fibers[i];
    threadIdx = thread_index(b, i);
#if DD_EMU_ASAN
    __sanitizer_start_switch_fiber(&b->sched_fake, f.stack, f.stack_size);
#endif
#if DD_EMU_TSAN
    // The block's start is ordered before a thread's start; its other switches order nothing.
    __tsan_switch_to_fiber(f.tsan, f.started ? __tsan_switch_to_fiber_no_sync : 0);
#endif
    f.started = true;
#if defined(__x86_64__)
    dd_emu_switch(&b->sched_sp, f.sp);
#else
    swapcontext(&b->sched_ctx, &f.ctx);
#endif
#if DD_EMU_ASAN
    __sanitizer_finish_switch_fiber(b->sched_fake, nullptr, nullptr);
#endif
}

DD_EMU_RUNTIME static void start_fibre(Fiber& f) {
#if defined(__x86_64__)
    // The first switch pops six registers and "returns" into fibre_main with the stack aligned
    // as after a call (rsp + 8 a multiple of 16).
    uintptr_t top = ((uintptr_t)(f.stack + f.stack_size)) & ~(uintptr_t)15;
    void** sp = (void**)top;
    *--sp = nullptr;
    *--sp = (void*)&fibre_main;
    for (int r = 0; r < 6; ++r) *--sp = nullptr;
    f.sp = sp;
#else
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = f.stack_size;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, fibre_main, 0);
#endif
}

// ---- Barriers and warp exchanges (called from fibres) ------------------------------------------
DD_EMU_RUNTIME static inline void syncthreads(int line) {
    Block* b = tl_block;
    Fiber& f = b->fibers[b->current];
    f.state = AT_BARRIER;
    f.line = line;
#if DD_EMU_TSAN
    char* sync = &b->barrier_sync[b->barrier_gen & 1];
    __tsan_release(sync);
    to_scheduler(false);
    __tsan_acquire(sync);
#else
    to_scheduler(false);
#endif
}

// Every lane of `mask` meets here; returns the generation (slot row) this exchange used. Only
// __syncwarp (`ordered`) orders memory between the lanes, as in CUDA.
DD_EMU_RUNTIME static unsigned int warp_meet(int line, unsigned int mask, unsigned long long value,
                                             bool ordered = false) {
    Block* b = tl_block;
    int i = b->current;
    int lane = i % 32;
    if (!((mask >> lane) & 1u))
        fail_in_fibre("line %d: lane %d takes part in a warp exchange whose mask %#x omits it", line,
                      lane, mask);
    Warp& w = b->warps[i / 32];
    unsigned int gen = w.gen;
    w.slot[gen & 1][lane] = value;
    Fiber& f = b->fibers[i];
    f.state = AT_WARP;
    f.line = line;
    f.mask = mask;
#if DD_EMU_TSAN
    if (ordered) __tsan_release(&w.sync[gen & 1]);
    to_scheduler(false);
    if (ordered) __tsan_acquire(&w.sync[gen & 1]);
#else
    (void)ordered;
    to_scheduler(false);
#endif
    return gen;
}

static inline void syncwarp(int line, unsigned int mask = 0xffffffffu) {
    warp_meet(line, mask, 0, true);
}

template <typename T>
DD_EMU_RUNTIME static T shfl(int line, Shuffle kind, unsigned int mask, T v, int arg, int width = 32) {
    static_assert(sizeof(T) <= 8, "warp shuffles move at most 8 bytes");
    if (width < 1 || width > 32 || (width & (width - 1)))
        fail_in_fibre("line %d: shuffle width %d is not a power of two up to 32", line, width);
    unsigned long long bits = 0;
    memcpy(&bits, &v, sizeof(T));
    unsigned int gen = warp_meet(line, mask, bits);
    Block* b = tl_block;
    int i = b->current;
    int lane = i % 32;
    int base = lane - lane % width, off = lane % width, src = lane;
    switch (kind) {
        case IDX: src = base + ((arg % width) + width) % width; break;
        case UP: src = off >= arg ? lane - arg : lane; break;
        case DOWN: src = off + arg < width ? lane + arg : lane; break;
        case XOR: src = lane ^ arg; if (src >= base + width || src < 0) src = lane; break;
    }
    if (!((mask >> src) & 1u))
        fail_in_fibre("line %d: lane %d reads lane %d, which the mask %#x does not name", line,
                      lane, src, mask);
    T out;
    memcpy(&out, &b->warps[i / 32].slot[gen & 1][src], sizeof(T));
    return out;
}

// ---- The scheduler -----------------------------------------------------------------------------
static void block_error(Block* b, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void block_error(Block* b, const char* fmt, ...) {
    if (b->failed) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, b->errlen, fmt, ap);
    va_end(ap);
    b->failed = 1;
}

// Releases the warps whose named lanes have all arrived; false when none could be released.
DD_EMU_RUNTIME static bool release_warps(Block* b) {
    bool released = false;
    int nwarps = (b->threads + 31) / 32;
    for (int w = 0; w < nwarps && !b->failed; ++w) {
        int first = w * 32, last = first + 32 < b->threads ? first + 32 : b->threads;
        int waiting = -1;
        for (int i = first; i < last; ++i)
            if (b->fibers[i].state == AT_WARP) { waiting = i; break; }
        if (waiting < 0) continue;
        unsigned int mask = b->fibers[waiting].mask;
        bool ready = true;
        for (int lane = 0; lane < 32; ++lane) {
            int i = first + lane;
            if (!((mask >> lane) & 1u)) continue;
            char who[96];
            if (i >= b->threads) {
                describe_thread(b, waiting, who, sizeof who);
                block_error(b, "%s: warp exchange on line %d names lane %d (mask %#x), which this "
                               "block of %d threads does not have", who, b->fibers[waiting].line,
                            lane, mask, b->threads);
                return false;
            }
            const Fiber& f = b->fibers[i];
            if (f.state == EXITED) {
                describe_thread(b, waiting, who, sizeof who);
                block_error(b, "%s: warp exchange on line %d names lane %d (mask %#x), which has "
                               "exited", who, b->fibers[waiting].line, lane, mask);
                return false;
            }
            if (f.state == AT_WARP && f.mask != mask) {
                describe_thread(b, waiting, who, sizeof who);
                block_error(b, "%s: warp exchange on line %d with mask %#x meets lane %d's on line "
                               "%d with mask %#x", who, b->fibers[waiting].line, mask, lane, f.line,
                            f.mask);
                return false;
            }
            if (f.state != AT_WARP) ready = false;
        }
        if (!ready) continue;
        for (int lane = 0; lane < 32; ++lane)
            if ((mask >> lane) & 1u) b->fibers[first + lane].state = RUNNABLE;
        b->warps[w].gen += 1;
        released = true;
    }
    return released;
}

// The order of one pass over the threads: a rotation of 0..threads-1, ascending or descending,
// drawn from (block, pass) by SplitMix64. Reproducible, and different between blocks, so that
// over a grid both "writer first" and "reader first" happen for every pair of threads.
static unsigned long long pass_order(unsigned long long block, unsigned long long pass) {
    unsigned long long z = block * 0x9E3779B97F4A7C15ull + pass * 0xD1B54A32D192ED03ull + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

DD_EMU_RUNTIME static void run(Block* b) {
    unsigned long long pass = 0;
    unsigned long long block =
        b->idx.x + (unsigned long long)gridDim.x * (b->idx.y + (unsigned long long)gridDim.y * b->idx.z);
    for (;;) {
        bool ran = false;
        unsigned long long h = pass_order(block, ++pass);
        int start = (int)(h % (unsigned long long)b->threads);
        bool up = (h >> 40) & 1;
        for (int k = 0; k < b->threads && !b->failed; ++k) {
            int i = up ? (start + k) % b->threads : (start + b->threads - k) % b->threads;
            if (b->fibers[i].state == RUNNABLE) {
                resume(b, i);
                ran = true;
            }
        }
        if (b->failed) return;
        if (ran) continue;
        if (release_warps(b)) continue;
        if (b->failed) return;
        int live = -1, line = 0;
        bool all_at_barrier = true;
        for (int i = 0; i < b->threads; ++i) {
            const Fiber& f = b->fibers[i];
            if (f.state == EXITED) continue;
            if (f.state != AT_BARRIER) { all_at_barrier = false; live = i; break; }
            if (live < 0) { live = i; line = f.line; }
            if (f.line != line) {
                char a[96], c[96];
                describe_thread(b, live, a, sizeof a);
                describe_thread(b, i, c, sizeof c);
                block_error(b, "barrier divergence: %s waits at __syncthreads on line %d, %s at "
                               "the one on line %d", a, line, c, f.line);
                return;
            }
        }
        if (live < 0) return;  // every thread has finished
        if (all_at_barrier) {
            for (int i = 0; i < b->threads; ++i)
                if (b->fibers[i].state == AT_BARRIER) b->fibers[i].state = RUNNABLE;
            b->barrier_gen += 1;
            continue;
        }
        // Some lane waits at a warp exchange that cannot complete.
        int at_barrier = -1;
        for (int i = 0; i < b->threads; ++i)
            if (b->fibers[i].state == AT_BARRIER) { at_barrier = i; break; }
        char a[96], c[96];
        describe_thread(b, live, a, sizeof a);
        if (at_barrier >= 0) {
            describe_thread(b, at_barrier, c, sizeof c);
            block_error(b, "deadlock: %s waits at a warp exchange on line %d while %s waits at "
                           "__syncthreads on line %d", a, b->fibers[live].line, c,
                        b->fibers[at_barrier].line);
        } else {
            block_error(b, "deadlock: %s waits at a warp exchange on line %d that its warp never "
                           "completes", a, b->fibers[live].line);
        }
        return;
    }
}

// ---- Memory faults ------------------------------------------------------------------------------
// A kernel that reads or writes past a device buffer hits its guard page. The handler names the
// kernel, the thread and the block, then hands the signal on (to AddressSanitizer's report, or
// the default action): the process cannot go on, since the kernel may have written anywhere.
static struct sigaction previous_segv, previous_bus;

static void on_fault(int sig, siginfo_t* info, void* context) {
    Block* b = tl_block;
    if (b) {
        const char* kernel = "?";
        Dl_info dl;
        if (dladdr((void*)b->thunk, &dl) && dl.dli_sname) {
            kernel = dl.dli_sname;
            if (strncmp(kernel, "dd_emu_thunk_", 13) == 0) kernel += 13;
        }
        uint3 t = thread_index(b, b->current);
        char line[512];
        int n = snprintf(line, sizeof line,
                         "doubledescent, emulated CUDA device: %s at %p in kernel %s, thread "
                         "(%u,%u,%u) of block (%u,%u,%u): an access outside the device buffers "
                         "(each ends at a guard page) or a stack overflow\n",
                         sig == SIGSEGV ? "segmentation fault" : "bus error", info->si_addr, kernel,
                         t.x, t.y, t.z, b->idx.x, b->idx.y, b->idx.z);
        if (n > 0) (void)!write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    struct sigaction* prev = sig == SIGSEGV ? &previous_segv : &previous_bus;
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
        prev->sa_sigaction(sig, info, context);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else {
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

// Once per library: the handler; once per OS thread: an alternate signal stack, so that a fault
// on a fibre's stack (or an overflow of it) can still be reported.
static void install_fault_handler() {
    static int installed = 0;
    if (!__atomic_exchange_n(&installed, 1, __ATOMIC_ACQ_REL)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &previous_segv);
        sigaction(SIGBUS, &sa, &previous_bus);
    }
    static thread_local bool alt = false;
    if (!alt) {
        alt = true;
        stack_t old;
        if (sigaltstack(nullptr, &old) == 0 && (old.ss_flags & SS_DISABLE)) {
            size_t size = 1 << 16;
            void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                           0);
            if (m != MAP_FAILED) {
                stack_t ss;
                ss.ss_sp = m;
                ss.ss_size = size;
                ss.ss_flags = 0;
                sigaltstack(&ss, nullptr);
            }
        }
    }
}

}  // namespace dd_emu

// Defined after the kernel source: the block's dynamic shared memory (nullptr when the source
// declares none).
static unsigned char* dd_emu_dynamic_shared();

// Orders the host's work before a launch's blocks (after = 0, on the launching thread before the
// blocks run) and the blocks before the host's next step (after = 1), for ThreadSanitizer.
static char dd_emu_launch_sync;
extern "C" DD_EMU_RUNTIME void dd_emu_host_sync(int after) {
#if DD_EMU_TSAN
    if (after) __tsan_acquire(&dd_emu_launch_sync);
    else __tsan_release(&dd_emu_launch_sync);
#else
    (void)after;
#endif
}

// Runs block (bx, by, bz) of a launch to completion on this OS thread. Returns 0, or 1 with a
// one-line message in err.
extern "C" DD_EMU_RUNTIME int dd_emu_run_block(void (*thunk)(void**), void** args, const unsigned int* grid,
                                const unsigned int* block, unsigned int bx, unsigned int by,
                                unsigned int bz, size_t dynamic_shared, char* err, size_t errlen) {
    using namespace dd_emu;
    int threads = (int)(block[0] * block[1] * block[2]);
    if (threads < 1 || threads > 1024) {
        snprintf(err, errlen, "a block of %d threads (the emulator runs 1 to 1024)", threads);
        return 1;
    }
    if (dynamic_shared > DD_EMU_SHARED_CAP) {
        snprintf(err, errlen, "%zu bytes of dynamic shared memory exceed the emulator's %d",
                 dynamic_shared, DD_EMU_SHARED_CAP);
        return 1;
    }
    install_fault_handler();
    Block b = {};
    b.fibers = tl_fibers;
    b.threads = threads;
    b.warps = tl_warps;
    b.thunk = thunk;
    b.args = args;
    b.idx = {bx, by, bz};
    b.dim = {block[0], block[1], block[2]};
    b.err = err;
    b.errlen = errlen;
    for (int w = 0; w < 32; ++w) tl_warps[w].gen = 0;
    for (int i = 0; i < threads; ++i) {
        Fiber& f = tl_fibers[i];
        f = Fiber{};
        f.stack = stack_for(i);
        if (!f.stack) {
            snprintf(err, errlen, "cannot map a stack for fibre %d", i);
            return 1;
        }
        f.stack_size = stack_bytes;
        f.state = RUNNABLE;
#if DD_EMU_TSAN
        // TSan's fibre contexts are kept with the stacks, one per thread slot of this OS thread.
        if (!tl_tsan_fibres[i]) tl_tsan_fibres[i] = __tsan_create_fiber(0);
        f.tsan = tl_tsan_fibres[i];
#endif
        start_fibre(f);
    }
#if DD_EMU_TSAN
    // Blocks are ordered one after another, and after the host's copies (the Rust side's
    // synchronisation is not instrumented).
    __tsan_acquire(&dd_emu_launch_sync);
    b.sched_tsan = __tsan_get_current_fiber();
#endif
    unsigned char* smem = dd_emu_dynamic_shared();
    if (smem) {
        memset(smem, 0xFF, DD_EMU_SHARED_CAP);
#if DD_EMU_ASAN
        ASAN_POISON_MEMORY_REGION(smem + dynamic_shared, DD_EMU_SHARED_CAP - dynamic_shared);
#endif
    }
    blockIdx = {bx, by, bz};
    blockDim = b.dim;
    gridDim = {grid[0], grid[1], grid[2]};
    Block* outer = tl_block;
    tl_block = &b;
    run(&b);
    tl_block = outer;
#if DD_EMU_TSAN
    __tsan_release(&dd_emu_launch_sync);
#endif
    if (smem) {
#if DD_EMU_ASAN
        ASAN_UNPOISON_MEMORY_REGION(smem + dynamic_shared, DD_EMU_SHARED_CAP - dynamic_shared);
#endif
        for (size_t k = dynamic_shared; k < DD_EMU_SHARED_CAP && !b.failed; ++k)
            if (smem[k] != 0xFF) {
                snprintf(err, errlen,
                         "block (%u,%u,%u) wrote byte %zu of dynamic shared memory, past the %zu "
                         "bytes the launch asked for", bx, by, bz, k, dynamic_shared);
                return 1;
            }
    }
    return b.failed ? 1 : 0;
}
