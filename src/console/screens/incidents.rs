//! The incident queue: most severe first, then the nearest SLA; a pane
//! with an incident's alerts and timeline; marks, triage and notes.

use crate::api::views::IncidentDetail;
use crate::console::fetch::Fetch;
use crate::console::incident::NoteDraft;
use crate::domain::Id;

/// The queue's own state (the incidents themselves are shared).
#[derive(Debug, Default)]
pub struct State {
    /// The incident pane is open.
    pub open: bool,
    pub detail: Fetch<IncidentDetail>,
    /// The queue shows resolved incidents too.
    pub resolved: bool,
    /// Incidents marked for a bulk action or a merge, as (tenant, incident).
    pub marks: Vec<(Id, Id)>,
    /// The note being written.
    pub note: Option<Box<NoteDraft>>,
}
