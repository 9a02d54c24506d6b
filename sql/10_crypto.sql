-- Pure primitives: keccak-256, RLP, addresses, recovery, verification.
\set SHOW_CONTEXT never

-- Keccak-256 (Ethereum), not SHA3-256: the empty string and "abc"
SELECT encode(tpwallet.keccak256(''), 'hex') AS empty,
       encode(tpwallet.keccak256('abc'), 'hex') AS abc,
       encode(tpwallet.keccak256('abc'), 'hex') <> encode(sha256('abc'), 'hex') AS not_sha256;
-- a 200-byte input crosses the 136-byte rate
SELECT encode(tpwallet.keccak256(decode(repeat('a3', 200), 'hex')), 'hex') AS a3x200;

-- RLP vectors from the Ethereum wiki's RLP page
SELECT v, encode(tpwallet.rlp_encode(v::jsonb), 'hex') AS rlp
  FROM (VALUES ('"dog"'), ('["cat", "dog"]'), ('""'), ('[]'), ('0'), ('"0x00"'), ('15'), ('1024'),
               ('[[], [[]], [[], [[]]]]'),
               ('"Lorem ipsum dolor sit amet, consectetur adipisicing elit"'),
               ('"0x0400"'), ('127'), ('128'), ('256'),
               ('115792089237316195423570985008687907853269984665640564039457584007913129639935'),
               ('1e3'), ('5.000')) AS t (v);

-- decoding gives lists as arrays and every string as 0x hex; round trips
SELECT tpwallet.rlp_decode('\xc88363617483646f67') AS cat_dog,
       tpwallet.rlp_decode('\xc7c0c1c0c3c0c1c0') AS set_theory,
       tpwallet.rlp_decode('\x80') AS empty_string,
       tpwallet.rlp_decode('\x0f') AS fifteen;
SELECT bool_and(tpwallet.rlp_encode(tpwallet.rlp_decode(x)) = x) AS round_trips
  FROM (VALUES ('\xc88363617483646f67'::bytea), ('\xc7c0c1c0c3c0c1c0'), ('\x820400'), ('\x80'), ('\xc0'),
               (tpwallet.rlp_encode(to_jsonb(repeat('x', 1000))))) AS t (x);

-- strict decoding: non-canonical forms, truncation, trailing bytes
SELECT test.err($$SELECT tpwallet.rlp_decode('\x8105')$$) AS single_byte_wrapped;
SELECT test.err($$SELECT tpwallet.rlp_decode('\xb80161')$$) AS long_form_for_short;
SELECT test.err($$SELECT tpwallet.rlp_decode('\x83646f')$$) AS truncated;
SELECT test.err($$SELECT tpwallet.rlp_decode('\x8080')$$) AS trailing;
SELECT test.err($$SELECT tpwallet.rlp_decode('')$$) AS empty_input;
SELECT test.err($$SELECT tpwallet.rlp_decode('\xb900')$$) AS truncated_length;
SELECT test.err($$SELECT tpwallet.rlp_decode('\xbfffffffffffffffff')$$) AS oversize_length;
SELECT test.err($$SELECT tpwallet.rlp_decode('\xc2c1')$$) AS child_overruns_list;

-- what RLP cannot encode
SELECT test.err($$SELECT tpwallet.rlp_encode('{"a": 1}')$$) AS object;
SELECT test.err($$SELECT tpwallet.rlp_encode('-1')$$) AS negative;
SELECT test.err($$SELECT tpwallet.rlp_encode('1.5')$$) AS fraction;
SELECT test.err($$SELECT tpwallet.rlp_encode('"0x123"')$$) AS odd_hex;
SELECT test.err($$SELECT tpwallet.rlp_encode('"0xzz"')$$) AS bad_hex;
SELECT test.err($$SELECT tpwallet.rlp_encode('[null]')$$) AS json_null;
SELECT test.err($$SELECT tpwallet.rlp_encode('true')$$) AS json_bool;
SELECT test.err($$SELECT tpwallet.rlp_encode(repeat('[', 65)::jsonb || repeat(']', 65)::jsonb)$$) AS too_deep_is_not_json;
SELECT test.err(format($$SELECT tpwallet.rlp_encode(%L)$$, repeat('[', 65) || repeat(']', 65))) AS too_deep;
SELECT length(tpwallet.rlp_encode((repeat('[', 64) || repeat(']', 64))::jsonb)) AS deep_64_ok;

-- addresses: the EIP-155 example key (0x46 x 32) belongs to 0x9d8A62f6...
SELECT tpwallet.eth_address('\x044bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382ce28cab79ad7119ee1ad3ebcdb98a16805211530ecc6cfefa1b88e6dff99232a') AS uncompressed,
       tpwallet.eth_address('\x024bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382') AS compressed,
       tpwallet.eth_address('\x4bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382ce28cab79ad7119ee1ad3ebcdb98a16805211530ecc6cfefa1b88e6dff99232a') AS raw_xy;
SELECT test.err($$SELECT tpwallet.eth_address('\x0102')$$) AS short_key;
SELECT test.err($$SELECT tpwallet.eth_address('\x020000000000000000000000000000000000000000000000000000000000000005')$$) AS not_on_curve;

-- ecrecover: the EIP-155 example's signature over its signing hash
SELECT tpwallet.ecrecover('\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53',
         '\x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa63627667cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d831b') AS v27,
       tpwallet.ecrecover('\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53',
         '\x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa63627667cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d8300') AS v0,
       tpwallet.ecrecover('\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e54',
         '\x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa63627667cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d8300') AS other_digest;
SELECT tpwallet.ecrecover('\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53',
         '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea ||
         '\x67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d8300'::bytea) IS NULL AS zero_r_recovers_nothing;
-- the malleated twin (n - s, other recovery id) still recovers the same address:
-- ecrecover, like Ethereum's precompile, accepts high s; verify_signature does not
SELECT tpwallet.ecrecover('\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53',
         '\x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa63627698341627668089e51348fccfb4c7ff31c55912f2d2e47ef09652acf665fad3be1c') AS high_s_twin;
SELECT test.err($$SELECT tpwallet.ecrecover('\x00', '\x00')$$) AS short_digest;
SELECT test.err($$SELECT tpwallet.ecrecover(tpwallet.keccak256(''), '\x0102')$$) AS short_signature;
SELECT test.err(format($$SELECT tpwallet.ecrecover(tpwallet.keccak256(''), %L)$$,
                       '\x' || repeat('11', 64) || '05')) AS bad_v;

-- verification: strict, low-s only
SELECT tpwallet.verify_signature('\x024bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382',
         '\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53',
         '\x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa63627667cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83') AS valid_64,
       tpwallet.verify_signature('\x024bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382',
         '\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e54',
         '\x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa63627667cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83') AS tampered_digest,
       tpwallet.verify_signature('\x024bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382',
         '\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53',
         -- s' = n - s: the same signature with high s (malleated)
         '\x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa63627698341627668089e51348fccfb4c7ff31c55912f2d2e47ef09652acf665fad3be') AS high_s;
SELECT test.err($$SELECT tpwallet.verify_signature('\x024bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382', tpwallet.keccak256(''), '\x01')$$) AS short_sig;
