//! vigie: a terminal console for managed-service operations.
//!
//! The crate is one library with a thin binary on top (`src/main.rs`). The
//! modules follow the data path described in `docs/ARCHITECTURE.md`:
//! telemetry enters through the [`bus`], the [`worker`] decodes it, runs the
//! pure [`rules`] over the [`domain`] state machines, writes through the
//! [`store`] and publishes derived events that the [`console`] follows.

pub mod admin;
pub mod agent;
pub mod api;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod clock;
pub mod console;
pub mod demo;
pub mod domain;
pub mod dump;
pub mod headless;
pub mod inventory;
pub mod logging;
pub mod orders;
pub mod rules;
pub mod settings;
pub mod sim;
pub mod store;
pub mod worker;
