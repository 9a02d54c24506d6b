-- ===================================================================
-- Append-only guards.  C trigger, ENABLE ALWAYS (replica mode does not
-- bypass it), plus an event trigger that keeps non-superusers from
-- disabling or dropping the guards.
-- ===================================================================

CREATE FUNCTION tpwallet.guard_append_only()
RETURNS trigger
AS 'MODULE_PATHNAME', 'tpwallet_guard_append_only'
LANGUAGE C;

-- Put the two guards on a table, ENABLE ALWAYS: tpwallet_guard_change before
-- `changes` ('UPDATE OR DELETE' for append-only tables, 'DELETE' for tables
-- whose rows change but are never removed) and tpwallet_guard_truncate.
-- Used by every part of the install script; the count in _guards_intact
-- and _protect_guards below must grow by 2 for each table.
CREATE FUNCTION tpwallet._guard(tbl text, changes text DEFAULT 'UPDATE OR DELETE')
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF changes NOT IN ('UPDATE OR DELETE', 'DELETE') THEN
		RAISE EXCEPTION 'unknown guard %', changes;
	END IF;
	EXECUTE format('CREATE TRIGGER tpwallet_guard_change BEFORE %s ON tpwallet.%I'
	               ' FOR EACH STATEMENT EXECUTE FUNCTION tpwallet.guard_append_only()', changes, tbl);
	EXECUTE format('CREATE TRIGGER tpwallet_guard_truncate BEFORE TRUNCATE ON tpwallet.%I'
	               ' FOR EACH STATEMENT EXECUTE FUNCTION tpwallet.guard_append_only()', tbl);
	EXECUTE format('ALTER TABLE tpwallet.%I ENABLE ALWAYS TRIGGER tpwallet_guard_change', tbl);
	EXECUTE format('ALTER TABLE tpwallet.%I ENABLE ALWAYS TRIGGER tpwallet_guard_truncate', tbl);
END
$$;

SELECT tpwallet._guard(t)
  FROM unnest(ARRAY['journal', 'postings', 'seals', 'block_members', 'holds',
                    'hold_resolutions', 'idempotency', 'audit_log']) t;
-- Accounts and assets change (totals, status) but are never removed.
SELECT tpwallet._guard(t, 'DELETE') FROM unnest(ARRAY['accounts', 'assets']) t;

-- An account's identity never changes: the engine caches it and entry
-- hashes refer to it by id.  Only UPDATEs naming these columns fire this.
CREATE FUNCTION tpwallet._refuse_account_change()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF (NEW.id, NEW.code, NEW.book, NEW.asset, NEW.normal_side, NEW.allow_negative)
	   IS DISTINCT FROM (OLD.id, OLD.code, OLD.book, OLD.asset, OLD.normal_side, OLD.allow_negative) THEN
		RAISE EXCEPTION USING ERRCODE = 'TW009',
			MESSAGE = format('account %s cannot change its code, book, asset, normal side or overdraft rule', OLD.code),
			HINT = 'Create a new account and move the balance with a transfer.';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER tpwallet_guard_identity BEFORE UPDATE OF id, code, book, asset, normal_side, allow_negative
	ON tpwallet.accounts FOR EACH ROW EXECUTE FUNCTION tpwallet._refuse_account_change();
ALTER TABLE tpwallet.accounts ENABLE ALWAYS TRIGGER tpwallet_guard_identity;

-- Which guards must exist, enabled ALWAYS ('A'): 2 on each of the 10 ledger
-- tables above, of the 3 key-store tables (50_keys.sql) and of the 2 FROST
-- tables (60_frost.sql), of the 3 price tables (70_prices.sql), of the 7
-- reconciliation tables (80_recon.sql, 85_recon_match.sql) and of
-- recon_models (88_recon_score.sql).
CREATE FUNCTION tpwallet._guards_intact()
RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT count(*) = 52 AND bool_and(t.tgenabled = 'A')
	  FROM pg_catalog.pg_trigger t
	  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
	 WHERE c.relnamespace = 'tpwallet'::regnamespace
	   AND t.tgname IN ('tpwallet_guard_change', 'tpwallet_guard_truncate')
$$;

CREATE FUNCTION tpwallet._protect_guards()
RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'tpwallet') THEN
		RETURN;
	END IF;
	-- the same test as tpwallet._guards_intact(), inline: it runs as the caller
	IF NOT (SELECT count(*) = 52 AND bool_and(t.tgenabled = 'A')
	          FROM pg_catalog.pg_trigger t
	          JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
	         WHERE c.relnamespace = 'tpwallet'::regnamespace
	           AND t.tgname IN ('tpwallet_guard_change', 'tpwallet_guard_truncate')) THEN
		RAISE EXCEPTION USING ERRCODE = 'TW009',
			MESSAGE = 'the append-only guards of the tpwallet ledger cannot be disabled or dropped',
			DETAIL = format('%s by %s was refused.', tg_tag, current_user),
			HINT = 'Only a superuser can change them, and verify_ledger() will still show any change to the data.';
	END IF;
END
$$;

CREATE EVENT TRIGGER tpwallet_protect_guards ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'DROP TRIGGER', 'ALTER TRIGGER', 'CREATE TRIGGER')
	EXECUTE FUNCTION tpwallet._protect_guards();

-- ALTER TABLE ... ALTER COLUMN ... TYPE ... USING rewrites every row without
-- firing an UPDATE trigger: refuse any rewrite of a tpwallet table to
-- everyone but a superuser.
CREATE FUNCTION tpwallet._refuse_rewrite()
RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	rel regclass := pg_catalog.pg_event_trigger_table_rewrite_oid();
BEGIN
	IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RETURN;
	END IF;
	IF (SELECT relnamespace = 'tpwallet'::regnamespace FROM pg_catalog.pg_class WHERE oid = rel) THEN
		RAISE EXCEPTION USING ERRCODE = 'TW009',
			MESSAGE = format('%s cannot be rewritten: the ledger is append-only', rel),
			DETAIL = format('%s by %s was refused.', tg_tag, current_user),
			HINT = 'Only a superuser can change the ledger''s tables.';
	END IF;
END
$$;

CREATE EVENT TRIGGER tpwallet_refuse_rewrite ON table_rewrite
	EXECUTE FUNCTION tpwallet._refuse_rewrite();
