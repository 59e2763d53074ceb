//! Figure output shared by the examples: line plots (log axes, dashed lines, error bars, y = x
//! reference), heat maps with a colour bar and overlaid trajectories, multi-panel layouts.
//!
//! Every figure is written as PNG and SVG side by side; [`write_csv`] writes the plotted numbers
//! and [`Table`] prints the summary an example shows on stdout. Text uses the embedded DejaVu
//! Sans font, so no system font library is needed.

mod colormap;
mod draw;
mod output;

pub use colormap::Colormap;
pub use output::{
    FigureArgs, Table, check_flag_memory, fmt_opt, output_dir, progress_bar, run_example,
    write_csv, write_labeled_csv,
};

use std::path::{Path, PathBuf};

use crate::error::Result;

/// An RGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// A colour from its 24-bit `0xRRGGBB` value.
    pub const fn hex(v: u32) -> Self {
        Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
    }
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Solid line.
    Line,
    /// Dashed line.
    Dashed,
    /// Markers only (scatter).
    Points,
    /// Dashed line with markers.
    DashedPoints,
    /// The polygon through the points, filled translucently (shaded bands and regions; points
    /// outside the axes are clamped to them).
    Filled,
}

/// One data series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label (no legend entry when `None`).
    pub label: Option<String>,
    /// x values.
    pub x: Vec<f64>,
    /// y values.
    pub y: Vec<f64>,
    /// Colour.
    pub color: Rgb,
    /// Drawing style.
    pub style: Style,
    /// Symmetric error bars (half-widths), drawn at every point that has one.
    pub yerr: Option<Vec<Option<f64>>>,
    /// Line width in pixels.
    pub width: u32,
}

impl Series {
    /// A solid line.
    pub fn line(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>, color: Rgb) -> Self {
        Series {
            label: Some(label.into()),
            x,
            y,
            color,
            style: Style::Line,
            yerr: None,
            width: 2,
        }
    }

    /// Changes the drawing style.
    pub fn styled(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Removes the legend entry.
    pub fn unlabeled(mut self) -> Self {
        self.label = None;
        self
    }

    /// Adds error bars (half-widths; `None` skips a point).
    pub fn with_yerr(mut self, yerr: Vec<Option<f64>>) -> Self {
        self.yerr = Some(yerr);
        self
    }
}

/// An axis: label, scale and range.
#[derive(Clone, Debug)]
pub struct Axis {
    /// Axis label.
    pub label: String,
    /// Logarithmic (base 10) scale.
    pub log: bool,
    /// Fixed range in data units; fitted to the data when `None`.
    pub range: Option<(f64, f64)>,
    /// Custom tick label for a value in data units (linear axes only).
    pub format: Option<fn(f64) -> String>,
}

impl Axis {
    /// A linear axis.
    pub fn linear(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            log: false,
            range: None,
            format: None,
        }
    }

    /// A log₁₀ axis.
    pub fn log(label: impl Into<String>) -> Self {
        Axis {
            log: true,
            ..Axis::linear(label)
        }
    }

    /// Fixes the range.
    pub fn range(mut self, lo: f64, hi: f64) -> Self {
        self.range = Some((lo, hi));
        self
    }

    /// Custom tick labels.
    pub fn format(mut self, f: fn(f64) -> String) -> Self {
        self.format = Some(f);
        self
    }
}

/// Where the legend goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Legend {
    /// Upper right corner.
    UpperRight,
    /// Lower right corner.
    LowerRight,
    /// Upper left corner.
    UpperLeft,
    /// Lower left corner.
    LowerLeft,
    /// No legend.
    Hidden,
}

/// A panel with line / scatter series.
#[derive(Clone, Debug)]
pub struct LinePanel {
    /// Panel title.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// The series.
    pub series: Vec<Series>,
    /// Draw the y = x reference line.
    pub identity_line: bool,
    /// Legend position.
    pub legend: Legend,
    /// Text annotations.
    pub notes: Vec<Note>,
}

/// A text annotation at a point in data coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    /// x (data units).
    pub x: f64,
    /// y (data units).
    pub y: f64,
    /// The text.
    pub text: String,
    /// Written bottom-to-top instead of left-to-right.
    pub vertical: bool,
}

impl Note {
    /// A horizontal note.
    pub fn new(x: f64, y: f64, text: impl Into<String>) -> Self {
        Note {
            x,
            y,
            text: text.into(),
            vertical: false,
        }
    }

    /// Turns the text to run bottom-to-top.
    pub fn vertical(mut self) -> Self {
        self.vertical = true;
        self
    }
}

impl LinePanel {
    /// An empty panel.
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Self {
        LinePanel {
            title: title.into(),
            x,
            y,
            series: vec![],
            identity_line: false,
            legend: Legend::UpperRight,
            notes: vec![],
        }
    }

    /// Adds a text annotation.
    pub fn note(mut self, n: Note) -> Self {
        self.notes.push(n);
        self
    }

    /// Adds a series.
    pub fn with(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    /// Sets the legend position.
    pub fn legend(mut self, l: Legend) -> Self {
        self.legend = l;
        self
    }

    /// Adds the y = x reference line (scatter of estimate vs truth).
    pub fn with_identity_line(mut self) -> Self {
        self.identity_line = true;
        self
    }
}

/// A heat map on a rectilinear grid of cell centres, with a colour bar and optional overlays.
#[derive(Clone, Debug)]
pub struct Heatmap {
    /// Panel title.
    pub title: String,
    /// Horizontal axis (cell centres `xs`).
    pub x: Axis,
    /// Vertical axis (cell centres `ys`).
    pub y: Axis,
    /// Cell centres along x (increasing).
    pub xs: Vec<f64>,
    /// Cell centres along y (increasing).
    pub ys: Vec<f64>,
    /// Values, `values[iy][ix]`; a non-finite value leaves its cell blank (no data).
    pub values: Vec<Vec<f64>>,
    /// Value mapped to the bottom of the colour map (values below are clipped).
    pub vmin: f64,
    /// Value mapped to the top of the colour map.
    pub vmax: f64,
    /// The colour map.
    pub colormap: Colormap,
    /// Colour-bar label.
    pub colorbar_label: String,
    /// Series drawn on top (trajectories).
    pub overlays: Vec<Series>,
    /// Legend position for the overlays.
    pub legend: Legend,
    /// Text annotations.
    pub notes: Vec<Note>,
}

/// One panel of a figure.
#[derive(Clone, Debug)]
pub enum Panel {
    /// Lines and markers.
    Line(LinePanel),
    /// Heat map.
    Heatmap(Heatmap),
}

/// A figure: panels on a grid, filled row by row.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Optional overall title.
    pub title: Option<String>,
    /// The panels.
    pub panels: Vec<Panel>,
    /// Number of columns of the grid.
    pub cols: usize,
    /// Size of one panel in pixels.
    pub panel_size: (u32, u32),
}

impl Figure {
    /// A figure with panels on `cols` columns.
    pub fn new(cols: usize) -> Self {
        Figure {
            title: None,
            panels: vec![],
            cols: cols.max(1),
            panel_size: (640, 480),
        }
    }

    /// Adds a panel.
    pub fn with(mut self, p: Panel) -> Self {
        self.panels.push(p);
        self
    }

    /// Sets the overall title.
    pub fn titled(mut self, t: impl Into<String>) -> Self {
        self.title = Some(t.into());
        self
    }

    /// Sets the size of one panel.
    pub fn panel_size(mut self, w: u32, h: u32) -> Self {
        self.panel_size = (w, h);
        self
    }

    /// Writes `<dir>/<stem>.png` and `<dir>/<stem>.svg`; returns both paths.
    pub fn save(&self, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
        draw::save(self, dir, stem)
    }
}
