//! The storage suite: every `Store` backend must pass these.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use vigie::domain::Id;
use vigie::domain::alert::AlertState;
use vigie::domain::audit::AuditEntry;
use vigie::domain::device::DeviceStatus;
use vigie::domain::fleet::{FleetQuery, FleetSort};
use vigie::domain::incident::{Incident, IncidentState};
use vigie::domain::model::{Alert, Inventory, Severity};
use vigie::domain::push::PushQuery;
use vigie::domain::push::{PushState, RevertReason, Rollout, RolloutState};
use vigie::store::{DeviceState, MetricRow, Scope, SignalRow, Store, StoreError, WriteBatch};

// Used by the backends' suites through `storage_suite!`.
#[allow(unused_imports)]
pub use super::storage_outbound::{
    a_deleted_tenant_takes_its_destinations_and_queued_events_along,
    an_awaited_ack_is_kept_with_its_row, destinations_and_their_outbox,
};

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

pub fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

/// A small simulated fleet (three tenants).
pub fn inventory() -> Inventory {
    vigie::sim::plan(3, 120).inventory
}

async fn ready(store: &Arc<dyn Store>) -> Inventory {
    store.migrate().await.unwrap();
    let inv = inventory();
    store.import_inventory(&inv).await.unwrap();
    inv
}

fn metrics(inv: &Inventory, n: usize, prefix: &str) -> Vec<MetricRow> {
    (0..n)
        .map(|i| {
            let d = &inv.devices[i % inv.devices.len()];
            MetricRow {
                tenant: d.tenant.clone(),
                msg_id: format!("{prefix}-{i}").into(),
                device: d.id.clone(),
                ts: t0() + Duration::seconds(i as i64),
                cpu_pct: (i % 100) as f32,
                mem_pct: 40.0,
                rx_bps: 1_000 + i as u64,
                tx_bps: 500,
            }
        })
        .collect()
}

fn state(tenant: &Id, device: &Id, status: DeviceStatus, seen: DateTime<Utc>) -> DeviceState {
    DeviceState {
        tenant: tenant.clone(),
        device: device.clone(),
        status,
        status_since: Some(seen),
        last_seen: Some(seen),
        cpu_pct: Some(12.5),
        mem_pct: Some(40.0),
        signal_dbm: None,
        uptime_s: Some(3_600),
        firmware: None,
        heartbeat_interval_s: 60,
    }
}

pub async fn migrate_is_idempotent(store: Arc<dyn Store>) {
    let first = store.migrate().await.unwrap();
    assert!(!first.is_empty());
    assert!(store.migrate().await.unwrap().is_empty());
}

pub async fn inventory_shows_in_the_fleet(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let page = store
        .fleet_page(&Scope::All, &FleetQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total as usize, inv.devices.len());
    assert_eq!(page.rows.len(), inv.devices.len());
    assert!(page.rows.iter().all(|r| r.status == DeviceStatus::Pending));
    let counts = store.status_counts(&Scope::All).await.unwrap();
    assert_eq!(counts.pending as usize, inv.devices.len());
    assert_eq!(store.tenants().await.unwrap().len(), 3);
    assert_eq!(
        store.sites(&Scope::All).await.unwrap().len(),
        inv.sites.len()
    );
    assert_eq!(
        store.links(&Scope::All).await.unwrap().len(),
        inv.links.len()
    );
    // Importing again keeps live state.
    let d = &inv.devices[0];
    store
        .write_batch(&WriteBatch {
            devices: vec![state(&d.tenant, &d.id, DeviceStatus::Online, t0())],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    store.import_inventory(&inv).await.unwrap();
    let row = store.device(&Scope::All, &d.id).await.unwrap().unwrap();
    assert_eq!(row.status, DeviceStatus::Online);
}

pub async fn fleet_page_filters_sorts_and_pages(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    // The text matches name, id or site name.
    let routers = inv
        .devices
        .iter()
        .filter(|d| d.name.as_str().contains("rtr") || d.id.as_str().contains("rtr"))
        .count();
    let q = FleetQuery {
        text: Some("RTR".into()),
        ..FleetQuery::default()
    };
    let page = store.fleet_page(&Scope::All, &q).await.unwrap();
    assert_eq!(page.total as usize, routers);
    // LIKE wildcards in the text are literal.
    let q = FleetQuery {
        text: Some("%".into()),
        ..FleetQuery::default()
    };
    assert_eq!(store.fleet_page(&Scope::All, &q).await.unwrap().total, 0);
    let q = FleetQuery {
        sort: FleetSort::Name,
        limit: 10,
        offset: 5,
        ..FleetQuery::default()
    };
    let page = store.fleet_page(&Scope::All, &q).await.unwrap();
    assert_eq!(page.rows.len(), 10);
    assert_eq!(page.total as usize, inv.devices.len());
    let mut names: Vec<_> = inv
        .devices
        .iter()
        .map(|d| d.name.as_str().to_string())
        .collect();
    names.sort();
    let got: Vec<_> = page
        .rows
        .iter()
        .map(|r| r.name.as_str().to_string())
        .collect();
    assert_eq!(got, names[5..15]);
    let d = &inv.devices[3];
    store
        .write_batch(&WriteBatch {
            devices: vec![state(&d.tenant, &d.id, DeviceStatus::Offline, t0())],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    let q = FleetQuery {
        status: Some(DeviceStatus::Offline),
        ..FleetQuery::default()
    };
    let page = store.fleet_page(&Scope::All, &q).await.unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].id, d.id);
    // Status sort puts the worst first.
    let page = store
        .fleet_page(&Scope::All, &FleetQuery::default())
        .await
        .unwrap();
    assert_eq!(page.rows[0].id, d.id);
}

pub async fn batches_are_idempotent_on_message_ids(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let batch = WriteBatch {
        metrics: metrics(&inv, 2_500, "m"),
        ..WriteBatch::default()
    };
    let first = store.write_batch(&batch).await.unwrap();
    assert_eq!((first.inserted, first.duplicates), (2_500, 0));
    let again = store.write_batch(&batch).await.unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 2_500));
    let mixed = WriteBatch {
        metrics: metrics(&inv, 3_000, "m"),
        ..WriteBatch::default()
    };
    let third = store.write_batch(&mixed).await.unwrap();
    assert_eq!((third.inserted, third.duplicates), (500, 2_500));
    assert_eq!(
        store.ingest_counts(&Scope::All).await.unwrap().metrics,
        3_000
    );
}

pub async fn device_state_and_series(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let d = &inv.devices[0];
    let mut batch = WriteBatch {
        devices: vec![state(&d.tenant, &d.id, DeviceStatus::Online, t0())],
        ..WriteBatch::default()
    };
    for i in 0..10 {
        batch.signals.push(SignalRow {
            tenant: d.tenant.clone(),
            msg_id: format!("s-{i}").into(),
            device: d.id.clone(),
            peer: id("peer"),
            ts: t0() + Duration::seconds(60 * (9 - i)),
            rssi_dbm: -60.0 - i as f32,
            snr_db: Some(30.0),
        });
    }
    batch.metrics = metrics(&inv, 1, "one");
    store.write_batch(&batch).await.unwrap();
    let row = store
        .device(&Scope::Tenant(d.tenant.clone()), &d.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, DeviceStatus::Online);
    assert_eq!(row.last_seen, Some(t0()));
    assert_eq!(row.cpu_pct, Some(12.5));
    assert_eq!(row.uptime_s, Some(3_600));
    let series = store
        .signal_series(
            &Scope::All,
            &d.id,
            t0() + Duration::seconds(60),
            t0() + Duration::seconds(300),
        )
        .await
        .unwrap();
    assert_eq!(series.len(), 4, "[60s, 300s) holds 60,120,180,240");
    assert!(series.windows(2).all(|w| w[0].ts < w[1].ts), "oldest first");
    let m = store
        .metric_series(
            &Scope::All,
            &d.id,
            t0() - Duration::hours(1),
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(m.len(), 1);
    let counts = store.status_counts(&Scope::All).await.unwrap();
    assert_eq!(counts.online, 1);
    let states = store.device_states(&Scope::All).await.unwrap();
    assert_eq!(states.len(), inv.devices.len());
}

pub async fn periodic_rule_inputs_and_leases(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    use vigie::domain::model::DeviceKind;
    // Two online clients of one sector, with signal.
    let cpes: Vec<_> = inv
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Cpe && d.sector.is_some())
        .take(2)
        .collect();
    assert_eq!(cpes.len(), 2, "the simulated fleet has sectored CPEs");
    let mut batch = WriteBatch::default();
    for (i, d) in cpes.iter().enumerate() {
        let mut s = state(&d.tenant, &d.id, DeviceStatus::Online, t0());
        s.signal_dbm = Some(-60.0 - 10.0 * i as f32);
        batch.devices.push(s);
        // A baseline at -60 dBm, then a recent window 8 dB lower.
        for k in 0..20 {
            let (ts, rssi) = if k < 10 {
                (t0() - Duration::days(10) + Duration::minutes(k), -60.0)
            } else {
                (t0() - Duration::days(1) + Duration::minutes(k), -68.0)
            };
            batch.signals.push(SignalRow {
                tenant: d.tenant.clone(),
                msg_id: format!("trend-{i}-{k}").into(),
                device: d.id.clone(),
                peer: id("ap"),
                ts,
                rssi_dbm: rssi,
                snr_db: None,
            });
        }
    }
    store.write_batch(&batch).await.unwrap();
    let sectors = store.sector_health(&Scope::All).await.unwrap();
    let sector = cpes[0].sector.clone().unwrap();
    let mine = sectors.iter().find(|s| s.sector == sector).unwrap();
    assert!(mine.clients_online >= 1);
    assert!(mine.avg_signal_dbm.is_some());
    let other = Scope::Tenant(id("nobody"));
    assert!(store.sector_health(&other).await.unwrap().is_empty());
    // The map: each access point's links, counted, facing its sector.
    let aps = store.ap_links(&Scope::All).await.unwrap();
    for link in &inv.links {
        let ap = aps
            .iter()
            .find(|a| a.tenant == link.tenant && a.ap == link.ap)
            .unwrap_or_else(|| panic!("access point {} on the map", link.ap));
        let n = inv.links.iter().filter(|l| l.ap == link.ap).count();
        assert_eq!((ap.up + ap.degraded + ap.down) as usize, n);
        let dev = inv.devices.iter().find(|d| d.id == link.ap).unwrap();
        assert_eq!(ap.site, dev.site);
        let az = dev
            .sector
            .as_ref()
            .and_then(|s| inv.sectors.iter().find(|x| &x.id == s))
            .map(|s| s.azimuth_deg);
        assert_eq!(ap.azimuth_deg, az);
    }
    assert!(store.ap_links(&other).await.unwrap().is_empty());
    let trends = store
        .signal_trends(
            &Scope::All,
            t0() - Duration::days(21),
            t0() - Duration::days(7),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(trends.len(), 2);
    let t = &trends[0];
    assert_eq!((t.recent_n, t.baseline_n), (10, 10));
    assert!((t.baseline_dbm.unwrap() - -60.0).abs() < 0.01);
    assert!((t.recent_dbm.unwrap() - -68.0).abs() < 0.01);
    assert_eq!(t.site, cpes.iter().find(|d| d.id == t.device).unwrap().site);
    // Leases: one holder at a time, renewable, free once expired.
    let until = t0() + Duration::seconds(30);
    assert!(store.try_lease("rules", "w1", t0(), until).await.unwrap());
    assert!(!store.try_lease("rules", "w2", t0(), until).await.unwrap());
    assert!(
        store.try_lease("rules", "w1", t0(), until).await.unwrap(),
        "renewed"
    );
    let later = t0() + Duration::seconds(31);
    assert!(
        store
            .try_lease("rules", "w2", later, later + Duration::seconds(30))
            .await
            .unwrap()
    );
    assert!(!store.try_lease("rules", "w1", later, later).await.unwrap());
}

fn incident(tenant: &Id, n: u32, severity: Severity, due_h: i64, state: IncidentState) -> Incident {
    let mut i = Incident::open(
        tenant.clone(),
        id(&format!("inc-{n}")),
        format!("{tenant}/site/rule-{n}"),
        format!("incident {n}").as_str().into(),
        severity,
        id(&format!("al-{n}")),
        t0(),
    );
    i.sla_due = t0() + Duration::hours(due_h);
    i.state = state;
    i
}

pub async fn alerts_and_the_incident_queue(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let t = &inv.tenants[0].id;
    let d = inv.devices.iter().find(|d| &d.tenant == t).unwrap();
    let batch = WriteBatch {
        incidents: vec![
            incident(t, 1, Severity::Minor, 1, IncidentState::New),
            incident(t, 2, Severity::Critical, 5, IncidentState::Acknowledged),
            incident(t, 3, Severity::Critical, 2, IncidentState::InProgress),
            incident(t, 4, Severity::Critical, 1, IncidentState::Resolved),
        ],
        alerts: vec![Alert {
            tenant: t.clone(),
            id: id("al-1"),
            rule: "cpu-high".into(),
            device: Some(d.id.clone()),
            site: Some(d.site.clone()),
            severity: Severity::Major,
            state: AlertState::Firing,
            summary: "cpu".into(),
            flapping: false,
            started: t0(),
            updated: t0(),
            incident: Some(id("inc-1")),
        }],
        ..WriteBatch::default()
    };
    store.write_batch(&batch).await.unwrap();
    let q = store.incident_queue(&Scope::All, 10).await.unwrap();
    let ids: Vec<_> = q.iter().map(|i| i.id.as_str().to_string()).collect();
    assert_eq!(
        ids,
        ["inc-3", "inc-2", "inc-1"],
        "severity first, then SLA; resolved left out"
    );
    assert_eq!(q[1].state, IncidentState::Acknowledged);
    // Upsert: the same incident resolved drops out of the queue.
    let mut resolved = q[0].clone();
    resolved.state = IncidentState::Resolved;
    store
        .write_batch(&WriteBatch {
            incidents: vec![resolved],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store.incident_queue(&Scope::All, 10).await.unwrap().len(),
        2
    );
    let alerts = store
        .alert_history(&Scope::All, Some(&d.id), 10)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].incident, Some(id("inc-1")));
    assert!(
        store
            .alert_history(&Scope::All, Some(&id("other")), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // One incident in any state, with its alerts; a snooze is kept.
    let mut snoozed = store.incident_queue(&Scope::All, 10).await.unwrap()[1].clone();
    assert_eq!(snoozed.id, id("inc-1"));
    snoozed.snoozed_until = Some(t0() + Duration::hours(2));
    store
        .write_batch(&WriteBatch {
            incidents: vec![snoozed.clone()],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    let scope = Scope::Tenant(t.clone());
    let (back, alerts) = store.incident(&scope, &id("inc-1")).await.unwrap().unwrap();
    assert_eq!(back, snoozed);
    assert_eq!(alerts.len(), 1);
    let (done, _) = store.incident(&scope, &id("inc-4")).await.unwrap().unwrap();
    assert_eq!(done.state, IncidentState::Resolved, "resolved ones too");
    assert!(
        store
            .incident(&scope, &id("inc-9"))
            .await
            .unwrap()
            .is_none()
    );
    let other = Scope::Tenant(inv.tenants[1].id.clone());
    assert!(
        store
            .incident(&other, &id("inc-1"))
            .await
            .unwrap()
            .is_none()
    );
}

/// Every query honours a one-tenant scope.
pub async fn tenant_scope_is_enforced_in_every_query(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let (a, b) = (&inv.tenants[0].id, &inv.tenants[1].id);
    let a_dev = inv.devices.iter().find(|d| &d.tenant == a).unwrap();
    let b_dev = inv.devices.iter().find(|d| &d.tenant == b).unwrap();
    let mut batch = WriteBatch {
        metrics: metrics(&inv, inv.devices.len(), "x"),
        incidents: vec![
            incident(a, 1, Severity::Major, 1, IncidentState::New),
            incident(b, 2, Severity::Major, 1, IncidentState::New),
        ],
        ..WriteBatch::default()
    };
    batch.signals.push(SignalRow {
        tenant: b.clone(),
        msg_id: "sb".into(),
        device: b_dev.id.clone(),
        peer: id("p"),
        ts: t0(),
        rssi_dbm: -70.0,
        snr_db: None,
    });
    store.write_batch(&batch).await.unwrap();
    let sa = Scope::Tenant(a.clone());
    let page = store.fleet_page(&sa, &FleetQuery::default()).await.unwrap();
    assert!(page.rows.iter().all(|r| &r.tenant == a));
    assert_eq!(
        page.total as usize,
        inv.devices.iter().filter(|d| &d.tenant == a).count()
    );
    assert_eq!(
        store.status_counts(&sa).await.unwrap().total() as usize,
        inv.devices.iter().filter(|d| &d.tenant == a).count()
    );
    assert!(
        store
            .sites(&sa)
            .await
            .unwrap()
            .iter()
            .all(|s| &s.tenant == a)
    );
    assert!(
        store
            .links(&sa)
            .await
            .unwrap()
            .iter()
            .all(|l| &l.tenant == a)
    );
    assert!(
        store
            .device_states(&sa)
            .await
            .unwrap()
            .iter()
            .all(|s| &s.tenant == a)
    );
    let q = store.incident_queue(&sa, 10).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(&q[0].tenant, a);
    assert!(
        store.device(&sa, &b_dev.id).await.unwrap().is_none(),
        "another tenant's device"
    );
    assert!(store.device(&sa, &a_dev.id).await.unwrap().is_some());
    let far = (t0() - Duration::days(1), t0() + Duration::days(1));
    assert!(
        store
            .signal_series(&sa, &b_dev.id, far.0, far.1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .signal_series(&Scope::Tenant(b.clone()), &b_dev.id, far.0, far.1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .metric_series(&sa, &b_dev.id, far.0, far.1)
            .await
            .unwrap()
            .is_empty()
    );
    let counts = store.ingest_counts(&sa).await.unwrap();
    assert_eq!(counts.signals, 0);
    assert_eq!(
        counts.metrics as usize,
        inv.devices.iter().filter(|d| &d.tenant == a).count()
    );
    assert!(
        store
            .alert_history(&sa, None, 10)
            .await
            .unwrap()
            .iter()
            .all(|x| &x.tenant == a)
    );
}

fn push(inv: &Inventory, i: usize, n: u32) -> vigie::domain::push::Push {
    let d = &inv.devices[i];
    vigie::domain::push::Push {
        tenant: d.tenant.clone(),
        id: id(&format!("push-{n}")),
        device: d.id.clone(),
        rollout: None,
        wave: 0,
        state: PushState::Sent,
        version: 1,
        seq: u64::from(n),
        body: format!("hostname {}\n\tip 10.0.0.{n}\n", d.id),
        previous: Some("hostname old\n".into()),
        reason: "ticket 42".into(),
        actor: "ana".into(),
        window_s: 120,
        created: t0() + Duration::seconds(i64::from(n)),
        order_expires: t0() + Duration::seconds(120),
        confirm_sent: None,
        revert_sent: None,
        confirm_seq: None,
        revert_seq: None,
        reported: None,
        detail: None,
        updated: t0(),
    }
}

fn audit_of(p: &vigie::domain::push::Push, action: &str) -> AuditEntry {
    AuditEntry::new(&p.tenant, t0(), "ana", action, format!("push/{}", p.id))
}

pub async fn pushes_are_compare_and_set_with_their_audit(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let p = push(&inv, 0, 1);
    let scope = Scope::Tenant(p.tenant.clone());
    store
        .insert_push(&p, &audit_of(&p, "push.create"))
        .await
        .unwrap();
    assert_eq!(store.push(&scope, &p.id).await.unwrap(), Some(p.clone()));

    // A second push in progress on the same device is refused.
    let mut second = push(&inv, 0, 2);
    let err = store
        .insert_push(&second, &audit_of(&second, "push.create"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");

    // Applied: the compare-and-set wins once, then loses on the old version.
    let deadline = t0() + Duration::seconds(300);
    let mut applied = p.clone();
    applied.state = PushState::Applied { deadline };
    applied.reported = Some(t0() + Duration::seconds(1));
    let a = audit_of(&p, "push.applied").change("sent", "applied");
    assert!(
        store
            .update_push(&applied, 1, std::slice::from_ref(&a), &[])
            .await
            .unwrap()
    );
    // A change that loses the race queues nothing either.
    let failed = vigie::domain::push::Push {
        state: PushState::Failed,
        ..applied.clone()
    };
    let lost = push_outbox(&failed, &[(Some(&p.tenant), "lost")]);
    assert_eq!(lost.len(), 1);
    assert!(!store.update_push(&applied, 1, &[a], &lost).await.unwrap());
    assert!(
        store
            .outbox_due(
                Some(&p.tenant),
                &Id::parse("lost").unwrap(),
                t0() + Duration::days(9),
                10
            )
            .await
            .unwrap()
            .is_empty()
    );
    let stored = store.push(&scope, &p.id).await.unwrap().unwrap();
    assert_eq!(stored.state, PushState::Applied { deadline });
    assert_eq!(stored.version, 2);
    assert_eq!(stored.reported, applied.reported);

    let mut reverted = stored.clone();
    reverted.state = PushState::Reverted {
        reason: RevertReason::Restart,
    };
    reverted.detail = Some("agent restarted".into());
    // Its event queued in the same transaction, for the tenant's
    // destination and the provider's.
    let rows = push_outbox(&reverted, &[(Some(&p.tenant), "soc"), (None, "noc")]);
    assert!(store.update_push(&reverted, 2, &[], &rows).await.unwrap());
    for (owner, dest) in [(Some(&p.tenant), "soc"), (None, "noc")] {
        let due = store
            .outbox_due(
                owner,
                &Id::parse(dest).unwrap(),
                t0() + Duration::days(9),
                10,
            )
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{dest}");
        assert_eq!(due[0].event.kind.as_str(), "push.reverted");
    }
    let stored = store.push(&scope, &p.id).await.unwrap().unwrap();
    assert_eq!(stored.state, reverted.state);
    assert_eq!(
        stored.detail.as_ref().map(|d| d.as_str()),
        Some("agent restarted")
    );

    // Final: the device takes a new push.
    second.created = t0() + Duration::seconds(10);
    store
        .insert_push(&second, &audit_of(&second, "push.create"))
        .await
        .unwrap();
    let open = PushQuery {
        open_only: true,
        limit: 10,
        ..PushQuery::default()
    };
    let list = store.pushes(&Scope::All, &open).await.unwrap();
    assert_eq!(
        list.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["push-2"]
    );
    let by_device = PushQuery {
        device: Some(p.device.clone()),
        limit: 10,
        ..PushQuery::default()
    };
    let list = store.pushes(&scope, &by_device).await.unwrap();
    assert_eq!(
        list.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["push-2", "push-1"],
        "newest first"
    );

    // Another tenant sees none of it.
    let other = inv.tenants.iter().find(|t| t.id != p.tenant).unwrap();
    let theirs = Scope::Tenant(other.id.clone());
    assert!(store.push(&theirs, &p.id).await.unwrap().is_none());
    assert!(store.pushes(&theirs, &by_device).await.unwrap().is_empty());
    assert!(store.audit(&theirs, None, 100).await.unwrap().is_empty());

    let log = store.audit(&scope, Some("push/push-1"), 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["push.create", "push.applied"],
        "in log order; the lost race left nothing"
    );
    assert_eq!(log[1].before.as_deref(), Some("sent"));
    assert!(log[0].id < log[1].id);
}

pub async fn order_sequences_rise_and_audit_dedups(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let d = &inv.devices[0];
    let e = &inv.devices[1];
    let a = store.next_order_seq(&d.tenant, &d.id, 100).await.unwrap();
    let b = store.next_order_seq(&d.tenant, &d.id, 100).await.unwrap();
    let c = store.next_order_seq(&d.tenant, &d.id, 5_000).await.unwrap();
    assert_eq!((a, b, c), (100, 101, 5_000));
    assert_eq!(store.next_order_seq(&e.tenant, &e.id, 7).await.unwrap(), 7);
    // A floor below the last one given never goes back.
    assert_eq!(
        store.next_order_seq(&d.tenant, &d.id, 1).await.unwrap(),
        5_001
    );

    let entry = AuditEntry::new(&d.tenant, t0(), "agent:x", "push.applied", "push/p".into())
        .once("report-m1".into());
    store.append_audit(&entry).await.unwrap();
    store.append_audit(&entry).await.unwrap();
    let log = store
        .audit(&Scope::Tenant(d.tenant.clone()), Some("push/p"), 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "one entry per dedup key");

    assert!(
        store
            .latest_config(&Scope::All, &d.id)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn rollouts_are_compare_and_set(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let t = inv.devices[0].tenant.clone();
    let devices: Vec<Id> = inv
        .devices
        .iter()
        .filter(|d| d.tenant == t)
        .take(4)
        .map(|d| d.id.clone())
        .collect();
    let r = Rollout {
        tenant: t.clone(),
        id: id("rollout-1"),
        state: RolloutState::Running,
        devices,
        wave_size: 2,
        next_index: 1,
        wave: 0,
        body: "ntp server 10.0.0.1\n".into(),
        reason: "NTP change".into(),
        actor: "ana".into(),
        window_s: 60,
        created: t0(),
        updated: t0(),
        detail: None,
        version: 1,
    };
    let a = AuditEntry::new(
        &t,
        t0(),
        "ana",
        "rollout.create",
        "rollout/rollout-1".into(),
    );
    store.insert_rollout(&r, &a).await.unwrap();
    let scope = Scope::Tenant(t.clone());
    let running = store.rollouts(&Scope::All, None, true).await.unwrap();
    assert_eq!(running, vec![r.clone()]);
    let mut next = r.clone();
    next.wave = 1;
    next.next_index = 3;
    assert!(store.update_rollout(&next, 1, &[]).await.unwrap());
    assert!(!store.update_rollout(&next, 1, &[]).await.unwrap());
    next.state = RolloutState::Stopped;
    next.detail = Some("wave 1: d failed".into());
    assert!(store.update_rollout(&next, 2, &[]).await.unwrap());
    assert!(
        store
            .rollouts(&Scope::All, None, true)
            .await
            .unwrap()
            .is_empty()
    );
    let got = store.rollouts(&scope, Some(&r.id), false).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].state, got[0].wave, got[0].version),
        (RolloutState::Stopped, 1, 3)
    );
}

/// Generates one `#[tokio::test]` per suite case for a store factory.
pub async fn audit_chains_hold_under_concurrent_appends(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let t = inv.tenants[0].id.clone();
    let u = inv.tenants[1].id.clone();
    // Sixteen writers on two tenants at once: each chain stays one line.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (store, tenant) = (
            Arc::clone(&store),
            if i % 2 == 0 { t.clone() } else { u.clone() },
        );
        tasks.push(tokio::spawn(async move {
            for j in 0..5 {
                let e =
                    AuditEntry::new(&tenant, t0(), "ana", "push.create", format!("push/{i}-{j}"))
                        .because("chain");
                store.append_audit(&e).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let v = vigie::admin::audit::verify(store.as_ref(), None)
        .await
        .unwrap();
    assert_eq!(v.broken, None);
    let mut counts = v.tenants.clone();
    counts.sort();
    let mut want = vec![(t.clone(), 40), (u.clone(), 40)];
    want.sort();
    assert_eq!(counts, want);
    let chain = store.audit_chain(&t, 0, 100).await.unwrap();
    assert_eq!(
        chain.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    assert_eq!(chain[0].prev_hash, vigie::domain::audit::GENESIS);

    // An exported bundle checks offline, and fails once any byte changes.
    let key = vigie::orders::SigningKey::generate().unwrap();
    let bundle = vigie::admin::audit::export(
        store.as_ref(),
        &key,
        &t,
        t0() - Duration::days(1),
        t0() + Duration::days(1),
        t0(),
    )
    .await
    .unwrap();
    let ok = vigie::admin::audit::check_bundle(&bundle, &[key.public_base64()]).unwrap();
    assert_eq!((ok.entries, ok.trusted), (40, Some(true)));
    for at in [10, bundle.len() / 2, bundle.len() - 3] {
        let mut bad = bundle.clone();
        bad[at] ^= 0x01;
        assert!(
            vigie::admin::audit::check_bundle(&bad, &[key.public_base64()]).is_err(),
            "byte {at} changed and the bundle still checked"
        );
    }
    let other = vigie::orders::SigningKey::generate().unwrap();
    let untrusted = vigie::admin::audit::check_bundle(&bundle, &[other.public_base64()]).unwrap();
    assert_eq!(untrusted.trusted, Some(false));
}

pub async fn tenants_users_and_the_provider_tier(store: Arc<dyn Store>) {
    use vigie::admin::{tenants, users};
    use vigie::domain::access::Role;
    ready(&store).await;
    let now = Utc::now();
    let (_, tier) = store.provider().await.unwrap();
    assert_eq!(tier, vigie::domain::model::Tier::Enterprise);
    tenants::set_provider(
        store.as_ref(),
        Some("Acme MSSP"),
        Some(vigie::domain::model::Tier::Starter),
        "os:root",
        now,
    )
    .await
    .unwrap();
    let have = store.tenants().await.unwrap().len();
    let mut template = store.tenants().await.unwrap()[0].clone();
    for i in have..10 {
        template.id = id(&format!("cust-{i}"));
        tenants::create(store.as_ref(), &template, "os:root", now)
            .await
            .unwrap();
    }
    template.id = id("one-too-many");
    let e = tenants::create(store.as_ref(), &template, "os:root", now)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("starter tier allows 10"), "{e}");
    assert!(tenants::check_tenant_id("_all").is_err());

    // Users: a tenant admin, a provider-wide viewer; names are unique.
    let cust = id("cust-9");
    users::add(
        store.as_ref(),
        "ana",
        Some(&cust),
        Role::Admin,
        "a long password!",
        "os:root",
        now,
    )
    .await
    .unwrap();
    users::add(
        store.as_ref(),
        "noc",
        None,
        Role::Viewer,
        "another long one",
        "os:root",
        now,
    )
    .await
    .unwrap();
    let dup = users::add(
        store.as_ref(),
        "ana",
        None,
        Role::Viewer,
        "a long password!",
        "x",
        now,
    )
    .await;
    assert!(matches!(
        dup,
        Err(users::AdminError::Store(StoreError::Conflict(_)))
    ));
    assert!(
        users::add(
            store.as_ref(),
            "short",
            None,
            Role::Viewer,
            "short",
            "x",
            now
        )
        .await
        .is_err()
    );
    assert!(
        users::add(
            store.as_ref(),
            "boss",
            Some(&cust),
            Role::SuperAdmin,
            "a long password!",
            "x",
            now
        )
        .await
        .is_err()
    );
    let mine = users::list(store.as_ref(), Some(&cust)).await.unwrap();
    assert_eq!(
        mine.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["ana"]
    );
    users::set_disabled(store.as_ref(), "ana", true, "os:root", now)
        .await
        .unwrap();
    assert!(store.user("ana").await.unwrap().unwrap().disabled);

    // Deleting says what would go, then goes; the audit log stays.
    let (usage, deleted) = tenants::delete(store.as_ref(), &cust, false, "os:root", now)
        .await
        .unwrap();
    assert!(!deleted);
    assert!(usage.rows.contains(&("users".to_string(), 1)));
    let (_, deleted) = tenants::delete(store.as_ref(), &cust, true, "os:root", now)
        .await
        .unwrap();
    assert!(deleted);
    assert!(store.user("ana").await.unwrap().is_none());
    assert!(tenants::get(store.as_ref(), &cust).await.is_err());
    let log = store.audit_chain(&cust, 0, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["tenant.create", "user.add", "user.disable", "tenant.delete"]
    );
    let v = vigie::admin::audit::verify(store.as_ref(), None)
        .await
        .unwrap();
    assert_eq!(v.broken, None);
}

/// The reads behind the site view and a device's detail: a site's sectors
/// with their devices, the devices in no sector, the links of its access
/// points; a device's links from either end; nothing of another tenant.
/// A console's starting point is read at one point in time: rows removed
/// after the view was fixed (while the reads are still to come) are still
/// in it, and gone from the next read.
pub async fn a_fleet_snapshot_reads_one_point_in_time(store: Arc<dyn Store>) {
    store.migrate().await.unwrap();
    let inv = inventory();
    store.import_inventory(&inv).await.unwrap();
    let all = store
        .fleet_page(&Scope::All, &Default::default())
        .await
        .unwrap()
        .rows
        .len();
    let gone = inv.tenants[0].id.clone();
    let theirs = inv.devices.iter().filter(|d| d.tenant == gone).count();
    assert!(theirs > 0);
    let (writer, handle) = (Arc::clone(&store), tokio::runtime::Handle::current());
    let pinned: vigie::store::Pinned = Box::new(move || {
        // The write commits before the reads start.
        std::thread::spawn(move || handle.block_on(writer.purge_tenant(&gone)))
            .join()
            .unwrap()
            .unwrap();
    });
    let snap = store
        .fleet_snapshot(&Scope::All, 500, pinned)
        .await
        .unwrap();
    assert_eq!(snap.devices.len(), all, "the snapshot saw a later write");
    let after = store
        .fleet_page(&Scope::All, &Default::default())
        .await
        .unwrap()
        .rows
        .len();
    assert_eq!(after, all - theirs);
}

pub async fn site_and_device_detail_reads(store: Arc<dyn Store>) {
    let inv = ready(&store).await;
    let link = &inv.links[0];
    let ap = inv.devices.iter().find(|d| d.id == link.ap).unwrap();
    let scope = Scope::Tenant(ap.tenant.clone());
    let d = store.site_detail(&scope, &ap.site, 20).await.unwrap();
    let sectors: Vec<_> = inv
        .sectors
        .iter()
        .filter(|s| s.site == ap.site && s.tenant == ap.tenant)
        .collect();
    assert_eq!(d.sectors.len(), sectors.len());
    for s in &d.sectors {
        let mut want: Vec<&Id> = inv
            .devices
            .iter()
            .filter(|x| x.sector.as_ref() == Some(&s.id) && x.tenant == s.tenant)
            .map(|x| &x.id)
            .collect();
        want.sort();
        assert_eq!(
            s.devices.iter().collect::<Vec<_>>(),
            want,
            "sector {}",
            s.id
        );
        assert!(
            sectors
                .iter()
                .any(|x| x.id == s.id && x.azimuth_deg == s.azimuth_deg)
        );
    }
    let here = inv
        .devices
        .iter()
        .filter(|x| x.site == ap.site && x.tenant == ap.tenant);
    assert_eq!(
        d.unsectored.len(),
        here.clone().filter(|x| x.sector.is_none()).count()
    );
    let aps: Vec<&Id> = here.map(|x| &x.id).collect();
    let want = inv.links.iter().filter(|l| aps.contains(&&l.ap)).count();
    assert_eq!(d.links.len(), want);
    assert!(want > 0 && d.links.iter().all(|l| aps.contains(&&l.ap)));
    assert!(d.alerts.is_empty());
    // A device's links, from the access point and from the client.
    let of_ap = store.device_links(&scope, &link.ap).await.unwrap();
    let want = inv.links.iter().filter(|l| l.ap == link.ap).count();
    assert_eq!(of_ap.len(), want);
    let of_cpe = store.device_links(&scope, &link.cpe).await.unwrap();
    assert_eq!(of_cpe.len(), 1);
    assert_eq!(of_cpe[0].ap, link.ap);
    // Interfaces: none until reported, then the newest report.
    assert!(
        store
            .device_interfaces(&scope, &link.ap)
            .await
            .unwrap()
            .is_none()
    );
    let report = |secs: i64, name: &str| vigie::store::InterfacesRow {
        tenant: ap.tenant.clone(),
        device: link.ap.clone(),
        ts: t0() + Duration::seconds(secs),
        json: format!(r#"[{{"name":"{name}","up":true,"rx_bytes":1,"tx_bytes":2}}]"#),
    };
    for (secs, name) in [(10, "ether1"), (5, "older")] {
        store
            .write_batch(&WriteBatch {
                interfaces: vec![report(secs, name)],
                ..WriteBatch::default()
            })
            .await
            .unwrap();
    }
    let ifs = store
        .device_interfaces(&scope, &link.ap)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ifs.ts, t0() + Duration::seconds(10));
    assert_eq!(ifs.interfaces[0].name.as_str(), "ether1");
    // Another tenant's scope sees none of it.
    let other = inv.tenants.iter().find(|t| t.id != ap.tenant).unwrap();
    let theirs = Scope::Tenant(other.id.clone());
    let d = store.site_detail(&theirs, &ap.site, 20).await.unwrap();
    assert!(d.sectors.is_empty() && d.unsectored.is_empty() && d.links.is_empty());
    assert!(
        store
            .device_links(&theirs, &link.ap)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn enrolment_codes_are_redeemed_once_and_round_trip(store: Arc<dyn Store>) {
    use vigie::domain::enrolment::{Enrolment, Refusal};
    store.migrate().await.unwrap();
    store.import_inventory(&inventory()).await.unwrap();
    let now = t0();
    let e = Enrolment {
        tenant: id("acme"),
        device: id("ap-1"),
        site: Some(id("s1")),
        kind: Some(vigie::domain::model::DeviceKind::Router),
        created_by: "os:noc".into(),
        created_at: now,
        expires_at: now + Duration::hours(1),
    };
    let audit = AuditEntry::new(
        &e.tenant,
        now,
        "os:noc",
        "enrol.create",
        "device/ap-1".into(),
    );
    store.create_enrolment("h1", &e, &audit).await.unwrap();
    let expired = Enrolment {
        expires_at: now - Duration::seconds(1),
        ..e.clone()
    };
    store
        .create_enrolment("h2", &expired, &audit)
        .await
        .unwrap();
    assert!(matches!(
        store.create_enrolment("h1", &e, &audit).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.redeem_enrolment("nope", "UKEY", now).await.unwrap(),
        Err(Refusal::Unknown)
    );
    assert!(matches!(
        store.redeem_enrolment("h2", "UKEY", now).await.unwrap(),
        Err(Refusal::Expired { .. })
    ));
    let got = store
        .redeem_enrolment("h1", "UKEY1", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, e);
    assert!(matches!(
        store.redeem_enrolment("h1", "UKEY2", now).await.unwrap(),
        Err(Refusal::Used { .. })
    ));
    assert_eq!(
        store.enrolled_keys(&id("acme"), &id("ap-1")).await.unwrap(),
        vec!["UKEY1".to_string()]
    );
    assert!(
        store
            .enrolled_keys(&id("acme"), &id("x"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[macro_export]
macro_rules! storage_suite {
    ($make:expr) => {
        $crate::storage_suite!(@cases $make;
            migrate_is_idempotent, inventory_shows_in_the_fleet, fleet_page_filters_sorts_and_pages,
            batches_are_idempotent_on_message_ids, device_state_and_series, alerts_and_the_incident_queue,
            tenant_scope_is_enforced_in_every_query, periodic_rule_inputs_and_leases,
            pushes_are_compare_and_set_with_their_audit, order_sequences_rise_and_audit_dedups,
            rollouts_are_compare_and_set, audit_chains_hold_under_concurrent_appends,
            tenants_users_and_the_provider_tier, site_and_device_detail_reads,
            a_fleet_snapshot_reads_one_point_in_time,
            enrolment_codes_are_redeemed_once_and_round_trip, destinations_and_their_outbox,
            a_deleted_tenant_takes_its_destinations_and_queued_events_along,
            an_awaited_ack_is_kept_with_its_row);
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // `None`: the service is not there and this is not CI.
                let Some((store, _keep)) = $make.await else { return };
                support::storage_suite::$case(store).await;
            }
        )*
    };
}

/// The outbox rows of a push's event for destinations `(owner, id)`.
fn push_outbox(
    p: &vigie::domain::push::Push,
    to: &[(Option<&Id>, &str)],
) -> Vec<vigie::store::outbound::OutboxRow> {
    let events = vigie::domain::outbound::derive::from_push(p);
    to.iter()
        .flat_map(|(owner, dest)| {
            events
                .iter()
                .map(move |e| vigie::store::outbound::OutboxRow {
                    owner: owner.cloned(),
                    destination: Id::parse(dest).unwrap(),
                    event: e.clone(),
                    queued_at: t0(),
                })
        })
        .collect()
}
