//! Delivery to the SOC: what leaves vigie and how a sender behaves, as
//! pure data and functions (time is a parameter, randomness an argument).
//!
//! - `event.rs`: the versioned event envelope, its stable id and the
//!   data modes (`full`, `privacy_safe`) with a field allow-list;
//! - `sign.rs`: webhook signatures (vigie's scheme and Standard Webhooks);
//! - `retry.rs`: what a reply means (delivered, retry, permanent),
//!   `Retry-After`, backoff with full jitter;
//! - `breaker.rs`: the per-destination circuit breaker;
//! - `destination.rs`: where events go, which, and how much of each;
//! - `address.rs`: which addresses a destination may not reach.

pub mod address;
pub mod azure;
pub mod breaker;
pub mod cef;
pub mod delivery;
pub mod derive;
pub mod destination;
pub mod event;
pub mod failing;
pub mod hec;
pub mod options;
pub mod retry;
pub mod sign;
pub mod syslog;
