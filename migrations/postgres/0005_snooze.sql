-- An incident can be snoozed: out of the queue's way until then.
ALTER TABLE incidents ADD COLUMN snoozed_until BIGINT;
