//! Sparklines as text (eight block heights, a space for a gap) and the
//! units the detail pane and the trends view print.

/// The series as `width` block characters scaled between `lo` and `hi`
/// (the series' own range when `None`); the newest at the right. A column
/// with no sample is a space.
pub fn spark(series: &[Option<f32>], width: usize, range: Option<(f32, f32)>) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if series.is_empty() || width == 0 {
        return " ".repeat(width);
    }
    let (lo, hi) = range.unwrap_or_else(|| {
        series
            .iter()
            .flatten()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            })
    });
    let span = (hi - lo).max(1e-6);
    (0..width)
        .map(|x| {
            // Column x shows the bucket at the same fraction of the window.
            let i = x * series.len() / width;
            match series.get(i).copied().flatten() {
                Some(v) if lo.is_finite() => {
                    let level = ((v - lo) / span * 7.0).round().clamp(0.0, 7.0);
                    BARS[level as usize]
                }
                _ => ' ',
            }
        })
        .collect()
}

/// `12.3 Mb/s`
pub fn bits(bps: f32) -> String {
    let (v, unit) = match bps {
        b if b >= 1e9 => (b / 1e9, "Gb/s"),
        b if b >= 1e6 => (b / 1e6, "Mb/s"),
        b if b >= 1e3 => (b / 1e3, "kb/s"),
        b => (b, "b/s"),
    };
    format!("{v:.1} {unit}")
}

/// `-71 dBm`, or `—`.
pub fn dbm(v: Option<f32>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.0} dBm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_and_keep_gaps() {
        let s = [Some(0.0), Some(50.0), None, Some(100.0)];
        assert_eq!(spark(&s, 4, Some((0.0, 100.0))), "▁▅ █");
        assert_eq!(spark(&s, 8, Some((0.0, 100.0))), "▁▁▅▅  ██");
        assert_eq!(spark(&[None, None], 3, None), "   ");
        assert_eq!(spark(&[], 2, None), "  ");
        assert_eq!(bits(12_345_678.0), "12.3 Mb/s");
        assert_eq!(bits(900.0), "900.0 b/s");
        assert_eq!(dbm(Some(-71.4)), "-71 dBm");
        assert_eq!(dbm(None), "—");
    }
}
