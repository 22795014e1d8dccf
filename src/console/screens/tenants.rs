//! Tenants: health from the live fleet and incidents, with each tenant's
//! tier, data mode and retention as the worker keeps them.

use crate::domain::model::Tenant;

/// The tenants in scope, as the worker last said.
#[derive(Debug, Default)]
pub struct State {
    pub tenants: Vec<Tenant>,
}
