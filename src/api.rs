//! The api contract between the worker and its clients (the console,
//! `vigie login`, `vigie push`, `vigie dump`, scripts): request/reply on
//! `vigie.api.{scope}.{verb}`, where scope is a tenant id or `_all`.
//!
//! The verb table (`verbs.rs`) names every verb with the least role it
//! needs, its arguments (`args.rs`) and its answer (`views.rs`,
//! `wire.rs` and the read models of `domain`). Every answer is
//! `{"ok": …}` or `{"error": {"code", "message"}}` (`error.rs`).

pub mod args;
pub mod client;
pub mod enrol;
pub mod error;
pub mod grant;
pub mod outbound;
pub mod verbs;
pub mod views;
pub mod wire;

pub use client::{call, call_value, decode_answer, fetch_snapshot};
pub use error::{ApiError, ErrorCode};
pub use verbs::Verb;
pub use wire::{Snapshot, SnapshotPage};

/// Devices per snapshot page: keeps every answer well under NATS's default
/// 1 MiB message limit.
pub const SNAPSHOT_PAGE: u32 = 1_000;
/// The most rows a `fleet` page holds (0 asks for the default page).
pub const MAX_FLEET_PAGE: u32 = 10_000;
/// The default `fleet` page.
pub const FLEET_PAGE: u32 = 1_000;
/// The most rows a list verb (`incidents`, `alerts`, `audit`,
/// `push_list`, `trends`) answers.
pub const MAX_LIST: u32 = 2_000;
/// The longest `fleet` filter text and `audit` target, in characters.
pub const MAX_FILTER: usize = 256;
/// The longest window of raw samples `signal` answers: 31 days.
pub const MAX_SIGNAL_RANGE: chrono::Duration = chrono::Duration::days(31);
/// The longest snooze: a week.
pub const MAX_SNOOZE_S: u32 = 7 * 86_400;
/// The longest note, in characters.
pub const MAX_NOTE: usize = 4_000;
/// The most incidents merged at once.
pub const MAX_MERGE: usize = 100;
