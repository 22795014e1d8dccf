//! The trends view's rows: the worker's ranking of signal changes, joined
//! with the live fleet for names, filtered by the view's filter. Pure.

use super::app::App;
use super::lists::matches;
use crate::api::views::Trends;
use crate::domain::model::DeviceRow;
use crate::domain::site::SignalTrend;

/// One line of the ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow<'a> {
    pub trend: &'a SignalTrend,
    /// The device's live row, when the fleet has it.
    pub device: Option<&'a DeviceRow>,
    /// Recent minus baseline, in dB.
    pub change_db: Option<f32>,
}

/// The trends, when they answer the range on screen.
pub fn current(app: &App) -> Option<&Trends> {
    app.screens
        .trends
        .trends
        .current(&app.screens.trends.range().0.to_string())
}

/// The ranking as the worker sent it (the most fallen first), with names.
pub fn rows(app: &App) -> Vec<TrendRow<'_>> {
    let Some(t) = current(app) else {
        return Vec::new();
    };
    t.rows
        .iter()
        .map(|trend| TrendRow {
            trend,
            device: app.fleet.find(&trend.tenant, &trend.device),
            change_db: Trends::drop_db(trend),
        })
        .filter(|r| {
            let name = r
                .device
                .map_or(r.trend.device.as_str(), |d| d.name.as_str());
            let site = r
                .device
                .map_or(r.trend.site.as_str(), |d| d.site_name.as_str());
            matches(&app.filter_input, &[name, site, r.trend.tenant.as_str()])
        })
        .collect()
}
