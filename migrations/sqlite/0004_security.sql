-- Users, the provider's tier, and the audit log as a hash chain per tenant.

CREATE TABLE provider (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    tier TEXT NOT NULL
);
INSERT INTO provider (id, name, tier) VALUES (1, 'provider', 'enterprise');

-- A user belongs to one tenant, or (tenant_id NULL) to the provider and
-- sees every tenant. Tokens issued before `changed` are refused, so a new
-- password or a disabled account takes effect at once.
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants(id),
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created       BIGINT NOT NULL,
    changed       BIGINT NOT NULL
);
CREATE INDEX users_by_tenant ON users (tenant_id, name);

ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_chain ON audit_log (tenant_id, seq);

-- The last entry of each tenant's chain: appends lock this row, and a
-- deleted tail shows as a head that points past the last entry.
CREATE TABLE audit_head (
    tenant_id TEXT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL
);
