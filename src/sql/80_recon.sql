-- ===================================================================
-- Reconciliation, part 1: sources, one normalized table of items from
-- every source, the ledger's postings as items, and statement import
-- (CSV with a column mapping, ISO 20022 camt.053).  Matching reads
-- recon_items and nothing else.  docs/reconciliation.md is the manual.
--
-- Sign convention, the same for every source: an item's amount is seen
-- from the account holder, money in is positive.  A debit to a
-- debit-normal bank account and a CRDT line on that bank's statement are
-- both inflows, so both are positive and match with equal amounts.
-- ===================================================================

CREATE TABLE tpwallet.recon_sources (
	id          int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name        text COLLATE "C" NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
	kind        text NOT NULL CHECK (kind IN ('ledger', 'statement')),
	config      jsonb NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
	created_by  text NOT NULL DEFAULT session_user
);

-- One row per import (a statement file, or a ledger sync that added
-- items): who brought what in, and the file's SHA-256.
CREATE TABLE tpwallet.recon_imports (
	import_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source_id    int NOT NULL REFERENCES tpwallet.recon_sources (id),
	format       text NOT NULL CHECK (format IN ('csv', 'camt053', 'ledger')),
	file_sha256  bytea CHECK (octet_length(file_sha256) = 32),  -- NULL for ledger syncs
	rows         int NOT NULL CHECK (rows >= 0),     -- items in the file (postings in the window)
	added        int NOT NULL CHECK (added >= 0),    -- new items
	skipped      int NOT NULL CHECK (skipped >= 0),  -- already there (rows = added + skipped)
	imported_at  timestamptz NOT NULL DEFAULT now(),
	imported_by  text NOT NULL DEFAULT session_user,
	detail       jsonb NOT NULL DEFAULT '{}',        -- mapping, statements and balances, window
	-- the importing transaction: a run whose snapshot's xmin is above it saw
	-- the import's items (carry-forward, src/recon/match_load.c)
	loaded_xid   xid8 NOT NULL DEFAULT pg_current_xact_id(),
	CHECK (rows = added + skipped),
	UNIQUE (import_id, source_id)                    -- for the items' foreign key
);
CREATE INDEX recon_imports_source ON tpwallet.recon_imports (source_id, imported_at);
CREATE INDEX recon_imports_xid ON tpwallet.recon_imports (source_id, loaded_xid);
CREATE INDEX recon_imports_sha256 ON tpwallet.recon_imports (file_sha256) WHERE file_sha256 IS NOT NULL;

-- The normalized items.  Keys are opaque and compared byte for byte
-- (COLLATE "C").  row_hash is the item's identity within its source (see
-- _recon_hashed): a second import of the same item finds it there.
CREATE TABLE tpwallet.recon_items (
	item_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source_id    int NOT NULL,
	import_id    bigint NOT NULL,
	line         int,                    -- CSV: the record's first line; camt.053: the entry's number
	ext_id       text COLLATE "C",       -- the source's own id (bank reference)
	txid         text COLLATE "C",
	order_id     text COLLATE "C",
	amount       numeric NOT NULL,       -- signed: money in to the account holder is positive
	asset        text COLLATE "C" NOT NULL,
	occurred_at  timestamptz NOT NULL,   -- booking time
	value_date   date,
	counterparty text,
	memo         text,
	account      text COLLATE "C",       -- IBAN or account number; the account code for ledger items
	entry_id     bigint,                 -- ledger items: the journal entry ...
	leg          smallint,               -- ... and its posting
	is_reversal  boolean NOT NULL DEFAULT false,
	batch_ref    text COLLATE "C",       -- camt.053 batch entries: the entry's reference
	extra        jsonb NOT NULL DEFAULT '{}',  -- further references (camt.053), journal kind (ledger)
	row_hash     bytea NOT NULL CHECK (octet_length(row_hash) = 32),
	content_hash bytea CHECK (octet_length(content_hash) = 32),  -- statement items: SHA-256 of the content (duplicates)
	imported_at  timestamptz NOT NULL DEFAULT now(),
	CHECK ((entry_id IS NULL) = (leg IS NULL)),
	-- one key check per item: the import, which belongs to the same source
	FOREIGN KEY (import_id, source_id) REFERENCES tpwallet.recon_imports (import_id, source_id)
);
CREATE UNIQUE INDEX recon_items_identity ON tpwallet.recon_items (source_id, row_hash);
-- one index per matching key
CREATE INDEX recon_items_txid ON tpwallet.recon_items (txid) WHERE txid IS NOT NULL;
CREATE INDEX recon_items_order ON tpwallet.recon_items (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX recon_items_ext ON tpwallet.recon_items (ext_id) WHERE ext_id IS NOT NULL;
CREATE INDEX recon_items_fuzzy ON tpwallet.recon_items (source_id, asset, amount, occurred_at);
-- a run's window, ledger entries, an import's items; the account lets
-- recon_sync_ledger count a window's items with an index-only scan
CREATE INDEX recon_items_window ON tpwallet.recon_items (source_id, occurred_at) INCLUDE (account);
CREATE INDEX recon_items_entry ON tpwallet.recon_items (entry_id) WHERE entry_id IS NOT NULL;
CREATE INDEX recon_items_import ON tpwallet.recon_items (import_id, occurred_at);
-- duplicates: the same content twice in a source
CREATE INDEX recon_items_content ON tpwallet.recon_items (source_id, content_hash) WHERE content_hash IS NOT NULL;

-- Items and imports are append-only; sources are never removed (items
-- refer to them).
SELECT tpwallet._guard('recon_items'), tpwallet._guard('recon_imports'), tpwallet._guard('recon_sources', 'DELETE');

-- ---------------------------------------------------------------- C parsers
-- Pure functions (src/recon/).  The value parsers return NULL for a value
-- they cannot read, so that the import can name the line.

-- Every record of a CSV text: record_no 1 is the header; line is where the
-- record starts.  Syntax errors (unbalanced quotes ...) raise 22P04.
CREATE FUNCTION tpwallet._csv_rows(data text, delimiter text DEFAULT ',')
RETURNS TABLE (record_no int, line int, fields text[])
AS 'MODULE_PATHNAME', 'tpwallet_csv_rows'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION tpwallet._csv_header(data text, delimiter text DEFAULT ',')
RETURNS text[]
AS 'MODULE_PATHNAME', 'tpwallet_csv_header'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- "1.234,56" (decimal_sep ',', thousands_sep '.') -> 1234.56, exactly.
CREATE FUNCTION tpwallet._parse_amount(value text, decimal_sep text DEFAULT '.', thousands_sep text DEFAULT NULL)
RETURNS numeric
AS 'MODULE_PATHNAME', 'tpwallet_parse_amount'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- ISO 8601 (format NULL) or a date_format; a time without an offset is in
-- timezone.
CREATE FUNCTION tpwallet._parse_time(value text, format text DEFAULT NULL, timezone text DEFAULT 'UTC')
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'tpwallet_parse_time'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION tpwallet._parse_date(value text, format text DEFAULT NULL)
RETURNS date
AS 'MODULE_PATHNAME', 'tpwallet_parse_date'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- ---------------------------------------------------------------- validation

-- An item as a parser produced it, until it is written.  place names
-- it in error messages ('line 7', 'statement S1 entry 3'); identity is the
-- declared identity (NULL: the content decides, see _recon_hashed); a row
-- the parser refused carries err_code and err_message instead.
CREATE TYPE tpwallet._recon_row AS (
	line         int,
	place        text,
	ext_id       text,
	txid         text,
	order_id     text,
	amount       numeric,
	asset        text,
	occurred_at  timestamptz,
	value_date   date,
	counterparty text,
	memo         text,
	account      text,
	is_reversal  boolean,
	batch_ref    text,
	extra        jsonb,
	identity     text,
	err_code     text,
	err_message  text,
	row_hash     bytea,          -- set by _recon_hashed
	content_hash bytea           -- set by _recon_hashed
);

-- The source, locked against concurrent imports and syncs into it (so
-- that the counts of new items stay exact), and of the expected kind.
CREATE FUNCTION tpwallet._recon_source(name text, kind text)
RETURNS tpwallet.recon_sources
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	src tpwallet.recon_sources;
BEGIN
	SELECT s.* INTO src FROM tpwallet.recon_sources s WHERE s.name = _recon_source.name FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704',
			MESSAGE = format('reconciliation source "%s" does not exist', name),
			HINT = 'Create it with tpwallet.create_recon_source(); SELECT name, kind FROM tpwallet.recon_sources lists them.';
	END IF;
	IF src.kind <> kind AND src.kind = 'ledger' THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('reconciliation source "%s" is a ledger source', name),
			HINT = 'A ledger source takes its items from the ledger with tpwallet.recon_sync_ledger(); import statements into a statement source.';
	ELSIF src.kind <> kind THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('reconciliation source "%s" is a statement source', name),
			HINT = 'Import its statements with tpwallet.import_statement().';
	END IF;
	RETURN src;
END
$$;

CREATE FUNCTION tpwallet._recon_timezone(tz text, what text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	PERFORM now() AT TIME ZONE tz;
	RETURN tz;
EXCEPTION WHEN OTHERS THEN
	RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s: unknown time zone "%s"', what, tz),
		HINT = 'Use a name such as "UTC" or "Europe/Helsinki" (SELECT name FROM pg_timezone_names).';
END
$$;

-- Checks a CSV mapping on its own (the header is checked at import): known
-- fields, strings, usable options.
CREATE FUNCTION tpwallet._recon_check_mapping(m jsonb)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	fields CONSTANT text[] := ARRAY['ext_id', 'txid', 'order_id', 'amount', 'debit', 'credit', 'asset',
	                                'occurred_at', 'value_date', 'counterparty', 'memo', 'account', 'batch_ref'];
	options CONSTANT text[] := ARRAY['delimiter', 'decimal', 'thousands', 'timezone', 'date_format'];
	k text;
	v jsonb;
	dec text := coalesce(m ->> 'decimal', '.');
	thou text := coalesce(m ->> 'thousands', '');
	delim text := m ->> 'delimiter';
BEGIN
	IF jsonb_typeof(m) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mapping must be a JSON object',
			HINT = 'For example {"amount": "Amount", "occurred_at": "Booking date", "decimal": ","}.';
	END IF;
	FOR k, v IN SELECT e.key, e.value FROM jsonb_each(m) e LOOP
		IF k <> ALL (fields) AND k <> ALL (options) THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('mapping: unknown field "%s"', k),
				HINT = 'Fields: ' || array_to_string(fields, ', ') || '; options: ' || array_to_string(options, ', ') || '.';
		END IF;
		IF jsonb_typeof(v) <> 'string' THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('mapping: "%s" must be a string', k),
				HINT = CASE WHEN k = ANY (fields) THEN 'A field maps to the name of a CSV column.' END;
		END IF;
		IF k = ANY (fields) AND btrim(v #>> '{}') = '' THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('mapping: the column name for "%s" is empty', k);
		END IF;
	END LOOP;
	IF delim IS NOT NULL AND (octet_length(delim) <> 1 OR delim IN ('"', E'\r', E'\n')) THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('mapping: invalid delimiter "%s"', delim),
			HINT = 'Use one ASCII character other than a quote or a line break, such as ",", ";" or "\t".';
	END IF;
	IF dec NOT IN ('.', ',') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('mapping: decimal must be "." or ",", not "%s"', dec);
	END IF;
	IF thou NOT IN ('', '.', ',', '''', '_', ' ') OR thou = dec THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('mapping: invalid thousands separator "%s"', thou),
			HINT = 'Use "", ".", ",", "''", "_" or " ", different from the decimal separator.';
	END IF;
	IF m ? 'timezone' THEN
		PERFORM tpwallet._recon_timezone(m ->> 'timezone', 'mapping');
	END IF;
	IF m ? 'date_format' THEN
		PERFORM tpwallet._parse_time(NULL, m ->> 'date_format');
	END IF;
	IF m ? 'amount' AND (m ? 'debit' OR m ? 'credit') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mapping: map either amount or debit and credit, not both';
	END IF;
	IF (m ? 'debit') <> (m ? 'credit') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mapping: debit and credit come as a pair',
			HINT = 'Map both (credit: money in, debit: money out), or map a signed amount.';
	END IF;
END
$$;

CREATE FUNCTION tpwallet._recon_ledger_config(config jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	k text;
	book text;
	a record;
	acct_book text;
	acct text;
	codes text[] := '{}';
BEGIN
	FOR k IN SELECT jsonb_object_keys(config) LOOP
		IF k NOT IN ('book', 'accounts') THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('unknown key "%s" in the config of a ledger source', k),
				HINT = 'A ledger source takes {"book": "ops", "accounts": ["bank:USD", ...]}.';
		END IF;
	END LOOP;
	IF config ? 'book' THEN
		book := config ->> 'book';
		IF jsonb_typeof(config -> 'book') <> 'string' OR book NOT IN ('ops', 'gl') THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('config.book must be "ops" or "gl", not %s', config -> 'book');
		END IF;
	END IF;
	IF jsonb_typeof(config -> 'accounts') IS DISTINCT FROM 'array' OR jsonb_array_length(config -> 'accounts') = 0 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a ledger source needs config.accounts, a non-empty array of account codes',
			HINT = 'For example {"book": "ops", "accounts": ["bank:USD"]}: the postings of these accounts become items.';
	END IF;
	FOR a IN SELECT e.value, e.ordinality FROM jsonb_array_elements(config -> 'accounts') WITH ORDINALITY e LOOP
		IF jsonb_typeof(a.value) <> 'string' THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('config.accounts[%s] must be an account code (a string), not %s', a.ordinality - 1, a.value);
		END IF;
		acct := a.value #>> '{}';
		IF acct = ANY (codes) THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('account "%s" is listed twice in config.accounts', acct);
		END IF;
		SELECT ac.book INTO acct_book FROM tpwallet.accounts ac WHERE ac.code = acct;
		IF NOT FOUND THEN
			RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('account "%s" does not exist', acct),
				HINT = 'Create it first with tpwallet.create_account().';
		END IF;
		IF book IS NULL THEN
			book := acct_book;     -- no book given: the first account's
		ELSIF acct_book <> book THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('account "%s" is in book %s, not %s', acct, acct_book, book),
				HINT = 'A ledger source covers one book; create one source per book.';
		END IF;
		codes := codes || acct;
	END LOOP;
	RETURN jsonb_build_object('book', book, 'accounts', to_jsonb(codes));
END
$$;

CREATE FUNCTION tpwallet._recon_statement_config(config jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	k text;
BEGIN
	FOR k IN SELECT jsonb_object_keys(config) LOOP
		IF k NOT IN ('asset', 'account', 'timezone', 'mapping') THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('unknown key "%s" in the config of a statement source', k),
				HINT = 'A statement source takes "asset" (the default asset), "account" (the bank account its statements are for), "timezone" and "mapping" (the default CSV mapping).';
		END IF;
		IF k <> 'mapping' AND jsonb_typeof(config -> k) <> 'string' THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('config.%s must be a string', k);
		END IF;
	END LOOP;
	IF config ? 'asset' AND (config ->> 'asset') !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('config.asset "%s" is not an asset code', config ->> 'asset'),
			HINT = 'Use the asset''s code, such as EUR or USD.';
	END IF;
	IF config ? 'account' AND octet_length(btrim(config ->> 'account')) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'config.account must be 1 to 200 bytes long';
	END IF;
	IF config ? 'timezone' THEN
		PERFORM tpwallet._recon_timezone(config ->> 'timezone', 'config.timezone');
	END IF;
	IF config ? 'mapping' THEN
		PERFORM tpwallet._recon_check_mapping(config -> 'mapping');
	END IF;
	RETURN config;
END
$$;

-- ---------------------------------------------------------------- sources

CREATE FUNCTION tpwallet.create_recon_source(name text, kind text, config jsonb DEFAULT '{}')
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	new_id int;
	cfg jsonb;
BEGIN
	IF name IS NULL OR name !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid reconciliation source name %L', name),
			HINT = 'Use 1 to 64 letters, digits, ".", "_", ":" or "-", starting with a letter or digit.';
	END IF;
	IF kind IS NULL OR kind NOT IN ('ledger', 'statement') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown reconciliation source kind %L', kind),
			HINT = 'A source is a "ledger" (postings of ledger accounts) or a "statement" (imported bank or custodian statements).';
	END IF;
	IF config IS NULL OR jsonb_typeof(config) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'config must be a JSON object';
	END IF;
	IF EXISTS (SELECT 1 FROM tpwallet.recon_sources s WHERE s.name = create_recon_source.name) THEN
		RAISE EXCEPTION USING ERRCODE = '42710', MESSAGE = format('reconciliation source "%s" already exists', name),
			HINT = 'Source names are permanent; choose another.';
	END IF;
	cfg := CASE kind WHEN 'ledger' THEN tpwallet._recon_ledger_config(config)
	                 ELSE tpwallet._recon_statement_config(config) END;
	INSERT INTO tpwallet.recon_sources (name, kind, config)
	VALUES (create_recon_source.name, create_recon_source.kind, cfg)
	RETURNING id INTO new_id;
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('create_recon_source', name, jsonb_build_object('id', new_id, 'kind', kind, 'config', cfg));
	RETURN new_id;
EXCEPTION WHEN unique_violation THEN
	RAISE EXCEPTION USING ERRCODE = '42710', MESSAGE = format('reconciliation source "%s" already exists', name);
END
$$;
COMMENT ON FUNCTION tpwallet.create_recon_source IS
	'A reconciliation source: kind ledger (config {"book", "accounts"}) or statement (config {"asset", "account", "timezone", "mapping"}).';

-- ---------------------------------------------------------------- ledger items

-- The postings of the source's accounts with occurred_at in [from, to)
-- (NULL: unbounded) become items, each once: a posting already an item of
-- this source is skipped, so overlapping windows and repeated runs are
-- safe, and a posting that committed late is picked up by the next run.
CREATE FUNCTION tpwallet.recon_sync_ledger(source text, "from" timestamptz DEFAULT NULL, "to" timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet SET jit = off
AS $$
DECLARE
	src tpwallet.recon_sources;
	lo timestamptz := coalesce(recon_sync_ledger."from", '-infinity');
	hi timestamptz := coalesce(recon_sync_ledger."to", 'infinity');
	ids bigint[];
	n_rows int;
	n_new int;
	imp bigint;
BEGIN
	src := tpwallet._recon_source(source, 'ledger');
	IF lo > hi THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'from must not be after to',
			HINT = 'The window is [from, to): from inclusive, to exclusive.';
	END IF;
	SELECT array_agg(a.id) INTO ids FROM tpwallet.accounts a
	 WHERE a.code IN (SELECT jsonb_array_elements_text(src.config -> 'accounts'));

	-- What is new, by counting instead of joining (a run's window is
	-- often a million postings): the source's items in the window whose
	-- account is one of these are each the item of one posting of the
	-- same account in the window (made only here, once per entry and leg
	-- by the row hash; postings and account codes never change), so they
	-- are as many as those postings exactly when every posting has its item.
	SELECT count(*) INTO n_rows FROM tpwallet.postings p
	 WHERE p.account_id = ANY (ids) AND p.occurred_at >= lo AND p.occurred_at < hi;
	SELECT n_rows - count(*) INTO n_new FROM tpwallet.recon_items i
	 WHERE i.source_id = src.id AND i.occurred_at >= lo AND i.occurred_at < hi
	   AND i.account IN (SELECT a.code FROM tpwallet.accounts a WHERE a.id = ANY (ids));
	IF n_new = 0 THEN
		RETURN 0;
	END IF;

	INSERT INTO tpwallet.recon_imports (source_id, format, rows, added, skipped, detail)
	VALUES (src.id, 'ledger', n_rows, n_new, n_rows - n_new,
	        jsonb_build_object('from', recon_sync_ledger."from", 'to', recon_sync_ledger."to"))
	RETURNING import_id INTO imp;

	-- money in to the account holder is positive: a debit to a debit-normal
	-- account, a credit to a credit-normal one.  Keys longer than the
	-- indexes take are left out (the reference stays in extra).
	INSERT INTO tpwallet.recon_items (source_id, import_id, ext_id, txid, order_id, amount, asset,
	                                  occurred_at, counterparty, memo, account, entry_id, leg,
	                                  is_reversal, batch_ref, extra, row_hash)
	SELECT src.id, imp, tpwallet._recon_key(j.metadata ->> 'ext_id'),
	       tpwallet._recon_key(coalesce(j.metadata ->> 'txid', j.reference)),
	       tpwallet._recon_key(coalesce(j.metadata ->> 'order_id', j.reference)),
	       CASE WHEN a.normal_side = 'debit' THEN p.amount ELSE -p.amount END,
	       a.asset, p.occurred_at, j.metadata ->> 'counterparty', j.metadata ->> 'memo', a.code,
	       p.entry_id, p.leg, j.kind = 'reversal', tpwallet._recon_key(j.metadata ->> 'batch_ref'),
	       jsonb_strip_nulls(jsonb_build_object('book', j.book, 'kind', j.kind, 'reference', j.reference,
	                                            'reverses', j.reverses, 'idempotency_key', j.idempotency_key)),
	       x.h
	  FROM tpwallet.postings p
	  JOIN tpwallet.accounts a ON a.id = p.account_id
	  JOIN tpwallet.journal j ON j.id = p.entry_id
	 CROSS JOIN LATERAL (SELECT sha256(convert_to('posting:' || p.entry_id || ':' || p.leg, 'UTF8')) AS h) x
	 WHERE p.account_id = ANY (ids) AND p.occurred_at >= lo AND p.occurred_at < hi
	   AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_items i WHERE i.entry_id = p.entry_id AND i.leg = p.leg AND i.source_id = src.id)
	 ORDER BY p.occurred_at, p.entry_id, p.leg;
	RETURN n_new;
END
$$;
COMMENT ON FUNCTION tpwallet.recon_sync_ledger IS
	'Turn the postings of a ledger source''s accounts with occurred_at in [from, to) into items, each once. Returns the number added.';

-- A matching key, or NULL when it is too long for the key indexes.
CREATE FUNCTION tpwallet._recon_key(k text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT CASE WHEN octet_length(k) <= 1000 THEN k END
$$;

-- ---------------------------------------------------------------- CSV

-- The trimmed cell, NULL when blank or not there.
CREATE FUNCTION tpwallet._recon_cell(fields text[], i int)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT NULLIF(btrim(fields[i], E' \t\r\n'), '')
$$;

-- The 1-based index of the header column for a field: the exact name
-- (after trimming), else the one name that equals it ignoring case.
CREATE FUNCTION tpwallet._recon_column(header text[], col text, field text, required boolean)
RETURNS int
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	hits int[];
BEGIN
	SELECT array_agg(h.i ORDER BY h.i) INTO hits FROM unnest(header) WITH ORDINALITY AS h (name, i)
	 WHERE btrim(h.name, E' \t\r\n') = btrim(col, E' \t\r\n');
	IF hits IS NULL THEN
		SELECT array_agg(h.i ORDER BY h.i) INTO hits FROM unnest(header) WITH ORDINALITY AS h (name, i)
		 WHERE lower(btrim(h.name, E' \t\r\n')) = lower(btrim(col, E' \t\r\n'));
	END IF;
	IF cardinality(hits) > 1 THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('mapping: column "%s" (%s) appears %s times in the header', col, field, cardinality(hits));
	END IF;
	IF hits IS NULL AND required THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('mapping: column "%s" (%s) is not in the header', col, field),
			HINT = 'The header has: ' || array_to_string(header, ', ') || '.';
	END IF;
	RETURN hits[1];
END
$$;

-- Parse a CSV statement into items (not yet written).  The mapping is
-- the argument, else the source's config.mapping; when it names no field,
-- every field is read from the column of its own name, if there is one.
CREATE FUNCTION tpwallet._recon_stage_csv(config jsonb, data text, mapping jsonb,
                                          OUT staged tpwallet._recon_row[], OUT info jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	fields CONSTANT text[] := ARRAY['ext_id', 'txid', 'order_id', 'amount', 'debit', 'credit', 'asset',
	                                'occurred_at', 'value_date', 'counterparty', 'memo', 'account', 'batch_ref'];
	m jsonb := coalesce(mapping, config -> 'mapping', '{}');
	explicit boolean;
	delim text;
	dec text;
	thou text;
	tz text;
	fmt text;
	default_asset text := config ->> 'asset';
	header text[];
	ncols int;
	cols jsonb := '{}';
	col int[];      -- indexed like fields
	f text;
	i int;
	time_kind text;
BEGIN
	PERFORM tpwallet._recon_check_mapping(m);
	delim := coalesce(m ->> 'delimiter', ',');
	dec := coalesce(m ->> 'decimal', '.');
	thou := NULLIF(m ->> 'thousands', '');
	tz := coalesce(m ->> 'timezone', config ->> 'timezone', 'UTC');
	fmt := m ->> 'date_format';
	time_kind := CASE WHEN fmt IS NULL THEN 'an ISO 8601 date or time' ELSE format('a date in date_format "%s"', fmt) END;

	header := tpwallet._csv_header(data, delim);
	IF header IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the statement is empty: a CSV statement starts with a header line';
	END IF;
	ncols := cardinality(header);
	explicit := EXISTS (SELECT 1 FROM jsonb_object_keys(m) k WHERE k = ANY (fields));
	FOREACH f IN ARRAY fields LOOP
		IF explicit THEN
			i := CASE WHEN m ? f THEN tpwallet._recon_column(header, m ->> f, f, true) END;
		ELSE
			i := tpwallet._recon_column(header, f, f, false);
		END IF;
		col := col || i;
		IF i IS NOT NULL THEN
			cols := cols || jsonb_build_object(f, btrim(header[i], E' \t\r\n'));
		END IF;
	END LOOP;
	-- col[4] amount, [5] debit, [6] credit, [7] asset, [8] occurred_at
	IF col[4] IS NULL AND (col[5] IS NULL OR col[6] IS NULL) THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mapping: no amount column',
			HINT = 'Map amount to a column of signed amounts, or debit and credit to two columns.';
	END IF;
	IF col[4] IS NOT NULL AND (col[5] IS NOT NULL OR col[6] IS NOT NULL) THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mapping: map either amount or debit and credit, not both';
	END IF;
	IF col[8] IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mapping: no occurred_at column',
			HINT = 'Map occurred_at to the column of booking dates or times.';
	END IF;
	IF col[7] IS NULL AND default_asset IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mapping: no asset column, and the source has no default asset',
			HINT = 'Map asset to a column, or create the source with config {"asset": "EUR"}.';
	END IF;

	SELECT array_agg(x.r ORDER BY x.line) INTO staged
	  FROM (
		SELECT r.line, ROW(r.line, 'line ' || r.line, c.ext_id, c.txid, c.order_id,
		           CASE WHEN col[4] IS NOT NULL THEN p.amount ELSE coalesce(p.credit, 0) - abs(coalesce(p.debit, 0)) END,
		           coalesce(c.asset, default_asset), p.occurred_at, p.value_date, c.counterparty, c.memo,
		           c.account, false, c.batch_ref, '{}'::jsonb,
		           CASE WHEN c.ext_id IS NOT NULL THEN 'ext_id:' || c.ext_id END,
		           e.err[1], e.err[2], NULL, NULL)::tpwallet._recon_row AS r
		  FROM tpwallet._csv_rows(data, delim) r
		 CROSS JOIN LATERAL (SELECT
		        tpwallet._recon_cell(r.fields, col[1]) AS ext_id, tpwallet._recon_cell(r.fields, col[2]) AS txid,
		        tpwallet._recon_cell(r.fields, col[3]) AS order_id, tpwallet._recon_cell(r.fields, col[4]) AS amount,
		        tpwallet._recon_cell(r.fields, col[5]) AS debit, tpwallet._recon_cell(r.fields, col[6]) AS credit,
		        tpwallet._recon_cell(r.fields, col[7]) AS asset, tpwallet._recon_cell(r.fields, col[8]) AS occurred_at,
		        tpwallet._recon_cell(r.fields, col[9]) AS value_date, tpwallet._recon_cell(r.fields, col[10]) AS counterparty,
		        tpwallet._recon_cell(r.fields, col[11]) AS memo, tpwallet._recon_cell(r.fields, col[12]) AS account,
		        tpwallet._recon_cell(r.fields, col[13]) AS batch_ref) c
		 CROSS JOIN LATERAL (SELECT
		        tpwallet._parse_amount(c.amount, dec, thou) AS amount,
		        tpwallet._parse_amount(c.debit, dec, thou) AS debit,
		        tpwallet._parse_amount(c.credit, dec, thou) AS credit,
		        tpwallet._parse_time(c.occurred_at, fmt, tz) AS occurred_at,
		        tpwallet._parse_date(c.value_date, fmt) AS value_date) p
		 CROSS JOIN LATERAL (SELECT CASE
		        WHEN cardinality(r.fields) <> ncols THEN
		             ARRAY['22P04', format('%s fields, the header has %s', cardinality(r.fields), ncols)]
		        WHEN col[4] IS NOT NULL AND c.amount IS NULL THEN ARRAY['22023', 'amount is empty']
		        WHEN col[4] IS NOT NULL AND p.amount IS NULL THEN
		             ARRAY['22P02', format('amount "%s" is not a number', left(c.amount, 80))]
		        WHEN c.debit IS NOT NULL AND p.debit IS NULL THEN
		             ARRAY['22P02', format('debit "%s" is not a number', left(c.debit, 80))]
		        WHEN c.credit IS NOT NULL AND p.credit IS NULL THEN
		             ARRAY['22P02', format('credit "%s" is not a number', left(c.credit, 80))]
		        WHEN col[4] IS NULL AND c.debit IS NULL AND c.credit IS NULL THEN
		             ARRAY['22023', 'neither debit nor credit is given']
		        WHEN p.debit <> 0 AND p.credit <> 0 THEN
		             ARRAY['22023', format('both debit (%s) and credit (%s) are given', c.debit, c.credit)]
		        WHEN p.credit < 0 THEN
		             ARRAY['22023', format('credit "%s" is negative (money out goes in the debit column)', c.credit)]
		        WHEN c.occurred_at IS NULL THEN ARRAY['22023', 'occurred_at is empty']
		        WHEN p.occurred_at IS NULL THEN
		             ARRAY['22007', format('occurred_at "%s" is not %s', left(c.occurred_at, 80), time_kind)]
		        WHEN c.value_date IS NOT NULL AND p.value_date IS NULL THEN
		             ARRAY['22007', format('value_date "%s" is not %s', left(c.value_date, 80), time_kind)]
		        WHEN coalesce(c.asset, default_asset) IS NULL THEN
		             ARRAY['22023', 'asset is empty, and the source has no default asset']
		        WHEN coalesce(c.asset, default_asset) !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$' THEN
		             ARRAY['22023', format('asset "%s" is not an asset code', left(c.asset, 80))]
		        END AS err) e
		 -- the header, and lines with nothing but blank cells (",,,," as spreadsheets write them)
		 WHERE r.record_no > 1
		   AND EXISTS (SELECT 1 FROM unnest(r.fields) v WHERE btrim(v, E' \t\r\n') <> '')
	  ) x;
	staged := coalesce(staged, '{}');
	info := jsonb_build_object('columns', cols, 'delimiter', delim, 'decimal', dec, 'thousands', thou,
	                           'timezone', tz, 'date_format', fmt);
END
$$;

-- ---------------------------------------------------------------- camt.053

-- A camt.053 amount (xs:decimal, no sign) signed by its CdtDbtInd.
CREATE FUNCTION tpwallet._camt_amount(amt text, ind text, place text, what text)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	IF amt IS NULL OR btrim(amt) !~ '^[0-9]{1,30}(\.[0-9]{1,18})?$' THEN
		RAISE EXCEPTION USING ERRCODE = '22P02',
			MESSAGE = format('%s: %s "%s" is not an amount', place, what, coalesce(amt, '')),
			HINT = 'camt.053 amounts are unsigned decimals with "." (the sign is in CdtDbtInd).';
	END IF;
	IF ind IS DISTINCT FROM 'CRDT' AND ind IS DISTINCT FROM 'DBIT' THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('%s: CdtDbtInd of the %s must be CRDT or DBIT, not "%s"', place, what, coalesce(ind, '')),
			HINT = 'CRDT is money in (positive), DBIT money out (negative).';
	END IF;
	RETURN CASE WHEN ind = 'DBIT' THEN -btrim(amt)::numeric ELSE btrim(amt)::numeric END;
END
$$;

-- A booking or value date: DtTm, else Dt (an xs:date may carry an offset,
-- which a calendar day does not need).
CREATE FUNCTION tpwallet._camt_time(dt text, dttm text, tz text, place text, what text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	v text := coalesce(dttm, regexp_replace(dt, '(Z|[+-][0-9]{2}:[0-9]{2})$', ''));
	t timestamptz := tpwallet._parse_time(v, NULL, tz);
BEGIN
	IF v IS NOT NULL AND t IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22007', MESSAGE = format('%s: %s "%s" is not an ISO 8601 date or time', place, what, v);
	END IF;
	RETURN t;
END
$$;

-- Parse a camt.053 statement (versions .02 to .08) into items, checking
-- every statement's balances.  See docs/reconciliation.md for which
-- element goes where.
CREATE FUNCTION tpwallet._recon_stage_camt(config jsonb, data text, mapping jsonb,
                                           OUT staged tpwallet._recon_row[], OUT info jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	m jsonb := coalesce(mapping, '{}');
	tz text;
	doc xml;
	ns text;
	root text;
	detail text;
	st record;
	en record;
	dt record;
	want_account text := upper(replace(config ->> 'account', ' ', ''));
	account text;
	opening numeric;
	closing numeric;
	bal_ccy text;
	total numeric;
	n_entries int;
	n_booked int;
	cdt_n int;
	cdt_sum numeric;
	dbt_n int;
	dbt_sum numeric;
	entry_no int := 0;
	place text;
	amount numeric;
	booked_at timestamptz;
	value_day date;
	is_batch boolean;
	split boolean;
	dtl_sum numeric;
	refs_seen jsonb := '{}';
	ref_key text;
	occurrence int;
	stmts jsonb := '[]';
	items tpwallet._recon_row[] := '{}';
BEGIN
	IF jsonb_typeof(m) <> 'object' OR EXISTS (SELECT 1 FROM jsonb_object_keys(m) k WHERE k <> 'timezone') THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mapping: a camt053 import takes only "timezone"',
			HINT = 'camt.053 has one layout; the timezone places booking dates that have no offset (default: the source''s, else UTC).';
	END IF;
	tz := tpwallet._recon_timezone(coalesce(m ->> 'timezone', config ->> 'timezone', 'UTC'), 'mapping');

	-- No DTDs: a bank statement has none, and entities are an attack surface.
	IF data ~* '<!DOCTYPE' THEN
		RAISE EXCEPTION USING ERRCODE = '2200M', MESSAGE = 'the statement has a DOCTYPE declaration, which is not accepted',
			HINT = 'camt.053 documents need no DTD; remove the declaration.';
	END IF;
	BEGIN
		doc := XMLPARSE(DOCUMENT ltrim(data, chr(65279)));
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
		RAISE EXCEPTION USING ERRCODE = '2200M', MESSAGE = 'the statement is not well-formed XML',
			DETAIL = split_part(coalesce(NULLIF(detail, ''), SQLERRM), E'\n', 1),
			HINT = 'Nothing was imported; ask the bank for the file again.';
	END;
	ns := (xpath('namespace-uri(/*)', doc))[1]::text;
	root := (xpath('local-name(/*)', doc))[1]::text;
	IF root IS DISTINCT FROM 'Document' OR ns !~ '^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0[2-8]$' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'not a camt.053 statement',
			DETAIL = format('The root element is "%s" in namespace "%s".', root, ns),
			HINT = 'Versions camt.053.001.02 to camt.053.001.08 are read (root element Document in their namespace).';
	END IF;

	FOR st IN SELECT * FROM XMLTABLE(XMLNAMESPACES(ns AS c), '/c:Document/c:BkToCstmrStmt/c:Stmt' PASSING doc COLUMNS
	          stmt_no FOR ORDINALITY,
	          id text PATH 'c:Id',
	          iban text PATH 'c:Acct/c:Id/c:IBAN',
	          othr text PATH 'c:Acct/c:Id/c:Othr/c:Id',
	          acct_ccy text PATH 'c:Acct/c:Ccy',
	          opbd text PATH 'c:Bal[c:Tp/c:CdOrPrtry/c:Cd=''OPBD''][1]/c:Amt',
	          opbd_ccy text PATH 'c:Bal[c:Tp/c:CdOrPrtry/c:Cd=''OPBD''][1]/c:Amt/@Ccy',
	          opbd_ind text PATH 'c:Bal[c:Tp/c:CdOrPrtry/c:Cd=''OPBD''][1]/c:CdtDbtInd',
	          prcd text PATH 'c:Bal[c:Tp/c:CdOrPrtry/c:Cd=''PRCD''][1]/c:Amt',
	          prcd_ccy text PATH 'c:Bal[c:Tp/c:CdOrPrtry/c:Cd=''PRCD''][1]/c:Amt/@Ccy',
	          prcd_ind text PATH 'c:Bal[c:Tp/c:CdOrPrtry/c:Cd=''PRCD''][1]/c:CdtDbtInd',
	          clbd text PATH 'c:Bal[c:Tp/c:CdOrPrtry/c:Cd=''CLBD''][1]/c:Amt',
	          clbd_ccy text PATH 'c:Bal[c:Tp/c:CdOrPrtry/c:Cd=''CLBD''][1]/c:Amt/@Ccy',
	          clbd_ind text PATH 'c:Bal[c:Tp/c:CdOrPrtry/c:Cd=''CLBD''][1]/c:CdtDbtInd',
	          sum_n text PATH 'c:TxsSummry/c:TtlNtries/c:NbOfNtries',
	          sum_cdt_n text PATH 'c:TxsSummry/c:TtlCdtNtries/c:NbOfNtries',
	          sum_cdt text PATH 'c:TxsSummry/c:TtlCdtNtries/c:Sum',
	          sum_dbt_n text PATH 'c:TxsSummry/c:TtlDbtNtries/c:NbOfNtries',
	          sum_dbt text PATH 'c:TxsSummry/c:TtlDbtNtries/c:Sum',
	          stmt xml PATH '.')
	LOOP
		place := format('statement %s', coalesce(st.id, '#' || st.stmt_no));
		account := coalesce(st.iban, st.othr);
		IF want_account IS NOT NULL AND upper(replace(account, ' ', '')) IS DISTINCT FROM want_account THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('%s is for account %s, not %s', place, coalesce(account, '(none)'), config ->> 'account'),
				HINT = 'This source''s config names the bank account its statements are for; import the file into that account''s source.';
		END IF;
		IF st.opbd IS NULL AND st.prcd IS NULL THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s has no opening booked balance (OPBD or PRCD)', place),
				HINT = 'Without it the file cannot be checked: opening balance + entries = closing balance.';
		END IF;
		IF st.clbd IS NULL THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s has no closing booked balance (CLBD)', place),
				HINT = 'Without it the file cannot be checked: opening balance + entries = closing balance.';
		END IF;
		opening := CASE WHEN st.opbd IS NOT NULL THEN tpwallet._camt_amount(st.opbd, st.opbd_ind, place, 'opening balance')
		                ELSE tpwallet._camt_amount(st.prcd, st.prcd_ind, place, 'opening balance') END;
		closing := tpwallet._camt_amount(st.clbd, st.clbd_ind, place, 'closing balance');
		bal_ccy := coalesce(st.clbd_ccy, st.acct_ccy);
		IF coalesce(st.opbd_ccy, st.prcd_ccy) IS DISTINCT FROM st.clbd_ccy THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('%s: the opening balance is in %s, the closing balance in %s', place,
				                 coalesce(st.opbd_ccy, st.prcd_ccy), st.clbd_ccy);
		END IF;
		total := 0;
		n_entries := 0;
		n_booked := 0;
		cdt_n := 0; cdt_sum := 0; dbt_n := 0; dbt_sum := 0;

		FOR en IN SELECT * FROM XMLTABLE(XMLNAMESPACES(ns AS c), '/c:Stmt/c:Ntry' PASSING st.stmt COLUMNS
		          n FOR ORDINALITY,
		          amt text PATH 'c:Amt[1]',
		          ccy text PATH 'c:Amt[1]/@Ccy',
		          ind text PATH 'c:CdtDbtInd[1]',
		          rvsl text PATH 'c:RvslInd[1]',
		          sts text PATH 'normalize-space(c:Sts[1])',
		          bookg_dt text PATH 'c:BookgDt[1]/c:Dt',
		          bookg_dttm text PATH 'c:BookgDt[1]/c:DtTm',
		          val_dt text PATH 'c:ValDt[1]/c:Dt',
		          val_dttm text PATH 'c:ValDt[1]/c:DtTm',
		          svcr_ref text PATH 'c:AcctSvcrRef[1]',
		          ntry_ref text PATH 'c:NtryRef[1]',
		          addtl text PATH 'c:AddtlNtryInf[1]',
		          domn text PATH 'c:BkTxCd[1]/c:Domn/c:Cd',
		          fmly text PATH 'c:BkTxCd[1]/c:Domn/c:Fmly/c:Cd',
		          subfmly text PATH 'c:BkTxCd[1]/c:Domn/c:Fmly/c:SubFmlyCd',
		          prtry text PATH 'c:BkTxCd[1]/c:Prtry/c:Cd',
		          n_btch int PATH 'count(c:NtryDtls/c:Btch)',
		          btch_msg text PATH '(c:NtryDtls/c:Btch/c:MsgId)[1]',
		          btch_pmtinf text PATH '(c:NtryDtls/c:Btch/c:PmtInfId)[1]',
		          btch_n text PATH '(c:NtryDtls/c:Btch/c:NbOfTxs)[1]',
		          n_dtls int PATH 'count(c:NtryDtls/c:TxDtls)',
		          ntry xml PATH '.')
		LOOP
			entry_no := entry_no + 1;
			n_entries := n_entries + 1;
			place := format('statement %s entry %s', coalesce(st.id, '#' || st.stmt_no), en.n);
			amount := tpwallet._camt_amount(en.amt, en.ind, place, 'amount');
			IF en.ind = 'CRDT' THEN
				cdt_n := cdt_n + 1; cdt_sum := cdt_sum + amount;
			ELSE
				dbt_n := dbt_n + 1; dbt_sum := dbt_sum - amount;
			END IF;
			-- pending (PDNG) and information-only (INFO) entries are not on the books
			CONTINUE WHEN en.sts NOT IN ('', 'BOOK');
			n_booked := n_booked + 1;
			IF en.ccy IS DISTINCT FROM bal_ccy THEN
				RAISE EXCEPTION USING ERRCODE = '22023',
					MESSAGE = format('%s is in %s, the statement''s balances in %s', place, coalesce(en.ccy, '(no currency)'), bal_ccy),
					HINT = 'A statement covers one currency; a multi-currency account has one Stmt per currency.';
			END IF;
			total := total + amount;
			booked_at := coalesce(tpwallet._camt_time(en.bookg_dt, en.bookg_dttm, tz, place, 'booking date'),
			                      tpwallet._camt_time(en.val_dt, en.val_dttm, tz, place, 'value date'));
			IF booked_at IS NULL THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s has neither a booking date nor a value date', place);
			END IF;
			value_day := tpwallet._parse_date(coalesce(en.val_dttm, regexp_replace(en.val_dt, '(Z|[+-][0-9]{2}:[0-9]{2})$', '')));
			is_batch := en.n_btch > 0 OR en.n_dtls > 1;

			-- the entry's identity in this file: its bank reference (on its
			-- booking date), numbered if the bank used it twice
			ref_key := NULL;
			IF en.svcr_ref IS NOT NULL THEN
				ref_key := format('%s|%s|%s', account, coalesce(en.bookg_dt, en.bookg_dttm), en.svcr_ref);
				occurrence := coalesce((refs_seen ->> ref_key)::int, 0) + 1;
				refs_seen := refs_seen || jsonb_build_object(ref_key, occurrence);
				ref_key := format('camt:%s:%s', ref_key, occurrence);
			END IF;

			-- one item per transaction detail when every detail has an amount
			-- in the entry's currency (a single detail takes the booked
			-- amount); else one item for the whole entry
			split := en.n_dtls = 1 OR (en.n_dtls > 1 AND NOT EXISTS (
				SELECT 1 FROM XMLTABLE(XMLNAMESPACES(ns AS c), '/c:Ntry/c:NtryDtls/c:TxDtls' PASSING en.ntry COLUMNS
				              ccy text PATH '(c:Amt/@Ccy | c:AmtDtls/c:TxAmt/c:Amt/@Ccy)[1]') d
				 WHERE d.ccy IS DISTINCT FROM en.ccy));
			IF NOT split THEN
				items := items || ROW(entry_no, place, coalesce(en.svcr_ref, en.ntry_ref), NULL, NULL, amount, en.ccy,
				                      booked_at, value_day, NULL, en.addtl, account, coalesce(en.rvsl IN ('true', '1'), false),
				                      CASE WHEN is_batch THEN coalesce(en.svcr_ref, en.ntry_ref, en.btch_pmtinf, en.btch_msg) END,
				                      jsonb_strip_nulls(jsonb_build_object('statement', st.id, 'entry', en.n,
				                          'entry_ref', en.ntry_ref, 'bank_tx_code', NULLIF(concat_ws('/', en.domn, en.fmly, en.subfmly), ''),
				                          'proprietary_code', en.prtry, 'status', NULLIF(en.sts, ''), 'msg_id', en.btch_msg,
				                          'pmt_inf_id', en.btch_pmtinf, 'batch_size', en.btch_n,
				                          'details', CASE WHEN en.n_dtls > 0 THEN en.n_dtls END)),
				                      CASE WHEN ref_key IS NOT NULL THEN ref_key || ':0' END, NULL, NULL, NULL, NULL)::tpwallet._recon_row;
				CONTINUE;
			END IF;

			dtl_sum := 0;
			FOR dt IN SELECT d.*,
			              (SELECT string_agg(u.t, ' ' ORDER BY u.k)
			                 FROM XMLTABLE(XMLNAMESPACES(ns AS c), '/c:TxDtls/c:RmtInf/c:Ustrd' PASSING d.dtl
			                               COLUMNS k FOR ORDINALITY, t text PATH 'normalize-space(.)') u) AS ustrd,
			              (SELECT string_agg(u.t, ' ' ORDER BY u.k)
			                 FROM XMLTABLE(XMLNAMESPACES(ns AS c),
			                               '/c:TxDtls/c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref | /c:TxDtls/c:RmtInf/c:Strd/c:RfrdDocInf/c:Nb'
			                               PASSING d.dtl COLUMNS k FOR ORDINALITY, t text PATH 'normalize-space(.)') u) AS strd
			             FROM XMLTABLE(XMLNAMESPACES(ns AS c), '/c:Ntry/c:NtryDtls/c:TxDtls' PASSING en.ntry COLUMNS
			              d FOR ORDINALITY,
			              amt text PATH '(c:Amt | c:AmtDtls/c:TxAmt/c:Amt)[1]',
			              ind text PATH 'c:CdtDbtInd[1]',
			              instd_amt text PATH 'c:AmtDtls/c:InstdAmt/c:Amt',
			              instd_ccy text PATH 'c:AmtDtls/c:InstdAmt/c:Amt/@Ccy',
			              svcr_ref text PATH 'c:Refs/c:AcctSvcrRef',
			              e2e text PATH 'c:Refs/c:EndToEndId',
			              txid text PATH 'c:Refs/c:TxId',
			              instr text PATH 'c:Refs/c:InstrId',
			              pmtinf text PATH 'c:Refs/c:PmtInfId',
			              msgid text PATH 'c:Refs/c:MsgId',
			              uetr text PATH 'c:Refs/c:UETR',
			              dbtr text PATH '(c:RltdPties/c:Dbtr/c:Nm | c:RltdPties/c:Dbtr/c:Pty/c:Nm)[1]',
			              udbtr text PATH '(c:RltdPties/c:UltmtDbtr/c:Nm | c:RltdPties/c:UltmtDbtr/c:Pty/c:Nm)[1]',
			              cdtr text PATH '(c:RltdPties/c:Cdtr/c:Nm | c:RltdPties/c:Cdtr/c:Pty/c:Nm)[1]',
			              ucdtr text PATH '(c:RltdPties/c:UltmtCdtr/c:Nm | c:RltdPties/c:UltmtCdtr/c:Pty/c:Nm)[1]',
			              chrgs text PATH '(c:Chrgs/c:Amt | c:Chrgs/c:TtlChrgsAndTaxAmt)[1]',
			              chrgs_ccy text PATH '(c:Chrgs/c:Amt | c:Chrgs/c:TtlChrgsAndTaxAmt)[1]/@Ccy',
			              addtl text PATH 'c:AddtlTxInf',
			              dtl xml PATH '.') d
			LOOP
				DECLARE
					dplace text := format('%s detail %s', place, dt.d);
					damount numeric;
				BEGIN
					IF en.n_dtls = 1 THEN
						damount := amount;
					ELSE
						damount := tpwallet._camt_amount(dt.amt, coalesce(dt.ind, en.ind), dplace, 'amount');
					END IF;
					dtl_sum := dtl_sum + damount;
					items := items || ROW(entry_no, dplace, coalesce(dt.svcr_ref, en.svcr_ref, en.ntry_ref),
					                      NULLIF(NULLIF(dt.e2e, 'NOTPROVIDED'), ''), NULLIF(NULLIF(dt.txid, 'NOTPROVIDED'), ''),
					                      damount, en.ccy, booked_at, value_day,
					                      CASE WHEN damount >= 0 THEN coalesce(dt.dbtr, dt.udbtr) ELSE coalesce(dt.cdtr, dt.ucdtr) END,
					                      coalesce(dt.ustrd, dt.strd, dt.addtl, en.addtl), account, coalesce(en.rvsl IN ('true', '1'), false),
					                      CASE WHEN is_batch THEN coalesce(en.svcr_ref, en.ntry_ref, en.btch_pmtinf, en.btch_msg) END,
					                      jsonb_strip_nulls(jsonb_build_object('statement', st.id, 'entry', en.n, 'detail', dt.d,
					                          'entry_ref', en.ntry_ref, 'entry_svcr_ref', CASE WHEN is_batch THEN en.svcr_ref END,
					                          'bank_tx_code', NULLIF(concat_ws('/', en.domn, en.fmly, en.subfmly), ''),
					                          'proprietary_code', en.prtry, 'status', NULLIF(en.sts, ''),
					                          'instr_id', dt.instr, 'pmt_inf_id', coalesce(dt.pmtinf, en.btch_pmtinf),
					                          'msg_id', coalesce(dt.msgid, en.btch_msg), 'uetr', dt.uetr, 'batch_size', en.btch_n,
					                          'tx_amount', CASE WHEN en.n_dtls = 1 AND btrim(dt.amt) ~ '^[0-9]+(\.[0-9]+)?$'
					                                        AND btrim(dt.amt)::numeric <> abs(amount) THEN dt.amt END,
					                          'instructed_amount', dt.instd_amt, 'instructed_currency', dt.instd_ccy,
					                          'charges', dt.chrgs, 'charges_currency', dt.chrgs_ccy,
					                          'debtor', dt.dbtr, 'ultimate_debtor', dt.udbtr,
					                          'creditor', dt.cdtr, 'ultimate_creditor', dt.ucdtr)),
					                      CASE WHEN ref_key IS NOT NULL THEN ref_key || ':' || dt.d END,
					                      NULL, NULL, NULL, NULL)::tpwallet._recon_row;
				END;
			END LOOP;
			IF dtl_sum <> amount THEN
				RAISE EXCEPTION USING ERRCODE = '22023',
					MESSAGE = format('%s: its %s transaction details add up to %s, the entry is %s %s', place, en.n_dtls,
					                 dtl_sum, amount, en.ccy),
					HINT = 'The statement contradicts itself; ask the bank. Nothing was imported.';
			END IF;
		END LOOP;

		place := format('statement %s', coalesce(st.id, '#' || st.stmt_no));
		IF opening + total <> closing THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('%s does not add up: opening balance %s + booked entries %s = %s, but the closing balance is %s %s',
				                 place, opening, total, opening + total, closing, bal_ccy),
				DETAIL = format('%s booked entries of %s.', n_booked, n_entries),
				HINT = 'The file is incomplete or was altered; ask the bank for the statement again. Nothing was imported.';
		END IF;
		IF st.sum_n IS NOT NULL AND st.sum_n ~ '^[0-9]+$' AND st.sum_n::int <> n_entries THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('%s has %s entries, its summary (TxsSummry) says %s', place, n_entries, st.sum_n),
				HINT = 'The file is incomplete or was altered; ask the bank for the statement again. Nothing was imported.';
		END IF;
		IF (st.sum_cdt_n ~ '^[0-9]+$' AND st.sum_cdt_n::int <> cdt_n) OR (st.sum_dbt_n ~ '^[0-9]+$' AND st.sum_dbt_n::int <> dbt_n)
		   OR (st.sum_cdt ~ '^[0-9]+(\.[0-9]+)?$' AND st.sum_cdt::numeric <> cdt_sum)
		   OR (st.sum_dbt ~ '^[0-9]+(\.[0-9]+)?$' AND st.sum_dbt::numeric <> dbt_sum) THEN
			RAISE EXCEPTION USING ERRCODE = '22023',
				MESSAGE = format('%s: its entries (%s credits of %s, %s debits of %s) differ from its summary (TxsSummry)',
				                 place, cdt_n, cdt_sum, dbt_n, dbt_sum),
				HINT = 'The file is incomplete or was altered; ask the bank for the statement again. Nothing was imported.';
		END IF;
		stmts := stmts || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
			'id', st.id, 'account', account, 'currency', bal_ccy, 'opening', opening, 'closing', closing,
			'entries', n_entries, 'booked', n_booked)));
	END LOOP;
	IF jsonb_array_length(stmts) = 0 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the document has no statement (Stmt)',
			HINT = 'A camt.053 document holds one Stmt per account and period.';
	END IF;
	staged := items;
	info := jsonb_build_object('namespace', ns,
	                           'msg_id', (xpath('/c:Document/c:BkToCstmrStmt/c:GrpHdr/c:MsgId/text()', doc, ARRAY[ARRAY['c', ns]]))[1]::text,
	                           'timezone', tz, 'statements', stmts);
END
$$;

-- ---------------------------------------------------------------- writing items

-- The items with their identity hash, in file order.  A declared identity
-- (an ext_id, a camt.053 entry reference) is the identity; otherwise the
-- item's normalized content is (not where it sits in the file: the
-- statement id and the entry and detail numbers are left out), numbered
-- by its occurrence among identical items of the same file: two identical
-- lines in one file are two items, and the same file imported again gives
-- the same two hashes.
CREATE FUNCTION tpwallet._recon_hashed(staged tpwallet._recon_row[])
RETURNS SETOF tpwallet._recon_row
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT ROW(c.line, c.place, c.ext_id, c.txid, c.order_id, c.amount, c.asset, c.occurred_at, c.value_date,
	           c.counterparty, c.memo, c.account, c.is_reversal, c.batch_ref, c.extra, c.identity,
	           c.err_code, c.err_message,
	           sha256(convert_to(coalesce(c.identity,
	                  'row:' || c.content || '#' || row_number() OVER (PARTITION BY c.content COLLATE "C" ORDER BY c.ordinality)),
	                  'UTF8')),
	           sha256(convert_to(c.content, 'UTF8')))::tpwallet._recon_row
	  FROM (SELECT u.*,
	               jsonb_build_array(trim_scale(u.amount)::text, u.asset,
	                                 to_char(u.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
	                                 to_char(u.value_date, 'YYYY-MM-DD'), u.ext_id, u.txid, u.order_id,
	                                 u.counterparty, u.memo, u.account, u.is_reversal, u.batch_ref,
	                                 u.extra - 'statement' - 'entry' - 'detail')::text AS content
	          FROM unnest(staged) WITH ORDINALITY AS u) c
	 ORDER BY c.ordinality
$$;

-- Validate staged items and write the new ones with their import record.
-- Any error leaves nothing behind: the whole import is one statement.
CREATE FUNCTION tpwallet._recon_load(src tpwallet.recon_sources, fmt text, data text,
                                     staged tpwallet._recon_row[], info jsonb)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	bad record;
	n_rows int := cardinality(staged);
	n_new int;
	imp bigint;
	sha bytea := sha256(convert_to(data, 'UTF8'));
	again CONSTANT text := 'Nothing was imported: correct the file and import it again.';
BEGIN
	-- 1. the first row the parser refused, in file order
	SELECT s.place, s.err_code, s.err_message INTO bad
	  FROM unnest(staged) WITH ORDINALITY AS s WHERE s.err_code IS NOT NULL ORDER BY s.ordinality LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = bad.err_code, MESSAGE = bad.place || ': ' || bad.err_message, HINT = again;
	END IF;

	-- 2. keys the indexes can hold
	SELECT s.place, k.name INTO bad
	  FROM unnest(staged) WITH ORDINALITY AS s,
	       LATERAL (VALUES ('ext_id', s.ext_id), ('txid', s.txid), ('order_id', s.order_id), ('batch_ref', s.batch_ref)) k (name, v)
	 WHERE octet_length(k.v) > 1000 ORDER BY s.ordinality LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s: %s is longer than 1000 bytes', bad.place, bad.name), HINT = again;
	END IF;

	-- 3. no more decimal places than the asset has (for assets tpwallet knows)
	SELECT s.place, s.amount, s.asset, a.decimals INTO bad
	  FROM unnest(staged) WITH ORDINALITY AS s JOIN tpwallet.assets a ON a.code = s.asset
	 WHERE scale(trim_scale(s.amount)) > a.decimals ORDER BY s.ordinality LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = format('%s: amount %s has more decimal places than asset %s allows (%s)', bad.place, bad.amount, bad.asset, bad.decimals),
			HINT = again;
	END IF;

	staged := ARRAY(SELECT h FROM tpwallet._recon_hashed(staged) AS h);

	-- 4. a declared identity twice in the file must be the same item
	SELECT x.place, x.first_place, x.identity INTO bad
	  FROM (SELECT s.place, s.identity, s.ordinality,
	               first_value(s.place) OVER w AS first_place,
	               (s.amount, s.asset, s.occurred_at) IS DISTINCT FROM
	               (first_value(s.amount) OVER w, first_value(s.asset) OVER w, first_value(s.occurred_at) OVER w) AS differs
	          FROM unnest(staged) WITH ORDINALITY AS s
	         WHERE s.identity IS NOT NULL
	        WINDOW w AS (PARTITION BY s.row_hash ORDER BY s.ordinality)) x
	 WHERE x.differs ORDER BY x.ordinality LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '23505',
			MESSAGE = format('%s: %s is also on %s, with another amount, asset or time', bad.place,
			                 replace(bad.identity, 'ext_id:', 'ext_id '), bad.first_place),
			HINT = 'A mapped ext_id identifies one item: map it to a column of unique references, or do not map it.';
	END IF;

	-- 5. ... and the same item as in any earlier import of it
	SELECT s.place, s.amount, s.asset, s.identity, i.import_id, i.line, i.amount AS old_amount, i.asset AS old_asset
	  INTO bad
	  FROM unnest(staged) WITH ORDINALITY AS s
	  JOIN tpwallet.recon_items i ON i.source_id = src.id AND i.row_hash = s.row_hash
	 WHERE s.identity IS NOT NULL
	   AND (i.amount, i.asset, i.occurred_at) IS DISTINCT FROM (s.amount, s.asset, s.occurred_at)
	 ORDER BY s.ordinality LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '23505',
			MESSAGE = format('%s: %s was imported before with another amount, asset or time', bad.place,
			                 CASE WHEN bad.identity LIKE 'ext_id:%' THEN replace(bad.identity, 'ext_id:', 'ext_id ') ELSE 'this entry' END),
			DETAIL = format('Import %s (line %s) has %s %s; this file has %s %s.', bad.import_id, coalesce(bad.line::text, '-'),
			                bad.old_amount, bad.old_asset, bad.amount, bad.asset),
			HINT = 'Items never change. If the earlier import was wrong, the difference is for reconciliation to show.';
	END IF;

	-- 6. write: the import, then its new items in file order (the first of
	-- rows that share a declared identity)
	SELECT count(DISTINCT s.row_hash) INTO n_new
	  FROM unnest(staged) AS s
	 WHERE NOT EXISTS (SELECT 1 FROM tpwallet.recon_items i WHERE i.source_id = src.id AND i.row_hash = s.row_hash);
	INSERT INTO tpwallet.recon_imports (source_id, format, file_sha256, rows, added, skipped, detail)
	VALUES (src.id, fmt, sha, n_rows, n_new, n_rows - n_new, info)
	RETURNING import_id INTO imp;
	INSERT INTO tpwallet.recon_items (source_id, import_id, line, ext_id, txid, order_id, amount, asset,
	                                  occurred_at, value_date, counterparty, memo, account, is_reversal,
	                                  batch_ref, extra, row_hash, content_hash)
	SELECT src.id, imp, d.line, d.ext_id, d.txid, d.order_id, trim_scale(d.amount), d.asset, d.occurred_at, d.value_date,
	       d.counterparty, d.memo, d.account, d.is_reversal, d.batch_ref, d.extra, d.row_hash, d.content_hash
	  FROM (SELECT DISTINCT ON (s.row_hash) s.*
	          FROM unnest(staged) WITH ORDINALITY AS s
	         WHERE NOT EXISTS (SELECT 1 FROM tpwallet.recon_items i WHERE i.source_id = src.id AND i.row_hash = s.row_hash)
	         ORDER BY s.row_hash, s.ordinality) d
	 ORDER BY d.ordinality;
	INSERT INTO tpwallet.audit_log (action, object, detail)
	VALUES ('import_statement', src.name, jsonb_build_object('import_id', imp, 'format', fmt,
	        'sha256', encode(sha, 'hex'), 'rows', n_rows, 'added', n_new, 'skipped', n_rows - n_new));
	RETURN n_new;
END
$$;

-- ---------------------------------------------------------------- import

CREATE FUNCTION tpwallet.import_statement(source text, data text, format text DEFAULT 'csv', mapping jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	src tpwallet.recon_sources;
	fmt text := lower(btrim(import_statement.format));
	parsed record;
BEGIN
	src := tpwallet._recon_source(source, 'statement');
	IF fmt IS NULL OR fmt NOT IN ('csv', 'camt053') THEN
		RAISE EXCEPTION USING ERRCODE = '22023',
			MESSAGE = pg_catalog.format('unknown statement format %L', import_statement.format),
			HINT = 'Formats: csv (with a header line and a mapping) and camt053 (ISO 20022 camt.053.001.02 to .08).';
	END IF;
	IF data IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'data must not be null';
	END IF;
	IF mapping IS NOT NULL AND jsonb_typeof(mapping) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mapping must be a JSON object';
	END IF;
	IF fmt = 'csv' THEN
		parsed := tpwallet._recon_stage_csv(src.config, data, mapping);
	ELSE
		parsed := tpwallet._recon_stage_camt(src.config, data, mapping);
	END IF;
	RETURN tpwallet._recon_load(src, fmt, data, parsed.staged, parsed.info);
END
$$;
COMMENT ON FUNCTION tpwallet.import_statement IS
	'Import a statement (csv with a mapping, or camt053) into a statement source: all rows or none; rows already imported are skipped. Returns the number of items added.';
