//! The bus contract on the in-process bus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use vigie::bus::Bus;
use vigie::bus::memory::MemoryBus;

async fn make() -> Option<Arc<dyn Bus>> {
    Some(Arc::new(MemoryBus::default()))
}

bus_contract!(make());
