-- ===================================================================
-- Ledger API.  Every function that writes runs as tpwallet_owner
-- (SECURITY DEFINER, search_path pinned); callers need a tpwallet role.
-- ===================================================================

CREATE FUNCTION tpwallet.create_asset(code text, decimals int, kind text DEFAULT 'crypto',
                                      name text DEFAULT NULL, metadata jsonb DEFAULT '{}')
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF code IS NULL OR code !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$' THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('invalid asset code %L', code),
			HINT = 'Use 1 to 32 letters, digits, ".", "_", ":" or "-", starting with a letter or digit.';
	END IF;
	IF decimals IS NULL OR decimals NOT BETWEEN 0 AND 36 THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('decimals must be between 0 and 36, not %s', coalesce(decimals::text, 'NULL')),
			HINT = 'ETH has 18, BTC 8, USD 2.';
	END IF;
	IF kind IS NULL OR kind NOT IN ('crypto', 'fiat', 'token', 'stablecoin', 'security', 'commodity', 'other') THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('unknown asset kind %L', kind),
			HINT = 'Use crypto, fiat, token, stablecoin, security, commodity or other.';
	END IF;
	IF metadata IS NULL OR jsonb_typeof(metadata) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'metadata must be a JSON object';
	END IF;
	IF EXISTS (SELECT 1 FROM tpwallet.assets a WHERE a.code = create_asset.code) THEN
		RAISE EXCEPTION USING ERRCODE = '42710',
			MESSAGE = format('asset %s already exists', code),
			HINT = 'Asset definitions never change; use another code.';
	END IF;
	INSERT INTO tpwallet.assets (code, decimals, kind, name, metadata)
	VALUES (create_asset.code, create_asset.decimals, create_asset.kind, create_asset.name, create_asset.metadata);
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('create_asset', code, jsonb_build_object('decimals', decimals, 'kind', kind));
	RETURN code;
EXCEPTION WHEN unique_violation THEN
	RAISE EXCEPTION USING ERRCODE = '42710', MESSAGE = format('asset %s already exists', code);
END
$$;

CREATE FUNCTION tpwallet.create_account(code text, book text, asset text, normal_side text,
                                        allow_negative boolean DEFAULT false,
                                        metadata jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF code IS NULL OR octet_length(code) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'account code must be 1 to 200 bytes long';
	END IF;
	IF book IS NULL OR book NOT IN ('ops', 'gl') THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('unknown book %L', book),
			HINT = 'The books are "ops" (operational) and "gl" (accounting).';
	END IF;
	IF normal_side IS NULL OR normal_side NOT IN ('debit', 'credit') THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('normal_side must be ''debit'' or ''credit'', not %L', normal_side),
			HINT = 'Assets and expenses are debit-normal; liabilities, equity and income credit-normal.';
	END IF;
	IF allow_negative IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'allow_negative must not be null';
	END IF;
	IF metadata IS NULL OR jsonb_typeof(metadata) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'metadata must be a JSON object';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM tpwallet.assets a WHERE a.code = create_account.asset) THEN
		RAISE EXCEPTION USING ERRCODE = '42704',
			MESSAGE = format('asset %s does not exist', asset),
			HINT = 'Create it first with tpwallet.create_asset().';
	END IF;
	IF EXISTS (SELECT 1 FROM tpwallet.accounts a WHERE a.code = create_account.code) THEN
		RAISE EXCEPTION USING ERRCODE = '42710',
			MESSAGE = format('account %s already exists', code),
			HINT = 'Account codes are unique across both books.';
	END IF;
	INSERT INTO tpwallet.accounts (code, book, asset, normal_side, allow_negative, metadata)
	VALUES (create_account.code, create_account.book, create_account.asset,
	        create_account.normal_side, create_account.allow_negative, create_account.metadata)
	RETURNING id INTO new_id;
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('create_account', code, jsonb_build_object('book', book, 'asset', asset,
	        'normal_side', normal_side, 'allow_negative', allow_negative));
	RETURN new_id;
EXCEPTION WHEN unique_violation THEN
	RAISE EXCEPTION USING ERRCODE = '42710',
		MESSAGE = format('account %s already exists', code);
END
$$;

CREATE FUNCTION tpwallet.transfer(debit_account text, credit_account text, amount numeric,
                                  idempotency_key text DEFAULT NULL, reference text DEFAULT NULL,
                                  occurred_at timestamptz DEFAULT NULL,
                                  metadata jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'tpwallet_transfer'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.transfer IS
	'Post a two-leg entry; occurred_at NULL means now(). Returns the journal entry id.';

CREATE FUNCTION tpwallet.post_entry(book text, postings jsonb, idempotency_key text DEFAULT NULL,
                                    reference text DEFAULT NULL,
                                    occurred_at timestamptz DEFAULT NULL,
                                    metadata jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'tpwallet_post_entry'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.post_batch(entries jsonb)
RETURNS SETOF bigint
AS 'MODULE_PATHNAME', 'tpwallet_post_batch'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.reverse_entry(entry_id bigint, reason text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'tpwallet_reverse_entry'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.hold(debit_account text, credit_account text, amount numeric,
                              expires_at timestamptz DEFAULT NULL,
                              idempotency_key text DEFAULT NULL, reference text DEFAULT NULL,
                              metadata jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'tpwallet_hold'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.post_hold(hold_id bigint, amount numeric DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'tpwallet_post_hold'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.void_hold(hold_id bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'tpwallet_void_hold'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.expire_holds()
RETURNS bigint
AS 'MODULE_PATHNAME', 'tpwallet_expire_holds'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

-- Summarize the BRIN ranges at the end of a table that no summary covers
-- yet: postings by entry (postings_entry) and a run's match members
-- (recon_match_members_run).  A BRIN index answers "maybe" for every range
-- without a summary, so until a VACUUM summarizes them a lookup of one
-- entry's legs reads the whole unsummarized tail of postings (measured:
-- 2,258 pages, 30-50 ms, where a summarized range is 8 pages).
-- autosummarize does not keep up either: its requests go to a queue of 256
-- that a big run fills at once (the rest are dropped, each with a LOG
-- line).  The sealer worker calls this every seal_interval, reconcile()
-- after writing a run.  Ranges are summarized from the last one backwards
-- until one is found summarized: summaries cover the table up to its end,
-- and an insert into a summarized range widens the summary itself.  A
-- table whose summarizing lock (SHARE UPDATE EXCLUSIVE) is held, by a
-- vacuum or another call, is skipped: they do the same work.  Returns the
-- number of ranges summarized.
CREATE FUNCTION tpwallet.summarize_new_ranges(index regclass DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	ix record;
	blk bigint;
	done bigint := 0;
BEGIN
	IF index IS NOT NULL AND NOT EXISTS (
	     SELECT 1 FROM pg_class c JOIN pg_am a ON a.oid = c.relam
	      WHERE c.oid = index AND a.amname = 'brin' AND c.relnamespace = 'tpwallet'::regnamespace) THEN
		RAISE EXCEPTION 'summarize_new_ranges: % is not a BRIN index of tpwallet', index
		      USING ERRCODE = 'invalid_parameter_value',
		            HINT = 'Give one of tpwallet''s BRIN indexes, or no index for all of them.';
	END IF;
	FOR ix IN
		SELECT c.oid::regclass AS idx, i.indrelid::regclass AS tbl,
		       coalesce((SELECT o.option_value::int FROM pg_options_to_table(c.reloptions) o
		                  WHERE o.option_name = 'pages_per_range'), 128) AS per_range
		  FROM pg_class c JOIN pg_am a ON a.oid = c.relam JOIN pg_index i ON i.indexrelid = c.oid
		 WHERE a.amname = 'brin' AND c.relnamespace = 'tpwallet'::regnamespace
		   AND (index IS NULL OR c.oid = index)
		 ORDER BY c.oid
	LOOP
		BEGIN
			EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE NOWAIT', ix.tbl);
		EXCEPTION WHEN lock_not_available THEN
			CONTINUE;
		END;
		blk := (pg_relation_size(ix.tbl) / current_setting('block_size')::int - 1) / ix.per_range * ix.per_range;
		WHILE blk >= 0 AND brin_summarize_range(ix.idx, blk) > 0 LOOP
			done := done + 1;
			blk := blk - ix.per_range;
		END LOOP;
	END LOOP;
	RETURN done;
END
$$;

-- Fold appended balance deltas into account rows (the sealer worker calls
-- this).  Rows are locked in id order first, like the engine does, so the
-- fold cannot deadlock with transfers.
CREATE FUNCTION tpwallet.fold_deltas(max_accounts int DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	ids bigint[];
	n bigint;
BEGIN
	SELECT array_agg(id ORDER BY id) INTO ids FROM (
		SELECT a.id FROM tpwallet.accounts a
		 WHERE a.id IN (SELECT DISTINCT d.account_id FROM tpwallet.account_deltas d)
		 ORDER BY a.id LIMIT max_accounts FOR NO KEY UPDATE) locked;
	IF ids IS NULL THEN
		RETURN 0;
	END IF;
	WITH moved AS (
		DELETE FROM tpwallet.account_deltas d WHERE d.account_id = ANY (ids) RETURNING d.*),
	agg AS (
		SELECT m.account_id, sum(m.debits_posted) AS dp, sum(m.credits_posted) AS cp,
		       sum(m.debits_pending) AS dpe, sum(m.credits_pending) AS cpe
		  FROM moved m GROUP BY m.account_id),
	upd AS (
		UPDATE tpwallet.accounts a
		   SET debits_posted = a.debits_posted + agg.dp,
		       credits_posted = a.credits_posted + agg.cp,
		       debits_pending = a.debits_pending + agg.dpe,
		       credits_pending = a.credits_pending + agg.cpe
		  FROM agg WHERE a.id = agg.account_id RETURNING 1)
	SELECT count(*) INTO n FROM upd;
	RETURN n;
END
$$;

-- ----- balances -----

CREATE VIEW tpwallet.account_totals AS
SELECT a.id, a.code, a.book, a.asset, a.normal_side, a.allow_negative, a.status,
       -- trim_scale: every amount shows at its minimal exact scale
       trim_scale(a.debits_posted + coalesce(d.dp, 0)) AS debits_posted,
       trim_scale(a.credits_posted + coalesce(d.cp, 0)) AS credits_posted,
       trim_scale(a.debits_pending + coalesce(d.dpe, 0)) AS debits_pending,
       trim_scale(a.credits_pending + coalesce(d.cpe, 0)) AS credits_pending
  FROM tpwallet.accounts a
  LEFT JOIN (SELECT account_id, sum(debits_posted) AS dp, sum(credits_posted) AS cp,
                    sum(debits_pending) AS dpe, sum(credits_pending) AS cpe
               FROM tpwallet.account_deltas GROUP BY account_id) d ON d.account_id = a.id;

CREATE VIEW tpwallet.account_balances AS
SELECT t.code AS account, t.book, t.asset,
       t.debits_posted, t.credits_posted, t.debits_pending, t.credits_pending,
       trim_scale(CASE WHEN t.normal_side = 'debit' THEN t.debits_posted - t.credits_posted
                       ELSE t.credits_posted - t.debits_posted END) AS balance
  FROM tpwallet.account_totals t;

-- Balance, pending and available balance with the account's attributes.
CREATE VIEW tpwallet.account_details AS
SELECT t.code AS account, t.book, t.asset, t.normal_side, t.allow_negative, t.status,
       trim_scale(CASE WHEN t.normal_side = 'debit' THEN t.debits_posted - t.credits_posted
                       ELSE t.credits_posted - t.debits_posted END) AS balance,
       CASE WHEN t.normal_side = 'debit' THEN t.credits_pending ELSE t.debits_pending END AS pending_out,
       CASE WHEN t.normal_side = 'debit' THEN t.debits_pending ELSE t.credits_pending END AS pending_in,
       trim_scale(CASE WHEN t.normal_side = 'debit' THEN t.debits_posted - t.credits_posted - t.credits_pending
                       ELSE t.credits_posted - t.debits_posted - t.debits_pending END) AS available
  FROM tpwallet.account_totals t;

CREATE FUNCTION tpwallet._account_id(account text, OUT id bigint, OUT debit_normal boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	SELECT a.id, a.normal_side = 'debit' INTO id, debit_normal
	  FROM tpwallet.accounts a WHERE a.code = account;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704',
			MESSAGE = format('account "%s" does not exist', account),
			HINT = 'Create it first with tpwallet.create_account().';
	END IF;
END
$$;

CREATE FUNCTION tpwallet.balance(account text)
RETURNS numeric
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	acct record;
	result numeric;
BEGIN
	acct := tpwallet._account_id(account);
	SELECT b.balance INTO result FROM tpwallet.account_balances b WHERE b.account = balance.account;
	RETURN result;
END
$$;

-- Posted balance at a point in time: business time (occurred_at, default)
-- or system time (when the entry was recorded).
--
-- In business time, from whichever end of the account's history is
-- shorter: an end-of-day or end-of-month question about a busy account
-- (a bank, fee or merchant account with millions of postings) has a short
-- tail after `at` and a long head before it.  If at most tail_limit
-- postings lie after `at`, the balance is the account's current totals
-- (deltas included) less that tail; otherwise the sum of the head.  Both
-- are exact, and read in the one snapshot of the calling statement (the
-- function is STABLE), in which the totals and the postings agree.
-- Measured on an account of 1,000,062 postings: 290 ms as a sum of the
-- head, 3 ms for the last week's tail.
CREATE FUNCTION tpwallet.balance_at(account text, at timestamptz, basis text DEFAULT 'business')
RETURNS numeric
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	tail_limit constant int := 10000;
	acct record;
	net numeric;
	tail_n int;
BEGIN
	acct := tpwallet._account_id(account);
	IF at IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'at must not be null';
	END IF;
	IF basis = 'business' THEN
		SELECT count(*), coalesce(sum(t.amount), 0) INTO tail_n, net
		  FROM (SELECT p.amount FROM tpwallet.postings p
		         WHERE p.account_id = acct.id AND p.occurred_at > at LIMIT tail_limit + 1) t;
		IF tail_n <= tail_limit THEN
			SELECT t.debits_posted - t.credits_posted - net INTO net
			  FROM tpwallet.account_totals t WHERE t.id = acct.id;
		ELSE
			SELECT coalesce(sum(p.amount), 0) INTO net FROM tpwallet.postings p
			 WHERE p.account_id = acct.id AND p.occurred_at <= at;
		END IF;
	ELSIF basis = 'system' THEN
		SELECT coalesce(sum(p.amount), 0) INTO net FROM tpwallet.postings p
		  JOIN tpwallet.journal j ON j.id = p.entry_id
		 WHERE p.account_id = acct.id AND j.created_at <= at;
	ELSE
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('basis must be ''business'' or ''system'', not %L', basis);
	END IF;
	RETURN trim_scale(CASE WHEN acct.debit_normal THEN net ELSE -net END);
END
$$;

-- Accounts whose stored totals disagree with their postings (none, in a
-- healthy ledger).  stored/recomputed are normal-side posted balances.
CREATE FUNCTION tpwallet.check_balances()
RETURNS TABLE (account text, stored numeric, recomputed numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
	WITH r AS (
		SELECT p.account_id,
		       coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0) AS dp,
		       coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0) AS cp
		  FROM tpwallet.postings p GROUP BY p.account_id)
	SELECT t.code,
	       CASE WHEN t.normal_side = 'debit' THEN t.debits_posted - t.credits_posted
	            ELSE t.credits_posted - t.debits_posted END,
	       CASE WHEN t.normal_side = 'debit' THEN coalesce(r.dp, 0) - coalesce(r.cp, 0)
	            ELSE coalesce(r.cp, 0) - coalesce(r.dp, 0) END
	  FROM tpwallet.account_totals t
	  LEFT JOIN r ON r.account_id = t.id
	 WHERE t.debits_posted <> coalesce(r.dp, 0) OR t.credits_posted <> coalesce(r.cp, 0)
	 ORDER BY t.code
$$;

-- Accounts whose pending totals disagree with their unresolved holds.
CREATE FUNCTION tpwallet.check_pending()
RETURNS TABLE (account text, side text, stored numeric, recomputed numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
	WITH open_holds AS (
		SELECT h.* FROM tpwallet.holds h
		 WHERE NOT EXISTS (SELECT 1 FROM tpwallet.hold_resolutions r WHERE r.hold_id = h.id)),
	r AS (
		SELECT a.id,
		       coalesce((SELECT sum(amount) FROM open_holds o WHERE o.debit_account_id = a.id), 0) AS dpe,
		       coalesce((SELECT sum(amount) FROM open_holds o WHERE o.credit_account_id = a.id), 0) AS cpe
		  FROM tpwallet.accounts a)
	SELECT t.code, s.side, s.stored, s.recomputed
	  FROM tpwallet.account_totals t JOIN r ON r.id = t.id,
	       LATERAL (VALUES ('debit', t.debits_pending, r.dpe), ('credit', t.credits_pending, r.cpe))
	               AS s (side, stored, recomputed)
	 WHERE s.stored <> s.recomputed
	 ORDER BY 1, 2
$$;

CREATE FUNCTION tpwallet.close_account(code text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	acct record;
	bal record;
BEGIN
	-- FOR UPDATE waits for every in-flight posting (they hold KEY SHARE or
	-- NO KEY UPDATE locks); after it, no posting can start on this account.
	SELECT a.id, a.status INTO acct FROM tpwallet.accounts a WHERE a.code = close_account.code FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('account "%s" does not exist', code);
	END IF;
	IF acct.status = 'closed' THEN
		RAISE NOTICE 'account "%" is already closed', code;
		RETURN;
	END IF;
	SELECT d.balance, d.pending_in, d.pending_out INTO bal
	  FROM tpwallet.account_details d WHERE d.account = close_account.code;
	IF bal.balance <> 0 THEN
		RAISE WARNING 'account "%" is closed with a balance of %', code, bal.balance
			USING HINT = 'The balance stays on the books and can no longer move; move it before closing.';
	END IF;
	UPDATE tpwallet.accounts SET status = 'closed', closed_at = now() WHERE id = acct.id;
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('close_account', code, jsonb_build_object('balance', bal.balance,
	        'pending_in', bal.pending_in, 'pending_out', bal.pending_out));
END
$$;

-- ----- journal views -----

CREATE VIEW tpwallet.entries AS
SELECT j.id AS entry_id, j.book, j.kind, j.occurred_at, j.created_at, j.created_by,
       j.reference, j.idempotency_key, j.reverses, j.hold_id, j.metadata,
       (SELECT r.id FROM tpwallet.journal r WHERE r.reverses = j.id) AS reversed_by,
       m.block_id AS sealed_in_block
  FROM tpwallet.journal j
  LEFT JOIN tpwallet.block_members m ON m.entry_id = j.id;

CREATE VIEW tpwallet.entry_postings AS
SELECT p.entry_id, p.leg, a.code AS account, a.book, a.asset,
       CASE WHEN p.amount > 0 THEN 'debit' ELSE 'credit' END AS side,
       abs(p.amount) AS amount, p.occurred_at
  FROM tpwallet.postings p JOIN tpwallet.accounts a ON a.id = p.account_id;

-- An account's statement: its postings with occurred_at in [from, to), in
-- business-time order (then entry and leg), each with the account's
-- normal-side balance after it, from the balance before `from`.  At most
-- max_rows rows; a statement cut short says so in its last row
-- (more = true): continue from that row's time, after its entry.
-- Through the postings' (account_id, occurred_at) index in its order, so
-- the newest page of an account of a million postings is milliseconds; the
-- entry_postings view joined to accounts cannot be read in that order (the
-- planner sorts every posting of the account first: 0.5-1.1 s measured).
CREATE FUNCTION tpwallet.account_statement(account text, "from" timestamptz DEFAULT NULL, "to" timestamptz DEFAULT NULL,
                                           max_rows int DEFAULT 1000, after_entry bigint DEFAULT NULL)
RETURNS TABLE (occurred_at timestamptz, entry_id bigint, leg smallint, side text, amount numeric,
               balance numeric, kind text, reference text, more boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	acct record;
	opening numeric;
	lo timestamptz := coalesce(account_statement."from", '-infinity');
	hi timestamptz := coalesce(account_statement."to", 'infinity');
BEGIN
	acct := tpwallet._account_id(account);
	IF max_rows IS NULL OR max_rows < 1 OR max_rows > 100000 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('max_rows must be from 1 to 100000, not %s', coalesce(max_rows::text, 'NULL')),
			HINT = 'Page through a long statement: start the next page at the last row''s time, after its entry.';
	END IF;
	IF lo > hi THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('from (%s) is after to (%s)', lo, hi);
	END IF;
	-- the balance before the first row: before `from`, and on a page that
	-- continues after an entry, that entry's postings at `from` too
	opening := CASE WHEN lo = '-infinity' THEN 0
	                ELSE tpwallet.balance_at(account, lo - interval '1 microsecond') END;
	IF after_entry IS NOT NULL THEN
		opening := opening + (SELECT coalesce(sum(CASE WHEN acct.debit_normal THEN p.amount ELSE -p.amount END), 0)
		                        FROM tpwallet.postings p
		                       WHERE p.account_id = acct.id AND p.occurred_at = lo AND p.entry_id <= after_entry);
	END IF;
	RETURN QUERY
	SELECT s.occurred_at, s.entry_id, s.leg, s.side, s.amount,
	       trim_scale(opening + sum(s.signed) OVER (ORDER BY s.occurred_at, s.entry_id, s.leg)),
	       j.kind, j.reference, s.n > max_rows AND s.rn = max_rows
	  FROM (SELECT p.occurred_at, p.entry_id, p.leg,
	               CASE WHEN p.amount > 0 THEN 'debit' ELSE 'credit' END AS side, abs(p.amount) AS amount,
	               CASE WHEN acct.debit_normal THEN p.amount ELSE -p.amount END AS signed,
	               row_number() OVER (ORDER BY p.occurred_at, p.entry_id, p.leg) AS rn,
	               count(*) OVER () AS n
	          FROM (SELECT * FROM tpwallet.postings p
	                 WHERE p.account_id = acct.id AND p.occurred_at >= lo AND p.occurred_at < hi
	                   AND (after_entry IS NULL OR p.occurred_at > lo OR p.entry_id > after_entry)
	                 ORDER BY p.occurred_at, p.entry_id, p.leg
	                 LIMIT max_rows + 1) p) s
	  JOIN tpwallet.journal j ON j.id = s.entry_id
	 WHERE s.rn <= max_rows
	 ORDER BY s.occurred_at, s.entry_id, s.leg;
END
$$;

CREATE VIEW tpwallet.hold_status AS
SELECT h.id AS hold_id, d.code AS debit_account, c.code AS credit_account, h.amount,
       h.expires_at, h.reference, h.created_at,
       coalesce(r.resolution, CASE WHEN h.expires_at <= now() THEN 'expiring' ELSE 'pending' END) AS status,
       r.amount AS posted_amount, r.entry_id, r.resolved_at, r.resolved_by
  FROM tpwallet.holds h
  JOIN tpwallet.accounts d ON d.id = h.debit_account_id
  JOIN tpwallet.accounts c ON c.id = h.credit_account_id
  LEFT JOIN tpwallet.hold_resolutions r ON r.hold_id = h.id;
