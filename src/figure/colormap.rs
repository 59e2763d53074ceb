//! Colour maps for heat maps.

use super::Rgb;

/// A sequential colour map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colormap {
    /// Dark blue → purple → orange → yellow, close to matplotlib's "plasma" and to the
    /// 256-entry map of the original `lib/colormap.txt` (first row 5 0 83).
    Plasma,
    /// Dark purple → blue → green → yellow, close to matplotlib's "viridis".
    Viridis,
    /// Pale yellow → orange → brown: ColorBrewer's "YlOrBr" (nine classes), the phase diagram's
    /// map in the original.
    YlOrBr,
}

const YLORBR: [(f64, [f64; 3]); 9] = [
    (0.0, [255.0, 255.0, 229.0]),
    (0.125, [255.0, 247.0, 188.0]),
    (0.25, [254.0, 227.0, 145.0]),
    (0.375, [254.0, 196.0, 79.0]),
    (0.5, [254.0, 153.0, 41.0]),
    (0.625, [236.0, 112.0, 20.0]),
    (0.75, [204.0, 76.0, 2.0]),
    (0.875, [153.0, 52.0, 4.0]),
    (1.0, [102.0, 37.0, 6.0]),
];

const PLASMA: [(f64, [f64; 3]); 7] = [
    (0.0, [5.0, 0.0, 83.0]),
    (0.15, [72.0, 3.0, 160.0]),
    (0.35, [146.0, 20.0, 160.0]),
    (0.55, [204.0, 72.0, 114.0]),
    (0.75, [240.0, 130.0, 72.0]),
    (0.9, [252.0, 192.0, 38.0]),
    (1.0, [240.0, 249.0, 33.0]),
];

const VIRIDIS: [(f64, [f64; 3]); 6] = [
    (0.0, [68.0, 1.0, 84.0]),
    (0.2, [65.0, 68.0, 135.0]),
    (0.4, [42.0, 120.0, 142.0]),
    (0.6, [34.0, 168.0, 132.0]),
    (0.8, [122.0, 209.0, 81.0]),
    (1.0, [253.0, 231.0, 37.0]),
];

impl Colormap {
    /// Colour at `u` ∈ [0, 1] (clamped; NaN maps to mid-grey).
    pub fn at(self, u: f64) -> Rgb {
        if u.is_nan() {
            return Rgb(128, 128, 128);
        }
        let u = u.clamp(0.0, 1.0);
        let stops: &[(f64, [f64; 3])] = match self {
            Colormap::Plasma => &PLASMA,
            Colormap::Viridis => &VIRIDIS,
            Colormap::YlOrBr => &YLORBR,
        };
        let k = stops
            .windows(2)
            .position(|w| u <= w[1].0)
            .unwrap_or(stops.len() - 2);
        let (u0, c0) = stops[k];
        let (u1, c1) = stops[k + 1];
        let f = if u1 > u0 { (u - u0) / (u1 - u0) } else { 0.0 };
        let mix = |i: usize| (c0[i] + f * (c1[i] - c0[i])).round() as u8;
        Rgb(mix(0), mix(1), mix(2))
    }

    /// Colour of `value` on the scale [`vmin`, `vmax`].
    pub fn map(self, value: f64, vmin: f64, vmax: f64) -> Rgb {
        let span = vmax - vmin;
        let u = if span > 0.0 {
            (value - vmin) / span
        } else {
            0.5
        };
        self.at(u)
    }
}
