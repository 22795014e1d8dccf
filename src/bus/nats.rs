//! The NATS JetStream implementation of the [`Bus`] contract.
//!
//! Streams are created or updated only by their owner (the worker, and
//! `vigie nats init`), each with its explicit subject list (so no stream
//! swallows another's subjects); every other client binds to them and
//! needs no `$JS.API.STREAM.*` right. Publishes carry the
//! message id in `Nats-Msg-Id` and wait for the stream's ack; durable
//! consumers are pull consumers with explicit ack; followers are ordered
//! consumers from a start sequence; the api is core request/reply in a
//! queue group.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::stream::ConsumerErrorKind;
use async_nats::jetstream::stream::{
    Config as StreamConfig, DiscardPolicy, RetentionPolicy, StorageType,
};
use async_nats::jetstream::{self, AckKind};
use async_nats::{Client, HeaderMap, RequestErrorKind};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;

use crate::domain::redact::{redact_text, redact_url};

mod auth;
pub mod deployment;
pub mod jwt;
mod user;
pub use auth::NatsAuth;
pub use user::UserCreds;

use super::{
    AckToken, Bus, BusError, Consumer, ConsumerOptions, Delivery, Follower, OutMessage, PublishAck,
    Reply, ReplyTo, Request, Service, Stream, StreamLimits, StreamMessage,
};

/// Most unacknowledged messages a durable consumer may hold out; a fetch
/// never asks for more.
pub const MAX_ACK_PENDING: i64 = 100_000;

/// Bound on a no-wait pull. nats-server 2.9 holds a no-wait pull open until
/// it expires when nothing at all is pending, so the consumer only sends
/// one when messages are known to wait (see `NatsConsumer::more`).
const PULL_EXPIRES: Duration = Duration::from_secs(1);

/// How long JetStream remembers a message id to drop repeats.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

fn backend(e: impl std::fmt::Display) -> BusError {
    BusError::Backend(e.to_string())
}

/// Retention of each stream (limits-based, by age).
pub fn max_age(stream: Stream) -> Duration {
    match stream {
        Stream::Telemetry => Duration::from_secs(24 * 3600),
        Stream::Events => Duration::from_secs(3600),
        Stream::Orders => Duration::from_secs(24 * 3600),
        Stream::Dlq => Duration::from_secs(7 * 24 * 3600),
    }
}

/// Spells a filter ending in `>` with `*` tokens up to the stream's own
/// subject length (`vigie.tel.acme.>` → `vigie.tel.acme.*.*`): servers
/// before 2.10 refuse a `>` filter on a stream whose subjects use `*`.
pub fn filter_for(stream: Stream, filter: &str) -> String {
    let Some(prefix) = filter.strip_suffix(">") else {
        return filter.to_string();
    };
    let want = stream
        .subjects()
        .first()
        .map_or(0, |p| p.split('.').count());
    let have = prefix.split('.').filter(|t| !t.is_empty()).count();
    if want <= have {
        return filter.to_string();
    }
    let stars = vec!["*"; want - have].join(".");
    format!("{prefix}{stars}")
}

/// The error for a stream that does not exist on the server, if that is
/// what `e` says (JetStream error 10059).
fn missing_stream(stream: Stream, e: &impl std::fmt::Display) -> Option<BusError> {
    let text = e.to_string();
    (text.contains("10059") || text.to_ascii_lowercase().contains("stream not found")).then(|| {
        BusError::Backend(format!(
            "stream {} does not exist on this NATS server: start `vigie worker` (or run `vigie nats setup`) first",
            stream.name()
        ))
    })
}

/// A stream that could not be made, said plainly when the server's
/// JetStream store is smaller than the stream's limit (error 10047).
fn store_too_small(stream: Stream, limits: &StreamLimits, e: &impl std::fmt::Display) -> BusError {
    let text = e.to_string();
    if !text.contains("10047") {
        return BusError::Backend(format!("stream {}: {text}", stream.name()));
    }
    BusError::Backend(format!(
        "stream {}: its limit of {} bytes does not fit in the NATS server's JetStream store: \
         raise max_file_store in the server's jetstream {{ }} block (the four streams take {} bytes), \
         or lower the [streams] limits in vigie.toml",
        stream.name(),
        limits.max_bytes(stream),
        Stream::ALL
            .iter()
            .map(|s| limits.max_bytes(*s))
            .sum::<u64>()
    ))
}

/// The bus on a NATS server with JetStream.
#[derive(Clone)]
pub struct NatsBus {
    client: Client,
    js: jetstream::Context,
}

impl NatsBus {
    /// Connects to `url` with no credentials and creates the streams that
    /// do not exist yet: a local server's owner (tests, benchmarks).
    pub async fn connect_and_setup(url: &str) -> Result<Self, BusError> {
        let bus = Self::connect_with(url, &NatsAuth::default()).await?;
        bus.ensure_streams().await?;
        Ok(bus)
    }

    /// Connects with credentials and/or TLS and binds to the streams as
    /// they are: nothing about them is created or changed (that needs the
    /// stream rights only the worker's credentials hold). The client
    /// reconnects by itself for as long as it runs; what was acknowledged
    /// stays so.
    pub async fn connect_with(url: &str, auth: &NatsAuth) -> Result<Self, BusError> {
        let (dial, opts) = auth
            .apply(url, async_nats::ConnectOptions::new().name("vigie"))
            .await?;
        Self::dial(url, &dial, opts).await
    }

    /// Connects to `dial` (`url` with its secrets taken out) with `opts`;
    /// errors name `url`, redacted.
    async fn dial(
        url: &str,
        dial: &str,
        opts: async_nats::ConnectOptions,
    ) -> Result<Self, BusError> {
        let client = opts.connect(dial).await.map_err(|e| {
            BusError::Backend(redact_text(&format!(
                "cannot connect to NATS at {}: {e}",
                redact_url(url)
            )))
        })?;
        Ok(Self {
            js: jetstream::new(client.clone()),
            client,
        })
    }

    /// A handle on `stream` that asks the server nothing (no stream right
    /// needed); a stream that does not exist shows on first use.
    async fn bind(&self, stream: Stream) -> Result<jetstream::stream::Stream<()>, BusError> {
        self.js
            .get_stream_no_info(stream.name())
            .await
            .map_err(backend)
    }

    /// The configuration of `stream` under `limits`.
    fn stream_config(stream: Stream, limits: &StreamLimits) -> StreamConfig {
        let max_age = match stream {
            Stream::Dlq => Duration::from_secs(limits.dlq_max_age_s),
            other => max_age(other),
        };
        StreamConfig {
            name: stream.name().to_string(),
            subjects: stream.subjects().iter().map(|x| (*x).to_string()).collect(),
            retention: RetentionPolicy::Limits,
            storage: StorageType::File,
            max_age,
            max_bytes: i64::try_from(limits.max_bytes(stream)).unwrap_or(i64::MAX),
            max_messages_per_subject: match stream {
                Stream::Telemetry => {
                    i64::try_from(limits.telemetry_max_msgs_per_subject).unwrap_or(i64::MAX)
                }
                _ => -1,
            },
            max_message_size: i32::try_from(StreamLimits::max_message_bytes(stream))
                .unwrap_or(i32::MAX),
            discard: DiscardPolicy::Old,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        }
    }

    /// Creates the streams that do not exist yet, with the default limits;
    /// an existing stream is left as it is (the worker owns its settings).
    pub async fn ensure_streams(&self) -> Result<(), BusError> {
        for s in Stream::ALL {
            self.js
                .get_or_create_stream(Self::stream_config(s, &StreamLimits::default()))
                .await
                .map_err(|e| BusError::Backend(format!("stream {}: {e}", s.name())))?;
        }
        Ok(())
    }

    /// Creates or updates every stream with its subjects and `limits`:
    /// the worker's start.
    pub async fn configure_streams(&self, limits: &StreamLimits) -> Result<(), BusError> {
        for s in Stream::ALL {
            self.js
                .create_or_update_stream(Self::stream_config(s, limits))
                .await
                .map_err(|e| store_too_small(s, limits, &e))?;
        }
        Ok(())
    }

    /// The underlying client (for health checks).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(
        &self,
        subj: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<PublishAck, BusError> {
        let one = OutMessage {
            subject: subj.to_string(),
            msg_id: msg_id.to_string(),
            payload,
        };
        self.publish_all(vec![one])
            .await?
            .pop()
            .ok_or_else(|| BusError::Backend("no publish acknowledgement".into()))
    }

    async fn publish_all(&self, msgs: Vec<OutMessage>) -> Result<Vec<PublishAck>, BusError> {
        // The client lends a permit to each publish until its ack is read,
        // and has 5,000: keep fewer in flight, reading the oldest ack first.
        const IN_FLIGHT: usize = 1_024;
        let mut pending = std::collections::VecDeque::with_capacity(IN_FLIGHT);
        let mut acks = Vec::with_capacity(msgs.len());
        let finish = |(stream, subject, ack): (
            Stream,
            String,
            async_nats::jetstream::context::PublishAckFuture,
        )| async move {
            let ack = ack.await.map_err(|e| match e.kind() {
                PublishErrorKind::StreamNotFound => missing_stream(stream, &"stream not found")
                    .unwrap_or(BusError::NoStream(subject)),
                _ => backend(e),
            })?;
            Ok::<_, BusError>(PublishAck {
                stream,
                seq: ack.sequence,
                duplicate: ack.duplicate,
            })
        };
        for m in msgs {
            if pending.len() == IN_FLIGHT
                && let Some(oldest) = pending.pop_front()
            {
                acks.push(finish(oldest).await?);
            }
            let stream = super::route(&m.subject)?;
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", m.msg_id.as_str());
            let ack = self
                .js
                .publish_with_headers(m.subject.clone(), headers, m.payload)
                .await
                .map_err(backend)?;
            pending.push_back((stream, m.subject, ack));
        }
        for p in pending {
            acks.push(finish(p).await?);
        }
        Ok(acks)
    }

    async fn consumer(
        &self,
        stream: Stream,
        name: &str,
        filter: &str,
        opts: ConsumerOptions,
    ) -> Result<Box<dyn Consumer>, BusError> {
        let s = self.bind(stream).await?;
        // A filter of the stream's whole namespace takes the stream whole
        // (no filter), so that messages of any subject shape it holds reach
        // the consumer and are dead-lettered, never left behind.
        let whole = stream
            .subjects()
            .first()
            .and_then(|p| p.split_once(".*"))
            .is_some_and(|(ns, _)| filter == format!("{ns}.>"));
        let config = pull::Config {
            durable_name: Some(name.to_string()),
            filter_subject: if whole {
                String::new()
            } else {
                filter_for(stream, filter)
            },
            ack_policy: AckPolicy::Explicit,
            ack_wait: opts.ack_wait,
            max_deliver: opts.max_deliver.map_or(-1, i64::from),
            // The server's default (1,000) is below one worker batch; a
            // pull for more than may be pending would wait until it expires.
            max_ack_pending: MAX_ACK_PENDING,
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        };
        // Messages that reach max_deliver are announced on this advisory;
        // listen before the consumer exists so that none is missed.
        // (Only when deliveries are bounded: an agent's credentials need
        // no right to advisories.)
        let advisories = match opts.max_deliver {
            Some(_) => Some(
                self.client
                    .subscribe(format!(
                        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.{name}",
                        stream.name()
                    ))
                    .await
                    .map_err(backend)?,
            ),
            None => None,
        };
        // Create, or update an existing durable to the asked-for settings.
        let consumer = match s.create_consumer(config.clone()).await {
            Ok(c) => c,
            // No answer at all: the server dropped a request this user may
            // not send (asking again would only wait again).
            Err(e) if e.kind() == ConsumerErrorKind::TimedOut => {
                return Err(BusError::Backend(format!(
                    "NATS did not answer the creation of consumer {name} on {}: may these credentials publish to $JS.API.CONSUMER.CREATE.{}.{name}.>?",
                    stream.name(),
                    stream.name()
                )));
            }
            Err(first) => s
                .get_or_create_consumer(name, config)
                .await
                .map_err(|e| missing_stream(stream, &first).unwrap_or_else(|| backend(e)))?,
        };
        let info = consumer.cached_info();
        let more = info.num_pending > 0 || info.num_ack_pending > 0;
        Ok(Box::new(NatsConsumer {
            consumer,
            client: self.client.clone(),
            stream: s,
            advisories,
            more,
        }))
    }

    async fn follow(
        &self,
        stream: Stream,
        filter: &str,
        from_seq: u64,
    ) -> Result<Box<dyn Follower>, BusError> {
        let s = self.bind(stream).await?;
        let deliver_policy = if from_seq <= 1 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: from_seq,
            }
        };
        // Named, so that the create request carries its filter in its
        // subject (`$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`),
        // which is what a permission scoped to one tenant can allow.
        let inbox = self.client.new_inbox();
        let unique = inbox.rsplit('.').next().unwrap_or(&inbox);
        let name = format!("vigie_follow_{unique}");
        let messages = s
            .create_consumer(pull::OrderedConfig {
                name: Some(name),
                filter_subject: filter_for(stream, filter),
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(|e| missing_stream(stream, &e).unwrap_or_else(|| backend(e)))?
            .messages()
            .await
            .map_err(backend)?;
        Ok(Box::new(NatsFollower {
            messages: tokio::sync::Mutex::new(messages),
        }))
    }

    async fn last_seq(&self, stream: Stream) -> Result<u64, BusError> {
        let mut s = self.js.get_stream(stream.name()).await.map_err(backend)?;
        Ok(s.info().await.map_err(backend)?.state.last_sequence)
    }

    async fn request(
        &self,
        subj: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, BusError> {
        super::check_request_subject(subj)?;
        let req = async_nats::Request::new()
            .payload(payload)
            .timeout(Some(timeout));
        match self.client.send_request(subj.to_string(), req).await {
            Ok(m) => Ok(m.payload),
            Err(e) => Err(match e.kind() {
                RequestErrorKind::NoResponders => BusError::NoResponders(subj.to_string()),
                RequestErrorKind::TimedOut => BusError::Timeout(subj.to_string()),
                _ => backend(e),
            }),
        }
    }

    async fn serve(&self, subj: &str, queue: &str) -> Result<Box<dyn Service>, BusError> {
        let sub = self
            .client
            .queue_subscribe(subj.to_string(), queue.to_string())
            .await
            .map_err(backend)?;
        // Make sure the server has the subscription before anyone asks.
        self.client.flush().await.map_err(backend)?;
        Ok(Box::new(NatsService {
            sub,
            client: self.client.clone(),
        }))
    }
}

struct NatsConsumer {
    consumer: jetstream::consumer::Consumer<pull::Config>,
    client: Client,
    stream: jetstream::stream::Stream<()>,
    advisories: Option<async_nats::Subscriber>,
    /// More messages are known to wait: the last one delivered said others
    /// were pending after it, or was a redelivery (they come in groups).
    more: bool,
}

/// The part of a max-deliveries advisory the worker needs.
#[derive(serde::Deserialize)]
struct MaxDeliveries {
    stream_seq: u64,
    deliveries: u64,
}

/// A delivery, and whether more messages wait after it.
fn delivery(m: jetstream::Message) -> Result<(Delivery, bool), BusError> {
    let info = m.info().map_err(backend)?;
    let (seq, delivered) = (info.stream_sequence, info.delivered);
    let more = info.pending > 0 || delivered > 1;
    let reply = m.reply.as_ref().map(|r| r.to_string());
    let d = Delivery {
        subject: m.subject.to_string(),
        payload: m.payload.clone(),
        delivered: u32::try_from(delivered).unwrap_or(u32::MAX),
        token: AckToken {
            stream_seq: seq,
            reply,
        },
    };
    Ok((d, more))
}

impl NatsConsumer {
    async fn take(
        &mut self,
        max: usize,
        wait: Option<Duration>,
    ) -> Result<Vec<Delivery>, BusError> {
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        let mut batch = match wait {
            // Wait for the first message only: the pull request is complete
            // once it is delivered, so nothing is left in flight.
            Some(w) => self
                .consumer
                .batch()
                .max_messages(1)
                .expires(w.max(Duration::from_millis(10)))
                .messages()
                .await
                .map_err(backend)?,
            None => self
                .consumer
                .fetch()
                .max_messages(max.min(usize::try_from(MAX_ACK_PENDING).unwrap_or(usize::MAX)))
                .expires(PULL_EXPIRES)
                .messages()
                .await
                .map_err(backend)?,
        };
        let mut more = false;
        while let Some(m) = batch.next().await {
            let (d, after) = delivery(m.map_err(backend)?)?;
            more = after;
            out.push(d);
        }
        self.more = more;
        Ok(out)
    }
}

#[async_trait]
impl Consumer for NatsConsumer {
    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let mut out = if self.more {
            self.take(max, None).await?
        } else {
            Vec::new()
        };
        if out.is_empty() {
            out = self.take(1, Some(wait)).await?;
            if self.more && max > 1 {
                out.extend(self.take(max - 1, None).await?);
            }
        }
        Ok(out)
    }

    async fn ack(&mut self, tokens: &[AckToken]) -> Result<(), BusError> {
        for t in tokens {
            if let Some(reply) = &t.reply {
                self.client
                    .publish(reply.clone(), Bytes::from(AckKind::Ack))
                    .await
                    .map_err(backend)?;
            }
        }
        // The acks are on the wire before the caller goes on.
        self.client.flush().await.map_err(backend)
    }

    async fn nak(&mut self, token: &AckToken, delay: Duration) -> Result<(), BusError> {
        if let Some(reply) = &token.reply {
            self.client
                .publish(reply.clone(), Bytes::from(AckKind::Nak(Some(delay))))
                .await
                .map_err(backend)?;
            self.client.flush().await.map_err(backend)?;
        }
        Ok(())
    }

    async fn pending(&mut self) -> Result<u64, BusError> {
        let info = self.consumer.info().await.map_err(backend)?;
        Ok(info.num_pending + info.num_ack_pending as u64)
    }

    async fn exhausted(&mut self) -> Result<Vec<Delivery>, BusError> {
        use futures_util::FutureExt as _;
        let mut out = Vec::new();
        let Some(advisories) = self.advisories.as_mut() else {
            return Ok(out);
        };
        while let Some(Some(advisory)) = advisories.next().now_or_never() {
            let Ok(a) = serde_json::from_slice::<MaxDeliveries>(&advisory.payload) else {
                tracing::warn!("unreadable max-deliveries advisory");
                continue;
            };
            // The message itself, from the stream (it is still there: the
            // telemetry stream keeps messages by limits, not by acks).
            let m = match self.stream.get_raw_message(a.stream_seq).await {
                Ok(m) => m,
                Err(e) => {
                    // Aged out of the stream already: nothing left to keep.
                    tracing::error!(
                        stream_seq = a.stream_seq,
                        error = %e,
                        "a message given up at max_deliver is no longer in the stream"
                    );
                    continue;
                }
            };
            out.push(Delivery {
                subject: m.subject.to_string(),
                payload: m.payload,
                delivered: u32::try_from(a.deliveries).unwrap_or(u32::MAX),
                token: AckToken {
                    stream_seq: a.stream_seq,
                    reply: None,
                },
            });
        }
        Ok(out)
    }
}

struct NatsFollower {
    messages: tokio::sync::Mutex<pull::Ordered>,
}

#[async_trait]
impl Follower for NatsFollower {
    async fn next(&mut self) -> Option<StreamMessage> {
        let mut messages = self.messages.lock().await;
        loop {
            match messages.next().await? {
                Ok(m) => {
                    let Ok(info) = m.info() else { continue };
                    return Some(StreamMessage {
                        seq: info.stream_sequence,
                        subject: m.subject.to_string(),
                        payload: m.payload.clone(),
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "ordered consumer interrupted; it resumes by itself");
                }
            }
        }
    }
}

struct NatsService {
    sub: async_nats::Subscriber,
    client: Client,
}

struct NatsReply {
    client: Client,
    reply: Option<async_nats::Subject>,
}

#[async_trait]
impl Reply for NatsReply {
    async fn send(self: Box<Self>, payload: Bytes) -> Result<(), BusError> {
        let Some(reply) = self.reply else {
            return Ok(());
        };
        self.client.publish(reply, payload).await.map_err(backend)?;
        self.client.flush().await.map_err(backend)
    }
}

#[async_trait]
impl Service for NatsService {
    async fn next(&mut self) -> Option<Request> {
        let m = self.sub.next().await?;
        let reply_to = match &m.reply {
            Some(r) => ReplyTo::Subject(r.to_string()),
            // Nowhere to answer: the service sees an empty subject, which
            // no inbox prefix admits.
            None => ReplyTo::Subject(String::new()),
        };
        Some(Request {
            subject: m.subject.to_string(),
            payload: m.payload,
            reply_to,
            reply: Box::new(NatsReply {
                client: self.client.clone(),
                reply: m.reply,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_spelled_to_the_stream_length() {
        assert_eq!(
            filter_for(Stream::Telemetry, "vigie.tel.>"),
            "vigie.tel.*.*.*"
        );
        assert_eq!(
            filter_for(Stream::Telemetry, "vigie.tel.acme.>"),
            "vigie.tel.acme.*.*"
        );
        assert_eq!(filter_for(Stream::Events, "vigie.evt.>"), "vigie.evt.*.*");
        assert_eq!(
            filter_for(Stream::Events, "vigie.evt.acme.device"),
            "vigie.evt.acme.device"
        );
        assert_eq!(filter_for(Stream::Dlq, "vigie.dlq.>"), "vigie.dlq.*");
    }
}
