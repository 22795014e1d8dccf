-- A confirm or revert order's sequence, kept with its push: a device's
-- report of either counts only if it answers the order the worker sent.
ALTER TABLE pushes ADD COLUMN confirm_seq BIGINT;
ALTER TABLE pushes ADD COLUMN revert_seq BIGINT;
