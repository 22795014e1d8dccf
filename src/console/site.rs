//! The site view's rows: the site's devices sector by sector (live state
//! from the fleet, membership from the worker's `site` answer), each with
//! its radio link, and the sectors' tallies. Pure.

use std::collections::HashMap;

use super::app::App;
use super::lists::matches;
use crate::domain::Id;
use crate::domain::device::DeviceStatus;
use crate::domain::link::LinkState;
use crate::domain::model::{DeviceRow, LinkRow};
use crate::domain::site::{SectorDevices, SiteDetail};

/// One device line of the site view.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow<'a> {
    /// The sector's name and azimuth; `None` for devices in no sector.
    pub sector: Option<(&'a str, u16)>,
    pub device: &'a DeviceRow,
    /// A client's link, or an access point's links: (count, the worst
    /// state among them, the weakest signal).
    pub links: Option<(usize, LinkState, Option<f32>)>,
}

/// One sector's tally.
#[derive(Debug, Clone, PartialEq)]
pub struct SectorTally<'a> {
    pub sector: &'a SectorDevices,
    pub devices: usize,
    pub online: usize,
    /// Average signal of its clients that report one.
    pub avg_signal: Option<f32>,
    pub degraded: usize,
    pub down: usize,
}

/// The site detail, when it answers the site on screen.
pub fn detail(app: &App) -> Option<&SiteDetail> {
    let s = app.screens.site.site_ref.as_ref()?;
    app.screens
        .site
        .detail
        .current(&format!("{}/{}", s.tenant, s.id))
}

/// A sector's name without the site's first word when it repeats it
/// ("Boulder sector N" at "Boulder Tower 1" is "sector N").
pub fn short_sector<'a>(site: &str, sector: &'a str) -> &'a str {
    let first = site.split_whitespace().next().unwrap_or("");
    match sector.strip_prefix(first) {
        Some(rest) if !first.is_empty() && rest.starts_with(' ') => rest.trim_start(),
        _ => sector,
    }
}

/// How bad a link state is, for "the worst of an access point's links".
fn badness(s: LinkState) -> u8 {
    match s {
        LinkState::Discovered => 0,
        LinkState::Active => 1,
        LinkState::Degraded => 2,
        LinkState::Down => 3,
        LinkState::Stale => 4,
    }
}

/// Each device's links: count, worst state, weakest signal.
pub fn link_summary(links: &[LinkRow]) -> HashMap<&Id, (usize, LinkState, Option<f32>)> {
    let mut out: HashMap<&Id, (usize, LinkState, Option<f32>)> = HashMap::new();
    for l in links {
        for end in [&l.ap, &l.cpe] {
            let e = out.entry(end).or_insert((0, LinkState::Discovered, None));
            e.0 += 1;
            if badness(l.state) > badness(e.1) {
                e.1 = l.state;
            }
            e.2 = match (e.2, l.signal_dbm) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    out
}

/// The site's devices, sector by sector (by azimuth), then those in no
/// sector; access points first within a sector. Only those matching the
/// view's filter (name, kind, status).
pub fn rows(app: &App) -> Vec<SiteRow<'_>> {
    let (Some(site), Some(d)) = (app.screens.site.site_ref.as_ref(), detail(app)) else {
        return Vec::new();
    };
    let links = link_summary(&d.links);
    let mut out = Vec::new();
    let groups = d
        .sectors
        .iter()
        .map(|s| (Some((s.name.as_str(), s.azimuth_deg)), &s.devices))
        .chain(std::iter::once((None, &d.unsectored)));
    for (sector, ids) in groups {
        let mut devices: Vec<&DeviceRow> = ids
            .iter()
            .filter_map(|id| app.fleet.find(&site.tenant, id))
            .filter(|r| {
                matches(
                    &app.filter_input,
                    &[r.name.as_str(), r.kind.as_str(), r.status.as_str()],
                )
            })
            .collect();
        devices.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.name.cmp(&b.name)));
        out.extend(devices.into_iter().map(|device| SiteRow {
            sector,
            device,
            links: links.get(&device.id).copied(),
        }));
    }
    out
}

/// Each sector's tally, in azimuth order.
pub fn sectors(app: &App) -> Vec<SectorTally<'_>> {
    let Some(d) = detail(app) else {
        return Vec::new();
    };
    let Some(site) = app.screens.site.site_ref.as_ref() else {
        return Vec::new();
    };
    d.sectors
        .iter()
        .map(|sector| {
            let rows: Vec<&DeviceRow> = sector
                .devices
                .iter()
                .filter_map(|id| app.fleet.find(&site.tenant, id))
                .collect();
            let signals: Vec<f32> = rows
                .iter()
                .filter(|r| r.status == DeviceStatus::Online)
                .filter_map(|r| r.signal_dbm)
                .collect();
            let of = |st: LinkState| {
                d.links
                    .iter()
                    .filter(|l| l.state == st && sector.devices.contains(&l.ap))
                    .count()
            };
            SectorTally {
                sector,
                devices: rows.len(),
                online: rows
                    .iter()
                    .filter(|r| r.status == DeviceStatus::Online)
                    .count(),
                avg_signal: (!signals.is_empty())
                    .then(|| signals.iter().sum::<f32>() / signals.len() as f32),
                degraded: of(LinkState::Degraded),
                down: of(LinkState::Down) + of(LinkState::Stale),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sector_names_drop_the_site_they_repeat() {
        assert_eq!(
            short_sector("Boulder Tower 1", "Boulder sector N"),
            "sector N"
        );
        assert_eq!(
            short_sector("Boulder Tower 1", "Boulderish N"),
            "Boulderish N"
        );
        assert_eq!(short_sector("", "north"), "north");
    }

    #[test]
    fn an_access_point_shows_its_worst_link_and_weakest_signal() {
        let link = |n: &str, cpe: &str, state, dbm| LinkRow {
            tenant: id("acme"),
            id: id(n),
            ap: id("ap1"),
            cpe: id(cpe),
            state,
            signal_dbm: dbm,
            updated: None,
        };
        let links = [
            link("l1", "c1", LinkState::Active, Some(-60.0)),
            link("l2", "c2", LinkState::Degraded, Some(-82.0)),
            link("l3", "c3", LinkState::Active, None),
        ];
        let s = link_summary(&links);
        assert_eq!(s[&id("ap1")], (3, LinkState::Degraded, Some(-82.0)));
        assert_eq!(s[&id("c2")], (1, LinkState::Degraded, Some(-82.0)));
        assert_eq!(s[&id("c3")], (1, LinkState::Active, None));
    }
}
