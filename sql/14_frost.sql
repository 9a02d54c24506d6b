-- FROST(secp256k1, SHA-256), RFC 9591: the RFC's test vectors byte for byte
-- (appendix E.5, as published in the cfrg/draft-irtf-cfrg-frost repository,
-- poc/frost-secp256k1-sha256.json), properties of m-of-n signing, shares
-- held here with nonces used once, and bad input.
\set SHOW_CONTEXT never
\set gpk '\\x02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f'
\set msg '\\x74657374'

-- trusted-dealer key generation with the RFC's secret and coefficient
SELECT identifier, encode(signing_share, 'hex') AS signing_share, encode(group_public_key, 'hex') AS group_public_key
  FROM tpwallet.frost_keygen(2, 3, '\x0d004150d27c3bf2a42f312683d35fac7394b1e9e318249c1bfe7f0795a83114',
                             ARRAY['\xfbf85eadae3058ea14f19148bb72b45e4399c0b16028acaf0395c9b03c823579'::bytea])
 ORDER BY identifier;

-- round one: nonces from the given randomness, and their commitments
SELECT encode(tpwallet.frost_nonce('\x08f89ffe80ac94dcb920c26f3f46140bfc7f95b493f8310f5fc1ea2b01f4254c',
                                   '\x7ea5ed09af19f6ff21040c07ec2d2adbd35b759da5a401d4c99dd26b82391cb2'), 'hex') AS p1_hiding_nonce,
       encode(tpwallet.frost_nonce('\x08f89ffe80ac94dcb920c26f3f46140bfc7f95b493f8310f5fc1ea2b01f4254c',
                                   '\x47acab018f116020c10cb9b9abdc7ac10aae1b48ca6e36dc15acb6ec9be5cdc5'), 'hex') AS p1_binding_nonce,
       encode(tpwallet.frost_nonce('\x00e95d59dd0d46b0e303e500b62b7ccb0e555d49f5b849f5e748c071da8c0dbc',
                                   '\xe6cc56ccbd0502b3f6f831d91e2ebd01c4de0479e0191b66895a4ffd9b68d544'), 'hex') AS p3_hiding_nonce,
       encode(tpwallet.frost_nonce('\x00e95d59dd0d46b0e303e500b62b7ccb0e555d49f5b849f5e748c071da8c0dbc',
                                   '\x7203d55eb82a5ca0d7d83674541ab55f6e76f1b85391d2c13706a89a064fd5b9'), 'hex') AS p3_binding_nonce;
SELECT jsonb_build_array(
         tpwallet.frost_commitment(1, '\x841d3a6450d7580b4da83c8e618414d0f024391f2aeb511d7579224420aa81f0',
                                      '\x8d2624f532af631377f33cf44b5ac5f849067cae2eacb88680a31e77c79b5a80'),
         tpwallet.frost_commitment(3, '\x2b19b13f193f4ce83a399362a90cdc1e0ddcd83e57089a7af0bdca71d47869b2',
                                      '\x7a443bde83dc63ef52dda354005225ba0e553243402a4705ce28ffaafe0f5b98')) AS commitments \gset
SELECT jsonb_pretty(:'commitments'::jsonb) AS commitments;

-- round two: the signature shares
SELECT encode(tpwallet.frost_sign_share(1, '\x08f89ffe80ac94dcb920c26f3f46140bfc7f95b493f8310f5fc1ea2b01f4254c', :'gpk',
         '\x841d3a6450d7580b4da83c8e618414d0f024391f2aeb511d7579224420aa81f0',
         '\x8d2624f532af631377f33cf44b5ac5f849067cae2eacb88680a31e77c79b5a80', :'msg', :'commitments'), 'hex') AS p1_sig_share,
       encode(tpwallet.frost_sign_share(3, '\x00e95d59dd0d46b0e303e500b62b7ccb0e555d49f5b849f5e748c071da8c0dbc', :'gpk',
         '\x2b19b13f193f4ce83a399362a90cdc1e0ddcd83e57089a7af0bdca71d47869b2',
         '\x7a443bde83dc63ef52dda354005225ba0e553243402a4705ce28ffaafe0f5b98', :'msg', :'commitments'), 'hex') AS p3_sig_share;

-- aggregation: the final signature, byte for byte, with the shares checked
\set shares '[{"identifier": 1, "share": "0xc4fce1775a1e141fb579944166eab0d65eefe7b98d480a569bbbfcb14f91c197"}, {"identifier": 3, "share": "0x0160fd0d388932f4826d2ebcd6b9eaba734f7c71cf25b4279a4ca2581e47b18d"}]'
SELECT encode(tpwallet.frost_aggregate(:'gpk', :'msg', :'commitments', :'shares'), 'hex') AS sig;
SELECT tpwallet.frost_verify(:'gpk', :'msg', tpwallet.frost_aggregate(:'gpk', :'msg', :'commitments', :'shares')) AS verifies,
       tpwallet.frost_verify(:'gpk', '\x74657375', tpwallet.frost_aggregate(:'gpk', :'msg', :'commitments', :'shares')) AS other_message,
       tpwallet.frost_verify(:'gpk', :'msg', set_byte(tpwallet.frost_aggregate(:'gpk', :'msg', :'commitments', :'shares'), 40, 0)) AS tampered;
-- with verifying shares, a tampered share is caught and its signer named
SELECT jsonb_agg(c || jsonb_build_object('verifying_share', '0x' || encode(k.verifying_share, 'hex'))) AS with_vs
  FROM jsonb_array_elements(:'commitments'::jsonb) c
  JOIN tpwallet.frost_keygen(2, 3, '\x0d004150d27c3bf2a42f312683d35fac7394b1e9e318249c1bfe7f0795a83114',
                             ARRAY['\xfbf85eadae3058ea14f19148bb72b45e4399c0b16028acaf0395c9b03c823579'::bytea]) k
    ON k.identifier = (c ->> 'identifier')::int \gset
SELECT encode(tpwallet.frost_aggregate(:'gpk', :'msg', :'with_vs', :'shares'), 'hex') = encode(tpwallet.frost_aggregate(:'gpk', :'msg', :'commitments', :'shares'), 'hex') AS same_with_checks;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg', :'with_vs',
  '[{"identifier": 1, "share": "0xc4fce1775a1e141fb579944166eab0d65eefe7b98d480a569bbbfcb14f91c197"}, {"identifier": 3, "share": "0x0160fd0d388932f4826d2ebcd6b9eaba734f7c71cf25b4279a4ca2581e47b18e"}]')) AS cheater_named;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg', :'commitments',
  '[{"identifier": 1, "share": "0xc4fce1775a1e141fb579944166eab0d65eefe7b98d480a569bbbfcb14f91c197"}, {"identifier": 3, "share": "0x0160fd0d388932f4826d2ebcd6b9eaba734f7c71cf25b4279a4ca2581e47b18e"}]')) AS bad_share_without_checks;

-- properties: any m of n sign; m - 1 cannot
CREATE TEMP TABLE g35 AS SELECT * FROM tpwallet.frost_keygen(3, 5);
SELECT count(*) AS imported FROM (SELECT tpwallet.frost_import_share('g35-' || identifier, identifier, signing_share, group_public_key) FROM g35) x;
SELECT count(*) AS subsets, bool_and(tpwallet.frost_verify((SELECT group_public_key FROM g35 LIMIT 1), 'payout 42',
                              tpwallet.frost_sign_with(labels, 'payout 42'))) AS all_verify
  FROM (SELECT ARRAY['g35-' || a, 'g35-' || b, 'g35-' || c] AS labels
          FROM generate_series(1, 5) a, generate_series(1, 5) b, generate_series(1, 5) c WHERE a < b AND b < c) s;
SELECT tpwallet.frost_verify((SELECT group_public_key FROM g35 LIMIT 1), 'payout 42',
         tpwallet.frost_sign_with(ARRAY['g35-5', 'g35-2', 'g35-4', 'g35-1'], 'payout 42')) AS four_of_five;
SELECT test.err($$SELECT tpwallet.frost_sign_with(ARRAY['g35-1', 'g35-2'], 'payout 42')$$) AS two_of_a_3_of_5;
CREATE TEMP TABLE g23 AS SELECT * FROM tpwallet.frost_keygen(2, 3);
SELECT count(*) AS imported FROM (SELECT tpwallet.frost_import_share('g23-' || identifier, identifier, signing_share, group_public_key) FROM g23) x;
SELECT bool_and(tpwallet.frost_verify((SELECT group_public_key FROM g23 LIMIT 1), 'm', tpwallet.frost_sign_with(l, 'm'))) AS every_pair
  FROM (VALUES (ARRAY['g23-1', 'g23-2']), (ARRAY['g23-1', 'g23-3']), (ARRAY['g23-2', 'g23-3'])) v (l);
SELECT test.err($$SELECT tpwallet.frost_sign_with(ARRAY['g23-1', 'g35-2'], 'm')$$) AS mixed_groups;
SELECT test.err($$SELECT tpwallet.frost_sign_with(ARRAY['g23-1'], 'm')$$) AS one_signer;

-- shares held here: sealed, never returned; the view shows public parts only
SELECT label, identifier, verifying_share = (SELECT verifying_share FROM g23 WHERE identifier = 1) AS verifying_share_ok
  FROM tpwallet.frost_participants WHERE label = 'g23-1';
SELECT position(g.signing_share IN s.sealed) AS share_in_sealed
  FROM tpwallet.frost_shares s JOIN g23 g ON s.label = 'g23-' || g.identifier WHERE g.identifier = 1;

-- round one and two by hand; a nonce signs exactly once
SELECT tpwallet.frost_commit('g23-1') AS c1 \gset
SELECT tpwallet.frost_commit('g23-3') AS c3 \gset
SELECT :'c1'::jsonb ?& ARRAY['commitment_id', 'identifier', 'hiding', 'binding', 'verifying_share'] AS commit_shape;
SELECT jsonb_build_array(:'c1'::jsonb - 'commitment_id', :'c3'::jsonb - 'commitment_id') AS cl \gset
SELECT tpwallet.frost_sign('g23-1', (:'c1'::jsonb ->> 'commitment_id')::bigint, 'wire 1', :'cl') AS z1 \gset
SELECT tpwallet.frost_sign('g23-3', (:'c3'::jsonb ->> 'commitment_id')::bigint, 'wire 1', :'cl') AS z3 \gset
SELECT tpwallet.frost_verify((SELECT group_public_key FROM g23 LIMIT 1), 'wire 1',
         tpwallet.frost_aggregate((SELECT group_public_key FROM g23 LIMIT 1), 'wire 1', :'cl',
           jsonb_build_array(jsonb_build_object('identifier', 1, 'share', '0x' || encode(:'z1'::bytea, 'hex')),
                             jsonb_build_object('identifier', 3, 'share', '0x' || encode(:'z3'::bytea, 'hex'))))) AS by_hand;
SELECT test.err(format($$SELECT tpwallet.frost_sign('g23-1', %s, 'wire 2', %L)$$, :'c1'::jsonb ->> 'commitment_id', :'cl')) AS reuse_other_message;
SELECT test.err(format($$SELECT tpwallet.frost_sign('g23-1', %s, 'wire 1', %L)$$, :'c1'::jsonb ->> 'commitment_id', :'cl')) AS reuse_same_message;
SELECT test.err(format($$SELECT tpwallet.frost_sign('g23-2', %s, 'wire 1', %L)$$, :'c1'::jsonb ->> 'commitment_id', :'cl')) AS someone_elses_commitment;
SELECT test.err($$INSERT INTO tpwallet.frost_nonce_uses VALUES (1, 1, '\x00')$$) AS forge_use;
SELECT test.err($$DELETE FROM tpwallet.frost_nonce_uses$$) AS forget_uses;
-- a failed round two leaves the nonces usable (no share left the database)
SELECT tpwallet.frost_commit('g23-2') AS c2 \gset
SELECT test.err(format($$SELECT tpwallet.frost_sign('g23-2', %s, 'x', %L)$$, :'c2'::jsonb ->> 'commitment_id', :'cl')) AS not_in_list;
SELECT octet_length(tpwallet.frost_sign('g23-2', (:'c2'::jsonb ->> 'commitment_id')::bigint, 'x',
         jsonb_build_array(:'c1'::jsonb - 'commitment_id', :'c2'::jsonb - 'commitment_id'))) AS then_signs;
-- inside a transaction block: the use of an earlier commitment is committed
-- (by a background worker) before the share is computed, so a rollback
-- cannot bring its nonces back
SELECT tpwallet.frost_commit('g23-2') AS c2b \gset
SELECT jsonb_build_array(:'c1'::jsonb - 'commitment_id', :'c2b'::jsonb - 'commitment_id') AS clb \gset
BEGIN;
SELECT octet_length(tpwallet.frost_sign('g23-2', (:'c2b'::jsonb ->> 'commitment_id')::bigint, 'x', :'clb')) AS signed_in_block;
ROLLBACK;
SELECT test.err(format($$SELECT tpwallet.frost_sign('g23-2', %s, 'y', %L)$$, :'c2b'::jsonb ->> 'commitment_id', :'clb')) AS after_rollback;
SELECT count(*) AS use_survived_rollback FROM tpwallet.frost_nonce_uses WHERE commitment_id = (:'c2b'::jsonb ->> 'commitment_id')::bigint;
-- the same inside a savepoint that is rolled back
SELECT tpwallet.frost_commit('g23-2') AS c2d \gset
SELECT jsonb_build_array(:'c1'::jsonb - 'commitment_id', :'c2d'::jsonb - 'commitment_id') AS cld \gset
SELECT test.err(format($$SELECT tpwallet.frost_sign('g23-2', %s, 'x', %L)$$, :'c2d'::jsonb ->> 'commitment_id', :'cld')) AS in_savepoint;
SELECT test.err(format($$SELECT tpwallet.frost_sign('g23-2', %s, 'x', %L)$$, :'c2d'::jsonb ->> 'commitment_id', :'cld')) AS again_after_savepoint;
-- a commitment made and used in one transaction goes away with it on rollback
BEGIN;
SELECT tpwallet.frost_commit('g23-2') AS c2c \gset
SELECT octet_length(tpwallet.frost_sign('g23-2', (:'c2c'::jsonb ->> 'commitment_id')::bigint, 'x',
         jsonb_build_array(:'c1'::jsonb - 'commitment_id', :'c2c'::jsonb - 'commitment_id'))) AS same_transaction;
ROLLBACK;
SELECT (SELECT count(*) FROM tpwallet.frost_nonces WHERE commitment_id = (:'c2c'::jsonb ->> 'commitment_id')::bigint) AS nonces_left,
       (SELECT count(*) FROM tpwallet.frost_nonce_uses WHERE commitment_id = (:'c2c'::jsonb ->> 'commitment_id')::bigint) AS uses_left;
SELECT label, open_commitments, signatures FROM tpwallet.frost_participants WHERE label LIKE 'g23-%' ORDER BY label;

-- bad input
SELECT test.err($$SELECT * FROM tpwallet.frost_keygen(3, 2)$$) AS m_above_n;
SELECT test.err($$SELECT * FROM tpwallet.frost_keygen(2, 256)$$) AS n_above_255;
SELECT test.err($$SELECT * FROM tpwallet.frost_keygen(1, 3)$$) AS m_1;
SELECT test.err($$SELECT * FROM tpwallet.frost_keygen(2, 3, '\x01', ARRAY['\x02'::bytea])$$) AS short_secret;
SELECT test.err($$SELECT * FROM tpwallet.frost_keygen(3, 4, '\x0d004150d27c3bf2a42f312683d35fac7394b1e9e318249c1bfe7f0795a83114', ARRAY['\xfbf85eadae3058ea14f19148bb72b45e4399c0b16028acaf0395c9b03c823579'::bytea])$$) AS too_few_coefficients;
SELECT test.err($$SELECT * FROM tpwallet.frost_keygen(2, 3, '\xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', ARRAY['\xfbf85eadae3058ea14f19148bb72b45e4399c0b16028acaf0395c9b03c823579'::bytea])$$) AS secret_not_below_n;
SELECT test.err($$SELECT tpwallet.frost_nonce('\x01', '\x02')$$) AS nonce_short_share;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg',
  '[{"identifier": 1, "hiding": "0x000000000000000000000000000000000000000000000000000000000000000000", "binding": "0x02fa2aaccd51b948c9dc1a325d77226e98a5a3fe65fe9ba213761a60123040a45e"}]', :'shares')) AS identity_commitment;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg', :'commitments',
  '[{"identifier": 1, "share": "0xc4fce1775a1e141fb579944166eab0d65eefe7b98d480a569bbbfcb14f91c197"}, {"identifier": 2, "share": "0x0160fd0d388932f4826d2ebcd6b9eaba734f7c71cf25b4279a4ca2581e47b18d"}]')) AS unknown_identifier;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg', :'commitments',
  '[{"identifier": 1, "share": "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"}, {"identifier": 3, "share": "0x0160fd0d388932f4826d2ebcd6b9eaba734f7c71cf25b4279a4ca2581e47b18d"}]')) AS share_not_below_n;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg',
  jsonb_build_array(:'commitments'::jsonb -> 0, :'commitments'::jsonb -> 0), :'shares')) AS duplicate_identifier;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg', '[{"identifier": 0, "hiding": "0x", "binding": "0x"}]', :'shares')) AS identifier_0;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg', '[{"identifier": 1, "hiding": "0x03c699af", "binding": "0x02fa"}]', :'shares')) AS short_commitment;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg', '[{"identifier": 1, "hidng": "0x"}]', :'shares')) AS unknown_key;
SELECT test.err(format($$SELECT tpwallet.frost_aggregate(%L, %L, %L, %L)$$, :'gpk', :'msg', '{}', :'shares')) AS not_an_array;
SELECT test.err(format($$SELECT tpwallet.frost_verify(%L, %L, '\x01')$$, :'gpk', :'msg')) AS short_signature;
SELECT test.err($$SELECT tpwallet.frost_import_share('g23-1', 1, '\x08f89ffe80ac94dcb920c26f3f46140bfc7f95b493f8310f5fc1ea2b01f4254c', '\x02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f')$$) AS duplicate_label;
SELECT test.err($$SELECT tpwallet.frost_import_share('x', 256, '\x08f89ffe80ac94dcb920c26f3f46140bfc7f95b493f8310f5fc1ea2b01f4254c', '\x02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f')$$) AS identifier_256;
SELECT test.err($$SELECT tpwallet.frost_import_share('x', 1, '\x0000000000000000000000000000000000000000000000000000000000000000', '\x02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f')$$) AS zero_share;
SELECT test.err($$SELECT tpwallet.frost_commit('nope')$$) AS unknown_share;
