//! The fleet: every device, filtered, sorted and grouped, with a detail
//! pane on the selected one and marks for bulk pushes.

use crate::api::views::DeviceDetail;
use crate::console::fetch::{Fetch, RANGES};
use crate::domain::Id;

/// The fleet screen's own state (the fleet itself is shared).
#[derive(Debug, Default)]
pub struct State {
    /// The detail pane is open.
    pub detail_open: bool,
    pub detail: Fetch<DeviceDetail>,
    /// The detail pane's range: an index into `RANGES` (an hour at first).
    pub range_index: usize,
    /// Devices marked for a bulk action, as (tenant, device), in the order
    /// they were marked (a rollout's order: the first is the canary).
    pub marks: Vec<(Id, Id)>,
}

impl State {
    /// The detail pane's range in seconds and its name.
    pub fn range(&self) -> (u32, &'static str) {
        RANGES[self.range_index.min(RANGES.len() - 1)]
    }
}
