//! Types and pure state machines. Nothing here performs IO or reads a clock:
//! every function that needs the time takes it as a parameter.

pub mod access;
pub mod alert;
pub mod audit;
pub mod device;
pub mod enrolment;
pub mod fleet;
pub mod ids;
pub mod incident;
pub mod length;
pub mod link;
pub mod model;
pub mod names;
pub mod outbound;
pub mod push;
pub mod redact;
pub mod series;
pub mod site;
pub mod table;
pub mod telemetry;
pub mod text;
pub mod threshold;
pub mod user;

pub use ids::{Id, IdError};
pub use names::{enum_name, enum_parse};
pub use text::{LongText, SafeBlock, SafeText};

/// Lower-case hex of `bytes` (digests, fingerprints, random tags).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
