-- ===================================================================
-- Reconciliation, part 3: an anomaly score in [0, 1] on every exception,
-- from a logistic regression trained in the database on past decisions
-- (recon_exceptions.resolution) or on a table of labels.  Features come
-- from the items of the exception's source before it (the counterparty's
-- history), its time, its amount and its class.  Scores and weights are
-- float8 (they rank work, they are not money).  docs/reconciliation.md,
-- "Anomaly score", is the manual.
-- ===================================================================

-- A counterparty's history within its source, for the features: with the
-- amount, an index-only scan (the history of each of a big run's 20,000
-- exceptions was up to 100 heap fetches).
CREATE INDEX recon_items_counterparty ON tpwallet.recon_items (source_id, counterparty, occurred_at)
	INCLUDE (amount) WHERE counterparty IS NOT NULL;

-- One row per trained model; the newest scores.  A model is never changed:
-- training again adds one.
CREATE TABLE tpwallet.recon_models (
	model_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	trained_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
	trained_by  text NOT NULL DEFAULT session_user,
	features    text[] NOT NULL,       -- names, in the order of the arrays below
	means       float8[] NOT NULL,     -- standardization: (x - mean) / std
	stds        float8[] NOT NULL,
	weights     float8[] NOT NULL,
	bias        float8 NOT NULL,
	n_train     int NOT NULL CHECK (n_train > 0),
	n_positive  int NOT NULL CHECK (n_positive >= 0 AND n_positive <= n_train),
	metrics     jsonb NOT NULL DEFAULT '{}',   -- label source, l2, iterations, loss, training AUC ...
	CHECK (cardinality(features) > 0 AND cardinality(means) = cardinality(features)
	       AND cardinality(stds) = cardinality(features) AND cardinality(weights) = cardinality(features))
);
SELECT tpwallet._guard('recon_models');

-- ---------------------------------------------------------------- features

-- The features, in the order of _recon_features' arrays.
CREATE FUNCTION tpwallet._recon_feature_names()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT ARRAY['log_amount', 'amount_z', 'new_counterparty', 'no_counterparty', 'days_since_seen',
	             'freq_30d', 'burst_1h', 'night', 'weekend', 'round_100', 'round_1000', 'outflow',
	             'has_counterpart', 'gap_hours', 'amount_diff',
	             'class_missing_in_ledger', 'class_missing_in_statement', 'class_amount_mismatch', 'class_timing',
	             'class_fee_difference', 'class_duplicate', 'class_ambiguous', 'class_reversal']
$$;

-- The features of exceptions, in one query.  History = the items of the
-- exception's source with the same counterparty before the item (the
-- last 100 within a year):
--   log_amount        log10(1 + |amount|), in float8: a statistic, not money
--                     (numeric log10 over each item's history was a quarter
--                     of a reconcile() run)
--   amount_z          robust z-score of log_amount against that history:
--                     |x - median| / (1.4826 * MAD), MAD at least 0.02
--                     (5 %), capped at 10; 0 with fewer than 3 earlier items
--   new_counterparty  1 when the counterparty has no earlier item
--   no_counterparty   1 when the item names none
--   days_since_seen   ln(1 + days since its previous item), 365 at most (and when new)
--   freq_30d          ln(1 + its items in the 30 days before)
--   burst_1h          ln(1 + its items in the hour before)
--   night, weekend    booked 00:00-05:59, or on a Saturday or Sunday, in
--                     the source's time zone (config.timezone, else UTC)
--   round_100/_1000   |amount| a multiple of 100 / of 1000
--   outflow           amount < 0
--   has_counterpart   the classifier found a likely counterpart
--   gap_hours         ln(1 + hours between the item and that counterpart), else 0
--   amount_diff       |difference| / larger |amount| of the two (at most 1), else 0
--   class_*           the exception class, one-hot
--
-- Computed for exceptions to be (items, classes, counterparts: parallel
-- arrays, a row per ordinal) so that a run's exceptions are scored as they
-- are recorded; _recon_features gives them for recorded exceptions.
CREATE FUNCTION tpwallet._recon_item_features(items bigint[], classes text[], counterparts bigint[])
RETURNS TABLE (ord bigint, x float8[])
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT e.ord,
	       ARRAY[v.la,
	             CASE WHEN h.n >= 3 THEN least(10, abs(v.la - h.med) / (1.4826 * greatest(hm.mad, 0.02))) ELSE 0 END,
	             (i.counterparty IS NOT NULL AND coalesce(h.n, 0) = 0)::int,
	             (i.counterparty IS NULL)::int,
	             ln(1 + least(365, coalesce(extract(epoch FROM i.occurred_at - h.last_at)::float8 / 86400, 365))),
	             ln(1 + coalesce(h.n30, 0)),
	             ln(1 + coalesce(h.n1h, 0)),
	             (extract(hour FROM i.occurred_at AT TIME ZONE v.tz) < 6)::int,
	             (extract(isodow FROM i.occurred_at AT TIME ZONE v.tz) >= 6)::int,
	             (i.amount <> 0 AND i.amount % 100 = 0)::int,
	             (i.amount <> 0 AND i.amount % 1000 = 0)::int,
	             (i.amount < 0)::int,
	             (cp.item_id IS NOT NULL)::int,
	             CASE WHEN cp.item_id IS NOT NULL
	                  THEN ln(1 + abs(extract(epoch FROM cp.occurred_at - i.occurred_at))::float8 / 3600) ELSE 0 END,
	             CASE WHEN cp.item_id IS NOT NULL AND greatest(abs(cp.amount), abs(i.amount)) > 0
	                  THEN least(1, abs(cp.amount - i.amount) / greatest(abs(cp.amount), abs(i.amount)))::float8 ELSE 0 END,
	             (e.class = 'missing_in_ledger')::int, (e.class = 'missing_in_statement')::int,
	             (e.class = 'amount_mismatch')::int, (e.class = 'timing')::int, (e.class = 'fee_difference')::int,
	             (e.class = 'duplicate')::int, (e.class = 'ambiguous')::int, (e.class = 'reversal')::int
	       ]::float8[]
	  FROM unnest(items, classes, counterparts) WITH ORDINALITY AS e (item_id, class, counterpart_item_id, ord)
	  JOIN tpwallet.recon_items i ON i.item_id = e.item_id
	  JOIN tpwallet.recon_sources s ON s.id = i.source_id
	  LEFT JOIN tpwallet.recon_items cp ON cp.item_id = e.counterpart_item_id
	 CROSS JOIN LATERAL (SELECT log(1 + abs(i.amount)::float8) AS la,
	                            coalesce(s.config ->> 'timezone', 'UTC') AS tz) v
	  LEFT JOIN LATERAL (
	       SELECT count(*) AS n, max(p.occurred_at) AS last_at,
	              count(*) FILTER (WHERE p.occurred_at >= i.occurred_at - interval '30 days') AS n30,
	              count(*) FILTER (WHERE p.occurred_at >= i.occurred_at - interval '1 hour') AS n1h,
	              percentile_cont(0.5) WITHIN GROUP (ORDER BY p.la) AS med,
	              array_agg(p.la) AS las
	         FROM (SELECT log(1 + abs(q.amount)::float8) AS la, q.occurred_at
	                 FROM tpwallet.recon_items q
	                WHERE q.source_id = i.source_id AND q.counterparty = i.counterparty
	                  AND q.occurred_at < i.occurred_at AND q.occurred_at >= i.occurred_at - interval '365 days'
	                ORDER BY q.occurred_at DESC LIMIT 100) p) h ON i.counterparty IS NOT NULL
	  LEFT JOIN LATERAL (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(u.v - h.med)) AS mad
	                       FROM unnest(h.las) AS u (v)) hm ON h.n >= 3
$$;

-- Recorded exceptions as the parallel arrays the functions above take,
-- in exception id order.
CREATE FUNCTION tpwallet._recon_exception_arrays(ids bigint[], OUT exception_ids bigint[], OUT items bigint[],
                                                 OUT classes text[], OUT counterparts bigint[])
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT array_agg(e.exception_id ORDER BY e.exception_id), array_agg(e.item_id ORDER BY e.exception_id),
	       array_agg(e.class ORDER BY e.exception_id), array_agg(e.counterpart_item_id ORDER BY e.exception_id)
	  FROM tpwallet.recon_exceptions e WHERE e.exception_id = ANY (ids)
$$;

-- The features of recorded exceptions.
CREATE FUNCTION tpwallet._recon_features(ids bigint[])
RETURNS TABLE (exception_id bigint, x float8[])
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT a.exception_ids[f.ord], f.x
	  FROM tpwallet._recon_exception_arrays(ids) a
	 CROSS JOIN LATERAL tpwallet._recon_item_features(a.items, a.classes, a.counterparts) f
$$;

-- ---------------------------------------------------------------- models

-- The prior: the score before any model is trained.  Hand-set weights on
-- the raw features (means 0, stds 1), documented in docs/reconciliation.md:
-- new or missing counterparties, night and weekend bookings, round and
-- unusual amounts, bursts, amount differences and the classes that are
-- usually real problems raise it; a counterpart found, regular history,
-- timing and fee differences lower it.
CREATE FUNCTION tpwallet._recon_prior_model()
RETURNS tpwallet.recon_models
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT ROW(NULL, NULL, 'tpwallet', tpwallet._recon_feature_names(),
	           array_fill(0::float8, ARRAY[cardinality(tpwallet._recon_feature_names())]),
	           array_fill(1::float8, ARRAY[cardinality(tpwallet._recon_feature_names())]),
	           ARRAY[0.3, 0.3, 1.0, 0.5, 0.1, -0.2, 0.8, 1.0, 0.4, 0.5, 0.7, 0.3,
	                 -0.7, 0.0, 2.0,
	                 0.6, 0.6, 1.2, -1.2, -1.0, 0.5, 0.0, 0.2]::float8[],
	           -3.0, 1, 0, '{"prior": true}')::tpwallet.recon_models
$$;

-- The scores of exceptions to be (parallel arrays, by ordinal) under a
-- model (NULL: the prior): the logistic function of
-- bias + sum(weight * (x - mean) / std).
CREATE FUNCTION tpwallet._recon_item_scores(items bigint[], classes text[], counterparts bigint[], model bigint)
RETURNS TABLE (ord bigint, score float8)
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	WITH m AS (SELECT r.* FROM tpwallet.recon_models r WHERE r.model_id = model
	           UNION ALL
	           SELECT p.* FROM tpwallet._recon_prior_model() p WHERE model IS NULL)
	SELECT f.ord,
	       1 / (1 + exp(-greatest(-50, least(50,
	           m.bias + (SELECT sum(m.weights[j] * (f.x[j] - m.means[j]) / m.stds[j])
	                       FROM generate_subscripts(m.weights, 1) AS j)))))
	  FROM tpwallet._recon_item_features(items, classes, counterparts) f CROSS JOIN m
$$;

-- The scores of recorded exceptions.
CREATE FUNCTION tpwallet._recon_scores(ids bigint[], model bigint)
RETURNS TABLE (exception_id bigint, score float8)
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT a.exception_ids[s.ord], s.score
	  FROM tpwallet._recon_exception_arrays(ids) a
	 CROSS JOIN LATERAL tpwallet._recon_item_scores(a.items, a.classes, a.counterparts, model) s
$$;

-- The model that scores now: the newest (NULL: none yet, the prior).  A
-- model of other features than this version computes cannot score.
CREATE FUNCTION tpwallet._recon_scoring_model()
RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	model tpwallet.recon_models;
BEGIN
	SELECT m.* INTO model FROM tpwallet.recon_models m ORDER BY m.model_id DESC LIMIT 1;
	IF FOUND AND model.features IS DISTINCT FROM tpwallet._recon_feature_names() THEN
		RAISE EXCEPTION USING ERRCODE = '55000',
			MESSAGE = format('model %s was trained on other features than this version computes', model.model_id),
			HINT = 'Train a new model with tpwallet.recon_train_model().';
	END IF;
	RETURN model.model_id;
END
$$;

-- The audit row of a scoring: when a run records its exceptions, and when
-- recon_score_exceptions rescores (object: 'run <id>' or 'unscored').
CREATE FUNCTION tpwallet._recon_audit_scoring(object text, model bigint, scored int)
RETURNS void
LANGUAGE sql SET search_path = pg_catalog, tpwallet
AS $$
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('recon_score_exceptions', object,
	        jsonb_build_object('model_id', model, 'prior', model IS NULL, 'scored', scored))
$$;

-- The area under the ROC curve of scores against labels (Mann-Whitney,
-- ties at half): the chance that a random problem scores above a random
-- non-problem.  NULL without both.
CREATE FUNCTION tpwallet._recon_auc(scores float8[], labels boolean[])
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, tpwallet
AS $$
	WITH r AS (SELECT u.s, u.l, rank() OVER (ORDER BY u.s) AS lo, count(*) OVER (PARTITION BY u.s) AS ties
	             FROM unnest(scores, labels) AS u (s, l))
	SELECT (sum(r.lo + (r.ties - 1) / 2.0) FILTER (WHERE r.l)
	        - count(*) FILTER (WHERE r.l) * (count(*) FILTER (WHERE r.l) + 1) / 2.0)::float8
	       / nullif(count(*) FILTER (WHERE r.l) * count(*) FILTER (WHERE NOT r.l), 0)
	  FROM r
$$;

-- The trainer's numerical loop (src/recon/logreg.c): standardize the rows,
-- then batch gradient descent from zero on the mean log loss plus
-- l2 / (2n) |w|^2.
CREATE FUNCTION tpwallet._recon_logreg(x float8[], y boolean[], l2 float8, max_iter int,
                                       OUT means float8[], OUT stds float8[], OUT weights float8[],
                                       OUT bias float8, OUT iterations int, OUT loss float8, OUT converged boolean)
AS 'MODULE_PATHNAME', 'tpwallet_recon_logreg'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The labels of a relation with (exception_id, is_problem), read with the
-- caller's privileges: rows with a NULL label are left out; an exception
-- listed twice must have one label.
CREATE FUNCTION tpwallet._recon_read_labels(labels regclass, OUT ids bigint[], OUT problems boolean[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	missing text;
	conflict bigint;
BEGIN
	SELECT string_agg(c, ', ') INTO missing
	  FROM unnest(ARRAY['exception_id', 'is_problem']) c
	 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
	                    WHERE a.attrelid = labels AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = '42703', MESSAGE = format('%s has no column %s', labels, missing),
			HINT = 'Labels are a table or view with exception_id (bigint) and is_problem (boolean).';
	END IF;
	EXECUTE format('SELECT l.exception_id FROM (SELECT exception_id::bigint, is_problem::boolean FROM %s WHERE is_problem IS NOT NULL) l'
	               ' GROUP BY l.exception_id HAVING count(DISTINCT l.is_problem) > 1 ORDER BY 1 LIMIT 1', labels)
	   INTO conflict;
	IF conflict IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s gives exception %s both labels', labels, conflict);
	END IF;
	EXECUTE format('SELECT array_agg(l.exception_id ORDER BY l.exception_id), array_agg(l.is_problem ORDER BY l.exception_id)'
	               '  FROM (SELECT DISTINCT exception_id::bigint, is_problem::boolean FROM %s WHERE is_problem IS NOT NULL) l', labels)
	   INTO ids, problems;
END
$$;

-- Train on (exception, label) pairs and store the model.  Internal: the
-- caller has read the labels (recon_train_model).
CREATE FUNCTION tpwallet._recon_train(ids bigint[], problems boolean[], label_source text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	l2 CONSTANT float8 := 1.0;
	max_iter CONSTANT int := 5000;
	names text[] := tpwallet._recon_feature_names();
	xs float8[];
	ys boolean[];
	eids bigint[];
	n int;
	npos int;
	unknown bigint;
	fit record;
	mid bigint;
	train_auc float8;
BEGIN
	IF coalesce(cardinality(ids), 0) <> coalesce(cardinality(problems), 0) THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'ids and problems must have the same length';
	END IF;
	SELECT u.id INTO unknown FROM unnest(ids) AS u (id)
	 WHERE NOT EXISTS (SELECT 1 FROM tpwallet.recon_exceptions e WHERE e.exception_id = u.id) ORDER BY 1 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('labels name exception %s, which does not exist', unknown),
			HINT = 'Labels refer to tpwallet.recon_exceptions.exception_id.';
	END IF;
	WITH l AS (SELECT * FROM unnest(ids, problems) AS l (exception_id, is_problem)),
	f AS (SELECT f.exception_id, f.x, l.is_problem FROM tpwallet._recon_features(ids) f JOIN l USING (exception_id))
	SELECT array_agg(f.x ORDER BY f.exception_id), array_agg(f.is_problem ORDER BY f.exception_id),
	       array_agg(f.exception_id ORDER BY f.exception_id), count(*), count(*) FILTER (WHERE f.is_problem)
	  INTO xs, ys, eids, n, npos
	  FROM f;
	IF n < 10 OR npos < 2 OR n - npos < 2 THEN
		RAISE EXCEPTION USING ERRCODE = '55000',
			MESSAGE = format('too few labelled exceptions to train on: %s, of which %s problems', n, npos),
			HINT = 'Training needs at least 10 labelled exceptions with at least 2 problems (resolution written_off or adjusted) and 2 others.';
	END IF;
	fit := tpwallet._recon_logreg(xs, ys, l2, max_iter);
	INSERT INTO tpwallet.recon_models (features, means, stds, weights, bias, n_train, n_positive, metrics)
	VALUES (names, fit.means, fit.stds, fit.weights, fit.bias, n, npos,
	        jsonb_build_object('labels', label_source, 'l2', l2, 'max_iter', max_iter, 'iterations', fit.iterations,
	                           'converged', fit.converged, 'loss', round(fit.loss::numeric, 6),
	                           'base_rate', round(npos::numeric / n, 4)))
	RETURNING model_id INTO mid;
	SELECT tpwallet._recon_auc(array_agg(s.score ORDER BY s.exception_id), array_agg(u.p ORDER BY s.exception_id))
	  INTO train_auc
	  FROM tpwallet._recon_scores(eids, mid) s JOIN unnest(eids, ys) AS u (id, p) ON u.id = s.exception_id;
	-- the training AUC is known only once the model exists; the row is
	-- written once, so it goes into the audit record
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('recon_train_model', 'model ' || mid,
	        jsonb_build_object('n_train', n, 'n_positive', npos, 'labels', label_source, 'iterations', fit.iterations,
	                           'converged', fit.converged, 'train_auc', round(train_auc::numeric, 4)));
	RETURN mid;
END
$$;

-- ---------------------------------------------------------------- API

CREATE FUNCTION tpwallet.recon_train_model(labels regclass DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	l record;
BEGIN
	IF labels IS NULL THEN
		-- past decisions: the latest resolved exception of each item
		SELECT array_agg(x.exception_id ORDER BY x.exception_id) AS ids,
		       array_agg(x.resolution IN ('written_off', 'adjusted') ORDER BY x.exception_id) AS problems
		  INTO l
		  FROM (SELECT DISTINCT ON (e.item_id) e.exception_id, e.resolution
		          FROM tpwallet.recon_exceptions e WHERE e.resolution IS NOT NULL AND e.resolution <> 'carried'
		         ORDER BY e.item_id, e.exception_id DESC) x;
	ELSE
		l := tpwallet._recon_read_labels(labels);
	END IF;
	RETURN tpwallet._recon_train(coalesce(l.ids, '{}'), coalesce(l.problems, '{}'),
	                             coalesce(labels::text, 'resolutions'));
END
$$;
COMMENT ON FUNCTION tpwallet.recon_train_model IS
	'Train the anomaly score on past decisions (resolved exceptions) or on a relation of (exception_id, is_problem) labels. Returns the model id; the newest model scores.';

CREATE FUNCTION tpwallet.recon_score_exceptions(run_id bigint DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	model bigint := tpwallet._recon_scoring_model();
	ids bigint[];
	n int;
BEGIN
	IF run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_runs r WHERE r.run_id = recon_score_exceptions.run_id) THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation run %s does not exist', run_id);
	END IF;
	SELECT array_agg(x.exception_id) INTO ids FROM tpwallet.recon_exceptions x
	 WHERE CASE WHEN recon_score_exceptions.run_id IS NULL THEN x.score IS NULL
	            ELSE x.run_id = recon_score_exceptions.run_id END;
	UPDATE tpwallet.recon_exceptions x SET score = round(s.score::numeric, 4)
	  FROM tpwallet._recon_scores(coalesce(ids, '{}'), model) s
	 WHERE x.exception_id = s.exception_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM tpwallet._recon_audit_scoring(coalesce('run ' || run_id, 'unscored'), model, n);
	RETURN n;
END
$$;
COMMENT ON FUNCTION tpwallet.recon_score_exceptions IS
	'Set the anomaly score (0 to 1) of a run''s exceptions, or of every unscored exception, with the newest model (the prior before any). Returns how many.';

-- The evaluation (recon_evaluate_model below names its argument k like
-- its result column, which PL/pgSQL does not allow).
CREATE FUNCTION tpwallet._recon_evaluate(model bigint, label_rel regclass, top_k int)
RETURNS TABLE (k int, precision_at_k numeric, base_rate numeric, lift numeric, auc numeric)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	l record;
	n int;
	top int;
	unknown bigint;
BEGIN
	IF model IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_models m WHERE m.model_id = model) THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('model %s does not exist', model),
			HINT = 'SELECT model_id, trained_at, n_train FROM tpwallet.recon_models lists them; NULL evaluates the prior.';
	END IF;
	IF label_rel IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'labels must not be null',
			HINT = 'Evaluate on held-out labels: a relation with exception_id and is_problem.';
	END IF;
	l := tpwallet._recon_read_labels(label_rel);
	n := coalesce(cardinality(l.ids), 0);
	IF n = 0 THEN
		RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = format('%s has no labelled exceptions', label_rel);
	END IF;
	SELECT u.id INTO unknown FROM unnest(l.ids) AS u (id)
	 WHERE NOT EXISTS (SELECT 1 FROM tpwallet.recon_exceptions e WHERE e.exception_id = u.id) ORDER BY 1 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('labels name exception %s, which does not exist', unknown),
			HINT = 'Labels refer to tpwallet.recon_exceptions.exception_id.';
	END IF;
	top := coalesce(top_k, ceil(n / 10.0)::int);
	IF top < 1 OR top > n THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('k must be between 1 and %s (the labelled exceptions), not %s', n, top);
	END IF;
	RETURN QUERY
	WITH s AS (SELECT sc.exception_id, sc.score, u.p
	             FROM tpwallet._recon_scores(l.ids, model) sc
	             JOIN unnest(l.ids, l.problems) AS u (id, p) ON u.id = sc.exception_id),
	r AS (SELECT s.*, row_number() OVER (ORDER BY s.score DESC, s.exception_id) AS rn FROM s),
	a AS (SELECT count(*) FILTER (WHERE r.p AND r.rn <= top)::numeric / top AS pk,
	             count(*) FILTER (WHERE r.p)::numeric / count(*) AS br,
	             tpwallet._recon_auc(array_agg(r.score), array_agg(r.p)) AS roc
	        FROM r)
	SELECT top, round(a.pk, 4), round(a.br, 4), round(a.pk / nullif(a.br, 0), 4), round(a.roc::numeric, 4) FROM a;
END
$$;

CREATE FUNCTION tpwallet.recon_evaluate_model(model_id bigint, labels regclass, k int DEFAULT NULL)
RETURNS TABLE (k int, precision_at_k numeric, base_rate numeric, lift numeric, auc numeric)
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT * FROM tpwallet._recon_evaluate(model_id, labels, k)
$$;
COMMENT ON FUNCTION tpwallet.recon_evaluate_model IS
	'Rank labelled exceptions by a model''s score (NULL: the prior): precision among the top k (default 10 %), the base rate, their ratio (lift) and the AUC.';
