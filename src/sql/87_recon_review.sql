-- ===================================================================
-- Reconciliation, part 3: the people.  Exceptions are assigned, worked on
-- and resolved through decisions (match, unmatch, write_off, adjust,
-- accept) that take effect only when a second user approves them (four
-- eyes).  The state machine lives in the database: a trigger on
-- recon_exceptions and one on recon_decisions refuse every other change,
-- also by hand and by the tables' owner.  Every step is in the
-- append-only recon_decision_log and in audit_log.  recon_export() writes
-- a run as CSV files with a SHA-256 manifest for auditors.
-- docs/reconciliation.md, "Review, decisions and exports", is the manual.
-- ===================================================================

-- One row per proposed decision.  Its content (what, on which exceptions,
-- why, with which parameters, by whom) never changes; only a pending
-- decision's outcome is recorded, once: approved (then applied), rejected
-- by a checker, revoked (withdrawn) by its maker, or superseded when a
-- later run matched its exceptions first.  The CHECKs hold four eyes even
-- against a hand-written row: an approval's or rejection's checker is
-- never its maker.
CREATE TABLE tpwallet.recon_decisions (
	decision_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	action         text NOT NULL CHECK (action IN ('match', 'unmatch', 'write_off', 'adjust', 'accept')),
	run_id         bigint NOT NULL,             -- the run of its exceptions (unmatch: of the match)
	exception_ids  bigint[] NOT NULL,           -- ascending; empty for unmatch
	match_id       bigint,                      -- unmatch: the match it revokes
	reason         text NOT NULL CHECK (reason ~ '\S'),
	params         jsonb NOT NULL DEFAULT '{}', -- normalized: defaults filled in, amounts as strings
	maker          text NOT NULL DEFAULT session_user,
	made_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
	status         text NOT NULL DEFAULT 'pending'
	               CHECK (status IN ('pending', 'approved', 'rejected', 'revoked', 'superseded')),
	checker        text,                        -- who approved or rejected it; for a revoke its maker
	checked_at     timestamptz,
	check_note     text,
	result         jsonb,                       -- approved: what applying it made (match_id, entry_id, exceptions)
	CHECK ((action = 'unmatch') = (match_id IS NOT NULL)),
	CHECK ((action = 'unmatch') = (cardinality(exception_ids) = 0)),
	CHECK ((status = 'pending') = (checked_at IS NULL)),
	CHECK ((status = 'approved') = (result IS NOT NULL)),
	CHECK (CASE status WHEN 'approved' THEN checker IS NOT NULL AND checker <> maker
	                   WHEN 'rejected' THEN checker IS NOT NULL AND checker <> maker AND check_note ~ '\S'
	                   WHEN 'revoked' THEN checker IS NOT NULL AND checker = maker
	                   ELSE checker IS NULL END)
);
CREATE INDEX recon_decisions_run ON tpwallet.recon_decisions (run_id);
-- one pending unmatch per match (two makers racing for the same match)
CREATE UNIQUE INDEX recon_decisions_one_unmatch ON tpwallet.recon_decisions (match_id) WHERE status = 'pending';

-- The audit trail of decisions: one row per thing that happened to one.
-- Append-only (the guard refuses UPDATE, DELETE, TRUNCATE): what is
-- written here cannot be rewritten, not even by the owner.
CREATE TABLE tpwallet.recon_decision_log (
	log_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	decision_id  bigint NOT NULL,
	event        text NOT NULL CHECK (event IN ('proposed', 'approved', 'applied', 'rejected', 'revoked', 'superseded')),
	at           timestamptz NOT NULL DEFAULT clock_timestamp(),
	actor        text NOT NULL DEFAULT session_user,
	detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX recon_decision_log_decision ON tpwallet.recon_decision_log (decision_id, log_id);

-- Matches revoked by an approved unmatch.  recon_matches and
-- recon_match_items stay as they are (append-only; the matching engine
-- owns them): a match is revoked when it is here, and the engine reads
-- this table to free its items.
CREATE TABLE tpwallet.recon_match_revocations (
	match_id     bigint PRIMARY KEY,
	run_id       bigint NOT NULL,
	decision_id  bigint NOT NULL UNIQUE,
	revoked_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
	revoked_by   text NOT NULL DEFAULT session_user
);

SELECT tpwallet._guard('recon_decisions', 'DELETE'), tpwallet._guard('recon_decision_log'),
       tpwallet._guard('recon_match_revocations');

CREATE INDEX recon_exceptions_decision ON tpwallet.recon_exceptions (decision_id) WHERE decision_id IS NOT NULL;
CREATE INDEX recon_exceptions_match ON tpwallet.recon_exceptions (match_id) WHERE match_id IS NOT NULL;
CREATE INDEX recon_exceptions_unresolved ON tpwallet.recon_exceptions (run_id, status) WHERE status <> 'resolved';

-- ---------------------------------------------------------------- the state machine

-- Every UPDATE of an exception, whoever writes it.  Only the workflow
-- columns (and score, which the scoring pass sets) may change; every other
-- column, including any added later, is fixed (TW009).  The workflow
-- columns change only along these edges (TW014 otherwise), each checked
-- against the decision or match that justifies it:
--   open/assigned -> assigned          assigned_to set (assign, reassign)
--   assigned -> pending_approval       a pending decision of the assignee names it
--   pending_approval -> assigned       that decision was rejected, revoked or superseded
--   pending_approval -> resolved       that decision was approved: its resolution, its checker
--   open/assigned/pending -> resolved  'matched' by a later run's match (a pending decision superseded)
--   open/assigned -> resolved          'carried': a later run's exception of the item, still open, takes over
--   resolved -> open                   the match that resolved it was unmatched
-- Not on INSERT: restoring a dump inserts resolved rows.
CREATE FUNCTION tpwallet._recon_exception_workflow()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	workflow CONSTANT text[] := ARRAY['status', 'assigned_to', 'resolution', 'resolved_at', 'resolved_by',
	                                  'decision_id', 'match_id', 'score', 'continues_exception_id'];
	d tpwallet.recon_decisions;
	old_d tpwallet.recon_decisions;
	ok boolean := false;
	unresolved boolean := NEW.resolution IS NULL AND NEW.resolved_at IS NULL AND NEW.resolved_by IS NULL
	                      AND NEW.match_id IS NULL AND NEW.continues_exception_id IS NULL;
BEGIN
	IF (to_jsonb(NEW) - workflow) IS DISTINCT FROM (to_jsonb(OLD) - workflow) THEN
		RAISE EXCEPTION USING ERRCODE = 'TW009',
			MESSAGE = format('exception %s cannot change anything but its review status', OLD.exception_id),
			DETAIL = 'Its run, item, side, source, keys, class and counterpart are what the run found.',
			HINT = 'Work on it with recon_assign and recon_propose; a new run makes new exceptions.';
	END IF;
	IF (NEW.status, NEW.assigned_to, NEW.resolution, NEW.resolved_at, NEW.resolved_by, NEW.decision_id, NEW.match_id,
	    NEW.continues_exception_id)
	   IS NOT DISTINCT FROM
	   (OLD.status, OLD.assigned_to, OLD.resolution, OLD.resolved_at, OLD.resolved_by, OLD.decision_id, OLD.match_id,
	    OLD.continues_exception_id) THEN
		RETURN NEW;  -- a score, or nothing
	END IF;
	IF NEW.decision_id IS NOT NULL THEN
		SELECT * INTO d FROM tpwallet.recon_decisions WHERE decision_id = NEW.decision_id;
	END IF;
	IF OLD.decision_id IS NOT NULL THEN
		SELECT * INTO old_d FROM tpwallet.recon_decisions WHERE decision_id = OLD.decision_id;
	END IF;

	IF OLD.status IN ('open', 'assigned') AND NEW.status = 'assigned' THEN
		ok := NEW.assigned_to ~ '\S' AND NEW.assigned_to IS DISTINCT FROM OLD.assigned_to
		      AND NEW.decision_id IS NULL AND unresolved;
	ELSIF OLD.status = 'assigned' AND NEW.status = 'pending_approval' THEN
		ok := NEW.assigned_to = OLD.assigned_to AND unresolved
		      AND d.status = 'pending' AND NEW.exception_id = ANY (d.exception_ids) AND d.maker = NEW.assigned_to;
	ELSIF OLD.status = 'pending_approval' AND NEW.status = 'assigned' THEN
		ok := NEW.assigned_to = OLD.assigned_to AND NEW.decision_id IS NULL AND unresolved
		      AND old_d.status IN ('rejected', 'revoked', 'superseded');
	ELSIF OLD.status = 'pending_approval' AND NEW.status = 'resolved' AND NEW.decision_id IS NOT NULL THEN
		ok := NEW.assigned_to = OLD.assigned_to AND NEW.decision_id = OLD.decision_id AND NEW.continues_exception_id IS NULL
		      AND d.status = 'approved' AND NEW.resolved_by = d.checker AND NEW.resolved_at IS NOT NULL
		      AND NEW.resolution = CASE d.action WHEN 'match' THEN 'matched' WHEN 'write_off' THEN 'written_off'
		                                         WHEN 'adjust' THEN 'adjusted' WHEN 'accept' THEN 'accepted' END
		      AND NEW.match_id IS NOT DISTINCT FROM CASE d.action WHEN 'match' THEN (d.result ->> 'match_id')::bigint END;
	ELSIF OLD.status IN ('open', 'assigned') AND NEW.status = 'resolved' AND NEW.resolution = 'carried' THEN
		-- a later run left the item over again: its exception takes over
		ok := NEW.assigned_to IS NOT DISTINCT FROM OLD.assigned_to AND NEW.decision_id IS NULL AND NEW.match_id IS NULL
		      AND NEW.resolved_by = session_user AND NEW.resolved_at IS NOT NULL
		      AND EXISTS (SELECT 1 FROM tpwallet.recon_exceptions n
		                   WHERE n.exception_id = NEW.continues_exception_id AND n.item_id = NEW.item_id
		                     AND n.run_id > NEW.run_id AND n.status <> 'resolved');
	ELSIF OLD.status <> 'resolved' AND NEW.status = 'resolved' AND NEW.decision_id IS NULL THEN
		ok := NEW.assigned_to IS NOT DISTINCT FROM OLD.assigned_to AND NEW.resolution = 'matched'
		      AND NEW.continues_exception_id IS NULL
		      AND NEW.resolved_by = session_user AND NEW.resolved_at IS NOT NULL
		      AND (OLD.status <> 'pending_approval' OR old_d.status = 'superseded')
		      AND EXISTS (SELECT 1 FROM tpwallet.recon_match_items mi
		                   WHERE mi.match_id = NEW.match_id AND mi.item_id = NEW.item_id AND mi.run_id > NEW.run_id)
		      AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_match_revocations v WHERE v.match_id = NEW.match_id);
	ELSIF OLD.status = 'resolved' AND NEW.status = 'open' THEN
		ok := OLD.resolution = 'matched' AND NEW.assigned_to IS NULL AND NEW.decision_id IS NULL AND unresolved
		      AND EXISTS (SELECT 1 FROM tpwallet.recon_match_revocations v WHERE v.match_id = OLD.match_id);
	END IF;
	IF NOT coalesce(ok, false) THEN
		RAISE EXCEPTION USING ERRCODE = 'TW014',
			MESSAGE = format('exception %s cannot go from %s to %s this way', OLD.exception_id, OLD.status, NEW.status),
			DETAIL = 'Exceptions move open -> assigned -> pending_approval -> resolved, through decisions approved by a second user.',
			HINT = 'Use recon_assign, recon_propose, recon_approve, recon_reject and recon_revoke.';
	END IF;
	RETURN NEW;
END
$$;

-- Every UPDATE of a decision: its content never changes (TW009); a
-- pending decision is closed once (TW014), by the session user it names
-- (TW015): an approval or rejection by another user than the maker, a
-- revoke by the maker; superseded by a run, without a checker.
CREATE FUNCTION tpwallet._recon_decision_workflow()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	outcome CONSTANT text[] := ARRAY['status', 'checker', 'checked_at', 'check_note', 'result'];
BEGIN
	IF (to_jsonb(NEW) - outcome) IS DISTINCT FROM (to_jsonb(OLD) - outcome) THEN
		RAISE EXCEPTION USING ERRCODE = 'TW009',
			MESSAGE = format('decision %s cannot change: only the outcome of a pending decision is recorded', OLD.decision_id),
			HINT = 'Withdraw it (recon_revoke) and propose another.';
	END IF;
	IF (NEW.status, NEW.checker, NEW.checked_at, NEW.check_note, NEW.result)
	   IS NOT DISTINCT FROM (OLD.status, OLD.checker, OLD.checked_at, OLD.check_note, OLD.result) THEN
		RETURN NEW;
	END IF;
	IF OLD.status <> 'pending' THEN
		RAISE EXCEPTION USING ERRCODE = 'TW014',
			MESSAGE = format('decision %s is %s: its outcome is recorded once', OLD.decision_id, OLD.status),
			HINT = 'A pending decision is approved, rejected, revoked or superseded, once.';
	END IF;
	IF NEW.status = 'pending' THEN
		RAISE EXCEPTION USING ERRCODE = 'TW014',
			MESSAGE = format('decision %s is pending: it has no checker, note or result yet', OLD.decision_id);
	END IF;
	IF NEW.status IN ('approved', 'rejected', 'revoked') AND NEW.checker IS DISTINCT FROM session_user THEN
		RAISE EXCEPTION USING ERRCODE = 'TW015',
			MESSAGE = format('decision %s: the checker must be the session user (%s), not %s', OLD.decision_id,
			                 session_user, coalesce(NEW.checker, 'nobody')),
			HINT = 'Who approves, rejects or revokes is who is logged in.';
	END IF;
	IF NEW.status IN ('approved', 'rejected') AND NEW.checker = OLD.maker THEN
		RAISE EXCEPTION USING ERRCODE = 'TW015',
			MESSAGE = format('decision %s was proposed by %s: another user must %s it', OLD.decision_id, OLD.maker,
			                 CASE NEW.status WHEN 'approved' THEN 'approve' ELSE 'reject' END),
			HINT = 'Four eyes: the maker of a decision is never its checker. The maker may withdraw it with recon_revoke.';
	END IF;
	IF NEW.status = 'revoked' AND NEW.checker <> OLD.maker THEN
		RAISE EXCEPTION USING ERRCODE = 'TW015',
			MESSAGE = format('decision %s was proposed by %s: only its maker withdraws it', OLD.decision_id, OLD.maker),
			HINT = 'A checker rejects it with recon_reject.';
	END IF;
	RETURN NEW;
END
$$;

-- tpwallet_guard_workflow is counted with the append-only guards (40_guards.sql):
-- dropping or disabling it is refused like dropping a guard.
CREATE TRIGGER tpwallet_guard_workflow BEFORE UPDATE ON tpwallet.recon_exceptions
	FOR EACH ROW EXECUTE FUNCTION tpwallet._recon_exception_workflow();
ALTER TABLE tpwallet.recon_exceptions ENABLE ALWAYS TRIGGER tpwallet_guard_workflow;
CREATE TRIGGER tpwallet_guard_workflow BEFORE UPDATE ON tpwallet.recon_decisions
	FOR EACH ROW EXECUTE FUNCTION tpwallet._recon_decision_workflow();
ALTER TABLE tpwallet.recon_decisions ENABLE ALWAYS TRIGGER tpwallet_guard_workflow;

-- ---------------------------------------------------------------- internals

-- A resolved exception is not worked on (TW014); a carried one names the
-- exception its item is open as.
CREATE FUNCTION tpwallet._recon_refuse_resolved(exception_id bigint, status text, resolution text,
                                                continues_exception_id bigint)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF status = 'resolved' THEN
		RAISE EXCEPTION USING ERRCODE = 'TW014', MESSAGE = format('exception %s is resolved (%s)', exception_id, resolution),
			HINT = CASE WHEN resolution = 'carried'
			            THEN format('Its item is open as exception %s: work on that one.', continues_exception_id) END;
	END IF;
END
$$;

-- Lock exceptions in id order and return them.  Every function that locks
-- exceptions and a decision locks the exceptions first, in this order, so
-- that two of them never deadlock.
CREATE FUNCTION tpwallet._recon_lock_exceptions(ids bigint[])
RETURNS SETOF tpwallet.recon_exceptions
LANGUAGE sql SET search_path = pg_catalog, tpwallet
AS $$
	SELECT * FROM tpwallet.recon_exceptions x WHERE x.exception_id = ANY (ids) ORDER BY x.exception_id FOR UPDATE
$$;

-- Lock a decision, after the exceptions it acts on (for an unmatch: the
-- exceptions its match resolved), and return it; 42704 if there is none.
-- Its exception ids never change, so reading them before the lock is safe.
CREATE FUNCTION tpwallet._recon_lock_decision(id bigint)
RETURNS tpwallet.recon_decisions
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	d tpwallet.recon_decisions;
BEGIN
	SELECT * INTO d FROM tpwallet.recon_decisions x WHERE x.decision_id = id;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation decision %s does not exist', id);
	END IF;
	IF d.action = 'unmatch' THEN
		PERFORM 1 FROM tpwallet.recon_exceptions x WHERE x.match_id = d.match_id ORDER BY x.exception_id FOR UPDATE;
	ELSE
		PERFORM 1 FROM tpwallet._recon_lock_exceptions(d.exception_ids);
	END IF;
	SELECT * INTO d FROM tpwallet.recon_decisions x WHERE x.decision_id = id FOR UPDATE;
	RETURN d;
END
$$;

-- Refuse to close a decision that is not pending (TW014), saying what
-- became of it.
CREATE FUNCTION tpwallet._recon_refuse_closed(d tpwallet.recon_decisions)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF d.status <> 'pending' THEN
		RAISE EXCEPTION USING ERRCODE = 'TW014',
			MESSAGE = format('decision %s is %s, not pending', d.decision_id, d.status),
			DETAIL = CASE d.status
			         WHEN 'approved' THEN format('%s approved it at %s.', d.checker, d.checked_at)
			         WHEN 'rejected' THEN format('%s rejected it at %s: %s', d.checker, d.checked_at, d.check_note)
			         WHEN 'revoked' THEN format('%s withdrew it at %s.', d.checker, d.checked_at)
			         ELSE format('%s', d.check_note) END,
			HINT = 'A decision is approved, rejected, revoked or superseded once; propose a new one if needed.';
	END IF;
END
$$;

-- One row of the decision trail.
CREATE FUNCTION tpwallet._recon_log(decision bigint, event text, detail jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql SET search_path = pg_catalog, tpwallet
AS $$
	INSERT INTO tpwallet.recon_decision_log (decision_id, event, detail) VALUES (decision, event, coalesce(detail, '{}'))
$$;

-- An amount parameter: a JSON number, or a string of digits with an
-- optional sign and decimal point ("12.50"); positive.
CREATE FUNCTION tpwallet._recon_param_amount(v jsonb, place text)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	amt numeric;
BEGIN
	IF jsonb_typeof(v) = 'number' OR (jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$') THEN
		amt := (v #>> '{}')::numeric;
	END IF;
	IF amt IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s must be a decimal number, not %s', place, coalesce(v::text, 'missing')),
			HINT = 'Give amounts as strings, e.g. "12.50".';
	END IF;
	IF amt <= 0 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s must be positive, not %s', place, amt),
			HINT = 'The accounts give the direction: the amount is always positive.';
	END IF;
	RETURN amt;
END
$$;

-- An account parameter: an existing, open account (42704, TW003).
CREATE FUNCTION tpwallet._recon_param_account(v jsonb, place text,
                                              OUT code text, OUT book text, OUT asset text, OUT decimals int)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	st text;
BEGIN
	IF jsonb_typeof(v) IS DISTINCT FROM 'string' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s must be an account code (a string), not %s', place, coalesce(v::text, 'missing'));
	END IF;
	SELECT a.code, a.book, a.asset, s.decimals, a.status INTO code, book, asset, decimals, st
	  FROM tpwallet.accounts a JOIN tpwallet.assets s ON s.code = a.asset WHERE a.code = v #>> '{}';
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('%s: account "%s" does not exist', place, v #>> '{}');
	END IF;
	IF st = 'closed' THEN
		RAISE EXCEPTION USING ERRCODE = 'TW003', MESSAGE = format('%s: account "%s" is closed', place, code);
	END IF;
END
$$;

-- A decision's parameters, checked and normalized (defaults filled in,
-- amounts as exact strings).  asset and difference (the left items' sum
-- minus the right items') are of the decision's exceptions; the checks
-- are those the ledger would make at approval, with the same SQLSTATEs
-- (42704, TW003, TW004, TW005, TW006, 22023), so that a bad proposal is
-- refused when it is made, not when it is approved.
CREATE FUNCTION tpwallet._recon_decision_params(action text, params jsonb, asset text, difference numeric)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	p jsonb := coalesce(params, '{}');
	entry boolean := p ? 'book' OR p ? 'postings';
	allowed text[];
	k text;
	dr record;
	cr record;
	acct record;
	amt numeric;
	book text;
	po jsonb;
	n int := 0;
	postings jsonb := '[]';
	bad record;
BEGIN
	IF jsonb_typeof(p) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'params must be a JSON object';
	END IF;
	allowed := CASE WHEN action IN ('match', 'accept') THEN '{}'
	                WHEN action = 'unmatch' THEN '{match_id}'
	                WHEN action = 'adjust' AND entry THEN '{book,postings}'
	                ELSE '{debit_account,credit_account,amount}' END;
	FOR k IN SELECT jsonb_object_keys(p) ORDER BY 1 LOOP
		IF NOT k = ANY (allowed) THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s: unknown parameter "%s"', action, k),
				HINT = CASE action
				       WHEN 'unmatch' THEN 'unmatch takes {"match_id": N}.'
				       WHEN 'write_off' THEN 'write_off takes debit_account, credit_account and optionally amount (default: the difference of the items).'
				       WHEN 'adjust' THEN 'adjust takes debit_account, credit_account and amount (a transfer), or book and postings (an entry, as for post_entry).'
				       ELSE format('%s takes no parameters.', action) END;
		END IF;
	END LOOP;
	IF action IN ('match', 'accept') THEN
		RETURN '{}';
	END IF;
	IF action = 'unmatch' THEN
		IF jsonb_typeof(p -> 'match_id') IS DISTINCT FROM 'number' OR (p ->> 'match_id') !~ '^[0-9]{1,18}$' THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('unmatch: match_id must be a match id, not %s', coalesce((p -> 'match_id')::text, 'missing')),
				HINT = 'unmatch takes {"match_id": N}.';
		END IF;
		RETURN jsonb_build_object('match_id', (p ->> 'match_id')::bigint);
	END IF;

	IF NOT entry THEN
		-- a transfer: write_off, or adjust with two accounts
		dr := tpwallet._recon_param_account(p -> 'debit_account', action || ': debit_account');
		cr := tpwallet._recon_param_account(p -> 'credit_account', action || ': credit_account');
		IF dr.code = cr.code THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s: debit_account and credit_account are both "%s"', action, dr.code);
		END IF;
		IF dr.asset <> cr.asset THEN
			RAISE EXCEPTION USING ERRCODE = 'TW005',
				MESSAGE = format('%s: accounts "%s" and "%s" hold different assets', action, dr.code, cr.code);
		END IF;
		IF dr.book <> cr.book THEN
			RAISE EXCEPTION USING ERRCODE = 'TW006',
				MESSAGE = format('%s: accounts "%s" and "%s" are in different books', action, dr.code, cr.code);
		END IF;
		IF action = 'write_off' AND dr.asset <> asset THEN
			RAISE EXCEPTION USING ERRCODE = 'TW005',
				MESSAGE = format('write_off: the accounts hold %s, the items are in %s', dr.asset, asset),
				HINT = 'A write-off is in the asset of what it writes off.';
		END IF;
		IF p ? 'amount' THEN
			amt := tpwallet._recon_param_amount(p -> 'amount', action || ': amount');
		ELSIF action = 'write_off' THEN
			amt := abs(difference);
			IF amt = 0 THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'write_off: the items add up to 0, there is nothing to write off',
					HINT = 'Give an amount, or propose match or accept.';
			END IF;
		ELSE
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'adjust: amount is missing';
		END IF;
		IF scale(trim_scale(amt)) > dr.decimals THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('%s: amount %s has more decimal places than asset %s allows (%s)', action, amt, dr.asset, dr.decimals);
		END IF;
		RETURN jsonb_build_object('debit_account', dr.code, 'credit_account', cr.code, 'amount', trim_scale(amt)::text);
	END IF;

	-- an entry (adjust): a book and balanced postings, as for post_entry
	IF jsonb_typeof(p -> 'book') IS DISTINCT FROM 'string' OR (p ->> 'book') NOT IN ('ops', 'gl') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('adjust: book must be "ops" or "gl", not %s', coalesce((p -> 'book')::text, 'missing'));
	END IF;
	book := p ->> 'book';
	IF jsonb_typeof(p -> 'postings') IS DISTINCT FROM 'array' OR jsonb_array_length(p -> 'postings') < 2 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'adjust: postings must be an array of at least two postings';
	END IF;
	FOR po IN SELECT e FROM jsonb_array_elements(p -> 'postings') e LOOP
		n := n + 1;
		IF jsonb_typeof(po) <> 'object' THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('adjust: posting %s must be an object', n);
		END IF;
		FOR k IN SELECT jsonb_object_keys(po) ORDER BY 1 LOOP
			IF k NOT IN ('account', 'side', 'amount') THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('adjust: unknown key "%s" in posting %s', k, n);
			END IF;
		END LOOP;
		acct := tpwallet._recon_param_account(po -> 'account', format('adjust: posting %s', n));
		IF acct.book <> book THEN
			RAISE EXCEPTION USING ERRCODE = 'TW006',
				MESSAGE = format('adjust: account "%s" is in book %s, not %s (posting %s)', acct.code, acct.book, book, n);
		END IF;
		IF jsonb_typeof(po -> 'side') IS DISTINCT FROM 'string' OR (po ->> 'side') NOT IN ('debit', 'credit') THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('adjust: side must be "debit" or "credit", not %s (posting %s)', coalesce((po -> 'side')::text, 'missing'), n);
		END IF;
		amt := tpwallet._recon_param_amount(po -> 'amount', format('adjust: amount of posting %s', n));
		IF scale(trim_scale(amt)) > acct.decimals THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('adjust: amount %s has more decimal places than asset %s allows (posting %s)', amt, acct.asset, n);
		END IF;
		postings := postings || jsonb_build_array(jsonb_build_object('account', acct.code, 'side', po ->> 'side',
		                                                             'amount', trim_scale(amt)::text, 'asset', acct.asset));
	END LOOP;
	SELECT x.asset, sum(x.amount) FILTER (WHERE x.side = 'debit') AS debits, sum(x.amount) FILTER (WHERE x.side = 'credit') AS credits
	  INTO bad
	  FROM jsonb_to_recordset(postings) AS x (asset text, side text, amount numeric)
	 GROUP BY x.asset
	HAVING coalesce(sum(x.amount) FILTER (WHERE x.side = 'debit'), 0) <> coalesce(sum(x.amount) FILTER (WHERE x.side = 'credit'), 0)
	 ORDER BY x.asset COLLATE "C" LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'TW004', MESSAGE = format('adjust: the entry is not balanced in %s', bad.asset),
			DETAIL = format('Debits total %s and credits total %s.', coalesce(bad.debits, 0), coalesce(bad.credits, 0));
	END IF;
	RETURN jsonb_build_object('book', book,
	                          'postings', (SELECT jsonb_agg(x - 'asset' ORDER BY o) FROM jsonb_array_elements(postings) WITH ORDINALITY AS e (x, o)));
END
$$;

-- A manual match cannot use an item that a match of the same run already
-- used, even a revoked one: recon_match_items keeps one row per item and
-- run (the engine's index).  Refused with 55000; a later run matches it.
CREATE FUNCTION tpwallet._recon_refuse_rematch(run bigint, items bigint[])
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	hit record;
BEGIN
	SELECT mi.item_id, mi.match_id INTO hit
	  FROM tpwallet.recon_match_items mi WHERE mi.run_id = run AND mi.item_id = ANY (items)
	 ORDER BY mi.item_id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '55000',
			MESSAGE = format('item %s was matched in run %s before (match %s, unmatched since): it cannot be matched again in that run',
			                 hit.item_id, run, hit.match_id),
			HINT = 'A later run will match it (and resolve the exception); or propose write_off, adjust or accept.';
	END IF;
END
$$;

-- Apply an approved decision; returns what it made (the decision's result).
-- Ledger entries carry the decision: metadata {"recon_decision": id}, and
-- reference and idempotency key 'recon:decision:<id>', so that a decision
-- can never post twice.
CREATE FUNCTION tpwallet._recon_apply(d tpwallet.recon_decisions)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	l bigint[];
	r bigint[];
	lt numeric;
	rt numeric;
	mid bigint;
	eid bigint;
	key text := 'recon:decision:' || d.decision_id;
	meta jsonb := jsonb_build_object('recon_decision', d.decision_id);
	reopened bigint[];
	opened bigint[];
	items bigint[];
	classes text[];
BEGIN
	CASE d.action
	WHEN 'match' THEN
		SELECT array_agg(x.item_id ORDER BY x.item_id) FILTER (WHERE x.side = 'left'),
		       array_agg(x.item_id ORDER BY x.item_id) FILTER (WHERE x.side = 'right'),
		       sum(i.amount) FILTER (WHERE x.side = 'left'), sum(i.amount) FILTER (WHERE x.side = 'right')
		  INTO l, r, lt, rt
		  FROM tpwallet.recon_exceptions x JOIN tpwallet.recon_items i ON i.item_id = x.item_id
		 WHERE x.exception_id = ANY (d.exception_ids);
		PERFORM tpwallet._recon_refuse_rematch(d.run_id, coalesce(l, '{}') || coalesce(r, '{}'));
		mid := tpwallet._recon_record_match(d.run_id, 'manual', 1, l, r);
		RETURN jsonb_strip_nulls(jsonb_build_object('match_id', mid, 'left_total', lt::text, 'right_total', rt::text));
	WHEN 'write_off', 'adjust' THEN
		IF d.params ? 'postings' THEN
			eid := tpwallet.post_entry(d.params ->> 'book', d.params -> 'postings', key, key, NULL, meta);
		ELSE
			eid := tpwallet.transfer(d.params ->> 'debit_account', d.params ->> 'credit_account', (d.params ->> 'amount')::numeric,
			                         key, key, NULL, meta);
		END IF;
		RETURN jsonb_build_object('entry_id', eid);
	WHEN 'accept' THEN
		RETURN '{}';
	WHEN 'unmatch' THEN
		INSERT INTO tpwallet.recon_match_revocations (match_id, run_id, decision_id)
		VALUES (d.match_id, d.run_id, d.decision_id);
		-- what the match resolved is open again (in its own run, and in
		-- earlier runs whose exceptions it matched) ...
		WITH u AS (UPDATE tpwallet.recon_exceptions x
		              SET status = 'open', assigned_to = NULL, resolution = NULL, resolved_at = NULL, resolved_by = NULL,
		                  decision_id = NULL, match_id = NULL
		            WHERE x.match_id = d.match_id AND x.status = 'resolved'
		           RETURNING x.exception_id)
		SELECT array_agg(u.exception_id ORDER BY u.exception_id) INTO reopened FROM u;
		-- ... and each of its items without an exception in the match's run
		-- gets one, as if the run had not matched it
		SELECT array_agg(mi.item_id ORDER BY mi.item_id),
		       array_agg(CASE s.kind WHEN 'statement' THEN 'missing_in_ledger' ELSE 'missing_in_statement' END ORDER BY mi.item_id)
		  INTO items, classes
		  FROM tpwallet.recon_match_items mi
		  JOIN tpwallet.recon_items i ON i.item_id = mi.item_id
		  JOIN tpwallet.recon_sources s ON s.id = i.source_id
		 WHERE mi.match_id = d.match_id
		   AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_exceptions x WHERE x.run_id = mi.run_id AND x.item_id = mi.item_id);
		PERFORM tpwallet._recon_record_exceptions(d.run_id, items, classes,
		                                          array_fill(NULL::bigint, ARRAY[coalesce(cardinality(items), 0)]));
		SELECT array_agg(x.exception_id ORDER BY x.exception_id) INTO opened
		  FROM tpwallet.recon_exceptions x WHERE x.run_id = d.run_id AND x.item_id = ANY (items);
		RETURN jsonb_build_object('match_id', d.match_id, 'reopened', to_jsonb(coalesce(reopened, '{}')),
		                          'opened', to_jsonb(coalesce(opened, '{}')));
	END CASE;
END
$$;

-- ---------------------------------------------------------------- assign

-- open -> assigned, or assigned -> assigned to someone else.  The
-- assignee must be able to propose (a member of tpwallet_operator).
CREATE FUNCTION tpwallet.recon_assign(exception_id bigint, assignee text DEFAULT session_user)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	x tpwallet.recon_exceptions;
BEGIN
	SELECT * INTO x FROM tpwallet._recon_lock_exceptions(ARRAY[recon_assign.exception_id]);
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation exception %s does not exist', recon_assign.exception_id);
	END IF;
	IF assignee IS NULL OR assignee !~ '\S' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'assignee must be a login name';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = assignee) THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('role "%s" does not exist', assignee);
	END IF;
	IF NOT pg_catalog.pg_has_role(assignee, 'tpwallet_operator', 'MEMBER') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s cannot work on exceptions: not a member of tpwallet_operator', assignee),
			HINT = 'The assignee proposes the decision; grant tpwallet_operator first.';
	END IF;
	IF x.status = 'pending_approval' THEN
		RAISE EXCEPTION USING ERRCODE = 'TW014',
			MESSAGE = format('exception %s has pending decision %s: it cannot be reassigned', x.exception_id, x.decision_id),
			HINT = 'The decision is approved, rejected or withdrawn first (recon_revoke by its maker).';
	END IF;
	PERFORM tpwallet._recon_refuse_resolved(x.exception_id, x.status, x.resolution, x.continues_exception_id);
	IF x.assigned_to IS NOT DISTINCT FROM assignee THEN
		RETURN;  -- already theirs: nothing to write
	END IF;
	UPDATE tpwallet.recon_exceptions e SET status = 'assigned', assigned_to = assignee WHERE e.exception_id = x.exception_id;
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('recon_assign', 'exception ' || x.exception_id,
	        jsonb_build_object('run_id', x.run_id, 'assignee', assignee, 'previous', x.assigned_to));
END
$$;
COMMENT ON FUNCTION tpwallet.recon_assign IS
	'Assign an open or assigned reconciliation exception to a login (default: yourself), who alone may propose a decision on it.';

-- ---------------------------------------------------------------- propose

-- assigned -> pending_approval: a decision on exceptions of one run and
-- one asset, all assigned to the caller (the assignee is the maker); an
-- unmatch names a match instead of exceptions.  Everything is checked
-- now, so that approval only applies.
CREATE FUNCTION tpwallet.recon_propose(action text, exception_ids bigint[], reason text, params jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	act text := lower(btrim(recon_propose.action));
	ids bigint[];
	x record;
	run bigint;
	asset text;
	diff numeric;
	p jsonb;
	n_assets int;
	m tpwallet.recon_matches;
	v tpwallet.recon_match_revocations;
	did bigint;
BEGIN
	IF act IS NULL OR act NOT IN ('match', 'unmatch', 'write_off', 'adjust', 'accept') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown decision %L', recon_propose.action),
			HINT = 'Decisions: match, unmatch, write_off, adjust, accept.';
	END IF;
	IF reason IS NULL OR reason !~ '\S' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a decision needs a reason',
			HINT = 'Say why, for the checker and the auditors.';
	END IF;

	IF act = 'unmatch' THEN
		IF coalesce(cardinality(exception_ids), 0) > 0 THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'unmatch takes no exceptions: it names the match',
				HINT = 'recon_propose(''unmatch'', ''{}'', reason, ''{"match_id": N}'').';
		END IF;
		p := tpwallet._recon_decision_params(act, params, NULL, NULL);
		SELECT * INTO m FROM tpwallet.recon_matches rm WHERE rm.match_id = (p ->> 'match_id')::bigint FOR UPDATE;
		IF NOT FOUND THEN
			RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation match %s does not exist', p ->> 'match_id');
		END IF;
		SELECT * INTO v FROM tpwallet.recon_match_revocations rv WHERE rv.match_id = m.match_id;
		IF FOUND THEN
			RAISE EXCEPTION USING ERRCODE = 'TW014', MESSAGE = format('match %s is already unmatched', m.match_id),
				DETAIL = format('Decision %s revoked it at %s.', v.decision_id, v.revoked_at);
		END IF;
		SELECT d.decision_id INTO did FROM tpwallet.recon_decisions d WHERE d.match_id = m.match_id AND d.status = 'pending';
		IF FOUND THEN
			RAISE EXCEPTION USING ERRCODE = 'TW014', MESSAGE = format('match %s already has a pending unmatch: decision %s', m.match_id, did);
		END IF;
		run := m.run_id;
		ids := '{}';
	ELSE
		IF coalesce(cardinality(exception_ids), 0) = 0 THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s needs at least one exception', act);
		END IF;
		IF array_position(exception_ids, NULL) IS NOT NULL THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'exception_ids must not contain NULL';
		END IF;
		ids := ARRAY(SELECT DISTINCT u FROM unnest(exception_ids) u ORDER BY u);
		IF cardinality(ids) <> cardinality(exception_ids) THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'exception_ids names an exception twice';
		END IF;
		PERFORM 1 FROM tpwallet._recon_lock_exceptions(ids);
		SELECT u INTO x FROM unnest(ids) u WHERE NOT EXISTS (SELECT 1 FROM tpwallet.recon_exceptions e WHERE e.exception_id = u) LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation exception %s does not exist', x.u);
		END IF;
		IF (SELECT count(DISTINCT e.run_id) FROM tpwallet.recon_exceptions e WHERE e.exception_id = ANY (ids)) > 1 THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the exceptions of a decision must be of one run',
				DETAIL = (SELECT format('Exceptions %s are of runs %s.', string_agg(e.exception_id::text, ', ' ORDER BY e.exception_id),
				                        string_agg(e.run_id::text, ', ' ORDER BY e.exception_id))
				            FROM tpwallet.recon_exceptions e WHERE e.exception_id = ANY (ids));
		END IF;
		FOR x IN SELECT e.* FROM tpwallet.recon_exceptions e WHERE e.exception_id = ANY (ids) ORDER BY e.exception_id LOOP
			IF x.status = 'open' THEN
				RAISE EXCEPTION USING ERRCODE = 'TW014', MESSAGE = format('exception %s is open: it must be assigned first', x.exception_id),
					HINT = 'recon_assign(exception_id) assigns it to you.';
			ELSIF x.status = 'pending_approval' THEN
				RAISE EXCEPTION USING ERRCODE = 'TW014',
					MESSAGE = format('exception %s already has pending decision %s', x.exception_id, x.decision_id),
					HINT = 'One decision at a time: it is approved or rejected, or its maker withdraws it (recon_revoke).';
			END IF;
			PERFORM tpwallet._recon_refuse_resolved(x.exception_id, x.status, x.resolution, x.continues_exception_id);
			IF x.assigned_to <> session_user THEN
				RAISE EXCEPTION USING ERRCODE = 'TW015',
					MESSAGE = format('exception %s is assigned to %s, not to %s', x.exception_id, x.assigned_to, session_user),
					HINT = format('The assignee proposes: assign it to yourself first (recon_assign), or ask %s.', x.assigned_to);
			END IF;
		END LOOP;
		SELECT min(e.run_id), count(DISTINCT i.asset), min(i.asset),
		       coalesce(sum(i.amount) FILTER (WHERE e.side = 'left'), 0) - coalesce(sum(i.amount) FILTER (WHERE e.side = 'right'), 0)
		  INTO run, n_assets, asset, diff
		  FROM tpwallet.recon_exceptions e JOIN tpwallet.recon_items i ON i.item_id = e.item_id
		 WHERE e.exception_id = ANY (ids);
		IF n_assets > 1 THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the exceptions of a decision must be of one asset',
				DETAIL = (SELECT format('They are in %s.', string_agg(DISTINCT i.asset, ', '))
				            FROM tpwallet.recon_exceptions e JOIN tpwallet.recon_items i ON i.item_id = e.item_id
				           WHERE e.exception_id = ANY (ids));
		END IF;
		IF act = 'match' THEN
			IF cardinality(ids) < 2 THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a match needs at least two exceptions';
			END IF;
			PERFORM tpwallet._recon_refuse_rematch(run, ARRAY(SELECT e.item_id FROM tpwallet.recon_exceptions e WHERE e.exception_id = ANY (ids)));
		END IF;
		p := tpwallet._recon_decision_params(act, params, asset, diff);
	END IF;

	INSERT INTO tpwallet.recon_decisions (action, run_id, exception_ids, match_id, reason, params)
	VALUES (act, run, ids, (p ->> 'match_id')::bigint, reason, p)
	RETURNING recon_decisions.decision_id INTO did;
	UPDATE tpwallet.recon_exceptions e SET status = 'pending_approval', decision_id = did WHERE e.exception_id = ANY (ids);
	PERFORM tpwallet._recon_log(did, 'proposed', jsonb_build_object('action', act, 'exceptions', to_jsonb(ids), 'params', p));
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('recon_propose', 'decision ' || did,
	        jsonb_build_object('action', act, 'run_id', run, 'exceptions', to_jsonb(ids), 'params', p));
	RETURN did;
END
$$;
COMMENT ON FUNCTION tpwallet.recon_propose IS
	'Propose a decision (match, unmatch, write_off, adjust, accept) with a reason; it takes effect when another user approves it. Returns the decision id.';

-- ---------------------------------------------------------------- approve, reject, revoke

-- pending -> approved, by another user than the maker; the decision is
-- applied in the same transaction (a match recorded, an entry posted, a
-- match revoked) and its exceptions resolved.  If applying fails (e.g.
-- TW001 insufficient funds), nothing is written and it stays pending.
CREATE FUNCTION tpwallet.recon_approve(decision_id bigint, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	d tpwallet.recon_decisions;
	res jsonb;
	t timestamptz := clock_timestamp();
	n text := CASE WHEN note ~ '\S' THEN note END;
BEGIN
	d := tpwallet._recon_lock_decision(recon_approve.decision_id);
	PERFORM tpwallet._recon_refuse_closed(d);
	IF d.maker = session_user THEN
		RAISE EXCEPTION USING ERRCODE = 'TW015',
			MESSAGE = format('decision %s was proposed by %s: another user must approve it', d.decision_id, d.maker),
			HINT = 'Four eyes: the maker of a decision is never its checker. The maker may withdraw it with recon_revoke.';
	END IF;
	res := tpwallet._recon_apply(d);
	UPDATE tpwallet.recon_decisions x SET status = 'approved', checker = session_user, checked_at = t, check_note = n, result = res
	 WHERE x.decision_id = d.decision_id;
	UPDATE tpwallet.recon_exceptions e
	   SET status = 'resolved', resolved_at = t, resolved_by = session_user,
	       resolution = CASE d.action WHEN 'match' THEN 'matched' WHEN 'write_off' THEN 'written_off'
	                                  WHEN 'adjust' THEN 'adjusted' ELSE 'accepted' END,
	       match_id = (res ->> 'match_id')::bigint
	 WHERE e.exception_id = ANY (d.exception_ids);
	PERFORM tpwallet._recon_log(d.decision_id, 'approved', jsonb_strip_nulls(jsonb_build_object('note', n)));
	PERFORM tpwallet._recon_log(d.decision_id, 'applied', res);
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('recon_approve', 'decision ' || d.decision_id,
	        jsonb_build_object('action', d.action, 'run_id', d.run_id, 'maker', d.maker, 'result', res));
	RETURN res;
END
$$;
COMMENT ON FUNCTION tpwallet.recon_approve IS
	'Approve a pending reconciliation decision (not your own) and apply it: returns its result (match_id, entry_id, exceptions).';

-- pending -> rejected, by another user than the maker, with a note; its
-- exceptions go back to their assignee.
CREATE FUNCTION tpwallet.recon_reject(decision_id bigint, note text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	d tpwallet.recon_decisions;
BEGIN
	d := tpwallet._recon_lock_decision(recon_reject.decision_id);
	PERFORM tpwallet._recon_refuse_closed(d);
	IF d.maker = session_user THEN
		RAISE EXCEPTION USING ERRCODE = 'TW015',
			MESSAGE = format('decision %s was proposed by %s: another user must reject it', d.decision_id, d.maker),
			HINT = 'To withdraw your own proposal, use recon_revoke.';
	END IF;
	IF note IS NULL OR note !~ '\S' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a rejection needs a note',
			HINT = 'Say what is wrong, for the maker and the auditors.';
	END IF;
	UPDATE tpwallet.recon_decisions x SET status = 'rejected', checker = session_user, checked_at = clock_timestamp(), check_note = note
	 WHERE x.decision_id = d.decision_id;
	UPDATE tpwallet.recon_exceptions e SET status = 'assigned', decision_id = NULL WHERE e.exception_id = ANY (d.exception_ids);
	PERFORM tpwallet._recon_log(d.decision_id, 'rejected', jsonb_build_object('note', note));
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('recon_reject', 'decision ' || d.decision_id, jsonb_build_object('action', d.action, 'run_id', d.run_id, 'maker', d.maker));
END
$$;
COMMENT ON FUNCTION tpwallet.recon_reject IS
	'Reject a pending reconciliation decision (not your own) with a note; its exceptions go back to their assignee.';

-- pending -> revoked, by its maker (withdrawn, kept apart from a
-- rejection); its exceptions go back to the assignee.
CREATE FUNCTION tpwallet.recon_revoke(decision_id bigint, note text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	d tpwallet.recon_decisions;
	n text := CASE WHEN note ~ '\S' THEN note END;
BEGIN
	d := tpwallet._recon_lock_decision(recon_revoke.decision_id);
	PERFORM tpwallet._recon_refuse_closed(d);
	IF d.maker <> session_user THEN
		RAISE EXCEPTION USING ERRCODE = 'TW015',
			MESSAGE = format('decision %s was proposed by %s: only its maker withdraws it', d.decision_id, d.maker),
			HINT = 'A checker rejects it with recon_reject.';
	END IF;
	UPDATE tpwallet.recon_decisions x SET status = 'revoked', checker = session_user, checked_at = clock_timestamp(), check_note = n
	 WHERE x.decision_id = d.decision_id;
	UPDATE tpwallet.recon_exceptions e SET status = 'assigned', decision_id = NULL WHERE e.exception_id = ANY (d.exception_ids);
	PERFORM tpwallet._recon_log(d.decision_id, 'revoked', jsonb_strip_nulls(jsonb_build_object('note', n)));
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('recon_revoke', 'decision ' || d.decision_id, jsonb_build_object('action', d.action, 'run_id', d.run_id));
END
$$;
COMMENT ON FUNCTION tpwallet.recon_revoke IS
	'Withdraw your own pending reconciliation decision; its exceptions go back to you.';

-- ---------------------------------------------------------------- a later run matched it

-- For the matching engine: the exceptions (of earlier runs) whose items
-- run `run` matched are resolved as 'matched' with that match.  Pending
-- decisions on them are superseded (their other exceptions go back to
-- the assignee).  Exceptions already resolved are left as they are.
-- Call it after the run's matches are recorded; an exception whose item
-- the run did not match (or matched in a revoked match), or of a run not
-- earlier than `run`, is an error (22023): it would be a bug in the
-- caller.  Returns the number of exceptions resolved.
CREATE FUNCTION tpwallet._recon_auto_resolve(exception_ids bigint[], run bigint)
RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	ids bigint[] := ARRAY(SELECT DISTINCT u FROM unnest(exception_ids) u WHERE u IS NOT NULL ORDER BY u);
	locked bigint[] := '{}';
	want bigint[];
	x record;
	d tpwallet.recon_decisions;
	t timestamptz := clock_timestamp();
	n int;
	superseded bigint[];
BEGIN
	IF run IS NULL OR NOT EXISTS (SELECT 1 FROM tpwallet.recon_runs r WHERE r.run_id = run) THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation run %s does not exist', coalesce(run::text, 'NULL'));
	END IF;
	IF cardinality(ids) = 0 THEN
		RETURN 0;
	END IF;
	-- lock the exceptions and every exception of their pending decisions,
	-- in id order, before the decisions (see _recon_lock_exceptions)
	LOOP
		want := ARRAY(SELECT DISTINCT u FROM (SELECT unnest(ids) UNION ALL
		                                      SELECT unnest(d2.exception_ids) FROM tpwallet.recon_exceptions e
		                                        JOIN tpwallet.recon_decisions d2 ON d2.decision_id = e.decision_id
		                                       WHERE e.exception_id = ANY (ids) AND e.status = 'pending_approval') s (u)
		              ORDER BY u);
		EXIT WHEN want <@ locked;
		PERFORM 1 FROM tpwallet._recon_lock_exceptions(want);
		locked := locked || want;
	END LOOP;

	SELECT u INTO x FROM unnest(ids) u WHERE NOT EXISTS (SELECT 1 FROM tpwallet.recon_exceptions e WHERE e.exception_id = u) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation exception %s does not exist', x.u);
	END IF;
	SELECT e.exception_id, e.run_id, e.item_id, mi.match_id, v.match_id AS revoked INTO x
	  FROM tpwallet.recon_exceptions e
	  LEFT JOIN tpwallet.recon_match_items mi ON mi.run_id = run AND mi.item_id = e.item_id
	  LEFT JOIN tpwallet.recon_match_revocations v ON v.match_id = mi.match_id
	 WHERE e.exception_id = ANY (ids)
	   AND (e.run_id >= run OR v.match_id IS NOT NULL OR (e.status <> 'resolved' AND mi.match_id IS NULL))
	 ORDER BY e.exception_id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = CASE WHEN x.run_id >= run THEN format('exception %s is of run %s, not of a run before run %s', x.exception_id, x.run_id, run)
			               WHEN x.match_id IS NULL THEN format('run %s did not match item %s of exception %s', run, x.item_id, x.exception_id)
			               ELSE format('match %s of item %s is unmatched', x.match_id, x.item_id) END;
	END IF;

	-- supersede the pending decisions first: the exceptions' trigger checks it
	FOR d IN SELECT dd.* FROM tpwallet.recon_decisions dd
	          WHERE dd.decision_id IN (SELECT e.decision_id FROM tpwallet.recon_exceptions e
	                                    WHERE e.exception_id = ANY (ids) AND e.status = 'pending_approval')
	          ORDER BY dd.decision_id FOR UPDATE
	LOOP
		UPDATE tpwallet.recon_decisions dd SET status = 'superseded', checked_at = t,
		       check_note = format('run %s matched exceptions %s first', run,
		                           array_to_string(ARRAY(SELECT u FROM unnest(d.exception_ids) u WHERE u = ANY (ids) ORDER BY u), ', '))
		 WHERE dd.decision_id = d.decision_id;
		UPDATE tpwallet.recon_exceptions e SET status = 'assigned', decision_id = NULL
		 WHERE e.exception_id = ANY (d.exception_ids) AND NOT e.exception_id = ANY (ids);
		PERFORM tpwallet._recon_log(d.decision_id, 'superseded', jsonb_build_object('run_id', run,
		        'matched', to_jsonb(ARRAY(SELECT u FROM unnest(d.exception_ids) u WHERE u = ANY (ids) ORDER BY u)),
		        'returned', to_jsonb(ARRAY(SELECT u FROM unnest(d.exception_ids) u WHERE NOT u = ANY (ids) ORDER BY u))));
		superseded := superseded || d.decision_id;
	END LOOP;

	UPDATE tpwallet.recon_exceptions e
	   SET status = 'resolved', resolution = 'matched', resolved_at = t, resolved_by = session_user, decision_id = NULL,
	       match_id = mi.match_id
	  FROM tpwallet.recon_match_items mi
	 WHERE e.exception_id = ANY (ids) AND e.status <> 'resolved' AND mi.run_id = run AND mi.item_id = e.item_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		INSERT INTO tpwallet.audit_log (action, object, detail)
		VALUES ('recon_auto_resolve', 'run ' || run,
		        jsonb_build_object('exceptions', to_jsonb(ids), 'resolved', n, 'superseded', to_jsonb(coalesce(superseded, '{}'))));
	END IF;
	RETURN n;
END
$$;

-- ---------------------------------------------------------------- export

-- One CSV record (RFC 4180), CRLF-terminated: a field is quoted when it
-- holds a comma, a quote or a line break, or begins or ends with white
-- space (Unicode White_Space, a fixed list: the same bytes on every
-- server), quotes doubled; a NULL field is empty.  In C (export_sql.c):
-- an export formats millions of fields.
CREATE FUNCTION tpwallet._csv_record(VARIADIC fields text[])
RETURNS text
AS 'MODULE_PATHNAME', 'tpwallet_csv_record'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Times in exports: UTC, ISO 8601, microseconds; whatever the session's
-- TimeZone and DateStyle, so that an export is the same bytes everywhere.
CREATE FUNCTION tpwallet._recon_utc(t timestamptz)
RETURNS text
AS 'MODULE_PATHNAME', 'tpwallet_recon_utc'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- A run for auditors: matches.csv, exceptions.csv, decisions.csv,
-- decision_log.csv and manifest.txt (the run's parameters as # lines,
-- each file's size, and sha256sum lines, so that `sha256sum -c
-- manifest.txt` checks the files).  One snapshot (STABLE), fixed order
-- (by id), exact numbers, UTC times: the same data gives the same bytes.
CREATE FUNCTION tpwallet.recon_export(run_id bigint)
RETURNS TABLE (file text, content text, sha256 text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	r record;
	names text[] := ARRAY['matches.csv', 'exceptions.csv', 'decisions.csv', 'decision_log.csv'];
	bodies text[] := '{}';
	counts int[] := '{}';
	body text;
	cnt int;
	manifest text;
	k int;
BEGIN
	SELECT rr.*, ls.name AS left_name, ls.kind AS left_kind, rs.name AS right_name, rs.kind AS right_kind INTO r
	  FROM tpwallet.recon_runs rr
	  JOIN tpwallet.recon_sources ls ON ls.id = rr.left_source_id
	  JOIN tpwallet.recon_sources rs ON rs.id = rr.right_source_id
	 WHERE rr.run_id = recon_export.run_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation run %s does not exist', recon_export.run_id);
	END IF;

	SELECT tpwallet._csv_record('run_id', 'match_id', 'rule', 'confidence', 'side', 'item_id', 'source', 'ext_id', 'entry_id',
	                            'amount', 'asset', 'occurred_at', 'revoked_by_decision')
	       || coalesce(string_agg(tpwallet._csv_record(mi.run_id::text, mi.match_id::text, mi.rule, mi.confidence::text, mi.side,
	                                                   mi.item_id::text, mi.source, mi.ext_id, mi.entry_id::text, i.amount::text,
	                                                   i.asset, tpwallet._recon_utc(i.occurred_at), v.decision_id::text),
	                              '' ORDER BY mi.match_id, mi.side = 'right', mi.item_id), ''),
	       count(mi.item_id)
	  INTO body, cnt
	  FROM tpwallet.recon_match_items mi
	  JOIN tpwallet.recon_items i ON i.item_id = mi.item_id
	  LEFT JOIN tpwallet.recon_match_revocations v ON v.match_id = mi.match_id
	 WHERE mi.run_id = r.run_id;
	bodies := bodies || body;
	counts := counts || cnt;

	SELECT tpwallet._csv_record('exception_id', 'item_id', 'side', 'source', 'ext_id', 'entry_id', 'class', 'status', 'resolution',
	                            'score', 'amount', 'asset', 'occurred_at', 'counterpart_item_id', 'assigned_to', 'decision_id',
	                            'match_id', 'resolved_at', 'resolved_by', 'continues_exception_id')
	       || coalesce(string_agg(tpwallet._csv_record(x.exception_id::text, x.item_id::text, x.side, x.source, x.ext_id,
	                                                   x.entry_id::text, x.class, x.status, x.resolution, x.score::text,
	                                                   i.amount::text, i.asset, tpwallet._recon_utc(i.occurred_at),
	                                                   x.counterpart_item_id::text, x.assigned_to, x.decision_id::text,
	                                                   x.match_id::text, tpwallet._recon_utc(x.resolved_at), x.resolved_by,
	                                                   x.continues_exception_id::text),
	                              '' ORDER BY x.exception_id), ''),
	       count(x.exception_id)
	  INTO body, cnt
	  FROM tpwallet.recon_exceptions x JOIN tpwallet.recon_items i ON i.item_id = x.item_id
	 WHERE x.run_id = r.run_id;
	bodies := bodies || body;
	counts := counts || cnt;

	SELECT tpwallet._csv_record('decision_id', 'run_id', 'action', 'exception_ids', 'match_id', 'reason', 'params', 'maker',
	                            'made_at', 'status', 'checker', 'checked_at', 'check_note', 'result')
	       || coalesce(string_agg(tpwallet._csv_record(d.decision_id::text, d.run_id::text, d.action,
	                                                   array_to_string(d.exception_ids, ' '), d.match_id::text, d.reason,
	                                                   d.params::text, d.maker, tpwallet._recon_utc(d.made_at), d.status, d.checker,
	                                                   tpwallet._recon_utc(d.checked_at), d.check_note, d.result::text),
	                              '' ORDER BY d.decision_id), ''),
	       count(d.decision_id)
	  INTO body, cnt
	  FROM tpwallet.recon_decisions d
	 WHERE d.run_id = r.run_id;
	bodies := bodies || body;
	counts := counts || cnt;

	SELECT tpwallet._csv_record('log_id', 'decision_id', 'event', 'at', 'actor', 'detail')
	       || coalesce(string_agg(tpwallet._csv_record(g.log_id::text, g.decision_id::text, g.event, tpwallet._recon_utc(g.at),
	                                                   g.actor, g.detail::text),
	                              '' ORDER BY g.log_id), ''),
	       count(g.log_id)
	  INTO body, cnt
	  FROM tpwallet.recon_decision_log g JOIN tpwallet.recon_decisions d ON d.decision_id = g.decision_id
	 WHERE d.run_id = r.run_id;
	bodies := bodies || body;
	counts := counts || cnt;

	manifest := '# tpwallet reconciliation export, format 1' || E'\n'
	         || '# run_id: ' || r.run_id || E'\n'
	         || '# left_source: ' || r.left_name || ' (' || r.left_kind || ')' || E'\n'
	         || '# right_source: ' || r.right_name || ' (' || r.right_kind || ')' || E'\n'
	         || '# window_from: ' || tpwallet._recon_utc(r.window_from) || E'\n'
	         || '# window_to: ' || tpwallet._recon_utc(r.window_to) || E'\n'
	         || '# rules: ' || r.rules::text || E'\n'
	         || '# run_status: ' || r.status || E'\n'
	         || format('# counts: left_items=%s right_items=%s matches=%s matched_items=%s exceptions=%s',
	                   r.left_items, r.right_items, r.matches, r.matched_items, r.exceptions) || E'\n';
	FOR k IN 1 .. cardinality(names) LOOP
		manifest := manifest || format('# file: %s %s bytes %s rows', names[k],
		                               octet_length(convert_to(bodies[k], 'UTF8')), counts[k]) || E'\n';
	END LOOP;
	FOR k IN 1 .. cardinality(names) LOOP
		manifest := manifest || encode(pg_catalog.sha256(convert_to(bodies[k], 'UTF8')), 'hex') || '  ' || names[k] || E'\n';
	END LOOP;

	FOR k IN 1 .. cardinality(names) LOOP
		file := names[k];
		content := bodies[k];
		sha256 := encode(pg_catalog.sha256(convert_to(bodies[k], 'UTF8')), 'hex');
		RETURN NEXT;
	END LOOP;
	file := 'manifest.txt';
	content := manifest;
	sha256 := encode(pg_catalog.sha256(convert_to(manifest, 'UTF8')), 'hex');
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION tpwallet.recon_export IS
	'Export a reconciliation run for auditors: matches.csv, exceptions.csv, decisions.csv, decision_log.csv and manifest.txt (sha256sum format), with each file''s SHA-256.';
