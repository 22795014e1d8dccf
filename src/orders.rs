//! Signed configuration orders, worker → agent: the keys that sign them,
//! their canonical bytes, and the agent's checks (signature, key id,
//! target, sequence, expiry). Pure apart from the key files.
//!
//! The wire format and the canonical bytes are specified in
//! docs/PROTOCOL.md ("Orders").

pub mod keys;
pub mod order;

pub use keys::{KeyError, KeyId, SigningKey, TrustedKeys};
pub use order::{Order, OrderKind, Rejection, SignedOrder, verify};
