-- vigie schema, PostgreSQL dialect. The same tables and columns as the
-- SQLite schema: times are BIGINT milliseconds since the epoch (UTC), every
-- tenant table's key starts with tenant_id, and text sorts bytewise
-- (COLLATE "C") as it does in SQLite.
--
-- Metric and signal samples are range-partitioned by day on ts. Partitions
-- are created ahead by the worker (Store::maintain) and dropped whole when
-- every tenant's retention has passed; a DEFAULT partition catches rows that
-- fall outside them so that no insert ever fails for want of a partition.
--
-- A sample's key is (tenant_id, device_id, ts, msg_id): one index that both
-- absorbs a redelivered message (same device, time and id) and serves a
-- device's series over a time range. A second index per table would cost
-- ingest about a quarter of its rate.

CREATE TABLE tenants (
    id              TEXT COLLATE "C" PRIMARY KEY,
    name            TEXT COLLATE "C" NOT NULL,
    tier            TEXT NOT NULL,
    data_mode       TEXT NOT NULL,
    retention_days  BIGINT NOT NULL,
    stale_after_s   BIGINT NOT NULL,
    offline_after_s BIGINT NOT NULL
);

CREATE TABLE sites (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    id        TEXT COLLATE "C" NOT NULL,
    name      TEXT COLLATE "C" NOT NULL,
    region    TEXT COLLATE "C" NOT NULL,
    lat       DOUBLE PRECISION NOT NULL,
    lon       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE sectors (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    site_id     TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    azimuth_deg BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id)
);

CREATE TABLE devices (
    tenant_id            TEXT COLLATE "C" NOT NULL,
    id                   TEXT COLLATE "C" NOT NULL,
    name                 TEXT COLLATE "C" NOT NULL,
    kind                 TEXT COLLATE "C" NOT NULL,
    site_id              TEXT COLLATE "C" NOT NULL,
    sector_id            TEXT COLLATE "C",
    model                TEXT COLLATE "C" NOT NULL,
    firmware             TEXT COLLATE "C" NOT NULL,
    heartbeat_interval_s BIGINT NOT NULL,
    status               TEXT NOT NULL DEFAULT 'pending',
    status_since         BIGINT,
    last_seen            BIGINT,
    cpu_pct              DOUBLE PRECISION,
    mem_pct              DOUBLE PRECISION,
    signal_dbm           DOUBLE PRECISION,
    uptime_s             BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id)
);
CREATE INDEX devices_by_status ON devices (tenant_id, status);
CREATE INDEX devices_by_site ON devices (tenant_id, site_id);

CREATE TABLE links (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    ap_id      TEXT COLLATE "C" NOT NULL,
    cpe_id     TEXT COLLATE "C" NOT NULL,
    state      TEXT NOT NULL DEFAULT 'discovered',
    signal_dbm DOUBLE PRECISION,
    updated    BIGINT,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE metric_samples (
    tenant_id TEXT COLLATE "C" NOT NULL,
    msg_id    TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    ts        BIGINT NOT NULL,
    cpu_pct   DOUBLE PRECISION NOT NULL,
    mem_pct   DOUBLE PRECISION NOT NULL,
    rx_bps    BIGINT NOT NULL,
    tx_bps    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, device_id, ts, msg_id)
) PARTITION BY RANGE (ts);
CREATE TABLE metric_samples_default PARTITION OF metric_samples DEFAULT;

CREATE TABLE signal_samples (
    tenant_id TEXT COLLATE "C" NOT NULL,
    msg_id    TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    peer_id   TEXT COLLATE "C" NOT NULL,
    ts        BIGINT NOT NULL,
    rssi_dbm  DOUBLE PRECISION NOT NULL,
    snr_db    DOUBLE PRECISION,
    PRIMARY KEY (tenant_id, device_id, ts, msg_id)
) PARTITION BY RANGE (ts);
CREATE TABLE signal_samples_default PARTITION OF signal_samples DEFAULT;

CREATE TABLE log_lines (
    tenant_id TEXT COLLATE "C" NOT NULL,
    msg_id    TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    ts        BIGINT NOT NULL,
    level     TEXT NOT NULL,
    message   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, msg_id)
);
CREATE INDEX log_lines_by_device ON log_lines (tenant_id, device_id, ts);

CREATE TABLE config_snapshots (
    tenant_id TEXT COLLATE "C" NOT NULL,
    msg_id    TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    ts        BIGINT NOT NULL,
    format    TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, msg_id)
);
CREATE INDEX config_snapshots_by_device ON config_snapshots (tenant_id, device_id, ts);

CREATE TABLE alerts (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    rule        TEXT COLLATE "C" NOT NULL,
    device_id   TEXT COLLATE "C",
    site_id     TEXT COLLATE "C",
    severity    TEXT NOT NULL,
    state       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    flapping    BOOLEAN NOT NULL DEFAULT FALSE,
    started     BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    incident_id TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX alerts_by_time ON alerts (tenant_id, updated);

CREATE TABLE incidents (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    dedup_key    TEXT COLLATE "C" NOT NULL,
    title        TEXT NOT NULL,
    severity     TEXT NOT NULL,
    state        TEXT NOT NULL,
    tier         TEXT NOT NULL,
    assignee     TEXT,
    opened       BIGINT NOT NULL,
    acknowledged BIGINT,
    sla_due      BIGINT NOT NULL,
    reopen_count BIGINT NOT NULL DEFAULT 0,
    alert_ids    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX incidents_open_dedup ON incidents (tenant_id, dedup_key)
    WHERE state IN ('new', 'acknowledged', 'in_progress');

CREATE TABLE device_interfaces (
    tenant_id TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    ts        BIGINT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, device_id)
);
