//! The message bus: one [`Bus`] trait with two implementations, the
//! in-process [`memory::MemoryBus`] (for `demo` and tests) and NATS
//! JetStream (for servers). Streams, subjects and the envelope are specified
//! in `docs/PROTOCOL.md`.

pub mod dead_letter;
pub mod envelope;
pub mod event;
pub mod memory;
pub mod nats;
pub mod subject;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

/// The four JetStream streams of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// `vigie.tel.{tenant}.{device}.{kind}`: agents → worker.
    Telemetry,
    /// `vigie.evt.{tenant}.{entity}`: worker → consoles.
    Events,
    /// `vigie.ord.{tenant}.{device}`: worker → agent.
    Orders,
    /// `vigie.dlq.{reason}`: rejected input with its reason.
    Dlq,
}

impl Stream {
    /// Every stream.
    pub const ALL: [Stream; 4] = [
        Stream::Telemetry,
        Stream::Events,
        Stream::Orders,
        Stream::Dlq,
    ];

    /// The JetStream stream name.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Telemetry => "VIGIE_TELEMETRY",
            Stream::Events => "VIGIE_EVENTS",
            Stream::Orders => "VIGIE_ORDERS",
            Stream::Dlq => "VIGIE_DLQ",
        }
    }

    /// The subjects the stream captures; no two streams overlap.
    pub fn subjects(self) -> &'static [&'static str] {
        match self {
            // `…{kind}` as published, and `…{kind}.{partition}` once a
            // NATS subject mapping has added the partition (scale-out).
            Stream::Telemetry => &["vigie.tel.*.*.*", "vigie.tel.*.*.*.*"],
            Stream::Events => &["vigie.evt.*.*"],
            Stream::Orders => &["vigie.ord.*.*"],
            Stream::Dlq => &["vigie.dlq.*"],
        }
    }

    /// The stream whose subjects hold `subject`, if any.
    pub fn for_subject(subject: &str) -> Option<Stream> {
        Self::ALL
            .into_iter()
            .find(|s| s.subjects().iter().any(|p| subject::matches(p, subject)))
    }
}

/// Checks a subject for publishing and names the stream that captures it;
/// both backends refuse the same subjects with the same errors.
pub fn route(subject: &str) -> Result<Stream, BusError> {
    if !subject::is_valid(subject) {
        return Err(BusError::InvalidSubject(subject.to_string()));
    }
    Stream::for_subject(subject).ok_or_else(|| BusError::NoStream(subject.to_string()))
}

/// Checks a subject for a request.
pub fn check_request_subject(subject: &str) -> Result<(), BusError> {
    if subject::is_valid(subject) {
        Ok(())
    } else {
        Err(BusError::InvalidSubject(subject.to_string()))
    }
}

/// Errors of any bus backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    #[error("no stream captures subject {0:?}")]
    NoStream(String),
    #[error("invalid subject {0:?}")]
    InvalidSubject(String),
    #[error("nobody serves {0:?}")]
    NoResponders(String),
    #[error("request to {0:?} timed out")]
    Timeout(String),
    #[error("the bus is closed")]
    Closed,
    #[error("bus backend: {0}")]
    Backend(String),
    #[error("message not encodable: {0}")]
    Encode(String),
}

/// A value as the JSON bytes of a message. A value that cannot be encoded
/// is an error, never an empty message.
pub fn json_payload<T: serde::Serialize>(value: &T) -> Result<bytes::Bytes, BusError> {
    serde_json::to_vec(value)
        .map(bytes::Bytes::from)
        .map_err(|e| BusError::Encode(e.to_string()))
}

/// The answer to a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishAck {
    pub stream: Stream,
    /// Sequence of the message in its stream.
    pub seq: u64,
    /// True when the id was seen inside the dedupe window: nothing was stored
    /// and `seq` is the first copy's.
    pub duplicate: bool,
}

/// How a durable consumer redelivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerOptions {
    /// Unacked messages are redelivered after this long.
    pub ack_wait: Duration,
    /// Deliveries after which a message is given up; `None` never gives up.
    pub max_deliver: Option<u32>,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self {
            ack_wait: Duration::from_secs(30),
            max_deliver: None,
        }
    }
}

/// What acknowledges one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckToken {
    pub stream_seq: u64,
    /// The backend's own handle (JetStream's ack subject).
    pub reply: Option<String>,
}

/// A message handed to a durable consumer.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub subject: String,
    pub payload: Bytes,
    /// 1 on first delivery, then one more per redelivery.
    pub delivered: u32,
    pub token: AckToken,
}

/// A message read by a live follower.
#[derive(Debug, Clone)]
pub struct StreamMessage {
    pub subject: String,
    pub payload: Bytes,
    pub seq: u64,
}

/// A durable consumer: at-least-once, explicit ack.
#[async_trait]
pub trait Consumer: Send + Sync {
    /// Up to `max` messages: redeliveries first, then new ones. Waits up to
    /// `wait` when none is ready; an empty batch is not an error.
    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError>;
    /// Acknowledges processed messages: they will not come again.
    async fn ack(&mut self, tokens: &[AckToken]) -> Result<(), BusError>;
    /// Asks for a redelivery after `delay`.
    async fn nak(&mut self, token: &AckToken, delay: Duration) -> Result<(), BusError>;
    /// Messages not yet acknowledged: never delivered plus in flight (the
    /// consumer's lag).
    async fn pending(&mut self) -> Result<u64, BusError>;
    /// Messages given up since the last call because they reached
    /// `max_deliver`, so that the caller can dead-letter them.
    async fn exhausted(&mut self) -> Result<Vec<Delivery>, BusError>;
}

/// An ordered live view of a stream from a chosen sequence.
#[async_trait]
pub trait Follower: Send + Sync {
    /// The next message, in stream order; `None` when the bus closed.
    async fn next(&mut self) -> Option<StreamMessage>;
}

/// The reply half of a request.
#[async_trait]
pub trait Reply: Send {
    /// Sends the answer.
    async fn send(self: Box<Self>, payload: Bytes) -> Result<(), BusError>;
}

/// How much each stream may hold, so that no publisher can fill the NATS
/// server's disk and stop ingest. The worker applies them at start (the
/// `[streams]` settings); other clients only create a missing stream with
/// the defaults and never change an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Telemetry kept at most, in bytes; the oldest go first.
    pub telemetry_max_bytes: u64,
    /// Telemetry messages kept per subject (one device's one kind): a
    /// device that floods evicts only its own old messages.
    pub telemetry_max_msgs_per_subject: u64,
    pub events_max_bytes: u64,
    pub orders_max_bytes: u64,
    pub dlq_max_bytes: u64,
    /// How long dead letters are kept, in seconds.
    pub dlq_max_age_s: u64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            telemetry_max_bytes: 8 << 30,
            telemetry_max_msgs_per_subject: 100_000,
            events_max_bytes: 1 << 30,
            orders_max_bytes: 1 << 30,
            dlq_max_bytes: 1 << 30,
            dlq_max_age_s: 7 * 86_400,
        }
    }
}

impl StreamLimits {
    /// The largest message a stream takes, in bytes. Telemetry envelopes
    /// are at most 64 KiB (`envelope::MAX_BYTES`); twice that is stored
    /// so that a slightly larger one is still dead-lettered with a reason,
    /// and anything bigger is refused to its publisher by the server.
    pub fn max_message_bytes(stream: Stream) -> u32 {
        match stream {
            Stream::Telemetry => 128 * 1024,
            Stream::Events | Stream::Orders | Stream::Dlq => 1024 * 1024,
        }
    }

    /// The byte limit of `stream`.
    pub fn max_bytes(&self, stream: Stream) -> u64 {
        match stream {
            Stream::Telemetry => self.telemetry_max_bytes,
            Stream::Events => self.events_max_bytes,
            Stream::Orders => self.orders_max_bytes,
            Stream::Dlq => self.dlq_max_bytes,
        }
    }
}

/// Where the answer to a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyTo {
    /// A private channel of this process (the in-process bus).
    InProcess,
    /// A subject the requester named. Anyone who may publish a request
    /// names it, so a service must check it before answering there: an
    /// answer is published with the service's own rights (see
    /// [`reply_allowed`]).
    Subject(String),
}

/// A request received by a service.
pub struct Request {
    pub subject: String,
    pub payload: Bytes,
    pub reply_to: ReplyTo,
    pub reply: Box<dyn Reply>,
}

/// The default prefix of request inboxes (NATS's own).
pub const DEFAULT_INBOX_PREFIX: &str = "_INBOX";

/// True when a service may answer at `reply_to`: an in-process channel, or
/// a valid literal subject strictly under `inbox_prefix` (`_INBOX` admits
/// `_INBOX.x.y`, never `_INBOX` itself, `_INBOXES.x`, a wildcard, or
/// `$JS.API.…`). Everything else is a confused-deputy attempt: the
/// requester asks the service to publish, with the service's rights, where
/// the requester may not.
pub fn reply_allowed(reply_to: &ReplyTo, inbox_prefix: &str) -> bool {
    match reply_to {
        ReplyTo::InProcess => true,
        ReplyTo::Subject(s) => {
            let prefix = inbox_prefix.trim_end_matches('.');
            s.len() <= subject::MAX_LEN
                && !prefix.is_empty()
                && s.strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|rest| !rest.is_empty())
                && subject::is_valid(s)
        }
    }
}

/// One member of a queue group serving request subjects.
#[async_trait]
pub trait Service: Send + Sync {
    /// The next request; `None` when the bus closed.
    async fn next(&mut self) -> Option<Request>;
}

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    pub subject: String,
    pub msg_id: String,
    pub payload: Bytes,
}

/// The bus contract. Both backends pass the same suite
/// (`tests/support/bus_contract.rs`).
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Stores `payload` in the stream that captures `subject`, at most once
    /// per `msg_id` inside the dedupe window.
    async fn publish(
        &self,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<PublishAck, BusError>;

    /// Publishes several messages in order, as [`Bus::publish`] would one by
    /// one, but without waiting for each acknowledgement before sending the
    /// next. Returns when all are stored.
    async fn publish_all(&self, msgs: Vec<OutMessage>) -> Result<Vec<PublishAck>, BusError> {
        let mut acks = Vec::with_capacity(msgs.len());
        for m in msgs {
            acks.push(self.publish(&m.subject, &m.msg_id, m.payload).await?);
        }
        Ok(acks)
    }

    /// Opens (or resumes) the durable consumer `name` on `stream`, filtered to
    /// `filter`.
    async fn consumer(
        &self,
        stream: Stream,
        name: &str,
        filter: &str,
        opts: ConsumerOptions,
    ) -> Result<Box<dyn Consumer>, BusError>;

    /// Follows `stream` (filtered) from sequence `from_seq`, in order.
    async fn follow(
        &self,
        stream: Stream,
        filter: &str,
        from_seq: u64,
    ) -> Result<Box<dyn Follower>, BusError>;

    /// The sequence of the last message stored in `stream` (0 when empty).
    async fn last_seq(&self, stream: Stream) -> Result<u64, BusError>;

    /// Sends a request and waits up to `timeout` for one answer.
    async fn request(
        &self,
        subject: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, BusError>;

    /// Joins queue group `queue` serving `subject` (wildcards allowed).
    async fn serve(&self, subject: &str, queue: &str) -> Result<Box<dyn Service>, BusError>;
}
