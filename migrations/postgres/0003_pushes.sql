-- Config pushes, the per-device order sequence, and the audit log.
-- Times are epoch milliseconds.

CREATE TABLE pushes (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    device_id     TEXT COLLATE "C" NOT NULL,
    rollout_id    TEXT COLLATE "C",
    wave          BIGINT NOT NULL DEFAULT 0,
    state         TEXT NOT NULL,
    revert_reason TEXT,
    deadline      BIGINT,
    version       BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    body          TEXT NOT NULL,
    previous      TEXT,
    reason        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    window_s      BIGINT NOT NULL,
    created       BIGINT NOT NULL,
    order_expires BIGINT NOT NULL,
    confirm_sent  BIGINT,
    revert_sent   BIGINT,
    reported      BIGINT,
    detail        TEXT,
    updated       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX pushes_by_device ON pushes (tenant_id, device_id, created);
CREATE INDEX pushes_by_rollout ON pushes (tenant_id, rollout_id);
-- One push at a time per device: the second is refused, not queued.
CREATE UNIQUE INDEX pushes_one_open ON pushes (tenant_id, device_id)
    WHERE state IN ('draft', 'sent', 'applied');

CREATE TABLE rollouts (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    state      TEXT NOT NULL,
    devices    TEXT NOT NULL,
    wave_size  BIGINT NOT NULL,
    next_index BIGINT NOT NULL,
    wave       BIGINT NOT NULL,
    body       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    window_s   BIGINT NOT NULL,
    created    BIGINT NOT NULL,
    updated    BIGINT NOT NULL,
    detail     TEXT,
    version    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE order_seq (
    tenant_id TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    seq       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, device_id)
);

CREATE TABLE audit_log (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    reason    TEXT,
    dedup     TEXT UNIQUE
);
CREATE INDEX audit_by_target ON audit_log (tenant_id, target, id);
