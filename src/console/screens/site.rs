//! One site: its sectors, devices, links and alerts.

use crate::console::fetch::{Fetch, SiteRef};
use crate::domain::site::SiteDetail;

/// The site screen's state.
#[derive(Debug, Default)]
pub struct State {
    /// The site on screen.
    pub site_ref: Option<SiteRef>,
    pub detail: Fetch<SiteDetail>,
}
