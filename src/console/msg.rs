//! The console's vocabulary: the messages `update` takes, the effects it
//! returns, and what an api answer is for. Below `update`, the views and
//! the run loop, so that each of them can name them.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::Event as TermEvent;

use crate::api::{ApiError, Snapshot, Verb};
use crate::bus::event::Event;

/// Something that happened.
#[derive(Debug)]
pub enum Msg {
    /// A terminal event.
    Term(TermEvent),
    /// A consistent snapshot from the worker.
    Snapshot(Box<Snapshot>),
    /// A live event, with its stream sequence.
    Event(u64, Box<Event>),
    /// The link to the worker failed.
    Disconnected(String),
    /// The clock ticked.
    Tick(DateTime<Utc>),
    /// The worker's answer to an api call.
    Answer(Reply, Result<serde_json::Value, ApiError>),
    /// Something to tell the user (an error when true).
    Notice(String, bool),
}

/// What an api answer is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The device's configuration, for the editor.
    Config,
    /// A push was created.
    Created,
    /// A confirm or revert was asked for.
    Action(&'static str),
    /// The pushes in progress (at connection).
    OpenPushes,
    /// A device's push history.
    History,
    /// An incident triage action.
    Triage(&'static str),
    /// The tenants in scope.
    Tenants,
    /// The map's sites and links.
    Map,
    /// A device's detail (its key: see `fetch::device_key`).
    Device(String),
    /// A site's sectors, links and alerts.
    Site(String),
    /// The signal trends of a range.
    Trends(String),
    /// The chart of the selected trend's device.
    Chart(String),
    /// The audit log.
    Audit,
    /// An incident's alerts and timeline.
    Incident(String),
    /// The destinations of delivery to the SOC.
    Destinations,
    /// A destination's last attempts (its id).
    Deliveries(String),
    /// A delivery action: test, replay, pause, resume.
    Delivery(&'static str),
}

/// IO the run loop performs for `update`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Put text on the terminal's clipboard (OSC 52).
    Copy(String),
    /// Write a new file (never over one), then say how it went as a
    /// [`Msg::Notice`].
    Write {
        path: std::path::PathBuf,
        text: String,
    },
    /// Call an api verb on `scope` and hand the answer back as
    /// [`Msg::Answer`].
    Call {
        scope: String,
        verb: &'static str,
        body: serde_json::Value,
        reply: Reply,
    },
}

impl Effect {
    /// A call of the verb `V` with its arguments, typed: the compiler
    /// checks them against the verb table.
    pub fn call<V: Verb>(scope: impl ToString, args: &V::Args, reply: Reply) -> Self {
        Effect::Call {
            scope: scope.to_string(),
            verb: V::NAME,
            body: crate::api::client::encode_args::<V>(args),
            reply,
        }
    }
}

/// An edit of the text being typed (the filter, a `:` command, a note, the
/// push editor), as the keymap of that mode names it. Keys bound to none
/// are typed into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Keep the filter, run the command, go to the next field or send.
    Accept,
    /// Leave without keeping what was typed (the editor: back a step).
    Cancel,
    DeleteBack,
    ClearLine,
    /// Complete the palette's command or name.
    Complete,
    /// The push review's other field.
    NextField,
    /// Save the note; take the edited config to its review.
    Save,
}
