-- Reconciliation, part 3: review.  A run leaves exceptions; people assign
-- them, propose decisions (match, unmatch, write_off, adjust, accept) and
-- a second user approves, rejects, or the maker withdraws them.  The
-- state machine and four eyes are held by the database (triggers), the
-- trail is append-only, a later run's match resolves an exception (and
-- supersedes a pending decision), and a run exports to CSV files with a
-- SHA-256 manifest.  Every refused call is checked to have written nothing.
\set SHOW_CONTEXT never
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM tpwallet.assets WHERE code = 'USD') THEN
		PERFORM tpwallet.create_asset('USD', 2, 'fiat');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM tpwallet.assets WHERE code = 'EUR') THEN
		PERFORM tpwallet.create_asset('EUR', 2, 'fiat');
	END IF;
END $$;

SELECT tpwallet.create_account('rv:bank:USD', 'ops', 'USD', 'debit') > 0
   AND tpwallet.create_account('rv:world:USD', 'ops', 'USD', 'debit', allow_negative => true) > 0
   AND tpwallet.create_account('rv:fees:USD', 'ops', 'USD', 'debit') > 0
   AND tpwallet.create_account('rv:income:USD', 'ops', 'USD', 'credit') > 0
   AND tpwallet.create_account('rv:bank:EUR', 'ops', 'EUR', 'debit') > 0
   AND tpwallet.create_account('rv:gl:USD', 'gl', 'USD', 'debit') > 0
   AND tpwallet.create_account('rv:closed:USD', 'ops', 'USD', 'debit') > 0 AS created;
SELECT tpwallet.close_account('rv:closed:USD') IS NULL AS closed;
SELECT tpwallet.create_recon_source('rv-ledger', 'ledger', '{"accounts": ["rv:bank:USD"]}') > 0 AS ledger_source;
SELECT tpwallet.create_recon_source('rv-bank', 'statement', '{"asset": "USD"}') > 0 AS statement_source;

-- The ledger: money in debits the bank account; the reference is the txid.
CREATE FUNCTION test.rv_post(amount numeric, ref text, at text) RETURNS boolean
LANGUAGE sql AS $$
	SELECT CASE WHEN amount > 0
	            THEN tpwallet.transfer('rv:bank:USD', 'rv:world:USD', amount, reference => ref, occurred_at => at::timestamptz)
	            ELSE tpwallet.transfer('rv:world:USD', 'rv:bank:USD', -amount, reference => ref, occurred_at => at::timestamptz)
	       END > 0
$$;
SELECT test.rv_post(100, 'p-1', '2024-07-01 10:00Z')   -- L1 = S1: the run matches them (then unmatched by hand)
   AND test.rv_post(250, 'p-2', '2024-07-01 11:00Z')   -- L2 ~ S2 (249): fee difference, matched by hand
   AND test.rv_post(60, 'p-4', '2024-07-01 09:00Z')    -- L4: its line comes the next day
   AND test.rv_post(33, 'p-5', '2024-07-01 12:00Z')    -- L5: no line
   AND test.rv_post(15, 'p-8', '2024-07-01 13:00Z')    -- L8: no line
   AS posted;
-- S3 a bank fee (written off), S6 interest (adjusted with an entry), S7 a
-- line with a comma and quotes in its reference (accepted), S9 in EUR.
SELECT tpwallet.import_statement('rv-bank', E'ext_id,amount,asset,occurred_at,txid,memo\n'
	'B1,100.00,USD,2024-07-01T10:05Z,p-1,exact\n'
	'B2,249.00,USD,2024-07-01T11:05Z,p-2,fee taken\n'
	'B3,-1.50,USD,2024-07-01T18:00Z,,bank fee\n'
	'B6,20.00,USD,2024-07-01T19:00Z,,interest\n'
	'"B,7 ""q""",7.00,USD,2024-07-01T20:00Z,,"memo, with comma"\n'
	'B9,5.00,EUR,2024-07-01T21:00Z,,euro\n'
	'B4,60.00,USD,2024-07-02T09:30Z,p-4,late\n') AS imported;

-- The superuser running the tests, whatever its name.
CREATE FUNCTION test.rv_who(login text) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN login = session_user AND login NOT LIKE 'regress\_rv\_%' THEN '(superuser)' ELSE login END
$$;
-- A readable name for every item, and the exceptions of a run by name.
CREATE FUNCTION test.rv_name(item bigint) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN i.entry_id IS NULL THEN 'S:' || i.ext_id ELSE 'L:' || (i.extra ->> 'reference') END
	  FROM tpwallet.recon_items i WHERE i.item_id = item
$$;
CREATE FUNCTION test.rv_exceptions(run bigint)
RETURNS TABLE (item text, class text, status text, assigned_to text, resolution text, decision text, by text)
LANGUAGE sql SECURITY DEFINER AS $$
	SELECT test.rv_name(x.item_id), x.class, x.status, x.assigned_to, x.resolution,
	       (SELECT d.action || ' ' || d.status FROM tpwallet.recon_decisions d WHERE d.decision_id = x.decision_id),
	       test.rv_who(x.resolved_by)
	  FROM tpwallet.recon_exceptions x WHERE x.run_id = run ORDER BY test.rv_name(x.item_id) COLLATE "C"
$$;
-- Everything the review writes, as one fingerprint: a refused call must
-- leave it as it was.
CREATE FUNCTION test.rv_state() RETURNS text LANGUAGE sql SECURITY DEFINER AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(concat_ws(',', x.exception_id, x.status, x.assigned_to, x.resolution, x.resolved_at, x.resolved_by,
		                             x.decision_id, x.match_id, x.score), ';' ORDER BY x.exception_id) FROM tpwallet.recon_exceptions x),
		(SELECT string_agg(concat_ws(',', d.decision_id, d.status, d.checker, d.checked_at, d.check_note, d.result), ';'
		                   ORDER BY d.decision_id) FROM tpwallet.recon_decisions d),
		(SELECT count(*) FROM tpwallet.recon_decision_log), (SELECT count(*) FROM tpwallet.recon_match_revocations),
		(SELECT count(*) FROM tpwallet.recon_matches), (SELECT count(*) FROM tpwallet.recon_match_items),
		(SELECT count(*) FROM tpwallet.journal), (SELECT count(*) FROM tpwallet.audit_log)))
$$;
-- Run a statement that must fail: its SQLSTATE and message (ids masked:
-- they depend on the earlier tests), and whether anything changed.
CREATE FUNCTION test.rv_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	before text := test.rv_state();
	r text := test.err(stmt);
BEGIN
	RETURN regexp_replace(replace(r, session_user::text, test.rv_who(session_user)),
	                      '\m(exceptions?|decisions?|match|run|item) [0-9]+(, [0-9]+)*', '\1 #', 'g')
	       || CASE WHEN test.rv_state() = before THEN ' [nothing written]' ELSE ' [CHANGED]' END;
END $$;

-- ===================================================== the run
SELECT tpwallet.reconcile('rv-bank', 'rv-ledger', '2024-07-01Z', '2024-07-02Z') AS run1 \gset
SELECT * FROM test.rv_exceptions(:run1);
SELECT max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'S:B2') AS s2,
       max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'L:p-2') AS l2,
       max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'S:B3') AS s3,
       max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'L:p-4') AS l4,
       max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'L:p-5') AS l5,
       max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'S:B6') AS s6,
       max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'S:B,7 "q"') AS s7,
       max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'L:p-8') AS l8,
       max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'S:B9') AS s9
  FROM tpwallet.recon_exceptions x WHERE x.run_id = :run1 \gset
SELECT m.match_id AS m1 FROM tpwallet.recon_matches m WHERE m.run_id = :run1 \gset

-- ===================================================== people
CREATE ROLE regress_rv_alice;   -- operator: works on exceptions
CREATE ROLE regress_rv_bob;     -- approver
CREATE ROLE regress_rv_carol;   -- operator and approver
CREATE ROLE regress_rv_dave;    -- reader
CREATE ROLE regress_rv_owner;   -- member of the tables' owner
GRANT tpwallet_operator TO regress_rv_alice, regress_rv_carol;
GRANT tpwallet_approver TO regress_rv_bob, regress_rv_carol;
GRANT tpwallet_reader TO regress_rv_dave;
GRANT tpwallet_owner TO regress_rv_owner;

-- ===================================================== assign
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT test.rv_try(format('SELECT tpwallet.recon_assign(%s)', -1));
SELECT test.rv_try(format('SELECT tpwallet.recon_assign(%s, %L)', :s2, 'regress_rv_nobody'));
SELECT test.rv_try(format('SELECT tpwallet.recon_assign(%s, %L)', :s2, 'regress_rv_bob'));   -- bob cannot propose
SELECT test.rv_try(format('SELECT tpwallet.recon_assign(%s, %L)', :s2, ' '));
SELECT tpwallet.recon_assign(:s2), tpwallet.recon_assign(:l2);                   -- to herself
SELECT tpwallet.recon_assign(:s3, 'regress_rv_carol'), tpwallet.recon_assign(:s3, 'regress_rv_alice');  -- reassigned
SELECT tpwallet.recon_assign(:s6), tpwallet.recon_assign(:s7), tpwallet.recon_assign(:s9),
       tpwallet.recon_assign(:l4), tpwallet.recon_assign(:l5);
SELECT tpwallet.recon_assign(:l8, 'regress_rv_carol');
SELECT test.rv_try(format('SELECT tpwallet.recon_assign(%s)', :s2)) AS again_is_a_no_op;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_dave;
SELECT test.rv_try(format('SELECT tpwallet.recon_assign(%s)', :s2));
RESET SESSION AUTHORIZATION;
SELECT item, status, assigned_to FROM test.rv_exceptions(:run1);
SELECT actor, object = 'exception ' || :s3 AS s3, detail ->> 'assignee' AS assignee, detail ->> 'previous' AS previous
  FROM tpwallet.audit_log WHERE action = 'recon_assign' AND object = 'exception ' || :s3 ORDER BY id;

-- ===================================================== proposals that are refused
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], %L)', 'merge', :s2, :l2, 'x'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], %L)', 'match', :s2, :l2, E' \n'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], NULL)', 'match', :s2, :l2));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, %L, %L)', 'match', '{}', 'x'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], %L)', 'match', :s2, :s2, 'x'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, NULL], %L)', 'match', :s2, 'x'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, -1], %L)', 'match', :s2, 'x'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L)', 'match', :s2, 'x'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], %L, %L)', 'match', :s2, :l2, 'x', '{"confidence": 1}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], %L, %L)', 'match', :s2, :l2, 'x', '[]'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L)', 'accept', :l8, 'x'));          -- carol's
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], %L)', 'accept', :s3, :s9, 'x')); -- USD and EUR
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'accept', :s3, 'x', '{"amount": 1}'));
-- write_off parameters
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L)', 'write_off', :s3, 'x'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s3, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:nobody"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s3, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": 7}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s3, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:fees:USD"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s3, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:bank:EUR"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s9, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:bank:USD"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s3, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:gl:USD"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s3, 'x',
	'{"debit_account": "rv:closed:USD", "credit_account": "rv:bank:USD"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s3, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:bank:USD", "amount": "-1.5"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s3, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:bank:USD", "amount": "1.505"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'write_off', :s3, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:bank:USD", "amount": "1e3"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], %L, %L)', 'write_off', :s2, :l2, 'x',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:bank:USD", "amount": "1", "memo": "typo"}'));
-- adjust parameters
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'adjust', :s6, 'x',
	'{"debit_account": "rv:bank:USD", "credit_account": "rv:income:USD"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'adjust', :s6, 'x',
	'{"book": "ops", "postings": [{"account": "rv:bank:USD", "side": "debit", "amount": "20"},
	                              {"account": "rv:income:USD", "side": "credit", "amount": "19.99"}]}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'adjust', :s6, 'x',
	'{"book": "ops", "postings": [{"account": "rv:bank:USD", "side": "debit", "amount": "20"}]}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'adjust', :s6, 'x',
	'{"book": "ledger", "postings": []}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'adjust', :s6, 'x',
	'{"book": "ops", "postings": [{"account": "rv:bank:USD", "side": "left", "amount": "20"},
	                              {"account": "rv:income:USD", "side": "credit", "amount": "20"}]}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'adjust', :s6, 'x',
	'{"book": "ops", "postings": [{"account": "rv:bank:USD", "side": "debit", "amount": "20", "memo": "x"},
	                              {"account": "rv:income:USD", "side": "credit", "amount": "20"}]}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'adjust', :s6, 'x',
	'{"book": "ops", "postings": [{"account": "rv:gl:USD", "side": "debit", "amount": "20"},
	                              {"account": "rv:income:USD", "side": "credit", "amount": "20"}]}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'adjust', :s6, 'x',
	'{"book": "ops", "postings": [{"account": "rv:bank:USD", "side": "debit", "amount": 20},
	                              {"account": "rv:income:USD", "side": "credit"}]}'));
-- unmatch parameters
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L, %L)', 'unmatch', :s2, 'x', '{"match_id": 1}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, %L, %L, %L)', 'unmatch', '{}', 'x', '{}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, %L, %L, %L)', 'unmatch', '{}', 'x', '{"match_id": "7"}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, %L, %L, %L)', 'unmatch', '{}', 'x', '{"match_id": -1}'));
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, %L, %L, %L)', 'unmatch', '{}', 'x', '{"match_id": 999999999}'));
RESET SESSION AUTHORIZATION;
-- exceptions that are open cannot get a decision; a reader cannot propose
SET SESSION AUTHORIZATION regress_rv_carol;
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L)', 'accept', :s2, 'x'));  -- alice's
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_dave;
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L)', 'accept', :s2, 'x'));
RESET SESSION AUTHORIZATION;
SELECT count(*) AS decisions FROM tpwallet.recon_decisions;

-- ===================================================== a manual match, approved by another user
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_propose('match', ARRAY[:s2, :l2], 'the bank took a fee of 1 from the wire') AS d_match \gset
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s], %L)', 'accept', :s2, 'x'));  -- already pending
SELECT test.rv_try(format('SELECT tpwallet.recon_assign(%s, %L)', :s2, 'regress_rv_carol'));         -- pending: no reassign
SELECT test.rv_try(format('SELECT tpwallet.recon_approve(%s)', :d_match));                             -- not an approver
RESET SESSION AUTHORIZATION;
SELECT item, status, decision FROM test.rv_exceptions(:run1) WHERE item IN ('S:B2', 'L:p-2');
SET SESSION AUTHORIZATION regress_rv_carol;
-- carol holds both roles: she may approve, but not what she made
SELECT tpwallet.recon_propose('accept', ARRAY[:l8], 'a test transfer, never sent to the bank') AS d_carol \gset
SELECT test.rv_try(format('SELECT tpwallet.recon_approve(%s)', :d_carol));
SELECT test.rv_try(format('SELECT tpwallet.recon_reject(%s, %L)', :d_carol, 'no'));
SELECT tpwallet.recon_approve(:d_match, 'checked against the wire confirmation') ? 'match_id' AS approved;
SELECT test.rv_try(format('SELECT tpwallet.recon_approve(%s)', :d_match));
SELECT test.rv_try(format('SELECT tpwallet.recon_reject(%s, %L)', :d_match, 'too late'));
SELECT test.rv_try(format('SELECT tpwallet.recon_approve(%s)', -1));
RESET SESSION AUTHORIZATION;
SELECT item, status, resolution, decision, by FROM test.rv_exceptions(:run1) WHERE item IN ('S:B2', 'L:p-2');
SELECT d.action, d.status, d.maker, d.checker, d.check_note, d.exception_ids = ARRAY[:s2, :l2]::bigint[] AS exceptions,
       d.result ->> 'left_total' AS left_total, d.result ->> 'right_total' AS right_total
  FROM tpwallet.recon_decisions d WHERE d.decision_id = :d_match;
SELECT (d.result ->> 'match_id')::bigint AS m_manual FROM tpwallet.recon_decisions d WHERE d.decision_id = :d_match \gset
SELECT m.rule, m.confidence, m.run_id = :run1 AS in_run1,
       (SELECT string_agg(mi.side || ' ' || test.rv_name(mi.item_id), ', ' ORDER BY mi.side, mi.item_id)
          FROM tpwallet.recon_match_items mi WHERE mi.match_id = m.match_id) AS items,
       (SELECT bool_and(x.match_id = m.match_id) FROM tpwallet.recon_exceptions x WHERE x.exception_id IN (:s2, :l2)) AS on_exceptions
  FROM tpwallet.recon_matches m WHERE m.match_id = :m_manual;
SELECT event, actor, detail - 'exceptions' - 'match_id' AS detail, detail ->> 'match_id' = :'m_manual' AS match_id
  FROM tpwallet.recon_decision_log WHERE decision_id = :d_match ORDER BY log_id;
SELECT action, actor, detail ->> 'action' AS decision, detail ->> 'maker' AS maker
  FROM tpwallet.audit_log WHERE object = 'decision ' || :d_match ORDER BY id;

-- ===================================================== write-off: a ledger entry
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_propose('write_off', ARRAY[:s3], 'bank fee for June, below the booking threshold',
	'{"debit_account": "rv:fees:USD", "credit_account": "rv:bank:USD"}') AS d_wo \gset
RESET SESSION AUTHORIZATION;
SELECT params FROM tpwallet.recon_decisions WHERE decision_id = :d_wo;
SET SESSION AUTHORIZATION regress_rv_bob;
SELECT (tpwallet.recon_approve(:d_wo) ->> 'entry_id')::bigint AS e_wo \gset
RESET SESSION AUTHORIZATION;
SELECT e.kind, e.reference = 'recon:decision:' || :d_wo AS reference, e.idempotency_key = e.reference AS key,
       e.metadata = jsonb_build_object('recon_decision', :d_wo) AS metadata, e.created_by
  FROM tpwallet.entries e WHERE e.entry_id = :e_wo;
SELECT leg, account, side, amount FROM tpwallet.entry_postings WHERE entry_id = :e_wo ORDER BY leg;
SELECT item, status, resolution, by FROM test.rv_exceptions(:run1) WHERE item = 'S:B3';

-- ===================================================== adjust: an entry with postings
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_propose('adjust', ARRAY[:s6], 'interest credited by the bank, not booked yet',
	'{"book": "ops", "postings": [{"account": "rv:bank:USD", "side": "debit", "amount": 20},
	                              {"account": "rv:income:USD", "side": "credit", "amount": "20.00"}]}') AS d_adj \gset
RESET SESSION AUTHORIZATION;
SELECT params FROM tpwallet.recon_decisions WHERE decision_id = :d_adj;
SET SESSION AUTHORIZATION regress_rv_bob;
SELECT (tpwallet.recon_approve(:d_adj, ' ') ->> 'entry_id')::bigint AS e_adj \gset
RESET SESSION AUTHORIZATION;
SELECT e.kind, e.reference = 'recon:decision:' || :d_adj AS reference, e.metadata ->> 'recon_decision' = :'d_adj' AS metadata
  FROM tpwallet.entries e WHERE e.entry_id = :e_adj;
SELECT leg, account, side, amount FROM tpwallet.entry_postings WHERE entry_id = :e_adj ORDER BY leg;
SELECT check_note IS NULL AS blank_note_is_none FROM tpwallet.recon_decisions WHERE decision_id = :d_adj;

-- ===================================================== rejected, revoked, then accepted
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_propose('accept', ARRAY[:s7], 'a refund the customer sent twice') AS d_rej \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_bob;
SELECT test.rv_try(format('SELECT tpwallet.recon_reject(%s, %L)', :d_rej, ''));
SELECT tpwallet.recon_reject(:d_rej, 'a refund is not accepted: book it');
RESET SESSION AUTHORIZATION;
SELECT item, status, assigned_to, decision FROM test.rv_exceptions(:run1) WHERE item = 'S:B,7 "q"';
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT test.rv_try(format('SELECT tpwallet.recon_revoke(%s)', :d_rej));     -- it is rejected already
SELECT test.rv_try(format('SELECT tpwallet.recon_reject(%s, %L)', :d_rej, 'x'));
SELECT tpwallet.recon_propose('accept', ARRAY[:s7], 'second try') AS d_rev \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_carol;
SELECT test.rv_try(format('SELECT tpwallet.recon_revoke(%s)', :d_rev));     -- only the maker withdraws
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_revoke(:d_rev, 'wrong exception');
SELECT test.rv_try(format('SELECT tpwallet.recon_approve(%s)', :d_rev));
SELECT tpwallet.recon_propose('accept', ARRAY[:s7], E'the customer''s second transfer,\nreturned on 2 July: "no action"') AS d_acc \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_bob;
SELECT test.rv_try(format('SELECT tpwallet.recon_approve(%s)', :d_rev));
SELECT tpwallet.recon_approve(:d_acc) AS result;
RESET SESSION AUTHORIZATION;
SELECT d.decision_id - :d_rej AS n, d.action, d.status, d.maker, d.checker, d.check_note
  FROM tpwallet.recon_decisions d WHERE d.decision_id IN (:d_rej, :d_rev, :d_acc) ORDER BY d.decision_id;
SELECT g.decision_id - :d_rej AS n, g.event, g.actor, g.detail ->> 'note' AS note
  FROM tpwallet.recon_decision_log g WHERE g.decision_id IN (:d_rej, :d_rev, :d_acc) ORDER BY g.log_id;
SELECT item, status, resolution, by FROM test.rv_exceptions(:run1) WHERE item = 'S:B,7 "q"';

-- ===================================================== unmatch a run's match
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_propose('unmatch', NULL, 'B1 was a different wire of the same amount',
                              jsonb_build_object('match_id', :m1)) AS d_un \gset
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, %L, %L, %L)', 'unmatch', '{}', 'again',
                          jsonb_build_object('match_id', :m1)));
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_bob;
SELECT tpwallet.recon_approve(:d_un) - 'reopened' - 'opened' - 'match_id' AS rest;
RESET SESSION AUTHORIZATION;
SELECT v.match_id = :m1 AS revoked, v.run_id = :run1 AS in_run1, v.revoked_by,
       (SELECT count(*) FROM tpwallet.recon_match_items mi WHERE mi.match_id = :m1) AS match_items_kept
  FROM tpwallet.recon_match_revocations v WHERE v.decision_id = :d_un;
SELECT item, class, status FROM test.rv_exceptions(:run1) WHERE item IN ('S:B1', 'L:p-1');
SELECT jsonb_array_length(result -> 'opened') AS opened, jsonb_array_length(result -> 'reopened') AS reopened
  FROM tpwallet.recon_decisions WHERE decision_id = :d_un;
SELECT max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'S:B1') AS s1,
       max(x.exception_id) FILTER (WHERE test.rv_name(x.item_id) = 'L:p-1') AS l1
  FROM tpwallet.recon_exceptions x WHERE x.run_id = :run1 \gset
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, %L, %L, %L)', 'unmatch', '{}', 'again',
                          jsonb_build_object('match_id', :m1)));
SELECT tpwallet.recon_assign(:s1), tpwallet.recon_assign(:l1);
-- the run's one-use-per-run index keeps the items of a revoked match: a
-- later run matches them
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], %L)', 'match', :s1, :l1, 'rematch'));

-- unmatching the manual match reopens the exceptions it resolved
SELECT tpwallet.recon_propose('unmatch', '{}', 'matched the wrong wire', jsonb_build_object('match_id', :m_manual)) AS d_un2 \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_carol;
SELECT jsonb_array_length(tpwallet.recon_approve(:d_un2) -> 'reopened') AS reopened;
RESET SESSION AUTHORIZATION;
SELECT item, class, status, assigned_to, resolution, decision, by FROM test.rv_exceptions(:run1) WHERE item IN ('S:B2', 'L:p-2');
SELECT count(*) AS exceptions_of_run1 FROM tpwallet.recon_exceptions WHERE run_id = :run1;

-- ===================================================== a later run resolves, and supersedes
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_propose('accept', ARRAY[:l4, :l5], 'posted twice by the payment gateway?') AS d_sup \gset
RESET SESSION AUTHORIZATION;
SELECT tpwallet.reconcile('rv-bank', 'rv-ledger', '2024-07-02Z', '2024-07-03Z', '{"time_window": "2 days"}') AS run2 \gset
SELECT mi.match_id AS m_late FROM tpwallet.recon_match_items mi
 WHERE mi.run_id = :run2 AND test.rv_name(mi.item_id) = 'L:p-4' \gset
SELECT min(x.exception_id) AS x2 FROM tpwallet.recon_exceptions x WHERE x.run_id = :run2 \gset
-- what the engine calls after recording a run's matches
SELECT test.rv_try(format('SELECT tpwallet._recon_auto_resolve(ARRAY[%s], %s)', :l5, :run2));       -- L5 is not matched
SELECT test.rv_try(format('SELECT tpwallet._recon_auto_resolve(ARRAY[%s], %s)', :l4, -1));
SELECT test.rv_try(format('SELECT tpwallet._recon_auto_resolve(ARRAY[%s], %s)', -1, :run2));
SELECT test.rv_try(format('SELECT tpwallet._recon_auto_resolve(ARRAY[%s], %s)', :x2, :run2));       -- not of an earlier run
SELECT test.rv_try(format('SELECT tpwallet._recon_auto_resolve(ARRAY[%s], %s)', :l4, :run1));
SELECT tpwallet._recon_auto_resolve(ARRAY[:l4, :s3], :run2) AS resolved;   -- S3 is resolved already: left as it is
SELECT tpwallet._recon_auto_resolve(ARRAY[:l4], :run2) AS resolved_again;
SELECT tpwallet._recon_auto_resolve('{}', :run2) AS nothing;
SELECT item, status, assigned_to, resolution, decision, by FROM test.rv_exceptions(:run1) WHERE item IN ('L:p-4', 'L:p-5', 'S:B3');
SELECT x.match_id = :m_late AS late_match FROM tpwallet.recon_exceptions x WHERE x.exception_id = :l4;
SELECT d.status, d.checker IS NULL AS no_checker, d.check_note ~ '^run [0-9]+ matched exceptions [0-9]+ first$' AS note
  FROM tpwallet.recon_decisions d WHERE d.decision_id = :d_sup;
SELECT event, test.rv_who(actor) AS actor, detail ->> 'run_id' = :'run2' AS run,
       detail -> 'matched' = jsonb_build_array(:l4) AS matched, detail -> 'returned' = jsonb_build_array(:l5) AS returned
  FROM tpwallet.recon_decision_log WHERE decision_id = :d_sup ORDER BY log_id;
SELECT action, detail ->> 'resolved' AS resolved FROM tpwallet.audit_log WHERE action = 'recon_auto_resolve' ORDER BY id;
-- unmatching that match reopens the earlier run's exception it resolved,
-- and gives its items exceptions in its own run, as if it had not matched;
-- the item's open exception is then its own run's (the reopened one is
-- 'carried' into it)
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_propose('unmatch', '{}', 'the late line is another payment', jsonb_build_object('match_id', :m_late)) AS d_un3 \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_bob;
SELECT r -> 'reopened' = jsonb_build_array(:l4) AS reopened_l4, jsonb_array_length(r -> 'opened') AS opened
  FROM tpwallet.recon_approve(:d_un3) r;
RESET SESSION AUTHORIZATION;
SELECT item, status, resolution FROM test.rv_exceptions(:run1) WHERE item = 'L:p-4';
SELECT item, class, status FROM test.rv_exceptions(:run2) WHERE item IN ('L:p-4', 'S:B4');
SELECT test.rv_try(format('SELECT tpwallet._recon_auto_resolve(ARRAY[%s], %s)', :l4, :run2));       -- the match is revoked
-- one decision, one run (S:B4 is open in run 2: the unmatch gave it its
-- exception there; run 2's other exceptions continue run 1's, 'carried')
SELECT x.exception_id AS x2open FROM tpwallet.recon_exceptions x
 WHERE x.run_id = :run2 AND test.rv_name(x.item_id) = 'S:B4' AND x.status = 'open' \gset
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_assign(:x2open);
SELECT test.rv_try(format('SELECT tpwallet.recon_propose(%L, ARRAY[%s, %s], %L)', 'accept', :l5, :x2open, 'x'));
RESET SESSION AUTHORIZATION;

-- ===================================================== an approval whose entry fails writes nothing
-- (the fees account holds 1.5: crediting it 33 would overdraw it)
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_propose('write_off', ARRAY[:l5], 'wrong direction',
	'{"debit_account": "rv:bank:USD", "credit_account": "rv:fees:USD"}') AS d_fail \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rv_bob;
SELECT test.rv_try(format('SELECT tpwallet.recon_approve(%s)', :d_fail));
RESET SESSION AUTHORIZATION;
SELECT status FROM tpwallet.recon_decisions WHERE decision_id = :d_fail;
SET SESSION AUTHORIZATION regress_rv_alice;
SELECT tpwallet.recon_revoke(:d_fail);
RESET SESSION AUTHORIZATION;

-- ===================================================== the database holds the state machine
-- (even a superuser writing by hand)
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET class = 'timing' WHERE exception_id = %s$$, :l8));
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET item_id = item_id + 1 WHERE exception_id = %s$$, :l8));
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET status = 'resolved', resolution = 'accepted',
	resolved_at = now(), resolved_by = current_user WHERE exception_id = %s$$, :l5));                   -- assigned -> resolved
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET status = 'open', assigned_to = NULL WHERE exception_id = %s$$, :l5));
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET status = 'pending_approval', decision_id = %s
	WHERE exception_id = %s$$, :d_acc, :l5));                                                             -- an approved decision
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET status = 'assigned', decision_id = NULL WHERE exception_id = %s$$, :l8));
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET resolution = 'accepted' WHERE exception_id = %s$$, :s3));
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET status = 'open', resolution = NULL, resolved_at = NULL,
	resolved_by = NULL, assigned_to = NULL, decision_id = NULL WHERE exception_id = %s$$, :s3));          -- written off stays
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET status = 'resolved', resolution = 'matched', match_id = %s,
	resolved_at = now(), resolved_by = session_user WHERE exception_id = %s$$, :m1, :l5));                 -- a revoked match
SELECT test.rv_try($$DELETE FROM tpwallet.recon_exceptions$$);
SELECT test.rv_try(format($$UPDATE tpwallet.recon_decisions SET reason = 'better reason' WHERE decision_id = %s$$, :d_acc));
SELECT test.rv_try(format($$UPDATE tpwallet.recon_decisions SET params = '{}' WHERE decision_id = %s$$, :d_wo));
SELECT test.rv_try(format($$UPDATE tpwallet.recon_decisions SET status = 'rejected', check_note = 'x' WHERE decision_id = %s$$, :d_acc));
SELECT test.rv_try(format($$UPDATE tpwallet.recon_decisions SET checker = 'regress_rv_bob', status = 'approved',
	checked_at = now(), result = '{}' WHERE decision_id = %s$$, :d_carol));                                -- not who is logged in
SELECT test.rv_try(format($$UPDATE tpwallet.recon_decisions SET check_note = 'x' WHERE decision_id = %s$$, :d_carol));
SELECT test.rv_try($$DELETE FROM tpwallet.recon_decisions$$);
SELECT test.rv_try($$UPDATE tpwallet.recon_decision_log SET actor = 'someone else'$$);
SELECT test.rv_try($$DELETE FROM tpwallet.recon_decision_log$$);
SELECT test.rv_try($$TRUNCATE tpwallet.recon_decision_log$$);
SELECT test.rv_try($$UPDATE tpwallet.recon_match_revocations SET revoked_by = 'x'$$);
SELECT test.rv_try($$DELETE FROM tpwallet.recon_match_revocations$$);
-- a score may change (the scoring pass sets it)
UPDATE tpwallet.recon_exceptions SET score = 0.25 WHERE exception_id = :l8;
UPDATE tpwallet.recon_exceptions SET score = NULL WHERE exception_id = :l8;
-- the four-eyes rule is also a constraint of the table
SELECT conname FROM pg_constraint WHERE conrelid = 'tpwallet.recon_decisions'::regclass AND contype = 'c' ORDER BY 1;
-- the owner cannot skip states, nor drop or disable the state machines
SET ROLE regress_rv_owner;
SET ROLE tpwallet_owner;
SELECT test.rv_try(format($$UPDATE tpwallet.recon_exceptions SET status = 'resolved', resolution = 'accepted',
	resolved_at = now(), resolved_by = current_user WHERE exception_id = %s$$, :l8));
SELECT test.rv_try($$DROP TRIGGER tpwallet_guard_workflow ON tpwallet.recon_exceptions$$);
SELECT test.rv_try($$ALTER TABLE tpwallet.recon_decisions DISABLE TRIGGER tpwallet_guard_workflow$$);
SELECT test.rv_try($$ALTER TABLE tpwallet.recon_decisions DISABLE TRIGGER ALL$$);
RESET ROLE;
SELECT tpwallet._guards_intact();

-- ===================================================== the trail
SELECT action, count(*) FROM tpwallet.audit_log
 WHERE action IN ('recon_assign', 'recon_propose', 'recon_approve', 'recon_reject', 'recon_revoke', 'recon_auto_resolve')
 GROUP BY action ORDER BY action;
-- every decision was proposed once, and every closed one has its outcome (and, approved, its application) once
SELECT d.status, count(*) AS decisions,
       bool_and((SELECT count(*) FROM tpwallet.recon_decision_log g WHERE g.decision_id = d.decision_id AND g.event = 'proposed') = 1) AS proposed,
       bool_and((SELECT count(*) FROM tpwallet.recon_decision_log g WHERE g.decision_id = d.decision_id AND g.event = d.status)
                = CASE d.status WHEN 'pending' THEN 0 ELSE 1 END) AS outcome,
       bool_and((SELECT count(*) FROM tpwallet.recon_decision_log g WHERE g.decision_id = d.decision_id AND g.event = 'applied')
                = CASE d.status WHEN 'approved' THEN 1 ELSE 0 END) AS applied
  FROM tpwallet.recon_decisions d GROUP BY d.status ORDER BY d.status;
SELECT * FROM test.rv_exceptions(:run1);

-- ===================================================== export
-- the record format: quoted when a field holds a comma, a quote or a line
-- break, or begins or ends with white space (ASCII or Unicode, e.g. a
-- no-break or an ideographic space); quotes doubled; NULL is empty
SELECT replace(replace(tpwallet._csv_record(VARIADIC f), E'\r', '<CR>'), E'\n', '<LF>') AS record
  FROM (VALUES (ARRAY['plain', 'a,b', 'say "hi"', 'two' || E'\n' || 'lines', 'cr' || E'\r', '', NULL]),
               (ARRAY[' lead', 'trail ', E'\ttab', 'in side', U&'\00A0nbsp', U&'ideo\3000', U&'caf\00e9', U&'\20ac 5']),
               (ARRAY['x'])) v (f);
SELECT tpwallet._csv_record(VARIADIC '{}'::text[]) IS NULL AS no_fields_no_record;
-- times: UTC, microseconds, whatever the session's time zone; to_char's
-- forms beyond year 9999 and before year 1; infinities are NULL
SET TimeZone = 'America/New_York';
SELECT tpwallet._recon_utc(t) AS utc
  FROM unnest(ARRAY['2026-05-01 06:00:00.123456-04', '2024-02-29 23:59:59.999999+00', '0001-01-01 00:00:00+00',
                    '10000-01-01 00:00:00+00', '0044-03-15 12:00:00+00 BC', 'infinity', '-infinity']::timestamptz[]) t;
RESET TimeZone;
SELECT test.rv_try(format('SELECT * FROM tpwallet.recon_export(%s)', -1));
SELECT file, sha256 = encode(sha256(convert_to(content, 'UTF8')), 'hex') AS sha256_of_content
  FROM tpwallet.recon_export(:run1);
-- the manifest (hashes, ids and sizes masked: they depend on earlier tests)
SELECT regexp_replace(regexp_replace(regexp_replace(content, '[0-9a-f]{64}', '<sha256>', 'g'),
                                     'run_id: [0-9]+', 'run_id: #'), '[0-9]+ bytes', '# bytes', 'g') AS manifest
  FROM tpwallet.recon_export(:run1) WHERE file = 'manifest.txt';
-- its sha256sum lines name every other file with that file's SHA-256, its sizes are the byte counts
WITH e AS (SELECT * FROM tpwallet.recon_export(:run1)),
l AS (SELECT regexp_split_to_table(e.content, E'\n') AS line FROM e WHERE e.file = 'manifest.txt')
SELECT e.file, h.m[1] = encode(sha256(convert_to(e.content, 'UTF8')), 'hex') AS hash_ok,
       b.m[1]::int = octet_length(convert_to(e.content, 'UTF8')) AS size_ok
  FROM e
  JOIN (SELECT regexp_match(l.line, '^([0-9a-f]{64})  (\S+)$') AS m FROM l) h ON h.m[2] = e.file
  JOIN (SELECT regexp_match(l.line, '^# file: (?:\S+) ([0-9]+) bytes') AS m, (regexp_match(l.line, '^# file: (\S+)'))[1] AS f FROM l) b
    ON b.f = e.file
 ORDER BY e.file;
-- the same bytes again, and in another time zone and date style
SELECT string_agg(sha256, ' ' ORDER BY file) AS hashes FROM tpwallet.recon_export(:run1) \gset
SELECT string_agg(sha256, ' ' ORDER BY file) = :'hashes' AS same_bytes FROM tpwallet.recon_export(:run1);
SET TimeZone = 'Asia/Tokyo';
SET DateStyle = 'German, DMY';
SELECT string_agg(sha256, ' ' ORDER BY file) = :'hashes' AS same_bytes_elsewhere FROM tpwallet.recon_export(:run1);
RESET TimeZone;
RESET DateStyle;
-- every CSV is RFC 4180 with CRLF records: the strict reader reads it back, every record as wide as its header
SELECT e.file, count(*) AS records, min(cardinality(r.fields)) = max(cardinality(r.fields)) AS rectangular,
       e.content ~ E'^[^\n]*\r\n' AND right(e.content, 2) = E'\r\n' AS crlf
  FROM tpwallet.recon_export(:run1) e, tpwallet._csv_rows(e.content) r WHERE e.file LIKE '%.csv' GROUP BY e.file, e.content ORDER BY e.file;
SELECT e.file, tpwallet._csv_header(e.content) AS header FROM tpwallet.recon_export(:run1) e WHERE e.file LIKE '%.csv' ORDER BY e.file;
-- matches: exact amounts, UTC times, the revoked match marked
SELECT r.fields[3] AS rule, r.fields[4] AS confidence, r.fields[5] AS side, r.fields[7] AS source, r.fields[8] AS ext_id,
       r.fields[10] AS amount, r.fields[11] AS asset, r.fields[12] AS occurred_at, r.fields[13] <> '' AS revoked
  FROM tpwallet.recon_export(:run1) e, tpwallet._csv_rows(e.content) r
 WHERE e.file = 'matches.csv' AND r.record_no > 1 ORDER BY r.record_no;
-- exceptions: the quoted reference comes back as it was
SELECT r.fields[5] AS ext_id, r.fields[7] AS class, r.fields[8] AS status, r.fields[9] AS resolution, r.fields[11] AS amount,
       r.fields[13] AS occurred_at, r.fields[15] AS assigned_to, test.rv_who(r.fields[19]) AS resolved_by
  FROM tpwallet.recon_export(:run1) e, tpwallet._csv_rows(e.content) r
 WHERE e.file = 'exceptions.csv' AND r.record_no > 1 ORDER BY r.record_no;
-- decisions: a reason with a comma, quotes and a line break round-trips
SELECT r.fields[3] AS action, r.fields[10] AS status, r.fields[8] AS maker, r.fields[11] AS checker,
       r.fields[6] = d.reason AS reason_ok, r.fields[7]::jsonb = d.params AS params_ok,
       r.fields[4] = array_to_string(d.exception_ids, ' ') AS exceptions_ok
  FROM tpwallet.recon_export(:run1) e, tpwallet._csv_rows(e.content) r
  JOIN tpwallet.recon_decisions d ON d.decision_id::text = r.fields[1]
 WHERE e.file = 'decisions.csv' ORDER BY d.decision_id;
SELECT count(*) AS log_records FROM tpwallet.recon_export(:run1) e, tpwallet._csv_rows(e.content) r
 WHERE e.file = 'decision_log.csv' AND r.record_no > 1;
-- a reader exports
SET SESSION AUTHORIZATION regress_rv_dave;
SELECT count(*) AS files FROM tpwallet.recon_export(:run1);
RESET SESSION AUTHORIZATION;

DROP OWNED BY regress_rv_alice, regress_rv_bob, regress_rv_carol, regress_rv_dave, regress_rv_owner;
DROP ROLE regress_rv_alice, regress_rv_bob, regress_rv_carol, regress_rv_dave, regress_rv_owner;
