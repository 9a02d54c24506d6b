-- Randomized malformed input for the jsonb parsers of signing: the FROST
-- commitment and share lists (frost_aggregate, frost_sign_share, frost_sign)
-- and the Ethereum transaction object (eth_sign_transaction).  Every
-- rejection must be a clean, documented SQLSTATE (never an internal error or
-- a crash), and a rejected call signs and records nothing.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(8);
\o /dev/null
SELECT setseed(0.31);

-- the RFC 9591 example (FROST(secp256k1, SHA-256), 2 of 3, signers 1 and 3)
CREATE TEMP TABLE v AS SELECT
  '\x02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f'::bytea AS gpk,
  '\x74657374'::bytea AS msg,
  '[{"identifier": 1, "hiding": "0x03c699af97d26bb4d3f05232ec5e1938c12f1e6ae97643c8f8f11c9820303f1904", "binding": "0x02fa2aaccd51b948c9dc1a325d77226e98a5a3fe65fe9ba213761a60123040a45e"},
    {"identifier": 3, "hiding": "0x03077507ba327fc074d2793955ef3410ee3f03b82b4cdc2370f71d865beb926ef6", "binding": "0x02ad53031ddfbbacfc5fbda3d3b0c2445c8e3e99cbc4ca2db2aa283fa68525b135"}]'::jsonb AS commitments,
  '[{"identifier": 1, "share": "0xc4fce1775a1e141fb579944166eab0d65eefe7b98d480a569bbbfcb14f91c197"},
    {"identifier": 3, "share": "0x0160fd0d388932f4826d2ebcd6b9eaba734f7c71cf25b4279a4ca2581e47b18d"}]'::jsonb AS shares,
  '{"chainId": 1, "nonce": 9, "gasPrice": "20000000000", "gas": 21000, "to": "0x3535353535353535353535353535353535353535",
    "value": "1000000000000000000", "data": "0x", "maxFeePerGas": null}'::jsonb - 'maxFeePerGas' AS tx;
SELECT tpwallet.import_key('fuzz-eip155', '\x4646464646464646464646464646464646464646464646464646464646464646', 'local');

-- one random change to a JSON document: a value replaced by a random scalar,
-- a key dropped or renamed, an element duplicated or dropped, a hex digit or
-- the length of a hex string changed, an identifier moved out of range
CREATE FUNCTION pg_temp.rand_scalar() RETURNS jsonb LANGUAGE sql AS $$
	SELECT (ARRAY['null', 'true', '0', '-1', '256', '1.5', '1e80', '"x"', '""', '"0x"', '"0x0"', '"0xzz"',
	              '"-1"', '"115792089237316195423570985008687907853269984665640564039457584007913129639936"',
	              '"0x000000000000000000000000000000000000000000000000000000000000000000"',
	              '"0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"', '[]', '{}', '[1]',
	              '"0x3535353535353535353535353535353535353535"', '"0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed"'])
	       [1 + floor(random() * 21)::int]::jsonb
$$;
CREATE FUNCTION pg_temp.mutate_hex(s text) RETURNS text LANGUAGE sql AS $$
	SELECT CASE floor(random() * 4)::int
	         WHEN 0 THEN overlay(s placing substr('0123456789abcdefg', 1 + floor(random() * 17)::int, 1)
	                             from 3 + floor(random() * greatest(length(s) - 2, 1))::int for 1)
	         WHEN 1 THEN left(s, greatest(length(s) - 1 - floor(random() * 4)::int, 0))
	         WHEN 2 THEN s || '00'
	         ELSE upper(s) END
$$;
CREATE FUNCTION pg_temp.mutate_object(o jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	keys text[] := ARRAY(SELECT jsonb_object_keys(o));
	k text := keys[1 + floor(random() * cardinality(keys))::int];
BEGIN
	CASE floor(random() * 5)::int
		WHEN 0 THEN RETURN o - k;
		WHEN 1 THEN RETURN (o - k) || jsonb_build_object(k || 'x', o -> k);
		WHEN 2 THEN RETURN jsonb_set(o, ARRAY[k], pg_temp.rand_scalar());
		WHEN 3 THEN RETURN CASE WHEN jsonb_typeof(o -> k) = 'string'
		                        THEN jsonb_set(o, ARRAY[k], to_jsonb(pg_temp.mutate_hex(o ->> k))) ELSE o - k END;
		ELSE RETURN o || jsonb_build_object('extra', pg_temp.rand_scalar());
	END CASE;
END $$;
CREATE FUNCTION pg_temp.mutate_list(l jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	n int := jsonb_array_length(l);
	i int := floor(random() * n)::int;
BEGIN
	CASE floor(random() * 4)::int
		WHEN 0 THEN RETURN l - i;
		WHEN 1 THEN RETURN l || jsonb_build_array(l -> i);
		WHEN 2 THEN RETURN CASE WHEN random() < 0.5 THEN pg_temp.rand_scalar() ELSE jsonb_build_array(pg_temp.rand_scalar()) END;
		ELSE RETURN jsonb_set(l, ARRAY[i::text], pg_temp.mutate_object(l -> i));
	END CASE;
END $$;

-- Run stmt; return its SQLSTATE, or 'ok'.
CREATE FUNCTION pg_temp.state(stmt text, VARIADIC args text[]) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt USING args[1], args[2], args[3], args[4];
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;

CREATE TEMP TABLE outcomes (target text, state text);
INSERT INTO outcomes
SELECT 'aggregate/commitments', pg_temp.state('SELECT tpwallet.frost_aggregate($1::bytea, $2::bytea, $3::jsonb, $4::jsonb)',
         gpk::text, msg::text, pg_temp.mutate_list(commitments)::text, shares::text)
  FROM v, generate_series(1, 600);
INSERT INTO outcomes
SELECT 'aggregate/shares', pg_temp.state('SELECT tpwallet.frost_aggregate($1::bytea, $2::bytea, $3::jsonb, $4::jsonb)',
         gpk::text, msg::text, commitments::text, pg_temp.mutate_list(shares)::text)
  FROM v, generate_series(1, 600);
INSERT INTO outcomes
SELECT 'sign_share', pg_temp.state('SELECT tpwallet.frost_sign_share(1, ''\x08f89ffe80ac94dcb920c26f3f46140bfc7f95b493f8310f5fc1ea2b01f4254c'', $1::bytea,'
         ' ''\x841d3a6450d7580b4da83c8e618414d0f024391f2aeb511d7579224420aa81f0'', ''\x8d2624f532af631377f33cf44b5ac5f849067cae2eacb88680a31e77c79b5a80'','
         ' $2::bytea, $3::jsonb)', gpk::text, msg::text, pg_temp.mutate_list(commitments)::text)
  FROM v, generate_series(1, 400);
INSERT INTO outcomes
SELECT 'eth_sign_transaction', pg_temp.state('SELECT tpwallet.eth_sign_transaction(''fuzz-eip155'', $1::jsonb)',
         pg_temp.mutate_object(pg_temp.mutate_object(tx))::text)
  FROM v, generate_series(1, 800);
\o

SELECT is((SELECT count(*)::int FROM outcomes WHERE state NOT IN ('ok', '22023', '22003', '22P02', 'TW012', '0A000', '22004', '54000')),
          0, 'every rejection has a documented SQLSTATE (no internal error, no crash)');
SELECT ok((SELECT count(*) FROM outcomes WHERE target LIKE 'aggregate/%' AND state <> 'ok') > 1000,
          'nearly every mutated FROST list is rejected');
SELECT ok((SELECT count(*) FROM outcomes WHERE target = 'aggregate/commitments' AND state = 'TW012') > 0,
          'some mutated commitment lists parse but give an aggregate that does not verify (TW012)');
SELECT ok((SELECT count(*) FROM outcomes WHERE target = 'sign_share' AND state = '22023') > 100,
          'frost_sign_share rejects mutated commitment lists');
SELECT ok((SELECT count(*) FROM outcomes WHERE target = 'eth_sign_transaction' AND state <> 'ok') > 400,
          'most mutated transactions are rejected');
SELECT ok((SELECT count(*) FROM outcomes WHERE target = 'eth_sign_transaction' AND state = 'ok') > 0,
          'some mutations still give a valid transaction, which is signed');
SELECT is((SELECT count(*)::int FROM tpwallet.signature_log),
          (SELECT count(*)::int FROM outcomes WHERE target = 'eth_sign_transaction' AND state = 'ok'),
          'exactly the signed transactions are in the signature log (rejected ones left nothing)');
SELECT is(encode(tpwallet.frost_aggregate(gpk, msg, commitments, shares), 'hex'),
          '0205b6d04d3774c8929413e3c76024d54149c372d57aae62574ed74319b5ea14d0c65dde8492a7471437e6c2fe3da49b90d23f642b5c6dbe7e36089f096dd97324',
          'the unmutated RFC 9591 example still aggregates to its signature')
  FROM v;
SELECT * FROM finish();
ROLLBACK;
