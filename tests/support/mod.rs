#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod adversary;
pub mod auth;
pub mod bus_contract;
pub mod certs;
pub mod cli;
pub mod cluster;
pub mod console;
pub mod hec;
pub mod nats_client;
pub mod outbox;
pub mod receiver;
pub mod services;
pub mod storage_outbound;
pub mod storage_suite;
