//! Signal trends: the radios whose signal fell the most over a range, and
//! a chart of the selected one's device.

use crate::api::views::{DeviceDetail, Trends};
use crate::console::fetch::{ChartMeasure, Fetch, RANGES};

/// The trends screen's state.
#[derive(Debug)]
pub struct State {
    pub trends: Fetch<Trends>,
    /// The chart of the selected trend's device.
    pub chart: Fetch<DeviceDetail>,
    /// What that chart shows.
    pub measure: ChartMeasure,
    /// The range: an index into `RANGES` (a day at first).
    pub range_index: usize,
}

impl Default for State {
    fn default() -> Self {
        Self {
            trends: Fetch::default(),
            chart: Fetch::default(),
            measure: ChartMeasure::Signal,
            range_index: 2,
        }
    }
}

impl State {
    /// The range in seconds and its name.
    pub fn range(&self) -> (u32, &'static str) {
        RANGES[self.range_index.min(RANGES.len() - 1)]
    }
}
