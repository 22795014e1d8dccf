//! Keymaps: key names (`ctrl-c`, `shift-tab`, chords like `g g`, and the
//! `<C-c>` form) mapped to actions, each with a description that the help
//! screen shows. The shipped keymap is embedded; a user file patches it.

use std::collections::HashMap;
use std::path::Path;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

/// The shipped keymaps, embedded.
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("emacs", include_str!("../../keymaps/emacs.toml")),
];

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Quit,
    MoveDown,
    MoveUp,
    PageDown,
    PageUp,
    GoTop,
    GoBottom,
    Filter,
    Clear,
    SortNext,
    SortReverse,
    StatusNext,
    /// Group the fleet by customer, by site, or not.
    GroupNext,
    Help,
    /// Mark or unmark the selected device for a bulk action.
    Mark,
    /// Mark every row from the last marked one to the selection.
    MarkRange,
    /// Open the push editor on the selected device (on the marked ones:
    /// a rollout).
    PushEdit,
    /// Confirm the push awaiting confirmation (the selected device's, else
    /// the one whose window closes first).
    PushConfirm,
    /// Revert that push now.
    PushRevert,
    /// Show the selected device's push history.
    PushHistory,
    /// Views: the fleet, the incident queue, the alert tail.
    ViewFleet,
    ViewIncidents,
    ViewAlerts,
    ViewTenants,
    ViewMap,
    /// The site view, the signal trends, the audit log.
    ViewSite,
    ViewTrends,
    ViewAudit,
    /// A longer or shorter time range for charts and trends.
    RangeLonger,
    RangeShorter,
    /// The trends chart: signal, CPU or memory.
    ChartNext,
    /// The map: zoom in or out, fit the sites again, move the view.
    MapZoomIn,
    MapZoomOut,
    MapFit,
    PanWest,
    PanEast,
    PanNorth,
    PanSouth,
    /// Open the selection: a device's detail, a site's view.
    Open,
    /// Back to the view before.
    Back,
    /// Forward to the view left by going back.
    Forward,
    /// The `:` command palette.
    Palette,
    /// Pause or resume the alert tail.
    PauseTail,
    /// Triage of the selected incident.
    IncidentAck,
    IncidentTake,
    IncidentEscalate,
    IncidentResolve,
    /// Snooze for an hour, wake, reopen, write a note.
    IncidentSnooze,
    IncidentWake,
    IncidentReopen,
    IncidentNote,
    /// Merge the marked incidents into the selected one.
    IncidentMerge,
    /// Show or hide resolved incidents in the queue.
    QueueResolved,
    /// Unbinds a key in a user patch.
    None,
}

impl Action {
    /// The least role that may use this action (the worker checks again).
    pub fn need(self) -> crate::domain::access::Role {
        use crate::domain::access::Role;
        match self {
            Action::PushEdit
            | Action::PushConfirm
            | Action::PushRevert
            | Action::IncidentAck
            | Action::IncidentTake
            | Action::IncidentEscalate
            | Action::IncidentResolve
            | Action::IncidentSnooze
            | Action::IncidentWake
            | Action::IncidentReopen
            | Action::IncidentNote
            | Action::IncidentMerge => Role::Operator,
            Action::PushHistory
            | Action::QueueResolved
            | Action::ViewSite
            | Action::ViewTrends
            | Action::ViewAudit
            | Action::RangeLonger
            | Action::RangeShorter
            | Action::ChartNext => Role::Viewer,
            _ => Role::Wallboard,
        }
    }
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BindSpec {
    keys: Vec<String>,
    action: Action,
    #[serde(default)]
    desc: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[serde(default)]
    bind: Vec<BindSpec>,
}

/// One binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub written: String,
    pub action: Action,
    pub desc: String,
}

/// What a key press means so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Action(Action),
    /// The first key(s) of a chord: wait for the next.
    Pending,
    Unbound,
}

/// A keymap.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeyMap {
    bindings: Vec<Binding>,
}

fn parse_file(src: &str, text: &str) -> Result<(Vec<Binding>, Vec<String>), String> {
    let file: KeymapFile = toml::from_str(text).map_err(|e| match e.span() {
        Some(s) => format!("{src}:{}: {}", super::line_of(text, s.start), e.message()),
        None => format!("{src}: {}", e.message()),
    })?;
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: HashMap<Vec<Key>, String> = HashMap::new();
    for b in file.bind {
        for written in &b.keys {
            let keys = parse_keys(written).map_err(|e| format!("{src}: {written:?}: {e}"))?;
            if let Some(prev) = seen.insert(keys.clone(), format!("{:?}", b.action)) {
                warnings.push(format!(
                    "{src}: key {written:?} is bound twice (to {prev} and {:?}); the last wins",
                    b.action
                ));
                out.retain(|x: &Binding| x.keys != keys);
            }
            out.push(Binding {
                keys,
                written: written.clone(),
                action: b.action,
                desc: b.desc.clone(),
            });
        }
    }
    Ok((out, warnings))
}

impl KeyMap {
    /// The built-in default keymap.
    pub fn builtin() -> Self {
        SHIPPED
            .first()
            .and_then(|(n, t)| parse_file(n, t).ok())
            .map(|(bindings, _)| Self { bindings })
            .unwrap_or_default()
    }

    /// Loads `name` (shipped name or file path), then patches it with
    /// `config_dir/keymap.toml` if present. Problems are returned as
    /// messages to show; a broken file falls back to the defaults.
    pub fn load(name: &str, config_dir: &Path) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut map = Self::builtin();
        if name != "default" {
            let text = SHIPPED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| Ok((*t).to_string()))
                .unwrap_or_else(|| {
                    std::fs::read_to_string(name).map_err(|e| format!("keymap {name}: {e}"))
                });
            match text.and_then(|t| parse_file(name, &t)) {
                Ok((b, w)) => {
                    map.bindings = b;
                    problems.extend(w);
                }
                Err(e) => problems.push(format!("{e} (using the default keymap)")),
            }
        }
        let user = config_dir.join("keymap.toml");
        if let Ok(text) = std::fs::read_to_string(&user) {
            match parse_file(&user.display().to_string(), &text) {
                Ok((patch, w)) => {
                    problems.extend(w);
                    for b in patch {
                        map.bindings.retain(|x| x.keys != b.keys);
                        if b.action != Action::None {
                            map.bindings.push(b);
                        }
                    }
                }
                Err(e) => problems.push(format!("{e} (ignored; using the default keymap)")),
            }
        }
        (map, problems)
    }

    /// What `key` means after the `pending` chord prefix.
    pub fn lookup(&self, pending: &[Key], key: Key) -> Lookup {
        let mut seq = pending.to_vec();
        seq.push(key);
        if let Some(b) = self.bindings.iter().find(|b| b.keys == seq) {
            return Lookup::Action(b.action);
        }
        if self
            .bindings
            .iter()
            .any(|b| b.keys.len() > seq.len() && b.keys[..seq.len()] == seq[..])
        {
            return Lookup::Pending;
        }
        Lookup::Unbound
    }

    /// Help lines: keys and description per action, in file order.
    pub fn help(&self) -> Vec<(String, String)> {
        self.help_for(crate::domain::access::Role::SuperAdmin)
    }

    /// The help lines of the actions `role` may use.
    pub fn help_for(&self, role: crate::domain::access::Role) -> Vec<(String, String)> {
        let mut out: Vec<(Action, String, String)> = Vec::new();
        for b in self.bindings.iter().filter(|b| b.action.need() <= role) {
            if let Some(e) = out.iter_mut().find(|(a, _, _)| *a == b.action) {
                e.1.push_str(", ");
                e.1.push_str(&b.written);
            } else {
                out.push((b.action, b.written.clone(), b.desc.clone()));
            }
        }
        out.into_iter().map(|(_, k, d)| (k, d)).collect()
    }

    /// The keymap as a file: every action with its keys and description,
    /// in the format `keymap.toml` takes (`vigie keymap print`).
    pub fn print(&self) -> String {
        let mut out: Vec<(Action, Vec<String>, String)> = Vec::new();
        for b in &self.bindings {
            match out.iter_mut().find(|(a, _, _)| *a == b.action) {
                Some(e) => e.1.push(b.written.clone()),
                None => out.push((b.action, vec![b.written.clone()], b.desc.clone())),
            }
        }
        let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut text = String::new();
        for (action, keys, desc) in out {
            let keys: Vec<String> = keys.iter().map(|k| quote(k)).collect();
            text.push_str(&format!(
                "[[bind]]\nkeys = [{}]\naction = {}\ndesc = {}\n\n",
                keys.join(", "),
                quote(&crate::domain::enum_name(&action)),
                quote(&desc)
            ));
        }
        text
    }

    /// The first key bound to `action`, for hints.
    pub fn key_for(&self, action: Action) -> Option<&str> {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.written.as_str())
    }
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

    #[test]
    fn default_keymap_and_chords() {
        let m = KeyMap::builtin();
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(m.lookup(&[], q), Lookup::Action(Action::Quit));
        let g = key(KeyCode::Char('g'), KeyModifiers::NONE);
        assert_eq!(m.lookup(&[], g), Lookup::Pending);
        assert_eq!(m.lookup(&[g], g), Lookup::Action(Action::GoTop));
        assert_eq!(
            m.lookup(&[], key(KeyCode::Char('Q'), KeyModifiers::NONE)),
            Lookup::Unbound
        );
        let help = m.help();
        assert!(
            help.iter()
                .any(|(k, d)| k == "q, ctrl-c" && d == "Quit vigie"),
            "{help:?}"
        );
    }

    #[test]
    fn user_patch_rebinds_unbinds_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("keymap.toml"),
            "[[bind]]\nkeys = [\"x\"]\naction = \"quit\"\n\n[[bind]]\nkeys = [\"q\"]\naction = \"none\"\n\n[[bind]]\nkeys = [\"x\"]\naction = \"help\"\n",
        )
        .unwrap();
        let (m, problems) = KeyMap::load("default", dir.path());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("bound twice"));
        let x = key(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(m.lookup(&[], x), Lookup::Action(Action::Help));
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(m.lookup(&[], q), Lookup::Unbound);
    }

    #[test]
    fn broken_user_file_falls_back_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("keymap.toml"),
            "[[bind]]\nkeys = [\"x\"]\naction = \"explode\"\n",
        )
        .unwrap();
        let (m, problems) = KeyMap::load("default", dir.path());
        assert_eq!(m, KeyMap::builtin());
        assert!(problems[0].contains(":3:"), "{problems:?}");
    }

    #[test]
    fn every_shipped_keymap_parses_cleanly_and_binds_every_action() {
        let default = KeyMap::builtin();
        for (name, text) in SHIPPED {
            let (bindings, warnings) = parse_file(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            for b in &default.bindings {
                assert!(
                    bindings.iter().any(|x| x.action == b.action),
                    "{name} leaves {:?} unbound",
                    b.action
                );
            }
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (emacs, problems) = KeyMap::load("emacs", dir.path());
        assert!(problems.is_empty(), "{problems:?}");
        let k = |s: &str| parse_keys(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            emacs.lookup(&[], k("ctrl-n")[0]),
            Lookup::Action(Action::MoveDown)
        );
        assert_eq!(emacs.lookup(&[], k("ctrl-x")[0]), Lookup::Pending);
        assert_eq!(
            emacs.lookup(&k("ctrl-x"), k("ctrl-c")[0]),
            Lookup::Action(Action::Quit)
        );
        // What `vigie keymap print` writes loads back as the same keymap.
        let printed = emacs.print();
        let (again, w) = parse_file("printed", &printed).unwrap_or_else(|e| panic!("{e}"));
        assert!(w.is_empty());
        assert_eq!(again.len(), emacs.bindings.len());
        assert!(printed.contains("action = \"push-confirm\""), "{printed}");
    }
}
