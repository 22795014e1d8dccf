//! The bus contract on a real NATS server with JetStream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use vigie::bus::Bus;
use vigie::bus::nats::NatsBus;

async fn make() -> Option<Arc<dyn Bus>> {
    let url = support::services::nats_url();
    match NatsBus::connect_and_setup(&url).await {
        Ok(bus) => Some(Arc::new(bus)),
        Err(e) => support::services::unavailable("NATS JetStream", e),
    }
}

bus_contract!(make());

#[tokio::test]
async fn streams_have_explicit_subjects_and_limits() {
    let Some(_) = make().await else { return };
    let client = async_nats::connect(support::services::nats_url())
        .await
        .unwrap();
    let js = async_nats::jetstream::new(client);
    for s in vigie::bus::Stream::ALL {
        let mut stream = js.get_stream(s.name()).await.unwrap();
        let info = stream.info().await.unwrap();
        assert_eq!(
            info.config.subjects,
            s.subjects()
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(info.config.max_age, vigie::bus::nats::max_age(s));
        assert_eq!(
            info.config.duplicate_window,
            vigie::bus::nats::DUPLICATE_WINDOW
        );
    }
}
