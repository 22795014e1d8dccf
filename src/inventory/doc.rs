//! TOML and JSON inventories: one document of four lists, `sites`,
//! `sectors`, `devices` and `links`, each item naming its tenant. The same
//! fields as the CSV columns, plus what CSV cannot say (sites without
//! devices, links).

use serde::{Deserialize, Serialize};

use super::fields::{AZIMUTH, DEFAULT_HEARTBEAT_S, Fields, HEARTBEAT_S, LAT, LON};
use super::{At, Errors, FileError, MAX_ITEMS, Parsed};
use crate::domain::model::{Device, Inventory, Link, Sector, Site};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteDoc {
    pub tenant: String,
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectorDoc {
    pub tenant: String,
    pub site: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azimuth_deg: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceDoc {
    pub tenant: String,
    pub site: String,
    pub id: String,
    pub name: String,
    pub kind: String,
    /// Missing: the stored sector is kept; `""`: no sector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval_s: Option<i64>,
}

/// The names of the fields given as `None`.
fn unset(fields: &[(&'static str, bool)]) -> Vec<&'static str> {
    fields
        .iter()
        .filter(|(_, given)| !given)
        .map(|(f, _)| *f)
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkDoc {
    pub tenant: String,
    pub id: String,
    pub ap: String,
    pub cpe: String,
}

/// A document with each item as `W` (plain, or spanned for TOML).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc<S, C, D, L> {
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    sites: Vec<S>,
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    sectors: Vec<C>,
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    devices: Vec<D>,
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    links: Vec<L>,
}

type Plain = Doc<SiteDoc, SectorDoc, DeviceDoc, LinkDoc>;
/// Each item with the line it starts on.
type Lined = Doc<(usize, SiteDoc), (usize, SectorDoc), (usize, DeviceDoc), (usize, LinkDoc)>;
type Spanned<T> = toml::Spanned<T>;

/// 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Reads a TOML inventory.
pub fn read_toml(text: &str) -> Result<Parsed, Errors> {
    type WithSpans =
        Doc<Spanned<SiteDoc>, Spanned<SectorDoc>, Spanned<DeviceDoc>, Spanned<LinkDoc>>;
    let doc: WithSpans = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        let mut errors = Errors::default();
        errors.push(FileError::new(line, "", e.message().to_string()));
        errors
    })?;
    fn lined<T>(text: &str, items: Vec<Spanned<T>>) -> Vec<(usize, T)> {
        items
            .into_iter()
            .map(|s| (line_of(text, s.span().start), s.into_inner()))
            .collect()
    }
    check(Doc {
        sites: lined(text, doc.sites),
        sectors: lined(text, doc.sectors),
        devices: lined(text, doc.devices),
        links: lined(text, doc.links),
    })
}

/// Reads a JSON inventory.
pub fn read_json(text: &str) -> Result<Parsed, Errors> {
    let doc: Plain = serde_json::from_str(text).map_err(|e| {
        let mut errors = Errors::default();
        errors.push(FileError::new(e.line(), "", e.to_string()));
        errors
    })?;
    fn lined<T>(lines: &[(String, usize)], key: &str, items: Vec<T>) -> Vec<(usize, T)> {
        let at = lines.iter().filter(|(k, _)| k == key).map(|(_, l)| *l);
        at.chain(std::iter::repeat(0)).zip(items).collect()
    }
    let lines = object_lines(text);
    check(Doc {
        sites: lined(&lines, "sites", doc.sites),
        sectors: lined(&lines, "sectors", doc.sectors),
        devices: lined(&lines, "devices", doc.devices),
        links: lined(&lines, "links", doc.links),
    })
}

/// The line of each object in the top-level arrays of a JSON document, in
/// order, with the array's key.
fn object_lines(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let (mut depth, mut line) = (0usize, 1usize);
    let (mut in_string, mut escaped) = (false, false);
    let (mut key, mut last_string) = (String::new(), String::new());
    let mut current = String::new();
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    in_string = false;
                    last_string = std::mem::take(&mut current);
                }
                (false, c) => {
                    if depth == 1 && current.len() < 64 {
                        current.push(c);
                    }
                }
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            ':' if depth == 1 => key = last_string.clone(),
            '{' | '[' => {
                if c == '{' && depth == 2 {
                    out.push((key.clone(), line));
                }
                depth += 1;
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    out
}

/// Checks every item's fields.
fn check(doc: Lined) -> Result<Parsed, Errors> {
    let mut errors = Errors::default();
    let total = doc.sites.len() + doc.sectors.len() + doc.devices.len() + doc.links.len();
    if total > MAX_ITEMS {
        errors.push(FileError::new(
            0,
            "",
            format!("{total} items, more than {MAX_ITEMS}: split the file"),
        ));
        return Err(errors);
    }
    let mut parsed = Parsed::default();
    for (line, s) in doc.sites {
        let mut f = Fields {
            line,
            errors: &mut errors,
        };
        let item = (|| {
            Some(Site {
                tenant: f.id("tenant", &s.tenant)?,
                id: f.id("id", &s.id)?,
                name: f.text("name", &s.name, true)?,
                region: f.text("region", s.region.as_deref().unwrap_or(""), false)?,
                lat: f.number("lat", s.lat, LAT.0, LAT.1)?,
                lon: f.number("lon", s.lon, LON.0, LON.1)?,
            })
        })();
        let unset = unset(&[("region", s.region.is_some())]);
        parsed
            .sites
            .extend(item.map(|item| At { line, item, unset }));
    }
    for (line, s) in doc.sectors {
        let mut f = Fields {
            line,
            errors: &mut errors,
        };
        let item = (|| {
            let id = f.id("id", &s.id)?;
            let name = match s.name.as_deref().map(str::trim) {
                None | Some("") => id.to_string(),
                Some(n) => n.to_string(),
            };
            Some(Sector {
                tenant: f.id("tenant", &s.tenant)?,
                site: f.id("site", &s.site)?,
                name: f.text("name", &name, true)?,
                id,
                azimuth_deg: u16::try_from(f.whole(
                    "azimuth_deg",
                    s.azimuth_deg.unwrap_or(0),
                    AZIMUTH.0,
                    AZIMUTH.1,
                )?)
                .ok()?,
            })
        })();
        let unset = unset(&[
            ("name", s.name.is_some()),
            ("azimuth_deg", s.azimuth_deg.is_some()),
        ]);
        parsed
            .sectors
            .extend(item.map(|item| At { line, item, unset }));
    }
    check_devices(doc.devices, &mut parsed, &mut errors);
    for (line, l) in doc.links {
        let mut f = Fields {
            line,
            errors: &mut errors,
        };
        let item = (|| {
            Some(Link {
                tenant: f.id("tenant", &l.tenant)?,
                id: f.id("id", &l.id)?,
                ap: f.id("ap", &l.ap)?,
                cpe: f.id("cpe", &l.cpe)?,
            })
        })();
        parsed.links.extend(item.map(|item| At {
            line,
            item,
            unset: Vec::new(),
        }));
    }
    errors.into_result(parsed)
}

/// Checks the devices' fields.
fn check_devices(items: Vec<(usize, DeviceDoc)>, parsed: &mut Parsed, errors: &mut Errors) {
    for (line, d) in items {
        let mut f = Fields {
            line,
            errors: &mut *errors,
        };
        let item = (|| {
            Some(Device {
                tenant: f.id("tenant", &d.tenant)?,
                site: f.id("site", &d.site)?,
                id: f.id("id", &d.id)?,
                name: f.text("name", &d.name, true)?,
                kind: f.kind("kind", &d.kind)?,
                sector: f.opt_id("sector", d.sector.as_deref())?,
                model: f.text("model", d.model.as_deref().unwrap_or(""), false)?,
                firmware: f.text("firmware", d.firmware.as_deref().unwrap_or(""), false)?,
                heartbeat_interval_s: f.whole(
                    "heartbeat_interval_s",
                    d.heartbeat_interval_s
                        .unwrap_or(i64::from(DEFAULT_HEARTBEAT_S)),
                    HEARTBEAT_S.0,
                    HEARTBEAT_S.1,
                )?,
            })
        })();
        let unset = unset(&[
            ("sector", d.sector.is_some()),
            ("model", d.model.is_some()),
            ("firmware", d.firmware.is_some()),
            ("heartbeat_interval_s", d.heartbeat_interval_s.is_some()),
        ]);
        parsed
            .devices
            .extend(item.map(|item| At { line, item, unset }));
    }
}

fn plain(inv: &Inventory) -> Plain {
    Doc {
        sites: inv
            .sites
            .iter()
            .map(|s| SiteDoc {
                tenant: s.tenant.to_string(),
                id: s.id.to_string(),
                name: s.name.to_string(),
                region: Some(s.region.to_string()),
                lat: s.lat,
                lon: s.lon,
            })
            .collect(),
        sectors: inv
            .sectors
            .iter()
            .map(|s| SectorDoc {
                tenant: s.tenant.to_string(),
                site: s.site.to_string(),
                id: s.id.to_string(),
                name: Some(s.name.to_string()),
                azimuth_deg: Some(i64::from(s.azimuth_deg)),
            })
            .collect(),
        devices: inv
            .devices
            .iter()
            .map(|d| DeviceDoc {
                tenant: d.tenant.to_string(),
                site: d.site.to_string(),
                id: d.id.to_string(),
                name: d.name.to_string(),
                kind: d.kind.as_str().to_string(),
                sector: Some(
                    d.sector
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
                model: Some(d.model.to_string()),
                firmware: Some(d.firmware.to_string()),
                heartbeat_interval_s: Some(i64::from(d.heartbeat_interval_s)),
            })
            .collect(),
        links: inv
            .links
            .iter()
            .map(|l| LinkDoc {
                tenant: l.tenant.to_string(),
                id: l.id.to_string(),
                ap: l.ap.to_string(),
                cpe: l.cpe.to_string(),
            })
            .collect(),
    }
}

/// Writes `inv` as TOML.
pub fn write_toml(inv: &Inventory) -> Result<String, String> {
    toml::to_string(&plain(inv)).map_err(|e| e.to_string())
}

/// Writes `inv` as JSON.
pub fn write_json(inv: &Inventory) -> Result<String, String> {
    serde_json::to_string_pretty(&plain(inv))
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
[[sites]]
tenant = "acme"
id = "hq"
name = "Head office"
lat = 39.7
lon = -105.2

[[devices]]
tenant = "acme"
site = "hq"
id = "rtr-1"
name = "Core"
kind = "router"

[[devices]]
tenant = "acme"
site = "hq"
id = "ap-1"
name = "AP"
kind = "fridge"
"#;

    #[test]
    fn toml_items_keep_their_lines_and_bad_fields_are_named() {
        let e = read_toml(TOML).unwrap_err();
        assert_eq!(
            e.show("f.toml"),
            "f.toml:16: kind: \"fridge\" is not a device kind: router, access_point, cpe, appliance, edge_sensor, workstation"
        );
        let ok = read_toml(&TOML.replace("fridge", "access_point")).unwrap();
        assert_eq!((ok.sites[0].line, ok.devices[1].line), (2, 16));
    }

    #[test]
    fn json_items_keep_their_lines_and_unknown_fields_are_refused() {
        let text = "{\n \"sites\": [\n  {\"tenant\": \"acme\", \"id\": \"hq\", \"name\": \"HQ\", \"lat\": 1, \"lon\": 2},\n  {\"tenant\": \"acme\", \"id\": \"b\", \"name\": \"B\", \"lat\": 100, \"lon\": 2}\n ]\n}\n";
        let shown = read_json(text).unwrap_err().show("f.json");
        assert_eq!(shown, "f.json:4: lat: 100 is not between -90 and 90");
        let unknown = read_json("{\"sites\": [{\"tenant\": \"a\", \"colour\": 1}]}").unwrap_err();
        assert!(
            unknown.show("f.json").contains("unknown field `colour`"),
            "{}",
            unknown.show("f.json")
        );
    }
}
