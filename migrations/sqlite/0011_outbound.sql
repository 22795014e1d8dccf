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
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    settings   TEXT NOT NULL,
    paused     BOOLEAN NOT NULL DEFAULT FALSE,
    breaker    TEXT NOT NULL DEFAULT '{"state":"closed","failures":0}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    TEXT NOT NULL,
    destination  TEXT NOT NULL,
    event_tenant TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    event       TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    queued_at   BIGINT NOT NULL,
    next_at     BIGINT NOT NULL,
    done_at     BIGINT,
    last_status INTEGER,
    last_error  TEXT,
    last_ms     INTEGER,
    UNIQUE (tenant_id, destination, event_id)
);
-- A dispatcher reads its destination's due rows in order.
CREATE INDEX outbox_due ON outbox (tenant_id, destination, state, seq);
-- Finished rows past retention are deleted by destination and time.
CREATE INDEX outbox_done ON outbox (tenant_id, destination, done_at);
-- A tenant's events queued for the provider's destinations go with it.
CREATE INDEX outbox_event_tenant ON outbox (event_tenant);
