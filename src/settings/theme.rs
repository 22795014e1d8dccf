//! Themes: meanings (ok, offline, selection…) mapped to styles, loaded from
//! TOML, with `inherits`, colour-depth detection and downsampling.

use std::collections::HashMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The shipped themes, embedded.
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// What a style means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Meaning {
    Base,
    Header,
    HeaderTitle,
    Title,
    Border,
    ColumnHeader,
    Selection,
    Muted,
    Accent,
    Ok,
    Stale,
    Offline,
    Pending,
    Critical,
    Major,
    Minor,
    Warning,
    Info,
    StatusBar,
    KeyHint,
    Filter,
    Error,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    mods: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[allow(dead_code)]
    name: Option<String>,
    inherits: Option<String>,
    #[serde(default)]
    styles: HashMap<Meaning, StyleSpec>,
}

pub use super::depth::{Depth, detect_depth};

/// A loaded theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    styles: HashMap<Meaning, Style>,
}

/// A theme problem, with the file it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("theme {source_name}: {message}")]
pub struct ThemeError {
    pub source_name: String,
    pub message: String,
}

fn parse_color(s: &str) -> Result<Color, String> {
    let named = match s.to_ascii_lowercase().replace('_', "-").as_str() {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "dark-gray" | "dark-grey" => Color::DarkGray,
        "light-red" => Color::LightRed,
        "light-green" => Color::LightGreen,
        "light-yellow" => Color::LightYellow,
        "light-blue" => Color::LightBlue,
        "light-magenta" => Color::LightMagenta,
        "light-cyan" => Color::LightCyan,
        "white" => Color::White,
        other => {
            if let Some(hex) = other.strip_prefix('#')
                && hex.len() == 6
                && let Ok(v) = u32::from_str_radix(hex, 16)
            {
                let [_, r, g, b] = v.to_be_bytes();
                return Ok(Color::Rgb(r, g, b));
            }
            if let Ok(i) = other.parse::<u8>() {
                return Ok(Color::Indexed(i));
            }
            return Err(format!("unknown colour {s:?}"));
        }
    };
    Ok(named)
}

const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
    d(a.0, b.0).pow(2) + d(a.1, b.1).pow(2) + d(a.2, b.2).pow(2)
}

fn rgb_of_index(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[usize::from(i)].1,
        16..=231 => {
            let i = i - 16;
            let step = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (step(i / 36), step((i / 6) % 6), step(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

/// Nearest colour the terminal can show.
pub fn downsample(c: Color, depth: Depth) -> Color {
    let rgb = match c {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) if depth < Depth::Ansi256 => rgb_of_index(i),
        other => return other,
    };
    match depth {
        Depth::TrueColor => c,
        Depth::None => Color::Reset,
        Depth::Ansi256 => {
            let best = (16u8..=255)
                .min_by_key(|&i| dist(rgb_of_index(i), rgb))
                .unwrap_or(16);
            Color::Indexed(best)
        }
        Depth::Ansi16 => ANSI16
            .iter()
            .min_by_key(|(_, v)| dist(*v, rgb))
            .map_or(Color::Reset, |(c, _)| *c),
    }
}

fn to_style(spec: &StyleSpec, depth: Depth) -> Result<Style, String> {
    let mut style = Style::default();
    if depth != Depth::None {
        if let Some(fg) = &spec.fg {
            style = style.fg(downsample(parse_color(fg)?, depth));
        }
        if let Some(bg) = &spec.bg {
            style = style.bg(downsample(parse_color(bg)?, depth));
        }
    }
    for m in &spec.mods {
        let m = match m.as_str() {
            "bold" => Modifier::BOLD,
            "dim" => Modifier::DIM,
            "italic" => Modifier::ITALIC,
            "underlined" | "underline" => Modifier::UNDERLINED,
            "reversed" | "reverse" => Modifier::REVERSED,
            other => return Err(format!("unknown modifier {other:?}")),
        };
        style = style.add_modifier(m);
    }
    Ok(style)
}

impl Theme {
    /// A shipped theme by name, or a theme file by path, with `depth`.
    /// `config_dir/themes/NAME.toml` is looked up before the shipped ones.
    pub fn load(name: &str, config_dir: &Path, depth: Depth) -> Result<Self, ThemeError> {
        let mut specs: HashMap<Meaning, StyleSpec> = HashMap::new();
        let mut chain = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(n) = next.take() {
            if chain.contains(&n) || chain.len() > 8 {
                return Err(ThemeError {
                    source_name: n,
                    message: "inherits loops".into(),
                });
            }
            let (src, text) = Self::read(&n, config_dir)?;
            let file: ThemeFile = toml::from_str(&text).map_err(|e| ThemeError {
                source_name: src.clone(),
                message: match e.span() {
                    Some(s) => format!("line {}: {}", super::line_of(&text, s.start), e.message()),
                    None => e.message().to_string(),
                },
            })?;
            for (k, v) in file.styles {
                specs.entry(k).or_insert(v);
            }
            chain.push(n);
            next = file.inherits;
        }
        // Anything not given falls back to the default theme.
        if let Some((_, text)) = SHIPPED.first()
            && let Ok(base) = toml::from_str::<ThemeFile>(text)
        {
            for (k, v) in base.styles {
                specs.entry(k).or_insert(v);
            }
        }
        let mut styles = HashMap::new();
        for (k, spec) in &specs {
            let style = to_style(spec, depth).map_err(|message| ThemeError {
                source_name: name.to_string(),
                message: format!("{k:?}: {message}"),
            })?;
            styles.insert(*k, style);
        }
        Ok(Self { styles })
    }

    fn read(name: &str, config_dir: &Path) -> Result<(String, String), ThemeError> {
        let as_path = Path::new(name);
        let candidates = if name.ends_with(".toml") {
            vec![as_path.to_path_buf()]
        } else {
            vec![config_dir.join("themes").join(format!("{name}.toml"))]
        };
        for p in candidates {
            if let Ok(text) = std::fs::read_to_string(&p) {
                return Ok((p.display().to_string(), text));
            }
        }
        SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| (format!("{n} (built in)"), (*t).to_string()))
            .ok_or_else(|| ThemeError {
                source_name: name.to_string(),
                message: format!(
                    "no such theme (shipped: {})",
                    SHIPPED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// The built-in default theme at `depth` (mono when there is no colour).
    pub fn builtin(depth: Depth) -> Self {
        let name = if depth == Depth::None {
            "mono"
        } else {
            "default"
        };
        Self::load(name, Path::new("/nonexistent"), depth).unwrap_or_else(|_| Self {
            styles: HashMap::new(),
        })
    }

    /// The style of a meaning.
    pub fn style(&self, m: Meaning) -> Style {
        self.styles.get(&m).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_load_completely() {
        for (name, _) in SHIPPED {
            let t = Theme::load(name, Path::new("/nonexistent"), Depth::TrueColor).unwrap();
            assert!(t.styles.len() >= 20, "{name}");
        }
    }

    #[test]
    fn downsampling() {
        assert_eq!(
            downsample(Color::Rgb(250, 10, 10), Depth::Ansi16),
            Color::LightRed
        );
        assert_eq!(
            downsample(Color::Rgb(0, 0, 0), Depth::Ansi256),
            Color::Indexed(16)
        );
        assert_eq!(
            downsample(Color::Rgb(1, 2, 3), Depth::TrueColor),
            Color::Rgb(1, 2, 3)
        );
        assert_eq!(downsample(Color::Red, Depth::Ansi16), Color::Red);
    }

    #[test]
    fn no_colour_keeps_modifiers_only() {
        let t = Theme::load("default", Path::new("/nonexistent"), Depth::None).unwrap();
        let s = t.style(Meaning::Offline);
        assert_eq!(s.fg, None);
        assert!(s.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn bad_theme_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "[styles]\nok = { fg = \"mauve\" }\n").unwrap();
        let e = Theme::load(p.to_str().unwrap(), dir.path(), Depth::TrueColor).unwrap_err();
        assert!(e.message.contains("mauve"), "{e}");
        std::fs::write(&p, "[styles]\nsparkle = {}\n").unwrap();
        let e = Theme::load(p.to_str().unwrap(), dir.path(), Depth::TrueColor).unwrap_err();
        assert!(e.message.contains("line 2"), "{e}");
    }

    #[test]
    fn inherits_fills_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mine.toml");
        std::fs::write(
            &p,
            "inherits = \"mono\"\n[styles]\nok = { fg = \"green\" }\n",
        )
        .unwrap();
        let t = Theme::load(p.to_str().unwrap(), dir.path(), Depth::Ansi16).unwrap();
        assert_eq!(t.style(Meaning::Ok).fg, Some(Color::Green));
        assert!(
            t.style(Meaning::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }

    #[test]
    fn every_shipped_theme_loads_at_every_depth_and_keeps_states_apart() {
        for (name, _) in SHIPPED {
            for depth in [Depth::TrueColor, Depth::Ansi256, Depth::Ansi16, Depth::None] {
                let t = Theme::load(name, Path::new("/nonexistent"), depth)
                    .unwrap_or_else(|e| panic!("{name} at {depth:?}: {e}"));
                // Online, stale and offline never look the same, even
                // downsampled to 16 colours; with no colour at all the
                // console takes mono unless a theme is named, and the
                // themes made for it keep them apart by modifiers.
                let look = |m| t.style(m);
                let (ok, stale, off) = (
                    look(Meaning::Ok),
                    look(Meaning::Stale),
                    look(Meaning::Offline),
                );
                let apart = ok != stale && stale != off && ok != off;
                let for_no_colour = ["mono", "high-contrast"].contains(name);
                assert!(
                    apart || (depth == Depth::None && !for_no_colour),
                    "{name} at {depth:?}"
                );
                if depth == Depth::Ansi16 {
                    for m in [Meaning::Ok, Meaning::Critical, Meaning::Base] {
                        let s = look(m);
                        assert!(
                            !matches!(s.fg, Some(Color::Rgb(..)) | Some(Color::Indexed(_))),
                            "{name}: {m:?} not downsampled: {s:?}"
                        );
                    }
                }
            }
        }
    }
}
