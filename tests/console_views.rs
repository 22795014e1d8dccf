//! The console's deeper views through the real update loop: the fleet's
//! detail pane, the site view, the trends view and the audit log. Each asks
//! the worker for what it shows, takes the answer, drops an answer to an
//! older question, and is snapshotted at 80×24 and 160×48 in colour and
//! mono.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Duration;
use serde_json::{Value, json};
use support::console::{app_with, calls, press, render, rows, screen, screens, t0};
use vigie::api::views::{DeviceDetail, Trends};
use vigie::console::KeyMap;
use vigie::console::app::App;
use vigie::console::nav::View;
use vigie::console::update::{Msg, Reply, update};
use vigie::domain::Id;
use vigie::domain::alert::AlertState;
use vigie::domain::link::LinkState;
use vigie::domain::model::{Alert, DeviceKind, LinkRow, Severity};
use vigie::domain::series::{MetricSeries, Window};
use vigie::domain::site::SignalTrend;
use vigie::domain::site::{SectorDevices, SiteDetail};
use vigie::settings::theme::Depth;

fn snapshot_sizes(app: &mut App, keymap: &KeyMap, name: &str, check: impl Fn(&str)) {
    for (size, s) in screens(app, keymap, check) {
        insta::assert_snapshot!(format!("{name}_{size}"), s);
    }
}

fn series(n: usize, f: impl Fn(usize) -> Option<f32>) -> Vec<Option<f32>> {
    (0..n).map(f).collect()
}

fn alert(tenant: &Id, n: usize, device: Option<&Id>, site: Option<&Id>) -> Alert {
    Alert {
        tenant: tenant.clone(),
        id: Id::parse(&format!("al-{n}")).unwrap(),
        rule: ["cpu-high", "link-degraded", "device-offline"][n % 3].into(),
        device: device.cloned(),
        site: site.cloned(),
        severity: [Severity::Major, Severity::Warning, Severity::Critical][n % 3],
        state: if n.is_multiple_of(2) {
            AlertState::Firing
        } else {
            AlertState::Resolved
        },
        summary: format!("alert number {n}").as_str().into(),
        flapping: false,
        started: t0() - Duration::minutes(30 + n as i64),
        updated: t0() - Duration::minutes(n as i64 * 7),
        incident: None,
    }
}

fn link(tenant: &Id, n: usize, ap: &Id, cpe: &Id) -> LinkRow {
    LinkRow {
        tenant: tenant.clone(),
        id: Id::parse(&format!("ln-{n}")).unwrap(),
        ap: ap.clone(),
        cpe: cpe.clone(),
        state: [LinkState::Active, LinkState::Degraded, LinkState::Down][n % 3],
        signal_dbm: Some(-58.0 - (n % 30) as f32),
        updated: Some(t0()),
    }
}

/// A device's detail as the worker answers it, with a gap in its series.
fn detail_of(app: &App, tenant: &Id, device: &Id, range_s: u32, buckets: u16) -> Value {
    let row = app.fleet.find(tenant, device).unwrap().clone();
    let n = usize::from(buckets);
    let peer = app
        .fleet
        .all()
        .find(|r| r.tenant == *tenant && r.id != *device)
        .unwrap()
        .id
        .clone();
    let d = DeviceDetail {
        window: Window::ending(t0(), range_s, buckets),
        metrics: MetricSeries {
            cpu_pct: series(n, |i| Some((i * 7 % 100) as f32)),
            mem_pct: series(n, |i| Some(40.0 + (i % 20) as f32)),
            traffic_bps: series(n, |i| (i % 11 != 5).then_some(1e6 * (1 + i % 9) as f32)),
        },
        signal: series(n, |i| (i % 37 > 3).then_some(-62.0 - (i as f32) / 6.0)),
        links: vec![link(tenant, 1, device, &peer)],
        alerts: (0..4)
            .map(|i| alert(tenant, i, Some(device), None))
            .collect(),
        pushes: Vec::new(),
        interfaces: serde_json::from_value(json!({
            "ts": t0() - Duration::seconds(30),
            "interfaces": [
                { "name": "ether1", "up": true, "speed_mbps": 1000, "rx_bytes": 9_000_000, "tx_bytes": 1_200_000 },
                { "name": "wlan1", "up": true, "rx_bytes": 5_000, "tx_bytes": 7_000, "errors": 12 },
                { "name": "ether2", "up": false, "rx_bytes": 0, "tx_bytes": 0 }
            ]
        }))
        .unwrap(),
        row,
    };
    serde_json::to_value(d).unwrap()
}

fn reply_key(effects: &[vigie::console::update::Effect]) -> Vec<Reply> {
    effects
        .iter()
        .filter_map(|e| match e {
            vigie::console::update::Effect::Call { reply, .. } => Some(reply.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_detail_pane_follows_the_selection_and_drops_stale_answers() {
    let (mut app, keymap) = app_with(rows(300), 24);
    let first = app.fleet.get(0).unwrap().clone();
    let asked = press(&mut app, &keymap, "\n");
    assert!(app.screens.fleet.detail_open);
    let c = calls(&asked);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, "device");
    assert_eq!(c[0].1["device"], first.id.as_str());
    assert_eq!(c[0].1["range_s"], 3_600);
    let s = screen(&render(&app, &keymap, 80, 24, Depth::Ansi16));
    assert!(s.contains("Asking the worker for its history"), "{s}");
    // The selection moves on before the answer comes: the answer is dropped.
    let stale = reply_key(&asked).remove(0);
    let moved = press(&mut app, &keymap, "j");
    let second = app.fleet.get(1).unwrap().clone();
    assert_eq!(calls(&moved)[0].1["device"], second.id.as_str());
    let answer = detail_of(&app, &first.tenant, &first.id, 3_600, 60);
    update(&mut app, &keymap, Msg::Answer(stale, Ok(answer)));
    assert!(app.screens.fleet.detail.data.is_none());
    let fresh = reply_key(&moved).remove(0);
    let answer = detail_of(&app, &second.tenant, &second.id, 3_600, 60);
    update(&mut app, &keymap, Msg::Answer(fresh, Ok(answer)));
    assert!(app.screens.fleet.detail.data.is_some());
    // Not asked again until it is stale.
    let soon = update(&mut app, &keymap, Msg::Tick(t0() + Duration::seconds(2)));
    assert!(calls(&soon).is_empty());
    let later = update(&mut app, &keymap, Msg::Tick(t0() + Duration::seconds(11)));
    assert_eq!(calls(&later)[0].1["device"], second.id.as_str());
    snapshot_sizes(&mut app, &keymap, "fleet_detail", |s| {
        assert!(
            s.contains("CPU") && s.contains("MEM") && s.contains("SIG"),
            "{s}"
        );
        assert!(s.contains(second.name.as_str()), "{s}");
        assert!(s.chars().any(|c| ('▁'..='█').contains(&c)), "{s}");
    });
    // A longer range asks again; esc closes the pane.
    let longer = calls(&press(&mut app, &keymap, "]"));
    assert_eq!(longer[0].1["range_s"], 6 * 3_600);
    press(&mut app, &keymap, "\u{1b}");
    assert!(!app.screens.fleet.detail_open);
}

/// The site of the selected device as the worker's `site` verb answers.
fn site_answer(app: &App) -> Value {
    let row = app.fleet.get(app.selected).unwrap().clone();
    let inv = vigie::sim::plan(7, 300).inventory;
    let sectors: Vec<SectorDevices> = inv
        .sectors
        .iter()
        .filter(|s| s.site == row.site && s.tenant == row.tenant)
        .map(|s| SectorDevices {
            tenant: s.tenant.clone(),
            site: s.site.clone(),
            id: s.id.clone(),
            name: s.name.clone(),
            azimuth_deg: s.azimuth_deg,
            devices: inv
                .devices
                .iter()
                .filter(|d| d.sector.as_ref() == Some(&s.id))
                .map(|d| d.id.clone())
                .collect(),
        })
        .collect();
    let here: Vec<_> = inv
        .devices
        .iter()
        .filter(|d| d.site == row.site && d.tenant == row.tenant)
        .collect();
    let aps: Vec<&Id> = here
        .iter()
        .filter(|d| d.kind == DeviceKind::AccessPoint)
        .map(|d| &d.id)
        .collect();
    let links = inv
        .links
        .iter()
        .filter(|l| aps.contains(&&l.ap))
        .enumerate()
        .map(|(i, l)| link(&l.tenant, i, &l.ap, &l.cpe))
        .collect();
    let detail = SiteDetail {
        sectors,
        unsectored: here
            .iter()
            .filter(|d| d.sector.is_none())
            .map(|d| d.id.clone())
            .collect(),
        links,
        alerts: (0..5)
            .map(|i| alert(&row.tenant, i, None, Some(&row.site)))
            .collect(),
    };
    serde_json::to_value(detail).unwrap()
}

#[test]
fn the_site_view_lists_sectors_devices_links_and_alerts() {
    let (mut app, keymap) = app_with(rows(300), 24);
    // A client radio in a sector.
    let at = (0..app.fleet.len())
        .find(|&i| app.fleet.get(i).unwrap().kind == DeviceKind::Cpe)
        .unwrap();
    app.selected = at;
    let row = app.fleet.get(at).unwrap().clone();
    let asked = press(&mut app, &keymap, "6");
    assert_eq!(app.view, View::Site);
    assert_eq!(calls(&asked), [("site", json!({ "site": row.site }))]);
    assert_eq!(
        reply_key(&asked)[0],
        Reply::Site(format!("{}/{}", row.tenant, row.site))
    );
    let s = screen(&render(&app, &keymap, 80, 24, Depth::Ansi16));
    assert!(s.contains("Asking the worker for the site"), "{s}");
    app.view = View::Fleet;
    app.selected = at;
    let answer = site_answer(&app);
    app.view = View::Site;
    app.selected = 0;
    let key = reply_key(&asked).remove(0);
    update(&mut app, &keymap, Msg::Answer(key, Ok(answer)));
    assert!(app.view_len() > 3, "the site's devices are listed");
    snapshot_sizes(&mut app, &keymap, "site", |s| {
        assert!(s.contains(row.site_name.as_str()), "{s}");
        assert!(s.contains("SECTOR") && s.contains("LINKS"), "{s}");
    });
    let wide = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(
        wide.contains("SECTORS") && wide.contains("ALERTS"),
        "{wide}"
    );
    assert!(wide.contains("alert number 0"), "{wide}");
    // Enter opens the device in the fleet with its detail pane.
    let device = vigie::console::screens::site::rows(&app.shared, &app.screens.site)[2]
        .device
        .clone();
    app.selected = 2;
    let opened = calls(&press(&mut app, &keymap, "\n"));
    assert_eq!(app.view, View::Fleet);
    assert!(app.screens.fleet.detail_open);
    assert_eq!(app.selected_row().unwrap().id, device.id);
    assert_eq!(opened[0].0, "device");
    // Back returns to the site, where it was.
    press(&mut app, &keymap, "\u{f}");
}

fn trends_answer(app: &App, range_s: u32) -> Value {
    let mut rows: Vec<SignalTrend> = app
        .fleet
        .all()
        .filter(|r| r.kind == DeviceKind::Cpe)
        .take(40)
        .enumerate()
        .map(|(i, r)| SignalTrend {
            tenant: r.tenant.clone(),
            device: r.id.clone(),
            site: r.site.clone(),
            recent_dbm: Some(-60.0 - (i % 25) as f32),
            recent_n: 360,
            baseline_dbm: Some(-60.0 - (i % 25) as f32 / 3.0),
            baseline_n: 720,
        })
        .collect();
    rows.sort_by(|a, b| {
        Trends::drop_db(a)
            .unwrap()
            .total_cmp(&Trends::drop_db(b).unwrap())
            .then(a.device.cmp(&b.device))
    });
    serde_json::to_value(Trends {
        until: t0(),
        range_s,
        rows,
    })
    .unwrap()
}

#[test]
fn the_trends_view_ranks_falling_signal_and_charts_the_selected_device() {
    let (mut app, keymap) = app_with(rows(300), 24);
    let asked = press(&mut app, &keymap, "7");
    assert_eq!(app.view, View::Trends);
    let c = calls(&asked);
    assert_eq!(c[0].0, "trends");
    assert_eq!(c[0].1["range_s"], 86_400);
    let answer = trends_answer(&app, 86_400);
    let chart_ask = update(
        &mut app,
        &keymap,
        Msg::Answer(reply_key(&asked).remove(0), Ok(answer)),
    );
    // With the ranking in, the selected device's chart is asked for.
    let top = vigie::console::screens::trends::rows(&app.shared, &app.screens.trends)[0]
        .trend
        .clone();
    let c = calls(&chart_ask);
    assert_eq!(c[0].0, "device");
    assert_eq!(c[0].1["device"], top.device.as_str());
    assert_eq!(c[0].1["buckets"], 160);
    let chart = detail_of(&app, &top.tenant, &top.device, 86_400, 160);
    update(
        &mut app,
        &keymap,
        Msg::Answer(reply_key(&chart_ask).remove(0), Ok(chart)),
    );
    snapshot_sizes(&mut app, &keymap, "trends", |s| {
        assert!(
            s.contains("Signal") && s.contains("-80 dBm degraded"),
            "{s}"
        );
        assert!(s.contains("CHANGE"), "{s}");
        assert!(
            s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
            "{s}"
        );
    });
    // m charts the CPU, then the memory, of the same device.
    press(&mut app, &keymap, "m");
    let s = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(s.contains(" CPU ") && s.contains("90 % cpu-high"), "{s}");
    press(&mut app, &keymap, "m");
    let s = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(s.contains(" Memory ") && s.contains("95 % mem-high"), "{s}");
    press(&mut app, &keymap, "m");
    // A shorter range asks for the ranking of that range.
    let shorter = calls(&press(&mut app, &keymap, "["));
    assert_eq!(shorter[0].0, "trends");
    assert_eq!(shorter[0].1["range_s"], 6 * 3_600);
    assert_eq!(app.view_len(), 0, "the old range's ranking is not shown");
    // Enter on a row opens that device in the fleet.
    let answer = trends_answer(&app, 6 * 3_600);
    let key = Reply::Trends((6 * 3_600).to_string());
    update(&mut app, &keymap, Msg::Answer(key, Ok(answer)));
    press(&mut app, &keymap, "\n");
    assert_eq!(app.view, View::Fleet);
    assert_eq!(app.selected_row().unwrap().id, top.device);
}

#[test]
fn the_audit_view_lists_who_changed_what_and_filters() {
    let (mut app, keymap) = app_with(rows(300), 24);
    let tenant = app.fleet.get(0).unwrap().tenant.clone();
    let asked = press(&mut app, &keymap, "8");
    assert_eq!(app.view, View::Audit);
    assert_eq!(calls(&asked), [("audit", json!({ "limit": 500 }))]);
    let entries: Vec<Value> = (0..12)
        .map(|i| {
            let actor = ["ana", "worker", "agent:cpe-1"][i as usize % 3];
            let action = ["push.create", "incident.acknowledge", "user.add"][i as usize % 3];
            json!({
                "id": 100 - i, "tenant": tenant, "at": t0() - Duration::minutes(i * 9),
                "actor": actor,
                "action": action,
                "target": format!("push/p{i}"),
                "before": (i % 2 == 0).then_some("sent"), "after": "applied",
                "reason": (i % 3 == 0).then_some("night window \u{1b}[31m change"),
                "seq": 100 - i, "prev_hash": "", "hash": ""
            })
        })
        .collect();
    update(
        &mut app,
        &keymap,
        Msg::Answer(Reply::Audit, Ok(json!(entries))),
    );
    assert_eq!(app.view_len(), 12);
    snapshot_sizes(&mut app, &keymap, "audit", |s| {
        assert!(s.contains("ACTOR") && s.contains("push.create"), "{s}");
        assert!(!s.contains('\u{1b}'), "{s}");
    });
    press(&mut app, &keymap, "/user.add\n");
    assert_eq!(app.view_len(), 4);
}

/// Open incidents of two tenants, and one resolved, as events.
fn incidents(app: &mut App, keymap: &KeyMap) -> Vec<vigie::domain::incident::Incident> {
    use vigie::bus::event::{Event, EventBody};
    use vigie::domain::incident::{Incident, IncidentAction, dedup_key};
    let cases = [
        ("acme", "Site Zürich Depot 1 offline", Severity::Critical, 5),
        ("globex", "Link ap-7 ↔ cpe-12 degraded", Severity::Minor, 40),
        ("acme", "CPU above 90% on edge-2", Severity::Major, 20),
        (
            "globex",
            "Sector north: 30% of CPEs offline",
            Severity::Major,
            90,
        ),
    ];
    let mut out = Vec::new();
    for (n, (tenant, title, sev, mins)) in cases.into_iter().enumerate() {
        let tenant = Id::parse(tenant).unwrap();
        let mut i = Incident::open(
            tenant.clone(),
            Id::parse(&format!("inc-{n}")).unwrap(),
            dedup_key(&tenant, &format!("s{n}"), "r"),
            title.into(),
            sev,
            Id::parse(&format!("al-{n}")).unwrap(),
            t0() - Duration::minutes(mins),
        );
        if n == 3 {
            let by = "ana".into();
            i.apply(IncidentAction::Resolve { by }, t0()).unwrap();
        }
        let seq = 20 + n as u64;
        let e = Event::new(
            format!("e{seq}"),
            tenant,
            t0(),
            EventBody::Incident(i.clone()),
        );
        update(app, keymap, Msg::Event(seq, Box::new(e)));
        out.push(i);
    }
    out
}

fn incident_answer(i: &vigie::domain::incident::Incident) -> Value {
    let timeline: Vec<Value> = [
        ("ana", "incident.acknowledge", None),
        (
            "ana",
            "incident.note",
            Some("called the site: the landlord cut the power"),
        ),
        ("bob", "incident.escalate", None),
    ]
    .iter()
    .enumerate()
    .map(|(n, (actor, action, reason))| {
        json!({
            "id": n, "tenant": i.tenant, "at": t0() - Duration::minutes(30 - 10 * n as i64),
            "actor": actor, "action": action, "target": format!("incident/{}", i.id),
            "before": reason.is_none().then_some("new"),
            "after": reason.is_none().then_some("acknowledged"),
            "reason": reason, "seq": n + 1, "prev_hash": "", "hash": ""
        })
    })
    .collect();
    let alerts: Vec<Alert> = (0..2).map(|n| alert(&i.tenant, n, None, None)).collect();
    let evaluations: Vec<Value> = [true, false, true, true, true]
        .iter()
        .enumerate()
        .map(|(n, hit)| json!([t0() - Duration::minutes(5 - n as i64), hit]))
        .collect();
    let why = json!([{
        "alert": alerts[0].id, "rule": "cpu-high", "condition": "cpu_pct above 90",
        "state": "firing", "hits": 3, "fire_after": 3, "clears": 0, "resolve_after": 3,
        "flapping": false, "flap_changes": 1, "flap_limit": 5, "flap_window_s": 600,
        "evaluations": evaluations
    }]);
    json!({ "incident": i, "alerts": alerts, "timeline": timeline, "why": why })
}

fn ctrl(c: char) -> Msg {
    use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    Msg::Term(TermEvent::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

#[test]
fn the_incident_pane_shows_alerts_and_timeline_and_takes_notes_snoozes_and_reopens() {
    let (mut app, keymap) = app_with(rows(300), 24);
    let all = incidents(&mut app, &keymap);
    press(&mut app, &keymap, "2");
    assert_eq!(app.view_len(), 3, "the resolved one is hidden");
    let top = vigie::console::screens::incidents::selected(&app.shared, &app.screens.incidents)
        .unwrap()
        .clone();
    assert_eq!(top.id, all[0].id, "critical first");
    // enter: the pane, which asks for the incident's alerts and timeline.
    let asked = press(&mut app, &keymap, "\n");
    assert_eq!(calls(&asked), [("incident", json!({ "incident": top.id }))]);
    let key = reply_key(&asked).remove(0);
    update(
        &mut app,
        &keymap,
        Msg::Answer(key, Ok(incident_answer(&top))),
    );
    snapshot_sizes(&mut app, &keymap, "incident_pane", |s| {
        assert!(s.contains("TIMELINE") && s.contains("landlord"), "{s}");
        assert!(s.contains("ALERTS (2)"), "{s}");
        // Why it fired, below the timeline: on a tall screen.
        if s.lines().count() > 24 {
            assert!(s.contains("WHY") && s.contains("cpu_pct above 90"), "{s}");
            assert!(s.contains("fired: 3 hits in a row (fires at 3)"), "{s}");
        }
    });
    // n: a note, written in a text area, saved with ctrl-s.
    press(&mut app, &keymap, "n");
    assert_eq!(app.mode, vigie::console::state::Mode::Note);
    for c in "UPS on battery".chars() {
        press(&mut app, &keymap, &c.to_string());
    }
    snapshot_sizes(&mut app, &keymap, "incident_note", |s| {
        assert!(
            s.contains("note on Site Zürich Depot 1 offline") && s.contains("UPS on battery"),
            "{s}"
        );
    });
    let saved = update(&mut app, &keymap, ctrl('s'));
    assert_eq!(
        calls(&saved),
        [(
            "incident_act",
            json!({ "incident": top.id, "action": "note", "reason": "UPS on battery" })
        )]
    );
    assert_eq!(app.mode, vigie::console::state::Mode::Normal);
    // An empty note is not sent.
    press(&mut app, &keymap, "n");
    assert!(calls(&update(&mut app, &keymap, ctrl('s'))).is_empty());
    press(&mut app, &keymap, "\u{1b}");
    // z: snoozed for an hour; once the worker says so it goes last.
    let z = press(&mut app, &keymap, "z");
    assert_eq!(
        calls(&z),
        [(
            "incident_act",
            json!({ "incident": top.id, "action": "snooze", "for_s": 3_600 })
        )]
    );
    let mut snoozed = top.clone();
    snoozed.snoozed_until = Some(t0() + Duration::hours(1));
    let answer = serde_json::to_value(&snoozed).unwrap();
    update(
        &mut app,
        &keymap,
        Msg::Answer(Reply::Triage("snooze"), Ok(answer)),
    );
    let queue = vigie::console::screens::incidents::queue(&app.shared, &app.screens.incidents);
    assert_eq!(queue.last().unwrap().id, top.id);
    let s = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(s.contains("zZ 1h"), "{s}");
    // V: resolved incidents too; O reopens the selected one.
    press(&mut app, &keymap, "\u{1b}V");
    assert_eq!(app.view_len(), 4);
    app.selected = 3;
    let o = press(&mut app, &keymap, "O");
    assert_eq!(
        calls(&o),
        [(
            "incident_act",
            json!({ "incident": all[3].id, "action": "reopen" })
        )]
    );
    // :snooze with a length of one's own.
    app.selected = 0;
    let c = press(&mut app, &keymap, ":snooze 2h\n");
    assert_eq!(calls(&c)[0].1["for_s"], 7_200);
}

#[test]
fn marked_incidents_of_one_customer_merge_into_the_selected_one() {
    let (mut app, keymap) = app_with(rows(300), 24);
    let all = incidents(&mut app, &keymap);
    press(&mut app, &keymap, "2");
    // Queue: inc-0 (acme, critical), inc-2 (acme, major), inc-1 (globex).
    assert!(
        calls(&press(&mut app, &keymap, "M")).is_empty(),
        "nothing marked"
    );
    press(&mut app, &keymap, "j ");
    assert_eq!(
        app.screens.incidents.marks,
        [(all[2].tenant.clone(), all[2].id.clone())]
    );
    // Once the hint has gone, the status bar counts the marks.
    update(&mut app, &keymap, Msg::Tick(t0() + Duration::seconds(6)));
    let s = screen(&render(&app, &keymap, 160, 24, Depth::Ansi16));
    assert!(s.contains("●major") && s.contains("1 marked"), "{s}");
    app.selected = 0;
    assert!(
        calls(&press(&mut app, &keymap, "M")).is_empty(),
        "asked twice"
    );
    let merge = calls(&press(&mut app, &keymap, "M"));
    assert_eq!(
        merge,
        [(
            "incident_act",
            json!({ "incident": all[0].id, "action": "merge", "from": [all[2].id] })
        )]
    );
    assert!(app.screens.incidents.marks.is_empty());
    // Another customer's incident does not merge.
    app.selected = 2;
    press(&mut app, &keymap, " ");
    app.selected = 0;
    assert!(calls(&press(&mut app, &keymap, "MM")).is_empty());
    assert!(app.toast().unwrap().text.contains("one customer"));
    press(&mut app, &keymap, "\u{1b}");
    assert!(app.screens.incidents.marks.is_empty());
}

#[test]
fn back_and_forward_walk_the_views_visited() {
    use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let (mut app, keymap) = app_with(rows(300), 24);
    let tab = || {
        Msg::Term(TermEvent::Key(KeyEvent::new(
            KeyCode::Tab,
            KeyModifiers::NONE,
        )))
    };
    press(&mut app, &keymap, "23");
    assert_eq!(app.view, View::Alerts);
    update(&mut app, &keymap, ctrl('o'));
    assert_eq!(app.view, View::Incidents);
    update(&mut app, &keymap, ctrl('o'));
    assert_eq!(app.view, View::Fleet);
    update(&mut app, &keymap, tab());
    assert_eq!(app.view, View::Incidents);
    update(&mut app, &keymap, tab());
    assert_eq!(app.view, View::Alerts);
    update(&mut app, &keymap, tab());
    assert_eq!(app.view, View::Alerts, "nothing further");
    // A new view after going back drops what lay ahead.
    update(&mut app, &keymap, ctrl('o'));
    press(&mut app, &keymap, "4");
    update(&mut app, &keymap, tab());
    assert_eq!(app.view, View::Tenants);
}

#[test]
fn the_fleet_groups_by_customer_and_by_site() {
    let (mut app, keymap) = app_with(rows(300), 24);
    press(&mut app, &keymap, "b");
    assert_eq!(app.fleet.group(), vigie::console::model::Grouping::Tenant);
    // Rows come customer by customer, each in the sort's order.
    let tenants: Vec<String> = (0..app.fleet.len())
        .map(|i| app.fleet.get(i).unwrap().tenant.to_string())
        .collect();
    let mut runs = tenants.clone();
    runs.dedup();
    let mut distinct = runs.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(runs.len(), distinct.len(), "each customer in one run");
    snapshot_sizes(&mut app, &keymap, "fleet_by_customer", |s| {
        assert!(s.contains("▸ alpenfracht ("), "{s}");
        if s.lines().count() > 24 {
            assert!(s.contains("by customer"), "{s}");
        }
    });
    press(&mut app, &keymap, "b");
    let s = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(s.contains("by site") && s.matches("▸ ").count() >= 2, "{s}");
    press(&mut app, &keymap, "b");
    assert_eq!(app.fleet.group(), vigie::console::model::Grouping::None);
}

#[test]
fn the_mouse_scrolls_selects_and_opens() {
    use ratatui::crossterm::event::{
        Event as TermEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
    };
    let (mut app, keymap) = app_with(rows(300), 24);
    let mouse = |kind, column, row| {
        Msg::Term(TermEvent::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }))
    };
    update(&mut app, &keymap, mouse(MouseEventKind::ScrollDown, 10, 10));
    update(&mut app, &keymap, mouse(MouseEventKind::ScrollDown, 10, 10));
    assert_eq!(app.selected, 2);
    update(&mut app, &keymap, mouse(MouseEventKind::ScrollUp, 10, 10));
    assert_eq!(app.selected, 1);
    // Rows start under the header and the column titles: line 2 is row 0.
    let click = |row| mouse(MouseEventKind::Down(MouseButton::Left), 5, row);
    update(&mut app, &keymap, click(7));
    assert_eq!(app.selected, 5);
    update(&mut app, &keymap, click(1));
    assert_eq!(app.selected, 5, "the column titles select nothing");
    // A click on the selected row opens it: the detail pane.
    let asked = update(&mut app, &keymap, click(7));
    assert!(app.screens.fleet.detail_open);
    assert_eq!(calls(&asked)[0].0, "device");
    // On the map the wheel zooms.
    press(&mut app, &keymap, "\u{1b}5");
    update(
        &mut app,
        &keymap,
        Msg::Answer(Reply::Map, Ok(json!({ "sites": [], "aps": [] }))),
    );
    update(&mut app, &keymap, mouse(MouseEventKind::ScrollUp, 10, 10));
    assert!(app.screens.map.camera.is_some(), "zoomed in");
}

#[test]
fn marked_incidents_are_triaged_together_and_x_marks_a_range() {
    let (mut app, keymap) = app_with(rows(300), 24);
    let all = incidents(&mut app, &keymap);
    // Queue order: inc-0, inc-2, inc-1. Space marks the first and moves
    // down; x marks from the last mark to here.
    press(&mut app, &keymap, "2 x");
    assert_eq!(app.screens.incidents.marks.len(), 2);
    press(&mut app, &keymap, "jx");
    assert_eq!(app.screens.incidents.marks.len(), 3);
    let acked = calls(&press(&mut app, &keymap, "a"));
    assert_eq!(acked.len(), 3);
    assert!(
        acked
            .iter()
            .all(|(verb, body)| *verb == "incident_act" && body["action"] == "acknowledge")
    );
    let ids: Vec<&str> = acked
        .iter()
        .map(|(_, b)| b["incident"].as_str().unwrap())
        .collect();
    for i in &all[..3] {
        assert!(ids.contains(&i.id.as_str()), "{ids:?}");
    }
    assert!(
        app.screens.incidents.marks.is_empty(),
        "the marks are used up"
    );
    // Resolving marked incidents asks once for all of them.
    press(&mut app, &keymap, "g g x");
    assert!(calls(&press(&mut app, &keymap, "r")).is_empty());
    assert!(app.toast().unwrap().text.contains("marked incidents"));
    assert_eq!(calls(&press(&mut app, &keymap, "r")).len(), 1);
    // In the fleet, x marks the devices from the last mark to here: space
    // marks row 0 and moves to 1, three downs reach row 4.
    press(&mut app, &keymap, "1 jjjx");
    assert_eq!(app.screens.fleet.marks.len(), 5);
}

#[test]
fn marked_alerts_of_the_tail_merge_into_the_selected_alerts_incident() {
    use vigie::bus::event::{Event, EventBody};
    let (mut app, keymap) = app_with(rows(300), 24);
    let acme = Id::parse("acme").unwrap();
    for n in 0..4 {
        let mut a = alert(&acme, n, None, None);
        a.incident = Some(Id::parse(&format!("inc-{n}")).unwrap());
        let e = Event::new(format!("a{n}"), acme.clone(), t0(), EventBody::Alert(a));
        update(&mut app, &keymap, Msg::Event(40 + n as u64, Box::new(e)));
    }
    // Tail, newest first: al-3, al-2, al-1, al-0.
    press(&mut app, &keymap, "3 x");
    assert_eq!(app.screens.alerts.marks.len(), 2);
    let s = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(s.contains("●"), "{s}");
    app.selected = 3;
    assert!(
        calls(&press(&mut app, &keymap, "M")).is_empty(),
        "asked twice"
    );
    let merge = calls(&press(&mut app, &keymap, "M"));
    assert_eq!(
        merge,
        [(
            "incident_act",
            json!({ "incident": "inc-0", "action": "merge", "alerts": ["al-3", "al-2"] })
        )]
    );
    assert!(app.screens.alerts.marks.is_empty());
}

fn destination(
    id: &str,
    kind: &str,
    breaker: &str,
    paused: bool,
    backlog: u64,
    last: Value,
) -> Value {
    json!({
        "tenant": "_all", "id": id, "kind": kind, "target": format!("https://{id}.example/in"),
        "paused": paused, "breaker": breaker, "data_mode": "full", "types": [], "min_severity": null,
        "health": {
            "backlog": backlog,
            "oldest_pending": (backlog > 0).then(|| t0() - Duration::minutes(42)),
            "delivered_5m": 120 - backlog,
            "last": last,
        }
    })
}

fn attempt(seq: i64, state: &str, status: Option<u16>, error: Option<&str>) -> Value {
    json!({
        "seq": seq, "event": format!("evt-{seq:032}"), "state": state, "attempts": 1 + seq % 3,
        "queued_at": t0() - Duration::minutes(seq), "next_at": t0(),
        "done_at": (state != "pending").then(|| t0() - Duration::minutes(seq)),
        "last_status": status, "last_error": error, "last_ms": 85 + seq,
    })
}

#[test]
fn the_deliveries_view_shows_each_destination_and_acts_from_the_keyboard() {
    let (mut app, keymap) = app_with(rows(10), 24);
    let asked = press(&mut app, &keymap, "9");
    assert_eq!(app.view, View::Deliveries);
    assert_eq!(calls(&asked), [("outbound_list", json!({}))]);
    let hostile = "HTTP 503: \u{1b}]52;c;cHduZWQ=\u{7}busy \u{1b}[2J";
    let list = json!([
        destination(
            "soc",
            "webhook",
            "closed",
            false,
            0,
            attempt(1, "delivered", Some(200), None)
        ),
        destination(
            "splunk",
            "splunk-hec",
            "open",
            false,
            37,
            attempt(2, "pending", Some(503), Some(hostile))
        ),
        destination("arcsight", "cef-syslog", "closed", true, 4, Value::Null),
    ]);
    // On `_all` the provider sees a customer's destination beside its own.
    let mut list = list;
    list[1]["tenant"] = json!("acme");
    update(
        &mut app,
        &keymap,
        Msg::Answer(Reply::Destinations, Ok(list)),
    );
    assert_eq!(app.view_len(), 3);
    snapshot_sizes(&mut app, &keymap, "deliveries", |s| {
        assert!(
            s.contains("DESTINATION") && s.contains("acme/splunk"),
            "{s}"
        );
        assert!(s.contains("open") && s.contains("paused"), "{s}");
        assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'), "{s}");
    });
    // Enter opens the selected destination's last attempts.
    press(&mut app, &keymap, "j");
    let asked = press(&mut app, &keymap, "\n");
    assert_eq!(
        calls(&asked),
        [(
            "outbound_deliveries",
            json!({"destination": "splunk", "limit": 50})
        )]
    );
    // In its tenant's scope: the worker finds it there and audits there.
    assert!(
        matches!(&asked[..], [vigie::console::msg::Effect::Call { scope, .. }] if scope == "acme"),
        "{asked:?}"
    );
    let attempts = json!([
        attempt(2, "pending", Some(503), Some(hostile)),
        attempt(
            3,
            "dead",
            Some(400),
            Some("HTTP 400: HEC code 6: Invalid data format")
        ),
        attempt(4, "delivered", Some(200), None),
    ]);
    update(
        &mut app,
        &keymap,
        Msg::Answer(Reply::Deliveries("acme/splunk".into()), Ok(attempts)),
    );
    snapshot_sizes(&mut app, &keymap, "deliveries_attempts", |s| {
        assert!(s.contains("HEC code 6") || s.contains("dead"), "{s}");
        assert!(!s.contains('\u{1b}'), "{s}");
    });
    // T tests, D replays, W pauses the running one and resumes the paused.
    let test = press(&mut app, &keymap, "T");
    assert_eq!(
        calls(&test),
        [("outbound_test", json!({"destination": "splunk"}))]
    );
    assert!(
        matches!(&test[..], [vigie::console::msg::Effect::Call { scope, .. }] if scope == "acme"),
        "{test:?}"
    );
    assert_eq!(
        calls(&press(&mut app, &keymap, "D")),
        [("outbound_replay", json!({"destination": "splunk"}))]
    );
    assert_eq!(
        calls(&press(&mut app, &keymap, "W")),
        [("outbound_pause", json!({"destination": "splunk"}))]
    );
    press(&mut app, &keymap, "j");
    assert_eq!(
        calls(&press(&mut app, &keymap, "W")),
        [("outbound_resume", json!({"destination": "arcsight"}))]
    );
    update(
        &mut app,
        &keymap,
        Msg::Answer(Reply::Delivery("replay"), Ok(json!({"queued_again": 3}))),
    );
    // A viewer looks and may not act: the keys call nothing.
    app.role = vigie::domain::access::Role::Viewer;
    for k in ["T", "D", "W"] {
        assert!(calls(&press(&mut app, &keymap, k)).is_empty(), "{k}");
    }
    // An operator tests and replays, and may not pause.
    app.role = vigie::domain::access::Role::Operator;
    assert_eq!(calls(&press(&mut app, &keymap, "T")).len(), 1);
    assert!(calls(&press(&mut app, &keymap, "W")).is_empty());
}
