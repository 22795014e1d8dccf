//! The terminal's colour depth, from the environment: `NO_COLOR`, then
//! `FORCE_COLOR` and `CLICOLOR_FORCE`, then what the terminal says of
//! itself (`COLORTERM`, `TERM` and its family, `TERM_PROGRAM`). Over SSH
//! `COLORTERM` is usually not forwarded, so the terminals known to speak
//! 24-bit colour are recognised by `TERM` (kitty, alacritty, foot,
//! wezterm, ghostty, `*-direct` terminfo) and by `TERM_PROGRAM`.

use super::ColorMode;

/// Colour depth of the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Depth {
    None,
    Ansi16,
    Ansi256,
    TrueColor,
}

/// `TERM` values (before any `-…` variant) of terminals that draw 24-bit
/// colour.
const TRUECOLOR_TERMS: &[&str] = &[
    "xterm-kitty",
    "alacritty",
    "foot",
    "foot-extra",
    "wezterm",
    "xterm-ghostty",
    "ghostty",
    "contour",
    "rio",
    "mintty",
];

/// `TERM_PROGRAM` values of terminals that draw 24-bit colour.
const TRUECOLOR_PROGRAMS: &[&str] = &[
    "iterm.app",
    "wezterm",
    "ghostty",
    "vscode",
    "hyper",
    "rio",
    "tabby",
    "warpterminal",
];

/// The depth to draw with.
pub fn detect_depth(mode: ColorMode, env: &dyn Fn(&str) -> Option<String>) -> Depth {
    match mode {
        ColorMode::Never => return Depth::None,
        ColorMode::Ansi16 => return Depth::Ansi16,
        ColorMode::Ansi256 => return Depth::Ansi256,
        ColorMode::Truecolor => return Depth::TrueColor,
        ColorMode::Auto => {}
    }
    let var = |k: &str| env(k).map(|v| v.trim().to_ascii_lowercase());
    if var("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return Depth::None;
    }
    let seen = from_terminal(&var);
    // FORCE_COLOR: 0 or false off, 1 or true (or empty) at least 16
    // colours, 2 at least 256, 3 24-bit.
    match var("FORCE_COLOR").as_deref() {
        Some("0" | "false") => return Depth::None,
        Some("2") => return seen.max(Depth::Ansi256),
        Some("3") => return Depth::TrueColor,
        Some(_) => return seen.max(Depth::Ansi16),
        None => {}
    }
    if var("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
        return seen.max(Depth::Ansi16);
    }
    seen
}

/// What the terminal says of itself.
fn from_terminal(var: &dyn Fn(&str) -> Option<String>) -> Depth {
    let colorterm = var("COLORTERM").unwrap_or_default();
    if colorterm == "truecolor" || colorterm == "24bit" {
        return Depth::TrueColor;
    }
    let term = var("TERM").unwrap_or_default();
    if term.ends_with("-direct") || TRUECOLOR_TERMS.contains(&term.as_str()) {
        return Depth::TrueColor;
    }
    let program = var("TERM_PROGRAM").unwrap_or_default();
    if TRUECOLOR_PROGRAMS.contains(&program.as_str()) {
        return Depth::TrueColor;
    }
    if term.is_empty() || term == "dumb" {
        Depth::None
    } else if term.contains("256color") || program == "apple_terminal" {
        Depth::Ansi256
    } else {
        Depth::Ansi16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_over_a_table_of_environments() {
        use Depth::{Ansi16, Ansi256, None as Mono, TrueColor};
        let cases: &[(&[(&str, &str)], Depth)] = &[
            (&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")], Mono),
            (&[("COLORTERM", "truecolor")], TrueColor),
            (&[("COLORTERM", "24bit"), ("TERM", "xterm")], TrueColor),
            (&[("TERM", "xterm-256color")], Ansi256),
            (&[("TERM", "xterm")], Ansi16),
            (&[("TERM", "linux")], Ansi16),
            (&[("TERM", "dumb")], Mono),
            (&[], Mono),
            // Over SSH, no COLORTERM: the terminal is known by TERM.
            (&[("TERM", "xterm-kitty")], TrueColor),
            (&[("TERM", "alacritty")], TrueColor),
            (&[("TERM", "foot")], TrueColor),
            (&[("TERM", "wezterm")], TrueColor),
            (&[("TERM", "xterm-ghostty")], TrueColor),
            (&[("TERM", "xterm-direct")], TrueColor),
            (&[("TERM", "tmux-direct")], TrueColor),
            (
                &[
                    ("TERM", "tmux-256color"),
                    ("TMUX", "/tmp/tmux-0/default,1,0"),
                ],
                Ansi256,
            ),
            (
                &[("TERM", "xterm-256color"), ("TERM_PROGRAM", "WezTerm")],
                TrueColor,
            ),
            (
                &[("TERM", "xterm-256color"), ("TERM_PROGRAM", "iTerm.app")],
                TrueColor,
            ),
            (
                &[("TERM", "xterm-256color"), ("TERM_PROGRAM", "vscode")],
                TrueColor,
            ),
            (
                &[("TERM", "xterm"), ("TERM_PROGRAM", "Apple_Terminal")],
                Ansi256,
            ),
            // Forced.
            (&[("TERM", "dumb"), ("FORCE_COLOR", "1")], Ansi16),
            (&[("FORCE_COLOR", "")], Ansi16),
            (&[("TERM", "xterm"), ("FORCE_COLOR", "2")], Ansi256),
            (&[("TERM", "xterm"), ("FORCE_COLOR", "3")], TrueColor),
            (&[("TERM", "xterm-kitty"), ("FORCE_COLOR", "1")], TrueColor),
            (&[("COLORTERM", "truecolor"), ("FORCE_COLOR", "0")], Mono),
            (&[("NO_COLOR", "1"), ("FORCE_COLOR", "3")], Mono),
            (&[("TERM", "dumb"), ("CLICOLOR_FORCE", "1")], Ansi16),
            (&[("TERM", "dumb"), ("CLICOLOR_FORCE", "0")], Mono),
            (&[("NO_COLOR", ""), ("TERM", "xterm")], Ansi16),
        ];
        for (vars, want) in cases {
            let env = |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_string())
            };
            assert_eq!(detect_depth(ColorMode::Auto, &env), *want, "{vars:?}");
        }
        let truecolor = |k: &str| (k == "COLORTERM").then(|| "truecolor".to_string());
        assert_eq!(detect_depth(ColorMode::Ansi16, &truecolor), Ansi16);
        assert_eq!(detect_depth(ColorMode::Never, &truecolor), Mono);
    }
}
