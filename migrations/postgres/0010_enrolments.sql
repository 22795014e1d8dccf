-- One-time enrolment codes: `vigie enrol create` stores the SHA-256 of a
-- code bound to one tenant and device (and, to create an unknown device,
-- a site and kind); the worker marks it used, with the agent's public
-- key, the one time it is redeemed. Times are epoch milliseconds.
CREATE TABLE enrolments (
    code_hash  TEXT COLLATE "C" NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    device_id  TEXT COLLATE "C" NOT NULL,
    site_id    TEXT COLLATE "C",
    kind       TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    agent_key  TEXT,
    PRIMARY KEY (tenant_id, code_hash)
);
-- A code is looked up by itself (the agent does not say its tenant).
CREATE INDEX enrolments_code ON enrolments (code_hash);
CREATE INDEX enrolments_device ON enrolments (tenant_id, device_id);

-- Row-level security as on every tenant table, for this installation's
-- roles. (Each DO block on one line: migrations are split at lines ending in ";".)
DO $$ DECLARE app text; prov text; BEGIN SELECT app_role, provider_role INTO app, prov FROM vigie_installation; ALTER TABLE enrolments ENABLE ROW LEVEL SECURITY; ALTER TABLE enrolments FORCE ROW LEVEL SECURITY; EXECUTE format('CREATE POLICY tenant_rows ON enrolments TO %I USING (tenant_id = current_setting(''app.tenant_id'', true)) WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', app); EXECUTE format('CREATE POLICY provider_rows ON enrolments TO %I USING (true) WITH CHECK (true)', prov); EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON enrolments TO %I, %I', app, prov); END $$;
