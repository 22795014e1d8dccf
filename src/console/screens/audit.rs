//! The audit log, newest first: who changed what, from what to what, and
//! why. Read from the worker; the chain is checked by `vigie audit verify`.

use crate::console::fetch::Fetch;
use crate::domain::audit::AuditEntry;

/// The audit screen's state.
#[derive(Debug, Default)]
pub struct State {
    pub log: Fetch<Vec<AuditEntry>>,
}
