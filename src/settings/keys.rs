//! Key names as the keymap files write them: `ctrl-c`, `shift-tab`,
//! `f1`, `space`, the `<C-c>` form, and chords like `g g`.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key press, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// From a terminal event. Shift is folded into the character for
    /// printable keys (`G` is shift-g).
    pub fn from_event(e: &KeyEvent) -> Self {
        let mut mods =
            e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        if matches!(e.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        Self { code: e.code, mods }
    }

    /// The written form of the key.
    pub fn name(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("shift-");
        }
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "shift-tab".into(),
            KeyCode::Backspace => "backspace".into(),
            KeyCode::Up => "up".into(),
            KeyCode::Down => "down".into(),
            KeyCode::Left => "left".into(),
            KeyCode::Right => "right".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::PageUp => "pageup".into(),
            KeyCode::PageDown => "pagedown".into(),
            KeyCode::Delete => "delete".into(),
            KeyCode::Insert => "insert".into(),
            KeyCode::F(n) => format!("f{n}"),
            other => format!("{other:?}").to_lowercase(),
        };
        s.push_str(&base);
        s
    }
}

fn parse_one(s: &str) -> Result<Key, String> {
    // <C-c>, <A-x>, <S-Tab>, <Esc>
    let s = s.trim();
    let normal = if let Some(inner) = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        let mut parts: Vec<&str> = inner.split('-').collect();
        let last = parts.pop().unwrap_or_default();
        let mut out = String::new();
        for p in parts {
            out.push_str(match p.to_ascii_uppercase().as_str() {
                "C" => "ctrl-",
                "A" | "M" => "alt-",
                "S" => "shift-",
                _ => return Err(format!("unknown modifier {p:?} in {s:?}")),
            });
        }
        out.push_str(&last.to_lowercase());
        if last.chars().count() == 1 {
            out.truncate(out.len() - last.len());
            out.push_str(last);
        }
        out
    } else {
        s.to_string()
    };
    let mut mods = KeyModifiers::NONE;
    let mut rest = normal.as_str();
    loop {
        if let Some(r) = rest.strip_prefix("ctrl-") {
            mods |= KeyModifiers::CONTROL;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("alt-") {
            mods |= KeyModifiers::ALT;
            rest = r;
        } else if rest.len() > 6
            && let Some(r) = rest.strip_prefix("shift-")
        {
            mods |= KeyModifiers::SHIFT;
            rest = r;
        } else {
            break;
        }
    }
    let code = match rest {
        "enter" | "return" | "cr" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" if mods.contains(KeyModifiers::SHIFT) => {
            mods.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" | "bs" => KeyCode::Backspace,
        "space" => KeyCode::Char(' '),
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" | "pgup" => KeyCode::PageUp,
        "pagedown" | "pgdn" => KeyCode::PageDown,
        "delete" | "del" => KeyCode::Delete,
        "insert" => KeyCode::Insert,
        f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
            KeyCode::F(f[1..].parse::<u8>().unwrap_or(1))
        }
        c if c.chars().count() == 1 => {
            let ch = c.chars().next().unwrap_or(' ');
            if mods.contains(KeyModifiers::SHIFT) && ch.is_ascii_alphabetic() {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(ch.to_ascii_uppercase())
            } else {
                KeyCode::Char(ch)
            }
        }
        other => return Err(format!("unknown key {other:?}")),
    };
    Ok(Key { code, mods })
}

/// Parses a written key or chord (`g g`).
pub fn parse_keys(s: &str) -> Result<Vec<Key>, String> {
    let keys: Vec<Key> = s
        .split_whitespace()
        .map(parse_one)
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err("empty key".into());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> Key {
        Key { code, mods }
    }

    #[test]
    fn key_forms() {
        assert_eq!(
            parse_keys("ctrl-c").unwrap(),
            vec![key(KeyCode::Char('c'), KeyModifiers::CONTROL)]
        );
        assert_eq!(parse_keys("<C-c>").unwrap(), parse_keys("ctrl-c").unwrap());
        assert_eq!(
            parse_keys("shift-tab").unwrap(),
            vec![key(KeyCode::BackTab, KeyModifiers::NONE)]
        );
        assert_eq!(
            parse_keys("G").unwrap(),
            vec![key(KeyCode::Char('G'), KeyModifiers::NONE)]
        );
        assert_eq!(parse_keys("g g").unwrap().len(), 2);
        assert_eq!(
            parse_keys("f1").unwrap(),
            vec![key(KeyCode::F(1), KeyModifiers::NONE)]
        );
        assert!(parse_keys("hyper-x").is_err());
    }
}
