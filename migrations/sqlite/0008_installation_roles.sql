-- The same version as PostgreSQL's installation roles: SQLite has no
-- roles, only its audit heads to guard. A head moves only with the append
-- path (one entry forward, to an entry that is in the log), is never
-- deleted, and never starts again for a tenant whose log has entries.
-- (Each trigger on one line: migrations are split at lines ending in ";".)
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head BEGIN SELECT RAISE(ABORT, 'audit heads are never deleted'); END;
CREATE TRIGGER audit_head_insert BEFORE INSERT ON audit_head WHEN NEW.seq <> 0 OR NEW.hash <> '0000000000000000000000000000000000000000000000000000000000000000' OR (NOT EXISTS (SELECT 1 FROM audit_head h WHERE h.tenant_id = NEW.tenant_id) AND EXISTS (SELECT 1 FROM audit_log l WHERE l.tenant_id = NEW.tenant_id)) BEGIN SELECT RAISE(ABORT, 'an audit head starts at the genesis, once per tenant'); END;
CREATE TRIGGER audit_head_update BEFORE UPDATE ON audit_head WHEN NEW.tenant_id <> OLD.tenant_id OR NOT ((NEW.seq = OLD.seq AND NEW.hash = OLD.hash) OR (NEW.seq = OLD.seq + 1 AND EXISTS (SELECT 1 FROM audit_log l WHERE l.tenant_id = NEW.tenant_id AND l.seq = NEW.seq AND l.hash = NEW.hash))) BEGIN SELECT RAISE(ABORT, 'an audit head moves only to the entry appended after it'); END;
