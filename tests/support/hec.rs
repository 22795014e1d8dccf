//! A Splunk-HEC-compatible collector on the loopback, strict as Splunk
//! is (the `Splunk` token scheme, stacked objects and never an array,
//! `event` required, a channel when acknowledgement is on), with
//! indexer acknowledgement (an ack reported `true` once, then forgotten)
//! and scripted faults: 429 with `Retry-After`, 503 busy, a code 6
//! partial batch, an ack never reported, an ack reported late.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::receiver::{Received, Receiver, Reply};

/// A fault for the next event request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After: 1`.
    TooMany,
    /// 503, code 9.
    Busy,
    /// Code 6 at event `n`: the events before it are indexed.
    BadEvent(usize),
    /// Indexed, but its ack is never reported.
    ForgetAck,
    /// Indexed, its ack reported from the n-th time it is asked.
    SlowAck(u32),
}

#[derive(Default)]
struct State {
    faults: VecDeque<Fault>,
    /// Event ids indexed, in order (with duplicates).
    indexed: Vec<String>,
    /// Channels seen.
    channels: Vec<String>,
    next_ack: u64,
    /// Acks to report (`true`) or never (`false`).
    acks: HashMap<u64, bool>,
    /// Acks reported `false` this many more times first.
    slow: HashMap<u64, u32>,
    /// Ack polls answered.
    polls: usize,
}

pub struct Hec {
    pub rx: Receiver,
    state: Arc<Mutex<State>>,
}

fn reply(status: u16, v: Value) -> Reply {
    (status, None, v.to_string())
}

impl Hec {
    /// A collector accepting `auth` (the whole Authorization value) at
    /// `path`, acknowledging when `ack`.
    pub async fn start(
        auth: &'static str,
        path: &'static str,
        ack: bool,
        faults: Vec<Fault>,
    ) -> Self {
        let state = Arc::new(Mutex::new(State {
            faults: faults.into(),
            ..State::default()
        }));
        let s = Arc::clone(&state);
        let rx = Receiver::answering(Arc::new(move |r: &Received| {
            let mut st = s.lock().unwrap();
            if r.header("authorization") != auth {
                return reply(403, json!({"text": "Invalid token", "code": 4}));
            }
            if r.path == "/services/collector/ack" {
                let asked: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                let mut out = serde_json::Map::new();
                st.polls += 1;
                for id in asked["acks"].as_array().cloned().unwrap_or_default() {
                    let id = id.as_u64().unwrap_or(u64::MAX);
                    if let Some(n) = st.slow.get_mut(&id).filter(|n| **n > 0) {
                        *n -= 1;
                        out.insert(id.to_string(), json!(false));
                        continue;
                    }
                    let done = st.acks.get(&id) == Some(&true);
                    if done {
                        st.acks.remove(&id);
                    }
                    out.insert(id.to_string(), json!(done));
                }
                return reply(200, json!({ "acks": out }));
            }
            if r.path != path {
                return reply(404, json!({"text": "not found", "code": 404}));
            }
            let channel = r.header("x-splunk-request-channel").to_string();
            if ack && channel.is_empty() {
                return reply(400, json!({"text": "Data channel is missing", "code": 10}));
            }
            st.channels.push(channel);
            if r.body.first() == Some(&b'[') {
                return reply(400, json!({"text": "Invalid data format", "code": 6, "invalid-event-number": 0}));
            }
            let mut events = Vec::new();
            for (i, o) in serde_json::Deserializer::from_slice(&r.body).into_iter::<Value>().enumerate() {
                let ok = o.as_ref().ok().filter(|o| {
                    o["time"].as_f64().is_some_and(|t| t < 1e11)
                        && o["event"].as_object().is_some_and(|e| !e.is_empty())
                        && o["fields"].as_object().is_none_or(|f| f.values().all(Value::is_string))
                });
                match ok {
                    Some(o) => events.push(o["event"]["id"].as_str().unwrap_or("").to_string()),
                    None => return reply(400, json!({"text": "Invalid data format", "code": 6, "invalid-event-number": i})),
                }
            }
            let fault = st.faults.pop_front();
            match fault {
                Some(Fault::TooMany) => {
                    return (429, Some(("retry-after", "1")), json!({"text": "Server is busy", "code": 9}).to_string());
                }
                Some(Fault::Busy) => return reply(503, json!({"text": "Server is busy", "code": 9})),
                Some(Fault::BadEvent(n)) => {
                    st.indexed.extend(events.into_iter().take(n));
                    return reply(400, json!({"text": "Invalid data format", "code": 6, "invalid-event-number": n}));
                }
                _ => {}
            }
            st.indexed.extend(events);
            if !ack {
                return reply(200, json!({"text": "Success", "code": 0}));
            }
            let id = st.next_ack;
            st.next_ack += 1;
            st.acks.insert(id, fault != Some(Fault::ForgetAck));
            if let Some(Fault::SlowAck(n)) = fault {
                st.slow.insert(id, n.saturating_sub(1));
            }
            reply(200, json!({"text": "Success", "code": 0, "ackId": id}))
        }))
        .await;
        Self { rx, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.rx.port)
    }

    /// Event ids indexed, in order, duplicates kept.
    pub fn indexed(&self) -> Vec<String> {
        self.state.lock().unwrap().indexed.clone()
    }

    pub fn channels(&self) -> Vec<String> {
        self.state.lock().unwrap().channels.clone()
    }

    /// Ack polls answered.
    pub fn polls(&self) -> usize {
        self.state.lock().unwrap().polls
    }

    pub fn faults_left(&self) -> usize {
        self.state.lock().unwrap().faults.len()
    }
}
