//! The console: snapshots of the fleet view (80×24 and 160×48, colour and
//! mono) and scripted key sequences through the real update loop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use vigie::bus::event::{Event, EventBody};
use vigie::console::KeyMap;
use vigie::console::app::App;
use vigie::console::state::Mode;
use vigie::console::update::{Effect, Msg, update};
use vigie::domain::device::DeviceStatus;
use vigie::domain::fleet::FleetSort;
use vigie::domain::model::DeviceRow;
use vigie::domain::{Id, SafeText};
use vigie::settings::theme::Depth;

mod support;
use support::console::{app_with, calls, key, press, render, rows, screen, screens, t0};

/// Snapshots of the screen at 80×24 and 160×48, in colour and mono, each
/// checked by `check` first.
fn snapshot_sizes(app: &mut App, keymap: &KeyMap, name: &str, check: impl Fn(&str)) {
    for (size, s) in screens(app, keymap, check) {
        insta::assert_snapshot!(format!("{name}_{size}"), s);
    }
}

#[test]
fn fleet_view_snapshots() {
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        for (depth, label) in [(Depth::Ansi16, "colour"), (Depth::None, "mono")] {
            let (mut app, keymap) = app_with(rows(300), h);
            update(&mut app, &keymap, Msg::Term(TermEvent::Resize(w, h)));
            update(&mut app, &keymap, key(KeyCode::Char('j')));
            let t = render(&app, &keymap, w, h, depth);
            insta::assert_snapshot!(format!("fleet_{w}x{h}_{label}_text"), screen(&t));
            insta::assert_debug_snapshot!(
                format!("fleet_{w}x{h}_{label}_cells"),
                t.backend().buffer()
            );
        }
    }
}

#[test]
fn help_and_filter_snapshots() {
    let (mut app, keymap) = app_with(rows(300), 24);
    update(&mut app, &keymap, key(KeyCode::Char('?')));
    insta::assert_snapshot!(
        "help_80x24",
        screen(&render(&app, &keymap, 80, 24, Depth::Ansi16))
    );
    update(&mut app, &keymap, key(KeyCode::Esc));
    for c in "bldr".chars() {
        if c == 'b' {
            update(&mut app, &keymap, key(KeyCode::Char('/')));
        }
        update(&mut app, &keymap, key(KeyCode::Char(c)));
    }
    insta::assert_snapshot!(
        "filter_typing_80x24",
        screen(&render(&app, &keymap, 80, 24, Depth::Ansi16))
    );
}

#[test]
fn too_small_terminal_says_so() {
    let (app, keymap) = app_with(rows(50), 24);
    let s = screen(&render(&app, &keymap, 40, 8, Depth::Ansi16));
    assert!(s.contains("Terminal too small"), "{s}");
    assert!(s.contains("40×8"));
}

#[test]
fn navigation_and_chords() {
    let (mut app, keymap) = app_with(rows(300), 24);
    press(&mut app, &keymap, "jjj");
    assert_eq!(app.selected, 3);
    press(&mut app, &keymap, "k");
    assert_eq!(app.selected, 2);
    press(&mut app, &keymap, "G");
    assert_eq!(app.selected, app.fleet.len() - 1);
    assert!(app.offset > 0, "the selection stays on screen");
    press(&mut app, &keymap, "g");
    assert_eq!(
        app.selected,
        app.fleet.len() - 1,
        "a chord waits for its second key"
    );
    press(&mut app, &keymap, "g");
    assert_eq!((app.selected, app.offset), (0, 0));
    update(&mut app, &keymap, key(KeyCode::PageDown));
    assert_eq!(app.selected, app.page);
}

#[test]
fn filter_typing_keep_and_clear() {
    let (mut app, keymap) = app_with(rows(300), 24);
    let total = app.fleet.len();
    press(&mut app, &keymap, "/zrh");
    assert_eq!(app.mode, Mode::Filter);
    assert!(app.fleet.len() < total && !app.fleet.is_empty());
    for i in 0..app.fleet.len() {
        let r = app.fleet.get(i).unwrap();
        let hay = format!("{} {} {}", r.name, r.id, r.site_name).to_lowercase();
        assert!(hay.contains("zrh") || hay.contains("zürich"), "{hay}");
    }
    press(&mut app, &keymap, "q");
    assert!(!app.quit, "q is text while filtering");
    assert_eq!(app.filter_input, "zrhq");
    update(&mut app, &keymap, key(KeyCode::Backspace));
    press(&mut app, &keymap, "\n");
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.fleet.filter(), "zrh");
    press(&mut app, &keymap, "\u{1b}");
    assert_eq!(app.fleet.len(), total);
}

#[test]
fn sorting_and_status_filter() {
    let (mut app, keymap) = app_with(rows(300), 24);
    assert_eq!(
        app.fleet.get(0).unwrap().status,
        DeviceStatus::Offline,
        "worst first by default"
    );
    press(&mut app, &keymap, "s");
    assert_eq!(app.fleet.sort(), (FleetSort::Name, false));
    let first = app.fleet.get(0).unwrap().name.clone();
    press(&mut app, &keymap, "S");
    assert_eq!(app.fleet.sort(), (FleetSort::Name, true));
    assert!(app.fleet.get(0).unwrap().name > first);
    press(&mut app, &keymap, "f");
    assert!((0..app.fleet.len()).all(|i| app.fleet.get(i).unwrap().status == DeviceStatus::Online));
    press(&mut app, &keymap, "ff");
    assert!(
        (0..app.fleet.len()).all(|i| app.fleet.get(i).unwrap().status == DeviceStatus::Offline)
    );
}

#[test]
fn help_toggles_and_quit_quits() {
    let (mut app, keymap) = app_with(rows(30), 24);
    press(&mut app, &keymap, "?");
    assert!(app.help);
    press(&mut app, &keymap, "\u{1b}");
    assert!(!app.help);
    let effects = update(
        &mut app,
        &keymap,
        Msg::Term(TermEvent::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        ))),
    );
    assert_eq!(effects, vec![Effect::Quit]);
    assert!(app.quit);
}

#[test]
fn live_events_update_rows_once() {
    let (mut app, keymap) = app_with(rows(30), 24);
    let mut row = app.fleet.get(0).unwrap().clone();
    let before = app.fleet.counts();
    assert_eq!(row.status, DeviceStatus::Offline);
    row.status = DeviceStatus::Online;
    let event = |row: DeviceRow| {
        Box::new(Event::new(
            "e".into(),
            row.tenant.clone(),
            t0(),
            EventBody::Device(row),
        ))
    };
    // An event already contained in the snapshot is ignored.
    update(&mut app, &keymap, Msg::Event(10, event(row.clone())));
    assert_eq!(app.fleet.counts(), before);
    update(&mut app, &keymap, Msg::Event(11, event(row.clone())));
    update(&mut app, &keymap, Msg::Event(12, event(row.clone())));
    update(&mut app, &keymap, Msg::Tick(t0()));
    let after = app.fleet.counts();
    assert_eq!(after.offline, before.offline - 1);
    assert_eq!(after.online, before.online + 1);
    assert_eq!(after.total(), before.total());
    // A device never seen before is added.
    let mut new = row.clone();
    new.id = Id::parse("brand-new").unwrap();
    update(&mut app, &keymap, Msg::Event(13, event(new)));
    assert_eq!(app.fleet.total(), 31);
}

#[test]
fn hostile_device_names_render_harmlessly() {
    let mut r = rows(5);
    r[0].name = SafeText::new("\u{1b}[2J\u{1b}]0;owned\u{7}evil\u{202e}txt.exe\u{9b}31m");
    r[0].status = DeviceStatus::Offline;
    let (app, keymap) = app_with(r, 24);
    let t = render(&app, &keymap, 120, 24, Depth::Ansi16);
    let s = screen(&t);
    assert!(s.contains("␛[2J␛]0;owned␇evil"), "{s}");
    assert!(
        !s.chars()
            .any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{202e}' || c == '\u{9b}')
    );
}

fn ctrl(c: char) -> Msg {
    Msg::Term(TermEvent::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

fn push_json(app: &App, state: serde_json::Value, at: DateTime<Utc>) -> serde_json::Value {
    let row = app.selected_row().unwrap();
    let mut p = serde_json::json!({
        "tenant": row.tenant, "id": "push-1", "device": row.id, "rollout": null, "wave": 0,
        "version": 2, "seq": 7, "body": "", "previous": null, "reason": "raise mtu",
        "actor": "ana", "window_s": 300, "created": at, "order_expires": at,
        "confirm_sent": null, "revert_sent": null, "reported": null, "detail": null,
        "updated": at,
    });
    for (k, v) in state.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

fn push_event(app: &mut App, keymap: &KeyMap, seq: u64, push: serde_json::Value) {
    let p: vigie::domain::push::Push = serde_json::from_value(push).unwrap();
    let e = Event::new(
        format!("e{seq}"),
        p.tenant.clone(),
        t0(),
        EventBody::Push(p),
    );
    update(app, keymap, Msg::Event(seq, Box::new(e)));
}

/// The whole flow through the real update loop: editor, diff, reason, typed
/// confirmation, send; the countdown on every view; confirm.
#[test]
fn push_flow_edit_review_send_countdown_confirm() {
    use vigie::console::update::Reply;
    let (mut app, keymap) = app_with(rows(60), 24);
    press(&mut app, &keymap, "j");
    let row = app.selected_row().unwrap().clone();
    let e = press(&mut app, &keymap, "p");
    assert_eq!(calls(&e)[0].0, "config_latest");
    assert_eq!(app.mode, Mode::Push);
    // Keys go to the editor now, not to the fleet.
    let config = "/system identity set name=edge\n/interface mtu 1500\n/snmp set enabled=yes\n";
    update(
        &mut app,
        &keymap,
        Msg::Answer(
            Reply::Config,
            Ok(serde_json::json!({ "ts": t0(), "format": "routeros", "body": config })),
        ),
    );
    update(&mut app, &keymap, key(KeyCode::Down));
    update(&mut app, &keymap, key(KeyCode::End));
    for _ in 0..4 {
        update(&mut app, &keymap, key(KeyCode::Backspace));
    }
    press(&mut app, &keymap, "9000");
    snapshot_sizes(&mut app, &keymap, "push_editor", |_| {});
    update(&mut app, &keymap, ctrl('s'));
    press(&mut app, &keymap, "jumbo frames for the backhaul\n");
    let e = press(&mut app, &keymap, "wrong\n");
    assert!(calls(&e).is_empty(), "a wrong name sends nothing");
    for _ in 0..5 {
        update(&mut app, &keymap, key(KeyCode::Backspace));
    }
    press(&mut app, &keymap, row.name.as_str());
    snapshot_sizes(&mut app, &keymap, "push_review", |_| {});
    let e = press(&mut app, &keymap, "\n");
    let sent = calls(&e);
    assert_eq!(sent[0].0, "push_create");
    assert_eq!(sent[0].1["device"], row.id.as_str());
    assert_eq!(sent[0].1["reason"], "jumbo frames for the backhaul");
    assert_eq!(
        sent[0].1["body"],
        "/system identity set name=edge\n/interface mtu 9000\n/snmp set enabled=yes\n"
    );
    // The worker names the actor from the session, not from the request.
    assert!(sent[0].1.get("actor").is_none());
    // The worker refuses: back to the review with its reason.
    update(
        &mut app,
        &keymap,
        Msg::Answer(
            Reply::Created,
            Err(vigie::api::ApiError::new(
                vigie::api::ErrorCode::Conflict,
                "a push is in progress",
            )),
        ),
    );
    assert!(
        app.screens
            .pushes
            .editor
            .as_ref()
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("a push is in progress")
    );
    press(&mut app, &keymap, "\n");
    let sent = push_json(&app, serde_json::json!({ "state": "sent" }), t0());
    update(&mut app, &keymap, Msg::Answer(Reply::Created, Ok(sent)));
    assert!(app.screens.pushes.editor.is_none());
    assert_eq!(app.mode, Mode::Normal);
    // Applied: the countdown shows on the fleet view.
    let deadline = t0() + Duration::seconds(272);
    let applied = push_json(
        &app,
        serde_json::json!({ "state": "applied", "deadline": deadline }),
        t0(),
    );
    push_event(&mut app, &keymap, 11, applied);
    snapshot_sizes(&mut app, &keymap, "push_countdown", |s| {
        assert!(s.contains("reverts in 4:32"), "{s}");
    });
    // q does not leave silently while a push awaits confirmation: it says
    // what will happen and waits for a second q; another key stays.
    let e = press(&mut app, &keymap, "q");
    assert!(!e.contains(&Effect::Quit) && !app.quit, "{e:?}");
    let said = last_toast(&app);
    assert!(
        said.contains("reverts by itself") && said.contains("q again"),
        "{said}"
    );
    press(&mut app, &keymap, "j");
    assert!(!press(&mut app, &keymap, "q").contains(&Effect::Quit));
    assert!(press(&mut app, &keymap, "q").contains(&Effect::Quit));
    app.quit = false;
    press(&mut app, &keymap, "k");
    // Another device selected: C still confirms the pending push.
    press(&mut app, &keymap, "jj");
    let e = press(&mut app, &keymap, "C");
    assert_eq!(
        calls(&e),
        [("push_confirm", serde_json::json!({ "push": "push-1" }))]
    );
    let confirmed = push_json(
        &app,
        serde_json::json!({ "state": "confirmed", "device": row.id }),
        t0(),
    );
    push_event(&mut app, &keymap, 12, confirmed);
    let s = screen(&render(&app, &keymap, 80, 24, Depth::Ansi16));
    assert!(!s.contains("reverts in"), "{s}");
    let e = press(&mut app, &keymap, "C");
    assert!(calls(&e).is_empty());
    assert!(
        app.toast()
            .unwrap()
            .text
            .contains("no push awaits confirmation")
    );
}

#[test]
fn push_history_overlay() {
    use vigie::console::update::Reply;
    let (mut app, keymap) = app_with(rows(60), 24);
    let e = press(&mut app, &keymap, "H");
    assert_eq!(calls(&e)[0].0, "push_list");
    let list = serde_json::json!([
        push_json(
            &app,
            serde_json::json!({ "id": "push-2", "state": "reverted", "revert_reason": "timeout",
            "detail": "the window closed without a confirm", "actor": "bob", "reason": "ntp servers" }),
            t0() - Duration::minutes(5)
        ),
        push_json(
            &app,
            serde_json::json!({ "state": "confirmed" }),
            t0() - Duration::hours(30)
        ),
    ]);
    update(&mut app, &keymap, Msg::Answer(Reply::History, Ok(list)));
    snapshot_sizes(&mut app, &keymap, "push_history", |_| {});
    press(&mut app, &keymap, "\u{1b}");
    assert!(app.screens.pushes.history.is_none());
}

/// Marked devices make a rollout: the editor opens on the first one's
/// configuration, and the device count must be typed.
#[test]
fn marked_devices_make_a_rollout_confirmed_by_their_count() {
    use vigie::console::update::Reply;
    let (mut app, keymap) = app_with(rows(60), 24);
    // Three devices of one customer, in the order they are marked.
    let tenant = app.selected_row().unwrap().tenant.clone();
    let mut picked = Vec::new();
    while picked.len() < 3 {
        let r = app.selected_row().unwrap().clone();
        if r.tenant == tenant {
            picked.push(r.id.clone());
            press(&mut app, &keymap, " ");
        } else {
            press(&mut app, &keymap, "j");
        }
    }
    snapshot_sizes(&mut app, &keymap, "fleet_marked", |s| {
        assert!(s.contains("✓"), "{s}");
    });
    let e = press(&mut app, &keymap, "p");
    assert_eq!(
        calls(&e)[0].1["device"],
        picked[0].as_str(),
        "the canary's config"
    );
    update(
        &mut app,
        &keymap,
        Msg::Answer(
            Reply::Config,
            Ok(serde_json::json!({ "ts": t0(), "format": "text", "body": "ntp 10.0.0.1\n" })),
        ),
    );
    update(&mut app, &keymap, key(KeyCode::End));
    press(&mut app, &keymap, "0");
    update(&mut app, &keymap, ctrl('s'));
    press(&mut app, &keymap, "ntp pool change\n");
    let e = press(&mut app, &keymap, "2\n");
    assert!(calls(&e).is_empty(), "the count must be right");
    update(&mut app, &keymap, key(KeyCode::Backspace));
    press(&mut app, &keymap, "3");
    snapshot_sizes(&mut app, &keymap, "push_review_bulk", |s| {
        assert!(s.contains("rollout to 3 devices"), "{s}");
    });
    let e = press(&mut app, &keymap, "\n");
    let sent = calls(&e);
    assert_eq!(sent[0].0, "rollout_create");
    let devices: Vec<&str> = sent[0].1["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(
        devices,
        picked.iter().map(|d| d.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(sent[0].1["body"], "ntp 10.0.0.10\n");
    let rollout = serde_json::json!({ "id": "rollout-1", "devices": picked });
    update(&mut app, &keymap, Msg::Answer(Reply::Created, Ok(rollout)));
    assert!(app.screens.fleet.marks.is_empty() && app.screens.pushes.editor.is_none());
    // A wave's push applied: C confirms the rollout's wave.
    let mut applied = push_json(
        &app,
        serde_json::json!({ "state": "applied", "deadline": t0() + Duration::seconds(60) }),
        t0(),
    );
    applied["rollout"] = serde_json::json!("rollout-1");
    push_event(&mut app, &keymap, 11, applied);
    let e = press(&mut app, &keymap, "C");
    assert_eq!(calls(&e)[0].0, "rollout_confirm");
    assert_eq!(calls(&e)[0].1["rollout"], "rollout-1");
}

#[test]
fn marks_across_customers_do_not_make_a_rollout() {
    let (mut app, keymap) = app_with(rows(60), 24);
    let first = app.selected_row().unwrap().tenant.clone();
    press(&mut app, &keymap, " ");
    while app.selected_row().unwrap().tenant == first {
        press(&mut app, &keymap, "j");
    }
    press(&mut app, &keymap, " ");
    let e = press(&mut app, &keymap, "p");
    assert!(calls(&e).is_empty());
    assert!(app.toast().unwrap().text.contains("several customers"));
    press(&mut app, &keymap, "\u{1b}");
    assert!(app.screens.fleet.marks.is_empty(), "esc clears the marks");
}

#[test]
fn a_viewer_sees_no_push_keys_and_a_push_key_says_which_role_it_needs() {
    let (mut app, keymap) = app_with(rows(30), 48);
    app.role = vigie::domain::access::Role::Viewer;
    app.user = "noc".into();
    let effects = press(&mut app, &keymap, "p");
    assert!(effects.is_empty(), "nothing is asked of the worker");
    assert!(app.screens.pushes.editor.is_none());
    let toast = app
        .toasts
        .back()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert_eq!(toast, "push-edit needs the operator role; you are viewer");
    press(&mut app, &keymap, "?");
    let t = render(&app, &keymap, 160, 48, Depth::Ansi16);
    let s = screen(&t);
    assert!(s.contains("noc (viewer)"), "{s}");
    assert!(
        !s.to_lowercase().contains("confirm"),
        "push keys hidden:\n{s}"
    );
    assert!(s.contains("history"), "a viewer may read the history:\n{s}");
}

/// Five incidents and their alerts, as events numbered from `seq`.
fn incidents_and_alerts(app: &mut App, keymap: &KeyMap, seq: u64) {
    use vigie::domain::alert::AlertState;
    use vigie::domain::incident::{Incident, IncidentAction, dedup_key};
    use vigie::domain::model::{Alert, Severity};
    let acme = Id::parse("acme").unwrap();
    let globex = Id::parse("globex").unwrap();
    let mut seq = seq;
    let mut send = |app: &mut App, tenant: &Id, body: EventBody| {
        seq += 1;
        let e = Event::new(format!("e{seq}"), tenant.clone(), t0(), body);
        update(app, keymap, Msg::Event(seq, Box::new(e)));
    };
    let cases = [
        (
            &acme,
            "Site Zürich Depot 1 offline",
            Severity::Critical,
            0,
            None,
        ),
        (
            &globex,
            "Link ap-7 ↔ cpe-12 degraded",
            Severity::Minor,
            40,
            None,
        ),
        (
            &acme,
            "CPU above 90% on edge-2",
            Severity::Major,
            20,
            Some("ana"),
        ),
        (
            &globex,
            "Sector north: 30% of CPEs offline",
            Severity::Major,
            90,
            None,
        ),
        (
            &acme,
            "Config push not confirmed on edge-1",
            Severity::Critical,
            300,
            None,
        ),
    ];
    for (n, (tenant, title, sev, mins_ago, ack)) in cases.into_iter().enumerate() {
        let opened = t0() - Duration::minutes(mins_ago);
        let mut i = Incident::open(
            tenant.clone(),
            Id::parse(&format!("inc-{n}")).unwrap(),
            dedup_key(tenant, &format!("s{n}"), "r"),
            title.into(),
            sev,
            Id::parse(&format!("al-{n}")).unwrap(),
            opened,
        );
        if let Some(by) = ack {
            i.apply(
                IncidentAction::Acknowledge { by: by.into() },
                opened + Duration::minutes(5),
            )
            .unwrap();
        }
        send(app, tenant, EventBody::Incident(i));
        let a = Alert {
            tenant: tenant.clone(),
            id: Id::parse(&format!("al-{n}")).unwrap(),
            rule: [
                "site-offline",
                "link-degraded",
                "cpu-high",
                "sector-offline",
                "push-unconfirmed",
            ][n]
                .into(),
            device: None,
            site: None,
            severity: sev,
            state: if n == 1 {
                AlertState::Resolved
            } else {
                AlertState::Firing
            },
            summary: title.into(),
            flapping: n == 3,
            started: opened,
            updated: t0() - Duration::seconds(60 - n as i64 * 10),
            incident: Some(Id::parse(&format!("inc-{n}")).unwrap()),
        };
        send(app, tenant, EventBody::Alert(a));
    }
}

#[test]
fn incident_queue_and_alert_tail_snapshots() {
    let (mut app, keymap) = app_with(rows(60), 24);
    incidents_and_alerts(&mut app, &keymap, 20);
    press(&mut app, &keymap, "2");
    snapshot_sizes(&mut app, &keymap, "incidents", |s| {
        // Most severe first, then the nearest SLA: the older critical
        // (SLA nearer) before the newer one.
        let push = s.find("Config push not confirmed").unwrap();
        let site = s.find("Site Zürich Depot 1 offline").unwrap();
        let cpu = s.find("CPU above 90%").unwrap();
        assert!(push < site && site < cpu, "{s}");
        assert!(
            s.contains("ack'd"),
            "acknowledged shows as its own state:\n{s}"
        );
    });
    press(&mut app, &keymap, "3");
    snapshot_sizes(&mut app, &keymap, "alerts", |s| {
        assert!(s.contains("flapping") && s.contains("resolved"), "{s}");
        let newest = s.find("Config push not confirmed").unwrap();
        let oldest = s.find("Site Zürich Depot 1 offline").unwrap();
        assert!(newest < oldest, "newest first:\n{s}");
    });
}

#[test]
fn views_keep_their_place_and_the_palette_completes_and_runs() {
    let (mut app, keymap) = app_with(rows(300), 24);
    incidents_and_alerts(&mut app, &keymap, 20);
    press(&mut app, &keymap, "jjj");
    assert_eq!(app.selected, 3);
    press(&mut app, &keymap, "2j");
    assert_eq!(app.selected, 1, "the queue has its own selection");
    assert!(
        app.selected_row().is_none(),
        "no device is selected off the fleet"
    );
    assert!(press(&mut app, &keymap, "p").is_empty());
    press(&mut app, &keymap, "1");
    assert_eq!(app.selected, 3, "back where the fleet was");
    update(&mut app, &keymap, ctrl('o'));
    assert_eq!(app.view, vigie::console::nav::View::Incidents);

    // The tail holds still while paused, then catches up.
    press(&mut app, &keymap, "3P");
    let before = app.view_len();
    incidents_and_alerts(&mut app, &keymap, 100);
    assert_eq!(app.view_len(), before);
    // Past the toast of the refused `p` above.
    update(&mut app, &keymap, Msg::Tick(t0() + Duration::seconds(30)));
    let s = screen(&render(&app, &keymap, 120, 24, Depth::Ansi16));
    assert!(s.contains("PAUSED, 5 waiting"), "{s}");
    press(&mut app, &keymap, "P");
    assert_eq!(app.view_len(), before + 5);

    // `:` with completion: a command, then a device name.
    let name = app.fleet.get(7).unwrap().name.to_string();
    press(&mut app, &keymap, ":inc");
    update(&mut app, &keymap, key(KeyCode::Tab));
    assert_eq!(app.palette, "incidents ");
    update(&mut app, &keymap, key(KeyCode::Enter));
    assert_eq!(app.view, vigie::console::nav::View::Incidents);
    press(&mut app, &keymap, ":device ");
    press(&mut app, &keymap, &name[..name.len() - 2]);
    update(&mut app, &keymap, key(KeyCode::Tab));
    let s = screen(&render(&app, &keymap, 80, 24, Depth::Ansi16));
    assert!(s.contains(":device "), "the palette line shows:\n{s}");
    update(&mut app, &keymap, key(KeyCode::Enter));
    assert_eq!(app.view, vigie::console::nav::View::Fleet);
    assert!(
        app.selected_row()
            .unwrap()
            .name
            .as_str()
            .starts_with(&name[..name.len() - 2])
    );
    press(&mut app, &keymap, ":nonsense\n");
    let toast = app.toasts.back().unwrap().text.clone();
    assert!(toast.starts_with("unknown command :nonsense"), "{toast}");
    assert_eq!(app.mode, Mode::Normal);
}

fn last_toast(app: &App) -> String {
    app.toasts
        .back()
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

#[test]
fn triage_from_the_queue_through_the_update_loop() {
    use vigie::console::update::Reply;
    let (mut app, keymap) = app_with(rows(30), 24);
    incidents_and_alerts(&mut app, &keymap, 20);
    // Off the queue, a triage key says where to go.
    assert!(press(&mut app, &keymap, "a").is_empty());
    assert!(last_toast(&app).contains("select an incident"));
    press(&mut app, &keymap, "2");
    // The queue's first row: the critical incident whose SLA is breached.
    let first = vigie::console::screens::incidents::selected(&app.shared, &app.screens.incidents)
        .unwrap()
        .clone();
    assert_eq!(first.title.as_str(), "Config push not confirmed on edge-1");
    let e = press(&mut app, &keymap, "a");
    assert_eq!(
        calls(&e),
        [(
            "incident_act",
            serde_json::json!({ "incident": first.id, "action": "acknowledge" })
        )]
    );
    assert!(matches!(&e[0], Effect::Call { scope, .. } if scope == first.tenant.as_str()));
    // The worker's answer updates the row at once.
    let mut acked = first.clone();
    acked
        .apply(
            vigie::domain::incident::IncidentAction::Acknowledge { by: "ana".into() },
            t0(),
        )
        .unwrap();
    update(
        &mut app,
        &keymap,
        Msg::Answer(
            Reply::Triage("acknowledge"),
            Ok(serde_json::to_value(&acked).unwrap()),
        ),
    );
    let s = screen(&render(&app, &keymap, 80, 24, Depth::Ansi16));
    assert!(s.contains("ack'd 0s"), "{s}");
    assert_eq!(
        calls(&press(&mut app, &keymap, "e"))[0].1["action"],
        "escalate"
    );
    assert_eq!(calls(&press(&mut app, &keymap, "t"))[0].1["action"], "take");
    let e = press(&mut app, &keymap, ":assign bob\n");
    assert_eq!(
        calls(&e),
        [(
            "incident_act",
            serde_json::json!({ "incident": first.id, "action": "assign", "to": "bob" })
        )]
    );
    // Resolving asks for the key again.
    assert!(press(&mut app, &keymap, "r").is_empty());
    assert!(app.toasts.back().unwrap().text.contains("press again"));
    assert_eq!(
        calls(&press(&mut app, &keymap, "r"))[0].1["action"],
        "resolve"
    );
    // A refusal says why.
    update(
        &mut app,
        &keymap,
        Msg::Answer(
            Reply::Triage("escalate"),
            Err(vigie::api::ApiError::new(
                vigie::api::ErrorCode::WrongState,
                "already at the top tier",
            )),
        ),
    );
    assert_eq!(
        app.toasts.back().unwrap().text,
        "escalate refused: already at the top tier"
    );
    // A viewer's console does not ask at all.
    app.role = vigie::domain::access::Role::Viewer;
    assert!(press(&mut app, &keymap, "a").is_empty());
    assert!(last_toast(&app).contains("needs the operator role"));
}

#[test]
fn the_palette_passes_the_same_role_gate_as_the_keys() {
    let (mut app, keymap) = app_with(rows(30), 24);
    incidents_and_alerts(&mut app, &keymap, 20);
    press(&mut app, &keymap, "2");
    app.role = vigie::domain::access::Role::Viewer;
    for line in [":assign bob\n", ":snooze 30m\n"] {
        let e = press(&mut app, &keymap, line);
        assert!(calls(&e).is_empty(), "{line:?} asked the worker: {e:?}");
        assert!(
            last_toast(&app).contains("needs the operator role; you are viewer"),
            "{line:?}: {}",
            last_toast(&app)
        );
    }
    // An operator's palette acts.
    app.role = vigie::domain::access::Role::Operator;
    let e = press(&mut app, &keymap, ":assign bob\n");
    assert_eq!(calls(&e).len(), 1, "{e:?}");
    // Lengths as people type them.
    let e = press(&mut app, &keymap, ":snooze 1h30m\n");
    assert_eq!(calls(&e)[0].1["for_s"], 5_400, "{e:?}");
    let e = press(&mut app, &keymap, ":snooze 3 months\n");
    assert!(calls(&e).is_empty(), "{e:?}");
    assert!(
        last_toast(&app).contains("months and years"),
        "{}",
        last_toast(&app)
    );
}

#[test]
fn the_wallboard_shows_big_numbers_rotates_and_takes_no_input_but_quit() {
    use vigie::console::nav::View;
    let (mut app, keymap) = app_with(rows(300), 24);
    incidents_and_alerts(&mut app, &keymap, 20);
    app.wallboard = Some(15);
    app.view = View::Board;
    snapshot_sizes(&mut app, &keymap, "wallboard", |s| {
        assert!(s.contains("online") && s.contains("open incidents"), "{s}");
        assert!(
            s.contains("Top incidents") && s.contains("SLA BREACHED"),
            "{s}"
        );
        assert!(s.contains("wallboard · board"), "{s}");
    });
    // Keys do nothing, not even the filter or a push.
    for k in ["j", "/", "p", "2", ":", "a"] {
        assert!(press(&mut app, &keymap, k).is_empty());
        assert_eq!((app.view, app.mode), (View::Board, Mode::Normal), "{k}");
    }
    // Every 15 s the next view, round and round (the clock starts at the
    // first tick, as the run loop's first frame).
    update(&mut app, &keymap, Msg::Tick(t0()));
    let mut seen = Vec::new();
    for n in 1..=5 {
        update(
            &mut app,
            &keymap,
            Msg::Tick(t0() + Duration::seconds(15 * n)),
        );
        seen.push(app.view);
    }
    assert_eq!(
        seen,
        [
            View::Map,
            View::Incidents,
            View::Alerts,
            View::Board,
            View::Map
        ]
    );
    assert_eq!(press(&mut app, &keymap, "q"), [Effect::Quit]);
}

#[test]
fn tenants_view_snapshots_least_healthy_first() {
    use vigie::console::update::Reply;
    let (mut app, keymap) = app_with(rows(300), 24);
    incidents_and_alerts(&mut app, &keymap, 20);
    let tenants = vigie::sim::plan(1, 300).inventory.tenants;
    update(
        &mut app,
        &keymap,
        Msg::Answer(Reply::Tenants, Ok(serde_json::to_value(&tenants).unwrap())),
    );
    press(&mut app, &keymap, "4");
    snapshot_sizes(&mut app, &keymap, "tenants", |s| {
        assert!(s.contains("HEALTH") && s.contains("INCIDENTS"), "{s}");
    });
    let s = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(s.contains("full") || s.contains("privacy safe"), "{s}");
}

/// The sites and access points of the fleet `rows` comes from, as the
/// worker's `map` verb answers: links in every state.
fn map_answer() -> serde_json::Value {
    let inv = vigie::sim::plan(7, 300).inventory;
    let (sites, aps) =
        vigie::sim::fleet::map_of(&inv, |i| (10, u32::from(i % 3 == 1), u32::from(i % 3 == 2)));
    serde_json::json!({ "sites": sites, "aps": aps })
}

#[test]
fn the_map_asks_for_its_sites_fits_zooms_pans_follows_and_opens_a_site() {
    use vigie::console::nav::View;
    use vigie::console::update::Reply;
    let (mut app, keymap) = app_with(rows(300), 24);
    // On screen, the map asks the worker; until it answers it says so.
    let asked = calls(&press(&mut app, &keymap, "5"));
    assert_eq!(asked, [("map", serde_json::json!({}))]);
    let s = screen(&render(&app, &keymap, 80, 24, Depth::Ansi16));
    assert!(s.contains("asking the worker for the sites"), "{s}");
    // Asked again only after the refresh period.
    assert!(calls(&press(&mut app, &keymap, "j")).is_empty());
    update(&mut app, &keymap, Msg::Answer(Reply::Map, Ok(map_answer())));
    app.selected = 0;
    snapshot_sizes(&mut app, &keymap, "map", |s| {
        assert!(s.contains("Map · ") && s.contains("(fit)"), "{s}");
        // Coastlines or borders in braille, and site markers.
        assert!(
            s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
            "{s}"
        );
        assert!(s.contains('◉'), "{s}");
    });
    let wide = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(wide.contains("Sites") && wide.contains("links"), "{wide}");
    let fit = app.screens.map.viewport("", (200, 160)).span;
    press(&mut app, &keymap, "+");
    let zoomed = app.screens.map.camera.unwrap();
    assert!(zoomed.span < fit);
    let s = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(!s.contains("(fit)"), "{s}");
    press(&mut app, &keymap, "l");
    assert!(app.screens.map.camera.unwrap().lon > zoomed.lon);
    press(&mut app, &keymap, "K");
    assert!(app.screens.map.camera.unwrap().lat > zoomed.lat);
    // Walking the sites keeps the selected one in the middle.
    press(&mut app, &keymap, "j");
    let site = app.screens.map.shown("").nth(app.selected).unwrap().clone();
    let c = app.screens.map.camera.unwrap();
    assert_eq!((c.lon, c.lat), (site.lon, site.lat));
    press(&mut app, &keymap, "0");
    assert!(app.screens.map.camera.is_none());
    // The filter narrows the sites; enter opens the site view, which asks
    // the worker for that site.
    press(&mut app, &keymap, "/");
    for c in site.name.as_str().chars() {
        update(&mut app, &keymap, key(KeyCode::Char(c)));
    }
    update(&mut app, &keymap, key(KeyCode::Enter));
    assert_eq!(app.view_len(), 1);
    let asked = calls(&press(&mut app, &keymap, "\n"));
    assert_eq!(app.view, View::Site);
    assert_eq!(asked, [("site", serde_json::json!({ "site": site.id }))]);
    let chosen = app.screens.site.site_ref.clone().unwrap();
    assert_eq!((chosen.tenant, chosen.id), (site.tenant, site.id));
}

/// The device's "applied" can reach the console before the worker's answer
/// to the push itself: the older answer must not hide the countdown.
#[test]
fn an_answer_older_than_the_event_does_not_undo_it() {
    use vigie::console::update::Reply;
    let (mut app, keymap) = app_with(rows(300), 24);
    let deadline = t0() + Duration::seconds(272);
    let applied = push_json(
        &app,
        serde_json::json!({ "state": "applied", "deadline": deadline, "version": 3 }),
        t0(),
    );
    push_event(&mut app, &keymap, 11, applied);
    let sent = push_json(
        &app,
        serde_json::json!({ "state": "sent", "version": 1 }),
        t0(),
    );
    update(
        &mut app,
        &keymap,
        Msg::Answer(Reply::Created, Ok(sent.clone())),
    );
    let s = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(s.contains("reverts in 4:32"), "{s}");
    // The same holds for the open pushes read at connection.
    update(
        &mut app,
        &keymap,
        Msg::Answer(Reply::OpenPushes, Ok(serde_json::json!([sent]))),
    );
    let s = screen(&render(&app, &keymap, 160, 48, Depth::Ansi16));
    assert!(s.contains("reverts in 4:32"), "{s}");
}

#[test]
fn commands_take_arguments_from_the_palette_and_the_keymap() {
    use vigie::console::nav::View;
    let (mut app, _) = app_with(rows(30), 24);
    let dir = tempfile::tempdir().unwrap();
    // A user's patch: a key with an argument, a filter-mode key, an
    // unbound default key, and a key in the form before sections.
    std::fs::write(
        dir.path().join("keymap.toml"),
        "[[normal]]\nkeys = [\"F\"]\nrun = \"view audit\"\n\n\
         [[normal]]\nkeys = [\"q\"]\nrun = \"none\"\n\n\
         [[filter]]\nkeys = [\"ctrl-g\"]\nrun = \"cancel\"\n\n\
         [[bind]]\nkeys = [\"W\"]\naction = \"pan-west\"\n",
    )
    .unwrap();
    let (keymap, problems) = KeyMap::load("default", dir.path());
    assert!(problems.is_empty(), "{problems:?}");
    press(&mut app, &keymap, "F");
    assert_eq!(app.view, View::Audit);
    assert!(press(&mut app, &keymap, "q").is_empty());
    assert!(!app.quit, "q was unbound");
    press(&mut app, &keymap, "1/zrh");
    assert_eq!(app.filter_input, "zrh");
    update(&mut app, &keymap, ctrl('g'));
    assert_eq!((app.mode, app.filter_input.as_str()), (Mode::Normal, ""));

    // The palette runs the same commands, arguments and all.
    press(&mut app, &keymap, ":view trends\n");
    assert_eq!(app.view, View::Trends);
    let before = app.screens.trends.range_index;
    press(&mut app, &keymap, ":range +2\n");
    assert_eq!(app.screens.trends.range_index, before + 2);
    press(&mut app, &keymap, ":range 0\n");
    assert!(
        last_toast(&app).contains("range: needs a step"),
        "{}",
        last_toast(&app)
    );
    press(&mut app, &keymap, ":pan up\n");
    assert!(
        last_toast(&app).contains("\"up\" is not a direction: west, east, north, south"),
        "{}",
        last_toast(&app)
    );
    // A wallboard credential may not ask for the audit log either way.
    app.role = vigie::domain::access::Role::Wallboard;
    press(&mut app, &keymap, ":view audit\n");
    assert!(last_toast(&app).contains("view audit needs the viewer role"));
    press(&mut app, &keymap, "F");
    assert_eq!(app.view, View::Trends);
}

#[test]
fn ctrl_c_quits_from_every_mode_and_the_editor_keeps_its_own_keys() {
    // Filter, palette, note, and the push editor while editing: ctrl-c
    // is the keymap's quit in each of their sections.
    for opener in ["/", ":", "2n", "p"] {
        let (mut app, keymap) = app_with(rows(30), 24);
        incidents_and_alerts(&mut app, &keymap, 20);
        app.role = vigie::domain::access::Role::Operator;
        press(&mut app, &keymap, opener);
        assert_ne!(app.mode, Mode::Normal, "{opener:?} opened no mode");
        let e = update(&mut app, &keymap, ctrl('c'));
        assert!(app.quit && e.contains(&Effect::Quit), "{opener:?}: {e:?}");
    }
    // In the editor, up, down, enter and backspace edit the text; they
    // are the review's keys only on the review.
    let (mut app, keymap) = app_with(rows(30), 24);
    press(&mut app, &keymap, "p");
    update(
        &mut app,
        &keymap,
        Msg::Answer(
            vigie::console::update::Reply::Config,
            Ok(serde_json::json!({ "ts": t0(), "format": "routeros", "body": "a\nb\n" })),
        ),
    );
    update(&mut app, &keymap, key(KeyCode::Down));
    press(&mut app, &keymap, "x\n");
    update(&mut app, &keymap, key(KeyCode::Backspace));
    let body = app.screens.pushes.editor.as_ref().unwrap().body();
    assert_eq!(body, "a\nxb\n");
}

#[test]
fn the_header_drops_counts_before_the_clock_or_the_connection() {
    // A large fleet (five-digit counts) on the view with the longest name.
    let (mut app, keymap) = app_with(rows(24_000), 24);
    incidents_and_alerts(&mut app, &keymap, 20);
    press(&mut app, &keymap, "9");
    for width in [160u16, 100, 80, 60] {
        let s = screen(&render(&app, &keymap, width, 20, Depth::None));
        let top = s.lines().next().unwrap().trim_end();
        assert!(
            top.ends_with("08:00:00") || top.ends_with("08:00:00 UTC"),
            "{width}: {top:?}"
        );
        assert!(top.contains("● live"), "{width}: {top:?}");
        assert!(top.contains("vigie"), "{width}: {top:?}");
        // What is shown of a count is whole: no "incidents" without its
        // number, no half-cut "24,0".
        let open = app.open_incidents();
        if top.contains("incidents") {
            assert!(
                top.contains(&format!("incidents {open} ")),
                "{width}: {top:?}"
            );
        }
        if top.contains("devices") {
            assert!(top.contains("24,000 devices"), "{width}: {top:?}");
        }
        if width >= 80 {
            assert!(
                top.contains("deliveries") && top.contains("incidents"),
                "{width}: {top:?}"
            );
        }
    }
}

#[test]
fn the_help_scrolls_to_every_binding_at_80x24() {
    let (mut app, keymap) = app_with(rows(300), 24);
    let all = keymap.help_for(app.role);
    assert!(all.len() > 30, "more bindings than fit");
    // The last binding's description, as far as any width shows it.
    let last: String = all[all.len() - 1].1.chars().take(20).collect();
    let text = |app: &App| screen(&render(app, &keymap, 80, 24, Depth::None));
    press(&mut app, &keymap, "?");
    let first = text(&app);
    assert!(!first.contains(last.as_str()), "{first}");
    assert!(first.contains(&format!("of {}", all.len())), "{first}");
    // The selection stays where it was while the help scrolls.
    let selected = app.selected;
    press(&mut app, &keymap, "G");
    let bottom = text(&app);
    assert!(bottom.contains(last.as_str()), "{bottom}");
    assert_eq!(app.selected, selected);
    // Up one line from the bottom, then a page, then the top again.
    press(&mut app, &keymap, "k");
    assert!(!text(&app).contains(last.as_str()));
    update(&mut app, &keymap, key(KeyCode::PageDown));
    assert!(text(&app).contains(last.as_str()));
    press(&mut app, &keymap, "gg");
    assert_eq!(text(&app), first);
    update(
        &mut app,
        &keymap,
        Msg::Term(TermEvent::Key(KeyEvent::new(
            KeyCode::Char('d'),
            KeyModifiers::CONTROL,
        ))),
    );
    assert_ne!(text(&app), first, "ctrl-d scrolls");
    // Closed and opened again: from the top.
    press(&mut app, &keymap, "??");
    assert_eq!(text(&app), first);
}

#[test]
fn a_read_only_console_refuses_every_mutating_key_before_any_call() {
    use vigie::domain::access::Role;
    let (mut app, keymap) = app_with(rows(60), 24);
    incidents_and_alerts(&mut app, &keymap, 20);
    app.role = Role::SuperAdmin;
    app.read_only = true;
    // Every key a super_admin has and a viewer has not.
    let viewer: Vec<String> = keymap
        .help_for(Role::Viewer)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mutating: Vec<String> = keymap
        .help_for(Role::SuperAdmin)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !viewer.contains(k))
        .collect();
    assert!(mutating.len() >= 10, "{mutating:?}");
    let only_reads = |e: &[Effect], what: &str| {
        for (verb, _) in calls(e) {
            let need = vigie::api::verbs::need(verb);
            assert!(
                need <= Some(Role::Viewer),
                "{what}: {verb} asked in read-only"
            );
        }
    };
    for view in ["1", "2", "3", "9"] {
        press(&mut app, &keymap, view);
        for keys in &mutating {
            for key in keys.split(", ") {
                // Single characters and chords of them ("r r").
                let typed: String = key.split(' ').collect();
                if typed.chars().count() != key.split(' ').count() {
                    continue;
                }
                let e = press(&mut app, &keymap, &typed);
                only_reads(&e, &format!("{view} {key}"));
                // Whatever opened (a prompt, a confirmation) is closed.
                let e = press(&mut app, &keymap, "\u{1b}\u{1b}");
                only_reads(&e, &format!("{view} {key} esc"));
            }
        }
    }
    assert!(
        last_toast(&app).contains("read-only"),
        "{}",
        last_toast(&app)
    );
    // The palette refuses the same, and the help lists none of them.
    let e = press(&mut app, &keymap, ":assign bob\n");
    only_reads(&e, ":assign");
    press(&mut app, &keymap, "?");
    let s = screen(&render(&app, &keymap, 160, 48, Depth::None));
    assert!(!s.contains("Acknowledge"), "{s}");
    press(&mut app, &keymap, "\u{1b}");
    // The header says so, at every width.
    for w in [160u16, 80, 60] {
        let s = screen(&render(&app, &keymap, w, 20, Depth::None));
        assert!(s.lines().next().unwrap().contains("read-only"), "{w}: {s}");
    }
}

#[test]
fn a_paste_is_text_never_keys() {
    let (mut app, keymap) = app_with(rows(60), 24);
    let paste = |app: &mut App, text: &str| {
        update(app, &keymap, Msg::Term(TermEvent::Paste(text.to_string())))
    };
    // Into the filter: the newline does not accept it, escapes are not
    // kept, the line stays open.
    press(&mut app, &keymap, "/");
    let e = paste(&mut app, "bld\nr\u{1b}[2J\t");
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(app.mode, Mode::Filter);
    assert_eq!(app.filter_input, "bld r [2J");
    press(&mut app, &keymap, "\u{1b}");
    // Into the palette: a pasted command with its newline is not run.
    press(&mut app, &keymap, ":");
    let e = paste(&mut app, "quit\n");
    assert!(e.is_empty() && !app.quit, "{e:?}");
    assert_eq!(app.mode, Mode::Palette);
    press(&mut app, &keymap, "\u{1b}");
    // In the normal mode a paste is not a string of keys.
    let e = paste(&mut app, "q");
    assert!(e.is_empty() && !app.quit, "{e:?}");
    // A huge paste is cut to the line's length.
    press(&mut app, &keymap, "/");
    paste(&mut app, &"x".repeat(100_000));
    assert!(app.filter_input.chars().count() <= 128);
}

#[test]
fn y_copies_the_selected_rows_id_and_shift_y_a_summary() {
    let copied = |e: &[Effect]| -> Vec<String> {
        e.iter()
            .filter_map(|e| match e {
                Effect::Copy(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    };
    let (mut app, keymap) = app_with(rows(30), 24);
    incidents_and_alerts(&mut app, &keymap, 20);
    let row = app.selected_row().unwrap().clone();
    assert_eq!(copied(&press(&mut app, &keymap, "y")), [row.id.to_string()]);
    let line = copied(&press(&mut app, &keymap, "Y"));
    assert_eq!(line.len(), 1);
    assert!(
        line[0].contains(row.id.as_str()) && line[0].contains(row.name.as_str()),
        "{line:?}"
    );
    assert!(
        !line[0].contains('\n') && !line[0].contains('\u{1b}'),
        "{line:?}"
    );
    assert!(last_toast(&app).contains("copied"), "{}", last_toast(&app));
    // The incidents view copies the incident's id.
    press(&mut app, &keymap, "2");
    let id = copied(&press(&mut app, &keymap, "y"));
    assert_eq!(id.len(), 1);
    assert!(
        app.incidents.keys().any(|(_, i)| i.as_str() == id[0]),
        "{id:?}"
    );
    // A read-only console copies too: copying changes nothing.
    app.read_only = true;
    assert_eq!(copied(&press(&mut app, &keymap, "y")).len(), 1);
}

#[test]
fn export_writes_the_views_filtered_rows_with_the_dump_writers() {
    let (mut app, keymap) = app_with(rows(300), 24);
    let written = |e: &[Effect]| -> Vec<(String, String)> {
        e.iter()
            .filter_map(|e| match e {
                Effect::Write { path, text } => Some((path.display().to_string(), text.clone())),
                _ => None,
            })
            .collect()
    };
    press(&mut app, &keymap, "/bldr\n");
    let shown = app.view_len();
    assert!(shown > 0 && shown < 300, "{shown}");
    let out = written(&press(&mut app, &keymap, ":export csv /tmp/fleet.csv\n"));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, "/tmp/fleet.csv");
    assert_eq!(
        out[0].1.trim_end().split("\r\n").count(),
        shown + 1,
        "a header and the rows shown"
    );
    let out = written(&press(&mut app, &keymap, ":export jsonl\n"));
    assert!(
        out[0].0.starts_with("vigie-fleet-") && out[0].0.ends_with(".jsonl"),
        "{out:?}"
    );
    assert_eq!(out[0].1.lines().count(), shown);
    let out = written(&press(&mut app, &keymap, ":export\n"));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out[0].1).unwrap();
    assert_eq!(rows.len(), shown);
    // A view without rows to write says so.
    press(&mut app, &keymap, "5");
    assert!(written(&press(&mut app, &keymap, ":export\n")).is_empty());
    assert!(
        last_toast(&app).contains("no rows to export"),
        "{}",
        last_toast(&app)
    );
}
