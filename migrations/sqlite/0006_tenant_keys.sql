-- The audit log's redelivery key, per tenant, as on PostgreSQL (SQLite
-- enforces the tenant in the query layer; its table keeps the older,
-- stricter one-column key as well).
CREATE UNIQUE INDEX audit_dedup ON audit_log (tenant_id, dedup);
