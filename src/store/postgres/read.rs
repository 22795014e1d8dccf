//! Reads on PostgreSQL: the queries shared with SQLite.

use sqlx::postgres::{PgArguments, PgRow};

type Db = sqlx::Postgres;
type DbRow = PgRow;
type Conn = <sqlx::Postgres as sqlx::Database>::Connection;
type Args = PgArguments;
type Pool = sqlx::PgPool;

/// PostgreSQL numbers its placeholders.
fn dialect(sql: String) -> String {
    crate::store::dialect::numbered(&sql)
}

include!("../shared/read.rs");
include!("../shared/detail.rs");
include!("../shared/push.rs");
include!("../shared/admin.rs");
include!("../shared/inventory.rs");
include!("../shared/enrolment.rs");
include!("../shared/outbound.rs");
