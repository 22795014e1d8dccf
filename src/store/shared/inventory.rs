// The inventory as stored: every site, sector, device and link of a scope,
// for `vigie inventory export` and for planning an import. Included by
// each backend's `read.rs` after `shared/read.rs` (whose helpers it uses).

use crate::domain::model::{Device, Inventory, Link, Sector, Site};

/// A whole number of a column that must fit `T`.
fn small<T: TryFrom<i64>>(row: &DbRow, col: &str, what: &'static str) -> Result<T, StoreError> {
    let v: i64 = row.try_get(col)?;
    T::try_from(v).map_err(|_| StoreError::Corrupt {
        what,
        value: v.to_string(),
    })
}

/// Rows of `table`'s `columns` in scope, in `order`, each made by `make`.
async fn items<T>(
    pool: &mut Conn,
    scope: &Scope,
    table: &str,
    columns: &str,
    order: &str,
    make: impl Fn(&DbRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let filter = tenant_filter(scope, "tenant_id");
    let sql = format!("SELECT {columns} FROM {table} WHERE 1 = 1{filter} ORDER BY {order}");
    let rows = query(sql, scope_args(scope)).fetch_all(&mut *pool).await?;
    rows.iter().map(make).collect()
}

pub(super) async fn inventory(pool: &mut Conn, scope: &Scope) -> Result<Inventory, StoreError> {
    let sites = items(
        pool,
        scope,
        "sites",
        "tenant_id, id, name, region, lat, lon",
        "tenant_id, id",
        |r| {
            Ok(Site {
                tenant: id(r, "tenant_id")?,
                id: id(r, "id")?,
                name: text(r, "name")?,
                region: text(r, "region")?,
                lat: r.try_get("lat")?,
                lon: r.try_get("lon")?,
            })
        },
    )
    .await?;
    let sectors = items(
        pool,
        scope,
        "sectors",
        "tenant_id, site_id, id, name, azimuth_deg",
        "tenant_id, site_id, id",
        |r| {
            Ok(Sector {
                tenant: id(r, "tenant_id")?,
                site: id(r, "site_id")?,
                id: id(r, "id")?,
                name: text(r, "name")?,
                azimuth_deg: small(r, "azimuth_deg", "sector azimuth")?,
            })
        },
    )
    .await?;
    let devices = items(
        pool,
        scope,
        "devices",
        "tenant_id, id, name, kind, site_id, sector_id, model, firmware, heartbeat_interval_s",
        "tenant_id, site_id, id",
        |r| {
            Ok(Device {
                tenant: id(r, "tenant_id")?,
                id: id(r, "id")?,
                name: text(r, "name")?,
                kind: parse("device kind", r.try_get("kind")?, DeviceKind::parse)?,
                site: id(r, "site_id")?,
                sector: opt_id(r, "sector_id")?,
                model: text(r, "model")?,
                firmware: text(r, "firmware")?,
                heartbeat_interval_s: small(r, "heartbeat_interval_s", "heartbeat interval")?,
            })
        },
    )
    .await?;
    let links = items(
        pool,
        scope,
        "links",
        "tenant_id, id, ap_id, cpe_id",
        "tenant_id, id",
        |r| {
            Ok(Link {
                tenant: id(r, "tenant_id")?,
                id: id(r, "id")?,
                ap: id(r, "ap_id")?,
                cpe: id(r, "cpe_id")?,
            })
        },
    )
    .await?;
    Ok(Inventory {
        tenants: Vec::new(),
        sites,
        sectors,
        devices,
        links,
    })
}
