//! The console's screens, one module each: its own state, its rows, what
//! it asks the worker for, its answers, its actions and its drawing.

pub mod alerts;
pub mod audit;
pub mod board;
pub mod fleet;
pub mod incidents;
pub mod map;
pub mod pushes;
pub mod site;
pub mod tenants;
pub mod trends;

/// Each screen's own state.
#[derive(Debug, Default)]
pub struct Screens {
    pub fleet: fleet::State,
    pub incidents: incidents::State,
    pub alerts: alerts::State,
    pub tenants: tenants::State,
    pub map: map::State,
    pub site: site::State,
    pub trends: trends::State,
    pub audit: audit::State,
    pub pushes: pushes::State,
}
