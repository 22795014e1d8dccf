//! The verb table: every verb's name, the least role it needs, what it
//! takes and what it answers. The worker dispatches on it, the access
//! check reads the role from it, clients call through it, and a test
//! checks docs/PROTOCOL.md against it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::args::*;
use super::grant::{NatsGrant, RenewArgs};
use super::outbound::{
    DeliveriesArgs, DeliveryView, DestinationRef, DestinationView, Queued, Requeued,
};
use super::views::{DeviceDetail, IncidentDetail, Trends};
use super::wire::{MapView, RolloutStatus, Session, SnapshotPage, UserState};
use crate::domain::access::{Principal, Role};
use crate::domain::audit::AuditEntry;
use crate::domain::fleet::{FleetPage, FleetQuery, StatusCounts};
use crate::domain::incident::Incident;
use crate::domain::model::{Alert, SignalSample, Tenant};
use crate::domain::push::{Push, PushQuery, Rollout, StoredConfig};
use crate::domain::site::{SiteDetail, SiteSummary};
use crate::domain::user::UserRecord;

/// One api verb, as a type: `call::<Device>(…)` can only send a
/// [`DeviceArgs`] and read a [`DeviceDetail`].
pub trait Verb {
    /// The last token of the subject, `vigie.api.{scope}.{NAME}`.
    const NAME: &'static str;
    /// The least role; `None` for `login`, which needs no session.
    const NEED: Option<Role>;
    type Args: Serialize + DeserializeOwned + Send + Sync + 'static;
    type Answer: Serialize + DeserializeOwned + Send + 'static;
}

/// A row of the verb table, for checks and documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerbInfo {
    pub name: &'static str,
    pub need: Option<Role>,
    pub args: &'static str,
    pub answer: &'static str,
    pub summary: &'static str,
}

macro_rules! verbs {
    ($( $(#[doc = $doc:literal])+ $ty:ident = $name:literal, $need:expr, $args:ty => $answer:ty; )*) => {
        $(
            $(#[doc = $doc])+
            #[derive(Debug, Clone, Copy)]
            pub struct $ty;
            impl Verb for $ty {
                const NAME: &'static str = $name;
                const NEED: Option<Role> = $need;
                type Args = $args;
                type Answer = $answer;
            }
        )*
        /// Every verb, in the order docs/PROTOCOL.md lists them.
        pub const VERBS: &[VerbInfo] = &[$(VerbInfo {
            name: $name,
            need: $need,
            args: stringify!($args),
            answer: stringify!($answer),
            summary: concat!($($doc),+),
        }),*];
    };
}

const W: Option<Role> = Some(Role::Wallboard);
const V: Option<Role> = Some(Role::Viewer);
const O: Option<Role> = Some(Role::Operator);
const A: Option<Role> = Some(Role::Admin);

verbs! {
    /// A session token for a user and password.
    Login = "login", None, LoginArgs => Session;
    /// The caller, as the worker knows them now.
    Whoami = "whoami", W, NoArgs => Principal;
    /// A fresh NATS user JWT for the caller's key, in the caller's scope.
    Renew = "renew", W, RenewArgs => NatsGrant;
    /// The first page of a consistent snapshot of the fleet.
    Snapshot = "snapshot", W, PageArgs => SnapshotPage;
    /// A further page of a kept snapshot.
    SnapshotPageOf = "snapshot_page", W, PageArgs => SnapshotPage;
    /// Devices per status.
    Counts = "counts", W, NoArgs => StatusCounts;
    /// Sites and their health.
    Sites = "sites", W, NoArgs => Vec<SiteSummary>;
    /// Sites and their access points' links.
    Map = "map", W, NoArgs => MapView;
    /// Open incidents, most severe first.
    Incidents = "incidents", W, LimitArgs => Vec<Incident>;
    /// A filtered, sorted page of the fleet.
    Fleet = "fleet", V, FleetQuery => FleetPage;
    /// The tenants in the scope.
    Tenants = "tenants", V, NoArgs => Vec<Tenant>;
    /// Alerts, newest first.
    Alerts = "alerts", V, LimitArgs => Vec<Alert>;
    /// A device's raw signal samples.
    Signal = "signal", V, SeriesArgs => Vec<SignalSample>;
    /// A push.
    PushStatus = "push_status", V, PushRef => Push;
    /// Pushes, newest first.
    PushList = "push_list", V, PushQuery => Vec<Push>;
    /// A rollout and its pushes.
    RolloutStatusOf = "rollout_status", V, RolloutRef => RolloutStatus;
    /// A device's configuration as it last reported it.
    ConfigLatest = "config_latest", V, DeviceRef => Option<StoredConfig>;
    /// The audit log, newest first.
    Audit = "audit", V, AuditArgs => Vec<AuditEntry>;
    /// A device's detail: series, links, alerts, pushes, interfaces.
    Device = "device", V, DeviceArgs => DeviceDetail;
    /// A site's sectors, links and alerts.
    Site = "site", V, SiteArgs => SiteDetail;
    /// Radios whose signal fell the most.
    TrendsOf = "trends", V, TrendArgs => Trends;
    /// An incident's alerts, timeline and why its alerts fired.
    IncidentOf = "incident", V, IncidentArgs => IncidentDetail;
    /// Sends a signed configuration to one device.
    PushCreate = "push_create", O, CreatePush => Push;
    /// Keeps an applied push.
    PushConfirm = "push_confirm", O, PushRef => Push;
    /// Restores the configuration before a push.
    PushRevert = "push_revert", O, PushRef => Push;
    /// Sends one configuration to several devices, in waves.
    RolloutCreate = "rollout_create", O, CreateRollout => Rollout;
    /// Confirms a rollout's applied pushes.
    RolloutConfirm = "rollout_confirm", O, RolloutRef => Vec<Push>;
    /// Acts on an incident: acknowledge, take, assign, …, note.
    IncidentActOn = "incident_act", O, IncidentAct => Incident;
    /// The users of the scope.
    Users = "users", A, NoArgs => Vec<UserRecord>;
    /// Adds a user.
    UserAdd = "user_add", A, AddUser => UserRecord;
    /// Disables a user: their sessions end at their next request.
    UserDisable = "user_disable", A, UserName => UserState;
    /// Enables a user again.
    UserEnable = "user_enable", A, UserName => UserState;
    /// The scope's destinations of delivery to the SOC.
    OutboundList = "outbound_list", V, NoArgs => Vec<DestinationView>;
    /// A destination's newest deliveries.
    OutboundDeliveries = "outbound_deliveries", V, DeliveriesArgs => Vec<DeliveryView>;
    /// Queues a delivery.test event for a destination.
    OutboundTest = "outbound_test", O, DestinationRef => Queued;
    /// Queues a destination's dead and expired deliveries again.
    OutboundReplay = "outbound_replay", O, DestinationRef => Requeued;
    /// Stops sending to a destination (events keep queuing).
    OutboundPause = "outbound_pause", A, DestinationRef => DestinationView;
    /// Sends to a destination again.
    OutboundResume = "outbound_resume", A, DestinationRef => DestinationView;
}

/// The verb of a name.
pub fn info(name: &str) -> Option<&'static VerbInfo> {
    VERBS.iter().find(|v| v.name == name)
}

/// The least role a verb needs; `None` for an unknown verb or `login`.
pub fn need(name: &str) -> Option<Role> {
    info(name).and_then(|v| v.need)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_only_login_needs_no_session() {
        let mut names: Vec<_> = VERBS.iter().map(|v| v.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), VERBS.len());
        let open: Vec<_> = VERBS.iter().filter(|v| v.need.is_none()).collect();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].name, Login::NAME);
    }
}
