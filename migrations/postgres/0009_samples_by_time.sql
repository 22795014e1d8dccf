-- SQLite's telemetry tables are now keyed by (tenant_id, ts, msg_id) so
-- that random message ids do not scatter inserts. PostgreSQL's sample key
-- already starts with the device and the time ((tenant_id, device_id, ts,
-- msg_id), partitions by day): nothing to change.
SELECT 1;
