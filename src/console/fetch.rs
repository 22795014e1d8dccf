//! What a screen asks the worker for while it is on screen, kept with the
//! question it answers: an answer to an older question (the selection
//! moved on) is dropped, and a question is asked again only when stale.
//! The time ranges of charts, and the device question the fleet's pane
//! and the trends' chart share. Pure, like `update`.

use crate::api::args::DeviceArgs;
use crate::api::verbs;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::msg::{Effect, Reply};
use crate::api::ApiError;
use crate::api::views::DeviceDetail;
use crate::domain::Id;

/// The time ranges of charts and trends, `[` and `]` step through them.
pub const RANGES: [(u32, &str); 5] = [
    (3_600, "1h"),
    (6 * 3_600, "6h"),
    (86_400, "24h"),
    (7 * 86_400, "7d"),
    (30 * 86_400, "30d"),
];

/// Buckets of a detail pane's sparklines and of a trend chart.
pub const DETAIL_BUCKETS: u16 = 60;
pub const CHART_BUCKETS: u16 = 160;

/// One answer kept with the question it answers.
#[derive(Debug)]
pub struct Fetch<T> {
    pub data: Option<T>,
    /// What was last asked: the data (when any) answers it.
    pub key: String,
    pub asked: Option<DateTime<Utc>>,
    /// The worker's refusal or failure, shown in place of the data.
    pub error: Option<String>,
}

impl<T> Default for Fetch<T> {
    fn default() -> Self {
        Self {
            data: None,
            key: String::new(),
            asked: None,
            error: None,
        }
    }
}

impl<T> Fetch<T> {
    /// True when `key` should be asked for: something else was asked, or
    /// it was asked `every_s` real seconds ago or more.
    pub fn due(&self, key: &str, now: DateTime<Utc>, every_s: f64, speed: f64) -> bool {
        self.key != key
            || self.asked.is_none_or(|t| {
                (now - t).num_milliseconds() as f64 / 1000.0 / speed.max(1e-9) >= every_s
            })
    }

    pub fn ask(&mut self, key: String, now: DateTime<Utc>) {
        if self.key != key {
            self.data = None;
            self.error = None;
        }
        self.key = key;
        self.asked = Some(now);
    }

    /// Takes an answer to `key`; an answer to an older question is dropped.
    pub fn take(&mut self, key: &str, answer: Result<Value, ApiError>)
    where
        T: serde::de::DeserializeOwned,
    {
        if key != self.key {
            return;
        }
        match answer.map(serde_json::from_value::<T>) {
            Ok(Ok(d)) => {
                self.data = Some(d);
                self.error = None;
            }
            Ok(Err(e)) => self.error = Some(format!("unreadable answer: {e}")),
            Err(e) => self.error = Some(e.message),
        }
    }

    /// The data, when it answers `key`.
    pub fn current(&self, key: &str) -> Option<&T> {
        self.data.as_ref().filter(|_| self.key == key)
    }
}

/// The key of a device question: which device, over which range.
pub fn device_key(tenant: &Id, device: &Id, range_s: u32) -> String {
    format!("{tenant}/{device}/{range_s}")
}

/// The `device` call for (tenant, device, range, buckets) into `fetch`,
/// when it is due.
pub fn ask_device(
    fetch: &mut Fetch<DeviceDetail>,
    (tenant, device, range_s, buckets): (&Id, &Id, u32, u16),
    (now, speed): (DateTime<Utc>, f64),
    every_s: f64,
    reply: fn(String) -> Reply,
) -> Option<Effect> {
    let key = device_key(tenant, device, range_s);
    if !fetch.due(&key, now, every_s, speed) {
        return None;
    }
    fetch.ask(key.clone(), now);
    let args = DeviceArgs {
        device: device.clone(),
        until: Some(now),
        range_s: Some(range_s),
        buckets: Some(buckets),
    };
    Some(Effect::call::<verbs::Device>(tenant, &args, reply(key)))
}
