-- One-time enrolment codes: `vigie enrol create` stores the SHA-256 of a
-- code bound to one tenant and device (and, to create an unknown device,
-- a site and kind); the worker marks it used, with the agent's public
-- key, the one time it is redeemed. Times are epoch milliseconds.
CREATE TABLE enrolments (
    code_hash  TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    site_id    TEXT,
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
