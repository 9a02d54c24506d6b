#!/usr/bin/env bash
# Tamper evidence: a superuser who gets past the append-only guards changes
# sealed data in several ways; verify_ledger() must name what changed.  And
# the guards themselves: nobody but a superuser gets past them.
source "$(dirname "$0")/lib.sh"

cluster_up
DB=tpw_scn_tamper
fresh_db "$DB" || bail "fresh database $DB"

# ------------------------------------------------------------ a small ledger
# ops book: 8 transfers in two blocks; gl book: 3 entries in one block.
# (one statement per q call: psql -c runs a multi-statement string as one
# transaction, and a block's floor only moves on across transactions)
for sql in \
	"SELECT tpwallet.create_asset('USD', 2, 'fiat')" \
	"SELECT tpwallet.create_account('world', 'ops', 'USD', 'debit', true)" \
	"SELECT tpwallet.create_account('alice', 'ops', 'USD', 'credit')" \
	"SELECT tpwallet.create_account('bob', 'ops', 'USD', 'credit')" \
	"SELECT tpwallet.create_account('gl:cash', 'gl', 'USD', 'debit', true)" \
	"SELECT tpwallet.create_account('gl:equity', 'gl', 'USD', 'credit', true)" \
	"SELECT tpwallet.transfer('world', 'alice', 100 + i, reference => 'fund-' || i) FROM generate_series(1, 4) i" \
	"SELECT tpwallet.post_entry('gl', jsonb_build_array(
	   jsonb_build_object('account', 'gl:cash', 'side', 'debit', 'amount', (10 * i)::text),
	   jsonb_build_object('account', 'gl:equity', 'side', 'credit', 'amount', (10 * i)::text)),
	   reference => 'gl-' || i) FROM generate_series(1, 3) i" \
	"SELECT tpwallet.seal()" \
	"SELECT tpwallet.transfer('alice', 'bob', 1.25 * i, idempotency_key => 'ab-' || i) FROM generate_series(1, 4) i" \
	"SELECT tpwallet.seal()"; do
	q "$DB" "$sql" >/dev/null || bail "ledger set up: $sql"
done

# An independent implementation of the documented entry hash v1 (canon.c),
# for entries whose metadata is {}: the auditor's view, without tpwallet.
q "$DB" "
CREATE SCHEMA tpw_test;
CREATE FUNCTION tpw_test.ct(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS \$\$
	SELECT CASE WHEN t IS NULL THEN '\\x00'::bytea
	       ELSE '\\x01'::bytea || int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') END \$\$;
CREATE FUNCTION tpw_test.ci(v bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS \$\$
	SELECT CASE WHEN v IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int8send(v) END \$\$;
CREATE FUNCTION tpw_test.cts(t timestamptz) RETURNS bytea LANGUAGE sql IMMUTABLE AS \$\$
	SELECT int8send((extract(epoch FROM t) * 1000000)::bigint) \$\$;
CREATE FUNCTION tpw_test.entry_hash(entry bigint) RETURNS bytea LANGUAGE sql STABLE AS \$\$
	SELECT sha256(convert_to('TPW-ENTRY-v1', 'UTF8') || int8send(j.id) || tpw_test.ct(j.book)
	       || tpw_test.ct(j.kind) || tpw_test.cts(j.occurred_at) || tpw_test.cts(j.created_at)
	       || tpw_test.ct(j.created_by) || tpw_test.ct(j.reference) || tpw_test.ct(j.idempotency_key)
	       || tpw_test.ci(j.reverses) || tpw_test.ci(j.hold_id)
	       || CASE WHEN j.metadata = '{}' THEN 'o'::bytea || int4send(0) END
	       || int4send((SELECT count(*)::int FROM tpwallet.postings p WHERE p.entry_id = j.id))
	       || coalesce((SELECT string_agg(int8send(p.account_id) || tpw_test.ct(p.amount::text), ''::bytea
	                                      ORDER BY p.leg)
	                      FROM tpwallet.postings p WHERE p.entry_id = j.id), ''::bytea))
	  FROM tpwallet.journal j WHERE j.id = entry \$\$;
" >/dev/null || bail "hash helper functions"

check_invariants "$DB" "untouched ledger"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.seals WHERE book = 'ops'")" 2 "the ops book has two blocks"
is "$(q "$DB" "SELECT count(*) || '/' || count(*) FILTER (WHERE hash = tpw_test.entry_hash(id)) FROM tpwallet.journal")" \
	"11/11" "every stored entry hash matches an independent implementation of the documented encoding"

# The victim: the second transfer of the second ops block (not its first
# entry, so "first bad" means something), and that block.
E=$(q "$DB" "SELECT min(id) FROM tpwallet.journal WHERE idempotency_key = 'ab-2'")
B=$(q "$DB" "SELECT block_id FROM tpwallet.block_members WHERE entry_id = $E")
G=$(q "$DB" "SELECT id FROM tpwallet.journal WHERE reference = 'gl-2'")
note "victim entry $E in block $B, gl victim $G"
q "$DB" "CREATE TABLE tpw_test.saved_postings AS SELECT * FROM tpwallet.postings WHERE entry_id IN ($E, $G)" >/dev/null

# tamper TABLE SQL: run SQL with TABLE's guard disabled, as a superuser would.
tamper() {
	local t=$1; shift
	q "$DB" "ALTER TABLE tpwallet.$t DISABLE TRIGGER tpwallet_guard_change" \
		&& q "$DB" "$*" >/dev/null
	local rc=$?
	q "$DB" "ALTER TABLE tpwallet.$t ENABLE ALWAYS TRIGGER tpwallet_guard_change"
	return $rc
}
vrow() { q "$DB" "SELECT ok || '|' || coalesce(first_bad_entry::text, '') || '|' || coalesce(first_bad_block::text, '') FROM tpwallet.verify_ledger() WHERE book = '$1'"; }
vdetail() { q "$DB" "SELECT detail FROM tpwallet.verify_ledger() WHERE book = '$1'"; }
verify_clean() { is "$(vrow ops)/$(vrow gl)" "true||/true||" "$1: verify_ledger() is ok again once the change is undone"; }

# Postings of E and G as they were, to put them back exactly (numeric
# arithmetic would change their scale, and with it their text and hash).
restore_postings() {
	tamper postings "UPDATE tpwallet.postings p SET amount = o.amount
	                   FROM tpw_test.saved_postings o WHERE o.entry_id = p.entry_id AND o.leg = p.leg
	                    AND p.amount::text <> o.amount::text"
}

# ---- case 1: one posting's amount (the entry no longer balances)
ok "case 1: superuser changes one posting amount of entry $E" \
	tamper postings "UPDATE tpwallet.postings SET amount = amount * 2 WHERE entry_id = $E AND leg = 1"
is "$(vrow ops)" "false|$E|" "case 1: verify_ledger() flags ops with first_bad_entry = $E"
like "$(vdetail ops)" "entry $E does not balance" "case 1: detail says the entry does not balance"
is "$(vrow gl)" "true||" "case 1: the gl book still verifies"
restore_postings
verify_clean "case 1"

# ---- case 1b: both legs, consistently (still balanced; the hash catches it)
ok "case 1b: superuser scales both postings of entry $E" \
	tamper postings "UPDATE tpwallet.postings SET amount = amount * 3 WHERE entry_id = $E"
is "$(vrow ops)" "false|$E|" "case 1b: first_bad_entry = $E"
like "$(vdetail ops)" "entry $E does not match its hash" "case 1b: detail says the hash does not match"
restore_postings
verify_clean "case 1b"

# ---- case 1c: same in the gl book; ops unaffected
ok "case 1c: superuser changes a gl posting of entry $G" \
	tamper postings "UPDATE tpwallet.postings SET amount = amount + 1 WHERE entry_id = $G AND leg = 2"
is "$(vrow gl)/$(vrow ops)" "false|$G|/true||" "case 1c: gl flags entry $G, ops still verifies"
restore_postings
verify_clean "case 1c"

# ---- case 2: a journal column (metadata-level change)
REF=$(q "$DB" "SELECT coalesce(reference, '<null>') FROM tpwallet.journal WHERE id = $E")
ok "case 2: superuser changes the reference of entry $E" \
	tamper journal "UPDATE tpwallet.journal SET reference = 'forged' WHERE id = $E"
is "$(vrow ops)" "false|$E|" "case 2: first_bad_entry = $E"
like "$(vdetail ops)" "entry $E does not match its hash" "case 2: detail says the hash does not match"
tamper journal "UPDATE tpwallet.journal SET reference = NULLIF('$REF', '<null>') WHERE id = $E"
verify_clean "case 2"

# ---- case 3: a journal column and its hash (to some other value)
HASH=$(q "$DB" "SELECT encode(hash, 'hex') FROM tpwallet.journal WHERE id = $E")
ok "case 3: superuser changes reference and hash of entry $E" \
	tamper journal "UPDATE tpwallet.journal SET reference = 'forged', hash = sha256('forged') WHERE id = $E"
is "$(vrow ops)" "false|$E|$B" "case 3: verify_ledger() names entry $E and block $B"
tamper journal "UPDATE tpwallet.journal SET reference = NULLIF('$REF', '<null>'), hash = decode('$HASH', 'hex') WHERE id = $E"
verify_clean "case 3"

# ---- case 3b: a journal column and a correctly recomputed hash: the entry
# is self-consistent, only the block's Merkle root can tell
ok "case 3b: superuser changes reference and recomputes the hash of entry $E" \
	tamper journal "UPDATE tpwallet.journal SET reference = 'forged' WHERE id = $E;
	                UPDATE tpwallet.journal SET hash = tpw_test.entry_hash(id) WHERE id = $E"
is "$(q "$DB" "SELECT hash = tpw_test.entry_hash(id) AND hash <> decode('$HASH', 'hex') FROM tpwallet.journal WHERE id = $E")" t \
	"case 3b: the forged entry carries a valid, new hash"
is "$(vrow ops)" "false||$B" "case 3b: verify_ledger() names block $B (Merkle root), no entry"
like "$(vdetail ops)" "Merkle root" "case 3b: detail names the Merkle root"
tamper journal "UPDATE tpwallet.journal SET reference = NULLIF('$REF', '<null>'), hash = decode('$HASH', 'hex') WHERE id = $E"
verify_clean "case 3b"

# ---- case 4: a block_members row
LEAF=$(q "$DB" "SELECT leaf_index FROM tpwallet.block_members WHERE entry_id = $E")
ok "case 4: superuser deletes the block_members row of entry $E" \
	tamper block_members "DELETE FROM tpwallet.block_members WHERE entry_id = $E"
got=$(vrow ops)
like "$got" "^false\|[0-9]*\|$B\$" "case 4: verify_ledger() names block $B"
tamper block_members "INSERT INTO tpwallet.block_members (entry_id, block_id, leaf_index) VALUES ($E, $B, $LEAF)"
verify_clean "case 4"

# ---- case 5: an entry inserted below the sealed floor (valid hash, balanced)
FLOOR=$(q "$DB" "SELECT max(floor_entry) FROM tpwallet.seals WHERE book = 'ops'")
cmp_ok "$FLOOR" -ge 1 "case 5: the ops book has a sealed floor ($FLOOR)"
q "$DB" "ALTER TABLE tpwallet.journal DROP CONSTRAINT journal_id_check" >/dev/null
ok "case 5: superuser drops the id CHECK and inserts a forged, balanced entry -5 with a valid hash" \
	tamper journal "
	INSERT INTO tpwallet.journal (id, book, kind, occurred_at, created_at, created_by, metadata, hash_version, hash)
	  SELECT -5, book, kind, occurred_at, created_at, created_by, '{}', 1, '\\x00' FROM tpwallet.journal WHERE id = $E;
	INSERT INTO tpwallet.postings (entry_id, leg, account_id, amount, occurred_at)
	  SELECT -5, leg, account_id, amount * 1000, occurred_at FROM tpwallet.postings WHERE entry_id = $E;
	UPDATE tpwallet.journal SET hash = tpw_test.entry_hash(id) WHERE id = -5"
is "$(vrow ops)" "false|-5|" "case 5: verify_ledger() names the forged entry -5"
like "$(vdetail ops)" "below the sealed floor" "case 5: detail says it is below the sealed floor"
tamper postings "DELETE FROM tpwallet.postings WHERE entry_id = -5"
tamper journal "DELETE FROM tpwallet.journal WHERE id = -5"
q "$DB" "ALTER TABLE tpwallet.journal ADD CONSTRAINT journal_id_check CHECK (id > 0)" >/dev/null
verify_clean "case 5"

# ---- case 5b: the same with entry id 0, one leg, no valid hash
is "$(sqlstate "$DB" "INSERT INTO tpwallet.journal (id, book, kind, occurred_at, created_at, created_by, metadata, hash_version, hash) VALUES (0, 'ops', 'transfer', now(), now(), 'mallory', '{}', 1, '\\x00')")" 23514 \
	"case 5b: a journal id of 0 is refused by a CHECK constraint"
q "$DB" "ALTER TABLE tpwallet.journal DROP CONSTRAINT journal_id_check" >/dev/null
ok "case 5b: superuser drops the CHECK and inserts a forged one-leg entry 0 with a junk hash" \
	tamper journal "
	INSERT INTO tpwallet.journal (id, book, kind, occurred_at, created_at, created_by, metadata, hash_version, hash)
	  SELECT 0, book, kind, occurred_at, created_at, 'mallory', '{}', 1, '\\x00' FROM tpwallet.journal WHERE id = $E;
	INSERT INTO tpwallet.postings (entry_id, leg, account_id, amount, occurred_at)
	  SELECT 0, 1, account_id, -1000000, occurred_at FROM tpwallet.postings WHERE entry_id = $E AND leg = 2"
like "$(vdetail ops)" "entry 0 " "case 5b: verify_ledger()'s detail describes entry 0"
is "$(vrow ops)" "false|0|" "case 5b: verify_ledger() flags ops with first_bad_entry = 0"
tamper postings "DELETE FROM tpwallet.postings WHERE entry_id = 0"
tamper journal "DELETE FROM tpwallet.journal WHERE id = 0"
q "$DB" "ALTER TABLE tpwallet.journal ADD CONSTRAINT journal_id_check CHECK (id > 0)" >/dev/null
verify_clean "case 5b"

# ------------------------------------------------------------ the guards
declare -A COL=([journal]=reference [postings]=amount [seals]=height [block_members]=leaf_index)
for t in journal postings seals block_members; do
	for stmt in "UPDATE tpwallet.$t SET ${COL[$t]} = ${COL[$t]}" "DELETE FROM tpwallet.$t" "TRUNCATE tpwallet.$t"; do
		is "$(sqlstate "$DB" "SET session_replication_role = replica" "$stmt")" TW009 \
			"superuser in replica mode: $stmt fails with TW009"
	done
	is "$(sqlstate "$DB" "UPDATE tpwallet.$t SET ${COL[$t]} = ${COL[$t]}")" TW009 \
		"superuser, origin mode: UPDATE tpwallet.$t fails with TW009"
done
is "$(sqlstate "$DB" "SET session_replication_role = replica" "DELETE FROM tpwallet.journal WHERE id = $E")" TW009 \
	"a targeted DELETE of one journal row fails with TW009 too"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.journal")/$(q "$DB" "SELECT count(*) FROM tpwallet.postings")/$(q "$DB" "SELECT count(*) FROM tpwallet.block_members")" \
	"11/22/11" "nothing was removed by the refused statements"

# Non-superusers.
for sql in "DROP ROLE IF EXISTS tpw_scn_admin" "DROP ROLE IF EXISTS tpw_scn_owner" \
	"CREATE ROLE tpw_scn_admin LOGIN" "GRANT tpwallet_admin TO tpw_scn_admin" \
	"CREATE ROLE tpw_scn_owner LOGIN" "GRANT tpwallet_owner TO tpw_scn_owner"; do
	q postgres "$sql" >/dev/null || bail "test roles: $sql"
done
as() { local role=$1; shift; PGUSER=$role sqlstate "$DB" "$@"; }

is "$(as tpw_scn_admin "SELECT tpwallet.seal()")" OK "tpwallet_admin member can seal (sanity: the role works)"
is "$(as tpw_scn_admin "ALTER TABLE tpwallet.journal DISABLE TRIGGER tpwallet_guard_change")" 42501 \
	"tpwallet_admin member cannot disable the journal guard (not the owner)"
is "$(as tpw_scn_admin "UPDATE tpwallet.journal SET reference = 'x'")" 42501 \
	"tpwallet_admin member cannot UPDATE the journal"
for stmt in \
	"ALTER TABLE tpwallet.journal DISABLE TRIGGER tpwallet_guard_change" \
	"ALTER TABLE tpwallet.postings DISABLE TRIGGER ALL" \
	"ALTER TABLE tpwallet.seals ENABLE TRIGGER tpwallet_guard_change" \
	"ALTER TABLE tpwallet.block_members ENABLE REPLICA TRIGGER tpwallet_guard_truncate" \
	"DROP TRIGGER tpwallet_guard_change ON tpwallet.journal" \
	"ALTER TRIGGER tpwallet_guard_change ON tpwallet.postings RENAME TO innocent"; do
	is "$(as tpw_scn_owner "SET ROLE tpwallet_owner" "$stmt")" TW009 "as tpwallet_owner (non-superuser): $stmt fails with TW009"
done
is "$(as tpw_scn_owner "SET ROLE tpwallet_owner" "UPDATE tpwallet.journal SET reference = 'x' WHERE id = $E")" TW009 \
	"as tpwallet_owner: UPDATE of the journal fails with TW009"
is "$(as tpw_scn_owner "SET ROLE tpwallet_owner" "TRUNCATE tpwallet.postings")" TW009 \
	"as tpwallet_owner: TRUNCATE of postings fails with TW009"
is "$(as tpw_scn_owner "SET session_replication_role = replica")" 42501 \
	"a tpwallet_owner member cannot switch to replica mode"
is "$(q "$DB" "SELECT tpwallet._guards_intact()")" t "all 20 guards are still in place and ENABLE ALWAYS"

# A table rewrite is not an UPDATE; the table_rewrite event trigger refuses it.
is "$(as tpw_scn_owner "SET ROLE tpwallet_owner" "ALTER TABLE tpwallet.journal ALTER COLUMN hash TYPE bytea USING sha256(hash)")" TW009 \
	"as tpwallet_owner: ALTER TABLE journal ALTER COLUMN hash TYPE bytea USING ... is refused"
if [ "$(vrow ops)" != "true||" ]; then
	note "the rewrite went through: $(vdetail ops)"
	# Put the hashes back so the invariants below stay meaningful.
	q "$DB" "ALTER TABLE tpwallet.journal DISABLE TRIGGER tpwallet_guard_change;
	         UPDATE tpwallet.journal SET hash = tpw_test.entry_hash(id);
	         ALTER TABLE tpwallet.journal ENABLE ALWAYS TRIGGER tpwallet_guard_change" >/dev/null
fi

check_invariants "$DB" "after the tamper cases"

q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
q postgres "DROP ROLE IF EXISTS tpw_scn_admin" >/dev/null
q postgres "DROP ROLE IF EXISTS tpw_scn_owner" >/dev/null
done_testing
