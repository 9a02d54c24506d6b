-- Invariants of price aggregation under random ticks: the served price is
-- an observed price or the last good one, never outside the fresh range
-- unless halted or a fallback; confidence is never negative; statuses are
-- the documented ones; shared memory and the table agree; a rejected tick
-- writes nothing.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(8);
\o /dev/null
SELECT setseed(0.42);
SELECT tpwallet.add_price_source('r-' || i, 'manual', 'RND', 'USD', NULL, weight => 1 + i % 3) FROM generate_series(1, 5) i;
SELECT tpwallet.set_price_pair('RND', 'USD', '{"min_sources": 3}');
-- 300 rounds: each source quotes around a slowly drifting level; sometimes one lies wildly
CREATE TEMP TABLE rounds AS
SELECT r, 'r-' || (1 + floor(random() * 5)::int) AS source,
       round((100 * (1 + 0.001 * r) * CASE WHEN random() < 0.05 THEN 10 ELSE 1 + (random() - 0.5) * 0.004 END)::numeric, 4) AS price
  FROM generate_series(1, 300) r;
CREATE TEMP TABLE served (r int, price numeric, status text, confidence numeric, fresh_min numeric, fresh_max numeric);
DO $$
DECLARE
	x record;
	i record;
BEGIN
	FOR x IN SELECT * FROM rounds ORDER BY r LOOP
		PERFORM tpwallet.record_tick(x.source, x.price, clock_timestamp());
		SELECT * INTO i FROM tpwallet.price_info('RND', 'USD');
		INSERT INTO served
		SELECT x.r, i.price, i.status, i.confidence, min(t.price), max(t.price)
		  FROM (SELECT DISTINCT ON (k.source_id) k.price FROM tpwallet.price_ticks k
		          JOIN tpwallet.price_sources s ON s.id = k.source_id AND s.base = 'RND'
		         ORDER BY k.source_id, k.observed_at DESC) t;
	END LOOP;
END $$;
\o

SELECT is((SELECT count(*)::int FROM served WHERE status NOT IN ('ok', 'uncertain', 'halted', 'stale')), 0,
          'every status is a documented one');
SELECT is((SELECT count(*)::int FROM served WHERE status IN ('ok', 'uncertain') AND (price < fresh_min OR price > fresh_max)), 0,
          'an ok or uncertain price lies within the fresh quotes');
SELECT is((SELECT count(*)::int FROM served s WHERE status IN ('ok', 'uncertain')
            AND NOT EXISTS (SELECT 1 FROM tpwallet.price_ticks k WHERE k.price = s.price)), 0,
          'the served price is always an observed price (the weighted median picks one)');
SELECT is((SELECT count(*)::int FROM served WHERE confidence < 0), 0, 'confidence is never negative');
SELECT ok((SELECT max(price) / min(price) FROM served WHERE status = 'ok') < 1.5,
          'the ten-fold lies (5% of ticks) never move an ok price far');
SELECT is(tpwallet.price('RND', 'USD'),
          (SELECT price FROM tpwallet.price_aggregates WHERE base = 'RND' ORDER BY computed_at DESC LIMIT 1),
          'price() agrees with the newest aggregate row (in the writing transaction, before publication at commit)');
SELECT throws_ok($$SELECT tpwallet.record_tick('r-1', -1, clock_timestamp())$$, '22023');
SELECT is((SELECT count(*)::int FROM tpwallet.price_ticks WHERE price <= 0), 0, 'no rejected tick was written');
SELECT * FROM finish();
ROLLBACK;
