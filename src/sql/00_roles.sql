-- tpwallet 0.1.0 install script, assembled by the Makefile from src/sql/*.sql.
\echo Use "CREATE EXTENSION tpwallet" to load this file. \quit

-- Roles are cluster-wide, so create them only when missing (a second database
-- with the extension reuses them).  tpwallet_owner owns every table and every
-- SECURITY DEFINER function; nobody logs in as it.
DO $roles$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['tpwallet_owner', 'tpwallet_admin', 'tpwallet_operator',
	                         'tpwallet_auditor', 'tpwallet_reader', 'tpwallet_signer',
	                         'tpwallet_approver']
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END
$roles$;

-- The extension's schema must not let ordinary users plant objects.
REVOKE ALL ON SCHEMA tpwallet FROM PUBLIC;
GRANT USAGE ON SCHEMA tpwallet TO tpwallet_admin, tpwallet_operator, tpwallet_auditor,
	tpwallet_reader, tpwallet_signer, tpwallet_approver;
GRANT CREATE, USAGE ON SCHEMA tpwallet TO tpwallet_owner;
-- Role hierarchy: admin can do what an operator does; auditor, operator and
-- approver can read (an approver sees what it approves).
GRANT tpwallet_reader TO tpwallet_auditor, tpwallet_operator, tpwallet_approver;
GRANT tpwallet_operator TO tpwallet_admin;
