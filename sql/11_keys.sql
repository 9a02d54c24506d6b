-- The key store: local keys (sealed under the server key), HSM keys
-- (SoftHSM2 in the throwaway cluster), signing, the audit trail, roles.
\set SHOW_CONTEXT never

-- The EIP-155 example key, imported as a local key.
SELECT tpwallet.import_key('eip155', '\x4646464646464646464646464646464646464646464646464646464646464646', 'local') AS address;
SELECT label, backend, encode(public_key, 'hex') AS public_key, address, status, origin
  FROM tpwallet.keys WHERE label = 'eip155';
-- the private key is nowhere in the clear: not in any key-store row, not in the audit log
SELECT position('\x4646464646464646464646464646464646464646464646464646464646464646'::bytea IN s.sealed) AS in_sealed,
       octet_length(s.sealed) AS sealed_bytes
  FROM tpwallet.key_secrets s JOIN tpwallet.signing_keys k ON k.id = s.key_id WHERE k.label = 'eip155';
SELECT count(*) AS rows_mentioning_the_key
  FROM (SELECT to_jsonb(k)::text AS t FROM tpwallet.signing_keys k
        UNION ALL SELECT to_jsonb(a)::text FROM tpwallet.audit_log a
        UNION ALL SELECT to_jsonb(v)::text FROM tpwallet.keys v) x
 WHERE t LIKE '%4646464646464646464646464646464646464646464646464646464646464646%';

-- RFC 6979: the EIP-155 example's signature, byte for byte (v = 27 + recovery id)
SELECT encode(tpwallet.sign_digest('eip155', '\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53'), 'hex') AS sig;
SELECT tpwallet.sign_digest('eip155', tpwallet.keccak256('x')) = tpwallet.sign_digest('eip155', tpwallet.keccak256('x')) AS deterministic;

-- a batch: in input order, each one recovers to the key's address
SELECT cardinality(s) AS n,
       (SELECT bool_and(tpwallet.ecrecover(tpwallet.keccak256(i::text::bytea), s[i]) = '0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F')
          FROM generate_series(1, 100) i) AS all_recover,
       s[7] = tpwallet.sign_digest('eip155', tpwallet.keccak256('7')) AS same_as_single
  FROM (SELECT tpwallet.sign_digests('eip155', array(SELECT tpwallet.keccak256(i::text::bytea) FROM generate_series(1, 100) i)) AS s) t;
SELECT tpwallet.sign_digests('eip155', '{}') AS empty_batch;

-- generated keys: local and in the HSM
SELECT tpwallet.create_key('hot-1', 'local') ~ '^0x[0-9a-fA-F]{40}$' AS local_address;
SELECT tpwallet.create_key('hsm-1') ~ '^0x[0-9a-fA-F]{40}$' AS hsm_address;
SELECT label, backend, origin, status, address = tpwallet.eth_address(public_key) AS address_matches,
       octet_length(public_key_uncompressed) AS uncompressed_len
  FROM tpwallet.keys WHERE label IN ('hot-1', 'hsm-1') ORDER BY label;
SELECT (SELECT count(*) FROM tpwallet.key_secrets s JOIN tpwallet.signing_keys k ON k.id = s.key_id
         WHERE k.label = 'hsm-1') AS hsm_key_secrets,
       (SELECT octet_length(hsm_key_id) FROM tpwallet.signing_keys WHERE label = 'hsm-1') AS cka_id_len;

-- HSM signatures: SoftHSM2 draws random nonces and returns high s about half
-- the time; every signature we return is low-s, recovers and verifies.
WITH d AS (SELECT i, tpwallet.keccak256(('hsm' || i)::bytea) AS digest FROM generate_series(1, 40) i),
     s AS (SELECT d.i, d.digest, tpwallet.sign_digest('hsm-1', d.digest) AS sig FROM d)
SELECT count(*) AS signed,
       bool_and(substring(sig FROM 33 FOR 32) <= '\x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0'::bytea) AS all_low_s,
       bool_and(get_byte(sig, 64) IN (27, 28)) AS v_27_28,
       bool_and(tpwallet.ecrecover(digest, sig) = (SELECT address FROM tpwallet.keys WHERE label = 'hsm-1')) AS all_recover,
       bool_and(tpwallet.verify_signature((SELECT public_key FROM tpwallet.keys WHERE label = 'hsm-1'), digest, sig)) AS all_verify
  FROM s;
SELECT cardinality(tpwallet.sign_digests('hsm-1', array(SELECT tpwallet.keccak256(i::text::bytea) FROM generate_series(1, 20) i))) AS hsm_batch;
-- tamper with one byte: verification fails, recovery names someone else
SELECT tpwallet.verify_signature(k.public_key, tpwallet.keccak256('t'), set_byte(s, 10, get_byte(s, 10) # 1)) AS tampered_sig_verifies,
       tpwallet.ecrecover(tpwallet.keccak256('t'), set_byte(s, 10, get_byte(s, 10) # 1)) IS DISTINCT FROM k.address AS tampered_recovers_other,
       tpwallet.verify_signature(k.public_key, tpwallet.keccak256('u'), s) AS other_digest_verifies
  FROM tpwallet.keys k, LATERAL (SELECT tpwallet.sign_digest('hsm-1', tpwallet.keccak256('t')) AS s) x
 WHERE k.label = 'hsm-1';
-- imported into the HSM: deterministic address, signatures from the HSM
SELECT tpwallet.import_key('eip155-hsm', '\x4646464646464646464646464646464646464646464646464646464646464646', 'pkcs11') AS hsm_imported;
SELECT tpwallet.ecrecover('\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53',
         tpwallet.sign_digest('eip155-hsm', '\xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53')) AS hsm_signer;

-- every signature is in the log, with who signed and what; never the key
SELECT key_label, purpose, count(*) AS signatures
  FROM tpwallet.signatures GROUP BY 1, 2 ORDER BY 1, 2;
SELECT bool_and(signed_by = session_user AND signed_as = current_user) AS who_signed FROM tpwallet.signatures;
SELECT test.err($$UPDATE tpwallet.signature_log SET key_label = 'x'$$) AS update_log;
SELECT test.err($$DELETE FROM tpwallet.signature_log$$) AS delete_log;
SELECT test.err($$TRUNCATE tpwallet.signature_log$$) AS truncate_log;
SELECT test.err($$DELETE FROM tpwallet.signing_keys WHERE label = 'hot-1'$$) AS delete_key;
SELECT test.err($$UPDATE tpwallet.key_secrets SET sealed = sealed$$) AS update_secret;
SELECT test.err($$UPDATE tpwallet.signing_keys SET public_key = public_key, address = lower(address) WHERE label = 'hot-1'$$) AS rewrite_key;
SELECT action, object, detail ->> 'backend' AS backend FROM tpwallet.audit_log
 WHERE action IN ('create_key', 'import_key') ORDER BY id;

-- bad input: a clear SQLSTATE, nothing written
SELECT count(*) AS keys_before FROM tpwallet.signing_keys \gset
SELECT count(*) AS logs_before FROM tpwallet.signature_log \gset
SELECT test.err($$SELECT tpwallet.sign_digest('nope', tpwallet.keccak256(''))$$) AS unknown_key;
SELECT test.err($$SELECT tpwallet.sign_digest('eip155', '\x0102')$$) AS short_digest;
SELECT test.err($$SELECT tpwallet.sign_digests('eip155', ARRAY[tpwallet.keccak256(''), '\x01'::bytea])$$) AS short_digest_in_batch;
SELECT test.err($$SELECT tpwallet.sign_digests('eip155', ARRAY[tpwallet.keccak256(''), NULL])$$) AS null_digest_in_batch;
SELECT test.err($$SELECT tpwallet.create_key('hot-1', 'local')$$) AS duplicate_label;
SELECT test.err($$SELECT tpwallet.create_key('bad label!', 'local')$$) AS bad_label;
SELECT test.err($$SELECT tpwallet.create_key('x', 'yubikey')$$) AS bad_backend;
SELECT test.err($$SELECT tpwallet.import_key('zero', '\x0000000000000000000000000000000000000000000000000000000000000000', 'local')$$) AS zero_key;
SELECT test.err($$SELECT tpwallet.import_key('order', '\xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'local')$$) AS key_equal_to_n;
SELECT test.err($$SELECT tpwallet.import_key('short', '\x4646', 'local')$$) AS short_key;
SELECT (SELECT count(*) FROM tpwallet.signing_keys) = :keys_before AS no_key_written,
       (SELECT count(*) FROM tpwallet.signature_log) = :logs_before AS no_signature_logged;

-- status: disabled keys do not sign; retired is final
SELECT tpwallet.set_key_status('hot-1', 'disabled');
SELECT test.err($$SELECT tpwallet.sign_digest('hot-1', tpwallet.keccak256(''))$$) AS disabled_signs;
SELECT tpwallet.set_key_status('hot-1', 'active');
SELECT octet_length(tpwallet.sign_digest('hot-1', tpwallet.keccak256(''))) AS active_signs;
SELECT tpwallet.set_key_status('hot-1', 'retired');
SELECT test.err($$SELECT tpwallet.set_key_status('hot-1', 'active')$$) AS unretire;
SELECT test.err($$SELECT tpwallet.set_key_status('hot-1', 'lost')$$) AS bad_status;
SELECT test.err($$SELECT tpwallet.set_key_status('nope', 'disabled')$$) AS unknown_status_key;

-- roles: only tpwallet_signer signs; admins manage keys; nobody reads sealed keys
CREATE ROLE regress_tpw_signer;
CREATE ROLE regress_tpw_keyadmin;
CREATE ROLE regress_tpw_auditor2;
GRANT tpwallet_signer TO regress_tpw_signer;
GRANT tpwallet_admin TO regress_tpw_keyadmin;
GRANT tpwallet_auditor TO regress_tpw_auditor2;
SET ROLE regress_tpw_signer;
SELECT octet_length(tpwallet.sign_digest('eip155', tpwallet.keccak256('r'))) AS signer_signs;
SELECT count(*) > 0 AS signer_sees_keys FROM tpwallet.keys;
SELECT test.err($$SELECT tpwallet.create_key('by-signer', 'local')$$) AS signer_creates;
SELECT test.err($$SELECT * FROM tpwallet.key_secrets$$) AS signer_reads_secrets;
SELECT test.err($$SELECT * FROM tpwallet.signing_keys$$) AS signer_reads_table;
RESET ROLE;
SELECT signed_as FROM tpwallet.signatures ORDER BY log_id DESC LIMIT 1;
SET ROLE regress_tpw_keyadmin;
SELECT tpwallet.create_key('by-admin', 'local') IS NOT NULL AS admin_creates;
SELECT test.err($$SELECT tpwallet.sign_digest('by-admin', tpwallet.keccak256(''))$$) AS admin_signs;
RESET ROLE;
SET ROLE regress_tpw_auditor2;
SELECT count(*) > 0 AS auditor_reads_log FROM tpwallet.signature_log;
SELECT test.err($$SELECT * FROM tpwallet.key_secrets$$) AS auditor_reads_secrets;
RESET ROLE;
CREATE ROLE regress_tpw_keyless;
SET ROLE regress_tpw_keyless;
SELECT test.err($$SELECT tpwallet.sign_digest('eip155', tpwallet.keccak256(''))$$) AS nobody_signs;
RESET ROLE;
-- the key-store GUCs are superuser-only: a non-superuser cannot even read them
SET ROLE regress_tpw_signer;
SELECT test.err($$SHOW tpwallet.key_file$$) AS show_key_file;
SELECT test.err($$SHOW tpwallet.pkcs11_pin_file$$) AS show_pin_file;
SELECT count(*) AS visible_settings FROM pg_settings WHERE name IN ('tpwallet.key_file', 'tpwallet.pkcs11_pin_file');
RESET ROLE;
DROP OWNED BY regress_tpw_signer, regress_tpw_keyadmin, regress_tpw_auditor2, regress_tpw_keyless;
DROP ROLE regress_tpw_signer, regress_tpw_keyadmin, regress_tpw_auditor2, regress_tpw_keyless;
