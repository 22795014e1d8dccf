-- vigie schema, SQLite dialect. Times are INTEGER milliseconds since the
-- epoch (UTC). Every tenant table's key starts with tenant_id.

CREATE TABLE tenants (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    tier            TEXT NOT NULL,
    data_mode       TEXT NOT NULL,
    retention_days  INTEGER NOT NULL,
    stale_after_s   INTEGER NOT NULL,
    offline_after_s INTEGER NOT NULL
);

CREATE TABLE sites (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id        TEXT NOT NULL,
    name      TEXT NOT NULL,
    region    TEXT NOT NULL,
    lat       REAL NOT NULL,
    lon       REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE sectors (
    tenant_id   TEXT NOT NULL,
    site_id     TEXT NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    azimuth_deg INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id)
);

CREATE TABLE devices (
    tenant_id            TEXT NOT NULL,
    id                   TEXT NOT NULL,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    site_id              TEXT NOT NULL,
    sector_id            TEXT,
    model                TEXT NOT NULL,
    firmware             TEXT NOT NULL,
    heartbeat_interval_s INTEGER NOT NULL,
    status               TEXT NOT NULL DEFAULT 'pending',
    status_since         INTEGER,
    last_seen            INTEGER,
    cpu_pct              REAL,
    mem_pct              REAL,
    signal_dbm           REAL,
    uptime_s             INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id)
);
CREATE INDEX devices_by_status ON devices (tenant_id, status);
CREATE INDEX devices_by_site ON devices (tenant_id, site_id);

CREATE TABLE links (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    ap_id      TEXT NOT NULL,
    cpe_id     TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'discovered',
    signal_dbm REAL,
    updated    INTEGER,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE metric_samples (
    tenant_id TEXT NOT NULL,
    msg_id    TEXT NOT NULL,
    device_id TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    cpu_pct   REAL NOT NULL,
    mem_pct   REAL NOT NULL,
    rx_bps    INTEGER NOT NULL,
    tx_bps    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, msg_id)
) WITHOUT ROWID;
CREATE INDEX metric_samples_ts ON metric_samples (ts);

CREATE TABLE signal_samples (
    tenant_id TEXT NOT NULL,
    msg_id    TEXT NOT NULL,
    device_id TEXT NOT NULL,
    peer_id   TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    rssi_dbm  REAL NOT NULL,
    snr_db    REAL,
    PRIMARY KEY (tenant_id, msg_id)
) WITHOUT ROWID;
CREATE INDEX signal_samples_ts ON signal_samples (ts);

CREATE TABLE log_lines (
    tenant_id TEXT NOT NULL,
    msg_id    TEXT NOT NULL,
    device_id TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    level     TEXT NOT NULL,
    message   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, msg_id)
) WITHOUT ROWID;
CREATE INDEX log_lines_by_device ON log_lines (tenant_id, device_id, ts);

CREATE TABLE config_snapshots (
    tenant_id TEXT NOT NULL,
    msg_id    TEXT NOT NULL,
    device_id TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    format    TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, msg_id)
) WITHOUT ROWID;
CREATE INDEX config_snapshots_by_device ON config_snapshots (tenant_id, device_id, ts);

CREATE TABLE alerts (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    rule        TEXT NOT NULL,
    device_id   TEXT,
    site_id     TEXT,
    severity    TEXT NOT NULL,
    state       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    flapping    INTEGER NOT NULL DEFAULT 0,
    started     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    incident_id TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX alerts_by_time ON alerts (tenant_id, updated);

CREATE TABLE incidents (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    dedup_key    TEXT NOT NULL,
    title        TEXT NOT NULL,
    severity     TEXT NOT NULL,
    state        TEXT NOT NULL,
    tier         TEXT NOT NULL,
    assignee     TEXT,
    opened       INTEGER NOT NULL,
    acknowledged INTEGER,
    sla_due      INTEGER NOT NULL,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    alert_ids    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX incidents_open_dedup ON incidents (tenant_id, dedup_key)
    WHERE state IN ('new', 'acknowledged', 'in_progress');

CREATE TABLE device_interfaces (
    tenant_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, device_id)
);
