//! A simulated MSP fleet: believable tenants, sites, devices and links, and
//! the telemetry real agents would send, including outages, flaps, reboots
//! and slowly degrading radio links. Deterministic for a given seed.

pub mod agents;
pub mod fleet;
pub mod history;
pub mod rng;
pub mod run;
pub mod workload;

pub use fleet::{FleetPlan, plan};
pub use run::{SimConfig, Simulator};
