//! The console's screens, one module each: its own state, its rows, what
//! it asks the worker for, its answers, its actions and its drawing. A
//! screen reads the shared state and its own slice, never another
//! screen's; what it needs of another (the fleet's marks for a rollout)
//! is handed to it. The table below is how the rest of the console asks
//! a screen for what every screen has.

pub mod alerts;
pub mod audit;
pub mod board;
pub mod deliveries;
pub mod fleet;
pub mod incidents;
pub mod map;
pub mod pushes;
pub mod site;
pub mod tenants;
pub mod trends;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::app::App;
use super::layout::Body;
use super::msg::Effect;
use super::nav::View;
use crate::domain::access::Role;
use crate::settings::theme::Theme;

/// Each screen's own state.
#[derive(Debug, Default)]
pub struct Screens {
    pub fleet: fleet::State,
    pub incidents: incidents::State,
    pub alerts: alerts::State,
    pub tenants: tenants::State,
    pub map: map::State,
    pub site: site::State,
    pub trends: trends::State,
    pub audit: audit::State,
    pub pushes: pushes::State,
    pub deliveries: deliveries::State,
}

/// A row of the screens table.
pub struct Screen {
    pub view: View,
    /// Rows in its table: what paging and the selection keep within.
    pub len: fn(&App) -> usize,
    /// Where its table falls (see `layout`), for paging and clicks.
    pub body: fn(&App) -> Body,
    /// The calls it needs now, while on screen.
    pub plan: fn(&mut App) -> Vec<Effect>,
    /// Its drawing in the body.
    pub draw: fn(&App, &Theme, &mut Frame<'_>, Rect),
    /// The footer's words on its rows; empty for the fleet and the board,
    /// whose footers say other things.
    pub info: fn(&App, usize) -> String,
}

/// No calls: a wallboard credential reads no detail, no site, no log.
fn reads(app: &App) -> bool {
    app.role >= Role::Viewer
}

fn none(_: &App, _: usize) -> String {
    String::new()
}

fn table(_: &App) -> Body {
    Body::Table
}

/// The screens, in the order of `View::ALL`.
pub static SCREENS: [Screen; 10] = [
    Screen {
        view: View::Fleet,
        len: |a| a.fleet.len(),
        body: |a| match a.screens.fleet.detail_open {
            true => Body::TableAndPane,
            false => Body::Table,
        },
        plan: |a| match reads(a) {
            true => fleet::plan(&a.shared, &mut a.screens.fleet),
            false => Vec::new(),
        },
        draw: |a, t, f, r| fleet::draw(&a.shared, &a.screens.fleet, t, f, r),
        info: none,
    },
    Screen {
        view: View::Incidents,
        len: |a| incidents::queue(&a.shared, &a.screens.incidents).len(),
        body: |a| match a.screens.incidents.open {
            true => Body::TableAndPane,
            false => Body::Table,
        },
        plan: |a| match reads(a) {
            true => incidents::plan(&a.shared, &mut a.screens.incidents),
            false => Vec::new(),
        },
        draw: |a, t, f, r| incidents::draw(&a.shared, &a.screens.incidents, t, f, r),
        info: |a, n| incidents::info(&a.shared, &a.screens.incidents, n),
    },
    Screen {
        view: View::Alerts,
        len: |a| alerts::rows(&a.shared, &a.screens.alerts).len(),
        body: table,
        plan: |_| Vec::new(),
        draw: |a, t, f, r| alerts::draw(&a.shared, &a.screens.alerts, t, f, r),
        info: |a, n| alerts::info(&a.screens.alerts, n),
    },
    Screen {
        view: View::Board,
        len: |_| 0,
        body: table,
        plan: |_| Vec::new(),
        draw: |a, t, f, r| board::draw(&a.shared, t, f, r),
        info: none,
    },
    Screen {
        view: View::Tenants,
        len: |a| tenants::count(&a.shared, &a.screens.tenants),
        body: table,
        plan: |_| Vec::new(),
        draw: |a, t, f, r| tenants::draw(&a.shared, &a.screens.tenants, t, f, r),
        info: |_, n| tenants::info(n),
    },
    Screen {
        view: View::Map,
        len: |a| a.screens.map.shown(&a.filter_input).count(),
        body: table,
        // The map is a wallboard's too: it asks whatever the role.
        plan: |a| map::plan(&a.shared, &mut a.screens.map),
        draw: |a, t, f, r| map::draw(&a.shared, &a.screens.map, t, f, r),
        info: |_, n| map::info(n),
    },
    Screen {
        view: View::Site,
        len: |a| site::rows(&a.shared, &a.screens.site).len(),
        body: |a| Body::Site {
            sectors: site::sectors(&a.shared, &a.screens.site).len(),
        },
        plan: |a| match reads(a) {
            true => site::plan(&a.shared, &mut a.screens.site),
            false => Vec::new(),
        },
        draw: |a, t, f, r| site::draw(&a.shared, &a.screens.site, t, f, r),
        info: |_, n| site::info(n),
    },
    Screen {
        view: View::Trends,
        len: |a| trends::rows(&a.shared, &a.screens.trends).len(),
        body: |_| Body::Trends,
        plan: |a| match reads(a) {
            true => trends::plan(&a.shared, &mut a.screens.trends),
            false => Vec::new(),
        },
        draw: |a, t, f, r| trends::draw(&a.shared, &a.screens.trends, t, f, r),
        info: |a, n| trends::info(&a.screens.trends, n),
    },
    Screen {
        view: View::Audit,
        len: |a| audit::rows(&a.shared, &a.screens.audit).len(),
        body: table,
        plan: |a| match reads(a) {
            true => audit::plan(&a.shared, &mut a.screens.audit),
            false => Vec::new(),
        },
        draw: |a, t, f, r| audit::draw(&a.shared, &a.screens.audit, t, f, r),
        info: |_, n| audit::info(n),
    },
    Screen {
        view: View::Deliveries,
        len: |a| deliveries::rows(&a.shared, &a.screens.deliveries).len(),
        body: |a| match a.screens.deliveries.open {
            true => Body::TableAndPane,
            false => Body::Table,
        },
        plan: |a| match reads(a) {
            true => {
                let selected = deliveries::selected(&a.shared, &a.screens.deliveries);
                deliveries::plan(&a.shared, &mut a.screens.deliveries, selected)
            }
            false => Vec::new(),
        },
        draw: |a, t, f, r| deliveries::draw(&a.shared, &a.screens.deliveries, t, f, r),
        info: |_, n| deliveries::info(n),
    },
];

/// The screen of `v`.
pub fn of(v: View) -> &'static Screen {
    &SCREENS[v.index()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_of_the_views() {
        for v in View::ALL {
            assert_eq!(of(v).view, v);
        }
    }
}
