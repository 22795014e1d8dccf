-- Roles of this installation only. PostgreSQL roles belong to the whole
-- cluster, so the shared vigie_app and vigie_provider of migration 4 let
-- the database user of one vigie installation (a member of both) read and
-- change another installation's tables in the same cluster. Each
-- installation (database and schema) now works as two roles of its own,
-- named vigie_<12 hex of md5(database/schema)>_app and _provider, and the
-- shared roles keep nothing here. The names are recorded in
-- vigie_installation, where the store reads them.
-- (Each DO block on one line: migrations are split at lines ending in ";".)
CREATE TABLE vigie_installation (id INTEGER PRIMARY KEY CHECK (id = 1), app_role TEXT NOT NULL, provider_role TEXT NOT NULL);
INSERT INTO vigie_installation (id, app_role, provider_role) SELECT 1, 'vigie_' || left(md5(current_database() || '/' || current_schema()), 12) || '_app', 'vigie_' || left(md5(current_database() || '/' || current_schema()), 12) || '_provider';

-- The roles, unless a DBA made them beforehand (creating one that may
-- bypass row-level security needs a superuser).
DO $$ DECLARE app text; prov text; BEGIN SELECT app_role, provider_role INTO app, prov FROM vigie_installation; IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app) THEN EXECUTE format('CREATE ROLE %I NOLOGIN NOBYPASSRLS', app); END IF; IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = prov) THEN BEGIN EXECUTE format('CREATE ROLE %I NOLOGIN BYPASSRLS', prov); EXCEPTION WHEN insufficient_privilege THEN EXECUTE format('CREATE ROLE %I NOLOGIN', prov); RAISE WARNING '% lacks BYPASSRLS and this user cannot grant it: ingest will fail (see docs/OPERATIONS.md)', prov; END; END IF; IF (SELECT rolbypassrls FROM pg_roles WHERE rolname = app) THEN EXECUTE format('ALTER ROLE %I NOBYPASSRLS', app); END IF; EXECUTE format('GRANT %I, %I TO CURRENT_USER', app, prov); EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I, %I', current_schema(), app, prov); END $$;

-- Every grant the shared roles held on this schema's tables and sequences
-- moves to this installation's roles, then the shared roles lose it.
DO $$ DECLARE app text; prov text; r record; target text; BEGIN SELECT app_role, provider_role INTO app, prov FROM vigie_installation; FOR r IN SELECT c.relname, c.relkind, a.privilege_type, g.rolname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN pg_roles g ON g.oid = a.grantee WHERE n.nspname = current_schema() AND g.rolname IN ('vigie_app', 'vigie_provider') LOOP target := CASE r.rolname WHEN 'vigie_app' THEN app ELSE prov END; IF r.relkind = 'S' THEN EXECUTE format('GRANT %s ON SEQUENCE %I TO %I', r.privilege_type, r.relname, target); EXECUTE format('REVOKE ALL ON SEQUENCE %I FROM %I', r.relname, r.rolname); ELSE EXECUTE format('GRANT %s ON TABLE %I TO %I', r.privilege_type, r.relname, target); EXECUTE format('REVOKE ALL ON TABLE %I FROM %I', r.relname, r.rolname); END IF; END LOOP; END $$;

-- Every row policy names this installation's role instead.
DO $$ DECLARE app text; prov text; r record; BEGIN SELECT app_role, provider_role INTO app, prov FROM vigie_installation; FOR r IN SELECT tablename, policyname FROM pg_policies WHERE schemaname = current_schema() AND policyname IN ('tenant_rows', 'provider_rows') LOOP EXECUTE format('ALTER POLICY %I ON %I TO %I', r.policyname, r.tablename, CASE r.policyname WHEN 'tenant_rows' THEN app ELSE prov END); END LOOP; END $$;

DO $$ BEGIN EXECUTE format('REVOKE ALL ON SCHEMA %I FROM vigie_app, vigie_provider', current_schema()); EXCEPTION WHEN undefined_object THEN NULL; END $$;

-- The installation table: read by the roles, changed by nobody but its
-- owner.
DO $$ DECLARE app text; prov text; BEGIN SELECT app_role, provider_role INTO app, prov FROM vigie_installation; EXECUTE format('GRANT SELECT ON vigie_installation TO %I, %I', app, prov); END $$;

-- An audit head moves only with the append path: one entry forward, to an
-- entry that is in the log. It is never deleted, nor re-created for a
-- tenant whose log has entries (which would restart its chain).
CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'audit heads are never deleted (tenant %)', OLD.tenant_id USING ERRCODE = 'insufficient_privilege'; END IF; IF TG_OP = 'INSERT' THEN IF NEW.seq <> 0 OR NEW.hash <> '0000000000000000000000000000000000000000000000000000000000000000' THEN RAISE EXCEPTION 'a new audit head starts at the genesis (tenant %)', NEW.tenant_id USING ERRCODE = 'insufficient_privilege'; END IF; IF NOT EXISTS (SELECT 1 FROM audit_head h WHERE h.tenant_id = NEW.tenant_id) AND EXISTS (SELECT 1 FROM audit_log l WHERE l.tenant_id = NEW.tenant_id) THEN RAISE EXCEPTION 'tenant % has audit entries: its head cannot start again', NEW.tenant_id USING ERRCODE = 'insufficient_privilege'; END IF; RETURN NEW; END IF; IF NEW.tenant_id <> OLD.tenant_id THEN RAISE EXCEPTION 'an audit head keeps its tenant' USING ERRCODE = 'insufficient_privilege'; END IF; IF NEW.seq = OLD.seq AND NEW.hash = OLD.hash THEN RETURN NEW; END IF; IF NEW.seq = OLD.seq + 1 AND EXISTS (SELECT 1 FROM audit_log l WHERE l.tenant_id = NEW.tenant_id AND l.seq = NEW.seq AND l.hash = NEW.hash) THEN RETURN NEW; END IF; RAISE EXCEPTION 'an audit head moves only to the entry appended after it (tenant %)', NEW.tenant_id USING ERRCODE = 'insufficient_privilege'; END $$;
CREATE TRIGGER audit_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_head FOR EACH ROW EXECUTE FUNCTION audit_head_guard();
CREATE FUNCTION audit_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is never truncated', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$;
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate();
DO $$ DECLARE app text; prov text; BEGIN SELECT app_role, provider_role INTO app, prov FROM vigie_installation; EXECUTE format('REVOKE DELETE, TRUNCATE ON audit_head FROM %I, %I', app, prov); END $$;
