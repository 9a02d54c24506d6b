-- Invariants under a random workload, checked against an independent model.
-- Transfers, multi-leg entries with fees, batches, holds (post, partial
-- post, void), reversals and idempotent replays run in random order; the
-- test keeps its own model of every balance and then checks that the
-- ledger agrees with it and with itself.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(21);

\o /dev/null
SELECT setseed(0.42);
SELECT tpwallet.create_asset('USD', 2, 'fiat');
SELECT tpwallet.create_asset('BTC', 8);
SELECT tpwallet.create_account('world:' || a, 'ops', a, 'debit', true) FROM unnest(ARRAY['USD', 'BTC']) a;
SELECT tpwallet.create_account('fees:' || a, 'ops', a, 'credit') FROM unnest(ARRAY['USD', 'BTC']) a;
SELECT tpwallet.create_account(format('u%s:%s', i, a), 'ops', a, 'credit')
  FROM generate_series(1, 40) i, unnest(ARRAY['USD', 'BTC']) a;

-- the model: expected normal-side balance of every account
CREATE TEMP TABLE model (account text PRIMARY KEY, balance numeric NOT NULL, debit_normal boolean NOT NULL);
INSERT INTO model SELECT code, 0, normal_side = 'debit' FROM tpwallet.accounts;
CREATE TEMP TABLE stats (what text PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO stats (what) VALUES ('transfer'), ('entry'), ('hold_post'), ('hold_void'), ('reversal'),
	('replay'), ('refused_overdraft'), ('refused_reversal');

CREATE FUNCTION pg_temp.move(debit text, credit text, amount numeric) RETURNS void LANGUAGE sql AS $$
	UPDATE model SET balance = balance + CASE WHEN debit_normal THEN amount ELSE -amount END WHERE account = debit;
	UPDATE model SET balance = balance + CASE WHEN debit_normal THEN -amount ELSE amount END WHERE account = credit;
$$;
CREATE FUNCTION pg_temp.bump(w text) RETURNS void LANGUAGE sql AS $$
	UPDATE stats SET n = n + 1 WHERE what = w;
$$;

-- fund everybody in one batch
SELECT count(*) FROM tpwallet.post_batch((
	SELECT jsonb_agg(jsonb_build_object('debit_account', 'world:' || a, 'credit_account', format('u%s:%s', i, a),
	                                    'amount', CASE a WHEN 'USD' THEN '500.00' ELSE '0.5' END))
	  FROM generate_series(1, 40) i, unnest(ARRAY['USD', 'BTC']) a));
SELECT pg_temp.move('world:' || a, format('u%s:%s', i, a), CASE a WHEN 'USD' THEN 500.00 ELSE 0.5 END)
  FROM generate_series(1, 40) i, unnest(ARRAY['USD', 'BTC']) a;

DO $$
DECLARE
	op int; a text; x text; y text; amt numeric; fee numeric; id bigint; h bigint; k text;
	entry_ids bigint[] := '{}';
	r record;
BEGIN
	FOR step IN 1..1500 LOOP
		op := floor(random() * 10);
		a := CASE WHEN random() < 0.7 THEN 'USD' ELSE 'BTC' END;
		x := format('u%s:%s', 1 + floor(random() * 40)::int, a);
		y := format('u%s:%s', 1 + floor(random() * 40)::int, a);
		IF x = y THEN y := 'fees:' || a; END IF;
		amt := CASE a WHEN 'USD' THEN round((random() * 80)::numeric, 2) + 0.01
		              ELSE round((random() * 0.08)::numeric, 8) + 0.00000001 END;
		BEGIN
			IF op <= 3 THEN                                    -- plain transfer
				id := tpwallet.transfer(x, y, amt);
				PERFORM pg_temp.move(x, y, amt); PERFORM pg_temp.bump('transfer');
				entry_ids := entry_ids || id;
			ELSIF op = 4 THEN                                  -- payment with a fee, three legs
				fee := CASE a WHEN 'USD' THEN 0.25 ELSE 0.00001 END;
				id := tpwallet.post_entry('ops', jsonb_build_array(
					jsonb_build_object('account', x, 'side', 'debit', 'amount', (amt + fee)::text),
					jsonb_build_object('account', y, 'side', 'credit', 'amount', amt::text),
					jsonb_build_object('account', 'fees:' || a, 'side', 'credit', 'amount', fee)));
				PERFORM pg_temp.move(x, y, amt); PERFORM pg_temp.move(x, 'fees:' || a, fee);
				PERFORM pg_temp.bump('entry');
				entry_ids := entry_ids || id;
			ELSIF op = 5 THEN                                  -- hold, then post part of it
				h := tpwallet.hold(x, y, amt);
				id := tpwallet.post_hold(h, amt / 2 - (amt / 2) % CASE a WHEN 'USD' THEN 0.01 ELSE 0.00000001 END);
				SELECT amount INTO fee FROM tpwallet.hold_resolutions WHERE hold_id = h;
				PERFORM pg_temp.move(x, y, fee); PERFORM pg_temp.bump('hold_post');
				entry_ids := entry_ids || id;
			ELSIF op = 6 THEN                                  -- hold, then void
				h := tpwallet.hold(x, y, amt);
				PERFORM tpwallet.void_hold(h); PERFORM pg_temp.bump('hold_void');
			ELSIF op = 7 AND array_length(entry_ids, 1) > 0 THEN -- reverse a random earlier entry
				id := entry_ids[1 + floor(random() * array_length(entry_ids, 1))::int];
				BEGIN
					PERFORM tpwallet.reverse_entry(id, 'random reversal');
					FOR r IN SELECT account, side, amount FROM tpwallet.entry_postings WHERE entry_id = id LOOP
						UPDATE model SET balance = balance + CASE WHEN (r.side = 'debit') = debit_normal
						                                          THEN -r.amount ELSE r.amount END
						 WHERE account = r.account;
					END LOOP;
					PERFORM pg_temp.bump('reversal');
				EXCEPTION WHEN SQLSTATE 'TW001' OR SQLSTATE 'TW008' THEN
					PERFORM pg_temp.bump('refused_reversal');
				END;
			ELSE                                               -- batch with a key, sent twice
				k := 'k' || step;
				id := (SELECT min(t) FROM tpwallet.post_batch(jsonb_build_array(
					jsonb_build_object('debit_account', x, 'credit_account', y, 'amount', amt::text, 'idempotency_key', k))) t);
				IF (SELECT min(t) FROM tpwallet.post_batch(jsonb_build_array(
					jsonb_build_object('debit_account', x, 'credit_account', y, 'amount', amt::text, 'idempotency_key', k))) t) <> id THEN
					RAISE EXCEPTION 'replay returned another id';
				END IF;
				PERFORM pg_temp.move(x, y, amt); PERFORM pg_temp.bump('replay');
				entry_ids := entry_ids || id;
			END IF;
		EXCEPTION WHEN SQLSTATE 'TW001' THEN
			PERFORM pg_temp.bump('refused_overdraft');
		END;
	END LOOP;
END $$;

\o
SELECT cmp_ok((SELECT n FROM stats WHERE what = 'transfer'), '>', 100, 'many transfers succeeded');
SELECT cmp_ok((SELECT n FROM stats WHERE what = 'refused_overdraft'), '>', 0, 'some overdrafts were refused');
SELECT cmp_ok((SELECT n FROM stats WHERE what = 'reversal'), '>', 10, 'reversals happened');

SELECT is_empty($$SELECT * FROM tpwallet.check_balances()$$, 'stored totals equal the sums of postings');
SELECT is_empty($$SELECT * FROM tpwallet.check_pending()$$, 'pending totals equal the open holds');
SELECT is_empty($$SELECT m.account, m.balance, b.balance FROM model m JOIN tpwallet.account_balances b ON b.account = m.account
                  WHERE m.balance <> b.balance$$, 'every balance equals the independent model');
SELECT is_empty($$SELECT p.entry_id, a.asset FROM tpwallet.postings p JOIN tpwallet.accounts a ON a.id = p.account_id
                  GROUP BY 1, 2 HAVING sum(p.amount) <> 0$$, 'every entry balances per asset');
SELECT is_empty($$SELECT asset FROM tpwallet.account_balances GROUP BY asset HAVING sum(debits_posted) <> sum(credits_posted)$$,
                'debits equal credits per asset over all accounts');
SELECT is_empty($$SELECT account FROM tpwallet.account_details WHERE NOT allow_negative AND available < 0$$,
                'no account without allow_negative is below zero');
SELECT is_empty($$SELECT code FROM tpwallet.accounts WHERE tpwallet.balance_at(code, now()) <> tpwallet.balance(code)$$,
                'balance_at(now) equals balance for every account');
SELECT is((SELECT count(*) FROM tpwallet.journal WHERE idempotency_key IS NOT NULL)::int,
          (SELECT n FROM stats WHERE what = 'replay'), 'replayed batches posted exactly once');
\o /dev/null
SELECT tpwallet.fold_deltas();
\o
SELECT is((SELECT count(*) FROM tpwallet.account_deltas)::int, 0, 'no balance deltas left after a fold');
SELECT is_empty($$SELECT m.account FROM model m JOIN tpwallet.account_balances b ON b.account = m.account
                  WHERE m.balance <> b.balance$$, 'balances unchanged by the fold');
SELECT cmp_ok(tpwallet.seal(), '>', 0::bigint, 'seal seals the workload');
SELECT ok((SELECT bool_and(ok) FROM tpwallet.verify_ledger()), 'the ledger verifies');
SELECT ok((SELECT bool_and(tpwallet.verify_proof(tpwallet.prove_entry(id))) FROM tpwallet.journal WHERE id % 7 = 0),
          'inclusion proofs of a sample of entries verify');


-- balance_at from both ends of an account's history: with more postings
-- after `at` than its tail limit (10,000) it sums the head, with fewer it
-- takes the totals less the tail; both agree with the postings' sums
\o /dev/null
SELECT tpwallet.create_account('busy:USD', 'ops', 'USD', 'credit');
SELECT count(*) FROM tpwallet.post_batch((
	SELECT jsonb_agg(jsonb_build_object('debit_account', 'world:USD', 'credit_account', 'busy:USD',
	                                    'amount', (1 + i % 97) * 0.01,
	                                    'occurred_at', timestamptz '2026-01-01 00:00+00' + i * interval '1 minute'))
	  FROM generate_series(1, 10050) i));
\o
SELECT is((SELECT count(*) FROM tpwallet.postings p JOIN tpwallet.accounts a ON a.id = p.account_id
            WHERE a.code = 'busy:USD' AND p.occurred_at > '2026-01-01 00:30+00')::int, 10020,
          'the busy account has more postings after 00:30 than balance_at''s tail limit');
SELECT is_empty($$SELECT t FROM unnest(ARRAY['2025-12-31 00:00+00', '2026-01-01 00:30+00', '2026-01-01 01:00+00',
                                             '2026-01-05 00:00+00', '2026-01-07 23:30+00', '2099-01-01 00:00+00']::timestamptz[]) t
                  WHERE tpwallet.balance_at('busy:USD', t) IS DISTINCT FROM
                        (SELECT -coalesce(sum(p.amount), 0) FROM tpwallet.postings p JOIN tpwallet.accounts a ON a.id = p.account_id
                          WHERE a.code = 'busy:USD' AND p.occurred_at <= t)$$,
                'balance_at equals the sum of the postings up to each time, on both sides of the tail limit');

-- account_statement over the busy account: the balance after a posting is
-- balance_at its time (no two postings share a time here), and three
-- pages of 4,000 give the same rows and balances as one call
SELECT is_empty($$SELECT s.entry_id FROM tpwallet.account_statement('busy:USD', NULL, NULL, 100000) s
                  WHERE s.entry_id % 25 = 0 AND s.balance IS DISTINCT FROM tpwallet.balance_at('busy:USD', s.occurred_at)$$,
                'account_statement: each balance (every 25th checked) is balance_at the posting''s time');
CREATE TEMP TABLE pages AS SELECT * FROM tpwallet.account_statement('busy:USD', NULL, NULL, 4000);
INSERT INTO pages SELECT s.* FROM (SELECT occurred_at, entry_id FROM pages ORDER BY occurred_at DESC LIMIT 1) l,
       tpwallet.account_statement('busy:USD', l.occurred_at, NULL, 4000, l.entry_id) s;
INSERT INTO pages SELECT s.* FROM (SELECT occurred_at, entry_id FROM pages ORDER BY occurred_at DESC LIMIT 1) l,
       tpwallet.account_statement('busy:USD', l.occurred_at, NULL, 4000, l.entry_id) s;
SELECT set_eq($$SELECT entry_id, leg, balance FROM pages$$,
              $$SELECT entry_id, leg, balance FROM tpwallet.account_statement('busy:USD', NULL, NULL, 100000)$$,
              'account_statement: pages continue one another, balances included');

-- verify_ledger over more rows than one batch of its cursor (5,000), with
-- an early entry changed behind the guard's back: it names that entry and
-- says why (the finding outlives the batch it was made in)
SELECT min(id) AS early FROM tpwallet.journal WHERE book = 'ops' \gset
ALTER TABLE tpwallet.postings DISABLE TRIGGER tpwallet_guard_change;
UPDATE tpwallet.postings SET amount = amount * 2 WHERE entry_id = :early;
ALTER TABLE tpwallet.postings ENABLE ALWAYS TRIGGER tpwallet_guard_change;
SELECT results_eq($$SELECT first_bad_entry, detail FROM tpwallet.verify_ledger() WHERE book = 'ops'$$,
                  format($$VALUES (%s::bigint, 'entry %s does not match its hash: its stored values were changed')$$, :early, :early),
                  'verify_ledger names the first changed entry, and why, after thousands more');

SELECT * FROM finish();
ROLLBACK;
