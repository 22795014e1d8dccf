//! What importing a file would change: the file checked against what is
//! stored (tenants exist, every site, sector and device a row names is in
//! the file or stored, links join an access point to a CPE), then compared
//! item by item. Nothing is written when anything is wrong.

use std::collections::{HashMap, HashSet};

use super::{At, Errors, FileError, Parsed};
use crate::domain::Id;
use crate::domain::model::{Device, DeviceKind, Inventory, Link, Sector, Site};

/// An inventory item: its kind, its key and its fields as text.
pub trait Item: Clone + PartialEq {
    const WHAT: &'static str;
    fn key(&self) -> (Id, Id);
    fn fields(&self) -> Vec<(&'static str, String)>;
    /// Takes `field` from `stored` (a field the file does not give).
    fn keep(&mut self, stored: &Self, field: &str);
}

impl Item for Site {
    const WHAT: &'static str = "site";
    fn key(&self) -> (Id, Id) {
        (self.tenant.clone(), self.id.clone())
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("name", self.name.to_string()),
            ("region", self.region.to_string()),
            ("lat", self.lat.to_string()),
            ("lon", self.lon.to_string()),
        ]
    }
    fn keep(&mut self, stored: &Self, field: &str) {
        if field == "region" {
            self.region = stored.region.clone();
        }
    }
}

impl Item for Sector {
    const WHAT: &'static str = "sector";
    fn key(&self) -> (Id, Id) {
        (self.tenant.clone(), self.id.clone())
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("site", self.site.to_string()),
            ("name", self.name.to_string()),
            ("azimuth_deg", self.azimuth_deg.to_string()),
        ]
    }
    fn keep(&mut self, stored: &Self, field: &str) {
        match field {
            "name" => self.name = stored.name.clone(),
            "azimuth_deg" => self.azimuth_deg = stored.azimuth_deg,
            _ => {}
        }
    }
}

impl Item for Device {
    const WHAT: &'static str = "device";
    fn key(&self) -> (Id, Id) {
        (self.tenant.clone(), self.id.clone())
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("name", self.name.to_string()),
            ("kind", self.kind.as_str().to_string()),
            ("site", self.site.to_string()),
            (
                "sector",
                self.sector.as_ref().map(Id::to_string).unwrap_or_default(),
            ),
            ("model", self.model.to_string()),
            ("firmware", self.firmware.to_string()),
            (
                "heartbeat_interval_s",
                self.heartbeat_interval_s.to_string(),
            ),
        ]
    }
    fn keep(&mut self, stored: &Self, field: &str) {
        match field {
            "sector" => self.sector = stored.sector.clone(),
            "model" => self.model = stored.model.clone(),
            "firmware" => self.firmware = stored.firmware.clone(),
            "heartbeat_interval_s" => self.heartbeat_interval_s = stored.heartbeat_interval_s,
            _ => {}
        }
    }
}

impl Item for Link {
    const WHAT: &'static str = "link";
    fn key(&self) -> (Id, Id) {
        (self.tenant.clone(), self.id.clone())
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("ap", self.ap.to_string()), ("cpe", self.cpe.to_string())]
    }
    fn keep(&mut self, _: &Self, _: &str) {}
}

/// One item the import adds or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub what: &'static str,
    pub tenant: Id,
    pub id: Id,
    pub line: usize,
    /// Empty for an item added; else each field that changes, before and after.
    pub fields: Vec<(&'static str, String, String)>,
}

impl Change {
    pub fn added(&self) -> bool {
        self.fields.is_empty()
    }

    /// `+ device acme/rtr-1` or `~ device acme/rtr-2: firmware "7.1" → "7.2"`.
    pub fn show(&self) -> String {
        if self.added() {
            return format!("+ {} {}/{}", self.what, self.tenant, self.id);
        }
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(f, a, b)| format!("{f} {a:?} → {b:?}"))
            .collect();
        format!(
            "~ {} {}/{}: {}",
            self.what,
            self.tenant,
            self.id,
            fields.join(", ")
        )
    }
}

/// What an import does: the changes, and the items to write.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub unchanged: usize,
    /// Only what is added or changed (tenants are never written).
    pub write: Inventory,
}

impl Plan {
    /// `2 sites, 40 devices to add; 3 devices to change; 1,957 unchanged`.
    pub fn summary(&self) -> String {
        let count = |added: bool| {
            let mut by: Vec<(&str, usize)> = Vec::new();
            for c in self.changes.iter().filter(|c| c.added() == added) {
                match by.iter_mut().find(|(w, _)| *w == c.what) {
                    Some((_, n)) => *n += 1,
                    None => by.push((c.what, 1)),
                }
            }
            by.iter()
                .map(|(w, n)| format!("{n} {w}{}", if *n == 1 { "" } else { "s" }))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        let (add, change) = (count(true), count(false));
        if !add.is_empty() {
            parts.push(format!("{add} to add"));
        }
        if !change.is_empty() {
            parts.push(format!("{change} to change"));
        }
        parts.push(format!("{} unchanged", self.unchanged));
        parts.join("; ")
    }

    /// Tenants with something to write.
    pub fn tenants(&self) -> Vec<Id> {
        let mut t: Vec<Id> = self.changes.iter().map(|c| c.tenant.clone()).collect();
        t.sort();
        t.dedup();
        t
    }
}

/// Items of one kind in the file, stored, and by key.
struct Known<'a, T> {
    file: HashMap<(Id, Id), &'a At<T>>,
    stored: HashMap<(Id, Id), &'a T>,
}

impl<'a, T: Item> Known<'a, T> {
    fn new(file: &'a [At<T>], stored: &'a [T], errors: &mut Errors) -> Self {
        let mut by = HashMap::new();
        for a in file {
            if let Some(first) = by.insert(a.item.key(), a) {
                let (t, id) = a.item.key();
                errors.push(FileError::new(
                    a.line,
                    "id",
                    format!("{} {id} of {t} is also on line {}", T::WHAT, first.line),
                ));
            }
        }
        Self {
            file: by,
            stored: stored.iter().map(|s| (s.key(), s)).collect(),
        }
    }

    /// The item as it will be after the import.
    fn get(&self, tenant: &Id, id: &Id) -> Option<&T> {
        let key = (tenant.clone(), id.clone());
        self.file
            .get(&key)
            .map(|a| &a.item)
            .or_else(|| self.stored.get(&key).copied())
    }
}

/// Checks `file` against what is `stored` and the `tenants` that exist,
/// and lists what importing it would change.
pub fn plan(stored: &Inventory, tenants: &[Id], file: &Parsed) -> Result<Plan, Errors> {
    let file = &Parsed {
        sites: completed(&file.sites, &stored.sites),
        sectors: completed(&file.sectors, &stored.sectors),
        devices: completed(&file.devices, &stored.devices),
        links: completed(&file.links, &stored.links),
    };
    let mut errors = Errors::default();
    let tenants: HashSet<&Id> = tenants.iter().collect();
    let sites = Known::new(&file.sites, &stored.sites, &mut errors);
    let sectors = Known::new(&file.sectors, &stored.sectors, &mut errors);
    let devices = Known::new(&file.devices, &stored.devices, &mut errors);
    let _links = Known::new(&file.links, &stored.links, &mut errors);
    let tenant_known = |line: usize, t: &Id, errors: &mut Errors| {
        if !tenants.contains(t) {
            errors.push(FileError::new(
                line,
                "tenant",
                format!("no tenant {t}: create it first (vigie tenant create {t} --name …)"),
            ));
        }
    };
    let missing = |line: usize, field: &str, what: &str, id: &Id, t: &Id| {
        FileError::new(
            line,
            field,
            format!("no {what} {id} of {t} in the file or the inventory"),
        )
    };
    for a in &file.sites {
        tenant_known(a.line, &a.item.tenant, &mut errors);
    }
    for a in &file.sectors {
        let s = &a.item;
        tenant_known(a.line, &s.tenant, &mut errors);
        if sites.get(&s.tenant, &s.site).is_none() {
            errors.push(missing(a.line, "site", "site", &s.site, &s.tenant));
        }
    }
    for a in &file.devices {
        let d = &a.item;
        tenant_known(a.line, &d.tenant, &mut errors);
        if sites.get(&d.tenant, &d.site).is_none() {
            errors.push(missing(a.line, "site", "site", &d.site, &d.tenant));
        }
        if let Some(sector) = &d.sector {
            match sectors.get(&d.tenant, sector) {
                None => errors.push(missing(a.line, "sector", "sector", sector, &d.tenant)),
                Some(s) if s.site != d.site => errors.push(FileError::new(
                    a.line,
                    "sector",
                    format!(
                        "sector {sector} is at site {}, not at the device's site {}",
                        s.site, d.site
                    ),
                )),
                Some(_) => {}
            }
        }
    }
    for a in &file.links {
        let l = &a.item;
        tenant_known(a.line, &l.tenant, &mut errors);
        for (field, id, kind) in [
            ("ap", &l.ap, DeviceKind::AccessPoint),
            ("cpe", &l.cpe, DeviceKind::Cpe),
        ] {
            match devices.get(&l.tenant, id) {
                None => errors.push(missing(a.line, field, "device", id, &l.tenant)),
                Some(d) if d.kind != kind => errors.push(FileError::new(
                    a.line,
                    field,
                    format!(
                        "device {id} is a {}, not a {}",
                        d.kind.as_str(),
                        kind.as_str()
                    ),
                )),
                Some(_) => {}
            }
        }
    }
    let mut plan = Plan::default();
    diff(&file.sites, &sites.stored, &mut plan, |p| {
        &mut p.write.sites
    });
    diff(&file.sectors, &sectors.stored, &mut plan, |p| {
        &mut p.write.sectors
    });
    diff(&file.devices, &devices.stored, &mut plan, |p| {
        &mut p.write.devices
    });
    let stored_links: HashMap<(Id, Id), &Link> =
        stored.links.iter().map(|l| (l.key(), l)).collect();
    diff(&file.links, &stored_links, &mut plan, |p| {
        &mut p.write.links
    });
    errors.into_result(plan)
}

/// `file`'s items with the fields they do not give taken from the stored
/// item of the same key, if any.
fn completed<T: Item>(file: &[At<T>], stored: &[T]) -> Vec<At<T>> {
    let by: HashMap<(Id, Id), &T> = stored.iter().map(|s| (s.key(), s)).collect();
    file.iter()
        .map(|a| {
            let mut item = a.item.clone();
            if let Some(before) = by.get(&item.key()) {
                for field in &a.unset {
                    item.keep(before, field);
                }
            }
            At {
                line: a.line,
                item,
                unset: Vec::new(),
            }
        })
        .collect()
}

/// Adds to `plan` each item of `file` that is new or differs from what is
/// stored.
fn diff<T: Item>(
    file: &[At<T>],
    stored: &HashMap<(Id, Id), &T>,
    plan: &mut Plan,
    write: impl Fn(&mut Plan) -> &mut Vec<T>,
) {
    for a in file {
        let (tenant, id) = a.item.key();
        let fields = match stored.get(&(tenant.clone(), id.clone())) {
            None => Vec::new(),
            Some(before) if **before == a.item => {
                plan.unchanged += 1;
                continue;
            }
            Some(before) => before
                .fields()
                .into_iter()
                .zip(a.item.fields())
                .filter(|((_, x), (_, y))| x != y)
                .map(|((f, x), (_, y))| (f, x, y))
                .collect(),
        };
        plan.changes.push(Change {
            what: T::WHAT,
            tenant,
            id,
            line: a.line,
            fields,
        });
        write(plan).push(a.item.clone());
    }
}
