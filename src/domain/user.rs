//! A user account as the store keeps it and the api lists it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Id;

/// A user account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    /// `None`: provider-wide.
    pub tenant: Option<Id>,
    pub role: crate::domain::access::Role,
    /// Argon2id, in the PHC string format. Never shown.
    #[serde(skip_serializing, default)]
    pub password_hash: String,
    pub disabled: bool,
    pub created: DateTime<Utc>,
    /// When the password, role or state last changed: sessions issued
    /// before it are refused.
    pub changed: DateTime<Utc>,
}
