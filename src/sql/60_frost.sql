-- ===================================================================
-- Threshold signatures: FROST(secp256k1, SHA-256), RFC 9591.
-- Pure functions for the RFC's flow and remote participants; shares held
-- here, sealed like local keys, with nonces used exactly once.
-- ===================================================================

CREATE FUNCTION tpwallet.frost_keygen(min_signers int, max_signers int, secret bytea DEFAULT NULL,
                                      coefficients bytea[] DEFAULT NULL)
RETURNS TABLE (identifier int, signing_share bytea, verifying_share bytea, group_public_key bytea)
AS 'MODULE_PATHNAME', 'tpwallet_frost_keygen'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION tpwallet.frost_keygen IS
	'Trusted-dealer key generation (RFC 9591 appendix C); random when secret and coefficients are NULL.';

CREATE FUNCTION tpwallet.frost_nonce(signing_share bytea, random bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_frost_nonce'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.frost_nonce IS 'RFC 9591 nonce_generate: H3(random || signing_share).';

CREATE FUNCTION tpwallet.frost_commitment(identifier int, hiding_nonce bytea, binding_nonce bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'tpwallet_frost_commitment'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.frost_commitment IS
	'Round one for a participant holding its own nonces: {"identifier", "hiding", "binding"} (nonce * G).';

CREATE FUNCTION tpwallet.frost_sign_share(identifier int, signing_share bytea, group_public_key bytea,
                                          hiding_nonce bytea, binding_nonce bytea, message bytea,
                                          commitments jsonb)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_frost_sign_share'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.frost_sign_share IS
	'Round two of RFC 9591 for a participant whose share and nonces the caller holds: the 32-byte signature share.';

CREATE FUNCTION tpwallet.frost_aggregate(group_public_key bytea, message bytea, commitments jsonb,
                                         signature_shares jsonb)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_frost_aggregate'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tpwallet.frost_aggregate IS
	'R || z (65 bytes); checks every share against its "verifying_share" when given and names a cheating signer.';

CREATE FUNCTION tpwallet.frost_verify(group_public_key bytea, message bytea, signature bytea)
RETURNS boolean
AS 'MODULE_PATHNAME', 'tpwallet_frost_verify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Shares held by this database (one participant each).
CREATE TABLE tpwallet.frost_shares (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	label             text NOT NULL UNIQUE CHECK (label ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
	identifier        int NOT NULL CHECK (identifier BETWEEN 1 AND 255),
	group_public_key  bytea NOT NULL CHECK (octet_length(group_public_key) = 33),
	verifying_share   bytea NOT NULL CHECK (octet_length(verifying_share) = 33),
	sealed            bytea NOT NULL,
	created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
	created_by        text NOT NULL DEFAULT session_user
);

-- Round-one nonces, sealed, until round two takes them (and deletes them).
CREATE SEQUENCE tpwallet.frost_nonces_commitment_id_seq AS bigint;
CREATE TABLE tpwallet.frost_nonces (
	commitment_id  bigint PRIMARY KEY,
	share_id       bigint NOT NULL REFERENCES tpwallet.frost_shares (id),
	hiding         bytea NOT NULL,
	binding        bytea NOT NULL,
	sealed         bytea NOT NULL,
	created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Every use of a commitment; the primary key is what makes a second use impossible.
CREATE TABLE tpwallet.frost_nonce_uses (
	commitment_id  bigint PRIMARY KEY,
	share_id       bigint NOT NULL REFERENCES tpwallet.frost_shares (id),
	message_hash   bytea NOT NULL,   -- keccak-256 of the signed message
	used_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
	used_by        text NOT NULL DEFAULT session_user
);

CREATE VIEW tpwallet.frost_participants AS
SELECT s.label, s.identifier, s.group_public_key, s.verifying_share, s.created_at AS created,
       (SELECT count(*) FROM tpwallet.frost_nonces n WHERE n.share_id = s.id) AS open_commitments,
       (SELECT count(*) FROM tpwallet.frost_nonce_uses u WHERE u.share_id = s.id) AS signatures
  FROM tpwallet.frost_shares s;

CREATE FUNCTION tpwallet.frost_import_share(label text, identifier int, signing_share bytea,
                                            group_public_key bytea)
RETURNS bigint
AS 'MODULE_PATHNAME', 'tpwallet_frost_import_share'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.frost_commit(label text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'tpwallet_frost_commit'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.frost_commit IS
	'Round one: fresh nonces, stored sealed; returns {"commitment_id", "identifier", "hiding", "binding", "verifying_share"}.';

CREATE FUNCTION tpwallet.frost_sign(label text, commitment_id bigint, message bytea, commitments jsonb)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_frost_sign'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.frost_sign IS
	'Round two: the signature share, using the commitment''s nonces exactly once.';

-- The coordinator for shares held here: commit, sign and aggregate in one
-- call, m of n.  (With participants in other databases, the coordinator
-- runs the same three steps over the network: see docs/threshold.md.)
CREATE FUNCTION tpwallet.frost_sign_with(labels text[], message bytea)
RETURNS bytea
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	commitments jsonb := '[]';
	shares jsonb := '[]';
	c jsonb;
	gpk bytea;
	l text;
BEGIN
	IF cardinality(labels) < 2 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a threshold signature needs at least two participants';
	END IF;
	IF (SELECT count(DISTINCT s.group_public_key) FROM tpwallet.frost_shares s WHERE s.label = ANY (labels)) > 1 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'these shares belong to different group keys';
	END IF;
	FOREACH l IN ARRAY labels LOOP
		c := tpwallet.frost_commit(l);
		commitments := commitments || jsonb_build_array(c - 'commitment_id');
		shares := shares || jsonb_build_array(jsonb_build_object('label', l, 'commitment_id', c -> 'commitment_id',
		                                                          'identifier', c -> 'identifier'));
	END LOOP;
	SELECT s.group_public_key INTO gpk FROM tpwallet.frost_shares s WHERE s.label = labels[1];
	RETURN tpwallet.frost_aggregate(gpk, message, commitments,
		(SELECT jsonb_agg(jsonb_build_object('identifier', x -> 'identifier',
		        'share', '0x' || encode(tpwallet.frost_sign(x ->> 'label', (x ->> 'commitment_id')::bigint,
		                                                    message, commitments), 'hex')))
		   FROM jsonb_array_elements(shares) x));
END
$$;
COMMENT ON FUNCTION tpwallet.frost_sign_with IS
	'Coordinator for shares held in this database: one FROST signature (R || z) from the named participants.';

SELECT tpwallet._guard('frost_nonce_uses'), tpwallet._guard('frost_shares');

-- ---------------------------------------------------------------- BIP-340
CREATE FUNCTION tpwallet.schnorr_sign(label text, message bytea, aux_rand bytea DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'tpwallet_schnorr_sign'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.schnorr_sign IS
	'BIP-340 signature (64 bytes) with a local key; aux_rand NULL means fresh randomness.';

CREATE FUNCTION tpwallet.schnorr_sign_batch(label text, messages bytea[])
RETURNS bytea[]
AS 'MODULE_PATHNAME', 'tpwallet_schnorr_sign_batch'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.schnorr_sign_batch IS
	'schnorr_sign for many messages in one call (fresh aux_rand for each), in input order.';

CREATE FUNCTION tpwallet.schnorr_verify(xonly_pubkey bytea, message bytea, signature bytea)
RETURNS boolean
AS 'MODULE_PATHNAME', 'tpwallet_schnorr_verify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
