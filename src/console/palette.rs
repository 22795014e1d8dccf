//! The `:` command palette: the registry's commands (and a few short
//! names) typed with their arguments, completed with tab, run on enter
//! through the same gate as keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::App;
use super::command::{self, ArgKind, Invocation, Names, PALETTE_ALIASES};
use super::msg::Edit;
use super::state::Mode;
use super::update::Effect;
use crate::settings::keymap::Section;

/// The longest line the palette takes.
pub const MAX_LINE: usize = 128;

/// A key while the palette is open: `edit` is what the palette's keymap
/// binds it to; other printable keys are typed.
pub fn on_key(app: &mut App, edit: Option<Edit>, k: KeyEvent) -> Vec<Effect> {
    match edit {
        Some(Edit::Cancel) => {
            app.mode = Mode::Normal;
            app.palette.clear();
        }
        Some(Edit::Accept) => {
            app.mode = Mode::Normal;
            let line = std::mem::take(&mut app.palette);
            return run(app, line.trim());
        }
        Some(Edit::Complete) => app.palette = complete(app, &app.palette),
        Some(Edit::DeleteBack) if app.palette.pop().is_none() => app.mode = Mode::Normal,
        Some(Edit::ClearLine) => app.palette.clear(),
        None => {
            if let KeyCode::Char(c) = k.code
                && !k.modifiers.contains(KeyModifiers::CONTROL)
                && app.palette.chars().count() < MAX_LINE
            {
                app.palette.push(c);
            }
        }
        Some(_) => {}
    }
    Vec::new()
}

/// The longest common prefix of `words` that start with `typed`.
fn extend<'a>(typed: &str, words: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = typed.to_lowercase();
    let hits: Vec<&str> = words
        .filter(|w| w.to_lowercase().starts_with(&lower))
        .collect();
    let first = *hits.first()?;
    let mut end = first.len();
    for h in &hits[1..] {
        end = first
            .char_indices()
            .zip(h.chars())
            .take_while(|((_, a), b)| a.eq_ignore_ascii_case(b))
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    Some(first[..end].to_string())
}

/// The names the palette takes first: the short ones, then the commands
/// of the normal mode.
fn names() -> impl Iterator<Item = &'static str> {
    PALETTE_ALIASES.iter().map(|(a, _)| *a).chain(
        command::COMMANDS
            .iter()
            .filter(|c| c.sections.contains(&Section::Normal) && c.name != "none")
            .map(|c| c.name),
    )
}

/// `line` completed as far as it is unambiguous: a command name, then its
/// argument (a view, a direction, a triage action, a device, tenant or
/// site name).
pub fn complete(app: &App, line: &str) -> String {
    let Some((cmd, arg)) = line.split_once(' ') else {
        return match extend(line, names()) {
            Some(c) if names().any(|n| n == c) => format!("{c} "),
            Some(c) => c,
            None => line.to_string(),
        };
    };
    let kind = match PALETTE_ALIASES.iter().find(|(a, _)| *a == cmd) {
        Some((_, to)) => Invocation::from_palette(to).ok().map(|i| i.command.arg),
        None => command::named(cmd).map(|c| c.arg),
    };
    let mut words: Vec<String> = match kind {
        Some(ArgKind::Name(Names::Device)) => app.fleet.all().map(|r| r.name.to_string()).collect(),
        Some(ArgKind::Name(Names::Tenant)) => {
            app.fleet.all().map(|r| r.tenant.to_string()).collect()
        }
        Some(ArgKind::Name(Names::Site)) => {
            app.fleet.all().map(|r| r.site_name.to_string()).collect()
        }
        Some(k) => k.words().into_iter().map(str::to_string).collect(),
        None => return line.to_string(),
    };
    words.sort_unstable();
    words.dedup();
    match extend(arg, words.iter().map(String::as_str)) {
        Some(w) => format!("{cmd} {w}"),
        None => line.to_string(),
    }
}

/// Runs one command line.
pub fn run(app: &mut App, line: &str) -> Vec<Effect> {
    if line.is_empty() {
        return Vec::new();
    }
    match Invocation::from_palette(line) {
        Ok(inv) => command::run(app, &inv),
        Err(e) if e.starts_with("unknown command") => {
            let cmd = line.split_once(' ').map_or(line, |(c, _)| c);
            let known: Vec<&str> = names().collect();
            app.notify(
                format!(
                    "unknown command :{cmd} — {} (tab completes)",
                    known.join(", ")
                ),
                true,
                6,
            );
            Vec::new()
        }
        Err(e) => {
            app.notify(format!(":{e}"), true, 5);
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_extends_to_the_longest_unambiguous_prefix() {
        let w = ["alpha-1", "alpha-2", "beta"];
        assert_eq!(extend("al", w.iter().copied()), Some("alpha-".into()));
        assert_eq!(extend("B", w.iter().copied()), Some("beta".into()));
        assert_eq!(extend("z", w.iter().copied()), None);
        let app = App::new("_all", "ana", chrono::DateTime::UNIX_EPOCH);
        assert_eq!(complete(&app, "inc"), "incidents ");
        assert_eq!(complete(&app, "f"), "f");
        assert_eq!(complete(&app, "fl"), "fleet ");
        assert_eq!(complete(&app, "view tr"), "view trends");
        assert_eq!(complete(&app, "pan w"), "pan west");
        assert_eq!(complete(&app, "triage ac"), "triage acknowledge");
    }
}
