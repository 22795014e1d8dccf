//! Derived events: what the worker tells consoles on `vigie.evt.*`.
//!
//! Every event carries the entity's whole new state, not a delta, so that
//! applying one twice (a replay after reconnecting) changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Id;
use crate::domain::incident::Incident;
use crate::domain::model::{Alert, DeviceRow, LinkRow};
use crate::domain::push::Push;

/// One derived event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub v: u64,
    pub id: String,
    pub ts: DateTime<Utc>,
    pub tenant: Id,
    #[serde(flatten)]
    pub body: EventBody,
}

/// The entity an event is about, with its new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entity", content = "body", rename_all = "snake_case")]
pub enum EventBody {
    Device(DeviceRow),
    Link(LinkRow),
    Alert(Alert),
    Incident(Incident),
    /// A config push's new state, without the configuration texts.
    Push(Push),
}

impl EventBody {
    /// The subject token of the entity.
    pub fn entity(&self) -> &'static str {
        match self {
            EventBody::Device(_) => "device",
            EventBody::Link(_) => "link",
            EventBody::Alert(_) => "alert",
            EventBody::Incident(_) => "incident",
            EventBody::Push(_) => "push",
        }
    }

    /// A stable key of the entity, for the event id.
    pub fn key(&self) -> &str {
        match self {
            EventBody::Device(d) => d.id.as_str(),
            EventBody::Link(l) => l.id.as_str(),
            EventBody::Alert(a) => a.id.as_str(),
            EventBody::Incident(i) => i.id.as_str(),
            EventBody::Push(p) => p.id.as_str(),
        }
    }
}

impl Event {
    /// An event stamped `ts`. The id must be unique: the worker makes it
    /// from its run id and a counter.
    pub fn new(id: String, tenant: Id, ts: DateTime<Utc>, body: EventBody) -> Self {
        Self {
            v: 1,
            id,
            ts,
            tenant,
            body,
        }
    }

    /// The subject the event is published on.
    pub fn subject(&self) -> String {
        super::subject::event(&self.tenant, self.body.entity())
    }
}
