-- Sealing, verification, inclusion proofs, tamper evidence.
\set SHOW_CONTEXT never
SELECT tpwallet.seal() > 0 AS sealed;
SELECT tpwallet.seal() AS nothing_new;
SELECT book, ok, first_bad_entry, first_bad_block FROM tpwallet.verify_ledger();
SELECT count(*) = (SELECT count(*) FROM tpwallet.journal) AS all_sealed FROM tpwallet.block_members;
-- gl entries get their own chain
SELECT tpwallet.post_entry('gl', '[{"account": "gl:cash:USD", "side": "debit", "amount": "1000"},
                                   {"account": "gl:customer_liab:USD", "side": "credit", "amount": "1000"}]') AS g1 \gset
SELECT tpwallet.seal();
SELECT book, height, entry_count, prev_hash = repeat('0', 64) AS genesis FROM tpwallet.blocks ORDER BY book, height;
-- proofs
SELECT tpwallet.prove_entry(:g1) AS proof \gset
SELECT (:'proof'::jsonb) ->> 'entry_id' = :'g1' AS right_entry, (:'proof'::jsonb) -> 'block' ->> 'book' AS book;
SELECT tpwallet.verify_proof(:'proof');
SELECT tpwallet.verify_proof(tpwallet.prove_entry(id)) AS every_proof_ok, count(*) FROM tpwallet.journal GROUP BY 1;
-- a forged proof fails
SELECT tpwallet.verify_proof(jsonb_set(:'proof'::jsonb, '{entry_hash}', to_jsonb(repeat('ab', 32))));
SELECT tpwallet.verify_proof(jsonb_set(:'proof'::jsonb, '{block,sealed_at_us}', '1'));
SELECT test.err($$SELECT tpwallet.verify_proof('{"version": 1}')$$);
SELECT test.err($$SELECT tpwallet.verify_proof('{"version": 2}')$$);
-- not sealed yet / unknown
SELECT tpwallet.transfer('world:USD', 'alice:USD', 1) AS fresh \gset
SELECT test.err(format('SELECT tpwallet.prove_entry(%s)', :fresh));
SELECT test.err($$SELECT tpwallet.prove_entry(999999)$$);
SELECT tpwallet.seal();

-- the guard: no UPDATE/DELETE/TRUNCATE, even in replica mode
SELECT test.err($$UPDATE tpwallet.postings SET amount = amount$$);
SELECT test.err($$DELETE FROM tpwallet.journal$$);
SELECT test.err($$TRUNCATE tpwallet.seals$$);
SELECT test.err($$DELETE FROM tpwallet.accounts$$);
SET session_replication_role = replica;
SELECT test.err($$UPDATE tpwallet.journal SET reference = 'x'$$);
RESET session_replication_role;

-- tamper as a superuser who bypasses the guard: verify names the entry
ALTER TABLE tpwallet.postings DISABLE TRIGGER tpwallet_guard_change;
UPDATE tpwallet.postings SET amount = amount + 1 WHERE entry_id = :g1 AND amount > 0;
UPDATE tpwallet.postings SET amount = amount - 1 WHERE entry_id = :g1 AND amount < 0;
ALTER TABLE tpwallet.postings ENABLE ALWAYS TRIGGER tpwallet_guard_change;
SELECT book, ok, first_bad_entry = :g1 AS names_entry, detail FROM tpwallet.verify_ledger() WHERE book = 'gl';
SELECT book, ok FROM tpwallet.verify_ledger() WHERE book = 'ops';
SELECT * FROM tpwallet.check_balances();
-- undo the tampering (again behind the guard's back): the ledger verifies again
ALTER TABLE tpwallet.postings DISABLE TRIGGER tpwallet_guard_change;
UPDATE tpwallet.postings SET amount = amount - 1 WHERE entry_id = :g1 AND amount > 0;
UPDATE tpwallet.postings SET amount = amount + 1 WHERE entry_id = :g1 AND amount < 0;
ALTER TABLE tpwallet.postings ENABLE ALWAYS TRIGGER tpwallet_guard_change;
SELECT book, ok FROM tpwallet.verify_ledger();
-- a changed stored hash breaks the block's Merkle root
SELECT encode(hash, 'hex') AS old_hash FROM tpwallet.journal WHERE id = :g1 \gset
ALTER TABLE tpwallet.journal DISABLE TRIGGER tpwallet_guard_change;
UPDATE tpwallet.journal SET hash = sha256(hash) WHERE id = :g1;
ALTER TABLE tpwallet.journal ENABLE ALWAYS TRIGGER tpwallet_guard_change;
SELECT book, ok, first_bad_entry = :g1 AS names_entry, first_bad_block IS NOT NULL AS names_block
  FROM tpwallet.verify_ledger() WHERE book = 'gl';
ALTER TABLE tpwallet.journal DISABLE TRIGGER tpwallet_guard_change;
UPDATE tpwallet.journal SET hash = decode(:'old_hash', 'hex') WHERE id = :g1;
ALTER TABLE tpwallet.journal ENABLE ALWAYS TRIGGER tpwallet_guard_change;
SELECT book, ok FROM tpwallet.verify_ledger();
-- a forged extra member of the last block is noticed too
INSERT INTO tpwallet.block_members (entry_id, block_id, leaf_index)
SELECT 999999, max(block_id), 99 FROM tpwallet.seals WHERE book = 'gl';
SELECT book, ok, first_bad_block IS NOT NULL AS names_block, detail FROM tpwallet.verify_ledger() WHERE book = 'gl';
ALTER TABLE tpwallet.block_members DISABLE TRIGGER tpwallet_guard_change;
DELETE FROM tpwallet.block_members WHERE entry_id = 999999;
ALTER TABLE tpwallet.block_members ENABLE ALWAYS TRIGGER tpwallet_guard_change;
SELECT book, ok FROM tpwallet.verify_ledger();
