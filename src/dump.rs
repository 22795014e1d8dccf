//! `vigie dump VIEW`: a view's rows as JSON or CSV, from the same queries
//! the console's views use: through the worker's api (`--nats`) or from the
//! database directly.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api::args::{AuditArgs, LimitArgs, NoArgs, SiteArgs, TrendArgs};
use crate::api::views::Trends;
use crate::api::{self, Verb, verbs};
use crate::bus::Bus;
use crate::domain::fleet::FleetQuery;
use crate::store::{Scope, Store};

/// The views that can be dumped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    /// Every device with its live state.
    Fleet,
    /// Sites with their device counts.
    Sites,
    /// Open incidents, most severe first.
    Incidents,
    /// Alerts, newest first.
    Alerts,
    /// Tenants: tier, data mode, retention and thresholds.
    Tenants,
    /// The map's access points: site, sector azimuth, links by state.
    Map,
    /// Radios by how far their signal fell over the last day against the
    /// two days before, the largest fall first.
    Trends,
    /// The audit log, in log order.
    Audit,
    /// One site's devices sector by sector, with their links (needs
    /// `--tenant` and `--site`).
    Site,
}

/// The trends' range: a day, as the trends view opens.
const TRENDS_RANGE_S: u32 = 86_400;

/// Output formats: the writers of `domain::table`.
pub use crate::domain::table::{Format, to_csv, to_json, to_jsonl};

impl clap::ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &Format::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.extension()))
    }
}

/// Where the rows come from.
pub enum Source {
    Store(Arc<dyn Store>),
    /// A worker over NATS, and the session token to ask it with.
    Api(Arc<dyn Bus>, String),
}

/// Most alerts and incidents dumped.
const LIMIT: u32 = 100_000;

/// The view's rows, as JSON values; `site` names the site of the site
/// view.
pub async fn rows(
    source: &Source,
    view: View,
    scope: &Scope,
    site: Option<&crate::domain::Id>,
) -> anyhow::Result<Vec<Value>> {
    if view == View::Site {
        let (Some(site), Some(_)) = (site, scope.tenant()) else {
            anyhow::bail!("the site view needs --tenant and --site");
        };
        return site_rows(source, scope, site).await;
    }
    let value = match source {
        Source::Store(store) => match view {
            View::Fleet => {
                serde_json::to_value(store.fleet_page(scope, &FleetQuery::default()).await?.rows)?
            }
            View::Sites => serde_json::to_value(store.sites(scope).await?)?,
            View::Incidents => serde_json::to_value(store.incident_queue(scope, LIMIT).await?)?,
            View::Alerts => serde_json::to_value(store.alert_history(scope, None, LIMIT).await?)?,
            View::Tenants => {
                let mut all = store.tenants().await?;
                all.retain(|t| scope.tenant().is_none_or(|s| *s == t.id));
                serde_json::to_value(all)?
            }
            View::Map => serde_json::to_value(store.ap_links(scope).await?)?,
            View::Trends => {
                let until = chrono::Utc::now();
                let (baseline, recent) = Trends::windows(until, TRENDS_RANGE_S);
                let mut rows = store.signal_trends(scope, baseline, recent, until).await?;
                Trends::rank(&mut rows);
                serde_json::to_value(rows)?
            }
            View::Audit => serde_json::to_value(store.audit(scope, None, LIMIT).await?)?,
            View::Site => Value::Null,
        },
        Source::Api(bus, token) => {
            let scope = scope
                .tenant()
                .map_or(crate::bus::subject::ALL_TENANTS.to_string(), |t| {
                    t.to_string()
                });
            let api = Api {
                bus: bus.as_ref(),
                token,
                scope: &scope,
            };
            let limited = LimitArgs {
                limit: Some(LIMIT),
                device: None,
            };
            match view {
                View::Fleet => serde_json::to_value(
                    api.ask::<verbs::Fleet>(&FleetQuery::default()).await?.rows,
                )?,
                View::Sites => serde_json::to_value(api.ask::<verbs::Sites>(&NoArgs {}).await?)?,
                View::Incidents => {
                    serde_json::to_value(api.ask::<verbs::Incidents>(&limited).await?)?
                }
                View::Alerts => serde_json::to_value(api.ask::<verbs::Alerts>(&limited).await?)?,
                View::Tenants => {
                    serde_json::to_value(api.ask::<verbs::Tenants>(&NoArgs {}).await?)?
                }
                View::Map => serde_json::to_value(api.ask::<verbs::Map>(&NoArgs {}).await?.aps)?,
                View::Trends => {
                    let args = TrendArgs {
                        until: None,
                        range_s: Some(TRENDS_RANGE_S),
                        limit: Some(2_000),
                    };
                    serde_json::to_value(api.ask::<verbs::TrendsOf>(&args).await?.rows)?
                }
                View::Audit => {
                    let args = AuditArgs {
                        target: None,
                        limit: Some(LIMIT),
                    };
                    serde_json::to_value(api.ask::<verbs::Audit>(&args).await?)?
                }
                View::Site => Value::Null,
            }
        }
    };
    match value {
        Value::Array(mut rows) => {
            if view == View::Trends {
                rows.iter_mut().for_each(with_change);
            }
            Ok(rows)
        }
        other => anyhow::bail!("expected rows, got {other}"),
    }
}

/// A worker's api, with a session, for one scope.
struct Api<'a> {
    bus: &'a dyn Bus,
    token: &'a str,
    scope: &'a str,
}

impl Api<'_> {
    async fn ask<V: Verb>(&self, args: &V::Args) -> anyhow::Result<V::Answer> {
        api::call::<V>(
            self.bus,
            self.token,
            self.scope,
            args,
            Duration::from_secs(30),
        )
        .await
        .map_err(|e| anyhow::anyhow!("the worker answered {}: {e}", V::NAME))
    }
}

/// The site view's rows: each device of the site with its sector and its
/// links (count, worst state, weakest signal), sector by sector.
async fn site_rows(
    source: &Source,
    scope: &Scope,
    site: &crate::domain::Id,
) -> anyhow::Result<Vec<Value>> {
    let (detail, fleet): (
        crate::domain::site::SiteDetail,
        Vec<crate::domain::model::DeviceRow>,
    ) = match source {
        Source::Store(store) => (
            store.site_detail(scope, site, 0).await?,
            store.fleet_page(scope, &FleetQuery::default()).await?.rows,
        ),
        Source::Api(bus, token) => {
            let tenant = scope.tenant().map(ToString::to_string).unwrap_or_default();
            let api = Api {
                bus: bus.as_ref(),
                token,
                scope: &tenant,
            };
            let args = SiteArgs { site: site.clone() };
            let detail = api.ask::<verbs::Site>(&args).await?;
            let page = api.ask::<verbs::Fleet>(&FleetQuery::default()).await?;
            (detail, page.rows)
        }
    };
    let links = crate::console::screens::site::link_summary(&detail.links);
    let groups = detail
        .sectors
        .iter()
        .map(|s| (Some(s), &s.devices))
        .chain(std::iter::once((None, &detail.unsectored)));
    let mut out = Vec::new();
    for (sector, ids) in groups {
        for id in ids {
            let Some(row) = fleet.iter().find(|r| r.id == *id) else {
                continue;
            };
            let mut v = serde_json::to_value(row)?;
            if let Value::Object(map) = &mut v {
                map.insert(
                    "sector".into(),
                    sector.map_or(Value::Null, |s| s.name.as_str().into()),
                );
                map.insert(
                    "azimuth_deg".into(),
                    sector.map_or(Value::Null, |s| s.azimuth_deg.into()),
                );
                let l = links.get(id);
                map.insert("links".into(), l.map_or(0, |l| l.0).into());
                map.insert(
                    "worst_link".into(),
                    l.map_or(Value::Null, |l| l.1.as_str().into()),
                );
                map.insert(
                    "weakest_dbm".into(),
                    l.and_then(|l| l.2)
                        .map_or(Value::Null, |d| f64::from(d).into()),
                );
            }
            out.push(v);
        }
    }
    Ok(out)
}

/// A trend row with its change in dB, as the trends view shows it.
fn with_change(r: &mut Value) {
    let Ok(t) = serde_json::from_value::<crate::domain::site::SignalTrend>(r.clone()) else {
        return;
    };
    if let (Value::Object(map), Some(c)) = (r, Trends::drop_db(&t)) {
        map.insert("change_db".into(), Value::from(f64::from(c)));
    }
}
