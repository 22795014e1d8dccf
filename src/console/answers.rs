//! The worker's answers, each routed to the screen whose call it answers.
//! Pure, like `update`, beside which it runs.

use serde_json::Value;

use super::app::App;
use super::msg::{Effect, Reply};
use super::screens;
use crate::api::ApiError;

/// Takes one answer.
pub fn on_answer(app: &mut App, reply: Reply, answer: Result<Value, ApiError>) -> Vec<Effect> {
    let (sh, s) = (&mut app.shared, &mut app.screens);
    match reply {
        Reply::Triage(action) => {
            screens::incidents::triage::on_answer(sh, &mut s.incidents, action, answer);
        }
        Reply::Incident(key) => screens::incidents::on_answer(&mut s.incidents, &key, answer),
        Reply::Tenants => screens::tenants::on_answer(sh, &mut s.tenants, answer),
        Reply::Map => screens::map::on_answer(sh, &mut s.map, answer),
        Reply::Device(key) => screens::fleet::on_answer(&mut s.fleet, &key, answer),
        Reply::Site(key) => screens::site::on_answer(&mut s.site, &key, answer),
        reply @ (Reply::Trends(_) | Reply::Chart(_)) => {
            screens::trends::on_answer(&mut s.trends, reply, answer);
        }
        Reply::Audit => screens::audit::on_answer(&mut s.audit, answer),
        reply @ (Reply::Destinations | Reply::Deliveries(_) | Reply::Delivery(_)) => {
            screens::deliveries::on_answer(sh, &mut s.deliveries, reply, answer);
        }
        reply @ (Reply::Config
        | Reply::Created
        | Reply::Action(_)
        | Reply::OpenPushes
        | Reply::History) => {
            screens::pushes::on_answer(sh, &mut s.pushes, &mut s.fleet.marks, reply, answer);
        }
    }
    app.clamp();
    Vec::new()
}
