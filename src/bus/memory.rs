//! The in-process bus: the JetStream semantics vigie relies on, in memory.
//!
//! Used by `vigie demo` (no services needed) and by tests. It keeps, per
//! stream: messages up to a limit, a dedupe window on the message id,
//! durable consumers with ack/redelivery/delivery counts, and ordered
//! followers; plus request/reply with queue groups.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{Notify, mpsc, oneshot};

use super::{
    AckToken, Bus, BusError, Consumer, ConsumerOptions, Delivery, Follower, PublishAck, Reply,
    Request, Service, Stream, StreamMessage, subject,
};

/// Size limits of the in-process streams.
#[derive(Debug, Clone, Copy)]
pub struct MemoryLimits {
    /// Messages kept per stream; the oldest go first.
    pub max_msgs: usize,
    /// How long a message id is remembered for deduplication.
    pub dedupe_window: Duration,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        Self {
            max_msgs: 200_000,
            dedupe_window: Duration::from_secs(120),
        }
    }
}

struct Stored {
    subject: String,
    payload: Bytes,
}

struct Pending {
    delivered: u32,
    due: Instant,
}

struct ConsumerState {
    filter: String,
    opts: ConsumerOptions,
    /// Next never-delivered sequence.
    next_seq: u64,
    pending: BTreeMap<u64, Pending>,
    /// Given up at `max_deliver`, not yet reported.
    exhausted: Vec<Delivery>,
}

struct StreamState {
    /// Sequence of `msgs[0]`.
    first_seq: u64,
    last_seq: u64,
    msgs: VecDeque<Stored>,
    dedupe: HashMap<String, u64>,
    dedupe_order: VecDeque<(Instant, String)>,
    consumers: HashMap<String, ConsumerState>,
}

impl StreamState {
    fn new() -> Self {
        Self {
            first_seq: 1,
            last_seq: 0,
            msgs: VecDeque::new(),
            dedupe: HashMap::new(),
            dedupe_order: VecDeque::new(),
            consumers: HashMap::new(),
        }
    }

    fn get(&self, seq: u64) -> Option<&Stored> {
        let idx = seq.checked_sub(self.first_seq)?;
        self.msgs.get(usize::try_from(idx).ok()?)
    }
}

struct StreamSlot {
    state: Mutex<StreamState>,
    notify: Notify,
}

type ServiceTx = mpsc::Sender<Request>;

struct ServiceEntry {
    pattern: String,
    queue: String,
    tx: ServiceTx,
}

struct Inner {
    limits: MemoryLimits,
    streams: [StreamSlot; 4],
    services: Mutex<Vec<ServiceEntry>>,
    round_robin: AtomicUsize,
}

/// The in-process bus. Cloning shares it.
#[derive(Clone)]
pub struct MemoryBus {
    inner: Arc<Inner>,
}

fn index(stream: Stream) -> usize {
    match stream {
        Stream::Telemetry => 0,
        Stream::Events => 1,
        Stream::Orders => 2,
        Stream::Dlq => 3,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new(MemoryLimits::default())
    }
}

impl MemoryBus {
    /// A new, empty bus.
    pub fn new(limits: MemoryLimits) -> Self {
        let slot = || StreamSlot {
            state: Mutex::new(StreamState::new()),
            notify: Notify::new(),
        };
        Self {
            inner: Arc::new(Inner {
                limits,
                streams: [slot(), slot(), slot(), slot()],
                services: Mutex::new(Vec::new()),
                round_robin: AtomicUsize::new(0),
            }),
        }
    }

    fn slot(&self, stream: Stream) -> &StreamSlot {
        &self.inner.streams[index(stream)]
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(
        &self,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<PublishAck, BusError> {
        let stream = super::route(subject)?;
        let slot = self.slot(stream);
        let now = Instant::now();
        let seq = {
            let mut st = lock(&slot.state);
            let window = self.inner.limits.dedupe_window;
            while let Some((t, _)) = st.dedupe_order.front() {
                if now.duration_since(*t) <= window {
                    break;
                }
                if let Some((_, id)) = st.dedupe_order.pop_front() {
                    st.dedupe.remove(&id);
                }
            }
            if let Some(&seq) = st.dedupe.get(msg_id) {
                return Ok(PublishAck {
                    stream,
                    seq,
                    duplicate: true,
                });
            }
            st.last_seq += 1;
            let seq = st.last_seq;
            st.msgs.push_back(Stored {
                subject: subject.to_string(),
                payload,
            });
            while st.msgs.len() > self.inner.limits.max_msgs {
                st.msgs.pop_front();
                st.first_seq += 1;
            }
            st.dedupe.insert(msg_id.to_string(), seq);
            st.dedupe_order.push_back((now, msg_id.to_string()));
            seq
        };
        slot.notify.notify_waiters();
        Ok(PublishAck {
            stream,
            seq,
            duplicate: false,
        })
    }

    async fn consumer(
        &self,
        stream: Stream,
        name: &str,
        filter: &str,
        opts: ConsumerOptions,
    ) -> Result<Box<dyn Consumer>, BusError> {
        {
            let mut st = lock(&self.slot(stream).state);
            let first = st.first_seq;
            let c = st
                .consumers
                .entry(name.to_string())
                .or_insert_with(|| ConsumerState {
                    filter: filter.to_string(),
                    opts,
                    next_seq: first,
                    pending: BTreeMap::new(),
                    exhausted: Vec::new(),
                });
            c.filter = filter.to_string();
            c.opts = opts;
        }
        Ok(Box::new(MemoryConsumer {
            bus: self.clone(),
            stream,
            name: name.to_string(),
        }))
    }

    async fn follow(
        &self,
        stream: Stream,
        filter: &str,
        from_seq: u64,
    ) -> Result<Box<dyn Follower>, BusError> {
        Ok(Box::new(MemoryFollower {
            bus: self.clone(),
            stream,
            filter: filter.to_string(),
            next_seq: from_seq.max(1),
        }))
    }

    async fn last_seq(&self, stream: Stream) -> Result<u64, BusError> {
        Ok(lock(&self.slot(stream).state).last_seq)
    }

    async fn request(
        &self,
        subject: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, BusError> {
        super::check_request_subject(subject)?;
        let tx = {
            let mut services = lock(&self.inner.services);
            services.retain(|s| !s.tx.is_closed());
            let matching: Vec<&ServiceEntry> = services
                .iter()
                .filter(|s| subject::matches(&s.pattern, subject))
                .collect();
            if matching.is_empty() {
                return Err(BusError::NoResponders(subject.to_string()));
            }
            // One member per queue group answers; vigie uses one group per
            // subject, so pick the next member of the first group.
            let group = matching[0].queue.clone();
            let members: Vec<&ServiceEntry> =
                matching.into_iter().filter(|s| s.queue == group).collect();
            let n = self.inner.round_robin.fetch_add(1, Ordering::Relaxed);
            members[n % members.len()].tx.clone()
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        let req = Request {
            subject: subject.to_string(),
            payload,
            reply_to: super::ReplyTo::InProcess,
            reply: Box::new(MemoryReply(reply_tx)),
        };
        tx.send(req)
            .await
            .map_err(|_| BusError::NoResponders(subject.to_string()))?;
        match tokio::time::timeout(timeout, reply_rx).await {
            Ok(Ok(bytes)) => Ok(bytes),
            // The server dropped the request without answering: on NATS the
            // caller would wait out its timeout; the outcome is the same.
            Ok(Err(_)) | Err(_) => Err(BusError::Timeout(subject.to_string())),
        }
    }

    async fn serve(&self, subject: &str, queue: &str) -> Result<Box<dyn Service>, BusError> {
        let (tx, rx) = mpsc::channel(256);
        lock(&self.inner.services).push(ServiceEntry {
            pattern: subject.to_string(),
            queue: queue.to_string(),
            tx,
        });
        Ok(Box::new(MemoryService { rx }))
    }
}

struct MemoryReply(oneshot::Sender<Bytes>);

#[async_trait]
impl Reply for MemoryReply {
    async fn send(self: Box<Self>, payload: Bytes) -> Result<(), BusError> {
        // The requester may have timed out and gone; that is not our error.
        let _ = self.0.send(payload);
        Ok(())
    }
}

struct MemoryService {
    rx: mpsc::Receiver<Request>,
}

#[async_trait]
impl Service for MemoryService {
    async fn next(&mut self) -> Option<Request> {
        self.rx.recv().await
    }
}

struct MemoryConsumer {
    bus: MemoryBus,
    stream: Stream,
    name: String,
}

impl MemoryConsumer {
    /// Takes what is ready now; returns when the earliest pending message
    /// falls due, so a waiting fetch can wake for it.
    fn take_ready(&self, max: usize) -> (Vec<Delivery>, Option<Instant>) {
        let mut st = lock(&self.bus.slot(self.stream).state);
        let now = Instant::now();
        let StreamState {
            first_seq,
            last_seq,
            msgs,
            consumers,
            ..
        } = &mut *st;
        let Some(c) = consumers.get_mut(&self.name) else {
            return (Vec::new(), None);
        };
        let get = |seq: u64| -> Option<&Stored> {
            let idx = seq.checked_sub(*first_seq)?;
            msgs.get(usize::try_from(idx).ok()?)
        };
        let mut out = Vec::new();
        // Redeliveries first, oldest sequence first.
        let due: Vec<u64> = c
            .pending
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(s, _)| *s)
            .take(max)
            .collect();
        for seq in due {
            let Some(msg) = get(seq) else {
                c.pending.remove(&seq);
                continue;
            };
            let Some(p) = c.pending.get_mut(&seq) else {
                continue;
            };
            if c.opts.max_deliver.is_some_and(|m| p.delivered >= m) {
                let delivered = p.delivered;
                c.pending.remove(&seq);
                c.exhausted.push(delivery(msg, seq, delivered));
                continue;
            }
            p.delivered += 1;
            p.due = now + c.opts.ack_wait;
            out.push(delivery(msg, seq, p.delivered));
        }
        if c.next_seq < *first_seq {
            c.next_seq = *first_seq;
        }
        while out.len() < max && c.next_seq <= *last_seq {
            let seq = c.next_seq;
            c.next_seq += 1;
            let Some(msg) = get(seq) else { continue };
            if !subject::matches(&c.filter, &msg.subject) {
                continue;
            }
            c.pending.insert(
                seq,
                Pending {
                    delivered: 1,
                    due: now + c.opts.ack_wait,
                },
            );
            out.push(delivery(msg, seq, 1));
        }
        let next_due = c.pending.values().map(|p| p.due).min();
        (out, next_due)
    }
}

fn delivery(msg: &Stored, seq: u64, delivered: u32) -> Delivery {
    Delivery {
        subject: msg.subject.clone(),
        payload: msg.payload.clone(),
        delivered,
        token: AckToken {
            stream_seq: seq,
            reply: None,
        },
    }
}

#[async_trait]
impl Consumer for MemoryConsumer {
    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let deadline = Instant::now() + wait;
        let slot = self.bus.slot(self.stream);
        loop {
            let notified = slot.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (batch, next_due) = self.take_ready(max.max(1));
            if !batch.is_empty() {
                return Ok(batch);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(batch);
            }
            let wake = next_due.map_or(deadline, |d| d.min(deadline));
            let sleep = wake
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            let _ = tokio::time::timeout(sleep, notified).await;
        }
    }

    async fn ack(&mut self, tokens: &[AckToken]) -> Result<(), BusError> {
        let mut st = lock(&self.bus.slot(self.stream).state);
        if let Some(c) = st.consumers.get_mut(&self.name) {
            for t in tokens {
                c.pending.remove(&t.stream_seq);
            }
        }
        Ok(())
    }

    async fn nak(&mut self, token: &AckToken, delay: Duration) -> Result<(), BusError> {
        {
            let mut st = lock(&self.bus.slot(self.stream).state);
            if let Some(p) = st
                .consumers
                .get_mut(&self.name)
                .and_then(|c| c.pending.get_mut(&token.stream_seq))
            {
                p.due = Instant::now() + delay;
            }
        }
        self.bus.slot(self.stream).notify.notify_waiters();
        Ok(())
    }

    async fn pending(&mut self) -> Result<u64, BusError> {
        let st = lock(&self.bus.slot(self.stream).state);
        let Some(c) = st.consumers.get(&self.name) else {
            return Ok(0);
        };
        let undelivered = st
            .msgs
            .iter()
            .zip(st.first_seq..)
            .filter(|(m, seq)| *seq >= c.next_seq && subject::matches(&c.filter, &m.subject))
            .count() as u64;
        Ok(undelivered + c.pending.len() as u64)
    }

    async fn exhausted(&mut self) -> Result<Vec<Delivery>, BusError> {
        let mut st = lock(&self.bus.slot(self.stream).state);
        Ok(st
            .consumers
            .get_mut(&self.name)
            .map(|c| std::mem::take(&mut c.exhausted))
            .unwrap_or_default())
    }
}

struct MemoryFollower {
    bus: MemoryBus,
    stream: Stream,
    filter: String,
    next_seq: u64,
}

#[async_trait]
impl Follower for MemoryFollower {
    async fn next(&mut self) -> Option<StreamMessage> {
        let slot = self.bus.slot(self.stream);
        loop {
            let notified = slot.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = lock(&slot.state);
                if self.next_seq < st.first_seq {
                    self.next_seq = st.first_seq;
                }
                while self.next_seq <= st.last_seq {
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    if let Some(m) = st.get(seq)
                        && subject::matches(&self.filter, &m.subject)
                    {
                        return Some(StreamMessage {
                            subject: m.subject.clone(),
                            payload: m.payload.clone(),
                            seq,
                        });
                    }
                }
            }
            notified.await;
        }
    }
}
