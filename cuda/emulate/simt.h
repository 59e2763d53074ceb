// The emulated CUDA device: just enough of CUDA's execution model, in C++, to compile the crate's
// cuda/*.cu sources for the CPU and run them there, unchanged (src/backend/cuda/emulate.rs
// compiles each source with this header in front and loads the result).
//
// Execution model.
//   * Blocks run one after another on the calling OS thread (the Rust side spreads the blocks of a
//     launch over its worker threads); the threads of a block are fibres, each with its own stack,
//     switched cooperatively: a thread runs until it reaches __syncthreads, a warp shuffle or its
//     end. The scheduler's passes over the runnable threads go in ascending and descending order
//     by turns, so a missing __syncthreads lets a thread see shared memory that its neighbours
//     have (or have not yet) written, in both directions.
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
//   * The math API maps to the C library's functions (they round differently from CUDA's).
//
// Compiled with -fsanitize=undefined (array bounds, overflow, misaligned access) always, and with
// -fsanitize=address when the process runs under AddressSanitizer.

#pragma once

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define DD_EMU_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#else
#define DD_EMU_ASAN 0
#endif

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
};

struct Warp {
    unsigned int gen;
    unsigned long long slot[2][32];
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

static void to_scheduler(bool dying);

// Records the first error of the block; the fibre that calls it stops here.
__attribute__((format(printf, 1, 2))) static void fail_in_fibre(const char* fmt, ...) {
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

static void fibre_main() {
    Block* b = tl_block;
#if DD_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &b->sched_bottom, &b->sched_size);
#endif
    b->thunk(b->args);
    b->fibers[b->current].state = EXITED;
    to_scheduler(true);
    __builtin_unreachable();
}

static void to_scheduler(bool dying) {
    Block* b = tl_block;
    Fiber& f = b->fibers[b->current];
#if DD_EMU_ASAN
    __sanitizer_start_switch_fiber(dying ? nullptr : &f.fake_stack, b->sched_bottom, b->sched_size);
#else
    (void)dying;
#endif
#if defined(__x86_64__)
    dd_emu_switch(&f.sp, b->sched_sp);
#else
    swapcontext(&f.ctx, &b->sched_ctx);
#endif
#if DD_EMU_ASAN
    __sanitizer_finish_switch_fiber(f.fake_stack, &b->sched_bottom, &b->sched_size);
#endif
}

static void resume(Block* b, int i) {
    b->current = i;
    Fiber& f = b->fibers[i];
    threadIdx = thread_index(b, i);
#if DD_EMU_ASAN
    __sanitizer_start_switch_fiber(&b->sched_fake, f.stack, f.stack_size);
#endif
#if defined(__x86_64__)
    dd_emu_switch(&b->sched_sp, f.sp);
#else
    swapcontext(&b->sched_ctx, &f.ctx);
#endif
#if DD_EMU_ASAN
    __sanitizer_finish_switch_fiber(b->sched_fake, nullptr, nullptr);
#endif
}

static void start_fibre(Fiber& f) {
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
static inline void syncthreads(int line) {
    Block* b = tl_block;
    Fiber& f = b->fibers[b->current];
    f.state = AT_BARRIER;
    f.line = line;
    to_scheduler(false);
}

// Every lane of `mask` meets here; returns the generation (slot row) this exchange used.
static unsigned int warp_meet(int line, unsigned int mask, unsigned long long value) {
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
    to_scheduler(false);
    return gen;
}

static inline void syncwarp(int line, unsigned int mask = 0xffffffffu) { warp_meet(line, mask, 0); }

template <typename T>
static T shfl(int line, Shuffle kind, unsigned int mask, T v, int arg, int width = 32) {
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
static bool release_warps(Block* b) {
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

static void run(Block* b) {
    unsigned int pass = 0;
    for (;;) {
        bool ran = false;
        ++pass;
        for (int k = 0; k < b->threads && !b->failed; ++k) {
            int i = (pass & 1) ? k : b->threads - 1 - k;
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

}  // namespace dd_emu

// Defined after the kernel source: the block's dynamic shared memory (nullptr when the source
// declares none).
static unsigned char* dd_emu_dynamic_shared();

// Runs block (bx, by, bz) of a launch to completion on this OS thread. Returns 0, or 1 with a
// one-line message in err.
extern "C" int dd_emu_run_block(void (*thunk)(void**), void** args, const unsigned int* grid,
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
        start_fibre(f);
    }
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
