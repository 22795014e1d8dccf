//! Provider administration run on the worker's host against its database:
//! tenants, users, the provider's tier, and the audit log's checks.

pub mod audit;
pub mod enrolment;
pub mod inventory;
pub mod outbound;
pub mod tenants;
pub mod users;
