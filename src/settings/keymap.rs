//! Keymaps: per mode, keys (see `keys`) bound to the commands of the
//! program that reads them, each with a description the help screen
//! shows. The keymap knows nothing of the commands but what `Bindable`
//! tells it; the console's command registry implements it.
//!
//! A file has one array of tables per mode: `[[normal]]`, `[[filter]]`,
//! `[[palette]]`, `[[note]]`, `[[editor]]`, each entry
//! `{ keys = [...], run = "command argument", desc = "..." }`. The shipped
//! `default` keymap is the base; any other keymap (a shipped name, a file)
//! and then the user's `keymap.toml` are patches over it: a key they bind
//! is rebound, the command `none` unbinds it. A file that says
//! `replace = true` stands alone for the modes it has.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

pub use super::keys::{Key, parse_keys};
use crate::domain::access::Role;

/// The shipped keymaps, embedded. The first is the base of every other.
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("emacs", include_str!("../../keymaps/emacs.toml")),
];

/// The modes a keymap binds keys in: a section of the file each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// Moving through the views and acting on them.
    Normal,
    /// Typing into the filter line.
    Filter,
    /// Typing a `:` command.
    Palette,
    /// Writing a note on an incident.
    Note,
    /// The push editor.
    Editor,
}

impl Section {
    /// Every section, in the order a file and the help list them.
    pub const ALL: [Section; 5] = [
        Section::Normal,
        Section::Filter,
        Section::Palette,
        Section::Note,
        Section::Editor,
    ];

    /// The section's name in the file.
    pub fn name(self) -> &'static str {
        match self {
            Section::Normal => "normal",
            Section::Filter => "filter",
            Section::Palette => "palette",
            Section::Note => "note",
            Section::Editor => "editor",
        }
    }
}

/// What a keymap binds keys to.
pub trait Bindable: Clone + PartialEq + std::fmt::Debug {
    /// Reads a command as written in `section`, or says what is wrong
    /// with it (an unknown name, a bad argument, a command of another
    /// mode).
    fn parse(section: Section, text: &str) -> Result<Self, String>;
    /// The written form, as `parse` reads it back.
    fn written(&self) -> String;
    /// The least role that may run it.
    fn need(&self) -> Role;
    /// What it does, when the file gives no description.
    fn describe(&self) -> String;
    /// True for the command that unbinds a key in a patch.
    fn is_unbind(&self) -> bool;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BindSpec {
    keys: Vec<String>,
    #[serde(default)]
    run: Option<Spanned<String>>,
    /// The name `run` had before commands took arguments.
    #[serde(default)]
    action: Option<Spanned<String>>,
    #[serde(default)]
    desc: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[serde(default)]
    replace: bool,
    /// The form before sections: the normal mode's keys.
    #[serde(default)]
    bind: Vec<BindSpec>,
    #[serde(default)]
    normal: Vec<BindSpec>,
    #[serde(default)]
    filter: Vec<BindSpec>,
    #[serde(default)]
    palette: Vec<BindSpec>,
    #[serde(default)]
    note: Vec<BindSpec>,
    #[serde(default)]
    editor: Vec<BindSpec>,
}

impl KeymapFile {
    fn sections(self) -> [(Section, Vec<BindSpec>); 5] {
        let mut normal = self.bind;
        normal.extend(self.normal);
        [
            (Section::Normal, normal),
            (Section::Filter, self.filter),
            (Section::Palette, self.palette),
            (Section::Note, self.note),
            (Section::Editor, self.editor),
        ]
    }
}

/// One binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding<C> {
    pub section: Section,
    pub keys: Vec<Key>,
    pub written: String,
    pub run: C,
    pub desc: String,
}

/// What a key press means so far.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<C> {
    Run(C),
    /// The first key(s) of a chord: wait for the next.
    Pending,
    Unbound,
}

/// A keymap.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMap<C> {
    bindings: Vec<Binding<C>>,
}

/// A file read: its bindings, whether it stands alone, and warnings.
struct Parsed<C> {
    bindings: Vec<Binding<C>>,
    replace: bool,
    warnings: Vec<String>,
}

fn parse_file<C: Bindable>(src: &str, text: &str) -> Result<Parsed<C>, String> {
    let at = |offset: usize| format!("{src}:{}", super::line_of(text, offset));
    let file: KeymapFile = toml::from_str(text).map_err(|e| match e.span() {
        Some(s) => format!("{}: {}", at(s.start), e.message()),
        None => format!("{src}: {}", e.message()),
    })?;
    let replace = file.replace;
    let mut bindings: Vec<Binding<C>> = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: HashMap<(Section, Vec<Key>), String> = HashMap::new();
    for (section, specs) in file.sections() {
        for b in specs {
            let run = match (b.run, b.action) {
                (Some(r), None) | (None, Some(r)) => r,
                (None, None) => {
                    return Err(format!(
                        "{src}: [{}] {:?}: no command (run = \"…\")",
                        section.name(),
                        b.keys
                    ));
                }
                (Some(r), Some(_)) => {
                    return Err(format!(
                        "{}: both run and action; keep run",
                        at(r.span().start)
                    ));
                }
            };
            let span = run.span();
            let command = C::parse(section, run.get_ref())
                .map_err(|e| format!("{}: [{}] {e}", at(span.start), section.name()))?;
            for written in &b.keys {
                let keys = parse_keys(written).map_err(|e| format!("{src}: {written:?}: {e}"))?;
                let name = command.written();
                if let Some(prev) = seen.insert((section, keys.clone()), name.clone()) {
                    warnings.push(format!(
                        "{src}: [{}] key {written:?} is bound twice (to {prev} and {name}); the last wins",
                        section.name()
                    ));
                    bindings.retain(|x| !(x.section == section && x.keys == keys));
                }
                bindings.push(Binding {
                    section,
                    keys,
                    written: written.clone(),
                    run: command.clone(),
                    desc: b.desc.clone(),
                });
            }
        }
    }
    Ok(Parsed {
        bindings,
        replace,
        warnings,
    })
}

impl<C: Bindable> KeyMap<C> {
    /// The built-in default keymap. It is part of the binary, and a test
    /// reads it cleanly; were it ever broken, no key would be bound.
    pub fn builtin() -> Self {
        let bindings = SHIPPED
            .first()
            .and_then(|(n, t)| parse_file::<C>(n, t).ok())
            .map(|p| p.bindings)
            .unwrap_or_default();
        Self { bindings }
    }

    /// Loads `name` (a shipped name or a file path) over the default,
    /// then patches it with `config_dir/keymap.toml` if present. Problems
    /// are returned as messages to show; a broken file is left out.
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
                Ok(p) => {
                    problems.extend(p.warnings.iter().cloned());
                    map.patch(p);
                }
                Err(e) => problems.push(format!("{e} (using the default keymap)")),
            }
        }
        let user = config_dir.join("keymap.toml");
        if let Ok(text) = std::fs::read_to_string(&user) {
            match parse_file(&user.display().to_string(), &text) {
                Ok(p) => {
                    problems.extend(p.warnings.iter().cloned());
                    map.patch(p);
                }
                Err(e) => problems.push(format!("{e} (ignored; using the keymap without it)")),
            }
        }
        (map, problems)
    }

    /// Applies a file over this keymap: each key it binds is rebound (next
    /// to the command's other keys, so the help keeps its order), `none`
    /// unbinds it. A file that replaces stands alone in its sections.
    fn patch(&mut self, p: Parsed<C>) {
        if p.replace {
            for s in Section::ALL {
                if p.bindings.iter().any(|b| b.section == s) {
                    self.bindings.retain(|b| b.section != s);
                }
            }
        }
        for b in p.bindings {
            self.bindings
                .retain(|x| !(x.section == b.section && x.keys == b.keys));
            if b.run.is_unbind() {
                continue;
            }
            let after = self
                .bindings
                .iter()
                .rposition(|x| x.section == b.section && x.run == b.run);
            match after {
                Some(i) => self.bindings.insert(i + 1, b),
                None => self.bindings.push(b),
            }
        }
    }

    /// What `key` means in `section` after the `pending` chord prefix.
    pub fn lookup(&self, section: Section, pending: &[Key], key: Key) -> Lookup<C> {
        let mut seq = pending.to_vec();
        seq.push(key);
        let here = || self.bindings.iter().filter(|b| b.section == section);
        if let Some(b) = here().find(|b| b.keys == seq) {
            return Lookup::Run(b.run.clone());
        }
        if here().any(|b| b.keys.len() > seq.len() && b.keys[..seq.len()] == seq[..]) {
            return Lookup::Pending;
        }
        Lookup::Unbound
    }

    /// Help lines of the normal mode: keys and description per command,
    /// in file order.
    pub fn help(&self) -> Vec<(String, String)> {
        self.help_for(Role::SuperAdmin)
    }

    /// The help lines of the commands `role` may run.
    pub fn help_for(&self, role: Role) -> Vec<(String, String)> {
        self.grouped(Section::Normal)
            .into_iter()
            .filter(|(run, _, _)| run.need() <= role)
            .map(|(run, keys, desc)| {
                let desc = if desc.is_empty() {
                    run.describe()
                } else {
                    desc
                };
                (keys.join(", "), desc)
            })
            .collect()
    }

    /// A section's bindings, one entry a command: its keys and the first
    /// description given.
    fn grouped(&self, section: Section) -> Vec<(C, Vec<String>, String)> {
        let mut out: Vec<(C, Vec<String>, String)> = Vec::new();
        for b in self.bindings.iter().filter(|b| b.section == section) {
            match out.iter_mut().find(|(r, _, _)| *r == b.run) {
                Some(e) => e.1.push(b.written.clone()),
                None => out.push((b.run.clone(), vec![b.written.clone()], b.desc.clone())),
            }
        }
        out
    }

    /// The keymap as a file that stands alone: every mode, every command
    /// with its keys and description (`vigie keymap print`).
    pub fn print(&self) -> String {
        let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut text = String::from("replace = true\n");
        for section in Section::ALL {
            for (run, keys, desc) in self.grouped(section) {
                let keys: Vec<String> = keys.iter().map(|k| quote(k)).collect();
                let desc = if desc.is_empty() {
                    run.describe()
                } else {
                    desc
                };
                text.push_str(&format!(
                    "\n[[{}]]\nkeys = [{}]\nrun = {}\ndesc = {}\n",
                    section.name(),
                    keys.join(", "),
                    quote(&run.written()),
                    quote(&desc)
                ));
            }
        }
        text
    }

    /// The first key bound to `run` in the normal mode, for hints.
    pub fn key_for(&self, run: &C) -> Option<&str> {
        self.bindings
            .iter()
            .find(|b| b.section == Section::Normal && b.run == *run)
            .map(|b| b.written.as_str())
    }

    /// Every binding, for the checks of a whole keymap.
    pub fn bindings(&self) -> &[Binding<C>] {
        &self.bindings
    }
}

/// Reads one file on its own, without the default under it: warnings, or
/// what is wrong with it (for the tests of the shipped files).
pub fn check_file<C: Bindable>(src: &str, text: &str) -> Result<Vec<String>, String> {
    parse_file::<C>(src, text).map(|p| p.warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    /// A command set of plain words: `none` unbinds, `admin…` needs an
    /// administrator, `boom` is unknown.
    #[derive(Debug, Clone, PartialEq)]
    struct Word(String);

    impl Bindable for Word {
        fn parse(section: Section, text: &str) -> Result<Self, String> {
            match text {
                "boom" => Err(format!("unknown command {text:?}")),
                "typed" if section == Section::Normal => Err("not a normal command".into()),
                _ => Ok(Word(text.to_string())),
            }
        }
        fn written(&self) -> String {
            self.0.clone()
        }
        fn need(&self) -> Role {
            if self.0.starts_with("admin") {
                Role::Admin
            } else {
                Role::Wallboard
            }
        }
        fn describe(&self) -> String {
            format!("does {}", self.0)
        }
        fn is_unbind(&self) -> bool {
            self.0 == "none"
        }
    }

    fn k(s: &str) -> Key {
        parse_keys(s).unwrap_or_else(|e| panic!("{e}"))[0]
    }

    fn base() -> KeyMap<Word> {
        let text = "[[normal]]\nkeys = [\"q\"]\nrun = \"quit\"\ndesc = \"Quit\"\n\n\
                    [[normal]]\nkeys = [\"j\", \"down\"]\nrun = \"move down\"\n\n\
                    [[normal]]\nkeys = [\"g g\"]\nrun = \"move top\"\n\n\
                    [[normal]]\nkeys = [\"A\"]\nrun = \"admin\"\n\n\
                    [[filter]]\nkeys = [\"esc\"]\nrun = \"cancel\"\n";
        let p = parse_file::<Word>("base", text).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        KeyMap {
            bindings: p.bindings,
        }
    }

    #[test]
    fn sections_chords_and_lookup() {
        let m = base();
        assert_eq!(
            m.lookup(Section::Normal, &[], k("q")),
            Lookup::Run(Word("quit".into()))
        );
        assert_eq!(m.lookup(Section::Filter, &[], k("q")), Lookup::Unbound);
        assert_eq!(
            m.lookup(Section::Filter, &[], k("esc")),
            Lookup::Run(Word("cancel".into()))
        );
        assert_eq!(m.lookup(Section::Normal, &[], k("g")), Lookup::Pending);
        assert_eq!(
            m.lookup(Section::Normal, &[k("g")], k("g")),
            Lookup::Run(Word("move top".into()))
        );
        assert_eq!(m.lookup(Section::Normal, &[], k("x")), Lookup::Unbound);
        assert_eq!(k("G").code, KeyCode::Char('G'));
        assert_eq!(k("ctrl-x").mods, KeyModifiers::CONTROL);
    }

    #[test]
    fn help_groups_keys_describes_and_hides_what_the_role_may_not_run() {
        let m = base();
        let help = m.help_for(Role::Operator);
        assert_eq!(
            help,
            vec![
                ("q".to_string(), "Quit".to_string()),
                ("j, down".to_string(), "does move down".to_string()),
                ("g g".to_string(), "does move top".to_string()),
            ]
        );
        assert_eq!(m.help().len(), 4);
    }

    #[test]
    fn a_patch_rebinds_in_place_unbinds_and_keeps_the_help_order() {
        let mut m = base();
        let patch = "[[normal]]\nkeys = [\"ctrl-n\"]\nrun = \"move down\"\n\n\
                     [[normal]]\nkeys = [\"j\", \"q\"]\nrun = \"none\"\n\n\
                     [[bind]]\nkeys = [\"x\"]\naction = \"quit\"\n";
        m.patch(parse_file::<Word>("patch", patch).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(m.lookup(Section::Normal, &[], k("j")), Lookup::Unbound);
        assert_eq!(m.lookup(Section::Normal, &[], k("q")), Lookup::Unbound);
        assert_eq!(
            m.lookup(Section::Normal, &[], k("x")),
            Lookup::Run(Word("quit".into()))
        );
        // Each command keeps its place: `x` took quit's, the new key
        // follows the old ones.
        let help = m.help();
        assert_eq!(help[0].0, "x", "{help:?}");
        assert_eq!(help[1].0, "down, ctrl-n", "{help:?}");
        // The filter mode kept its keys.
        assert_eq!(
            m.lookup(Section::Filter, &[], k("esc")),
            Lookup::Run(Word("cancel".into()))
        );
    }

    #[test]
    fn a_file_that_replaces_stands_alone_in_the_modes_it_has() {
        let mut m = base();
        let alone = "replace = true\n[[normal]]\nkeys = [\"Q\"]\nrun = \"quit\"\n";
        m.patch(parse_file::<Word>("alone", alone).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(m.lookup(Section::Normal, &[], k("q")), Lookup::Unbound);
        assert_eq!(
            m.lookup(Section::Normal, &[], k("Q")),
            Lookup::Run(Word("quit".into()))
        );
        assert_eq!(
            m.lookup(Section::Filter, &[], k("esc")),
            Lookup::Run(Word("cancel".into()))
        );
        // What `print` writes reads back as the same keymap.
        let printed = m.print();
        let again = parse_file::<Word>("printed", &printed).unwrap_or_else(|e| panic!("{e}"));
        let mut fresh = base();
        fresh.patch(again);
        assert_eq!(fresh.help(), m.help(), "{printed}");
    }

    #[test]
    fn bad_files_name_the_line_and_what_is_wrong() {
        let e = parse_file::<Word>("f", "[[normal]]\nkeys = [\"x\"]\nrun = \"boom\"\n")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("f:3: [normal] unknown command"), "{e}");
        let e = parse_file::<Word>("f", "[[normal]]\nkeys = [\"x\"]\nrun = \"typed\"\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("not a normal command"), "{e}");
        let e = parse_file::<Word>("f", "[[normal]]\nkeys = [\"hyper-x\"]\nrun = \"quit\"\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("hyper"), "{e}");
        let e = parse_file::<Word>("f", "[[insert]]\nkeys = [\"x\"]\nrun = \"quit\"\n")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("f:1:"), "{e}");
        let e = parse_file::<Word>("f", "[[normal]]\nkeys = [\"x\"]\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("no command"), "{e}");
        let p = parse_file::<Word>(
            "f",
            "[[normal]]\nkeys = [\"x\"]\nrun = \"a\"\n[[normal]]\nkeys = [\"x\"]\nrun = \"b\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.warnings[0].contains("bound twice"), "{:?}", p.warnings);
        assert_eq!(p.bindings.len(), 1);
    }

    #[test]
    fn a_broken_user_file_is_left_out_with_its_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let bad = dir.path().join("keymap.toml");
        std::fs::write(&bad, "[[normal]]\nkeys = [\"x\"]\nrun = \"boom\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let (m, problems) = KeyMap::<Word>::load("default", dir.path());
        assert_eq!(m, KeyMap::<Word>::builtin());
        assert!(problems[0].contains(":3:"), "{problems:?}");
        let (_, problems) = KeyMap::<Word>::load("/no/such/keymap.toml", dir.path());
        assert!(problems[0].contains("/no/such/keymap.toml"), "{problems:?}");
    }
}
