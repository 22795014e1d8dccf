//! `vigie inventory import|export`, run as an MSP onboarding its fleet
//! would: 2,000 devices from a spreadsheet, a dry run, a second import that
//! changes nothing, a bad line that names itself and writes nothing, and
//! exports that import back to the same inventory. On SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Write as _;
use std::path::Path;

fn vigie(dir: &Path, args: &[&str]) -> (bool, String, String) {
    support::cli::vigie_env(dir, args, &[("USER", "noc")])
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = vigie(dir, args);
    assert!(ok, "vigie {args:?}: {out}{err}");
    out
}

/// Two customers, 40 sites, 2,000 devices (50 a site), an AP per site with
/// a sector.
fn fleet_csv() -> String {
    let mut csv = String::from(
        "tenant,site,site_name,lat,lon,device,device_name,kind,sector,sector_azimuth_deg,firmware\n",
    );
    for s in 0..40 {
        let tenant = if s % 2 == 0 { "acme" } else { "globex" };
        let (lat, lon) = (39.0 + f64::from(s) / 10.0, -105.0 - f64::from(s) / 10.0);
        for d in 0..50 {
            let (kind, sector) = match d {
                0 => ("router", ""),
                1 => ("access_point", "s1"),
                _ => ("cpe", "s1"),
            };
            let sector = if sector.is_empty() {
                String::new()
            } else {
                format!("site{s}-{sector}")
            };
            writeln!(
                csv,
                "{tenant},site{s},\"Site {s}, Main St\",{lat},{lon},dev-{s}-{d},Device {d},{kind},{sector},{},7.{d}",
                if sector.is_empty() { "" } else { "120" }
            )
            .unwrap();
        }
    }
    csv
}

fn with_tenants(dir: &Path, db: &[&str]) {
    for t in ["acme", "globex"] {
        let mut args = vec!["tenant", "create", t, "--name", t];
        args.extend_from_slice(db);
        ok(dir, &args);
    }
}

fn onboard(dir: &Path, db: &[&str]) {
    with_tenants(dir, db);
    let file = dir.join("fleet.csv");
    std::fs::write(&file, fleet_csv()).unwrap();
    let file = file.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["inventory", "import", file];
        args.extend_from_slice(extra);
        args.extend_from_slice(db);
        ok(dir, &args)
    };
    let dry = run(&["--dry-run"]);
    assert!(dry.contains("+ device acme/dev-0-0"), "{dry}");
    assert!(
        dry.contains(
            "40 sites, 40 sectors, 2000 devices to add; 0 unchanged (dry run, nothing written)"
        ),
        "{dry}"
    );
    let export = |format: &str| {
        let mut args = vec!["inventory", "export", "--format", format];
        args.extend_from_slice(db);
        ok(dir, &args)
    };
    assert_eq!(export("csv").lines().count(), 1, "a dry run wrote");

    let first = run(&[]);
    assert!(
        first.contains("2000 devices to add; 0 unchanged (imported)"),
        "{first}"
    );
    let again = run(&[]);
    assert!(
        again.contains("2080 unchanged (nothing to change)"),
        "{again}"
    );

    // One wrong line: named, and not even the good new line is written.
    let mut bad = fleet_csv();
    bad.push_str("acme,site0,\"Site 0, Main St\",39,-105,dev-new,New,router,,,1\n");
    bad.push_str("acme,site0,\"Site 0, Main St\",39,-105,dev-bad,Bad,toaster,,,1\n");
    let bad_file = dir.join("bad.csv");
    std::fs::write(&bad_file, bad).unwrap();
    let mut args = vec!["inventory", "import", bad_file.to_str().unwrap()];
    args.extend_from_slice(db);
    let (good, _, err) = vigie(dir, &args);
    assert!(!good);
    assert!(
        err.contains("bad.csv:2003: kind: \"toaster\" is not a device kind"),
        "{err}"
    );
    // (site0's row on line 2002 says lat 39, not 39.0: the same number.)
    assert!(!err.contains("2002"), "{err}");
    assert!(!export("csv").contains("dev-new"));

    // Each export imports back to exactly what is stored.
    for format in ["csv", "toml", "json"] {
        let text = export(format);
        let path = dir.join(format!("export.{format}"));
        std::fs::write(&path, &text).unwrap();
        let mut args = vec!["inventory", "import", path.to_str().unwrap()];
        args.extend_from_slice(db);
        let out = ok(dir, &args);
        assert!(out.contains("(nothing to change)"), "{format}: {out}");
        assert!(
            !out.contains("to add") && !out.contains("to change;"),
            "{format}: {out}"
        );
    }
    let toml = export("toml");
    assert!(
        toml.contains("[[devices]]") && toml.contains("firmware = \"7.49\""),
        "{toml}"
    );
}

#[test]
fn a_fleet_is_onboarded_from_csv_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    onboard(dir.path(), &[]);
    // The import is in the audit log of each tenant it touched.
    ok(dir.path(), &["keys", "generate"]);
    let audit = ok(dir.path(), &["audit", "export", "--tenant", "acme"]);
    assert!(audit.contains("inventory.import"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_is_onboarded_from_csv_on_postgresql() {
    let Some(schema) = support::services::pg_schema().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = schema.url();
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || onboard(&d, &["--database", &url]))
        .await
        .unwrap();
}

#[test]
fn a_file_naming_unknown_tenants_sites_and_kinds_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    with_tenants(d, &[]);
    let toml = r#"
[[sites]]
tenant = "acme"
id = "hq"
name = "HQ"
lat = 1.0
lon = 2.0

[[devices]]
tenant = "initech"
site = "hq"
id = "r1"
name = "R1"
kind = "router"

[[devices]]
tenant = "acme"
site = "nowhere"
id = "r2"
name = "R2"
kind = "router"

[[links]]
tenant = "acme"
id = "l1"
ap = "r3"
cpe = "r2"
"#;
    let file = d.join("fleet.toml");
    std::fs::write(&file, toml).unwrap();
    let (good, _, err) = vigie(d, &["inventory", "import", file.to_str().unwrap()]);
    assert!(!good);
    for want in [
        "fleet.toml:9: tenant: no tenant initech",
        "fleet.toml:16: site: no site nowhere of acme in the file or the inventory",
        "fleet.toml:23: ap: no device r3 of acme",
        "fleet.toml:23: cpe: device r2 is a router, not a cpe",
    ] {
        assert!(err.contains(want), "{want} not in\n{err}");
    }
    assert_eq!(
        ok(d, &["inventory", "export", "--format", "json"]).trim(),
        "{}"
    );
}
