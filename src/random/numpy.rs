//! NumPy's legacy global generator (`np.random.seed`, `np.random.rand`, `np.random.randn`):
//! MT19937 (Matsumoto & Nishimura 1998) with NumPy's 53-bit doubles, its polar Box–Muller
//! Gaussians and its masked-rejection integers (`permutation`, hence scikit-learn's
//! `train_test_split(random_state=k)`). The legacy streams are frozen across NumPy versions, so the tutorial notebooks'
//! data and random features can be regenerated bit for bit and their printed numbers checked.
//!
//! ```
//! use doubledescent::random::numpy::RandomState;
//!
//! let mut rs = RandomState::new(2134);
//! let x = rs.randn(10);                     // np.random.seed(2134); np.random.randn(1, 10)
//! assert!((x[0] - (-0.512381)).abs() < 1e-6);
//! ```

const N: usize = 624;
const M: usize = 397;

/// The state of `numpy.random.RandomState` seeded with a 32-bit integer.
#[derive(Clone, Debug)]
pub struct RandomState {
    mt: [u32; N],
    pos: usize,
    gauss: Option<f64>,
}

impl RandomState {
    /// `np.random.seed(seed)`: Knuth's initialisation of MT19937 (`init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        RandomState {
            mt,
            pos: N,
            gauss: None,
        }
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % N] & 0x7fff_ffff);
            let mut v = self.mt[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            self.mt[i] = v;
        }
        self.pos = 0;
    }

    /// The next tempered 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.twist();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A double in [0, 1) with 53 random bits (`np.random.random_sample`).
    pub fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// A standard normal (`legacy_gauss`: the polar method, the second value of each pair cached).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `np.random.randn(len)` (any shape with `len` entries, in C order).
    pub fn randn(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.standard_normal()).collect()
    }

    /// `np.random.rand(len)` / `np.random.uniform(size=len)`.
    pub fn rand(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.random_sample()).collect()
    }

    /// `np.random.uniform(low, high, size=len)`: low + (high − low)·u.
    pub fn uniform(&mut self, low: f64, high: f64, len: usize) -> Vec<f64> {
        (0..len)
            .map(|_| low + (high - low) * self.random_sample())
            .collect()
    }

    /// A uniform integer in 0..=max by masked rejection (NumPy's legacy `random_interval`, the
    /// generator behind `shuffle` and `permutation`).
    pub fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        if max <= u64::from(u32::MAX) {
            loop {
                let v = u64::from(self.next_u32()) & mask;
                if v <= max {
                    return v;
                }
            }
        }
        loop {
            let hi = u64::from(self.next_u32());
            let v = ((hi << 32) | u64::from(self.next_u32())) & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `np.random.permutation(n)`: Fisher–Yates from the end, as NumPy's `shuffle` does.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.interval(i as u64) as usize;
            p.swap(i, j);
        }
        p
    }
}
