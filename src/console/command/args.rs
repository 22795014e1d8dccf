//! What a command takes after its name: the kinds of argument, how each is
//! read and written, the words the palette completes, and what each
//! value does (the help's text when a keymap gives none).

use crate::api::args::TriageAction;
use crate::console::nav::View;
use crate::domain::access::Role;

/// Where the selection moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
}

/// Where the map's camera moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    West,
    East,
    North,
    South,
}

/// The map's zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zoom {
    In,
    Out,
    /// Fit the sites again.
    Fit,
}

/// Names the palette completes from the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    Device,
    Tenant,
    Site,
}

/// The kind of argument a command takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    Motion,
    View,
    Direction,
    Zoom,
    /// Steps of a range: `+1` longer, `-1` shorter.
    Step,
    /// A triage action, then a name (assign) or a length (snooze).
    Triage,
    /// A name from the fleet, required.
    Name(Names),
    /// Free text, which may be left out.
    Text,
}

/// An argument, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    None,
    Motion(Motion),
    View(View),
    Direction(Direction),
    Zoom(Zoom),
    Step(i8),
    Triage(TriageAction, Option<String>),
    Text(String),
}

const MOTIONS: [(&str, Motion, &str); 6] = [
    ("down", Motion::Down, "Next row"),
    ("up", Motion::Up, "Previous row"),
    ("page-down", Motion::PageDown, "Next page"),
    ("page-up", Motion::PageUp, "Previous page"),
    ("top", Motion::Top, "First row"),
    ("bottom", Motion::Bottom, "Last row"),
];

const DIRECTIONS: [(&str, Direction, &str); 4] = [
    ("west", Direction::West, "Map: move west"),
    ("east", Direction::East, "Map: move east"),
    ("north", Direction::North, "Map: move north"),
    ("south", Direction::South, "Map: move south"),
];

const ZOOMS: [(&str, Zoom, &str); 3] = [
    ("in", Zoom::In, "Map: zoom in"),
    ("out", Zoom::Out, "Map: zoom out"),
    ("fit", Zoom::Fit, "Map: fit the sites again"),
];

/// The longest a range step goes at once.
const MAX_STEP: i8 = 5;

fn word<T: Copy>(table: &[(&'static str, T, &str)], w: &str) -> Option<T> {
    table.iter().find(|(n, _, _)| *n == w).map(|(_, v, _)| *v)
}

fn name_of<T: Copy + PartialEq>(
    table: &[(&'static str, T, &'static str)],
    v: T,
) -> (&'static str, &'static str) {
    table
        .iter()
        .find(|(_, x, _)| *x == v)
        .map_or(("", ""), |(n, _, d)| (*n, *d))
}

fn one_of(what: &str, words: &[&str], got: &str) -> String {
    if got.is_empty() {
        format!("needs {what}: {}", words.join(", "))
    } else {
        format!("{got:?} is not {what}: {}", words.join(", "))
    }
}

impl ArgKind {
    /// Reads `text` (what follows the command's name, trimmed).
    pub fn parse(self, text: &str) -> Result<Arg, String> {
        // The words are listed only when the argument is not one of them.
        let words = || self.words();
        let unexpected = || Err(format!("takes no argument, not {text:?}"));
        match self {
            ArgKind::None if text.is_empty() => Ok(Arg::None),
            ArgKind::None => unexpected(),
            ArgKind::Motion => word(&MOTIONS, text)
                .map(Arg::Motion)
                .ok_or_else(|| one_of("a motion", &words(), text)),
            ArgKind::Direction => word(&DIRECTIONS, text)
                .map(Arg::Direction)
                .ok_or_else(|| one_of("a direction", &words(), text)),
            ArgKind::Zoom => word(&ZOOMS, text)
                .map(Arg::Zoom)
                .ok_or_else(|| one_of("a zoom", &words(), text)),
            ArgKind::View => View::parse(text)
                .map(Arg::View)
                .ok_or_else(|| one_of("a view", &words(), text)),
            ArgKind::Step => match text.parse::<i8>() {
                Ok(n) if n != 0 && n.abs() <= MAX_STEP => Ok(Arg::Step(n)),
                _ => Err(format!(
                    "needs a step from -{MAX_STEP} to +{MAX_STEP}, not 0 (+1 longer, -1 shorter), not {text:?}"
                )),
            },
            ArgKind::Triage => triage(text),
            ArgKind::Name(n) if text.is_empty() => Err(format!(
                "needs a {} name (tab completes)",
                match n {
                    Names::Device => "device",
                    Names::Tenant => "tenant",
                    Names::Site => "site",
                }
            )),
            ArgKind::Name(_) => Ok(Arg::Text(text.to_string())),
            ArgKind::Text if text.is_empty() => Ok(Arg::None),
            ArgKind::Text => Ok(Arg::Text(text.to_string())),
        }
    }

    /// The words the argument may be, for completion and errors.
    pub fn words(self) -> Vec<&'static str> {
        match self {
            ArgKind::Motion => MOTIONS.iter().map(|w| w.0).collect(),
            ArgKind::Direction => DIRECTIONS.iter().map(|w| w.0).collect(),
            ArgKind::Zoom => ZOOMS.iter().map(|w| w.0).collect(),
            ArgKind::View => View::ALL.iter().map(|v| v.name()).collect(),
            ArgKind::Triage => TriageAction::ALL.iter().map(|a| a.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// `acknowledge`, `assign NAME`, `snooze [LENGTH]`…
fn triage(text: &str) -> Result<Arg, String> {
    let (w, rest) = text.split_once(' ').unwrap_or((text, ""));
    let rest = rest.trim();
    let action = TriageAction::parse(w)
        .ok_or_else(|| one_of("a triage action", &ArgKind::Triage.words(), w))?;
    match action {
        TriageAction::Assign if rest.is_empty() => Err("assign needs a name".into()),
        TriageAction::Assign => Ok(Arg::Triage(action, Some(rest.to_string()))),
        TriageAction::Snooze if rest.is_empty() => Ok(Arg::Triage(action, None)),
        TriageAction::Snooze => match crate::domain::length::parse_length(rest) {
            Some(_) => Ok(Arg::Triage(action, Some(rest.to_string()))),
            None => Err(match crate::domain::length::seconds(rest) {
                Err(why) => format!("snooze for how long? {why}"),
                Ok(_) => format!("snooze for how long? {rest:?} is too long"),
            }),
        },
        _ if !rest.is_empty() => Err(format!("{w} takes nothing after it, not {rest:?}")),
        _ => Ok(Arg::Triage(action, None)),
    }
}

impl Arg {
    /// The argument as written after the command's name ("" for none).
    pub fn written(&self) -> String {
        match self {
            Arg::None => String::new(),
            Arg::Motion(m) => name_of(&MOTIONS, *m).0.to_string(),
            Arg::Direction(d) => name_of(&DIRECTIONS, *d).0.to_string(),
            Arg::Zoom(z) => name_of(&ZOOMS, *z).0.to_string(),
            Arg::View(v) => v.name().to_string(),
            Arg::Step(n) => format!("{n:+}"),
            Arg::Triage(a, None) => a.as_str().to_string(),
            Arg::Triage(a, Some(t)) => format!("{} {t}", a.as_str()),
            Arg::Text(t) => t.clone(),
        }
    }

    /// What the argument makes of its command, when a table says it.
    pub fn describe(&self) -> Option<String> {
        let text = match self {
            Arg::Motion(m) => name_of(&MOTIONS, *m).1,
            Arg::Direction(d) => name_of(&DIRECTIONS, *d).1,
            Arg::Zoom(z) => name_of(&ZOOMS, *z).1,
            Arg::View(v) => return Some(format!("Show the {} view", v.name())),
            Arg::Step(n) if *n > 0 => "Charts and trends: a longer time range",
            Arg::Step(_) => "Charts and trends: a shorter time range",
            Arg::Triage(a, _) => return Some(format!("The selected incident: {}", a.as_str())),
            Arg::None | Arg::Text(_) => return None,
        };
        Some(text.to_string())
    }

    /// The least role the argument needs beyond its command's.
    pub fn need(&self) -> Role {
        match self {
            Arg::View(v) => v.need(),
            _ => Role::Wallboard,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_written() {
        for kind in [
            ArgKind::Motion,
            ArgKind::Direction,
            ArgKind::Zoom,
            ArgKind::View,
            ArgKind::Triage,
        ] {
            for w in kind.words() {
                let arg = kind.parse(w);
                if kind == ArgKind::Triage && w == "assign" {
                    assert!(arg.is_err());
                    continue;
                }
                let arg = arg.unwrap_or_else(|e| panic!("{w}: {e}"));
                assert_eq!(arg.written(), w);
            }
        }
        assert_eq!(ArgKind::Step.parse("+1"), Ok(Arg::Step(1)));
        assert_eq!(
            ArgKind::Step.parse("-2").map(|a| a.written()),
            Ok("-2".into())
        );
    }

    #[test]
    fn bad_arguments_say_what_they_should_be() {
        let e = ArgKind::Direction.parse("up").err().unwrap_or_default();
        assert_eq!(e, "\"up\" is not a direction: west, east, north, south");
        assert!(ArgKind::Step.parse("0").is_err());
        assert!(ArgKind::Step.parse("+100").is_err());
        assert!(ArgKind::Step.parse("1e9").is_err());
        assert!(ArgKind::None.parse("x").is_err());
        assert!(ArgKind::Triage.parse("snooze forever").is_err());
        assert!(ArgKind::Triage.parse("wake up").is_err());
        assert_eq!(
            ArgKind::Triage.parse("assign bob smith"),
            Ok(Arg::Triage(TriageAction::Assign, Some("bob smith".into())))
        );
        assert!(
            ArgKind::Name(Names::Site)
                .parse("")
                .err()
                .unwrap_or_default()
                .contains("site name")
        );
    }
}
