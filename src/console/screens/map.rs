//! The map of sites, links and borders.

pub use crate::console::map::MapState as State;
