-- Every unique key of a tenant table starts with tenant_id: the audit log's
-- identity and its redelivery key were the last ones that did not.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_dedup_key;
CREATE UNIQUE INDEX audit_dedup ON audit_log (tenant_id, dedup);

-- The audit log is append-only for the roles vigie works as: entries are
-- added, never changed or removed (its head row moves, the entries stay).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM vigie_app, vigie_provider;
