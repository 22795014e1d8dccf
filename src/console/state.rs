//! Everything the console shows, and nothing that does IO.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use super::model::FleetModel;
use crate::domain::Id;
use crate::domain::incident::Incident;
use crate::domain::push::Push;
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

/// The push history of one device, as an overlay.
#[derive(Debug, Clone)]
pub struct History {
    pub device: Id,
    pub name: String,
    pub pushes: Vec<Push>,
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

/// The console's state.
#[derive(Debug)]
pub struct App {
    /// The view on screen.
    pub view: super::lists::View,
    /// Selection and scroll of the views not on screen.
    pub positions: super::lists::Positions,
    /// The live alert tail.
    pub tail: super::lists::Tail,
    /// The `:` command being typed.
    pub palette: String,
    /// Views visited before this one (`ctrl-o` goes back).
    pub back: Vec<super::lists::View>,
    /// Views left by going back (`tab` goes forward again).
    pub forward: Vec<super::lists::View>,
    /// The tenants in scope, as the worker last said.
    pub tenants: Vec<crate::domain::model::Tenant>,
    /// Wallboard mode: read-only, the views rotate every this many real
    /// seconds.
    pub wallboard: Option<u32>,
    /// When the wallboard last turned to the next view.
    pub rotated_at: Option<DateTime<Utc>>,
    /// An action that waits for its key again (resolving an incident), and
    /// until when.
    pub confirm: Option<(Id, DateTime<Utc>)>,
    pub fleet: FleetModel,
    /// The map's sites, links and camera.
    pub map: super::map::MapState,
    /// What the detail pane, site, trends and audit views fetched.
    pub fetched: super::fetch::Fetched,
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
    /// The api scope: a tenant id or `_all`.
    pub api_scope: String,
    /// Pushes this console knows of (open ones at start, then every push
    /// event), by push id.
    pub pushes: std::collections::BTreeMap<Id, Push>,
    /// The push being prepared.
    pub editor: Option<Box<super::push::Draft>>,
    /// The incident note being written.
    pub note: Option<Box<super::incident::NoteDraft>>,
    /// The incident queue shows resolved incidents too.
    pub queue_resolved: bool,
    /// Incidents marked for a bulk action or a merge, as (tenant, incident).
    pub incident_marks: Vec<(Id, Id)>,
    /// Alerts of the tail marked to merge into one incident.
    pub alert_marks: Vec<(Id, Id)>,
    pub history: Option<History>,
    /// Default revert window of pushes made here, in seconds.
    pub push_window_s: u32,
    /// Devices marked for a bulk action, as (tenant, device), in the order
    /// they were marked (a rollout's order: the first is the canary).
    pub marks: Vec<(Id, Id)>,
    pub quit: bool,
}

impl App {
    /// A console with no data yet.
    pub fn new(scope: &str, user: &str, now: DateTime<Utc>) -> Self {
        Self {
            view: super::lists::View::Fleet,
            positions: super::lists::Positions::default(),
            tail: super::lists::Tail::default(),
            palette: String::new(),
            back: Vec::new(),
            forward: Vec::new(),
            confirm: None,
            wallboard: None,
            rotated_at: None,
            tenants: Vec::new(),
            fleet: FleetModel::default(),
            map: super::map::MapState::default(),
            fetched: super::fetch::Fetched::default(),
            size: (80, 24),
            selected: 0,
            offset: 0,
            page: 20,
            mode: Mode::Normal,
            filter_input: String::new(),
            help: false,
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
            api_scope: crate::bus::subject::ALL_TENANTS.to_string(),
            pushes: std::collections::BTreeMap::new(),
            editor: None,
            note: None,
            queue_resolved: false,
            incident_marks: Vec::new(),
            alert_marks: Vec::new(),
            history: None,
            push_window_s: 300,
            marks: Vec::new(),
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
        if self.view != super::lists::View::Fleet {
            return None;
        }
        self.fleet.get(self.selected)
    }

    /// The applied push to act on: the selected device's, else the one
    /// whose window closes first.
    pub fn urgent_push(&self) -> Option<&Push> {
        let dev = self.selected_row().map(|r| (&r.tenant, &r.id));
        super::push::most_urgent(self.pushes.values(), dev)
    }

    /// Rows in the view on screen.
    pub fn view_len(&self) -> usize {
        use super::lists::{View, alert_tail};
        match self.view {
            View::Fleet => self.fleet.len(),
            View::Incidents => super::incident::queue(self).len(),
            View::Alerts => alert_tail(&self.tail.alerts, &self.filter_input).len(),
            View::Board => 0,
            View::Tenants => super::lists::tenant_count(self),
            View::Map => self.map.shown(&self.filter_input).count(),
            View::Site => super::site::rows(self).len(),
            View::Trends => super::trends::rows(self).len(),
            View::Audit => super::lists::audit_rows(self).len(),
        }
    }

    /// Puts `v` on screen, keeping each view's place and filter.
    pub fn show(&mut self, v: super::lists::View) {
        if v == self.view {
            return;
        }
        self.back.push(self.view);
        if self.back.len() > 50 {
            self.back.remove(0);
        }
        self.forward.clear();
        self.switch(v);
    }

    /// Back to the view before.
    pub fn go_back(&mut self) {
        if let Some(v) = self.back.pop() {
            self.forward.push(self.view);
            self.switch(v);
        }
    }

    /// Forward to the view left by going back.
    pub fn go_forward(&mut self) {
        if let Some(v) = self.forward.pop() {
            self.back.push(self.view);
            self.switch(v);
        }
    }

    fn switch(&mut self, v: super::lists::View) {
        let here = super::lists::Place {
            selected: self.selected,
            offset: self.offset,
            filter: std::mem::take(&mut self.filter_input),
        };
        self.positions.set(self.view, here);
        self.view = v;
        let there = self.positions.take(v);
        (self.selected, self.offset, self.filter_input) =
            (there.selected, there.offset, there.filter);
        self.clamp();
    }

    /// Wallboard: turns to the next view when its time is up.
    pub fn rotate(&mut self) {
        let Some(every) = self.wallboard else {
            return;
        };
        let since = *self.rotated_at.get_or_insert(self.now);
        let real_s =
            (self.now - since).num_milliseconds() as f64 / 1000.0 / self.clock_speed.max(1e-9);
        if real_s >= f64::from(every.max(1)) {
            let rot = super::lists::ROTATION;
            let at = rot
                .iter()
                .position(|v| *v == self.view)
                .map_or(0, |i| (i + 1) % rot.len());
            self.switch(rot[at]);
            self.back.clear();
            self.rotated_at = Some(self.now);
        }
    }

    /// Applies the typed filter to the view on screen, from its first row.
    pub fn apply_filter(&mut self) {
        if self.view == super::lists::View::Fleet {
            self.fleet.set_filter(&self.filter_input);
            self.fleet.refresh();
        }
        self.selected = 0;
        self.clamp();
    }

    /// Where the view on screen puts its table (see `layout`).
    pub fn body_kind(&self) -> super::layout::Body {
        use super::layout::Body;
        use super::lists::View;
        match self.view {
            View::Fleet if self.fetched.detail_open => Body::TableAndPane,
            View::Incidents if self.fetched.incident_open => Body::TableAndPane,
            View::Site => Body::Site {
                sectors: super::site::sectors(self).len(),
            },
            View::Trends => Body::Trends,
            _ => Body::Table,
        }
    }

    /// Keeps the selection inside the view and visible (in the rows the
    /// view's table has at this size).
    pub fn clamp(&mut self) {
        self.page = super::layout::table_rows(self.size, self.body_kind());
        let n = self.view_len();
        if n == 0 {
            self.selected = 0;
            self.offset = 0;
            return;
        }
        self.selected = self.selected.min(n - 1);
        let page = self.page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        self.offset = self.offset.min(n.saturating_sub(page));
    }
}
