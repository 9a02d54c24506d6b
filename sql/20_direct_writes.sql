-- The posting engine writes its tables through the table access method
-- (write.c, rowlock.c): the same rows, indexes and checks as SQL would give.
\set SHOW_CONTEXT never
SELECT tpwallet.create_asset('DWX', 2, 'fiat');
SELECT tpwallet.create_account('dw:world', 'ops', 'DWX', 'debit', allow_negative => true);
SELECT tpwallet.create_account('dw:a', 'ops', 'DWX', 'credit');
SELECT tpwallet.create_account('dw:b', 'ops', 'DWX', 'credit');

-- one batch many times the writers' buffer of 128 rows (2,500 postings),
-- then several calls in one statement and one transaction on the same rows
SELECT count(*) AS posted FROM tpwallet.post_batch(
  (SELECT jsonb_agg(jsonb_build_object('debit_account', 'dw:world', 'credit_account',
                    CASE WHEN i % 2 = 0 THEN 'dw:a' ELSE 'dw:b' END,
                    'amount', (i % 7 + 1)::text, 'idempotency_key', 'dw-' || i) ORDER BY i)
     FROM generate_series(1, 1250) AS i));
BEGIN;
SELECT count(DISTINCT tpwallet.transfer('dw:a', 'dw:b', 0.01)) AS calls FROM generate_series(1, 20);
SELECT tpwallet.transfer('dw:b', 'dw:a', 1.50);
COMMIT;
SELECT account, debits_posted, credits_posted, balance FROM tpwallet.account_balances
 WHERE account LIKE 'dw:%' ORDER BY account;
SELECT sum(amount) AS postings_sum, count(*) AS postings FROM tpwallet.postings p
  JOIN tpwallet.accounts a ON a.id = p.account_id WHERE a.code LIKE 'dw:%';
-- every index has every row: index-only reads agree with the heap
SET enable_seqscan = off;
SELECT count(*) AS by_key FROM tpwallet.journal WHERE idempotency_key LIKE 'dw-%';
SELECT count(*) AS by_account FROM tpwallet.postings p
  JOIN tpwallet.accounts a ON a.id = p.account_id WHERE a.code = 'dw:a';
RESET enable_seqscan;
SELECT * FROM tpwallet.check_balances();

-- a repeat of the batch replays every id, writing nothing
SELECT test.rows() AS before \gset
SELECT count(*) AS replayed FROM tpwallet.post_batch(
  (SELECT jsonb_agg(jsonb_build_object('debit_account', 'dw:world', 'credit_account',
                    CASE WHEN i % 2 = 0 THEN 'dw:a' ELSE 'dw:b' END,
                    'amount', (i % 7 + 1)::text, 'idempotency_key', 'dw-' || i) ORDER BY i)
     FROM generate_series(1, 1250) AS i));
SELECT test.rows() = :'before' AS nothing_written;

-- a trigger the engine would go around is refused, not silently skipped
CREATE FUNCTION test.on_journal() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER audit_me AFTER INSERT ON tpwallet.journal FOR EACH ROW EXECUTE FUNCTION test.on_journal();
SELECT test.err($$SELECT tpwallet.transfer('dw:world', 'dw:a', 1)$$);
SELECT test.rows() = :'before' AS nothing_written;
DROP TRIGGER audit_me ON tpwallet.journal;
CREATE TRIGGER audit_me BEFORE UPDATE ON tpwallet.accounts FOR EACH ROW EXECUTE FUNCTION test.on_journal();
SELECT test.err($$SELECT tpwallet.transfer('dw:world', 'dw:a', 1)$$);
DROP TRIGGER audit_me ON tpwallet.accounts;
SELECT tpwallet.transfer('dw:world', 'dw:a', 1) > 0 AS posts_again;
SELECT tpwallet.balance('dw:a');

-- a column added to a ledger table that the engine does not write (here
-- with a default) is refused, not silently left NULL
ALTER TABLE tpwallet.journal ADD COLUMN channel text DEFAULT 'api';
SELECT test.err($$SELECT tpwallet.transfer('dw:world', 'dw:a', 1)$$);
ALTER TABLE tpwallet.journal DROP COLUMN channel;
SELECT tpwallet.transfer('dw:world', 'dw:a', 1) > 0 AS posts_again;

-- the engine caches its tables' names and column numbers per session
-- (names.c); a change of the catalog reaches the cache at once
BEGIN;
ALTER TABLE tpwallet.postings RENAME COLUMN amount TO amount_renamed;
SELECT test.err($$SELECT tpwallet.transfer('dw:world', 'dw:a', 1)$$);
ROLLBACK;
BEGIN;
ALTER TABLE tpwallet.idempotency RENAME TO idempotency_renamed;
SELECT test.err($$SELECT tpwallet.transfer('dw:world', 'dw:a', 1, 'dw-renamed')$$);
ROLLBACK;
-- and the rollback is seen as well: the same session posts again
SELECT tpwallet.transfer('dw:world', 'dw:a', 1, 'dw-after-rename') > 0 AS posts_again;
SELECT tpwallet.balance('dw:a');
SELECT * FROM tpwallet.check_balances();

-- account rows are found through the root of their HOT chain, remembered
-- per session (rowlock.c).  With an index on a total every update is
-- non-HOT: each remembered root goes stale, VACUUM frees those slots and
-- new versions reuse them; every account must still be found, every time
CREATE INDEX test_accounts_debits ON tpwallet.accounts (debits_posted);
SELECT count(tpwallet.transfer('dw:world', CASE WHEN i % 2 = 0 THEN 'dw:a' ELSE 'dw:b' END, 1))
  FROM generate_series(1, 20) AS i;
VACUUM tpwallet.accounts;
SELECT count(tpwallet.transfer(CASE WHEN i % 2 = 0 THEN 'dw:a' ELSE 'dw:b' END, 'dw:world', 1))
  FROM generate_series(1, 10) AS i;
VACUUM tpwallet.accounts;
SELECT count(tpwallet.transfer('dw:world', CASE WHEN i % 3 = 0 THEN 'dw:a' ELSE 'dw:b' END, 1))
  FROM generate_series(1, 30) AS i;
DROP INDEX tpwallet.test_accounts_debits;
VACUUM FULL tpwallet.accounts;
SELECT tpwallet.transfer('dw:world', 'dw:a', 1) > 0 AS after_rewrite;
SELECT account, debits_posted, credits_posted, balance FROM tpwallet.account_balances
 WHERE account LIKE 'dw:%' ORDER BY account;
SELECT * FROM tpwallet.check_balances();

-- an accounts page is pruned when it is nearly full, not on every read
-- (rowlock.c): 600 transfers among the same accounts, each committed, and
-- their 1,200 updates stay HOT (all of them, measured; with the engine's
-- pruning taken out, more than 10 were not, checked).  A few are allowed
-- to move: an autovacuum ANALYZE of this database running meanwhile holds
-- back what pruning may remove (once 6 of 600 moved, in rare runs more).
-- So autovacuum is kept off this database's tables for the loop, and the
-- loop waits for a worker already at work here to finish
CREATE FUNCTION test.dw_autovacuum(enabled boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	t regclass;
BEGIN
	FOR t IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	          WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') LOOP
		EXECUTE format(CASE WHEN enabled THEN 'ALTER TABLE %s RESET (autovacuum_enabled)'
		                    ELSE 'ALTER TABLE %s SET (autovacuum_enabled = off)' END, t);
	END LOOP;
	FOR i IN 1..300 LOOP
		EXIT WHEN enabled OR NOT EXISTS (SELECT 1 FROM pg_stat_activity
		                                  WHERE backend_type = 'autovacuum worker' AND datname = current_database());
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SELECT test.dw_autovacuum(false);
SELECT pg_stat_force_next_flush();
SELECT n_tup_upd AS upd_before, n_tup_hot_upd AS hot_before
  FROM pg_stat_user_tables WHERE relid = 'tpwallet.accounts'::regclass \gset
DO $$
BEGIN
	FOR i IN 1..600 LOOP
		PERFORM tpwallet.transfer('dw:world', CASE WHEN i % 2 = 0 THEN 'dw:a' ELSE 'dw:b' END, 0.01);
		COMMIT;
	END LOOP;
END
$$;
SELECT pg_stat_force_next_flush();
SELECT n_tup_upd - :upd_before AS updates,
       (n_tup_upd - :upd_before) - (n_tup_hot_upd - :hot_before) <= 10 AS nearly_all_hot
  FROM pg_stat_user_tables WHERE relid = 'tpwallet.accounts'::regclass;
SELECT test.dw_autovacuum(true);
SELECT account, balance FROM tpwallet.account_balances WHERE account LIKE 'dw:%' ORDER BY account;
SELECT * FROM tpwallet.check_balances();

-- the BRIN ranges at the end of postings (an entry's legs are found
-- through them) are summarized by summarize_new_ranges, which the sealer
-- calls every seal_interval: none is left without a summary, so a lookup
-- reads its entry's range, not the whole unsummarized tail
SELECT tpwallet.summarize_new_ranges() >= 0 AS summarized;
SELECT brin_summarize_new_values('tpwallet.postings_entry') AS left_unsummarized;
-- a transfer into a summarized range widens its summary: still none left,
-- and the new entry's legs are found through the index
SELECT tpwallet.transfer('dw:world', 'dw:a', 0.01) AS last_entry \gset
SELECT tpwallet.summarize_new_ranges() >= 0 AS summarized;
SELECT brin_summarize_new_values('tpwallet.postings_entry') AS left_unsummarized;
SET enable_seqscan = off;
SELECT count(*) AS legs FROM tpwallet.postings WHERE entry_id = :last_entry;
RESET enable_seqscan;
-- only tpwallet's BRIN indexes
SELECT tpwallet.summarize_new_ranges('tpwallet.postings_account_time');
SELECT tpwallet.summarize_new_ranges('pg_class_oid_index');
