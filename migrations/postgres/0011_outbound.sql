-- Delivery to the SOC. A destination belongs to a tenant ('_all': the
-- provider's, for every tenant); its settings are JSON
-- (domain::outbound::destination::Settings, secrets only as env:/file:),
-- its circuit breaker's state JSON too, so that a restart resumes it.
-- The outbox holds one row per (event, destination), written in the same
-- transaction as the change that caused the event; a row is pending
-- until delivered, dead (refused for good) or expired (given up). Its
-- tenant_id is the destination's owner, event_tenant the event's.
-- Times are epoch milliseconds.
CREATE TABLE destinations (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    kind       TEXT NOT NULL,
    settings   TEXT NOT NULL,
    paused     BOOLEAN NOT NULL DEFAULT FALSE,
    breaker    TEXT NOT NULL DEFAULT '{"state":"closed","failures":0}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE outbox (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    destination  TEXT COLLATE "C" NOT NULL,
    event_tenant TEXT COLLATE "C" NOT NULL,
    event_id    TEXT COLLATE "C" NOT NULL,
    event       TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    queued_at   BIGINT NOT NULL,
    next_at     BIGINT NOT NULL,
    done_at     BIGINT,
    last_status INTEGER,
    last_error  TEXT,
    last_ms     INTEGER,
    PRIMARY KEY (tenant_id, seq),
    UNIQUE (tenant_id, destination, event_id)
);
-- A dispatcher reads its destination's due rows in order.
CREATE INDEX outbox_due ON outbox (tenant_id, destination, state, seq);
-- Finished rows past retention are deleted by destination and time.
CREATE INDEX outbox_done ON outbox (tenant_id, destination, done_at);
-- A tenant's events queued for the provider's destinations go with it.
CREATE INDEX outbox_event_tenant ON outbox (event_tenant);

-- Row-level security: a tenant's session sees its own destinations and
-- their deliveries (never the provider's, '_all'); the provider role all.
-- (Each DO block on one line: migrations are split at lines ending in ";".)
DO $$ DECLARE app text; prov text; BEGIN SELECT app_role, provider_role INTO app, prov FROM vigie_installation; ALTER TABLE destinations ENABLE ROW LEVEL SECURITY; ALTER TABLE destinations FORCE ROW LEVEL SECURITY; EXECUTE format('CREATE POLICY tenant_rows ON destinations TO %I USING (tenant_id = current_setting(''app.tenant_id'', true)) WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', app); EXECUTE format('CREATE POLICY provider_rows ON destinations TO %I USING (true) WITH CHECK (true)', prov); EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON destinations TO %I, %I', app, prov); END $$;
DO $$ DECLARE app text; prov text; BEGIN SELECT app_role, provider_role INTO app, prov FROM vigie_installation; ALTER TABLE outbox ENABLE ROW LEVEL SECURITY; ALTER TABLE outbox FORCE ROW LEVEL SECURITY; EXECUTE format('CREATE POLICY tenant_rows ON outbox TO %I USING (tenant_id = current_setting(''app.tenant_id'', true)) WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', app); EXECUTE format('CREATE POLICY provider_rows ON outbox TO %I USING (true) WITH CHECK (true)', prov); EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO %I, %I', app, prov); END $$;
