-- Users, the provider's tier, the audit log as a hash chain per tenant, and
-- row-level security on every tenant table.

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
    name          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id     TEXT COLLATE "C" REFERENCES tenants(id),
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
    tenant_id TEXT COLLATE "C" PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL
);

-- Two roles that own nothing (see docs/OPERATIONS.md): vigie_app lacks
-- BYPASSRLS and serves one tenant at a time, named per transaction by
-- set_config('app.tenant_id', …, true); vigie_provider runs the
-- provider-wide jobs (ingest, deadlines, sweeps, provider-wide users) and
-- may bypass RLS, as COPY into a table with RLS requires. Creating it
-- needs a superuser, or a DBA who made both roles beforehand.
-- Roles belong to the cluster, so several vigie databases share them.
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigie_app') THEN CREATE ROLE vigie_app NOLOGIN NOBYPASSRLS; END IF; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigie_provider') THEN CREATE ROLE vigie_provider NOLOGIN BYPASSRLS; END IF; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN IF NOT (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'vigie_provider') THEN ALTER ROLE vigie_provider BYPASSRLS; END IF; EXCEPTION WHEN insufficient_privilege THEN RAISE WARNING 'vigie_provider lacks BYPASSRLS and this user cannot grant it: ingest will fail (see docs/OPERATIONS.md)'; END $$;
DO $$ BEGIN IF (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'vigie_app') THEN ALTER ROLE vigie_app NOBYPASSRLS; END IF; END $$;
GRANT vigie_app, vigie_provider TO CURRENT_USER;
DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO vigie_app, vigie_provider', current_schema()); END $$;

-- Every table with a tenant_id (and tenants itself): RLS enabled and
-- forced, one policy for the tenant named by the transaction, one for the
-- provider role. Partitions are never granted: rows are reached through
-- their parent table, whose policies apply.
DO $$ DECLARE t text; col text; BEGIN FOR t, col IN SELECT c.relname, CASE WHEN c.relname = 'tenants' THEN 'id' ELSE 'tenant_id' END FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND (c.relname = 'tenants' OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)) LOOP EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t); EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t); EXECUTE format('CREATE POLICY tenant_rows ON %I TO vigie_app USING (%I = current_setting(''app.tenant_id'', true)) WITH CHECK (%I = current_setting(''app.tenant_id'', true))', t, col, col); EXECUTE format('CREATE POLICY provider_rows ON %I TO vigie_provider USING (true) WITH CHECK (true)', t); EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO vigie_app, vigie_provider', t); END LOOP; END $$;

-- Partitions: RLS on as well, with no policy and no grant, so that a
-- partition reached directly shows nothing to anyone but its owner.
DO $$ DECLARE t text; BEGIN FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relispartition AND c.relkind = 'r' LOOP EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t); EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t); END LOOP; END $$;

-- Provider tables: only the provider role.
GRANT SELECT, INSERT, UPDATE, DELETE ON provider, vigie_leases, vigie_migrations TO vigie_provider;
GRANT SELECT ON provider TO vigie_app;
DO $$ BEGIN EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO vigie_app, vigie_provider', current_schema()); END $$;
