-- Prices: sources, ticks, robust aggregation, the manipulation scenarios
-- replayed with record_tick, fallbacks, the circuit breaker, reading
-- (shared memory and history), valuations, and bad input.
\set SHOW_CONTEXT never

-- three exchanges quote ETH/USD
SELECT tpwallet.add_price_source('cex-a', 'manual', 'ETH', 'USD', NULL);
SELECT tpwallet.add_price_source('cex-b', 'manual', 'ETH', 'USD', NULL);
SELECT tpwallet.add_price_source('cex-c', 'manual', 'ETH', 'USD', NULL);
SELECT tpwallet.set_price_pair('ETH', 'USD', '{"breaker_resume": "0.5 s"}');
SELECT tpwallet.record_tick('cex-a', 3000.00, clock_timestamp());
SELECT tpwallet.record_tick('cex-b', 3001.00, clock_timestamp());
SELECT tpwallet.record_tick('cex-c', 3002.00, clock_timestamp());
SELECT price, status, sources_used, confidence FROM tpwallet.price_info('ETH', 'USD');
SELECT tpwallet.price('ETH', 'USD') AS price, (SELECT price FROM tpwallet.latest_prices WHERE base = 'ETH') AS from_view;

-- 1. one source of three spikes x10: the aggregate does not move
SELECT tpwallet.record_tick('cex-c', 30020.00, clock_timestamp()) FROM generate_series(1, 5);
SELECT price, status, sources_used FROM tpwallet.price_info('ETH', 'USD');
SELECT tpwallet.record_tick('cex-a', 3000.50, clock_timestamp());
SELECT price, status, sources_used FROM tpwallet.price_info('ETH', 'USD');

-- 2. all sources crash -60% at once: the breaker halts the pair and keeps the last good price
SELECT tpwallet.record_tick(s, p, clock_timestamp())
  FROM (VALUES ('cex-a', 1200.00), ('cex-b', 1200.40), ('cex-c', 1200.80)) v (s, p);
SELECT price, status FROM tpwallet.price_info('ETH', 'USD');
SELECT candidate FROM tpwallet.price_aggregates WHERE base = 'ETH' ORDER BY computed_at DESC LIMIT 1;
-- ... and they recover: the pair resumes
SELECT tpwallet.record_tick(s, p, clock_timestamp())
  FROM (VALUES ('cex-a', 3000.00), ('cex-b', 3000.40), ('cex-c', 3000.80)) v (s, p);
SELECT price, status FROM tpwallet.price_info('ETH', 'USD');
-- a real move: sources agree on a new level for longer than breaker_resume, so it is accepted
SELECT tpwallet.record_tick(s, p, clock_timestamp())
  FROM (VALUES ('cex-a', 2000.00), ('cex-b', 2000.40), ('cex-c', 2000.80)) v (s, p);
SELECT status FROM tpwallet.price_info('ETH', 'USD');
SELECT pg_sleep(0.6);
SELECT tpwallet.record_tick(s, p, clock_timestamp())
  FROM (VALUES ('cex-a', 2000.10), ('cex-b', 2000.50), ('cex-c', 2000.90)) v (s, p);
SELECT price, status FROM tpwallet.price_info('ETH', 'USD');

-- 3. a source goes silent: excluded once older than its max_age; all silent: stale
SELECT tpwallet.add_price_source('fx-1', 'manual', 'EUR', 'USD', NULL, max_age => '0.4 s');
SELECT tpwallet.add_price_source('fx-2', 'manual', 'EUR', 'USD', NULL, max_age => '0.4 s');
SELECT tpwallet.set_price_pair('EUR', 'USD', '{"stale_after": "0.8 s", "min_sources": 1}');
SELECT tpwallet.record_tick('fx-1', 1.0850, clock_timestamp()), tpwallet.record_tick('fx-2', 1.0852, clock_timestamp());
SELECT price, status, sources_used FROM tpwallet.price_info('EUR', 'USD');
SELECT pg_sleep(0.5);
SELECT tpwallet.record_tick('fx-1', 1.0851, clock_timestamp());
SELECT price, status, sources_used FROM tpwallet.price_info('EUR', 'USD');
SELECT pg_sleep(0.9);
SELECT status FROM tpwallet.price_info('EUR', 'USD');   -- read-time staleness
SELECT tpwallet.refresh_prices() AS refreshed;
SELECT price, status FROM tpwallet.price_aggregates WHERE base = 'EUR' ORDER BY computed_at DESC LIMIT 1;

-- 4. a thin pool is pushed 50%: bounded influence, status uncertain
SELECT tpwallet.add_price_source('cex-x', 'manual', 'XYZ', 'USD', NULL);
SELECT tpwallet.add_price_source('pool-x', 'manual', 'XYZ', 'USD', NULL);
SELECT tpwallet.set_price_pair('XYZ', 'USD', '{"min_sources": 1, "liquidity_ref": 1000000, "min_liquidity": 100000}');
SELECT tpwallet.record_tick('cex-x', 10.00, clock_timestamp(), 2000000), tpwallet.record_tick('pool-x', 10.01, clock_timestamp(), 500000);
SELECT price, status FROM tpwallet.price_info('XYZ', 'USD');
SELECT tpwallet.record_tick('pool-x', 15.00, clock_timestamp(), 5000);
SELECT price, status, confidence > 0 AS wider FROM tpwallet.price_info('XYZ', 'USD');

-- 5. sources disagree beyond the tolerance: confidence widens, status uncertain
SELECT tpwallet.add_price_source('d-' || i, 'manual', 'SOL', 'USD', NULL) FROM generate_series(1, 3) i;
SELECT tpwallet.record_tick('d-' || i, 100 + 3 * (i - 1), clock_timestamp()) FROM generate_series(1, 3) i;
SELECT price, status, confidence FROM tpwallet.price_info('SOL', 'USD');

-- 6. fallback: a cross rate through another quote, then the last good price
SELECT tpwallet.set_price_pair('ETH', 'EUR', '{"fallback_via": "USD"}');
SELECT tpwallet.add_price_source('usd-eur', 'manual', 'USD', 'EUR', NULL);
SELECT tpwallet.set_price_pair('USD', 'EUR', '{"min_sources": 1}');
SELECT tpwallet.record_tick('usd-eur', 0.9200, clock_timestamp());
SELECT tpwallet._aggregate('ETH', 'EUR');
SELECT price, via, status FROM tpwallet.price_info('ETH', 'EUR');

-- history
SELECT tpwallet.price_at('ETH', 'USD', '2000-01-01') AS before_any,
       tpwallet.price_at('ETH', 'USD', clock_timestamp()) = tpwallet.price('ETH', 'USD') AS latest;
SELECT count(*) > 10 AS aggregates_kept, bool_and(computed_at IS NOT NULL) FROM tpwallet.price_aggregates;

-- a tick recorded twice counts once
SELECT now() AS t0 \gset
SELECT tpwallet.record_tick('cex-a', 2000.20, :'t0'), tpwallet.record_tick('cex-a', 2000.20, :'t0');
SELECT count(*) AS ticks_at_t0 FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id
 WHERE s.name = 'cex-a' AND k.observed_at = :'t0';

-- the on-chain formats (what the feed worker hands to _ingest)
SELECT tpwallet.add_price_source('cl', 'chainlink', 'BTC', 'USD', 'http://127.0.0.1:8545',
         config => '{"address": "0xF4030086522a5bEEa4988F8cA5B36dbC97BeE88c", "decimals": 8}');
SELECT tpwallet.add_price_source('uni2', 'uniswap_v2', 'WETH', 'USDC', 'http://127.0.0.1:8545',
         config => '{"address": "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc", "token0_decimals": 18, "token1_decimals": 6}');
SELECT tpwallet.add_price_source('uni3', 'uniswap_v3', 'WETH', 'USDC', 'http://127.0.0.1:8545',
         config => '{"address": "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640", "token0_decimals": 18, "token1_decimals": 6}');
SELECT url, body FROM tpwallet._poll_request((SELECT id FROM tpwallet.price_sources WHERE name = 'cl'));
SELECT tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'cl'), 200,
         '{"jsonrpc": "2.0", "id": 1, "result": "0x' || lpad(to_hex(7), 64, '0') || lpad(to_hex(6500012345678), 64, '0')
         || lpad(to_hex(1), 64, '0') || lpad(to_hex(extract(epoch FROM now())::bigint), 64, '0') || lpad(to_hex(7), 64, '0') || '"}', NULL);
SELECT tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'uni2'), 200,
         '{"jsonrpc": "2.0", "id": 1, "result": "0x' || lpad('3635c9adc5dea00000', 64, '0') || lpad(to_hex(3000000000000), 64, '0')
         || lpad(to_hex(1), 64, '0') || '"}', NULL);
SELECT tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'uni3'), 200,
         '{"jsonrpc": "2.0", "id": 1, "result": "0x' || lpad('396ed0c13c44a35a8efe1', 64, '0') || repeat('0', 384) || '"}', NULL);
SELECT s.name, round(k.price, 6) AS price, k.liquidity FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id
 WHERE s.kind <> 'manual' ORDER BY s.name;
-- negative Chainlink answers, empty pools, JSON-RPC errors, garbage: source errors, never exceptions
SELECT tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'cl'), 200,
         '{"jsonrpc": "2.0", "id": 1, "result": "0x' || lpad(to_hex(7), 64, '0') || repeat('f', 64) || repeat('0', 192) || '"}', NULL) AS negative_answer,
       tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'uni2'), 200,
         '{"jsonrpc": "2.0", "id": 1, "result": "0x' || repeat('0', 192) || '"}', NULL) AS empty_pool,
       tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'uni2'), 200,
         '{"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "execution reverted"}}', NULL) AS rpc_error,
       tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'uni2'), 200, '{"result": "0x12"}', NULL) AS short_result,
       tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'uni2'), 502, 'Bad Gateway', NULL) AS http_502,
       tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'uni2'), NULL, NULL, 'Connection refused') AS refused;
SELECT s.name, e.error FROM tpwallet.price_source_errors e JOIN tpwallet.price_sources s ON s.id = e.source_id ORDER BY e.id;
SELECT s.name, st.failures, st.errors FROM tpwallet.price_source_state st JOIN tpwallet.price_sources s ON s.id = st.source_id
 WHERE s.kind <> 'manual' ORDER BY s.name;

-- an http_json source and what it accepts
SELECT tpwallet.add_price_source('ex', 'http_json', 'BTC', 'USD', 'https://api.example.com/ticker?pair=BTCUSD', '$.data.last',
         weight => 2, config => '{"liquidity_path": "$.data.depth", "time_path": "$.ts"}');
SELECT tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'ex'), 200,
         format('{"data": {"last": "65010.5", "depth": 1200000}, "ts": %s}', (extract(epoch FROM now()) * 1000)::bigint), NULL) AS json_ms_time,
       tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'ex'), 200, '{"data": {"last": "NaN"}}', NULL) AS nan,
       tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'ex'), 200, '{"data": {"last": 1e40}}', NULL) AS huge,
       tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'ex'), 200, '{"data": {"last": "abc"}}', NULL) AS not_a_number,
       tpwallet._ingest((SELECT id FROM tpwallet.price_sources WHERE name = 'ex'), 200, '<html>', NULL) AS not_json;
SELECT price, status, sources_used FROM tpwallet.price_info('BTC', 'USD');

-- valuations in the reporting currency, per account and per owner
SELECT tpwallet.create_asset('USD', 2, 'fiat'), tpwallet.create_asset('ETH', 18), tpwallet.create_asset('EUR', 2, 'fiat');
SELECT tpwallet.create_account('px:world:ETH', 'ops', 'ETH', 'debit', true), tpwallet.create_account('px:world:USD', 'ops', 'USD', 'debit', true);
SELECT tpwallet.create_account('px:ann:ETH', 'ops', 'ETH', 'credit', metadata => '{"owner": "ann"}'),
       tpwallet.create_account('px:ann:USD', 'ops', 'USD', 'credit', metadata => '{"owner": "ann"}'),
       tpwallet.create_account('px:ben:ETH', 'ops', 'ETH', 'credit', metadata => '{"owner": "ben"}');
SELECT tpwallet.transfer('px:world:ETH', 'px:ann:ETH', 1.5), tpwallet.transfer('px:world:USD', 'px:ann:USD', 250.00),
       tpwallet.transfer('px:world:ETH', 'px:ben:ETH', 0.000000000000000001);
SELECT account, balance, price, value, price_status FROM tpwallet.valuations WHERE owner IS NOT NULL ORDER BY account;
SELECT owner, reporting_currency, total_value, accounts, accounts_without_price, worst_status FROM tpwallet.portfolios ORDER BY owner;
SET tpwallet.reporting_currency = 'EUR';
SELECT account, price, value, price_status FROM tpwallet.valuations WHERE owner = 'ann' ORDER BY account;
RESET tpwallet.reporting_currency;

-- bad input: a clear SQLSTATE, nothing written
SELECT count(*) AS ticks_before FROM tpwallet.price_ticks \gset
SELECT test.err($$SELECT tpwallet.record_tick('cex-a', -1, now())$$) AS negative;
SELECT test.err($$SELECT tpwallet.record_tick('cex-a', 0, now())$$) AS zero;
SELECT test.err($$SELECT tpwallet.record_tick('cex-a', 'NaN', now())$$) AS nan;
SELECT test.err($$SELECT tpwallet.record_tick('cex-a', 'Infinity', now())$$) AS infinite;
SELECT test.err($$SELECT tpwallet.record_tick('cex-a', 1e31, now())$$) AS huge;
SELECT test.err($$SELECT tpwallet.record_tick('cex-a', 3000, now() + interval '1 hour')$$) AS future;
SELECT test.err($$SELECT tpwallet.record_tick('nope', 3000, now())$$) AS unknown_source;
SELECT test.err($$SELECT tpwallet.record_tick('cex-a', 3000, now(), -5)$$) AS negative_liquidity;
SELECT (SELECT count(*) FROM tpwallet.price_ticks) = :ticks_before AS no_tick_written;
SELECT test.err($$SELECT tpwallet.price('DOGE', 'USD')$$) AS unknown_pair;
SELECT test.err($$SELECT * FROM tpwallet.price_info('DOGE', 'USD')$$) AS unknown_pair_info;
SELECT test.err($$SELECT tpwallet.price_at('DOGE', 'USD', now())$$) AS unknown_pair_history;
SELECT test.err($$SELECT tpwallet.add_price_source('x', 'telepathy', 'A', 'B', NULL)$$) AS bad_kind;
SELECT test.err($$SELECT tpwallet.add_price_source('x', 'http_json', 'A', 'B', 'ftp://example.com/p', '$.p')$$) AS bad_url;
SELECT test.err($$SELECT tpwallet.add_price_source('x', 'http_json', 'A', 'B', 'http://example.com/p')$$) AS no_extract;
SELECT test.err($q$SELECT tpwallet.add_price_source('x', 'http_json', 'A', 'B', 'http://example.com/p', '$.[')$q$) AS bad_path;
SELECT test.err($$SELECT tpwallet.add_price_source('cex-a', 'manual', 'ETH', 'USD', NULL)$$) AS duplicate;
SELECT test.err($$SELECT tpwallet.add_price_source('x', 'chainlink', 'A', 'B', 'http://127.0.0.1:8545')$$) AS no_address;
SELECT test.err($$SELECT tpwallet.add_price_source('x', 'uniswap_v2', 'A', 'B', 'http://127.0.0.1:8545', config => '{"address": "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"}')$$) AS no_decimals;
SELECT test.err($$SELECT tpwallet.add_price_source('x', 'manual', 'ETH', 'ETH', NULL)$$) AS same_currency;
SELECT test.err($$SELECT tpwallet.add_price_source('x', 'manual', 'ETH', 'USD', NULL, weight => 0)$$) AS zero_weight;
SELECT test.err($$SELECT tpwallet.add_price_source('x', 'manual', 'ETH', 'USD', NULL, poll_interval => '1 ms')$$) AS too_fast;
SELECT test.err($$SELECT tpwallet.set_price_pair('ETH', 'USD', '{"min_sorces": 3}')$$) AS unknown_parameter;
SELECT test.err($$SELECT tpwallet.set_price_source_enabled('nope', false)$$) AS unknown_source_enable;
SELECT test.err($$UPDATE tpwallet.price_ticks SET price = 1$$) AS rewrite_tick;
SELECT test.err($$DELETE FROM tpwallet.price_aggregates$$) AS forget_history;
SELECT count(*) AS sources FROM tpwallet.price_sources;
