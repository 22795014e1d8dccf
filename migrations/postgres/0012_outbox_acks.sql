-- Indexer acknowledgement (Splunk HEC): a batch accepted by the collector
-- waits for its ack in the database, not in the dispatcher's round. A row
-- so waiting stays pending with the ack id it was given and since when it
-- waits (epoch milliseconds); a dispatcher (this worker's, or another's
-- after a restart) asks for that id, settles the row delivered once it is
-- reported, and sends the row again when it is not reported in time.
ALTER TABLE outbox ADD COLUMN ack_id BIGINT;
ALTER TABLE outbox ADD COLUMN ack_since BIGINT;
