//! Schema migrations, embedded in the binary and applied in order. Each runs
//! in its own transaction and is recorded in `vigie_migrations`.

/// One migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The SQLite migrations.
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "leases",
        sql: include_str!("../../migrations/sqlite/0002_leases.sql"),
    },
    Migration {
        version: 3,
        name: "pushes",
        sql: include_str!("../../migrations/sqlite/0003_pushes.sql"),
    },
    Migration {
        version: 4,
        name: "security",
        sql: include_str!("../../migrations/sqlite/0004_security.sql"),
    },
    Migration {
        version: 5,
        name: "snooze",
        sql: include_str!("../../migrations/sqlite/0005_snooze.sql"),
    },
    Migration {
        version: 6,
        name: "tenant keys",
        sql: include_str!("../../migrations/sqlite/0006_tenant_keys.sql"),
    },
    Migration {
        version: 7,
        name: "order seqs",
        sql: include_str!("../../migrations/sqlite/0007_order_seqs.sql"),
    },
    Migration {
        version: 8,
        name: "installation roles",
        sql: include_str!("../../migrations/sqlite/0008_installation_roles.sql"),
    },
    Migration {
        version: 9,
        name: "samples by time",
        sql: include_str!("../../migrations/sqlite/0009_samples_by_time.sql"),
    },
    Migration {
        version: 10,
        name: "enrolments",
        sql: include_str!("../../migrations/sqlite/0010_enrolments.sql"),
    },
    Migration {
        version: 11,
        name: "outbound",
        sql: include_str!("../../migrations/sqlite/0011_outbound.sql"),
    },
    Migration {
        version: 12,
        name: "outbox acks",
        sql: include_str!("../../migrations/sqlite/0012_outbox_acks.sql"),
    },
];

/// The PostgreSQL migrations: the same versions as SQLite's.
pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "leases",
        sql: include_str!("../../migrations/postgres/0002_leases.sql"),
    },
    Migration {
        version: 3,
        name: "pushes",
        sql: include_str!("../../migrations/postgres/0003_pushes.sql"),
    },
    Migration {
        version: 4,
        name: "security",
        sql: include_str!("../../migrations/postgres/0004_security.sql"),
    },
    Migration {
        version: 5,
        name: "snooze",
        sql: include_str!("../../migrations/postgres/0005_snooze.sql"),
    },
    Migration {
        version: 6,
        name: "tenant keys",
        sql: include_str!("../../migrations/postgres/0006_tenant_keys.sql"),
    },
    Migration {
        version: 7,
        name: "order seqs",
        sql: include_str!("../../migrations/postgres/0007_order_seqs.sql"),
    },
    Migration {
        version: 8,
        name: "installation roles",
        sql: include_str!("../../migrations/postgres/0008_installation_roles.sql"),
    },
    Migration {
        version: 9,
        name: "samples by time",
        sql: include_str!("../../migrations/postgres/0009_samples_by_time.sql"),
    },
    Migration {
        version: 10,
        name: "enrolments",
        sql: include_str!("../../migrations/postgres/0010_enrolments.sql"),
    },
    Migration {
        version: 11,
        name: "outbound",
        sql: include_str!("../../migrations/postgres/0011_outbound.sql"),
    },
    Migration {
        version: 12,
        name: "outbox acks",
        sql: include_str!("../../migrations/postgres/0012_outbox_acks.sql"),
    },
];

/// Splits a migration into statements (on `;` at line ends; the files keep
/// one statement per `;`-terminated block and no `;` inside literals).
pub fn statements(sql: &str) -> impl Iterator<Item = String> + '_ {
    let mut current = String::new();
    let mut out = Vec::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out.into_iter()
}
