-- Roles and privileges: least privilege, writes only through the API.
\set SHOW_CONTEXT never
CREATE ROLE regress_tpw_reader;
CREATE ROLE regress_tpw_operator;
CREATE ROLE regress_tpw_admin;
CREATE ROLE regress_tpw_nobody;
CREATE ROLE regress_tpw_owner_member;
GRANT tpwallet_reader TO regress_tpw_reader;
GRANT tpwallet_operator TO regress_tpw_operator;
GRANT tpwallet_admin TO regress_tpw_admin;
GRANT tpwallet_owner TO regress_tpw_owner_member;

SET ROLE regress_tpw_nobody;
SELECT test.err($$SELECT tpwallet.balance('alice:USD')$$);
SELECT test.err($$SELECT * FROM tpwallet.account_balances$$);
RESET ROLE;

SET ROLE regress_tpw_reader;
SELECT count(*) > 0 AS reads FROM tpwallet.account_balances;
SELECT tpwallet.balance('alice:USD') IS NOT NULL AS balance_ok;
SELECT test.err($$SELECT tpwallet.transfer('world:USD', 'alice:USD', 1)$$);
SELECT test.err($$SELECT count(*) FROM tpwallet.journal$$);
SELECT test.err($$INSERT INTO tpwallet.journal (id) VALUES (1)$$);
RESET ROLE;

SET ROLE regress_tpw_operator;
SELECT tpwallet.transfer('world:USD', 'alice:USD', 1) > 0 AS operator_posts;
SELECT test.err($$SELECT tpwallet.create_account('x', 'ops', 'USD', 'credit')$$);
SELECT test.err($$SELECT tpwallet.reverse_entry(1, 'x')$$);
SELECT test.err($$INSERT INTO tpwallet.postings VALUES (1, 1, 1, 1, now())$$);
SELECT test.err($$UPDATE tpwallet.accounts SET debits_posted = 0$$);
SELECT test.err($$SELECT * FROM tpwallet.verify_ledger()$$);
RESET ROLE;

SET ROLE regress_tpw_admin;
SELECT tpwallet.create_account('dave:USD', 'ops', 'USD', 'credit') > 0 AS admin_creates;
SELECT tpwallet.transfer('world:USD', 'dave:USD', 1) > 0 AS admin_posts;
RESET ROLE;

-- even the table owner role cannot switch the guards off
SET ROLE regress_tpw_owner_member;
SET ROLE tpwallet_owner;
SELECT test.err($$ALTER TABLE tpwallet.journal DISABLE TRIGGER tpwallet_guard_change$$);
SELECT test.err($$ALTER TABLE tpwallet.postings DISABLE TRIGGER ALL$$);
SELECT test.err($$DROP TRIGGER tpwallet_guard_truncate ON tpwallet.seals$$);
SELECT test.err($$ALTER TABLE tpwallet.journal ENABLE TRIGGER tpwallet_guard_change$$);
SELECT test.err($$DELETE FROM tpwallet.journal$$);
SELECT test.err($$ALTER TABLE tpwallet.journal ALTER COLUMN hash TYPE bytea USING sha256(hash)$$);
SELECT test.err($$ALTER TABLE tpwallet.block_members ALTER COLUMN leaf_index TYPE int USING leaf_index + 7$$);
RESET ROLE;
SELECT tpwallet._guards_intact();

-- an account's identity cannot change, even for the owner or a superuser
SELECT test.err($$UPDATE tpwallet.accounts SET book = 'gl' WHERE code = 'alice:USD'$$);
SELECT test.err($$UPDATE tpwallet.accounts SET allow_negative = true WHERE code = 'alice:USD'$$);

-- pg_dump backs up the ledger's data (tables and sequences registered as configuration)
SELECT count(*) AS dumped_relations FROM pg_extension e, unnest(e.extconfig) WHERE e.extname = 'tpwallet';

-- who posted is recorded (the login role)
SELECT DISTINCT created_by = session_user AS recorded FROM tpwallet.journal;

DROP OWNED BY regress_tpw_reader, regress_tpw_operator, regress_tpw_admin, regress_tpw_nobody, regress_tpw_owner_member;
DROP ROLE regress_tpw_reader, regress_tpw_operator, regress_tpw_admin, regress_tpw_nobody, regress_tpw_owner_member;
