-- Setup: the extension, its roles and a helper that reports an error's SQLSTATE.
\set SHOW_CONTEXT never
CREATE EXTENSION tpwallet;
SELECT extversion FROM pg_extension WHERE extname = 'tpwallet';
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'tpwallet\_%' ORDER BY 1;

-- Tables are owned by a NOLOGIN role; nothing is granted to PUBLIC.
SELECT c.relname, pg_get_userbyid(c.relowner) AS owner
  FROM pg_class c WHERE c.relnamespace = 'tpwallet'::regnamespace AND c.relkind = 'r' ORDER BY 1;
SELECT count(*) AS public_grants FROM information_schema.role_table_grants
 WHERE table_schema = 'tpwallet' AND grantee = 'PUBLIC';
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'tpwallet'::regnamespace AND p.prosecdef
   AND NOT coalesce(p.proconfig::text LIKE '%search_path=pg_catalog, tpwallet%', false);

-- Runs a statement, returns its SQLSTATE and message (or 'ok'); a failed
-- statement's writes are rolled back exactly as in a client.
CREATE SCHEMA test;
GRANT USAGE ON SCHEMA test TO PUBLIC;
CREATE FUNCTION test.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- A fingerprint of everything the ledger has written.
CREATE FUNCTION test.rows() RETURNS text LANGUAGE sql AS $$
	SELECT format('journal=%s postings=%s holds=%s resolutions=%s keys=%s deltas=%s',
		(SELECT count(*) FROM tpwallet.journal), (SELECT count(*) FROM tpwallet.postings),
		(SELECT count(*) FROM tpwallet.holds), (SELECT count(*) FROM tpwallet.hold_resolutions),
		(SELECT count(*) FROM tpwallet.idempotency), (SELECT count(*) FROM tpwallet.account_deltas))
$$;
