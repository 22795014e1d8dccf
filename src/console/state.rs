//! Everything the console shows, and nothing that does IO.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use super::model::FleetModel;
use crate::domain::Id;
use crate::domain::incident::Incident;
use crate::settings::keymap::{Key, Section};

/// Where typed keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing into the filter line.
    Filter,
    /// The push editor has the keys.
    Push,
    /// Typing a `:` command.
    Palette,
    /// Writing a note on an incident.
    Note,
}

impl Mode {
    /// The keymap section whose keys the mode takes.
    pub fn section(self) -> Section {
        match self {
            Mode::Normal => Section::Normal,
            Mode::Filter => Section::Filter,
            Mode::Push => Section::Editor,
            Mode::Palette => Section::Palette,
            Mode::Note => Section::Note,
        }
    }
}

/// Link to the worker, as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// Lost, with the reason; retrying.
    Lost(String),
}

/// A message shown for a while in the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub text: String,
    pub error: bool,
    pub until: DateTime<Utc>,
}

/// The console's state that every screen shares: where the user is, the
/// live fleet and incidents, the connection, the session.
#[derive(Debug)]
pub struct Shared {
    /// The view on screen.
    pub view: super::nav::View,
    /// Selection and scroll of the views not on screen.
    pub positions: super::nav::Positions,
    /// The `:` command being typed.
    pub palette: String,
    /// Views visited before this one (`ctrl-o` goes back).
    pub back: Vec<super::nav::View>,
    /// Views left by going back (`tab` goes forward again).
    pub forward: Vec<super::nav::View>,
    /// Wallboard mode: read-only, the views rotate every this many real
    /// seconds.
    pub wallboard: Option<u32>,
    /// When the wallboard last turned to the next view.
    pub rotated_at: Option<DateTime<Utc>>,
    /// An action that waits for its key again (resolving an incident), and
    /// until when.
    pub confirm: Option<(Id, DateTime<Utc>)>,
    pub fleet: FleetModel,
    /// The terminal's size in cells, as last told.
    pub size: (u16, u16),
    /// Selected position in the view.
    pub selected: usize,
    /// First visible position in the view.
    pub offset: usize,
    /// Table rows that fit on screen (set on resize).
    pub page: usize,
    pub mode: Mode,
    pub filter_input: String,
    pub help: bool,
    /// The help's first line shown, and its number of lines (both set as
    /// keys move it; drawing clamps).
    pub help_scroll: usize,
    pub help_len: usize,
    /// `q` was pressed once while a push awaits confirmation: a second
    /// `q`, next, quits.
    pub quit_armed: bool,
    /// Keys of a chord typed so far.
    pub pending: Vec<Key>,
    pub incidents: HashMap<(Id, Id), Incident>,
    pub toasts: VecDeque<Toast>,
    pub connection: Connection,
    /// Age of the newest event when it arrived, in real milliseconds.
    pub lag_ms: Option<i64>,
    /// Clock seconds per real second (the demo's `--speed`), to turn clock
    /// ages into real ones.
    pub clock_speed: f64,
    pub now: DateTime<Utc>,
    /// Events stream sequence applied so far.
    pub events_seq: u64,
    /// What the console looks at: a tenant id or "all tenants".
    pub scope: String,
    pub user: String,
    /// The user's role: actions it may not use are hidden and refused.
    pub role: crate::domain::access::Role,
    /// Read-only: every command that changes something is hidden and
    /// refused before any call, whatever the role.
    pub read_only: bool,
    /// The api scope: a tenant id or `_all`.
    pub api_scope: String,
    pub quit: bool,
}

impl Shared {
    /// The role commands are gated by: the user's, at most a viewer's
    /// when read-only.
    pub fn acting_role(&self) -> crate::domain::access::Role {
        if self.read_only {
            self.role.min(crate::domain::access::Role::Viewer)
        } else {
            self.role
        }
    }

    /// A console with no data yet.
    pub fn new(scope: &str, user: &str, now: DateTime<Utc>) -> Self {
        Self {
            view: super::nav::View::Fleet,
            positions: super::nav::Positions::default(),
            palette: String::new(),
            back: Vec::new(),
            forward: Vec::new(),
            confirm: None,
            wallboard: None,
            rotated_at: None,
            fleet: FleetModel::default(),
            size: (80, 24),
            selected: 0,
            offset: 0,
            page: 20,
            mode: Mode::Normal,
            filter_input: String::new(),
            help: false,
            help_scroll: 0,
            help_len: 0,
            quit_armed: false,
            pending: Vec::new(),
            incidents: HashMap::new(),
            toasts: VecDeque::new(),
            connection: Connection::Connecting,
            lag_ms: None,
            clock_speed: 1.0,
            now,
            events_seq: 0,
            scope: scope.to_string(),
            user: user.to_string(),
            role: crate::domain::access::Role::SuperAdmin,
            read_only: false,
            api_scope: crate::bus::subject::ALL_TENANTS.to_string(),
            quit: false,
        }
    }

    /// Open incidents.
    pub fn open_incidents(&self) -> usize {
        self.incidents
            .values()
            .filter(|i| i.state.is_open())
            .count()
    }

    /// The newest toast still showing.
    pub fn toast(&self) -> Option<&Toast> {
        self.toasts.iter().rev().find(|t| t.until > self.now)
    }

    /// A dangerous action on `what` goes ahead only when its key is pressed
    /// again within five seconds: true on that second press; on the first
    /// it arms the confirm and shows `ask`.
    pub fn confirmed(&mut self, what: &Id, ask: String) -> bool {
        let armed = self
            .confirm
            .as_ref()
            .is_some_and(|(w, until)| w == what && self.now <= *until);
        if armed {
            self.confirm = None;
        } else {
            self.confirm = Some((what.clone(), self.now + chrono::Duration::seconds(5)));
            self.notify(ask, false, 5);
        }
        armed
    }

    /// An answer read as `T`; one that does not read is said on screen
    /// (`what` not read), never taken for an empty one.
    pub fn decoded<T: serde::de::DeserializeOwned>(
        &mut self,
        what: &str,
        v: serde_json::Value,
    ) -> Option<T> {
        match serde_json::from_value(v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.notify(format!("{what} not read: {e}"), true, 6);
                None
            }
        }
    }

    /// Shows a message for `secs` seconds.
    pub fn notify(&mut self, text: impl Into<String>, error: bool, secs: i64) {
        self.toasts.push_back(Toast {
            text: text.into(),
            error,
            until: self.now + chrono::Duration::seconds(secs),
        });
        while self.toasts.len() > 20 {
            self.toasts.pop_front();
        }
    }

    /// The selected device's row.
    /// The selected device, when the fleet is on screen.
    pub fn selected_row(&self) -> Option<&crate::domain::model::DeviceRow> {
        if self.view != super::nav::View::Fleet {
            return None;
        }
        self.fleet.get(self.selected)
    }
}
