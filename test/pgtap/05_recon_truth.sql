-- Reconciliation against generated data with known truth
-- (test/recon/generator.sql): 2,000 cases of every kind with a fixed seed,
-- one run over the whole set, then precision and recall of the matched
-- pairs, the accuracy of the exception classes, and the run's invariants.
-- pg_prove runs from the repository root (scripts/test.sh), hence the path.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(17);
\o /dev/null
SET client_min_messages = warning;
\i test/recon/generator.sql
SELECT * FROM recon_gen.generate(2000, 0.42, NULL, 't');
-- statistics for the new rows (this transaction's own), so that plans fit the data
ANALYZE tpwallet.recon_items;
ANALYZE tpwallet.recon_exceptions;
SELECT tpwallet.reconcile(ledger_source, statement_source, window_from, window_to) AS run
  FROM recon_gen.sets WHERE prefix = 't' \gset
SELECT recon_gen.analyze();
CREATE TEMP TABLE score AS SELECT * FROM recon_gen.score(:run);
CREATE TEMP TABLE exc_classes (class text PRIMARY KEY);
INSERT INTO exc_classes VALUES ('timing'), ('fee_difference'), ('duplicate'), ('missing_in_ledger'),
	('missing_in_statement'), ('reversal');
\o

-- the generator: every item went through the ledger or an import, and the truth is whole
SELECT is((SELECT count(*)::int FROM recon_gen.truth_items t JOIN recon_gen.sets x USING (set_id)
            WHERE x.prefix = 't' AND NOT EXISTS (
                  SELECT 1 FROM tpwallet.recon_items i JOIN tpwallet.recon_sources s ON s.id = i.source_id
                   WHERE i.item_id = t.item_id AND s.name = CASE t.side WHEN 'ledger' THEN x.ledger_source ELSE x.statement_source END)),
          0, 'every generated item is an item of its side''s source');
SELECT is((SELECT count(*)::int FROM recon_gen.truth_items t JOIN recon_gen.sets x USING (set_id)
            JOIN tpwallet.recon_items i ON i.item_id = t.item_id
            WHERE x.prefix = 't' AND (i.amount, i.occurred_at, i.is_reversal) IS DISTINCT FROM (t.amount, t.occurred_at, t.is_reversal)),
          0, 'the items have the amounts, times and reversal flags the truth records');
SELECT is((SELECT count(*)::int FROM (
             SELECT t.case_id FROM recon_gen.truth_items t JOIN recon_gen.sets x USING (set_id)
              WHERE x.prefix = 't' AND t.kind IN ('split', 'merged')
              GROUP BY t.case_id
             HAVING sum(t.amount) FILTER (WHERE t.side = 'ledger') IS DISTINCT FROM sum(t.amount) FILTER (WHERE t.side = 'statement')) d),
          0, 'split and merged cases: the parts add up exactly to the other side''s item');
SELECT is((SELECT count(DISTINCT t.kind)::int FROM recon_gen.truth_items t JOIN recon_gen.sets x USING (set_id) WHERE x.prefix = 't'),
          cardinality(recon_gen.kinds()), 'the default mix has every kind of case');

-- the same seed gives the same data (under another prefix)
\o /dev/null
SELECT * FROM recon_gen.generate(2000, 0.42, NULL, 't2');
\o
SELECT is((SELECT count(*)::int
             FROM (SELECT t.item_no, t.amount, t.occurred_at, t.expected, t.kind FROM recon_gen.truth_items t
                     JOIN recon_gen.sets x USING (set_id) WHERE x.prefix = 't' AND t.fmt <> 'reversal') a
             FULL JOIN (SELECT t.item_no, t.amount, t.occurred_at, t.expected, t.kind FROM recon_gen.truth_items t
                          JOIN recon_gen.sets x USING (set_id) WHERE x.prefix = 't2' AND t.fmt <> 'reversal') b
               ON b.item_no = a.item_no
            WHERE (a.amount, a.occurred_at, a.expected, a.kind) IS DISTINCT FROM (b.amount, b.occurred_at, b.expected, b.kind)),
          0, 'generate() is deterministic: the same seed gives the same cases, amounts and times');

-- the run's invariants
SELECT is((SELECT count(*)::int FROM (SELECT m.item_id FROM tpwallet.recon_match_items m WHERE m.run_id = :run
                                        GROUP BY m.item_id HAVING count(DISTINCT m.match_id) > 1) d),
          0, 'every item is in at most one match of the run');
SELECT is((SELECT count(*)::int FROM tpwallet.recon_match_items m JOIN tpwallet.recon_exceptions x
             ON x.run_id = m.run_id AND x.item_id = m.item_id WHERE m.run_id = :run),
          0, 'no item is both matched and an exception');
SELECT is((SELECT left_items + right_items - matched_items - exceptions FROM tpwallet.recon_runs WHERE run_id = :run),
          0, 'every candidate is matched or an exception');
SELECT is((SELECT hits FROM score WHERE metric = 'not_in_run'), 0::bigint,
          'every generated item is a candidate of the run');
-- the run summarized the BRIN ranges of its members (more than the first
-- range, which the index's build covers): a match's rows are found at once
SELECT is(CASE WHEN pg_relation_size('tpwallet.recon_match_members') > 16 * 8192
               THEN brin_summarize_new_values('tpwallet.recon_match_members_run') END, 0,
          'the run left none of its members'' BRIN ranges without a summary');

-- against the truth
SELECT ok((SELECT value FROM score WHERE metric = 'precision' AND scope = 'exact+fuzzy') >= 0.999,
          'precision of exact and fuzzy matches >= 0.999');
SELECT ok((SELECT value FROM score WHERE metric = 'recall' AND scope = 'exact+fuzzy') >= 0.99,
          'recall of exact and fuzzy matches >= 0.99');
SELECT ok((SELECT value FROM score WHERE metric = 'precision' AND scope = 'all') >= 0.999,
          'precision of all matches (reversal pairs, duplicates'' first lines too) >= 0.999');
SELECT ok((SELECT sum(hits)::numeric / sum(total) FROM score
            WHERE metric = 'class_accuracy' AND scope IN (SELECT class FROM exc_classes)) >= 0.95
          AND (SELECT count(*) FROM score WHERE metric = 'class_accuracy' AND scope IN (SELECT class FROM exc_classes)) = 6,
          'class accuracy of timing, fee_difference, duplicate, missing_in_ledger, missing_in_statement, reversal >= 0.95');
SELECT diag(format('%s %s: %s (%s of %s)', metric, scope, value, hits, total)) FROM score
 WHERE scope IN ('all', 'exact+fuzzy') OR metric = 'class_accuracy' ORDER BY metric, scope;

-- split and merged: one statement line for several postings, or the
-- reverse; found by the partial pass
SELECT ok(coalesce((SELECT value FROM score WHERE metric = 'recall' AND scope = 'split'), 0) >= 0.99,
          'recall of split cases (one line, 2 to 4 postings) >= 0.99');
SELECT ok(coalesce((SELECT value FROM score WHERE metric = 'recall' AND scope = 'merged'), 0) >= 0.99,
          'recall of merged cases (one posting, 2 to 4 lines) >= 0.99');
SELECT ok(coalesce((SELECT sum(hits)::numeric / nullif(sum(total), 0) FROM score
                     WHERE metric = 'precision' AND scope IN ('split', 'merged')), 0) >= 0.999,
          'precision of the pairs of split and merged cases >= 0.999');
SELECT * FROM finish();
ROLLBACK;
