//! The command registry: every command a key, the `:` palette or the help
//! can name, in one table. A row is the command's name, the least role
//! that may run it, the kind of argument it takes, the keymap sections
//! it may be bound in, what it does, and its handler. Keys and the palette
//! run an `Invocation` (a command and its argument) through `run`, which
//! applies the same role gate to both.

pub mod args;

use super::actions as act;
use super::app::App;
use super::msg::{Edit, Effect};
use crate::domain::access::Role;
use crate::settings::keymap::{Bindable, Section};
pub use args::{Arg, ArgKind, Direction, Motion, Names, Zoom};

/// What running a command does.
#[derive(Debug, Clone, Copy)]
pub enum Handler {
    /// A function of the state and the argument.
    Run(fn(&mut App, &Arg) -> Vec<Effect>),
    /// An edit of the text being typed, which the mode on screen applies.
    Edit(Edit),
    /// Nothing: unbinds a key in a keymap patch.
    Unbind,
}

/// One command.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    pub need: Role,
    pub arg: ArgKind,
    /// The keymap sections it may be bound in.
    pub sections: &'static [Section],
    pub desc: &'static str,
    pub run: Handler,
}

const NORMAL: &[Section] = &[Section::Normal];
const EVERY: &[Section] = &Section::ALL;
const LINES: &[Section] = &[Section::Filter, Section::Palette, Section::Editor];
const TYPING: &[Section] = &[
    Section::Filter,
    Section::Palette,
    Section::Note,
    Section::Editor,
];
const TEXTS: &[Section] = &[Section::Note, Section::Editor];
const PALETTE_ONLY: &[Section] = &[Section::Palette];
const EDITOR_ONLY: &[Section] = &[Section::Editor];

macro_rules! commands {
    ($($id:ident $name:literal $need:ident $arg:expr, $sections:ident, $desc:literal => $run:expr;)*) => {
        $(
            #[doc = $desc]
            pub static $id: Command = Command {
                name: $name,
                need: Role::$need,
                arg: $arg,
                sections: $sections,
                desc: $desc,
                run: $run,
            };
        )*
        /// Every command, in the order the palette lists them.
        pub static COMMANDS: &[&Command] = &[$(&$id),*];
    };
}

commands! {
    QUIT "quit" Wallboard ArgKind::None, EVERY, "Quit vigie" => Handler::Run(act::quit);
    MOVE "move" Wallboard ArgKind::Motion, NORMAL, "Move the selection" => Handler::Run(act::motion);
    EXPORT "export" Viewer ArgKind::Text, NORMAL, "Write the view's rows, as filtered, to a file: [csv|json|jsonl] [PATH]" => Handler::Run(act::export);
    COPY "copy" Viewer ArgKind::None, NORMAL, "Copy the selected row's id" => Handler::Run(act::copy_id);
    COPY_LINE "copy-line" Viewer ArgKind::None, NORMAL, "Copy a one-line summary of the selected row" => Handler::Run(act::copy_line);
    OPEN "open" Wallboard ArgKind::None, NORMAL, "Open: a device's detail, a site's view, an incident's timeline" => Handler::Run(act::open);
    BACK "back" Wallboard ArgKind::None, NORMAL, "Back to the view before" => Handler::Run(act::back);
    FORWARD "forward" Wallboard ArgKind::None, NORMAL, "Forward to the view left by going back" => Handler::Run(act::forward);
    VIEW "view" Wallboard ArgKind::View, NORMAL, "Show a view: fleet, incidents, alerts, board, tenants, map, site, trends, audit, deliveries" => Handler::Run(act::view);
    FILTER "filter" Wallboard ArgKind::Text, NORMAL, "Filter the view (TEXT; without it, type it)" => Handler::Run(act::filter);
    CLEAR "clear" Wallboard ArgKind::None, NORMAL, "Clear the filter / close the overlay" => Handler::Run(act::clear);
    SORT_NEXT "sort-next" Wallboard ArgKind::None, NORMAL, "Sort by the next column" => Handler::Run(act::sort_next);
    SORT_REVERSE "sort-reverse" Wallboard ArgKind::None, NORMAL, "Reverse the sort order" => Handler::Run(act::sort_reverse);
    STATUS_NEXT "status-next" Wallboard ArgKind::None, NORMAL, "Show only one status (cycles online/stale/offline/pending/all)" => Handler::Run(act::status_next);
    GROUP_NEXT "group-next" Wallboard ArgKind::None, NORMAL, "Group the fleet by customer, by site, or not" => Handler::Run(act::group_next);
    HELP "help" Wallboard ArgKind::None, NORMAL, "Show or hide the keys" => Handler::Run(act::help);
    PALETTE "palette" Wallboard ArgKind::None, NORMAL, "The command palette" => Handler::Run(act::palette);
    PAUSE_TAIL "pause-tail" Wallboard ArgKind::None, NORMAL, "Pause or resume the alert tail" => Handler::Run(act::pause_tail);
    QUEUE_RESOLVED "queue-resolved" Viewer ArgKind::None, NORMAL, "Show or hide resolved incidents in the queue" => Handler::Run(act::queue_resolved);
    MARK "mark" Wallboard ArgKind::None, NORMAL, "Mark the row for a bulk action (esc clears the marks)" => Handler::Run(act::mark);
    MARK_RANGE "mark-range" Wallboard ArgKind::None, NORMAL, "Mark every row from the last marked one to here" => Handler::Run(act::mark_range);
    TRIAGE "triage" Operator ArgKind::Triage, NORMAL, "Act on the selected incident: acknowledge, take, escalate, assign NAME, resolve, snooze [LENGTH], wake, reopen, note, merge" => Handler::Run(act::triage);
    PUSH_EDIT "push-edit" Operator ArgKind::None, NORMAL, "Push a config to the device (or the marked: rollout)" => Handler::Run(act::push_edit);
    PUSH_CONFIRM "push-confirm" Operator ArgKind::None, NORMAL, "Confirm the pending push (else the device reverts)" => Handler::Run(act::push_confirm);
    PUSH_REVERT "push-revert" Operator ArgKind::None, NORMAL, "Revert that push now" => Handler::Run(act::push_revert);
    PUSH_HISTORY "push-history" Viewer ArgKind::None, NORMAL, "Push history of the selected device" => Handler::Run(act::push_history);
    DELIVERY_TEST "delivery-test" Operator ArgKind::None, NORMAL, "Deliveries: queue a test event to the selected destination" => Handler::Run(act::delivery_test);
    DELIVERY_REPLAY "delivery-replay" Operator ArgKind::None, NORMAL, "Deliveries: queue the selected destination's dead and expired again" => Handler::Run(act::delivery_replay);
    DELIVERY_PAUSE "delivery-pause" Admin ArgKind::None, NORMAL, "Deliveries: pause the selected destination (events keep queuing), or resume it" => Handler::Run(act::delivery_pause);
    RANGE "range" Viewer ArgKind::Step, NORMAL, "Charts and trends: a longer (+1) or shorter (-1) time range" => Handler::Run(act::range);
    CHART_NEXT "chart-next" Viewer ArgKind::None, NORMAL, "Trends: chart the signal, the CPU or the memory" => Handler::Run(act::chart_next);
    ZOOM "zoom" Wallboard ArgKind::Zoom, NORMAL, "Map: zoom in, out, or fit the sites again" => Handler::Run(act::zoom);
    PAN "pan" Wallboard ArgKind::Direction, NORMAL, "Map: move west, east, north or south" => Handler::Run(act::pan);
    DEVICE "device" Wallboard ArgKind::Name(Names::Device), NORMAL, "NAME: the fleet, on that device" => Handler::Run(act::device);
    TENANT "tenant" Wallboard ArgKind::Name(Names::Tenant), NORMAL, "NAME: the fleet of one tenant" => Handler::Run(act::tenant);
    SITE "site" Viewer ArgKind::Name(Names::Site), NORMAL, "NAME: one site's sectors, devices, links and alerts" => Handler::Run(act::site);
    ACCEPT "accept" Wallboard ArgKind::None, LINES, "Keep the filter / run the command / next field, then send" => Handler::Edit(Edit::Accept);
    CANCEL "cancel" Wallboard ArgKind::None, TYPING, "Leave without keeping what was typed (the editor: back a step)" => Handler::Edit(Edit::Cancel);
    DELETE_BACK "delete-back" Wallboard ArgKind::None, LINES, "Delete the character before the cursor" => Handler::Edit(Edit::DeleteBack);
    CLEAR_LINE "clear-line" Wallboard ArgKind::None, LINES, "Clear the line" => Handler::Edit(Edit::ClearLine);
    COMPLETE "complete" Wallboard ArgKind::None, PALETTE_ONLY, "Complete the command or the name" => Handler::Edit(Edit::Complete);
    NEXT_FIELD "next-field" Wallboard ArgKind::None, EDITOR_ONLY, "The review's other field" => Handler::Edit(Edit::NextField);
    SAVE "save" Wallboard ArgKind::None, TEXTS, "Save the note / review the push" => Handler::Edit(Edit::Save);
    NONE "none" Wallboard ArgKind::None, EVERY, "Unbind the key" => Handler::Unbind;
}

/// Short names the palette takes, as what they stand for.
pub const PALETTE_ALIASES: &[(&str, &str)] = &[
    ("fleet", "view fleet"),
    ("incidents", "view incidents"),
    ("alerts", "view alerts"),
    ("tenants", "view tenants"),
    ("map", "view map"),
    ("trends", "view trends"),
    ("audit", "view audit"),
    ("deliveries", "view deliveries"),
    ("assign", "triage assign"),
    ("snooze", "triage snooze"),
    ("q", "quit"),
];

/// The names keymap files used before commands took arguments.
const KEYMAP_NAMES_BEFORE: &[(&str, &str)] = &[
    ("move-down", "move down"),
    ("move-up", "move up"),
    ("page-down", "move page-down"),
    ("page-up", "move page-up"),
    ("go-top", "move top"),
    ("go-bottom", "move bottom"),
    ("view-fleet", "view fleet"),
    ("view-incidents", "view incidents"),
    ("view-alerts", "view alerts"),
    ("view-tenants", "view tenants"),
    ("view-map", "view map"),
    ("view-site", "view site"),
    ("view-trends", "view trends"),
    ("view-audit", "view audit"),
    ("range-longer", "range +1"),
    ("range-shorter", "range -1"),
    ("map-zoom-in", "zoom in"),
    ("map-zoom-out", "zoom out"),
    ("map-fit", "zoom fit"),
    ("pan-west", "pan west"),
    ("pan-east", "pan east"),
    ("pan-north", "pan north"),
    ("pan-south", "pan south"),
    ("incident-ack", "triage acknowledge"),
    ("incident-take", "triage take"),
    ("incident-escalate", "triage escalate"),
    ("incident-resolve", "triage resolve"),
    ("incident-snooze", "triage snooze"),
    ("incident-wake", "triage wake"),
    ("incident-reopen", "triage reopen"),
    ("incident-note", "triage note"),
    ("incident-merge", "triage merge"),
];

/// A command with its argument: what a key or a palette line runs.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub command: &'static Command,
    pub arg: Arg,
}

impl PartialEq for Invocation {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.command, other.command) && self.arg == other.arg
    }
}

/// `word rest` with the first word looked up in `aliases`.
fn expand(text: &str, aliases: &[(&str, &str)]) -> String {
    let text = text.trim();
    let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
    match aliases.iter().find(|(a, _)| *a == first) {
        Some((_, to)) if rest.trim().is_empty() => (*to).to_string(),
        Some((_, to)) => format!("{to} {}", rest.trim()),
        None => text.to_string(),
    }
}

/// The command named `name`.
pub fn named(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().copied().find(|c| c.name == name)
}

impl Invocation {
    /// A command with its argument, built in code.
    pub fn new(command: &'static Command, arg: Arg) -> Self {
        Self { command, arg }
    }

    /// A command that takes no argument.
    pub fn bare(command: &'static Command) -> Self {
        Self::new(command, Arg::None)
    }

    /// Reads `text` as bound in `section`.
    pub fn read(section: Section, text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, rest) = text.split_once(' ').unwrap_or((text, ""));
        let command = named(name).ok_or_else(|| format!("unknown command {name:?}"))?;
        if !command.sections.contains(&section) {
            let wheres: Vec<&str> = command.sections.iter().map(|s| s.name()).collect();
            return Err(format!(
                "{name} is a command of {}, not of {}",
                wheres.join(", "),
                section.name()
            ));
        }
        let arg = command
            .arg
            .parse(rest.trim())
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Self { command, arg })
    }

    /// Reads a palette line (its short names expanded).
    pub fn from_palette(line: &str) -> Result<Self, String> {
        Self::read(Section::Normal, &expand(line, PALETTE_ALIASES))
    }

    /// The least role that may run it: the command's, or more for a view
    /// that needs more.
    pub fn need(&self) -> Role {
        self.command.need.max(self.arg.need())
    }

    /// The edit it makes of the text being typed, if it is one.
    pub fn edit(&self) -> Option<Edit> {
        match self.command.run {
            Handler::Edit(e) => Some(e),
            _ => None,
        }
    }
}

impl Bindable for Invocation {
    fn parse(section: Section, text: &str) -> Result<Self, String> {
        Self::read(section, &expand(text, KEYMAP_NAMES_BEFORE))
    }

    fn written(&self) -> String {
        match self.arg.written() {
            a if a.is_empty() => self.command.name.to_string(),
            a => format!("{} {a}", self.command.name),
        }
    }

    fn need(&self) -> Role {
        Invocation::need(self)
    }

    fn describe(&self) -> String {
        self.arg
            .describe()
            .unwrap_or_else(|| self.command.desc.to_string())
    }

    fn is_unbind(&self) -> bool {
        matches!(self.command.run, Handler::Unbind)
    }
}

/// Runs one command, if the user's role may: the gate of keys, the
/// palette and the mouse alike (the worker checks again).
pub fn run(app: &mut App, inv: &Invocation) -> Vec<Effect> {
    let need = inv.need();
    if app.read_only && need > crate::domain::access::Role::Viewer {
        let text = format!(
            "read-only console: {} would change something",
            inv.written()
        );
        app.notify(text, true, 5);
        return Vec::new();
    }
    if need > app.role {
        let text = format!(
            "{} needs the {need} role; you are {}",
            inv.written(),
            app.role
        );
        app.notify(text, true, 5);
        return Vec::new();
    }
    let Handler::Run(f) = inv.command.run else {
        return Vec::new();
    };
    if inv.command.name != QUIT.name {
        app.quit_armed = false;
    }
    let effects = f(app, &inv.arg);
    if effects.is_empty() {
        app.clamp();
    }
    effects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_command_reads_back() {
        for (i, c) in COMMANDS.iter().enumerate() {
            assert!(
                COMMANDS[..i].iter().all(|d| d.name != c.name),
                "{} twice",
                c.name
            );
            assert!(!c.sections.is_empty(), "{}", c.name);
        }
        for text in [
            "view incidents",
            "pan west",
            "triage acknowledge",
            "range +1",
            "quit",
        ] {
            let inv = Invocation::read(Section::Normal, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(inv.written(), text);
        }
        let old = <Invocation as Bindable>::parse(Section::Normal, "incident-ack");
        assert_eq!(old.map(|i| i.written()), Ok("triage acknowledge".into()));
        let short = Invocation::from_palette("snooze 30m").map(|i| i.written());
        assert_eq!(short, Ok("triage snooze 30m".into()));
    }

    #[test]
    fn commands_stay_in_their_sections_and_say_what_is_wrong() {
        let e = Invocation::read(Section::Filter, "view fleet").err();
        assert_eq!(
            e.as_deref(),
            Some("view is a command of normal, not of filter")
        );
        assert!(Invocation::read(Section::Normal, "accept").is_err());
        assert!(Invocation::read(Section::Palette, "quit").is_ok());
        assert_eq!(
            Invocation::read(Section::Normal, "nonsense")
                .err()
                .as_deref(),
            Some("unknown command \"nonsense\"")
        );
        let e = Invocation::read(Section::Normal, "pan up")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("pan: \"up\" is not a direction"), "{e}");
    }

    #[test]
    fn the_views_that_need_more_say_so() {
        let audit =
            Invocation::read(Section::Normal, "view audit").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(audit.need(), Role::Viewer);
        let fleet =
            Invocation::read(Section::Normal, "view fleet").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fleet.need(), Role::Wallboard);
    }

    #[test]
    fn the_shipped_keymaps_read_cleanly_and_bind_every_command_of_the_keys() {
        use crate::settings::keymap::{Lookup, SHIPPED, check_file, parse_keys};
        for (name, text) in SHIPPED {
            let warnings = check_file::<Invocation>(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let k = |s: &str| parse_keys(s).unwrap_or_else(|e| panic!("{e}"));
        let run = |s: &str| Invocation::read(Section::Normal, s).unwrap_or_else(|e| panic!("{e}"));
        for name in ["default", "emacs"] {
            let (map, problems) = crate::console::KeyMap::load(name, dir.path());
            assert!(problems.is_empty(), "{problems:?}");
            // Every command of the normal mode but the palette's own has
            // a key; every mode can be left.
            for c in COMMANDS.iter().filter(|c| matches!(c.run, Handler::Run(_))) {
                if matches!(c.arg, ArgKind::Name(_)) {
                    continue;
                }
                assert!(
                    map.bindings()
                        .iter()
                        .any(|b| std::ptr::eq(b.run.command, *c)),
                    "{name} leaves {} unbound",
                    c.name
                );
            }
            for s in [
                Section::Filter,
                Section::Palette,
                Section::Note,
                Section::Editor,
            ] {
                assert!(
                    map.bindings()
                        .iter()
                        .any(|b| b.section == s && b.run.edit() == Some(Edit::Cancel)),
                    "{name}: no way out of {}",
                    s.name()
                );
            }
            // What `vigie keymap print` writes loads back as the same.
            let printed = map.print();
            let file = dir.path().join(format!("{name}-printed.toml"));
            std::fs::write(&file, &printed).unwrap_or_else(|e| panic!("{e}"));
            let (again, problems) =
                crate::console::KeyMap::load(&file.display().to_string(), dir.path());
            assert!(problems.is_empty(), "{problems:?}");
            assert_eq!(again.help(), map.help(), "{printed}");
        }
        let (emacs, _) = crate::console::KeyMap::load("emacs", dir.path());
        assert_eq!(
            emacs.lookup(Section::Normal, &[], k("ctrl-n")[0]),
            Lookup::Run(run("move down"))
        );
        assert_eq!(
            emacs.lookup(Section::Normal, &[], k("j")[0]),
            Lookup::Unbound
        );
        assert_eq!(
            emacs.lookup(Section::Normal, &[], k("ctrl-x")[0]),
            Lookup::Pending
        );
        assert_eq!(
            emacs.lookup(Section::Normal, &k("ctrl-x"), k("ctrl-c")[0]),
            Lookup::Run(run("quit"))
        );
        assert_eq!(
            emacs.lookup(Section::Normal, &[], k("C")[0]),
            Lookup::Run(run("push-confirm"))
        );
        assert_eq!(
            emacs.help().len(),
            crate::console::KeyMap::builtin().help().len()
        );
    }
}
