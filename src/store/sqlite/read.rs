//! Reads on SQLite: the queries shared with PostgreSQL.

use sqlx::sqlite::{SqliteArguments, SqliteRow};

type Db = sqlx::Sqlite;
type DbRow = SqliteRow;
type Conn = <sqlx::Sqlite as sqlx::Database>::Connection;
type Args = SqliteArguments;
type Pool = sqlx::SqlitePool;

/// SQLite takes the shared SQL as written.
fn dialect(sql: String) -> String {
    sql
}

include!("../shared/read.rs");
include!("../shared/detail.rs");
include!("../shared/push.rs");
include!("../shared/admin.rs");
include!("../shared/inventory.rs");
include!("../shared/enrolment.rs");
include!("../shared/outbound.rs");
