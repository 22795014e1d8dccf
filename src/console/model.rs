//! The fleet as the console holds it: every row in memory, with a filtered
//! and sorted view of indices. Drawing reads only the visible slice of the
//! view, so a frame costs the same with 100 or 1,000,000 devices.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::domain::Id;
use crate::domain::device::DeviceStatus;
use crate::domain::model::DeviceRow;
use crate::store::{FleetSort, StatusCounts};

/// Sort columns in the order `sort-next` cycles through them.
pub const SORTS: [FleetSort; 8] = [
    FleetSort::Status,
    FleetSort::Name,
    FleetSort::Tenant,
    FleetSort::Site,
    FleetSort::Kind,
    FleetSort::LastSeen,
    FleetSort::Cpu,
    FleetSort::Signal,
];

/// The console's fleet model.
#[derive(Debug, Default)]
pub struct FleetModel {
    rows: Vec<DeviceRow>,
    /// Lower-case text the filter searches, per row.
    hay: Vec<String>,
    index: HashMap<(Id, Id), usize>,
    view: Vec<u32>,
    view_dirty: bool,
    /// Only the filter grew since the view was built: narrowing the view
    /// in place keeps its order, with no sort.
    narrow: bool,
    filter: String,
    status: Option<DeviceStatus>,
    sort: FleetSort,
    descending: bool,
    counts: StatusCounts,
    /// Counts per (tenant, site), for the map's markers.
    site_counts: HashMap<(Id, Id), StatusCounts>,
}

fn haystack(r: &DeviceRow) -> String {
    format!(
        "{} {} {} {} {} {} {}",
        r.name,
        r.id,
        r.tenant,
        r.site_name,
        r.kind.label(),
        r.firmware,
        r.status.as_str()
    )
    .to_lowercase()
}

fn status_rank(s: DeviceStatus) -> u8 {
    match s {
        DeviceStatus::Offline => 0,
        DeviceStatus::Stale => 1,
        DeviceStatus::Pending => 2,
        DeviceStatus::Online => 3,
    }
}

fn cmp_opt<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

impl FleetModel {
    /// Replaces every row (a new snapshot).
    pub fn replace_all(&mut self, rows: Vec<DeviceRow>) {
        self.hay = rows.iter().map(haystack).collect();
        self.index = rows
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.tenant.clone(), r.id.clone()), i))
            .collect();
        self.counts = StatusCounts::default();
        self.site_counts.clear();
        for r in &rows {
            self.counts.add(r.status, 1);
            self.site_counts
                .entry((r.tenant.clone(), r.site.clone()))
                .or_default()
                .add(r.status, 1);
        }
        self.rows = rows;
        self.view_dirty = true;
    }

    /// Inserts or replaces one row (a live event).
    pub fn upsert(&mut self, row: DeviceRow) {
        let key = (row.tenant.clone(), row.id.clone());
        match self.index.get(&key) {
            Some(&i) => {
                let old = &self.rows[i];
                if old.status != row.status || old.site != row.site {
                    self.counts.add(old.status, -1);
                    self.counts.add(row.status, 1);
                    if let Some(c) = self
                        .site_counts
                        .get_mut(&(old.tenant.clone(), old.site.clone()))
                    {
                        c.add(old.status, -1);
                    }
                    self.site_counts
                        .entry((row.tenant.clone(), row.site.clone()))
                        .or_default()
                        .add(row.status, 1);
                }
                // Only a change that moves the row in the view needs a
                // re-sort or a re-filter.
                let moves = old.status != row.status
                    || old.name != row.name
                    || old.firmware != row.firmware
                    || matches!(
                        self.sort,
                        FleetSort::LastSeen | FleetSort::Cpu | FleetSort::Signal
                    );
                if old.name != row.name || old.firmware != row.firmware || old.status != row.status
                {
                    self.hay[i] = haystack(&row);
                }
                self.rows[i] = row;
                self.view_dirty |= moves;
            }
            None => {
                self.counts.add(row.status, 1);
                self.site_counts
                    .entry((row.tenant.clone(), row.site.clone()))
                    .or_default()
                    .add(row.status, 1);
                self.hay.push(haystack(&row));
                self.index.insert(key, self.rows.len());
                self.rows.push(row);
                self.view_dirty = true;
            }
        }
    }

    /// The devices of one site, by status.
    pub fn site_counts(&self, tenant: &Id, site: &Id) -> StatusCounts {
        self.site_counts
            .get(&(tenant.clone(), site.clone()))
            .copied()
            .unwrap_or_default()
    }

    /// Every row, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &DeviceRow> {
        self.rows.iter()
    }

    /// A device's row, by tenant and id.
    pub fn find(&self, tenant: &Id, device: &Id) -> Option<&DeviceRow> {
        self.index
            .get(&(tenant.clone(), device.clone()))
            .and_then(|&i| self.rows.get(i))
    }

    /// Sets the text filter (case-insensitive substring).
    pub fn set_filter(&mut self, text: &str) {
        let t = text.to_lowercase();
        if t != self.filter {
            if t.starts_with(&self.filter) {
                self.narrow = true;
            } else {
                self.view_dirty = true;
            }
            self.filter = t;
        }
    }

    /// The text filter.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Shows only one status, or all.
    pub fn set_status(&mut self, status: Option<DeviceStatus>) {
        self.status = status;
        self.view_dirty = true;
    }

    /// The status filter.
    pub fn status_filter(&self) -> Option<DeviceStatus> {
        self.status
    }

    /// Sets the sort.
    pub fn set_sort(&mut self, sort: FleetSort, descending: bool) {
        self.sort = sort;
        self.descending = descending;
        self.view_dirty = true;
    }

    /// The sort.
    pub fn sort(&self) -> (FleetSort, bool) {
        (self.sort, self.descending)
    }

    /// True when the view must be rebuilt before drawing.
    pub fn needs_refresh(&self) -> bool {
        self.view_dirty || self.narrow
    }

    /// Rebuilds the filtered, sorted view if anything changed.
    pub fn refresh(&mut self) {
        if !self.view_dirty {
            if std::mem::take(&mut self.narrow) {
                // Typing one more letter: keep the rows that still match.
                let (hay, filter) = (&self.hay, self.filter.as_str());
                self.view.retain(|&i| hay[i as usize].contains(filter));
            }
            return;
        }
        self.view_dirty = false;
        self.narrow = false;
        let filter = self.filter.as_str();
        let status = self.status;
        let mut view: Vec<u32> = (0..self.rows.len())
            .filter(|&i| status.is_none_or(|s| self.rows[i].status == s))
            .filter(|&i| filter.is_empty() || self.hay[i].contains(filter))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        let rows = &self.rows;
        let sort = self.sort;
        let by = |a: &DeviceRow, b: &DeviceRow| -> Ordering {
            match sort {
                FleetSort::Status => status_rank(a.status).cmp(&status_rank(b.status)),
                FleetSort::Name => a.name.cmp(&b.name),
                FleetSort::Tenant => a.tenant.cmp(&b.tenant),
                FleetSort::Site => a.site_name.cmp(&b.site_name),
                FleetSort::Kind => a.kind.cmp(&b.kind),
                FleetSort::LastSeen => cmp_opt(b.last_seen, a.last_seen),
                FleetSort::Cpu => cmp_opt(b.cpu_pct, a.cpu_pct),
                FleetSort::Signal => cmp_opt(a.signal_dbm, b.signal_dbm),
            }
        };
        let descending = self.descending;
        view.sort_unstable_by(|&x, &y| {
            let (a, b) = (&rows[x as usize], &rows[y as usize]);
            let primary = by(a, b);
            let primary = if descending {
                primary.reverse()
            } else {
                primary
            };
            primary
                .then_with(|| a.tenant.cmp(&b.tenant))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.id.cmp(&b.id))
        });
        self.view = view;
    }

    /// Rows in the view.
    pub fn len(&self) -> usize {
        self.view.len()
    }

    /// True when the view is empty.
    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    /// All rows known, before filtering.
    pub fn total(&self) -> usize {
        self.rows.len()
    }

    /// The row at position `i` of the view.
    pub fn get(&self, i: usize) -> Option<&DeviceRow> {
        self.view.get(i).and_then(|&r| self.rows.get(r as usize))
    }

    /// Devices per status (all rows, not just the view).
    pub fn counts(&self) -> StatusCounts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SafeText;

    fn fleet(n: usize) -> Vec<DeviceRow> {
        crate::sim::plan(3, n)
            .inventory
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| DeviceRow {
                tenant: d.tenant.clone(),
                id: d.id.clone(),
                name: d.name.clone(),
                kind: d.kind,
                site: d.site.clone(),
                site_name: SafeText::new(d.site.as_str()),
                firmware: d.firmware.clone(),
                status: if i % 5 == 0 {
                    DeviceStatus::Offline
                } else {
                    DeviceStatus::Online
                },
                status_since: None,
                last_seen: None,
                cpu_pct: None,
                mem_pct: None,
                signal_dbm: None,
                uptime_s: None,
            })
            .collect()
    }

    fn view(m: &FleetModel) -> Vec<String> {
        (0..m.len())
            .filter_map(|i| m.get(i))
            .map(|r| r.id.to_string())
            .collect()
    }

    /// The view a model built from scratch with `filter` shows.
    fn fresh(rows: &[DeviceRow], filter: &str) -> Vec<String> {
        let mut m = FleetModel::default();
        m.replace_all(rows.to_vec());
        m.set_filter(filter);
        m.refresh();
        view(&m)
    }

    #[test]
    fn narrowing_the_filter_in_place_shows_what_a_rebuild_would() {
        let mut rows = fleet(400);
        let mut m = FleetModel::default();
        m.replace_all(rows.clone());
        m.refresh();
        for typed in [
            "r",
            "ri",
            "rid",
            "ridge",
            "ridgeline-b",
            "ridgeline-",
            "c",
            "cp",
        ] {
            m.set_filter(typed);
            m.refresh();
            assert_eq!(view(&m), fresh(&rows, typed), "{typed}");
        }
        // A row that moves between two letters makes a full rebuild.
        m.set_filter("c");
        m.refresh();
        let mut moved = rows[7].clone();
        moved.status = DeviceStatus::Stale;
        rows[7] = moved.clone();
        m.upsert(moved);
        m.set_filter("cp");
        m.refresh();
        assert_eq!(view(&m), fresh(&rows, "cp"));
    }
}
