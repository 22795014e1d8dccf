//! The fleet as the console holds it: every row in memory, with a filtered
//! and sorted view of indices. Drawing reads only the visible slice of the
//! view, so a frame costs the same with 100 or 1,000,000 devices.

use std::cmp::Ordering;
use std::collections::HashMap;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Matcher, Utf32String};

use crate::domain::Id;
use crate::domain::device::DeviceStatus;
use crate::domain::fleet::{FleetSort, StatusCounts};
use crate::domain::model::DeviceRow;

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

/// How the fleet view groups its rows: by customer, or by site (within
/// each customer), before the sort column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Grouping {
    #[default]
    None,
    Tenant,
    Site,
}

impl Grouping {
    /// The next one, for the key that cycles them.
    pub fn next(self) -> Self {
        match self {
            Grouping::None => Grouping::Tenant,
            Grouping::Tenant => Grouping::Site,
            Grouping::Site => Grouping::None,
        }
    }

    /// True when `a` and `b` are in the same group.
    pub fn same(self, a: &DeviceRow, b: &DeviceRow) -> bool {
        match self {
            Grouping::None => true,
            Grouping::Tenant => a.tenant == b.tenant,
            Grouping::Site => a.tenant == b.tenant && a.site == b.site,
        }
    }

    fn cmp(self, a: &DeviceRow, b: &DeviceRow) -> Ordering {
        match self {
            Grouping::None => Ordering::Equal,
            Grouping::Tenant => a.tenant.cmp(&b.tenant),
            Grouping::Site => a
                .tenant
                .cmp(&b.tenant)
                .then_with(|| a.site_name.cmp(&b.site_name))
                .then_with(|| a.site.cmp(&b.site)),
        }
    }
}

/// The console's fleet model.
#[derive(Debug, Default)]
pub struct FleetModel {
    rows: Vec<DeviceRow>,
    /// The text the filter searches, per row.
    hay: Vec<Hay>,
    index: HashMap<(Id, Id), usize>,
    view: Vec<u32>,
    view_dirty: bool,
    /// Rows changed in a way that may move them in the view (or in or out
    /// of it) since the view was built.
    changed: Vec<u32>,
    /// Only the filter grew since the view was built: narrowing the view
    /// in place keeps its order, with no sort.
    narrow: bool,
    filter: String,
    /// The filter parsed as a fuzzy pattern (fzf's syntax: words all
    /// match, `'exact`, `^start`, `end$`, `!not`).
    pattern: Pattern,
    matcher: Matcher,
    status: Option<DeviceStatus>,
    sort: FleetSort,
    descending: bool,
    group: Grouping,
    counts: StatusCounts,
    /// Counts per (tenant, site), for the map's markers.
    site_counts: HashMap<(Id, Id), StatusCounts>,
}

/// A row's searchable fields in one string, with where each ends: a word
/// of the filter matches inside one field, so that letters scattered over
/// a name, a site and a firmware string do not make a match.
#[derive(Debug)]
struct Hay {
    text: Utf32String,
    ends: [u32; 7],
}

fn haystack(r: &DeviceRow) -> Hay {
    let fields = [
        r.name.as_str(),
        r.id.as_str(),
        r.tenant.as_str(),
        r.site_name.as_str(),
        r.kind.label(),
        r.firmware.as_str(),
        r.status.as_str(),
    ];
    let mut ends = [0u32; 7];
    let mut at = 0u32;
    for (end, f) in ends.iter_mut().zip(fields) {
        at = at.saturating_add(u32::try_from(f.chars().count()).unwrap_or(u32::MAX));
        *end = at;
    }
    Hay {
        text: Utf32String::from(fields.concat()),
        ends,
    }
}

/// True when every word of the pattern holds for the row: a word matches
/// in some field, a `!word` in none.
fn row_matches(hay: &Hay, pattern: &Pattern, matcher: &mut Matcher) -> bool {
    pattern.atoms.iter().all(|atom| {
        let mut start = 0u32;
        let mut fields = hay.ends.iter().map(|&end| {
            let f = hay.text.slice_u32(start..end);
            start = end;
            f
        });
        if atom.negative {
            fields.all(|f| atom.score(f, matcher).is_some())
        } else {
            fields.any(|f| atom.score(f, matcher).is_some())
        }
    })
}

/// Characters with a meaning in the pattern syntax: typing one may widen
/// the matches, so the view is rebuilt rather than narrowed.
const SYNTAX: [char; 5] = ['!', '^', '$', '\'', '\\'];

fn status_rank(s: DeviceStatus) -> u8 {
    match s {
        DeviceStatus::Offline => 0,
        DeviceStatus::Stale => 1,
        DeviceStatus::Pending => 2,
        DeviceStatus::Online => 3,
    }
}

/// The view's order: the group, the sort column (reversed when
/// descending), then tenant, name and id, so that it is total and a merge
/// keeps it.
fn order(
    group: Grouping,
    sort: FleetSort,
    descending: bool,
    a: &DeviceRow,
    b: &DeviceRow,
) -> Ordering {
    let primary = match sort {
        FleetSort::Status => status_rank(a.status).cmp(&status_rank(b.status)),
        FleetSort::Name => a.name.cmp(&b.name),
        FleetSort::Tenant => a.tenant.cmp(&b.tenant),
        FleetSort::Site => a.site_name.cmp(&b.site_name),
        FleetSort::Kind => a.kind.cmp(&b.kind),
        FleetSort::LastSeen => cmp_opt(b.last_seen, a.last_seen),
        FleetSort::Cpu => cmp_opt(b.cpu_pct, a.cpu_pct),
        FleetSort::Signal => cmp_opt(a.signal_dbm, b.signal_dbm),
    };
    let primary = if descending {
        primary.reverse()
    } else {
        primary
    };
    group
        .cmp(a, b)
        .then(primary)
        .then_with(|| a.tenant.cmp(&b.tenant))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.id.cmp(&b.id))
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
                if moves {
                    self.changed.extend(u32::try_from(i).ok());
                }
            }
            None => {
                self.counts.add(row.status, 1);
                self.site_counts
                    .entry((row.tenant.clone(), row.site.clone()))
                    .or_default()
                    .add(row.status, 1);
                self.hay.push(haystack(&row));
                self.changed.extend(u32::try_from(self.rows.len()).ok());
                self.index.insert(key, self.rows.len());
                self.rows.push(row);
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

    /// Sets the text filter: a fuzzy match (case-insensitive unless the
    /// text has a capital) on name, id, tenant, site, kind, firmware and
    /// status.
    pub fn set_filter(&mut self, text: &str) {
        if text != self.filter {
            // One more plain character can only drop matches.
            if text.starts_with(&self.filter) && !text.contains(SYNTAX) {
                self.narrow = true;
            } else {
                self.view_dirty = true;
            }
            self.filter = text.to_string();
            self.pattern = Pattern::parse(text, CaseMatching::Smart, Normalization::Smart);
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

    /// Groups the view (or not).
    pub fn set_group(&mut self, group: Grouping) {
        self.group = group;
        self.view_dirty = true;
    }

    /// The grouping.
    pub fn group(&self) -> Grouping {
        self.group
    }

    /// Devices per status of one customer (from the per-site counts).
    pub fn tenant_counts(&self, tenant: &Id) -> StatusCounts {
        let mut c = StatusCounts::default();
        for ((t, _), s) in &self.site_counts {
            if t == tenant {
                c.online += s.online;
                c.stale += s.stale;
                c.offline += s.offline;
                c.pending += s.pending;
            }
        }
        c
    }

    /// The sort.
    pub fn sort(&self) -> (FleetSort, bool) {
        (self.sort, self.descending)
    }

    /// Rebuilds the filtered, sorted view if anything changed: the whole
    /// view after a new sort, filter or snapshot; otherwise only the rows
    /// that changed are taken out and merged back in their places, so a
    /// storm of status changes costs a pass over the view, not a sort.
    pub fn refresh(&mut self) {
        if self.view_dirty || self.changed.len() > self.view.len() / 4 + 64 {
            self.rebuild();
            return;
        }
        if std::mem::take(&mut self.narrow) {
            // Typing one more letter: keep the rows that still match.
            let (hay, pattern, matcher) = (&self.hay, &self.pattern, &mut self.matcher);
            self.view
                .retain(|&i| row_matches(&hay[i as usize], pattern, matcher));
        }
        if self.changed.is_empty() {
            return;
        }
        let mut changed = std::mem::take(&mut self.changed);
        changed.sort_unstable();
        changed.dedup();
        self.view.retain(|i| changed.binary_search(i).is_err());
        let mut back: Vec<u32> = changed
            .into_iter()
            .filter(|&i| self.admits(i as usize))
            .collect();
        let (rows, sort, desc, group) = (&self.rows, self.sort, self.descending, self.group);
        let cmp =
            |x: &u32, y: &u32| order(group, sort, desc, &rows[*x as usize], &rows[*y as usize]);
        back.sort_unstable_by(cmp);
        let mut merged = Vec::with_capacity(self.view.len() + back.len());
        let (mut a, mut b) = (self.view.iter().peekable(), back.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if cmp(x, y) != Ordering::Greater => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            merged.extend(next.copied());
        }
        self.view = merged;
    }

    /// True when row `i` passes the status filter and the text filter.
    fn admits(&mut self, i: usize) -> bool {
        self.status.is_none_or(|s| self.rows[i].status == s)
            && (self.pattern.atoms.is_empty()
                || row_matches(&self.hay[i], &self.pattern, &mut self.matcher))
    }

    /// The whole view again: filter every row, then sort.
    fn rebuild(&mut self) {
        self.view_dirty = false;
        self.narrow = false;
        self.changed.clear();
        let mut view: Vec<u32> = (0..self.rows.len())
            .filter(|&i| self.admits(i))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        let (rows, sort, desc, group) = (&self.rows, self.sort, self.descending, self.group);
        view.sort_unstable_by(|&x, &y| {
            order(group, sort, desc, &rows[x as usize], &rows[y as usize])
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
    fn the_filter_is_fuzzy_inside_a_field_with_fzf_words() {
        let mut rows = fleet(60);
        rows[0].site_name = SafeText::new("Boulder Tower 1");
        rows[0].name = SafeText::new("cpe-ueda-ftcl046");
        rows[1].name = SafeText::new("cpe-dubois-ftcl337");
        rows[1].id = Id::parse("dev-x1").unwrap_or_else(|e| panic!("{e}"));
        rows[1].site_name = SafeText::new("Fort Collins Tower 1");
        let ids = |f: &str| fresh(&rows, f);
        let has = |f: &str, i: usize| ids(f).contains(&rows[i].id.to_string());
        // Letters in order inside one field match: "bldr" is Boulder.
        assert!(has("bldr", 0));
        // Letters scattered over several fields do not.
        assert!(!has("bldr", 1));
        // Words all match, each in a field of its own choosing.
        assert!(has("bldr ueda", 0));
        assert!(!has("bldr dubois", 0));
        // fzf's syntax: exact, start, end, not.
        assert!(has("'Tower 1", 0) || has("'tower", 0));
        assert!(has("^cpe-ueda", 0));
        assert!(!has("^ueda", 0));
        assert!(has("ftcl046$", 0));
        assert!(!has("!ueda", 0));
        assert!(has("!dubois", 0));
        // Capitals make a word case-sensitive.
        assert!(has("Boulder", 0));
        assert!(!has("BOULDER", 0));
    }

    #[test]
    fn merging_changed_rows_back_shows_what_a_rebuild_would() {
        let all = fleet(3_000);
        let (first, later) = all.split_at(2_000);
        for (sort, desc, filter, group) in [
            (FleetSort::Status, false, "", Grouping::None),
            (FleetSort::Name, true, "", Grouping::Tenant),
            (FleetSort::Cpu, false, "cpe", Grouping::Site),
        ] {
            let mut rows = first.to_vec();
            let mut m = FleetModel::default();
            m.replace_all(rows.clone());
            m.set_group(group);
            m.set_sort(sort, desc);
            m.set_filter(filter);
            m.refresh();
            // A few hundred changes a round: statuses flip, CPU moves,
            // devices arrive; the view is merged, never re-sorted.
            for round in 0..8usize {
                for k in 0..120usize {
                    let i = (round * 997 + k * 31) % rows.len();
                    let mut r = rows[i].clone();
                    r.status = [
                        DeviceStatus::Online,
                        DeviceStatus::Offline,
                        DeviceStatus::Stale,
                    ][(round + k) % 3];
                    r.cpu_pct = Some(((round * 13 + k * 7) % 100) as f32);
                    rows[i] = r.clone();
                    m.upsert(r);
                }
                for r in later.iter().skip(round * 100).take(100) {
                    rows.push(r.clone());
                    m.upsert(r.clone());
                }
                assert!(!m.view_dirty, "no rebuild was needed");
                m.refresh();
                let mut want = FleetModel::default();
                want.replace_all(rows.clone());
                want.set_group(group);
                want.set_sort(sort, desc);
                want.set_filter(filter);
                want.refresh();
                assert_eq!(
                    view(&m),
                    view(&want),
                    "{sort:?} {desc} {filter:?} round {round}"
                );
            }
        }
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
            "cp !",
            "cp !o",
            "cp !of",
            "^r",
            "^ri",
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
