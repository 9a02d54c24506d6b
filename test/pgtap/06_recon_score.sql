-- The anomaly score on a labelled generated set (test/recon/generator.sql,
-- generate_labelled): ordinary payments give the counterparties a history;
-- exceptions are problems or not, problems with realistic signals (unusual
-- amounts for the counterparty, new counterparties, night and weekend
-- bookings, round amounts, bursts), 5 % of the labels flipped.  The model
-- is trained on 70 % of the labelled exceptions and evaluated on the 30 %
-- held out: ranking by the score must find problems far better than chance.
-- The label is never in an item: the signal comes from the features.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(28);
\o /dev/null
SET client_min_messages = warning;
\i test/recon/generator.sql
SELECT * FROM recon_gen.generate_labelled(6000, 0.42, 'lab');
-- statistics for the new rows (this transaction's own), so that plans fit the data
ANALYZE tpwallet.recon_items;
ANALYZE tpwallet.recon_exceptions;
SELECT tpwallet.reconcile(ledger_source, statement_source, window_from, window_to) AS run
  FROM recon_gen.sets WHERE prefix = 'lab' \gset
SELECT recon_gen.analyze();
CREATE TEMP TABLE labels AS SELECT * FROM recon_gen.labels(:run);
CREATE TEMP TABLE train_labels AS SELECT exception_id, is_problem FROM labels WHERE NOT holdout;
CREATE TEMP TABLE test_labels AS SELECT exception_id, is_problem FROM labels WHERE holdout;
SELECT ceil(count(*) / 10.0)::int AS k FROM test_labels \gset
\o

SELECT ok((SELECT count(*) FROM test_labels) >= 300 AND (SELECT count(*) FROM train_labels) >= 700,
          'the labelled set is large enough: 700+ exceptions to train on, 300+ held out');
SELECT is((SELECT count(*)::int FROM train_labels JOIN test_labels USING (exception_id)), 0,
          'training and held-out exceptions are disjoint');
SELECT is((SELECT count(*)::int FROM tpwallet.recon_items i JOIN recon_gen.truth_items t ON t.item_id = i.item_id
            WHERE t.problem IS NOT NULL AND (i.memo ~* 'problem|fraud|label' OR i.counterparty ~* 'problem|fraud')),
          0, 'no item carries its label in a memo or a name');

-- ---- before any model: the prior
SELECT is((SELECT count(*)::int FROM tpwallet.recon_models), 0, 'no model yet');
SELECT is(tpwallet.recon_score_exceptions(:run), (SELECT exceptions FROM tpwallet.recon_runs WHERE run_id = :run),
          'the prior scores every exception of the run');
SELECT ok((SELECT bool_and(score >= 0 AND score <= 1 AND score = round(score, 4)) AND count(DISTINCT score) > 20
             FROM tpwallet.recon_exceptions WHERE run_id = :run),
          'prior scores are in [0, 1], at 4 decimals, and not a constant');
SELECT is(tpwallet.recon_score_exceptions(), 0, 'recon_score_exceptions() scores only unscored exceptions: none left');
CREATE TEMP TABLE prior_ev AS SELECT * FROM tpwallet.recon_evaluate_model(NULL, 'test_labels', :k);
SELECT diag(format('prior (no model): precision@%s %s, base rate %s, lift %s, AUC %s', k, precision_at_k, base_rate, lift, auc))
  FROM prior_ev;
SELECT ok((SELECT auc FROM prior_ev) > 0.5, 'the prior already ranks problems above chance');

-- ---- train on 70 %, evaluate on the 30 % held out
SELECT tpwallet.recon_train_model('train_labels') AS model \gset
SELECT is((SELECT n_train FROM tpwallet.recon_models WHERE model_id = :model), (SELECT count(*)::int FROM train_labels),
          'the model was trained on the training labels');
SELECT is((SELECT features FROM tpwallet.recon_models WHERE model_id = :model), tpwallet._recon_feature_names(),
          'the model records its features');
SELECT ok((SELECT (metrics ->> 'converged')::boolean FROM tpwallet.recon_models WHERE model_id = :model),
          'gradient descent converged');
CREATE TEMP TABLE ev AS SELECT * FROM tpwallet.recon_evaluate_model(:model, 'test_labels', :k);
SELECT diag(format('model %s on the held-out 30 %% (%s exceptions): precision@%s %s, base rate %s, lift %s, AUC %s',
                   :model, (SELECT count(*) FROM test_labels), k, precision_at_k, base_rate, lift, auc)) FROM ev;
SELECT ok((SELECT precision_at_k >= 2 * base_rate FROM ev), 'held out: precision at k >= 2 x the base rate');
SELECT ok((SELECT auc >= 0.8 FROM ev), 'held out: AUC >= 0.8');

-- Does the model use more than the class?  Baseline: rank the held-out
-- exceptions by their class's problem rate in the training labels.
CREATE TEMP TABLE class_rate AS
SELECT l.class, avg(l.is_problem::int)::float8 AS rate FROM labels l WHERE NOT l.holdout GROUP BY l.class;
CREATE TEMP TABLE class_auc AS
SELECT tpwallet._recon_auc(array_agg(coalesce(c.rate, 0)), array_agg(l.is_problem)) AS auc,
       (SELECT avg(x.is_problem::int) FROM (SELECT l2.is_problem FROM labels l2 LEFT JOIN class_rate c2 USING (class)
         WHERE l2.holdout ORDER BY coalesce(c2.rate, 0) DESC, l2.exception_id LIMIT :k) x) AS precision_at_k
  FROM labels l LEFT JOIN class_rate c USING (class) WHERE l.holdout;
SELECT diag(format('class only (baseline): precision@%s %s, AUC %s', :k, round(precision_at_k, 4), round(auc::numeric, 4)))
  FROM class_auc;
SELECT ok((SELECT auc FROM ev) > (SELECT auc FROM class_auc) + 0.05,
          'the features add to the class: held-out AUC above the class-only ranking''s');

-- ---- deterministic, and scoring with the model
SELECT tpwallet.recon_train_model('train_labels') AS model2 \gset
SELECT ok((SELECT (a.weights, a.bias, a.means, a.stds) = (b.weights, b.bias, b.means, b.stds)
             FROM tpwallet.recon_models a, tpwallet.recon_models b WHERE a.model_id = :model AND b.model_id = :model2),
          'training twice on the same labels gives the same model');
SELECT is(tpwallet.recon_score_exceptions(:run), (SELECT exceptions FROM tpwallet.recon_runs WHERE run_id = :run),
          'the newest model rescores the run');
SELECT ok((SELECT bool_and(x.score = round(s.score::numeric, 4))
             FROM tpwallet.recon_exceptions x JOIN tpwallet._recon_scores(ARRAY(SELECT exception_id FROM test_labels), :model2) s
               USING (exception_id)),
          'stored scores are the newest model''s, rounded to 4 places');
SELECT is((SELECT count(*)::int FROM tpwallet.audit_log WHERE action IN ('recon_train_model', 'recon_score_exceptions')), 6,
          'training and scoring are in the audit log (the run scored its exceptions too)');

-- ---- training on past decisions (resolution)
-- (a shortcut, as the superuser, for a thousand four-eyes decisions:
-- sql/18_recon_review.sql tests that path; the test rolls back)
ALTER TABLE tpwallet.recon_exceptions DISABLE TRIGGER tpwallet_guard_workflow;
UPDATE tpwallet.recon_exceptions x SET status = 'resolved', resolution = CASE WHEN t.is_problem THEN 'written_off' ELSE 'accepted' END,
       resolved_at = now(), resolved_by = 'test', assigned_to = 'test'
  FROM train_labels t WHERE t.exception_id = x.exception_id;
ALTER TABLE tpwallet.recon_exceptions ENABLE ALWAYS TRIGGER tpwallet_guard_workflow;
SELECT tpwallet.recon_train_model() AS model3 \gset
SELECT is((SELECT (metrics ->> 'labels', n_train, n_positive)::text FROM tpwallet.recon_models WHERE model_id = :model3),
          (SELECT ('resolutions', count(*), count(*) FILTER (WHERE is_problem))::text FROM train_labels),
          'recon_train_model() learns from resolved exceptions (written_off, adjusted = problem)');

-- ---- errors
CREATE TEMP TABLE few AS SELECT * FROM train_labels ORDER BY exception_id LIMIT 5;
CREATE TEMP TABLE no_label AS SELECT exception_id FROM train_labels;
CREATE TEMP TABLE twice AS SELECT exception_id, is_problem FROM train_labels
	UNION ALL SELECT exception_id, NOT is_problem FROM (SELECT * FROM train_labels ORDER BY exception_id LIMIT 1) t;
SELECT throws_ok($$SELECT tpwallet.recon_train_model('few')$$, '55000');
SELECT throws_ok($$SELECT tpwallet.recon_train_model('no_label')$$, '42703');
SELECT throws_ok($$SELECT tpwallet.recon_train_model('twice')$$, '22023');
SELECT throws_ok($$SELECT * FROM tpwallet.recon_evaluate_model(-1, 'test_labels', 10)$$, '42704');
SELECT throws_ok(format($$SELECT * FROM tpwallet.recon_evaluate_model(%s, 'test_labels', 0)$$, :model), '22023');

-- ---- roles: readers evaluate, operators score, admins train
CREATE ROLE tap_score_reader IN ROLE tpwallet_reader;
CREATE ROLE tap_score_operator IN ROLE tpwallet_operator;
GRANT SELECT ON test_labels TO tap_score_reader, tap_score_operator;
SET ROLE tap_score_reader;
SELECT lives_ok(format($$SELECT * FROM tpwallet.recon_evaluate_model(%s, 'test_labels', 10)$$, :model),
                'a reader evaluates a model on labels it can read');
SELECT throws_ok(format($$SELECT tpwallet.recon_score_exceptions(%s)$$, :run), '42501');
RESET ROLE;
SET ROLE tap_score_operator;
SELECT lives_ok(format($$SELECT tpwallet.recon_score_exceptions(%s)$$, :run), 'an operator scores exceptions');
SELECT throws_ok($$SELECT tpwallet.recon_train_model('test_labels')$$, '42501');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
