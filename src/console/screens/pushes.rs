//! Config pushes: the editor (edit, diff, reason, typed confirmation),
//! confirm and revert, the history overlay, and the pushes this console
//! follows.

use std::collections::BTreeMap;

use crate::console::push::Draft;
use crate::domain::Id;
use crate::domain::push::Push;

/// The push history of one device, as an overlay.
#[derive(Debug, Clone)]
pub struct History {
    pub device: Id,
    pub name: String,
    pub pushes: Vec<Push>,
}

/// The pushes' state.
#[derive(Debug)]
pub struct State {
    /// Pushes this console knows of (open ones at start, then every push
    /// event), by push id.
    pub pushes: BTreeMap<Id, Push>,
    /// The push being prepared.
    pub editor: Option<Box<Draft>>,
    pub history: Option<History>,
    /// Default revert window of pushes made here, in seconds.
    pub window_s: u32,
}

impl Default for State {
    fn default() -> Self {
        Self {
            pushes: BTreeMap::new(),
            editor: None,
            history: None,
            window_s: 300,
        }
    }
}
