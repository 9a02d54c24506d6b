-- Ethereum transactions: EIP-155 legacy and EIP-1559, signing and decoding.
\set SHOW_CONTEXT never

-- The worked example of EIP-155, byte for byte (key 0x46 x 32, imported in 11_keys)
SELECT encode(tpwallet.eth_sign_transaction('eip155', '{"nonce": 9, "gasPrice": "20000000000", "gas": 21000,
         "to": "0x3535353535353535353535353535353535353535", "value": "1000000000000000000",
         "data": "0x", "chainId": 1}'), 'hex') AS eip155_example;
-- "from", when given, must be the key's address
SELECT octet_length(tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000,
         "from": "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"}')) > 0 AS right_from;
-- the same with every quantity spelt differently
SELECT tpwallet.eth_sign_transaction('eip155', '{"type": "0x0", "nonce": "0x9", "gasPrice": "0x4a817c800", "gas": "21000",
         "to": "0x3535353535353535353535353535353535353535", "value": "0xde0b6b3a7640000", "chainId": "0x1"}')
     = tpwallet.eth_sign_transaction('eip155', '{"nonce": 9, "gasPrice": 20000000000, "gas": 21000.0,
         "to": "0x3535353535353535353535353535353535353535", "value": 1000000000000000000, "chainId": 1}') AS same_tx;
SELECT jsonb_pretty(tpwallet.eth_decode_transaction(
         '\xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83')) AS decoded;

-- EIP-1559 (type 2 without "type": maxFeePerGas is there), with an access list
SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 31337, "nonce": 0, "maxPriorityFeePerGas": "1000000000",
         "maxFeePerGas": "0x77359400", "gas": 50000, "to": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "value": "1",
         "data": "0xdeadbeef", "accessList": [{"address": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
         "storageKeys": ["0x0000000000000000000000000000000000000000000000000000000000000001"]}]}') AS raw1559 \gset
SELECT get_byte(:'raw1559'::bytea, 0) AS type_byte;
SELECT d - 'hash' - 'signingHash' - 'r' - 's' - 'yParity' - 'v' AS fields, d ->> 'from' AS sender
  FROM tpwallet.eth_decode_transaction(:'raw1559'::bytea) AS d;
-- contract creation (no "to"), and the largest value there is
SELECT d ->> 'to' AS to_, d ->> 'value' AS value, d ->> 'data' AS data
  FROM tpwallet.eth_decode_transaction(tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 1,
         "maxPriorityFeePerGas": 1, "maxFeePerGas": 2, "gas": 100000, "to": null, "data": "0x6000",
         "value": "115792089237316195423570985008687907853269984665640564039457584007913129639935"}')) AS d;
-- a large chain id: legacy v = chainId * 2 + 35 + recovery id, exactly
SELECT d ->> 'chainId' AS chain_id, d ->> 'v' AS v, d ->> 'from' AS sender
  FROM tpwallet.eth_decode_transaction(tpwallet.eth_sign_transaction('eip155', '{"chainId": "18446744073709551617",
         "nonce": 0, "gasPrice": 1, "gas": 21000, "to": "0x3535353535353535353535353535353535353535"}')) AS d;
-- the HSM key signs transactions too; the decoded sender is its address
SELECT (tpwallet.eth_decode_transaction(tpwallet.eth_sign_transaction('hsm-1', '{"chainId": 1, "nonce": 0,
         "maxPriorityFeePerGas": 1, "maxFeePerGas": 2, "gas": 21000, "to": "0x3535353535353535353535353535353535353535"}')) ->> 'from')
       = (SELECT address FROM tpwallet.keys WHERE label = 'hsm-1') AS hsm_sender;
SELECT count(*) AS tx_signatures FROM tpwallet.signatures WHERE purpose = 'eth_transaction';

-- bad input: clear errors, nothing signed
SELECT count(*) AS logs_before FROM tpwallet.signature_log \gset
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 0, "nonce": 0, "gasPrice": 1, "gas": 21000}')$$) AS chain_id_0;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"nonce": 0, "gasPrice": 1, "gas": 21000}')$$) AS no_chain_id;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "value": "-1"}')$$) AS negative_value;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "value": -5}')$$) AS negative_number;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "value": "115792089237316195423570985008687907853269984665640564039457584007913129639936"}')$$) AS value_2_256;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "value": "1.5"}')$$) AS fractional_value;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "value": 0.5}')$$) AS fractional_number;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasprice": 1, "gas": 21000}')$$) AS misspelt_field;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "to": "0x35353535"}')$$) AS short_to;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "to": "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}')$$) AS bad_checksum;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "data": "0x123"}')$$) AS odd_data;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gas": 21000}')$$) AS no_gas_price;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1}')$$) AS no_gas;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "gasPrice": 1, "gas": 21000}')$$) AS no_nonce;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": "18446744073709551616", "gasPrice": 1, "gas": 21000}')$$) AS nonce_over_64_bits;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"type": 1, "chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000}')$$) AS type_1;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"type": 2, "chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000}')$$) AS type2_with_gas_price;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "maxFeePerGas": 1, "maxPriorityFeePerGas": 2, "gas": 21000}')$$) AS tip_above_cap;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "accessList": []}')$$) AS legacy_access_list;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "maxFeePerGas": 2, "maxPriorityFeePerGas": 1, "gas": 21000, "accessList": [{"address": "0x3535353535353535353535353535353535353535", "storageKeys": ["0x01"]}]}')$$) AS short_storage_key;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '[1, 2]')$$) AS not_an_object;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('eip155', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "from": "0x3535353535353535353535353535353535353535"}')$$) AS wrong_from;
SELECT test.err($$SELECT tpwallet.eth_sign_transaction('nope', '{"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000}')$$) AS unknown_key;
SELECT (SELECT count(*) FROM tpwallet.signature_log) = :logs_before AS nothing_signed;

-- decoding is strict
SELECT test.err($$SELECT tpwallet.eth_decode_transaction('\x01c0')$$) AS type_1_tx;
SELECT test.err($$SELECT tpwallet.eth_decode_transaction('\xc0')$$) AS empty_list;
SELECT test.err($$SELECT tpwallet.eth_decode_transaction('\xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d8300')$$) AS trailing_byte;
SELECT test.err($$SELECT tpwallet.eth_decode_transaction('\xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d')$$) AS truncated;
