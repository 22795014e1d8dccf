//! CSV inventories: one row per device, its site (and sector) repeated on
//! each of the site's rows. Columns by name, in any order:
//! `tenant,site,site_name,lat,lon,device,device_name,kind` required;
//! `region,sector,sector_name,sector_azimuth_deg,model,firmware,heartbeat_interval_s`
//! optional.

use std::collections::HashMap;

use super::fields::{AZIMUTH, DEFAULT_HEARTBEAT_S, Fields, HEARTBEAT_S, LAT, LON};
use super::{At, Errors, FileError, MAX_ITEMS, Parsed};
use crate::domain::model::{Device, Inventory, Sector, Site};
use crate::domain::{Id, SafeText};

/// The columns a file must have.
pub const REQUIRED: [&str; 8] = [
    "tenant",
    "site",
    "site_name",
    "lat",
    "lon",
    "device",
    "device_name",
    "kind",
];

/// The columns a file may have besides.
pub const OPTIONAL: [&str; 7] = [
    "region",
    "sector",
    "sector_name",
    "sector_azimuth_deg",
    "model",
    "firmware",
    "heartbeat_interval_s",
];

/// What a spreadsheet would evaluate: exported text starting with one of
/// these is written after a `'`, which reading takes off again.
const FORMULA: [char; 4] = ['=', '+', '-', '@'];

fn defuse(s: &str) -> String {
    if s.starts_with(FORMULA) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn restore(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA) => rest,
        _ => s,
    }
}

/// The columns of the header, by name; errors for unknown, repeated or
/// missing ones.
fn columns(header: &::csv::StringRecord, errors: &mut Errors) -> HashMap<String, usize> {
    let mut at = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
            errors.push(FileError::new(
                1,
                &name,
                format!(
                    "unknown column; the columns are {} and optionally {}",
                    REQUIRED.join(","),
                    OPTIONAL.join(",")
                ),
            ));
        } else if at.insert(name.clone(), i).is_some() {
            errors.push(FileError::new(1, &name, "column given twice"));
        }
    }
    for name in REQUIRED {
        if !at.contains_key(name) {
            errors.push(FileError::new(1, name, "required column missing"));
        }
    }
    at
}

/// Reads a CSV inventory.
pub fn read(text: &str) -> Result<Parsed, Errors> {
    let mut errors = Errors::default();
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            errors.push(FileError::new(1, "", format!("unreadable header: {e}")));
            return Err(errors);
        }
    };
    let at = columns(&header, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut parsed = Parsed::default();
    // The first row of each site and sector, to check that later rows agree.
    let mut sites: HashMap<(Id, Id), usize> = HashMap::new();
    let mut sectors: HashMap<(Id, Id), usize> = HashMap::new();
    let mut devices: HashMap<(Id, Id), usize> = HashMap::new();
    for (n, record) in reader.records().enumerate() {
        if n >= MAX_ITEMS {
            errors.push(FileError::new(
                0,
                "",
                format!("more than {MAX_ITEMS} rows: split the file"),
            ));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e
                    .position()
                    .map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
                errors.push(FileError::new(line, "", format!("unreadable row: {e}")));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(n + 2, |p| usize::try_from(p.line()).unwrap_or(n + 2));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let Some((site, sector, device)) = row(&record, &at, line, &mut errors) else {
            continue;
        };
        let (tenant, id) = (device.tenant.clone(), device.id.clone());
        let key = (tenant.clone(), site.id.clone());
        let site = At {
            line,
            item: site,
            unset: unset(&at, &[("region", "region")]),
        };
        agree(&mut parsed.sites, &mut sites, key, site, &mut errors);
        if let Some(sector) = sector {
            let key = (tenant.clone(), sector.id.clone());
            let sector = At {
                line,
                item: sector,
                unset: unset(
                    &at,
                    &[
                        ("sector_name", "name"),
                        ("sector_azimuth_deg", "azimuth_deg"),
                    ],
                ),
            };
            agree(&mut parsed.sectors, &mut sectors, key, sector, &mut errors);
        }
        let key = (tenant.clone(), id.clone());
        if let Some(first) = devices.get(&key) {
            errors.push(FileError::new(
                line,
                "device",
                format!("device {id} of {tenant} is also on line {first}"),
            ));
            continue;
        }
        devices.insert(key, line);
        parsed.devices.push(At {
            line,
            item: device,
            unset: unset(
                &at,
                &[
                    ("sector", "sector"),
                    ("model", "model"),
                    ("firmware", "firmware"),
                    ("heartbeat_interval_s", "heartbeat_interval_s"),
                ],
            ),
        });
    }
    errors.into_result(parsed)
}

/// One row's site, sector (if it names one) and device; `None` when a
/// field is wrong (recorded in `errors`).
fn row(
    record: &::csv::StringRecord,
    at: &HashMap<String, usize>,
    line: usize,
    errors: &mut Errors,
) -> Option<(Site, Option<Sector>, Device)> {
    let get = |name: &str| at.get(name).and_then(|&i| record.get(i)).map(restore);
    let field = |name: &str| get(name).unwrap_or("");
    let mut f = Fields { line, errors };
    let tenant = f.id("tenant", field("tenant"));
    let site = f.id("site", field("site"));
    let site_name = f.text("site_name", field("site_name"), true);
    let region = f.text("region", get("region").unwrap_or(""), false);
    let lat = f.number_text("lat", field("lat"), LAT.0, LAT.1);
    let lon = f.number_text("lon", field("lon"), LON.0, LON.1);
    let device = f.id("device", field("device"));
    let device_name = f.text("device_name", field("device_name"), true);
    let kind = f.kind("kind", field("kind"));
    let sector = f.opt_id("sector", get("sector"));
    let sector_name = f.text("sector_name", get("sector_name").unwrap_or(""), false);
    let azimuth = f.whole_text(
        "sector_azimuth_deg",
        get("sector_azimuth_deg"),
        AZIMUTH.0,
        AZIMUTH.1,
        0,
    );
    let model = f.text("model", get("model").unwrap_or(""), false);
    let firmware = f.text("firmware", get("firmware").unwrap_or(""), false);
    let beat = f.whole_text(
        "heartbeat_interval_s",
        get("heartbeat_interval_s"),
        HEARTBEAT_S.0,
        HEARTBEAT_S.1,
        DEFAULT_HEARTBEAT_S,
    );
    let (
        Some(tenant),
        Some(site),
        Some(site_name),
        Some(region),
        Some(lat),
        Some(lon),
        Some(device),
        Some(device_name),
        Some(kind),
        Some(sector),
        Some(sector_name),
        Some(azimuth),
        Some(model),
        Some(firmware),
        Some(beat),
    ) = (
        tenant,
        site,
        site_name,
        region,
        lat,
        lon,
        device,
        device_name,
        kind,
        sector,
        sector_name,
        azimuth,
        model,
        firmware,
        beat,
    )
    else {
        return None;
    };
    let sector = sector.map(|id| Sector {
        tenant: tenant.clone(),
        site: site.clone(),
        name: if sector_name.as_str().is_empty() {
            SafeText::new(id.as_str())
        } else {
            sector_name
        },
        id,
        azimuth_deg: u16::try_from(azimuth).unwrap_or(0),
    });
    let site_item = Site {
        tenant: tenant.clone(),
        id: site.clone(),
        name: site_name,
        region,
        lat,
        lon,
    };
    let device = Device {
        tenant,
        id: device,
        name: device_name,
        kind,
        site,
        sector: sector.as_ref().map(|s| s.id.clone()),
        model,
        firmware,
        heartbeat_interval_s: beat,
    };
    Some((site_item, sector, device))
}

/// Adds `item` the first time its key is seen; a later row must say the
/// same of it.
fn agree<T: PartialEq + super::plan::Item>(
    items: &mut Vec<At<T>>,
    first: &mut HashMap<(Id, Id), usize>,
    key: (Id, Id),
    at: At<T>,
    errors: &mut Errors,
) {
    let what = T::WHAT;
    match first.get(&key) {
        Some(&i) => {
            if items[i].item != at.item {
                errors.push(FileError::new(
                    at.line,
                    what,
                    format!(
                        "{what} {} of {} is described differently on line {}",
                        key.1, key.0, items[i].line
                    ),
                ));
            }
        }
        None => {
            first.insert(key, items.len());
            items.push(at);
        }
    }
}

/// The fields whose (optional) column the file does not have: `(column,
/// field)` pairs.
fn unset(at: &HashMap<String, usize>, columns: &[(&str, &'static str)]) -> Vec<&'static str> {
    columns
        .iter()
        .filter(|(column, _)| !at.contains_key(*column))
        .map(|(_, field)| *field)
        .collect()
}

/// Writes the devices of `inv` with their sites and sectors, one row each.
pub fn write(inv: &Inventory) -> Result<String, String> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let header: Vec<&str> = REQUIRED.iter().chain(OPTIONAL.iter()).copied().collect();
    w.write_record(&header).map_err(|e| e.to_string())?;
    let sites: HashMap<(&Id, &Id), &Site> =
        inv.sites.iter().map(|s| ((&s.tenant, &s.id), s)).collect();
    let sectors: HashMap<(&Id, &Id), &Sector> = inv
        .sectors
        .iter()
        .map(|s| ((&s.tenant, &s.id), s))
        .collect();
    for d in &inv.devices {
        let Some(site) = sites.get(&(&d.tenant, &d.site)) else {
            return Err(format!(
                "device {} of {}: site {} is not in the inventory",
                d.id, d.tenant, d.site
            ));
        };
        let sector = d.sector.as_ref().and_then(|s| sectors.get(&(&d.tenant, s)));
        let row = [
            d.tenant.to_string(),
            site.id.to_string(),
            defuse(site.name.as_str()),
            site.lat.to_string(),
            site.lon.to_string(),
            d.id.to_string(),
            defuse(d.name.as_str()),
            d.kind.as_str().to_string(),
            defuse(site.region.as_str()),
            d.sector.as_ref().map(Id::to_string).unwrap_or_default(),
            sector.map(|s| defuse(s.name.as_str())).unwrap_or_default(),
            sector
                .map(|s| s.azimuth_deg.to_string())
                .unwrap_or_default(),
            defuse(d.model.as_str()),
            defuse(d.firmware.as_str()),
            d.heartbeat_interval_s.to_string(),
        ];
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "tenant,site,site_name,lat,lon,device,device_name,kind";

    #[test]
    fn rows_become_sites_sectors_and_devices() {
        let text = format!(
            "{HEAD},sector,firmware\nacme,hq,Head office,39.7,-105.2,rtr-1,Core router,router,,7.1\nacme,hq,Head office,39.7,-105.2,ap-1,AP 1,access_point,s1,\n"
        );
        let p = read(&text).unwrap();
        assert_eq!(p.sites.len(), 1);
        assert_eq!(p.sectors.len(), 1);
        assert_eq!(p.devices.len(), 2);
        assert_eq!(p.devices[0].line, 2);
        assert_eq!(p.devices[0].item.firmware.as_str(), "7.1");
        assert_eq!(p.devices[1].item.heartbeat_interval_s, DEFAULT_HEARTBEAT_S);
    }

    #[test]
    fn every_bad_field_is_named_with_its_line() {
        let text = format!(
            "{HEAD}\nacme,hq,HQ,91,-105,rtr 1,R,toaster\nacme,hq,HQ elsewhere,39,-105,r2,R,router\n_x,hq,HQ,1,1,r3,,router\n"
        );
        let e = read(&text).unwrap_err();
        let shown = e.show("fleet.csv");
        for want in [
            "fleet.csv:2: lat: 91 is not between -90 and 90",
            "fleet.csv:2: device: \"rtr 1\"",
            "fleet.csv:2: kind: \"toaster\" is not a device kind",
            "fleet.csv:4: tenant: \"_x\": ids starting with '_' are reserved",
            "fleet.csv:4: device_name: is missing",
        ] {
            assert!(shown.contains(want), "{want} not in\n{shown}");
        }
    }

    #[test]
    fn a_site_described_twice_differently_is_refused() {
        let text = format!(
            "{HEAD}\nacme,hq,HQ,39,-105,r1,R,router\nacme,hq,HQ 2,39,-105,r2,R,router\nacme,hq,HQ,39,-105,r1,R,router\n"
        );
        let shown = read(&text).unwrap_err().show("f.csv");
        assert!(
            shown.contains("f.csv:3: site: site hq of acme is described differently on line 2"),
            "{shown}"
        );
        assert!(
            shown.contains("f.csv:4: device: device r1 of acme is also on line 2"),
            "{shown}"
        );
    }

    #[test]
    fn unknown_and_missing_columns_are_named() {
        let shown = read("tenant,site,colour\n").unwrap_err().show("f.csv");
        assert!(shown.contains("f.csv:1: colour: unknown column"), "{shown}");
        assert!(
            shown.contains("f.csv:1: device: required column missing"),
            "{shown}"
        );
    }

    #[test]
    fn formulas_are_defused_on_the_way_out_and_restored_on_the_way_in() {
        let text = format!("{HEAD}\nacme,hq,=HQ,39,-105,r1,'+R,router\n");
        let p = read(&text).unwrap();
        assert_eq!(p.sites[0].item.name.as_str(), "=HQ");
        assert_eq!(p.devices[0].item.name.as_str(), "+R");
        assert_eq!(defuse("=HQ"), "'=HQ");
        assert_eq!(restore("'it's"), "'it's");
    }
}
