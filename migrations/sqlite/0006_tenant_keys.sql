-- The audit log's redelivery key, per tenant, as on PostgreSQL (SQLite
-- enforces the tenant in the query layer; its table keeps the older,
-- stricter one-column key as well).
CREATE UNIQUE INDEX audit_dedup ON audit_log (tenant_id, dedup);

-- The audit log is append-only: entries are added, never changed or
-- removed. (Whoever can write the file can drop these; `vigie audit
-- verify` still finds what they did.)
-- (Each trigger on one line: migrations are split at lines ending in ";".)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
