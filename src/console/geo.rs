//! The map's geography, pure: the embedded coastlines and borders
//! (`assets/map/world.vgm`), a viewport that fits, zooms and pans, and a
//! braille raster that lines are drawn into. Drawing it on screen is
//! `views::map`'s job.

use std::sync::OnceLock;

/// Which set a polyline belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Coastlines and country borders.
    World,
    /// Borders between US states.
    States,
}

/// One polyline of the atlas: its points are `points[start..start + len]`.
#[derive(Debug, Clone, Copy)]
struct Polyline {
    layer: Layer,
    start: u32,
    len: u16,
    /// min lon, min lat, max lon, max lat, in degrees.
    bbox: [f32; 4],
}

/// Coastlines and borders, as polylines of (lon, lat) in degrees, with
/// coarser copies for wide views (a point closer than a dot to the last is
/// work for nothing).
#[derive(Debug, Default)]
pub struct Atlas {
    lines: Vec<Polyline>,
    points: Vec<(f32, f32)>,
    /// (tolerance in degrees, the atlas thinned to it), finest first.
    coarse: Vec<(f64, Atlas)>,
}

/// Tolerances of the coarser copies, in degrees.
const LEVELS: [f64; 3] = [0.1, 0.4, 1.5];

const MAGIC: &[u8; 8] = b"VGMAP1\0\0";

impl Atlas {
    /// Reads the compact format `scripts/map/convert.mjs` writes.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(8)? != MAGIC {
            return Err("not a vigie map file (bad magic)".into());
        }
        let count = u32::from_le_bytes(r.array()?);
        let mut atlas = Atlas::default();
        for i in 0..count {
            let layer = match r.take(1)?[0] {
                0 => Layer::World,
                1 => Layer::States,
                other => return Err(format!("polyline {i}: unknown layer {other}")),
            };
            let len = u16::from_le_bytes(r.array()?);
            let start = u32::try_from(atlas.points.len()).map_err(|_| "too many points")?;
            let mut bbox = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
            for _ in 0..len {
                let lon = f32::from(i16::from_le_bytes(r.array()?)) / 100.0;
                let lat = f32::from(i16::from_le_bytes(r.array()?)) / 100.0;
                if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                    return Err(format!("polyline {i}: point ({lon}, {lat}) off the globe"));
                }
                bbox = [
                    bbox[0].min(lon),
                    bbox[1].min(lat),
                    bbox[2].max(lon),
                    bbox[3].max(lat),
                ];
                atlas.points.push((lon, lat));
            }
            atlas.lines.push(Polyline {
                layer,
                start,
                len,
                bbox,
            });
        }
        if r.at != bytes.len() {
            return Err(format!(
                "{} bytes left after the last polyline",
                bytes.len() - r.at
            ));
        }
        atlas.coarse = LEVELS.iter().map(|&t| (t, atlas.thinned(t))).collect();
        Ok(atlas)
    }

    /// A copy without the points closer than `tol` degrees to the last
    /// one kept (each polyline keeps its ends).
    fn thinned(&self, tol: f64) -> Atlas {
        let mut out = Atlas::default();
        let tol = tol as f32;
        for l in &self.lines {
            let from = l.start as usize;
            let pts = &self.points[from..from + usize::from(l.len)];
            let start = u32::try_from(out.points.len()).unwrap_or(u32::MAX);
            let mut last = pts[0];
            out.points.push(last);
            for (i, &p) in pts.iter().enumerate().skip(1) {
                if (p.0 - last.0).abs() >= tol || (p.1 - last.1).abs() >= tol || i + 1 == pts.len()
                {
                    out.points.push(p);
                    last = p;
                }
            }
            let len = u16::try_from(out.points.len() - start as usize).unwrap_or(u16::MAX);
            out.lines.push(Polyline { start, len, ..*l });
        }
        out
    }

    /// The copy to draw at `view`: the coarsest whose tolerance is under
    /// one dot.
    fn level(&self, view: &Viewport) -> &Atlas {
        let per_dot = view.span / f64::from(view.dots.0.max(1));
        self.coarse
            .iter()
            .rev()
            .find(|(tol, _)| *tol <= per_dot)
            .map_or(self, |(_, a)| a)
    }

    /// The atlas built into the binary, read once.
    pub fn embedded() -> Result<&'static Atlas, &'static str> {
        static ATLAS: OnceLock<Result<Atlas, String>> = OnceLock::new();
        ATLAS
            .get_or_init(|| Atlas::parse(include_bytes!("../../assets/map/world.vgm")))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Polylines that may cross `view`, with their layer, at the detail
    /// the view can show.
    pub fn visible<'a>(
        &'a self,
        view: &'a Viewport,
    ) -> impl Iterator<Item = (Layer, &'a [(f32, f32)])> + 'a {
        let [w, s, e, n] = view.bounds();
        let at = self.level(view);
        at.lines
            .iter()
            .filter(move |l| {
                f64::from(l.bbox[2]) >= w
                    && f64::from(l.bbox[0]) <= e
                    && f64::from(l.bbox[3]) >= s
                    && f64::from(l.bbox[1]) <= n
            })
            .map(move |l| {
                let from = l.start as usize;
                (l.layer, &at.points[from..from + usize::from(l.len)])
            })
    }

    pub fn polylines(&self) -> usize {
        self.lines.len()
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at + n;
        let s = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| format!("truncated at byte {}", self.at))?;
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.take(N)?;
        let mut a = [0; N];
        a.copy_from_slice(s);
        Ok(a)
    }
}

/// The smallest and largest horizontal spans, in degrees of longitude.
pub const MIN_SPAN: f64 = 0.05;
pub const MAX_SPAN: f64 = 360.0;

/// What part of the globe is on screen, on a raster of `dots` (braille
/// dots: two per cell across, four down). An equirectangular projection
/// scaled by the cosine of the centre's latitude, so that shapes near the
/// centre keep their proportions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub lon: f64,
    pub lat: f64,
    /// Degrees of longitude across the raster.
    pub span: f64,
    pub dots: (u16, u16),
}

impl Viewport {
    /// The whole world.
    pub fn world(dots: (u16, u16)) -> Self {
        Self {
            lon: 0.0,
            lat: 20.0,
            span: MAX_SPAN,
            dots,
        }
    }

    /// The smallest view holding every point, with a margin; the world
    /// when there are none.
    pub fn fit(points: impl IntoIterator<Item = (f64, f64)>, dots: (u16, u16)) -> Self {
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        let mut any = false;
        for (lon, lat) in points {
            any = true;
            b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
        }
        if !any {
            return Self::world(dots);
        }
        let lat = f64::midpoint(b[1], b[3]);
        let mut v = Self {
            lon: f64::midpoint(b[0], b[2]),
            lat,
            span: MAX_SPAN,
            dots,
        };
        // The span that holds the points across, and the one that holds
        // them down, whichever is larger, plus a fifth.
        let across = b[2] - b[0];
        let down =
            (b[3] - b[1]) * f64::from(dots.0.max(1)) / f64::from(dots.1.max(1)) / v.cos_lat();
        v.span = (across.max(down) * 1.25).clamp(MIN_SPAN * 4.0, MAX_SPAN);
        v
    }

    fn cos_lat(&self) -> f64 {
        self.lat.to_radians().cos().max(0.2)
    }

    /// Dots per degree of longitude.
    fn scale(&self) -> f64 {
        f64::from(self.dots.0.max(1)) / self.span
    }

    /// Raster position of a point (may lie outside the raster).
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        let k = self.scale();
        let x = (lon - self.lon) * k + f64::from(self.dots.0) / 2.0;
        let y = (self.lat - lat) * k / self.cos_lat() + f64::from(self.dots.1) / 2.0;
        (x, y)
    }

    /// West, south, east and north edges, in degrees.
    pub fn bounds(&self) -> [f64; 4] {
        let half_w = self.span / 2.0;
        let half_h = f64::from(self.dots.1) / self.scale() * self.cos_lat() / 2.0;
        [
            self.lon - half_w,
            self.lat - half_h,
            self.lon + half_w,
            self.lat + half_h,
        ]
    }

    /// Zooms in (`factor` < 1) or out around the centre.
    pub fn zoom(&mut self, factor: f64) {
        self.span = (self.span * factor).clamp(MIN_SPAN, MAX_SPAN);
    }

    /// Moves the centre by fractions of the view's width and height.
    pub fn pan(&mut self, right: f64, up: f64) {
        let [w, s, e, n] = self.bounds();
        self.lon = (self.lon + right * (e - w)).clamp(-180.0, 180.0);
        self.lat = (self.lat + up * (n - s)).clamp(-85.0, 85.0);
    }
}

/// A braille raster of `cols` × `rows` cells: each cell holds eight dots
/// and the colour class of the strongest thing drawn in it.
#[derive(Debug)]
pub struct Braille {
    pub cols: u16,
    pub rows: u16,
    pub dots: Vec<u8>,
    /// Per cell: 0 nothing, else the highest `ink` drawn there.
    pub ink: Vec<u8>,
}

/// Braille dot bits by (x % 2, y % 4).
const BITS: [[u8; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];

impl Braille {
    pub fn new(cols: u16, rows: u16) -> Self {
        let n = usize::from(cols) * usize::from(rows);
        Self {
            cols,
            rows,
            dots: vec![0; n],
            ink: vec![0; n],
        }
    }

    /// Dots across and down.
    pub fn size(&self) -> (u16, u16) {
        (self.cols.saturating_mul(2), self.rows.saturating_mul(4))
    }

    fn set(&mut self, x: i64, y: i64, ink: u8) {
        let (w, h) = self.size();
        if x < 0 || y < 0 || x >= i64::from(w) || y >= i64::from(h) {
            return;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let (x, y) = (x as usize, y as usize);
        let i = (y / 4) * usize::from(self.cols) + x / 2;
        self.dots[i] |= BITS[x % 2][y % 4];
        self.ink[i] = self.ink[i].max(ink);
    }

    /// A line between two raster points, clipped to the raster.
    pub fn line(&mut self, a: (f64, f64), b: (f64, f64), ink: u8) {
        let (w, h) = self.size();
        let Some((a, b)) = clip(a, b, f64::from(w) - 0.5, f64::from(h) - 0.5) else {
            return;
        };
        #[allow(clippy::cast_possible_truncation)]
        let (mut x0, mut y0, x1, y1) = (
            a.0.round() as i64,
            a.1.round() as i64,
            b.0.round() as i64,
            b.1.round() as i64,
        );
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            self.set(x0, y0, ink);
            if x0 == x1 && y0 == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x0 += sx;
            }
            if e2 <= dx {
                err += dx;
                y0 += sy;
            }
        }
    }

    /// The braille character of a cell.
    pub fn glyph(&self, col: u16, row: u16) -> Option<(char, u8)> {
        let i = usize::from(row) * usize::from(self.cols) + usize::from(col);
        let d = *self.dots.get(i)?;
        if d == 0 {
            return None;
        }
        char::from_u32(0x2800 + u32::from(d)).map(|c| (c, self.ink[i]))
    }
}

/// Liang–Barsky: the part of segment a→b inside [0, w] × [0, h].
fn clip(a: (f64, f64), b: (f64, f64), w: f64, h: f64) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [(-dx, a.0), (dx, w - a.0), (-dy, a.1), (dy, h - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    Some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_atlas_reads_and_holds_the_world() {
        let a = Atlas::embedded().unwrap_or_else(|e| panic!("{e}"));
        assert!(a.polylines() > 1_000);
        // Between Denver and Cheyenne: the Colorado–Wyoming border.
        let v = Viewport::fit([(-104.99, 39.74), (-104.82, 41.14)], (200, 120));
        assert!(a.visible(&v).any(|(l, _)| l == Layer::States));
    }

    #[test]
    fn wide_views_draw_fewer_points() {
        let a = Atlas::embedded().unwrap_or_else(|e| panic!("{e}"));
        let points = |v: &Viewport| a.visible(v).map(|(_, p)| p.len()).sum::<usize>();
        let world = Viewport::world((240, 160));
        let mut close = Viewport::fit([(8.0, 47.0), (9.0, 48.0)], (240, 160));
        close.span = 20.0;
        assert!(points(&world) * 5 < a.points.len(), "{}", points(&world));
        assert!(points(&close) > 0);
        // Each level keeps every polyline, ends included.
        for (_, c) in &a.coarse {
            assert_eq!(c.lines.len(), a.lines.len());
            assert!(c.lines.iter().all(|l| l.len >= 2));
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_that_says_where() {
        assert!(Atlas::parse(b"nope").unwrap_err().contains("truncated"));
        assert!(
            Atlas::parse(b"VGMAP9\0\0\0\0\0\0")
                .unwrap_err()
                .contains("magic")
        );
        let mut ok = b"VGMAP1\0\0".to_vec();
        ok.extend(1u32.to_le_bytes());
        ok.extend([7, 1, 0, 0, 0, 0, 0]);
        assert!(Atlas::parse(&ok).unwrap_err().contains("unknown layer 7"));
        let mut off = b"VGMAP1\0\0".to_vec();
        off.extend(1u32.to_le_bytes());
        off.push(0);
        off.extend(1u16.to_le_bytes());
        off.extend(20_000i16.to_le_bytes());
        off.extend(0i16.to_le_bytes());
        assert!(Atlas::parse(&off).unwrap_err().contains("off the globe"));
    }

    #[test]
    fn fit_holds_every_point_and_zoom_stays_in_bounds() {
        let pts = [(-105.27, 40.01), (-104.69, 40.42), (11.58, 48.14)];
        let v = Viewport::fit(pts, (200, 120));
        for (lon, lat) in pts {
            let (x, y) = v.project(lon, lat);
            assert!(
                (0.0..200.0).contains(&x) && (0.0..120.0).contains(&y),
                "{x},{y}"
            );
        }
        let mut z = v;
        for _ in 0..40 {
            z.zoom(0.5);
        }
        assert!((z.span - MIN_SPAN).abs() < 1e-9);
        for _ in 0..40 {
            z.zoom(2.0);
        }
        assert!((z.span - MAX_SPAN).abs() < 1e-9);
        assert_eq!(Viewport::fit([], (10, 10)).span, MAX_SPAN);
    }

    #[test]
    fn lines_are_clipped_and_land_on_the_right_dots() {
        let mut b = Braille::new(2, 1);
        b.line((-10.0, 0.0), (10.0, 0.0), 1);
        // The top row of both cells: dots (0..4, 0).
        assert_eq!(b.glyph(0, 0), Some(('\u{2809}', 1)));
        assert_eq!(b.glyph(1, 0), Some(('\u{2809}', 1)));
        b.line((0.0, 3.0), (0.0, 3.0), 2);
        assert_eq!(b.glyph(0, 0), Some(('\u{2849}', 2)));
        let mut empty = Braille::new(2, 1);
        empty.line((-5.0, -5.0), (-1.0, -9.0), 1);
        assert_eq!(empty.glyph(0, 0), None);
    }
}
