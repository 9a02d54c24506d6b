-- Reconciliation, part 1: sources, the ledger's postings as items, CSV and
-- camt.053 statement import, duplicates, and bad input (a clear SQLSTATE,
-- nothing written).
\set SHOW_CONTEXT never
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM tpwallet.assets WHERE code = 'USD') THEN
		PERFORM tpwallet.create_asset('USD', 2, 'fiat');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM tpwallet.assets WHERE code = 'EUR') THEN
		PERFORM tpwallet.create_asset('EUR', 2, 'fiat');
	END IF;
END $$;

-- What reconciliation has written: sources, imports, items.
CREATE FUNCTION test.recon_rows() RETURNS text LANGUAGE sql AS $$
	SELECT format('sources=%s imports=%s items=%s',
		(SELECT count(*) FROM tpwallet.recon_sources), (SELECT count(*) FROM tpwallet.recon_imports),
		(SELECT count(*) FROM tpwallet.recon_items))
$$;
CREATE FUNCTION test.items(src text) RETURNS TABLE (line int, ext_id text, txid text, order_id text, amount numeric,
	asset text, occurred_at text, value_date text, counterparty text, memo text)
LANGUAGE sql AS $$
	SELECT i.line, i.ext_id, i.txid, i.order_id, i.amount, i.asset,
	       to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), to_char(i.value_date, 'YYYY-MM-DD'),
	       i.counterparty, i.memo
	  FROM tpwallet.recon_items i JOIN tpwallet.recon_sources s ON s.id = i.source_id
	 WHERE s.name = src ORDER BY i.item_id
$$;

-- ===================================================== sources

SELECT tpwallet.create_account('rc:bank:USD', 'ops', 'USD', 'debit') > 0 AS created;
SELECT tpwallet.create_account('rc:wallet:USD', 'ops', 'USD', 'credit') > 0 AS created;
SELECT tpwallet.create_account('rc:world:USD', 'ops', 'USD', 'debit', allow_negative => true) > 0 AS created;
SELECT tpwallet.create_account('rc:gl:cash:USD', 'gl', 'USD', 'debit') > 0 AS created;

SELECT tpwallet.create_recon_source('rc-ledger', 'ledger', '{"book": "ops", "accounts": ["rc:bank:USD"]}') > 0 AS ledger_source;
SELECT tpwallet.create_recon_source('rc-wallet', 'ledger', '{"accounts": ["rc:wallet:USD"]}') > 0 AS book_inferred;
SELECT name, kind, config FROM tpwallet.recon_sources WHERE name LIKE 'rc-%' ORDER BY id;
SELECT tpwallet.create_recon_source('rc-bank', 'statement', '{"asset": "USD"}') > 0 AS statement_source;
SELECT action, object, detail - 'id' AS detail FROM tpwallet.audit_log WHERE action = 'create_recon_source' ORDER BY id;

-- bad sources: a clear SQLSTATE, nothing written
SELECT test.recon_rows();
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'ledger', '{"book": "ops", "accounts": ["rc:nobody"]}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'ledger', '{"book": "ops", "accounts": ["rc:bank:USD", "rc:gl:cash:USD"]}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'ledger', '{"accounts": ["rc:bank:USD", "rc:gl:cash:USD"]}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'ledger', '{"book": "ops", "accounts": ["rc:bank:USD", "rc:bank:USD"]}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'ledger', '{"book": "ops", "accounts": []}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'ledger', '{"book": "ops", "accounts": [7]}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'ledger', '{"book": "ledger", "accounts": ["rc:bank:USD"]}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'ledger', '{"accounts": ["rc:bank:USD"], "asset": "USD"}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'statement', '{"book": "ops"}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'statement', '{"asset": "US Dollar"}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'statement', '{"timezone": "Mars/Olympus"}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'statement', '{"mapping": {"amout": "Amount"}}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'statement', '{"mapping": {"decimal": ",", "thousands": ","}}')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'custodian')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc x', 'statement')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-x', 'statement', '[]')$$);
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-bank', 'statement')$$);
SELECT test.recon_rows();

-- ===================================================== ledger items

-- a deposit (the bank account is debited: money in), a withdrawal with
-- txid and order_id in the metadata, and one outside the window
SELECT tpwallet.transfer('rc:bank:USD', 'rc:wallet:USD', 250.00, reference => 'dep-7',
                         occurred_at => '2024-03-01 09:00Z') AS e1 \gset
SELECT tpwallet.transfer('rc:wallet:USD', 'rc:bank:USD', 40.00, reference => 'payout 3',
                         occurred_at => '2024-03-02 15:30Z',
                         metadata => '{"txid": "0xabc", "order_id": "ord-3", "counterparty": "ACME Oy"}') AS e2 \gset
SELECT tpwallet.transfer('rc:world:USD', 'rc:wallet:USD', 5.00, occurred_at => '2024-03-02 16:00Z') > 0 AS posted;
SELECT tpwallet.transfer('rc:bank:USD', 'rc:world:USD', 1.00, occurred_at => '2024-04-01 00:00Z') > 0 AS posted;

-- the window is [from, to): the April posting is outside
SELECT tpwallet.recon_sync_ledger('rc-ledger', '2024-03-01Z', '2024-04-01Z') AS added;
-- again, and an overlapping window: nothing twice
SELECT tpwallet.recon_sync_ledger('rc-ledger', '2024-03-01Z', '2024-04-01Z') AS again;
SELECT tpwallet.recon_sync_ledger('rc-ledger', '2024-02-15Z', '2024-03-15Z') AS overlap;
-- the other side: the wallet (credit-normal) sees the deposit as money in too
SELECT tpwallet.recon_sync_ledger('rc-wallet', NULL, NULL) AS wallet;
SELECT s.name, i.entry_id - :e1 AS entry, i.leg, i.account, i.amount, i.asset, i.txid, i.order_id,
       i.counterparty, i.is_reversal, to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS occurred_at
  FROM tpwallet.recon_items i JOIN tpwallet.recon_sources s ON s.id = i.source_id
 WHERE s.name IN ('rc-ledger', 'rc-wallet') ORDER BY s.name, i.item_id;
-- a reversal of the payout, and the April posting: a later run picks up only those
SELECT tpwallet.reverse_entry(:e2, 'test reversal') IS NOT NULL AS reversed;
SELECT tpwallet.recon_sync_ledger('rc-ledger', '2024-01-01Z', NULL) AS later;
SELECT i.amount, i.is_reversal, i.extra ->> 'kind' AS kind
  FROM tpwallet.recon_items i JOIN tpwallet.recon_sources s ON s.id = i.source_id
 WHERE s.name = 'rc-ledger' ORDER BY i.item_id;
SELECT m.format, m.rows, m.added, m.skipped, m.file_sha256 IS NULL AS no_file,
       to_char((m.detail ->> 'from')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "from",
       to_char((m.detail ->> 'to')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "to"
  FROM tpwallet.recon_imports m JOIN tpwallet.recon_sources s ON s.id = m.source_id
 WHERE s.name = 'rc-ledger' ORDER BY m.import_id;
SELECT test.err($$SELECT tpwallet.recon_sync_ledger('rc-nowhere', NULL, NULL)$$);
SELECT test.err($$SELECT tpwallet.recon_sync_ledger('rc-bank', NULL, NULL)$$);
SELECT test.err($$SELECT tpwallet.recon_sync_ledger('rc-ledger', '2024-05-01', '2024-04-01')$$);

-- ===================================================== CSV

-- the reader underneath: records, the line each starts on, the fields
SELECT * FROM tpwallet._csv_rows(E'a;b\r\n"x;1";"two\nlines"\r\n\r\n"say ""hi""";\r\n', ';');

-- default mapping (columns named like the fields); quoted fields with
-- the delimiter, quotes and line breaks; CRLF
SELECT E'ext_id,amount,occurred_at,txid,counterparty,memo\r\n'
	'B-1,250.00,2024-03-01T09:02:00Z,dep-7,"Doe, Jane","first ""deposit"""\r\n'
	'B-2,-40,2024-03-02,0xabc,ACME Oy,"payout\r\nline two"\r\n' AS csv1 \gset
SELECT tpwallet.import_statement('rc-bank', :'csv1') AS added;
SELECT * FROM test.items('rc-bank');
-- the same file again, then a file that overlaps it: only the new row
SELECT tpwallet.import_statement('rc-bank', :'csv1') AS again;
SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nB-2,-40.00,2024-03-02\nB-3,12.5,2024-03-03\n') AS overlap;
SELECT m.format, m.rows, m.added, m.skipped, m.file_sha256 = sha256(convert_to(:'csv1', 'UTF8')) AS sha_of_file
  FROM tpwallet.recon_imports m JOIN tpwallet.recon_sources s ON s.id = m.source_id
 WHERE s.name = 'rc-bank' ORDER BY m.import_id;
SELECT detail - 'import_id' AS detail FROM tpwallet.audit_log WHERE action = 'import_statement' ORDER BY id DESC LIMIT 1;

-- decimal comma, thousands ".", ";" between fields, trailing minus, a
-- date_format, times in Helsinki, a UTF-8 BOM, the asset from a column
SELECT tpwallet.create_recon_source('rc-fi', 'statement', '{"timezone": "Europe/Helsinki", "mapping":
  {"ext_id": "Arkistointitunnus", "amount": "Määrä", "asset": "Valuutta", "occurred_at": "Kirjauspäivä",
   "value_date": "Arvopäivä", "counterparty": "Saaja/Maksaja", "memo": "Viesti",
   "delimiter": ";", "decimal": ",", "thousands": ".", "date_format": "DD.MM.YYYY HH24:MI"}}') > 0 AS fi_source;
SELECT tpwallet.import_statement('rc-fi', E'\xEF\xBB\xBFKirjauspäivä;Arvopäivä;Määrä;Valuutta;Saaja/Maksaja;Viesti;Arkistointitunnus\n'
	'01.03.2024 09:15;01.03.2024;1.234,56;EUR;"Oy Yritys; Ab";"lasku 7";A1\n'
	'2.3.2024;4.3.2024;12,50-;EUR;Kauppa;;A2\n'
	'31.03.2024 23:59;31.03.2024;-0,01;EUR;;"ääkköset ""ok""";A3\n') AS added;
SELECT * FROM test.items('rc-fi');

-- debit and credit columns: credit is money in (positive), debit money
-- out (negative), whether the bank prints debits with a minus or not
SELECT tpwallet.create_recon_source('rc-dc', 'statement', '{"asset": "USD"}') > 0 AS dc_source;
SELECT tpwallet.import_statement('rc-dc', E'Date,Reference,Debit,Credit,Details\n'
	'2024-03-04,R1,,100.00,incoming\n'
	'2024-03-04,R2,25.10,,fee\n'
	'2024-03-05,R3,-7.00,0.00,card\n',
	mapping => '{"occurred_at": "Date", "ext_id": "Reference", "debit": "Debit", "credit": "Credit", "memo": "Details"}') AS added;
SELECT ext_id, amount, memo FROM test.items('rc-dc');

-- no ext_id: identical rows are told apart by their occurrence in the file
SELECT tpwallet.create_recon_source('rc-noid', 'statement', '{"asset": "USD"}') > 0 AS noid_source;
SELECT E'occurred_at,amount,memo\n2024-03-06,5.00,coffee\n2024-03-06,5.00,coffee\n2024-03-06,7.00,lunch\n' AS csv2 \gset
SELECT tpwallet.import_statement('rc-noid', :'csv2') AS two_identical_rows_are_two_items;
SELECT tpwallet.import_statement('rc-noid', :'csv2') AS same_file_again;
-- the same rows written differently (5 = 5.00, same instant in another zone): the same items
SELECT tpwallet.import_statement('rc-noid', E'occurred_at,amount,memo\n2024-03-06T02:00:00+02:00,5,coffee\n') AS same_row_reformatted;
-- a later export of that day with a third coffee: one new item
SELECT tpwallet.import_statement('rc-noid', :'csv2' || E'2024-03-06,5.00,coffee\n') AS third_coffee;
SELECT amount, memo, count(*) FROM test.items('rc-noid') GROUP BY 1, 2 ORDER BY 1;
-- an asset tpwallet does not know has no decimal places to check
SELECT tpwallet.import_statement('rc-noid', E'occurred_at,amount,asset\n2024-03-06,0.123456789,XAU\n') AS unknown_asset;
-- blank lines and lines of empty cells are skipped; a header-only file imports nothing
SELECT tpwallet.import_statement('rc-noid', E'occurred_at,amount,memo\n\n,,\n  ,\t,\n') AS blank_lines;
SELECT test.recon_rows();

-- a mapped ext_id identifies an item: repeated with the same content is one
-- item, with other content the file is refused, as is a changed re-import
SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nB-4,1.00,2024-03-07\nB-4,1.00,2024-03-07\n') AS repeated_once;
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nB-5,1.00,2024-03-07\nB-5,2.00,2024-03-07\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nB-6,3.00,2024-03-08\nB-1,250.01,2024-03-01T09:02:00Z\n')$$);

-- a bad row refuses the whole file, naming its line (line 3 holds a line
-- break inside quotes, so the bad row starts on line 7)
SELECT test.recon_rows();
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at,memo\n'
	'C-1,1.00,2024-03-09,ok\nC-2,2.00,2024-03-09,"two\nlines"\nC-3,3.00,2024-03-09,\n\nC-4,"12,3,4",2024-03-09,bad\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1.00,2024-03-09\nC-2,,2024-03-09\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1.001,2024-03-09\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1.00,2024-02-30\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1.00,03/09/2024\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1.00,\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1.00\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1.00,2024-03-09,extra\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at,value_date\nC-1,1.00,2024-03-09,tomorrow\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at,asset\nC-1,1.00,2024-03-09,US$\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1e3,2024-03-09\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-dc', E'Date,Debit,Credit\n2024-03-09,1.00,2.00\n', mapping => '{"occurred_at": "Date", "debit": "Debit", "credit": "Credit"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-dc', E'Date,Debit,Credit\n2024-03-09,,\n', mapping => '{"occurred_at": "Date", "debit": "Debit", "credit": "Credit"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-dc', E'Date,Debit,Credit\n2024-03-09,,-2.00\n', mapping => '{"occurred_at": "Date", "debit": "Debit", "credit": "Credit"}')$$);
-- CSV syntax: unbalanced quotes, a quote inside a field, text after a closing quote
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1.00,2024-03-09\nC-2,"2.00,2024-03-09\nC-3,3.00,2024-03-09\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\nC-1,1.0"0,2024-03-09\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'ext_id,amount,occurred_at\n"C-1"x,1.00,2024-03-09\n')$$);
SELECT test.recon_rows();

-- bad mappings name the field or the column
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"amout": "a"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"amount": "Betrag", "occurred_at": "b"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"amount": "a"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"occurred_at": "a"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"amount": "a", "debit": "b", "credit": "b"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"debit": "a", "occurred_at": "b"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"amount": 1}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,a\n1,2\n', mapping => '{"amount": "a", "occurred_at": "a"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"amount": "a", "occurred_at": "b", "decimal": ";"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"amount": "a", "occurred_at": "b", "delimiter": "::"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"amount": "a", "occurred_at": "b", "timezone": "Nowhere/City"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '{"amount": "a", "occurred_at": "b", "date_format": "DD.MM"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a,b\n1,2\n', mapping => '["a"]')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-noid', E'a,b\n1,2\n', mapping => '{"amount": "a", "occurred_at": "b"}')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-fi', E'a;b\n1;2024-01-01\n', mapping => '{"amount": "a", "occurred_at": "b", "delimiter": ";"}')$$);
-- the source, the format, the data
SELECT test.err($$SELECT tpwallet.import_statement('rc-nowhere', E'a\n1\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-ledger', E'a\n1\n')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', E'a\n1\n', 'mt940')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', NULL)$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-bank', '')$$);
SELECT test.recon_rows();

-- ===================================================== camt.053

-- The Finnish banks' sample statement (test/data/camt053, Apache-2.0):
-- ten entries, batches, OPBD 10000.00 + entries = CLBD 23644.83.
\set camt `cat test/data/camt053/FI_camt_053_sample.xml`
SELECT tpwallet.create_recon_source('rc-camt', 'statement', '{"account": "FI74 3301 0001 2220 90", "timezone": "Europe/Helsinki"}') > 0 AS camt_source;
SELECT tpwallet.import_statement('rc-camt', :'camt', 'camt053') AS added;
SELECT line, ext_id, txid, order_id, amount, asset, occurred_at, value_date, counterparty, memo FROM test.items('rc-camt');
SELECT i.line, i.account, i.batch_ref, i.is_reversal, i.extra ->> 'bank_tx_code' AS bank_tx_code,
       i.extra ->> 'instr_id' AS instr_id, i.extra ->> 'pmt_inf_id' AS pmt_inf_id, i.extra ->> 'charges' AS charges
  FROM tpwallet.recon_items i JOIN tpwallet.recon_sources s ON s.id = i.source_id
 WHERE s.name = 'rc-camt' ORDER BY i.item_id;
SELECT count(*) AS items, sum(amount) AS net, 10000.00 + sum(amount) AS closing FROM test.items('rc-camt');
SELECT m.rows, m.added, m.detail FROM tpwallet.recon_imports m JOIN tpwallet.recon_sources s ON s.id = m.source_id
 WHERE s.name = 'rc-camt';
-- again: nothing new (the two charges details share a bank reference and stay two items)
SELECT tpwallet.import_statement('rc-camt', :'camt', 'CAMT053') AS again;

-- a statement that does not add up, a truncated file, a DOCTYPE, not camt.053, another account
SELECT test.recon_rows();
SELECT test.err(format('SELECT tpwallet.import_statement(%L, %L, %L)', 'rc-camt',
	replace(:'camt', '<Amt Ccy="EUR">23644.83</Amt>', '<Amt Ccy="EUR">23644.84</Amt>'), 'camt053'));
SELECT test.err(format('SELECT tpwallet.import_statement(%L, %L, %L)', 'rc-camt',
	replace(:'camt', '<Amt Ccy="EUR">500.00</Amt>', '<Amt Ccy="EUR">501.00</Amt>'), 'camt053'));
SELECT test.err(format('SELECT tpwallet.import_statement(%L, %L, %L)', 'rc-camt', left(:'camt', 20000), 'camt053'));
SELECT test.err($$SELECT tpwallet.import_statement('rc-camt', '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><Document/>', 'camt053')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-camt', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>', 'camt053')$$);
SELECT test.err($$SELECT tpwallet.import_statement('rc-camt', 'ext_id,amount', 'camt053')$$);
SELECT test.err(format('SELECT tpwallet.import_statement(%L, %L, %L)', 'rc-camt',
	replace(:'camt', 'FI7433010001222090', 'FI2112345600000785'), 'camt053'));
SELECT test.err(format('SELECT tpwallet.import_statement(%L, %L, %L, %L)', 'rc-camt', :'camt', 'camt053', '{"decimal": ","}'));
SELECT test.recon_rows();

-- camt.053.001.08: Sts/Cd, a booking time without an offset (Helsinki),
-- a reversal, a pending entry (not on the books: skipped), a batch whose
-- details carry their own Amt and CdtDbtInd, Pty/Nm names, NOTPROVIDED,
-- and an entry without a bank reference (identity by content)
SELECT '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M8</MsgId><CreDtTm>2024-03-11T06:00:00+02:00</CreDtTm></GrpHdr><Stmt><Id>S8</Id><Acct><Id><Othr><Id>123-456</Id></Othr></Id><Ccy>USD</Ccy></Acct><Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">50.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2024-03-10</Dt></Dt></Bal><Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">70.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-10</Dt></Dt></Bal>'
	'<Ntry><NtryRef>N1</NtryRef><Amt Ccy="USD">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2024-03-10T10:00:00</DtTm></BookgDt><ValDt><Dt>2024-03-11</Dt></ValDt><AcctSvcrRef>R1</AcctSvcrRef><BkTxCd/><NtryDtls><Btch><PmtInfId>PI-9</PmtInfId><NbOfTxs>2</NbOfTxs></Btch><TxDtls><Refs><EndToEndId>E2E-1</EndToEndId><TxId>TX-1</TxId></Refs><Amt Ccy="USD">60.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><RltdPties><Dbtr><Pty><Nm>Alice Ltd</Nm></Pty></Dbtr></RltdPties><RmtInf><Ustrd>invoice</Ustrd><Ustrd>42</Ustrd></RmtInf></TxDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><Amt Ccy="USD">40.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><RltdPties><Dbtr><Pty><Nm>Bob</Nm></Pty></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>'
	'<Ntry><Amt Ccy="USD">30.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-03-10</Dt></BookgDt><BkTxCd/><AddtlNtryInf>return of a card refund</AddtlNtryInf></Ntry>'
	'<Ntry><Amt Ccy="USD">999.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts><BkTxCd/></Ntry>'
	'<Ntry><Amt Ccy="USD">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-03-10</Dt></BookgDt><BkTxCd/></Ntry><Ntry><Amt Ccy="USD">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-03-10</Dt></BookgDt><BkTxCd/></Ntry>'
	'</Stmt></BkToCstmrStmt></Document>' AS camt8 \gset
SELECT tpwallet.create_recon_source('rc-camt8', 'statement', '{"timezone": "Europe/Helsinki"}') > 0 AS camt8_source;
SELECT tpwallet.import_statement('rc-camt8', :'camt8', 'camt053') AS added;
SELECT line, ext_id, txid, order_id, amount, occurred_at, value_date, counterparty, memo FROM test.items('rc-camt8');
SELECT i.account, i.is_reversal, i.batch_ref, i.extra ->> 'pmt_inf_id' AS pmt_inf_id
  FROM tpwallet.recon_items i JOIN tpwallet.recon_sources s ON s.id = i.source_id
 WHERE s.name = 'rc-camt8' ORDER BY i.item_id;
SELECT tpwallet.import_statement('rc-camt8', :'camt8', 'camt053', '{"timezone": "Europe/Helsinki"}') AS again;
-- re-delivered under another statement id: the same items, none new
SELECT tpwallet.import_statement('rc-camt8', replace(:'camt8', '<Id>S8</Id>', '<Id>S8-again</Id>'), 'camt053') AS redelivered;
-- details that do not add up to their entry; a currency that is not the statement's
SELECT test.err(format('SELECT tpwallet.import_statement(%L, %L, %L)', 'rc-camt8',
	replace(:'camt8', '<Amt Ccy="USD">40.00</Amt>', '<Amt Ccy="USD">41.00</Amt>'), 'camt053'));
SELECT test.err(format('SELECT tpwallet.import_statement(%L, %L, %L)', 'rc-camt8',
	replace(:'camt8', '<Amt Ccy="USD">30.00</Amt>', '<Amt Ccy="EUR">30.00</Amt>'), 'camt053'));
SELECT test.err(format('SELECT tpwallet.import_statement(%L, %L, %L)', 'rc-camt8',
	replace(:'camt8', '<CdtDbtInd>DBIT</CdtDbtInd><RvslInd>', '<CdtDbtInd>DEBIT</CdtDbtInd><RvslInd>'), 'camt053'));
SELECT test.err(format('SELECT tpwallet.import_statement(%L, %L, %L)', 'rc-camt8',
	replace(:'camt8', '<Cd>CLBD</Cd>', '<Cd>CLAV</Cd>'), 'camt053'));
SELECT test.recon_rows();

-- ===================================================== guards and roles

SELECT test.err($$UPDATE tpwallet.recon_items SET amount = 0$$);
SELECT test.err($$DELETE FROM tpwallet.recon_imports$$);
SELECT test.err($$TRUNCATE tpwallet.recon_items$$);
SELECT test.err($$DELETE FROM tpwallet.recon_sources$$);
SELECT tpwallet._guards_intact();

CREATE ROLE regress_rc_reader;
CREATE ROLE regress_rc_operator;
GRANT tpwallet_reader TO regress_rc_reader;
GRANT tpwallet_operator TO regress_rc_operator;
SET ROLE regress_rc_reader;
SELECT count(*) > 0 AS reader_reads FROM tpwallet.recon_items;
SELECT test.err($$SELECT tpwallet.import_statement('rc-noid', E'occurred_at,amount\n2024-03-12,1\n')$$);
SELECT test.err($$INSERT INTO tpwallet.recon_sources (name, kind) VALUES ('rc-y', 'statement')$$);
RESET ROLE;
SET ROLE regress_rc_operator;
SELECT tpwallet.import_statement('rc-noid', E'occurred_at,amount\n2024-03-12,1\n') AS operator_imports;
SELECT tpwallet.recon_sync_ledger('rc-ledger', NULL, NULL) AS operator_syncs;
SELECT test.err($$SELECT tpwallet.create_recon_source('rc-y', 'statement')$$);
RESET ROLE;
SELECT imported_by = session_user AS recorded FROM tpwallet.recon_imports ORDER BY import_id DESC LIMIT 1;
DROP OWNED BY regress_rc_reader, regress_rc_operator;
DROP ROLE regress_rc_reader, regress_rc_operator;
