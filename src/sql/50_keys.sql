-- ===================================================================
-- Keys and signing: pure primitives (keccak-256, RLP, addresses,
-- recovery), the key store, signing, Ethereum transactions.
-- ===================================================================

-- ---------------------------------------------------------------- primitives
-- Pure functions: no table, no key; anyone with USAGE on the schema may call them.

CREATE FUNCTION tpwallet.keccak256(data bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_keccak256'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.keccak256 IS
	'Keccak-256 as Ethereum uses it (original padding, not NIST SHA3-256).';

CREATE FUNCTION tpwallet.rlp_encode(value jsonb)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_rlp_encode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.rlp_encode IS
	'RLP of a jsonb value: arrays are lists, "0x.." strings bytes, other strings UTF-8, non-negative integers minimal big-endian.';

CREATE FUNCTION tpwallet.rlp_decode(data bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'tpwallet_rlp_decode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.rlp_decode IS
	'Strict RLP decoding (canonical only, no trailing bytes): lists as arrays, byte strings as "0x" hex.';

CREATE FUNCTION tpwallet.eth_address(pubkey bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'tpwallet_eth_address'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.eth_address IS
	'EIP-55 checksummed address of a secp256k1 public key (33, 64 or 65 bytes).';

CREATE FUNCTION tpwallet.ecrecover(digest bytea, signature bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'tpwallet_ecrecover'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.ecrecover IS
	'Address that signed a 32-byte digest (65-byte r || s || v, v = 0/1 or 27/28); NULL if none recovers.';

CREATE FUNCTION tpwallet.verify_signature(pubkey bytea, digest bytea, signature bytea)
RETURNS boolean
AS 'MODULE_PATHNAME', 'tpwallet_verify_signature'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.verify_signature IS
	'Strict ECDSA verification (low-s only, as Ethereum requires) of r || s or r || s || v.';

-- ---------------------------------------------------------------- key store

-- One row per key.  Public data only: a 'local' key's private scalar is in
-- key_secrets, sealed (AES-256-GCM) under the server key; a 'pkcs11' key's
-- is inside the HSM, found by its CKA_ID.  Keys are never deleted.
CREATE TABLE tpwallet.signing_keys (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	label       text NOT NULL UNIQUE CHECK (label ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
	backend     text NOT NULL CHECK (backend IN ('local', 'pkcs11')),
	public_key  bytea NOT NULL CHECK (octet_length(public_key) = 33),
	address     text NOT NULL CHECK (address ~ '^0x[0-9A-Fa-f]{40}$'),
	hsm_key_id  bytea CHECK ((backend = 'pkcs11') = (hsm_key_id IS NOT NULL)),
	origin      text NOT NULL CHECK (origin IN ('generated', 'imported')),
	status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'retired')),
	created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
	created_by  text NOT NULL DEFAULT session_user
);

CREATE TABLE tpwallet.key_secrets (
	key_id  bigint PRIMARY KEY REFERENCES tpwallet.signing_keys (id),
	sealed  bytea NOT NULL
);

-- Only the status of a key may change.
CREATE FUNCTION tpwallet._refuse_key_change()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF (NEW.id, NEW.label, NEW.backend, NEW.public_key, NEW.address, NEW.hsm_key_id, NEW.origin,
	    NEW.created_at, NEW.created_by)
	   IS DISTINCT FROM (OLD.id, OLD.label, OLD.backend, OLD.public_key, OLD.address, OLD.hsm_key_id,
	    OLD.origin, OLD.created_at, OLD.created_by) THEN
		RAISE EXCEPTION USING ERRCODE = 'TW009',
			MESSAGE = format('key %s cannot change anything but its status', OLD.label),
			HINT = 'Create a new key with another label.';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER tpwallet_guard_identity BEFORE UPDATE ON tpwallet.signing_keys
	FOR EACH ROW EXECUTE FUNCTION tpwallet._refuse_key_change();
ALTER TABLE tpwallet.signing_keys ENABLE ALWAYS TRIGGER tpwallet_guard_identity;

CREATE FUNCTION tpwallet._pubkey_uncompressed(pubkey bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_pubkey_uncompressed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- What anyone allowed to see keys sees: never private material.
CREATE VIEW tpwallet.keys AS
SELECT k.label, k.backend, k.public_key,
       tpwallet._pubkey_uncompressed(k.public_key) AS public_key_uncompressed,
       substring(k.public_key FROM 2) AS xonly_public_key,
       k.address, k.created_at AS created, k.status, k.origin, k.created_by
  FROM tpwallet.signing_keys k;

-- Every signature, one row per call (a batch is one row); see tpwallet.signatures.
CREATE TABLE tpwallet.signature_log (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at          timestamptz NOT NULL DEFAULT clock_timestamp(),
	key_id      bigint NOT NULL REFERENCES tpwallet.signing_keys (id),
	key_label   text NOT NULL,
	purpose     text NOT NULL,
	digests     bytea[] NOT NULL,
	signatures  bytea[] NOT NULL CHECK (cardinality(signatures) = cardinality(digests)),
	signed_by   text NOT NULL DEFAULT session_user,
	signed_as   text NOT NULL
);
CREATE INDEX signature_log_key ON tpwallet.signature_log (key_id, at);

-- One row per signature.
CREATE VIEW tpwallet.signatures AS
SELECT l.id AS log_id, l.at, l.key_label, l.purpose, d.digest, d.signature, d.n AS position,
       l.signed_by, l.signed_as
  FROM tpwallet.signature_log l,
       LATERAL unnest(l.digests, l.signatures) WITH ORDINALITY AS d (digest, signature, n);

CREATE FUNCTION tpwallet.create_key(label text, backend text DEFAULT 'pkcs11')
RETURNS text
AS 'MODULE_PATHNAME', 'tpwallet_create_key'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.create_key IS
	'New secp256k1 key: in the HSM (pkcs11, non-extractable) or sealed under the server key (local). Returns its address.';

CREATE FUNCTION tpwallet.import_key(label text, private_key bytea, backend text DEFAULT 'local')
RETURNS text
AS 'MODULE_PATHNAME', 'tpwallet_import_key'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.import_key IS
	'Import a 32-byte private key (key ceremonies, test vectors) into the HSM or the local store. Returns its address.';

CREATE FUNCTION tpwallet.set_key_status(label text, status text)
RETURNS void
AS 'MODULE_PATHNAME', 'tpwallet_set_key_status'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.sign_digest(label text, digest bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_sign_digest'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.sign_digest IS
	'65-byte r || s || v signature (low-s, v = 27 + recovery id) of a 32-byte digest; recorded in signature_log.';

CREATE FUNCTION tpwallet.sign_digests(label text, digests bytea[])
RETURNS bytea[]
AS 'MODULE_PATHNAME', 'tpwallet_sign_digests'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.sign_digests IS
	'sign_digest for a whole batch in one call, in input order.';


-- Append-only: the signature log never changes; keys and their sealed
-- secrets are never removed (signing_keys changes only its status).
SELECT tpwallet._guard('signature_log'), tpwallet._guard('key_secrets'), tpwallet._guard('signing_keys', 'DELETE');

-- ---------------------------------------------------------------- Ethereum transactions

CREATE FUNCTION tpwallet.eth_sign_transaction(label text, tx jsonb)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_eth_sign_transaction'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.eth_sign_transaction IS
	'Signed raw transaction (for eth_sendRawTransaction): legacy with EIP-155, or EIP-1559 (type 2).';

CREATE FUNCTION tpwallet.eth_decode_transaction(raw bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'tpwallet_eth_decode_transaction'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.eth_decode_transaction IS
	'Fields, hash and recovered sender of a signed raw transaction.';
