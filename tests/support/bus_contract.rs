//! The bus contract: every `Bus` implementation must pass these. Each case
//! uses its own tenant token, so cases can share one server.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use vigie::bus::{Bus, BusError, ConsumerOptions, OutMessage, Stream};

/// A token unique to this test run and case.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}{:x}{}",
        nanos % 0xffff_ffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn tel(t: &str, n: u32) -> String {
    format!("vigie.tel.{t}.dev{n}.metrics")
}

/// Publishes messages "0".."n-1" on tenant `t`'s telemetry subjects.
async fn publish_n(bus: &Arc<dyn Bus>, t: &str, n: u32) {
    for i in 0..n {
        bus.publish(&tel(t, i), &format!("{t}-{i}"), Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
}

/// A new durable consumer of tenant `t`'s telemetry.
async fn consumer_of(
    bus: &Arc<dyn Bus>,
    t: &str,
    opts: ConsumerOptions,
) -> Box<dyn vigie::bus::Consumer> {
    bus.consumer(
        Stream::Telemetry,
        &unique("c"),
        &format!("vigie.tel.{t}.>"),
        opts,
    )
    .await
    .unwrap()
}

fn bodies(d: &[vigie::bus::Delivery]) -> Vec<String> {
    d.iter()
        .map(|d| String::from_utf8_lossy(&d.payload).to_string())
        .collect()
}

pub async fn publish_dedupes_by_id(bus: Arc<dyn Bus>) {
    let t = unique("t");
    let a = bus
        .publish(&tel(&t, 1), &format!("{t}-a"), Bytes::from_static(b"1"))
        .await
        .unwrap();
    let again = bus
        .publish(&tel(&t, 1), &format!("{t}-a"), Bytes::from_static(b"1"))
        .await
        .unwrap();
    let b = bus
        .publish(&tel(&t, 1), &format!("{t}-b"), Bytes::from_static(b"2"))
        .await
        .unwrap();
    assert_eq!(a.stream, Stream::Telemetry);
    assert!(!a.duplicate);
    assert!(again.duplicate);
    assert_eq!(again.seq, a.seq);
    assert!(b.seq > a.seq);
    assert!(bus.last_seq(Stream::Telemetry).await.unwrap() >= b.seq);
}

pub async fn publish_all_keeps_order_and_dedupes(bus: Arc<dyn Bus>) {
    let t = unique("t");
    let msgs: Vec<OutMessage> = ["a", "b", "a", "c"]
        .iter()
        .map(|id| OutMessage {
            subject: tel(&t, 1),
            msg_id: format!("{t}-{id}"),
            payload: Bytes::from(id.to_string()),
        })
        .collect();
    let acks = bus.publish_all(msgs).await.unwrap();
    assert_eq!(acks.len(), 4);
    assert!(acks[0].seq < acks[1].seq && acks[1].seq < acks[3].seq);
    assert!(acks[2].duplicate);
    assert_eq!(acks[2].seq, acks[0].seq);
    let mut c = consumer_of(&bus, &t, ConsumerOptions::default()).await;
    let got = c.fetch(10, Duration::from_secs(2)).await.unwrap();
    let bodies: Vec<&[u8]> = got.iter().map(|d| &d.payload[..]).collect();
    assert_eq!(bodies, vec![&b"a"[..], b"b", b"c"]);
    // More than a client keeps acks in flight at once.
    let many: Vec<OutMessage> = (0..6_000)
        .map(|i| OutMessage {
            subject: tel(&t, 2),
            msg_id: format!("{t}-many-{i}"),
            payload: Bytes::from_static(b"m"),
        })
        .collect();
    let acks = tokio::time::timeout(Duration::from_secs(60), bus.publish_all(many))
        .await
        .expect("publish_all of 6,000 finishes")
        .unwrap();
    assert_eq!(acks.len(), 6_000);
    assert!(acks.windows(2).all(|w| w[0].seq < w[1].seq));
}

pub async fn publish_refuses_bad_subjects(bus: Arc<dyn Bus>) {
    let e = bus
        .publish("vigie.nowhere.x", "id-1", Bytes::new())
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::NoStream(_)), "{e:?}");
    let e = bus
        .publish("vigie.tel.*.d.metrics", "id-2", Bytes::new())
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::InvalidSubject(_)), "{e:?}");
}

pub async fn durable_consumer_delivers_in_order_and_ack_is_final(bus: Arc<dyn Bus>) {
    let t = unique("t");
    publish_n(&bus, &t, 5).await;
    let mut c = consumer_of(&bus, &t, ConsumerOptions::default()).await;
    let got = c.fetch(10, Duration::from_secs(2)).await.unwrap();
    let bodies = bodies(&got);
    assert_eq!(bodies, ["0", "1", "2", "3", "4"]);
    assert!(got.iter().all(|d| d.delivered == 1));
    let tokens: Vec<_> = got.iter().map(|d| d.token.clone()).collect();
    c.ack(&tokens).await.unwrap();
    let again = c.fetch(10, Duration::from_millis(300)).await.unwrap();
    assert!(again.is_empty(), "{} redelivered after ack", again.len());
}

pub async fn unacked_messages_come_back_with_a_delivery_count(bus: Arc<dyn Bus>) {
    let t = unique("t");
    publish_n(&bus, &t, 3).await;
    let opts = ConsumerOptions {
        ack_wait: Duration::from_millis(400),
        max_deliver: None,
    };
    let mut c = consumer_of(&bus, &t, opts).await;
    let first = c.fetch(10, Duration::from_secs(2)).await.unwrap();
    assert_eq!(first.len(), 3);
    c.ack(&[first[0].token.clone()]).await.unwrap();
    let mut again = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while again.len() < 2 && std::time::Instant::now() < deadline {
        again.extend(c.fetch(10, Duration::from_millis(500)).await.unwrap());
    }
    let bodies = bodies(&again);
    assert_eq!(bodies, ["1", "2"]);
    assert!(again.iter().all(|d| d.delivered == 2), "{again:?}");
}

pub async fn nak_redelivers_after_the_delay(bus: Arc<dyn Bus>) {
    let t = unique("t");
    bus.publish(&tel(&t, 0), &format!("{t}-0"), Bytes::from_static(b"x"))
        .await
        .unwrap();
    let mut c = consumer_of(&bus, &t, ConsumerOptions::default()).await;
    let d = c.fetch(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(d.len(), 1);
    c.nak(&d[0].token, Duration::from_millis(100))
        .await
        .unwrap();
    let again = c.fetch(1, Duration::from_secs(3)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivered, 2);
}

pub async fn max_deliver_gives_up(bus: Arc<dyn Bus>) {
    let t = unique("t");
    bus.publish(&tel(&t, 0), &format!("{t}-0"), Bytes::from_static(b"x"))
        .await
        .unwrap();
    let opts = ConsumerOptions {
        ack_wait: Duration::from_millis(200),
        max_deliver: Some(2),
    };
    let mut c = consumer_of(&bus, &t, opts).await;
    let mut deliveries = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        deliveries += c.fetch(1, Duration::from_millis(300)).await.unwrap().len();
    }
    assert_eq!(deliveries, 2);
}

pub async fn exhausted_messages_are_reported_once(bus: Arc<dyn Bus>) {
    let t = unique("t");
    bus.publish(
        &tel(&t, 0),
        &format!("{t}-0"),
        Bytes::from_static(b"poison"),
    )
    .await
    .unwrap();
    let opts = ConsumerOptions {
        ack_wait: Duration::from_millis(200),
        max_deliver: Some(2),
    };
    let mut c = consumer_of(&bus, &t, opts).await;
    assert_eq!(c.pending().await.unwrap(), 1);
    let mut given_up = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while given_up.is_empty() && std::time::Instant::now() < deadline {
        let _ = c.fetch(1, Duration::from_millis(300)).await.unwrap();
        given_up.extend(c.exhausted().await.unwrap());
    }
    assert_eq!(given_up.len(), 1, "the message given up is reported");
    assert_eq!(&given_up[0].payload[..], b"poison");
    assert_eq!(given_up[0].subject, tel(&t, 0));
    assert_eq!(given_up[0].delivered, 2);
    assert!(c.exhausted().await.unwrap().is_empty(), "reported once");
}

pub async fn durable_consumer_resumes_by_name(bus: Arc<dyn Bus>) {
    let t = unique("t");
    let name = unique("c");
    let filter = format!("vigie.tel.{t}.>");
    publish_n(&bus, &t, 4).await;
    {
        let mut c = bus
            .consumer(
                Stream::Telemetry,
                &name,
                &filter,
                ConsumerOptions::default(),
            )
            .await
            .unwrap();
        let got = c.fetch(2, Duration::from_secs(2)).await.unwrap();
        assert_eq!(got.len(), 2);
        let tokens: Vec<_> = got.iter().map(|d| d.token.clone()).collect();
        c.ack(&tokens).await.unwrap();
    }
    let mut c = bus
        .consumer(
            Stream::Telemetry,
            &name,
            &filter,
            ConsumerOptions::default(),
        )
        .await
        .unwrap();
    let rest = c.fetch(10, Duration::from_secs(2)).await.unwrap();
    let bodies = bodies(&rest);
    assert_eq!(bodies, ["2", "3"]);
}

pub async fn consumer_filter_selects_subjects(bus: Arc<dyn Bus>) {
    let t = unique("t");
    bus.publish(
        &format!("vigie.tel.{t}.a.metrics"),
        &format!("{t}-1"),
        Bytes::from_static(b"a"),
    )
    .await
    .unwrap();
    bus.publish(
        &format!("vigie.tel.{t}.b.heartbeat"),
        &format!("{t}-2"),
        Bytes::from_static(b"b"),
    )
    .await
    .unwrap();
    let mut c = bus
        .consumer(
            Stream::Telemetry,
            &unique("c"),
            &format!("vigie.tel.{t}.*.heartbeat"),
            ConsumerOptions::default(),
        )
        .await
        .unwrap();
    let got = c.fetch(10, Duration::from_millis(800)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, format!("vigie.tel.{t}.b.heartbeat"));
}

async fn next(f: &mut Box<dyn vigie::bus::Follower>) -> vigie::bus::StreamMessage {
    tokio::time::timeout(Duration::from_secs(3), f.next())
        .await
        .expect("a message within 3 s")
        .expect("the stream is open")
}

pub async fn follow_starts_at_a_sequence_and_stays_live(bus: Arc<dyn Bus>) {
    let t = unique("t");
    let subject = format!("vigie.evt.{t}.device");
    let mut seqs = Vec::new();
    for i in 0..3u32 {
        seqs.push(
            bus.publish(&subject, &format!("{t}-{i}"), Bytes::from(i.to_string()))
                .await
                .unwrap()
                .seq,
        );
    }
    let mut f = bus
        .follow(Stream::Events, &format!("vigie.evt.{t}.>"), seqs[1])
        .await
        .unwrap();
    let m = next(&mut f).await;
    assert_eq!((m.seq, &m.payload[..]), (seqs[1], &b"1"[..]));
    let m = next(&mut f).await;
    assert_eq!((m.seq, &m.payload[..]), (seqs[2], &b"2"[..]));
    let later = bus
        .publish(&subject, &format!("{t}-3"), Bytes::from_static(b"3"))
        .await
        .unwrap();
    let m = next(&mut f).await;
    assert_eq!((m.seq, &m.payload[..]), (later.seq, &b"3"[..]));
}

/// Request/reply cases use `vigie.contract.*` subjects, which no vigie
/// service answers, so they can run beside a live worker.
pub async fn request_reply_and_errors(bus: Arc<dyn Bus>) {
    let t = unique("t");
    let mut svc = bus
        .serve(&format!("vigie.contract.{t}.*"), "q")
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Some(req) = svc.next().await {
            if req.subject.ends_with(".echo") {
                let body = [b"echo:".as_slice(), &req.payload].concat();
                req.reply.send(Bytes::from(body)).await.unwrap();
            }
            // Other verbs get no answer: the caller times out.
        }
    });
    let answer = bus
        .request(
            &format!("vigie.contract.{t}.echo"),
            Bytes::from_static(b"hi"),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(&answer[..], b"echo:hi");
    let e = bus
        .request(
            &format!("vigie.contract.{t}.silent"),
            Bytes::new(),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::Timeout(_)), "{e:?}");
    let e = bus
        .request(
            &format!("vigie.contract.{}.echo", unique("nobody")),
            Bytes::new(),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::NoResponders(_)), "{e:?}");
}

pub async fn queue_group_members_share_requests(bus: Arc<dyn Bus>) {
    let t = unique("t");
    let counts = Arc::new([
        std::sync::atomic::AtomicU32::new(0),
        std::sync::atomic::AtomicU32::new(0),
    ]);
    for member in 0..2 {
        let mut svc = bus
            .serve(&format!("vigie.contract.{t}.*"), "workers")
            .await
            .unwrap();
        let counts = Arc::clone(&counts);
        tokio::spawn(async move {
            while let Some(req) = svc.next().await {
                counts[member].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                req.reply.send(Bytes::from_static(b"ok")).await.unwrap();
            }
        });
    }
    for _ in 0..20 {
        bus.request(
            &format!("vigie.contract.{t}.ping"),
            Bytes::new(),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    }
    let a = counts[0].load(std::sync::atomic::Ordering::SeqCst);
    let b = counts[1].load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(a + b, 20, "each request answered exactly once");
}

/// Generates one `#[tokio::test]` per contract case for a bus factory.
#[macro_export]
macro_rules! bus_contract {
    ($make:expr) => {
        $crate::bus_contract!(@cases $make;
            publish_dedupes_by_id, publish_all_keeps_order_and_dedupes, publish_refuses_bad_subjects,
            durable_consumer_delivers_in_order_and_ack_is_final,
            unacked_messages_come_back_with_a_delivery_count, nak_redelivers_after_the_delay,
            max_deliver_gives_up, exhausted_messages_are_reported_once, durable_consumer_resumes_by_name, consumer_filter_selects_subjects,
            follow_starts_at_a_sequence_and_stays_live, request_reply_and_errors,
            queue_group_members_share_requests);
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // `None`: the service is not there and this is not CI.
                let Some(bus) = $make.await else { return };
                support::bus_contract::$case(bus).await;
            }
        )*
    };
}
