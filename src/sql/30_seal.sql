-- ===================================================================
-- Tamper evidence: seals, verification, inclusion proofs.
-- ===================================================================

CREATE FUNCTION tpwallet.seal()
RETURNS bigint
AS 'MODULE_PATHNAME', 'tpwallet_seal'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;
COMMENT ON FUNCTION tpwallet.seal() IS
	'Seal every committed, unsealed journal entry into a new block per book; returns the number sealed.';

CREATE FUNCTION tpwallet.verify_ledger()
RETURNS TABLE (book text, ok boolean, first_bad_entry bigint, first_bad_block bigint, detail text)
AS 'MODULE_PATHNAME', 'tpwallet_verify_ledger'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.prove_entry(entry_id bigint)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'tpwallet_prove_entry'
LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE FUNCTION tpwallet.verify_proof(proof jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'tpwallet_verify_proof'
LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, tpwallet;

CREATE VIEW tpwallet.blocks AS
SELECT s.block_id, s.book, s.height, s.entry_count, s.first_entry, s.last_entry,
       encode(s.merkle_root, 'hex') AS merkle_root, encode(s.prev_hash, 'hex') AS prev_hash,
       encode(s.block_hash, 'hex') AS block_hash, s.floor_entry, s.sealed_at
  FROM tpwallet.seals s;
