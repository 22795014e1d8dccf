//! The console's state: what every screen shares, and each screen's own.
//! Nothing here does IO.

use std::ops::{Deref, DerefMut};

use chrono::{DateTime, Utc};

use crate::console::screens::{self, Screens};
use crate::console::state::Shared;
use crate::domain::push::Push;

/// The console's state.
#[derive(Debug)]
pub struct App {
    pub shared: Shared,
    pub screens: Screens,
}

impl Deref for App {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl DerefMut for App {
    fn deref_mut(&mut self) -> &mut Shared {
        &mut self.shared
    }
}

impl App {
    /// A console with no data yet.
    pub fn new(scope: &str, user: &str, now: DateTime<Utc>) -> Self {
        Self {
            shared: Shared::new(scope, user, now),
            screens: Screens::default(),
        }
    }

    /// The applied push to act on: the selected device's, else the one
    /// whose window closes first.
    pub fn urgent_push(&self) -> Option<&Push> {
        screens::pushes::urgent(&self.shared, &self.screens.pushes)
    }

    /// Rows in the view on screen.
    pub fn view_len(&self) -> usize {
        (screens::of(self.shared.view).len)(self)
    }

    /// Puts `v` on screen, keeping each view's place and filter.
    pub fn show(&mut self, v: crate::console::nav::View) {
        if v == self.shared.view {
            return;
        }
        self.shared.back.push(self.shared.view);
        if self.shared.back.len() > 50 {
            self.shared.back.remove(0);
        }
        self.shared.forward.clear();
        self.switch(v);
    }

    /// Back to the view before.
    pub fn go_back(&mut self) {
        if let Some(v) = self.shared.back.pop() {
            self.shared.forward.push(self.shared.view);
            self.switch(v);
        }
    }

    /// Forward to the view left by going back.
    pub fn go_forward(&mut self) {
        if let Some(v) = self.shared.forward.pop() {
            self.shared.back.push(self.shared.view);
            self.switch(v);
        }
    }

    fn switch(&mut self, v: crate::console::nav::View) {
        let here = crate::console::nav::Place {
            selected: self.shared.selected,
            offset: self.shared.offset,
            filter: std::mem::take(&mut self.shared.filter_input),
        };
        self.shared.positions.set(self.shared.view, here);
        self.shared.view = v;
        let there = self.shared.positions.take(v);
        (
            self.shared.selected,
            self.shared.offset,
            self.shared.filter_input,
        ) = (there.selected, there.offset, there.filter);
        self.clamp();
    }

    /// Wallboard: turns to the next view when its time is up.
    pub fn rotate(&mut self) {
        let Some(every) = self.shared.wallboard else {
            return;
        };
        let since = *self.shared.rotated_at.get_or_insert(self.shared.now);
        let real_s = (self.shared.now - since).num_milliseconds() as f64
            / 1000.0
            / self.shared.clock_speed.max(1e-9);
        if real_s >= f64::from(every.max(1)) {
            let rot = crate::console::nav::ROTATION;
            let at = rot
                .iter()
                .position(|v| *v == self.shared.view)
                .map_or(0, |i| (i + 1) % rot.len());
            self.switch(rot[at]);
            self.shared.back.clear();
            self.shared.rotated_at = Some(self.shared.now);
        }
    }

    /// Applies the typed filter to the view on screen, from its first row.
    pub fn apply_filter(&mut self) {
        if self.shared.view == crate::console::nav::View::Fleet {
            self.shared.fleet.set_filter(&self.shared.filter_input);
            self.shared.fleet.refresh();
        }
        self.shared.selected = 0;
        self.clamp();
    }

    /// Where the view on screen puts its table (see `layout`).
    pub fn body_kind(&self) -> crate::console::layout::Body {
        (screens::of(self.shared.view).body)(self)
    }

    /// Keeps the selection inside the view and visible (in the rows the
    /// view's table has at this size).
    pub fn clamp(&mut self) {
        self.shared.page = crate::console::layout::table_rows(self.shared.size, self.body_kind());
        let n = self.view_len();
        if n == 0 {
            self.shared.selected = 0;
            self.shared.offset = 0;
            return;
        }
        self.shared.selected = self.shared.selected.min(n - 1);
        let page = self.shared.page.max(1);
        if self.shared.selected < self.shared.offset {
            self.shared.offset = self.shared.selected;
        } else if self.shared.selected >= self.shared.offset + page {
            self.shared.offset = self.shared.selected + 1 - page;
        }
        self.shared.offset = self.shared.offset.min(n.saturating_sub(page));
    }
}
