// The reads behind the console's site view and device detail, shared by
// both backends like `read.rs` (included after it, so its helpers are in
// scope).

pub(super) async fn site_detail(
    pool: &mut Conn,
    scope: &Scope,
    site: &Id,
    alerts: u32,
) -> Result<crate::domain::site::SiteDetail, StoreError> {
    let site_args = || {
        let mut args = vec![Arg::Text(site.to_string())];
        args.extend(scope_args(scope));
        args
    };
    let sql = format!(
        "SELECT tenant_id, site_id, id, name, azimuth_deg FROM sectors
         WHERE site_id = ?{} ORDER BY azimuth_deg, id",
        tenant_filter(scope, "tenant_id")
    );
    let rows = query(sql, site_args()).fetch_all(&mut *pool).await?;
    let mut sectors = rows
        .iter()
        .map(|r| {
            let az: i64 = r.try_get("azimuth_deg")?;
            Ok(crate::domain::site::SectorDevices {
                tenant: id(r, "tenant_id")?,
                site: id(r, "site_id")?,
                id: id(r, "id")?,
                name: text(r, "name")?,
                azimuth_deg: u16::try_from(az.rem_euclid(360)).unwrap_or(0),
                devices: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let sql = format!(
        "SELECT tenant_id, id, sector_id FROM devices WHERE site_id = ?{} ORDER BY id",
        tenant_filter(scope, "tenant_id")
    );
    let mut unsectored = Vec::new();
    for r in query(sql, site_args()).fetch_all(&mut *pool).await? {
        let (tenant, device) = (id(&r, "tenant_id")?, id(&r, "id")?);
        let sector = opt_id(&r, "sector_id")?;
        match sectors
            .iter_mut()
            .find(|s| Some(&s.id) == sector.as_ref() && s.tenant == tenant)
        {
            Some(s) => s.devices.push(device),
            None => unsectored.push(device),
        }
    }
    let sql = format!(
        "SELECT l.tenant_id, l.id, l.ap_id, l.cpe_id, l.state, l.signal_dbm, l.updated
         FROM links l JOIN devices d ON d.tenant_id = l.tenant_id AND d.id = l.ap_id
         WHERE d.site_id = ?{} ORDER BY l.ap_id, l.cpe_id",
        tenant_filter(scope, "l.tenant_id")
    );
    let links = query(sql, site_args())
        .fetch_all(&mut *pool)
        .await?
        .iter()
        .map(link_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut args = site_args();
    args.push(Arg::Int(i64::from(alerts)));
    let alerts = alerts_where(
        pool,
        &format!("site_id = ?{} ORDER BY updated DESC, id LIMIT ?", tenant_filter(scope, "tenant_id")),
        args,
    )
    .await?;
    Ok(crate::domain::site::SiteDetail {
        sectors,
        unsectored,
        links,
        alerts,
    })
}

pub(super) async fn device_links(
    pool: &mut Conn,
    scope: &Scope,
    device: &Id,
) -> Result<Vec<LinkRow>, StoreError> {
    let sql = format!(
        "SELECT tenant_id, id, ap_id, cpe_id, state, signal_dbm, updated FROM links
         WHERE (ap_id = ? OR cpe_id = ?){} ORDER BY id",
        tenant_filter(scope, "tenant_id")
    );
    let mut args = vec![Arg::Text(device.to_string()), Arg::Text(device.to_string())];
    args.extend(scope_args(scope));
    query(sql, args)
        .fetch_all(&mut *pool)
        .await?
        .iter()
        .map(link_row)
        .collect()
}

pub(super) async fn incident(
    pool: &mut Conn,
    scope: &Scope,
    incident: &Id,
) -> Result<Option<(Incident, Vec<Alert>)>, StoreError> {
    let mut args = vec![Arg::Text(incident.to_string())];
    args.extend(scope_args(scope));
    let sql = format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?{}",
        tenant_filter(scope, "tenant_id")
    );
    let Some(row) = query(sql, args.clone()).fetch_optional(&mut *pool).await? else {
        return Ok(None);
    };
    let found = incident_row(&row)?;
    let alerts = alerts_where(
        pool,
        &format!("incident_id = ?{} ORDER BY started, id LIMIT 200", tenant_filter(scope, "tenant_id")),
        args,
    )
    .await?;
    Ok(Some((found, alerts)))
}

/// The alerts `WHERE {condition}` (which may order and limit them).
async fn alerts_where(pool: &mut Conn, condition: &str, args: Vec<Arg>) -> Result<Vec<Alert>, StoreError> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE {condition}");
    query(sql, args)
        .fetch_all(&mut *pool)
        .await?
        .iter()
        .map(alert_row)
        .collect()
}

pub(super) async fn device_interfaces(
    pool: &mut Conn,
    scope: &Scope,
    device: &Id,
) -> Result<Option<crate::domain::fleet::DeviceInterfaces>, StoreError> {
    let sql = format!(
        "SELECT ts, body FROM device_interfaces WHERE device_id = ?{}",
        tenant_filter(scope, "tenant_id")
    );
    let mut args = vec![Arg::Text(device.to_string())];
    args.extend(scope_args(scope));
    let Some(r) = query(sql, args).fetch_optional(&mut *pool).await? else {
        return Ok(None);
    };
    let body: String = r.try_get("body")?;
    Ok(Some(crate::domain::fleet::DeviceInterfaces {
        ts: ts(&r, "ts")?.unwrap_or_default(),
        interfaces: serde_json::from_str(&body).map_err(|_| StoreError::Corrupt {
            what: "interface list",
            value: body.clone(),
        })?,
    }))
}
