-- ===================================================================
-- Ledger tables.  Money is numeric, never float.  Journal, postings,
-- holds, hold resolutions, seals and the audit log are append-only.
-- ===================================================================

CREATE TABLE tpwallet.assets (
	code        text COLLATE "C" PRIMARY KEY
	            CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$'),
	decimals    int NOT NULL CHECK (decimals BETWEEN 0 AND 36),
	kind        text NOT NULL CHECK (kind IN ('crypto', 'fiat', 'token', 'stablecoin', 'security', 'commodity', 'other')),
	name        text,
	metadata    jsonb NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL DEFAULT now()
);

-- An account holds one asset in one book.  The four totals are non-negative
-- sums, as TigerBeetle keeps them; the balance is derived.  Every attribute
-- but the totals and the status is immutable (the C engine caches them).
CREATE TABLE tpwallet.accounts (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code            text COLLATE "C" NOT NULL UNIQUE CHECK (octet_length(code) BETWEEN 1 AND 200),
	book            text NOT NULL CHECK (book IN ('ops', 'gl')),
	asset           text COLLATE "C" NOT NULL REFERENCES tpwallet.assets (code),
	normal_side     text NOT NULL CHECK (normal_side IN ('debit', 'credit')),
	allow_negative  boolean NOT NULL DEFAULT false,
	metadata        jsonb NOT NULL DEFAULT '{}',
	status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
	created_at      timestamptz NOT NULL DEFAULT now(),
	closed_at       timestamptz,
	debits_posted   numeric NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
	credits_posted  numeric NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
	debits_pending  numeric NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
	credits_pending numeric NOT NULL DEFAULT 0 CHECK (credits_pending >= 0)
) WITH (fillfactor = 50);  -- room for HOT updates of the totals

-- A change that cannot break an overdraft rule (an increase on the normal
-- side, any change to an allow_negative account, releasing a hold) updates
-- the account row when that row is free, and is appended here when another
-- transaction holds it, so that a hot account (a merchant, the fee account,
-- the outside world) never makes writers queue.  Deltas are folded into the
-- row by the next transaction that locks it, and by the sealer worker;
-- balance = row + deltas.
CREATE TABLE tpwallet.account_deltas (
	account_id      bigint NOT NULL,
	debits_posted   numeric NOT NULL,
	credits_posted  numeric NOT NULL,
	debits_pending  numeric NOT NULL,
	credits_pending numeric NOT NULL
);
CREATE INDEX account_deltas_account ON tpwallet.account_deltas (account_id);

-- One journal sequence.  Ids are drawn only after the writing transaction has
-- its xid (see seal.c: this is what lets the sealer prove no late commit can
-- still arrive below its floor).
CREATE SEQUENCE tpwallet.journal_id_seq AS bigint CACHE 1;

CREATE TABLE tpwallet.journal (
	id               bigint PRIMARY KEY CHECK (id > 0),
	book             text NOT NULL,
	kind             text NOT NULL,  -- transfer | entry | reversal | hold
	occurred_at      timestamptz NOT NULL,  -- business time
	created_at       timestamptz NOT NULL,  -- system time (transaction start)
	created_by       text NOT NULL,
	reference        text,
	idempotency_key  text,
	reverses         bigint,
	hold_id          bigint,
	metadata         jsonb NOT NULL,
	hash_version     smallint NOT NULL,
	hash             bytea NOT NULL
);
-- An entry is reversed at most once.
CREATE UNIQUE INDEX journal_reverses ON tpwallet.journal (reverses) WHERE reverses IS NOT NULL;

-- Postings: amount is signed, debit > 0, credit < 0, so that a balance is a
-- plain sum.  occurred_at is copied from the entry for point-in-time reads.
CREATE TABLE tpwallet.postings (
	entry_id     bigint NOT NULL,
	leg          smallint NOT NULL,
	account_id   bigint NOT NULL,
	amount       numeric NOT NULL,
	occurred_at  timestamptz NOT NULL
);
-- Postings arrive in entry order, so a BRIN index finds an entry's legs at
-- almost no insert cost; the btree serves per-account history and balance_at.
CREATE INDEX postings_entry ON tpwallet.postings USING brin (entry_id) WITH (pages_per_range = 8);
CREATE INDEX postings_account_time ON tpwallet.postings (account_id, occurred_at) INCLUDE (amount);

-- Globally unique request keys live in a small table of their own (the
-- journal can later be partitioned by month without losing uniqueness).
-- Keys and codes are opaque identifiers compared byte for byte: COLLATE "C"
-- makes that explicit and keeps their B-trees off strcoll().
CREATE TABLE tpwallet.idempotency (
	key           text COLLATE "C" PRIMARY KEY,
	kind          text NOT NULL,      -- entry | hold
	request_hash  bytea NOT NULL,     -- SHA-256 of the canonical request
	result_id     bigint NOT NULL,    -- journal id or hold id
	created_at    timestamptz NOT NULL DEFAULT now()
);

-- Two-phase transfers.  A hold reserves funds (pending totals); it resolves
-- exactly once: the primary key of hold_resolutions is the enforcement.
CREATE SEQUENCE tpwallet.hold_id_seq AS bigint;
CREATE TABLE tpwallet.holds (
	id                 bigint PRIMARY KEY,
	debit_account_id   bigint NOT NULL,
	credit_account_id  bigint NOT NULL,
	amount             numeric NOT NULL CHECK (amount > 0),
	expires_at         timestamptz,
	reference          text,
	idempotency_key    text,
	metadata           jsonb NOT NULL,
	created_at         timestamptz NOT NULL,
	created_by         text NOT NULL
);
CREATE INDEX holds_expiry ON tpwallet.holds (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE tpwallet.hold_resolutions (
	hold_id      bigint PRIMARY KEY,
	resolution   text NOT NULL CHECK (resolution IN ('posted', 'voided', 'expired')),
	amount       numeric NOT NULL,    -- posted amount (0 for void/expiry)
	entry_id     bigint,              -- journal entry of a post
	resolved_at  timestamptz NOT NULL,
	resolved_by  text NOT NULL
);

-- Seals: blocks of entry hashes under a Merkle root (RFC 6962 tree hashing),
-- chained per book.  block_members maps each entry to its block and leaf.
CREATE TABLE tpwallet.seals (
	block_id        bigint PRIMARY KEY,
	book            text NOT NULL,
	height          bigint NOT NULL,            -- 0, 1, 2 ... per book
	entry_count     int NOT NULL,
	first_entry     bigint NOT NULL,
	last_entry      bigint NOT NULL,
	merkle_root     bytea NOT NULL,
	prev_hash       bytea NOT NULL,
	block_hash      bytea NOT NULL,
	floor_entry     bigint NOT NULL,  -- every entry <= floor is sealed (at or before this block)
	seq_mark        bigint NOT NULL,  -- journal sequence value read at seal time
	xid_mark        xid8 NOT NULL,    -- first unassigned xid after seq_mark was read
	sealed_at       timestamptz NOT NULL,
	UNIQUE (book, height)
);
CREATE SEQUENCE tpwallet.seal_id_seq AS bigint;

CREATE TABLE tpwallet.block_members (
	entry_id    bigint PRIMARY KEY,
	block_id    bigint NOT NULL,
	leaf_index  int NOT NULL
);
CREATE INDEX block_members_block ON tpwallet.block_members (block_id, leaf_index);

-- Every privileged action (asset and account administration, reversals,
-- manual seals) is recorded here; append-only like the journal.
CREATE TABLE tpwallet.audit_log (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at        timestamptz NOT NULL DEFAULT clock_timestamp(),
	actor     text NOT NULL DEFAULT session_user,
	action    text NOT NULL,
	object    text,
	detail    jsonb NOT NULL DEFAULT '{}'
);
