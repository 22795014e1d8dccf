//! Types and pure state machines. Nothing here performs IO or reads a clock:
//! every function that needs the time takes it as a parameter.

pub mod access;
pub mod alert;
pub mod audit;
pub mod device;
pub mod ids;
pub mod incident;
pub mod link;
pub mod model;
pub mod push;
pub mod redact;
pub mod series;
pub mod text;

pub use ids::{Id, IdError};
pub use text::{LongText, SafeBlock, SafeText};
