//! The live alert tail, newest first, which can be paused; marked alerts
//! merge into the selected alert's incident.

use crate::console::lists::Tail;
use crate::domain::Id;

/// The tail's state.
#[derive(Debug, Default)]
pub struct State {
    pub tail: Tail,
    /// Alerts marked to merge into one incident, as (tenant, alert).
    pub marks: Vec<(Id, Id)>,
}
