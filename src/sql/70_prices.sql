-- ===================================================================
-- Prices and valuation: sources, ticks (append-only), robust per-pair
-- aggregation with fallbacks and a circuit breaker, the latest aggregate
-- of every pair in shared memory, NOTIFY tpwallet_price, valuation views.
-- Prices are numeric; statistics that need logarithms (volatility) are
-- float8, and no amount is ever computed from a float.
-- ===================================================================

-- Per-pair parameters (created with the pair's first source; change them with
-- set_price_pair) and the aggregation state.
CREATE TABLE tpwallet.price_pairs (
	base            text COLLATE "C" NOT NULL CHECK (base ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$'),
	quote           text COLLATE "C" NOT NULL CHECK (quote ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$'),
	-- parameters (defaults documented in docs/prices.md)
	min_sources     int NOT NULL DEFAULT 2 CHECK (min_sources >= 1),
	outlier_k       numeric NOT NULL DEFAULT 3 CHECK (outlier_k > 0),
	outlier_floor   numeric NOT NULL DEFAULT 0.005 CHECK (outlier_floor >= 0),
	max_dispersion  numeric NOT NULL DEFAULT 0.02 CHECK (max_dispersion > 0),
	min_liquidity   numeric CHECK (min_liquidity > 0),
	liquidity_ref   numeric CHECK (liquidity_ref > 0),
	stale_after     interval NOT NULL DEFAULT '60 seconds',
	twap_window     interval NOT NULL DEFAULT '5 minutes',
	vol_halflife    interval NOT NULL DEFAULT '1 minute',
	breaker_k       numeric NOT NULL DEFAULT 6 CHECK (breaker_k > 0),
	breaker_floor   numeric NOT NULL DEFAULT 0.05 CHECK (breaker_floor > 0),
	breaker_resume  interval NOT NULL DEFAULT '10 seconds',
	fallback_via    text COLLATE "C",
	-- state
	last_price      numeric,        -- last raw aggregate (for returns)
	last_at         timestamptz,
	ewma_var        float8 NOT NULL DEFAULT 0,
	good_price      numeric,        -- last price served with status ok or uncertain
	good_at         timestamptz,
	halted_since    timestamptz,
	halt_candidate  numeric,        -- the level sources agree on while halted
	halt_candidate_since timestamptz,
	regime_since    timestamptz,    -- since the last resume: the breaker's TWAP starts here
	PRIMARY KEY (base, quote),
	CHECK (base <> quote)
);

CREATE TABLE tpwallet.price_sources (
	id             int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name           text COLLATE "C" NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
	kind           text NOT NULL CHECK (kind IN ('http_json', 'chainlink', 'uniswap_v2', 'uniswap_v3', 'manual')),
	base           text COLLATE "C" NOT NULL,
	quote          text COLLATE "C" NOT NULL,
	endpoint       text,
	"extract"      text,
	weight         numeric NOT NULL DEFAULT 1 CHECK (weight > 0),
	poll_interval  interval NOT NULL DEFAULT '1 second',
	timeout        interval NOT NULL DEFAULT '2 seconds',
	max_age        interval NOT NULL DEFAULT '30 seconds',
	config         jsonb NOT NULL DEFAULT '{}',
	enabled        boolean NOT NULL DEFAULT true,
	created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
	FOREIGN KEY (base, quote) REFERENCES tpwallet.price_pairs (base, quote)
);

-- Ticks: one observation of one source.  Append-only; the same observation
-- twice (a replay, a cached response) is kept once.
CREATE TABLE tpwallet.price_ticks (
	source_id    int NOT NULL REFERENCES tpwallet.price_sources (id),
	observed_at  timestamptz NOT NULL,
	price        numeric NOT NULL CHECK (price > 0),
	liquidity    numeric CHECK (liquidity >= 0),
	received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (source_id, observed_at)
);

-- Every aggregation: what was served (price, status) and why (candidate).
CREATE TABLE tpwallet.price_aggregates (
	base          text COLLATE "C" NOT NULL,
	quote         text COLLATE "C" NOT NULL,
	computed_at   timestamptz NOT NULL,
	price         numeric,          -- served
	candidate     numeric,          -- the raw robust aggregate of this round
	confidence    numeric,          -- half-width, in quote units
	sources_used  int NOT NULL,
	sources_fresh int NOT NULL,
	status        text NOT NULL CHECK (status IN ('ok', 'uncertain', 'stale', 'halted', 'none')),
	twap          numeric,
	volatility    float8,
	observed_at   timestamptz,      -- newest observation behind the price
	via           text,             -- cross-rate currency when a fallback was used
	PRIMARY KEY (base, quote, computed_at)
);

-- Health of each source (the feed worker and record_tick keep it).
CREATE TABLE tpwallet.price_source_state (
	source_id       int PRIMARY KEY REFERENCES tpwallet.price_sources (id),
	last_tick_at    timestamptz,
	last_ok_at      timestamptz,
	last_error_at   timestamptz,
	last_error      text,
	failures        int NOT NULL DEFAULT 0,  -- consecutive
	ticks           bigint NOT NULL DEFAULT 0,
	errors          bigint NOT NULL DEFAULT 0
);

CREATE TABLE tpwallet.price_source_errors (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source_id  int NOT NULL REFERENCES tpwallet.price_sources (id),
	at         timestamptz NOT NULL DEFAULT clock_timestamp(),
	error      text NOT NULL
);
CREATE INDEX price_source_errors_source ON tpwallet.price_source_errors (source_id, at);

-- ---------------------------------------------------------------- C parts

-- Publish an aggregate into shared memory (no-op without shared_preload_libraries).
CREATE FUNCTION tpwallet._publish_price(base text, quote text, price numeric, confidence numeric,
                                        sources_used int, status text, twap numeric, volatility float8,
                                        observed_at timestamptz, computed_at timestamptz, via text,
                                        stale_after interval)
RETURNS void
AS 'MODULE_PATHNAME', 'tpwallet_publish_price'
LANGUAGE C VOLATILE;

-- The shared-memory copy of every pair (or NULL rows when not preloaded).
CREATE FUNCTION tpwallet._shm_prices()
RETURNS TABLE (base text, quote text, price numeric, confidence numeric, sources_used int, status text,
               twap numeric, volatility float8, observed_at timestamptz, computed_at timestamptz, via text,
               stale_after interval)
AS 'MODULE_PATHNAME', 'tpwallet_shm_prices'
LANGUAGE C STABLE;

-- Tell the feed worker that sources changed.
CREATE FUNCTION tpwallet._sources_changed()
RETURNS void
AS 'MODULE_PATHNAME', 'tpwallet_sources_changed'
LANGUAGE C VOLATILE;

CREATE FUNCTION tpwallet.price(base text, quote text)
RETURNS numeric
AS 'MODULE_PATHNAME', 'tpwallet_price'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION tpwallet.price IS
	'The latest aggregate price of base in quote (from shared memory when preloaded); see price_info for its status.';

-- ---------------------------------------------------------------- sources

CREATE FUNCTION tpwallet._valid_code(code text, what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF code IS NULL OR code !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid %s %L', what, code),
			HINT = 'Use 1 to 32 letters, digits, ".", "_", ":" or "-" (an asset code such as ETH or USD).';
	END IF;
END
$$;

CREATE FUNCTION tpwallet._hex_address(v jsonb, what text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF v IS NULL OR jsonb_typeof(v) <> 'string' OR (v #>> '{}') !~ '^0x[0-9a-fA-F]{40}$' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s must be a 20-byte "0x" hex address', what);
	END IF;
	RETURN lower(v #>> '{}');
END
$$;

CREATE FUNCTION tpwallet.add_price_source(name text, kind text, base text, quote text, endpoint text,
                                          "extract" text DEFAULT NULL, weight numeric DEFAULT 1,
                                          poll_interval interval DEFAULT '1s',
                                          timeout interval DEFAULT '2s', max_age interval DEFAULT '30s',
                                          config jsonb DEFAULT '{}')
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	new_id int;
BEGIN
	IF name IS NULL OR name !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid price source name %L', name),
			HINT = 'Use 1 to 64 letters, digits, ".", "_", ":" or "-".';
	END IF;
	IF kind IS NULL OR kind NOT IN ('http_json', 'chainlink', 'uniswap_v2', 'uniswap_v3', 'manual') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown price source kind %L', kind),
			HINT = 'Kinds: http_json, chainlink, uniswap_v2, uniswap_v3, manual.';
	END IF;
	PERFORM tpwallet._valid_code(base, 'base currency');
	PERFORM tpwallet._valid_code(quote, 'quote currency');
	IF base = quote THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'base and quote must differ';
	END IF;
	IF kind <> 'manual' AND (endpoint IS NULL OR endpoint !~ '^https?://[^[:space:]/]+') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid endpoint %L', endpoint),
			HINT = 'An http:// or https:// URL: the ticker API, or the JSON-RPC node for on-chain kinds.';
	END IF;
	IF kind = 'http_json' THEN
		IF "extract" IS NULL THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'an http_json source needs extract, a JSON path to the price',
				HINT = 'For example ''$.price'' or ''$.data.last''.';
		END IF;
		BEGIN
			PERFORM "extract"::jsonpath;
			PERFORM (config ->> 'liquidity_path')::jsonpath, (config ->> 'time_path')::jsonpath;
		EXCEPTION WHEN OTHERS THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid JSON path: %s', SQLERRM);
		END;
	ELSIF kind IN ('chainlink', 'uniswap_v2', 'uniswap_v3') THEN
		PERFORM tpwallet._hex_address(config -> 'address', 'config.address');
		IF kind = 'chainlink' AND (config ? 'decimals') AND NOT ((config ->> 'decimals') ~ '^[0-9]{1,2}$') THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'config.decimals must be an integer from 0 to 99';
		END IF;
		IF kind IN ('uniswap_v2', 'uniswap_v3') AND NOT coalesce((config ->> 'token0_decimals') ~ '^[0-9]{1,2}$'
		                                                        AND (config ->> 'token1_decimals') ~ '^[0-9]{1,2}$', false) THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = 'a Uniswap source needs config.token0_decimals and config.token1_decimals',
				HINT = 'The price is of token0 in token1; set config.invert to true for token1 in token0.';
		END IF;
	END IF;
	IF weight IS NULL OR weight <= 0 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'weight must be positive';
	END IF;
	IF poll_interval IS NULL OR poll_interval < interval '100 milliseconds' OR timeout IS NULL
	   OR timeout <= interval '0' OR max_age IS NULL OR max_age <= interval '0' THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = 'poll_interval must be at least 100 ms; timeout and max_age must be positive';
	END IF;
	IF config IS NULL OR jsonb_typeof(config) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'config must be a JSON object';
	END IF;
	IF EXISTS (SELECT 1 FROM tpwallet.price_sources s WHERE s.name = add_price_source.name) THEN
		RAISE EXCEPTION USING ERRCODE = '42710', MESSAGE = format('price source %s already exists', name);
	END IF;
	INSERT INTO tpwallet.price_pairs (base, quote) VALUES (base, quote) ON CONFLICT DO NOTHING;
	INSERT INTO tpwallet.price_sources (name, kind, base, quote, endpoint, "extract", weight, poll_interval,
	                                    timeout, max_age, config)
	VALUES (name, kind, base, quote, endpoint, "extract", weight, poll_interval, timeout, max_age, config)
	RETURNING id INTO new_id;
	INSERT INTO tpwallet.price_source_state (source_id) VALUES (new_id);
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('add_price_source', name, jsonb_build_object('kind', kind, 'pair', base || '/' || quote,
	        'endpoint', endpoint, 'weight', weight));
	PERFORM tpwallet._sources_changed();
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION tpwallet.add_price_source IS
	'A price source for base/quote: http_json (extract = JSON path), chainlink, uniswap_v2, uniswap_v3 (config.address ...) or manual.';

CREATE FUNCTION tpwallet.set_price_source_enabled(name text, enabled boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	UPDATE tpwallet.price_sources s SET enabled = set_price_source_enabled.enabled WHERE s.name = set_price_source_enabled.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('price source %s does not exist', name);
	END IF;
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('set_price_source_enabled', name, jsonb_build_object('enabled', enabled));
	PERFORM tpwallet._sources_changed();
END
$$;

-- Change a pair's parameters: set_price_pair('ETH', 'USD', '{"min_sources": 3, "fallback_via": "USDT"}').
CREATE FUNCTION tpwallet.set_price_pair(base text, quote text, params jsonb)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	k text;
	allowed text[] := ARRAY['min_sources', 'outlier_k', 'outlier_floor', 'max_dispersion', 'min_liquidity',
	                        'liquidity_ref', 'stale_after', 'twap_window', 'vol_halflife', 'breaker_k',
	                        'breaker_floor', 'breaker_resume', 'fallback_via'];
BEGIN
	IF NOT EXISTS (SELECT 1 FROM tpwallet.price_pairs p WHERE p.base = set_price_pair.base AND p.quote = set_price_pair.quote) THEN
		PERFORM tpwallet._valid_code(base, 'base currency');
		PERFORM tpwallet._valid_code(quote, 'quote currency');
		INSERT INTO tpwallet.price_pairs (base, quote) VALUES (base, quote);
	END IF;
	IF params IS NULL OR jsonb_typeof(params) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'params must be a JSON object';
	END IF;
	FOR k IN SELECT jsonb_object_keys(params) LOOP
		IF NOT k = ANY (allowed) THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown pair parameter %L', k),
				HINT = 'Parameters: ' || array_to_string(allowed, ', ') || '.';
		END IF;
		EXECUTE format('UPDATE tpwallet.price_pairs SET %I = ($1 ->> %L)::%s WHERE base = $2 AND quote = $3', k, k,
		               (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
		                 WHERE a.attrelid = 'tpwallet.price_pairs'::regclass AND a.attname = k))
		USING params, base, quote;
	END LOOP;
	INSERT INTO tpwallet.audit_log (action, object, detail) VALUES ('set_price_pair', base || '/' || quote, params);
END
$$;

-- ---------------------------------------------------------------- aggregation

-- Time-weighted average of the served ok/uncertain prices from `since` to `until`
-- (each price weighs the time until the next aggregate); NULL without any.
CREATE FUNCTION tpwallet._twap(p_base text, p_quote text, since timestamptz, until timestamptz)
RETURNS numeric
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT sum(seg.price * seg.secs) / nullif(sum(seg.secs), 0)
	  FROM (SELECT a.price, extract(epoch FROM lead(a.computed_at, 1, until) OVER (ORDER BY a.computed_at)
	                                    - greatest(a.computed_at, since))::numeric AS secs
	          FROM tpwallet.price_aggregates a
	         WHERE a.base = p_base AND a.quote = p_quote AND a.price IS NOT NULL
	           AND a.computed_at >= since AND a.status IN ('ok', 'uncertain')) seg
	 WHERE seg.secs > 0
$$;

CREATE TYPE tpwallet._tick AS (source_id int, price numeric, w numeric, liquidity numeric, observed_at timestamptz);

-- The robust aggregate of one pair, now: fresh ticks (the newest of each
-- enabled source within its max_age), outliers out (median absolute
-- deviation), liquidity-aware weighted median, confidence from dispersion,
-- TWAP, EWMA volatility, the fallback chain and the circuit breaker.
-- Writes a price_aggregates row, publishes to shared memory and NOTIFYs.
CREATE FUNCTION tpwallet._aggregate(p_base text, p_quote text)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	pp tpwallet.price_pairs;
	t timestamptz := clock_timestamp();
	n_fresh int;
	n_used int;
	med numeric;
	mad numeric;
	band numeric;
	candidate numeric;
	conf numeric;
	liq numeric;
	newest timestamptz;
	status text;
	served numeric;
	twap numeric;
	vol float8;
	ret float8;
	alpha float8;
	limit_ numeric;
	ref numeric;
	via text;
	leg1 record;
	leg2 record;
	fresh tpwallet._tick[];
BEGIN
	-- FOR NO KEY UPDATE: the state columns change, never the key (so a source being
	-- added to the pair, which holds KEY SHARE, does not block the aggregation)
	SELECT * INTO pp FROM tpwallet.price_pairs p WHERE p.base = p_base AND p.quote = p_quote FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('unknown price pair %s/%s', p_base, p_quote);
	END IF;

	SELECT coalesce(array_agg(ROW(f.id, f.price, f.w, f.liquidity, f.observed_at)::tpwallet._tick), '{}')
	  INTO fresh
	  FROM (SELECT DISTINCT ON (s.id) s.id, k.price,
	               s.weight * CASE WHEN pp.liquidity_ref IS NOT NULL AND k.liquidity IS NOT NULL
	                               THEN least(1, k.liquidity / pp.liquidity_ref) ELSE 1 END AS w,
	               k.liquidity, k.observed_at
	          FROM tpwallet.price_sources s
	          JOIN tpwallet.price_ticks k ON k.source_id = s.id
	         WHERE s.base = p_base AND s.quote = p_quote AND s.enabled
	           AND k.observed_at >= t - s.max_age AND k.observed_at <= t + interval '5 seconds'
	         ORDER BY s.id, k.observed_at DESC) f;
	n_fresh := cardinality(fresh);

	IF n_fresh > 0 THEN
		-- median and median absolute deviation (unweighted: robust to a heavy liar)
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY f.price)::numeric INTO med FROM unnest(fresh) f;
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(f.price - med))::numeric INTO mad FROM unnest(fresh) f;
		band := greatest(pp.outlier_k * 1.4826 * mad, pp.outlier_floor * med);
		SELECT array_agg(f) INTO fresh FROM unnest(fresh) f WHERE abs(f.price - med) <= band;
		-- weighted median of the rest: the lowest price at which half the weight is reached
		SELECT x.price INTO candidate
		  FROM (SELECT f.price, sum(f.w) OVER (ORDER BY f.price, f.source_id) AS cum, sum(f.w) OVER () AS total
		          FROM unnest(fresh) f) x
		 WHERE x.cum * 2 >= x.total ORDER BY x.price LIMIT 1;
		SELECT count(*), max(f.observed_at), sum(f.liquidity),
		       1.4826 * coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(f.price - candidate))::numeric, 0)
		  INTO n_used, newest, liq, conf FROM unnest(fresh) f;
		-- a lone source says nothing about dispersion: its own distance to the fresh median counts
		conf := greatest(conf, abs(candidate - med));
		status := CASE WHEN n_used >= pp.min_sources AND conf <= pp.max_dispersion * candidate
		                    AND (pp.min_liquidity IS NULL OR coalesce(liq, 0) >= pp.min_liquidity)
		               THEN 'ok' ELSE 'uncertain' END;
	ELSE
		n_used := 0;
		-- fallback 1: a cross rate through another quote
		IF pp.fallback_via IS NOT NULL THEN
			SELECT a.price, a.status, a.observed_at INTO leg1 FROM tpwallet.price_aggregates a
			 WHERE a.base = p_base AND a.quote = pp.fallback_via AND a.status IN ('ok', 'uncertain')
			 ORDER BY a.computed_at DESC LIMIT 1;
			SELECT a.price, a.status, a.observed_at INTO leg2 FROM tpwallet.price_aggregates a
			 WHERE a.base = pp.fallback_via AND a.quote = p_quote AND a.status IN ('ok', 'uncertain')
			 ORDER BY a.computed_at DESC LIMIT 1;
			IF leg1.price IS NOT NULL AND leg2.price IS NOT NULL
			   AND least(leg1.observed_at, leg2.observed_at) >= t - pp.stale_after THEN
				candidate := leg1.price * leg2.price;
				newest := least(leg1.observed_at, leg2.observed_at);
				via := pp.fallback_via;
				status := CASE WHEN leg1.status = 'ok' AND leg2.status = 'ok' THEN 'ok' ELSE 'uncertain' END;
				conf := 0;
			END IF;
		END IF;
	END IF;

	IF candidate IS NULL THEN
		-- fallback 2: the last good price, marked stale with its age
		served := pp.good_price;
		status := CASE WHEN served IS NULL THEN 'none' ELSE 'stale' END;
		newest := pp.good_at;
		vol := sqrt(pp.ewma_var);
	ELSE
		-- EWMA volatility of log returns between aggregates
		IF pp.last_price IS NOT NULL AND pp.last_price > 0 THEN
			ret := ln(candidate / pp.last_price)::float8;
			alpha := 1 - exp(-ln(2) * greatest(extract(epoch FROM t - pp.last_at), 0.001)
			                        / greatest(extract(epoch FROM pp.vol_halflife), 0.001));
			pp.ewma_var := (1 - alpha) * pp.ewma_var + alpha * ret * ret;
		END IF;
		vol := sqrt(pp.ewma_var);
		-- TWAP of the served prices over the window, this one included
		twap := tpwallet._twap(p_base, p_quote, t - pp.twap_window, t);
		twap := round(coalesce(twap, candidate), greatest(scale(candidate), 8));
		-- the breaker's reference: the same TWAP, but only since the last resume
		-- (after a real move it must not keep comparing with the old level)
		ref := tpwallet._twap(p_base, p_quote, greatest(t - pp.twap_window, coalesce(pp.regime_since, '-infinity')), t);
		ref := coalesce(ref, pp.good_price, candidate);
		limit_ := greatest(pp.breaker_floor, pp.breaker_k * vol::numeric);
		served := candidate;
		IF pp.halted_since IS NULL THEN
			IF pp.good_price IS NOT NULL AND abs(candidate / ref - 1) > limit_ THEN
				-- the circuit breaker trips: keep serving the last good price
				pp.halted_since := t;
				pp.halt_candidate := candidate;
				pp.halt_candidate_since := t;
			END IF;
		ELSIF abs(candidate / pp.good_price - 1) <= limit_ THEN
			-- prices came back
			pp.halted_since := NULL;
		ELSIF abs(candidate / pp.halt_candidate - 1) <= pp.max_dispersion AND status = 'ok' THEN
			-- sources agree on the new level: resume there after breaker_resume
			IF t - pp.halt_candidate_since >= pp.breaker_resume THEN
				pp.halted_since := NULL;
				pp.regime_since := t;
			END IF;
		ELSE
			pp.halt_candidate := candidate;
			pp.halt_candidate_since := t;
		END IF;
		IF pp.halted_since IS NOT NULL THEN
			served := pp.good_price;
			status := 'halted';
		ELSE
			pp.good_price := candidate;
			pp.good_at := coalesce(newest, t);
			pp.halt_candidate := NULL;
			pp.halt_candidate_since := NULL;
		END IF;
		UPDATE tpwallet.price_pairs p
		   SET last_price = candidate, last_at = t, ewma_var = pp.ewma_var, good_price = pp.good_price,
		       good_at = pp.good_at, halted_since = pp.halted_since, halt_candidate = pp.halt_candidate,
		       halt_candidate_since = pp.halt_candidate_since, regime_since = pp.regime_since
		 WHERE p.base = p_base AND p.quote = p_quote;
	END IF;

	INSERT INTO tpwallet.price_aggregates (base, quote, computed_at, price, candidate, confidence, sources_used,
	                                       sources_fresh, status, twap, volatility, observed_at, via)
	VALUES (p_base, p_quote, t, served, candidate, conf, n_used, n_fresh, status, twap, vol, newest, via);
	PERFORM tpwallet._publish_price(p_base, p_quote, served, conf, n_used, status, twap, vol, newest, t, via,
	                                pp.stale_after);
	PERFORM pg_notify('tpwallet_price', json_build_object('pair', p_base || '/' || p_quote, 'price', served::text,
	                  'status', status)::text);
	RETURN status;
END
$$;

CREATE FUNCTION tpwallet._check_price(price numeric, what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF price IS NULL OR price = 'NaN'::numeric OR price IN ('Infinity'::numeric, '-Infinity'::numeric) THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s must be a finite number', what);
	END IF;
	IF price <= 0 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s must be positive, not %s', what, price);
	END IF;
	IF price >= 1e30 OR price < 1e-30 THEN
		RAISE EXCEPTION USING ERRCODE = '22003', MESSAGE = format('%s %s is absurd', what, price),
			HINT = 'Prices from 1e-30 to 1e30 are accepted.';
	END IF;
END
$$;

-- Record one observation and re-aggregate its pair.  A tick already
-- recorded (same source, same observed_at) changes nothing.
CREATE FUNCTION tpwallet.record_tick(source text, price numeric, observed_at timestamptz,
                                     liquidity numeric DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	s tpwallet.price_sources;
BEGIN
	SELECT * INTO s FROM tpwallet.price_sources ps WHERE ps.name = record_tick.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('price source %s does not exist', source),
			HINT = 'Add it with tpwallet.add_price_source() (kind manual for pushed ticks).';
	END IF;
	PERFORM tpwallet._check_price(price, 'price');
	IF observed_at IS NULL OR observed_at > clock_timestamp() + interval '5 seconds' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'observed_at is in the future',
			DETAIL = format('observed_at is %s, the server''s clock %s.', observed_at, clock_timestamp());
	END IF;
	IF liquidity IS NOT NULL AND (liquidity < 0 OR liquidity = 'NaN'::numeric OR liquidity = 'Infinity'::numeric) THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'liquidity must be a non-negative finite number';
	END IF;
	INSERT INTO tpwallet.price_ticks (source_id, observed_at, price, liquidity)
	VALUES (s.id, observed_at, price, liquidity) ON CONFLICT DO NOTHING;
	IF NOT FOUND THEN
		-- the same observation again (an unchanged Chainlink round): the source is healthy
		UPDATE tpwallet.price_source_state st SET last_ok_at = clock_timestamp(), failures = 0
		 WHERE st.source_id = s.id;
		RETURN;
	END IF;
	UPDATE tpwallet.price_source_state st
	   SET last_tick_at = greatest(st.last_tick_at, record_tick.observed_at), last_ok_at = clock_timestamp(),
	       failures = 0, ticks = st.ticks + 1
	 WHERE st.source_id = s.id;
	PERFORM tpwallet._aggregate(s.base, s.quote);
END
$$;
COMMENT ON FUNCTION tpwallet.record_tick IS
	'Record a price observation (push feeds, replays) and re-aggregate its pair; ticks are append-only.';

-- A failed poll: recorded, never raised (the worker keeps running).
CREATE FUNCTION tpwallet._source_error(p_source_id int, p_error text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	INSERT INTO tpwallet.price_source_errors (source_id, error) VALUES (p_source_id, left(p_error, 1000));
	UPDATE tpwallet.price_source_state st
	   SET last_error_at = clock_timestamp(), last_error = left(p_error, 1000), failures = st.failures + 1,
	       errors = st.errors + 1
	 WHERE st.source_id = p_source_id;
END
$$;

-- Re-aggregate the pairs whose served price has aged past stale_after
-- without a new tick (a silent source), so that readers and listeners see
-- "stale".  The feed worker calls it every second.
CREATE FUNCTION tpwallet.refresh_prices()
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	r record;
	n int := 0;
BEGIN
	FOR r IN SELECT p.base, p.quote FROM tpwallet.price_pairs p
	          WHERE EXISTS (SELECT 1 FROM tpwallet.price_aggregates a WHERE a.base = p.base AND a.quote = p.quote)
	            AND (SELECT a.status <> 'stale' AND a.status <> 'none'
	                        AND coalesce(a.observed_at, a.computed_at) < clock_timestamp() - p.stale_after
	                   FROM tpwallet.price_aggregates a WHERE a.base = p.base AND a.quote = p.quote
	                  ORDER BY a.computed_at DESC LIMIT 1)
	LOOP
		PERFORM tpwallet._aggregate(r.base, r.quote);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;

-- ---------------------------------------------------------------- reading

CREATE FUNCTION tpwallet.price_info(base text, quote text,
                                    OUT price numeric, OUT confidence numeric, OUT sources_used int,
                                    OUT age interval, OUT status text, OUT twap numeric, OUT volatility float8,
                                    OUT observed_at timestamptz, OUT computed_at timestamptz, OUT via text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	stale interval;
BEGIN
	SELECT s.price, s.confidence, s.sources_used, s.status, s.twap, s.volatility, s.observed_at, s.computed_at,
	       s.via, s.stale_after
	  INTO price, confidence, sources_used, status, twap, volatility, observed_at, computed_at, via, stale
	  FROM tpwallet._shm_prices() s WHERE s.base = price_info.base AND s.quote = price_info.quote;
	IF NOT FOUND THEN
		SELECT a.price, a.confidence, a.sources_used, a.status, a.twap, a.volatility, a.observed_at, a.computed_at,
		       a.via, p.stale_after
		  INTO price, confidence, sources_used, status, twap, volatility, observed_at, computed_at, via, stale
		  FROM tpwallet.price_aggregates a JOIN tpwallet.price_pairs p ON p.base = a.base AND p.quote = a.quote
		 WHERE a.base = price_info.base AND a.quote = price_info.quote
		 ORDER BY a.computed_at DESC LIMIT 1;
		IF NOT FOUND THEN
			RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('no price for %s/%s', base, quote),
				HINT = 'Add a source for the pair with tpwallet.add_price_source().';
		END IF;
	END IF;
	age := clock_timestamp() - coalesce(observed_at, computed_at);
	-- read-time staleness: no aggregation may have run since the sources went silent
	IF status IN ('ok', 'uncertain') AND age > stale THEN
		status := 'stale';
	END IF;
END
$$;

CREATE FUNCTION tpwallet.price_at(base text, quote text, at timestamptz)
RETURNS numeric
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	p numeric;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM tpwallet.price_pairs pp WHERE pp.base = price_at.base AND pp.quote = price_at.quote) THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('unknown price pair %s/%s', base, quote);
	END IF;
	SELECT a.price INTO p FROM tpwallet.price_aggregates a
	 WHERE a.base = price_at.base AND a.quote = price_at.quote AND a.computed_at <= price_at.at AND a.price IS NOT NULL
	 ORDER BY a.computed_at DESC LIMIT 1;
	RETURN p;
END
$$;
COMMENT ON FUNCTION tpwallet.price_at IS 'The price served at a past moment (NULL before the first aggregate).';

CREATE VIEW tpwallet.latest_prices AS
SELECT x.base, x.quote, x.price, x.confidence, x.sources_used,
       clock_timestamp() - coalesce(x.observed_at, x.computed_at) AS age,
       CASE WHEN x.status IN ('ok', 'uncertain') AND clock_timestamp() - coalesce(x.observed_at, x.computed_at) > x.stale_after
            THEN 'stale' ELSE x.status END AS status,
       x.twap, x.volatility, x.observed_at, x.computed_at, x.via
  FROM (SELECT s.base, s.quote, s.price, s.confidence, s.sources_used, s.status, s.twap, s.volatility,
               s.observed_at, s.computed_at, s.via, s.stale_after
          FROM tpwallet._shm_prices() s
        UNION ALL
        -- pairs not in shared memory (not preloaded, or more pairs than it holds):
        -- the newest aggregate of each, one index probe per pair
        SELECT a.base, a.quote, a.price, a.confidence, a.sources_used, a.status,
               a.twap, a.volatility, a.observed_at, a.computed_at, a.via, p.stale_after
          FROM tpwallet.price_pairs p
          CROSS JOIN LATERAL (SELECT * FROM tpwallet.price_aggregates a
                               WHERE a.base = p.base AND a.quote = p.quote
                               ORDER BY a.computed_at DESC LIMIT 1) a
         WHERE NOT EXISTS (SELECT 1 FROM tpwallet._shm_prices() s WHERE s.base = p.base AND s.quote = p.quote)) x;

-- Every account's balance in the reporting currency (GUC tpwallet.reporting_currency).
-- Built on the accounts table itself (row totals + pending deltas), with one
-- price lookup per asset, not per account: a million accounts in well under
-- a second.
CREATE VIEW tpwallet.valuations AS
WITH rc AS (SELECT coalesce(current_setting('tpwallet.reporting_currency', true), 'USD') AS code),
     px AS (SELECT l.base AS asset, l.price, l.status, l.age FROM tpwallet.latest_prices l, rc WHERE l.quote = rc.code)
SELECT a.code AS account, a.book, a.asset, a.metadata ->> 'owner' AS owner, trim_scale(b.balance) AS balance,
       rc.code AS reporting_currency,
       CASE WHEN a.asset = rc.code THEN 1::numeric ELSE px.price END AS price,
       CASE WHEN a.asset = rc.code THEN trim_scale(b.balance) ELSE b.balance * px.price END AS value,
       CASE WHEN a.asset = rc.code THEN 'ok' ELSE coalesce(px.status, 'none') END AS price_status,
       CASE WHEN a.asset = rc.code THEN interval '0' ELSE px.age END AS price_age
  FROM tpwallet.accounts a
  LEFT JOIN (SELECT account_id, sum(debits_posted) AS dp, sum(credits_posted) AS cp
               FROM tpwallet.account_deltas GROUP BY account_id) d ON d.account_id = a.id
  CROSS JOIN rc
  LEFT JOIN px ON px.asset = a.asset
  CROSS JOIN LATERAL (SELECT CASE WHEN a.normal_side = 'debit'
                                  THEN a.debits_posted + coalesce(d.dp, 0) - a.credits_posted - coalesce(d.cp, 0)
                                  ELSE a.credits_posted + coalesce(d.cp, 0) - a.debits_posted - coalesce(d.dp, 0)
                             END AS balance) b;

-- Per owner (accounts.metadata ->> 'owner'), in the reporting currency; the
-- worst price status and the oldest price behind the total come with it.
CREATE VIEW tpwallet.portfolios AS
SELECT owner, reporting_currency, sum(value) AS total_value, count(*) AS accounts,
       count(*) FILTER (WHERE value IS NULL) AS accounts_without_price,
       (array_agg(price_status ORDER BY CASE price_status WHEN 'ok' THEN 0 WHEN 'uncertain' THEN 1
                  WHEN 'halted' THEN 2 WHEN 'stale' THEN 3 ELSE 4 END DESC))[1] AS worst_status,
       max(price_age) AS oldest_price
  FROM tpwallet.valuations
 WHERE owner IS NOT NULL AND book = 'ops'
 GROUP BY owner, reporting_currency;

-- append-only: ticks, aggregates and errors
SELECT tpwallet._guard(t) FROM unnest(ARRAY['price_ticks', 'price_aggregates', 'price_source_errors']) t;

-- ---------------------------------------------------------------- the feed worker's side
-- The worker (src/price/feed_worker.c) only moves bytes: it asks what to
-- fetch (_poll_request), fetches it with libcurl, and hands the answer to
-- _ingest, which parses it by kind and records a tick or a source error.

-- Enabled sources the worker polls.
CREATE FUNCTION tpwallet._feed_sources()
RETURNS TABLE (source_id int, name text, kind text, poll_interval_ms bigint, timeout_ms bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
	SELECT s.id, s.name, s.kind, (extract(epoch FROM s.poll_interval) * 1000)::bigint,
	       (extract(epoch FROM s.timeout) * 1000)::bigint
	  FROM tpwallet.price_sources s
	 WHERE s.enabled AND s.kind <> 'manual'
	 ORDER BY s.id
$$;

-- What to send: a GET of the URL (body NULL), or a JSON-RPC POST (body set).
CREATE FUNCTION tpwallet._poll_request(p_source_id int, OUT url text, OUT body text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	s tpwallet.price_sources;
	selector text;
BEGIN
	SELECT * INTO s FROM tpwallet.price_sources ps WHERE ps.id = p_source_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('price source %s does not exist', p_source_id);
	END IF;
	url := s.endpoint;
	selector := CASE s.kind WHEN 'chainlink' THEN '0xfeaf968c'    -- latestRoundData()
	                        WHEN 'uniswap_v2' THEN '0x0902f1ac'   -- getReserves()
	                        WHEN 'uniswap_v3' THEN '0x3850c7bd'   -- slot0()
	            END;
	IF selector IS NOT NULL THEN
		body := json_build_object('jsonrpc', '2.0', 'id', 1, 'method', 'eth_call',
		                          'params', json_build_array(json_build_object('to', s.config ->> 'address',
		                                                                       'data', selector), 'latest'))::text;
	END IF;
END
$$;

-- 32-byte ABI word i (0-based) of a hex string, as a numeric (unsigned, or two's complement signed).
CREATE FUNCTION tpwallet._abi_word(hex text, i int, signed boolean DEFAULT false)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	w text := substr(regexp_replace(hex, '^0x', ''), 1 + 64 * i, 64);
	v numeric := 0;
BEGIN
	IF length(w) <> 64 OR w !~ '^[0-9a-fA-F]+$' THEN
		RAISE EXCEPTION USING ERRCODE = '22P02', MESSAGE = format('ABI result too short for word %s', i);
	END IF;
	FOR k IN 0 .. 7 LOOP
		-- bit(32) to bigint is unsigned: 0 .. 2^32 - 1
		v := v * 4294967296 + ('x' || substr(w, 1 + 8 * k, 8))::bit(32)::bigint;
	END LOOP;
	IF signed AND v >= 57896044618658097711785492504343953926634992332820282019728792003956564819968 THEN  -- 2^255
		v := v - 115792089237316195423570985008687907853269984665640564039457584007913129639936;  -- 2^256
	END IF;
	RETURN v;
END
$$;

CREATE FUNCTION tpwallet._json_number(v jsonb)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF v IS NULL OR jsonb_typeof(v) NOT IN ('number', 'string') THEN
		RETURN NULL;
	END IF;
	RETURN (v #>> '{}')::numeric;
EXCEPTION WHEN invalid_text_representation THEN
	RETURN NULL;
END
$$;

-- Parse one poll's answer by kind and record the tick, or record why not.
-- Returns true when a tick was recorded (or was already there).  Never raises
-- for bad input from a source: that is the source's error, not the worker's.
CREATE FUNCTION tpwallet._ingest(p_source_id int, http_status int, body text, transport_error text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	s tpwallet.price_sources;
	doc jsonb;
	res text;
	p numeric;
	liq numeric;
	obs timestamptz := clock_timestamp();
	d0 int;
	d1 int;
	tsv jsonb;
	err text;
BEGIN
	SELECT * INTO s FROM tpwallet.price_sources ps WHERE ps.id = p_source_id;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	IF NOT s.enabled THEN
		RETURN true;	-- an answer still in flight when the source was disabled
	END IF;
	BEGIN
		IF transport_error IS NOT NULL THEN
			RAISE EXCEPTION USING ERRCODE = 'TW020', MESSAGE = transport_error;
		END IF;
		IF http_status IS NULL OR http_status NOT BETWEEN 200 AND 299 THEN
			RAISE EXCEPTION USING ERRCODE = 'TW020', MESSAGE = format('HTTP status %s', http_status);
		END IF;
		BEGIN
			doc := body::jsonb;
		EXCEPTION WHEN OTHERS THEN
			RAISE EXCEPTION USING ERRCODE = 'TW020', MESSAGE = format('not JSON: %s', left(body, 80));
		END;
		IF s.kind = 'http_json' THEN
			p := tpwallet._json_number(jsonb_path_query_first(doc, s."extract"::jsonpath));
			IF p IS NULL THEN
				RAISE EXCEPTION USING ERRCODE = 'TW020', MESSAGE = format('no number at %s', s."extract");
			END IF;
			IF s.config ? 'liquidity_path' THEN
				liq := tpwallet._json_number(jsonb_path_query_first(doc, (s.config ->> 'liquidity_path')::jsonpath));
			END IF;
			IF s.config ? 'time_path' THEN
				tsv := jsonb_path_query_first(doc, (s.config ->> 'time_path')::jsonpath);
				obs := CASE WHEN jsonb_typeof(tsv) = 'number' AND (tsv #>> '{}')::numeric > 1e11
				            THEN to_timestamp((tsv #>> '{}')::numeric / 1000)   -- milliseconds
				            WHEN jsonb_typeof(tsv) = 'number' THEN to_timestamp((tsv #>> '{}')::numeric)
				            ELSE (tsv #>> '{}')::timestamptz END;
			END IF;
		ELSE
			IF doc ? 'error' THEN
				RAISE EXCEPTION USING ERRCODE = 'TW020', MESSAGE = format('JSON-RPC error: %s', left((doc -> 'error')::text, 200));
			END IF;
			res := doc ->> 'result';
			IF res IS NULL OR res !~ '^0x[0-9a-fA-F]*$' THEN
				RAISE EXCEPTION USING ERRCODE = 'TW020', MESSAGE = 'JSON-RPC answer without a hex result';
			END IF;
			IF s.kind = 'chainlink' THEN
				-- latestRoundData(): roundId, answer (int256), startedAt, updatedAt, answeredInRound
				p := tpwallet._abi_word(res, 1, true) / 10 ^ coalesce((s.config ->> 'decimals')::int, 8)::numeric;
				obs := to_timestamp(tpwallet._abi_word(res, 3)::float8);
			ELSE
				d0 := (s.config ->> 'token0_decimals')::int;
				d1 := (s.config ->> 'token1_decimals')::int;
				IF s.kind = 'uniswap_v2' THEN
					-- getReserves(): reserve0, reserve1, blockTimestampLast
					IF tpwallet._abi_word(res, 0) = 0 OR tpwallet._abi_word(res, 1) = 0 THEN
						RAISE EXCEPTION USING ERRCODE = 'TW020', MESSAGE = 'empty pool';
					END IF;
					p := (tpwallet._abi_word(res, 1) * 10 ^ d0::numeric) / (tpwallet._abi_word(res, 0) * 10 ^ d1::numeric);
					-- depth: the pool's value on the quote side, both reserves
					liq := 2 * tpwallet._abi_word(res, 1) / 10 ^ d1::numeric;
				ELSE
					-- slot0(): sqrtPriceX96, ... : price = (sqrtPriceX96 / 2^96)^2, scaled by decimals
					p := tpwallet._abi_word(res, 0) ^ 2 * 10 ^ (d0 - d1)::numeric
					     / 6277101735386680763835789423207666416102355444464034512896;  -- 2^192
				END IF;
				IF coalesce((s.config ->> 'invert')::boolean, false) AND p > 0 THEN
					p := 1 / p;
					liq := NULL;
				END IF;
			END IF;
		END IF;
		p := round(p, 18);
		PERFORM tpwallet._check_price(p, 'price');
		IF obs > clock_timestamp() + interval '5 seconds' THEN
			RAISE EXCEPTION USING ERRCODE = 'TW020', MESSAGE = format('observation time %s is in the future', obs);
		END IF;
	EXCEPTION WHEN OTHERS THEN
		err := SQLERRM;
	END;
	IF err IS NOT NULL THEN
		PERFORM tpwallet._source_error(p_source_id, err);
		RETURN false;
	END IF;
	PERFORM tpwallet.record_tick(s.name, p, obs, liq);
	RETURN true;
END
$$;
