-- ===================================================================
-- Ownership and privileges.  Tables belong to tpwallet_owner (NOLOGIN);
-- nobody else writes them except through the SECURITY DEFINER API.
-- ===================================================================

DO $own$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT c.relname, c.relkind FROM pg_catalog.pg_class c
	          WHERE c.relnamespace = 'tpwallet'::regnamespace AND c.relkind IN ('r', 'S', 'v')
	            -- identity sequences follow their table
	            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
	                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
	                               AND d.deptype = 'i')
	LOOP
		EXECUTE format('ALTER %s tpwallet.%I OWNER TO tpwallet_owner',
		               CASE r.relkind WHEN 'r' THEN 'TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'VIEW' END,
		               r.relname);
	END LOOP;
	FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_catalog.pg_proc p
	          WHERE p.pronamespace = 'tpwallet'::regnamespace AND p.prosecdef
	LOOP
		EXECUTE format('ALTER FUNCTION %s OWNER TO tpwallet_owner', r.sig);
	END LOOP;
END
$own$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tpwallet FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA tpwallet FROM PUBLIC;

-- readers: views and balances
GRANT SELECT ON tpwallet.account_balances, tpwallet.account_details, tpwallet.entries,
	tpwallet.entry_postings, tpwallet.hold_status, tpwallet.blocks, tpwallet.assets
	TO tpwallet_reader;
GRANT EXECUTE ON FUNCTION tpwallet.balance(text), tpwallet.balance_at(text, timestamptz, text),
	tpwallet.account_statement(text, timestamptz, timestamptz, int, bigint),
	tpwallet._account_id(text) TO tpwallet_reader;

-- operators: post money
GRANT EXECUTE ON FUNCTION
	tpwallet.transfer(text, text, numeric, text, text, timestamptz, jsonb),
	tpwallet.post_entry(text, jsonb, text, text, timestamptz, jsonb),
	tpwallet.post_batch(jsonb),
	tpwallet.hold(text, text, numeric, timestamptz, text, text, jsonb),
	tpwallet.post_hold(bigint, numeric),
	tpwallet.void_hold(bigint)
	TO tpwallet_operator;

-- admins: reference data, reversals, closing, sealing, maintenance
GRANT EXECUTE ON FUNCTION
	tpwallet.create_asset(text, int, text, text, jsonb),
	tpwallet.create_account(text, text, text, text, boolean, jsonb),
	tpwallet.close_account(text),
	tpwallet.reverse_entry(bigint, text),
	tpwallet.seal(),
	tpwallet.fold_deltas(int),
	tpwallet.expire_holds(),
	tpwallet.summarize_new_ranges(regclass)
	TO tpwallet_admin;

-- auditors: everything readable, every check
GRANT SELECT ON ALL TABLES IN SCHEMA tpwallet TO tpwallet_auditor;
GRANT EXECUTE ON FUNCTION tpwallet.verify_ledger(), tpwallet.prove_entry(bigint),
	tpwallet.verify_proof(jsonb), tpwallet.check_balances(), tpwallet.check_pending()
	TO tpwallet_auditor;

-- keys and signing: pure primitives for everyone; key management for
-- admins; signing only for members of tpwallet_signer (not implied by admin:
-- whoever manages keys does not sign with them by default).
GRANT EXECUTE ON FUNCTION tpwallet.keccak256(bytea), tpwallet.rlp_encode(jsonb),
	tpwallet.rlp_decode(bytea), tpwallet.eth_address(bytea), tpwallet.ecrecover(bytea, bytea),
	tpwallet.verify_signature(bytea, bytea, bytea), tpwallet._pubkey_uncompressed(bytea),
	tpwallet.eth_decode_transaction(bytea)
	TO PUBLIC;
GRANT EXECUTE ON FUNCTION tpwallet.create_key(text, text), tpwallet.import_key(text, bytea, text),
	tpwallet.set_key_status(text, text)
	TO tpwallet_admin;
GRANT EXECUTE ON FUNCTION tpwallet.sign_digest(text, bytea), tpwallet.sign_digests(text, bytea[]),
	tpwallet.eth_sign_transaction(text, jsonb)
	TO tpwallet_signer;
GRANT SELECT ON tpwallet.keys TO tpwallet_reader, tpwallet_signer, tpwallet_admin;
GRANT SELECT ON tpwallet.signatures TO tpwallet_auditor, tpwallet_admin;
-- sealed private keys: nobody but the owner, not even auditors
REVOKE ALL ON tpwallet.key_secrets FROM tpwallet_auditor;

-- FROST: pure functions for everyone; shares imported by admins; rounds one
-- and two, and the local coordinator, for signers; sealed shares and nonces
-- readable by nobody.
GRANT EXECUTE ON FUNCTION tpwallet.frost_keygen(int, int, bytea, bytea[]), tpwallet.frost_nonce(bytea, bytea), tpwallet.frost_commitment(int, bytea, bytea),
	tpwallet.frost_sign_share(int, bytea, bytea, bytea, bytea, bytea, jsonb),
	tpwallet.frost_aggregate(bytea, bytea, jsonb, jsonb), tpwallet.frost_verify(bytea, bytea, bytea)
	TO PUBLIC;
GRANT EXECUTE ON FUNCTION tpwallet.frost_import_share(text, int, bytea, bytea) TO tpwallet_admin;
GRANT EXECUTE ON FUNCTION tpwallet.frost_commit(text), tpwallet.frost_sign(text, bigint, bytea, jsonb),
	tpwallet.frost_sign_with(text[], bytea), tpwallet.schnorr_sign(text, bytea, bytea),
	tpwallet.schnorr_sign_batch(text, bytea[])
	TO tpwallet_signer;
GRANT EXECUTE ON FUNCTION tpwallet.schnorr_verify(bytea, bytea, bytea) TO PUBLIC;
GRANT SELECT ON tpwallet.frost_participants TO tpwallet_reader, tpwallet_signer, tpwallet_admin;
REVOKE ALL ON tpwallet.frost_shares, tpwallet.frost_nonces FROM tpwallet_auditor;

-- prices: readers read prices and valuations; operators push ticks; admins
-- manage sources and pairs.  _publish_price and _sources_changed stay with
-- the owner: nobody else may put a price into shared memory.
GRANT EXECUTE ON FUNCTION tpwallet._valid_code(text, text), tpwallet._hex_address(jsonb, text),
	tpwallet._check_price(numeric, text),
	tpwallet._publish_price(text, text, numeric, numeric, int, text, numeric, float8, timestamptz, timestamptz, text, interval),
	tpwallet._shm_prices(), tpwallet._sources_changed(), tpwallet.price(text, text),
	tpwallet._abi_word(text, int, boolean), tpwallet._json_number(jsonb),
	tpwallet._twap(text, text, timestamptz, timestamptz)
	TO tpwallet_owner;
GRANT EXECUTE ON FUNCTION tpwallet.price(text, text), tpwallet.price_info(text, text),
	tpwallet.price_at(text, text, timestamptz)
	TO tpwallet_reader;
GRANT SELECT ON tpwallet.latest_prices, tpwallet.valuations, tpwallet.portfolios TO tpwallet_reader;
GRANT EXECUTE ON FUNCTION tpwallet.record_tick(text, numeric, timestamptz, numeric) TO tpwallet_operator;
GRANT EXECUTE ON FUNCTION tpwallet.add_price_source(text, text, text, text, text, text, numeric, interval, interval, interval, jsonb),
	tpwallet.set_price_source_enabled(text, boolean), tpwallet.set_price_pair(text, text, jsonb),
	tpwallet.refresh_prices()
	TO tpwallet_admin;

-- pg_dump must back up the ledger's data, not only CREATE EXTENSION.
-- Not frost_nonces: a restored backup must never bring back round-one nonces
-- that may have signed since (a reused nonce gives the share away); its
-- sequence is dumped so that new commitment ids do not collide with used ones.
-- (One call per command: each call updates the pg_extension row.)
DO $dump$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['assets', 'accounts', 'account_deltas', 'journal', 'postings', 'idempotency',
	                         'holds', 'hold_resolutions', 'seals', 'block_members', 'audit_log',
	                         'journal_id_seq', 'hold_id_seq', 'seal_id_seq',
	                         'accounts_id_seq', 'audit_log_id_seq',
	                         'signing_keys', 'key_secrets', 'signature_log',
	                         'signing_keys_id_seq', 'signature_log_id_seq',
	                         'frost_shares', 'frost_nonce_uses',
	                         'frost_shares_id_seq', 'frost_nonces_commitment_id_seq',
	                         'price_pairs', 'price_sources', 'price_ticks', 'price_aggregates',
	                         'price_source_state', 'price_source_errors',
	                         'price_sources_id_seq', 'price_source_errors_id_seq']
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('tpwallet.' || t)::regclass, '');
	END LOOP;
END
$dump$;

-- reconciliation: readers read sources, imports and items; operators
-- import statements and sync the ledger; admins create sources.  The
-- parsers and the import's internals run as the owner, inside those calls.
GRANT SELECT ON tpwallet.recon_sources, tpwallet.recon_imports, tpwallet.recon_items TO tpwallet_reader;
GRANT EXECUTE ON FUNCTION tpwallet.import_statement(text, text, text, jsonb),
	tpwallet.recon_sync_ledger(text, timestamptz, timestamptz)
	TO tpwallet_operator;
GRANT EXECUTE ON FUNCTION tpwallet.create_recon_source(text, text, jsonb) TO tpwallet_admin;
GRANT EXECUTE ON FUNCTION tpwallet._csv_rows(text, text), tpwallet._csv_header(text, text),
	tpwallet._parse_amount(text, text, text), tpwallet._parse_time(text, text, text),
	tpwallet._parse_date(text, text)
	TO tpwallet_owner, tpwallet_operator;
GRANT EXECUTE ON FUNCTION tpwallet._recon_source(text, text), tpwallet._recon_timezone(text, text),
	tpwallet._recon_check_mapping(jsonb), tpwallet._recon_ledger_config(jsonb),
	tpwallet._recon_statement_config(jsonb), tpwallet._recon_key(text), tpwallet._recon_cell(text[], int),
	tpwallet._recon_column(text[], text, text, boolean),
	tpwallet._recon_stage_csv(jsonb, text, jsonb), tpwallet._camt_amount(text, text, text, text),
	tpwallet._camt_time(text, text, text, text, text), tpwallet._recon_stage_camt(jsonb, text, jsonb),
	tpwallet._recon_hashed(tpwallet._recon_row[]),
	tpwallet._recon_load(tpwallet.recon_sources, text, text, tpwallet._recon_row[], jsonb)
	TO tpwallet_owner;

-- pg_dump backs up reconciliation data like the ledger's.
DO $recon_dump$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['recon_sources', 'recon_imports', 'recon_items',
	                         'recon_sources_id_seq', 'recon_imports_import_id_seq', 'recon_items_item_id_seq']
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('tpwallet.' || t)::regclass, '');
	END LOOP;
END
$recon_dump$;

-- reconciliation runs: readers read runs, matches and exceptions; operators
-- run reconcile().  Its internals run as the owner, inside that call.
GRANT SELECT ON tpwallet.recon_runs, tpwallet.recon_matches, tpwallet.recon_match_members, tpwallet.recon_match_items,
	tpwallet.recon_exceptions
	TO tpwallet_reader;
GRANT EXECUTE ON FUNCTION tpwallet.reconcile(text, text, timestamptz, timestamptz, jsonb) TO tpwallet_operator;
GRANT EXECUTE ON FUNCTION tpwallet._recon_match(bigint, numeric, numeric, numeric, bigint, int, interval),
	tpwallet._recon_record_match(bigint, text, numeric, bigint[], bigint[]),
	tpwallet._recon_resolve_matched(bigint),
	tpwallet._recon_record_exceptions(bigint, bigint[], text[], bigint[]),
	tpwallet._recon_rules(jsonb)
	TO tpwallet_owner;

-- long runs: operators run them, readers watch them
GRANT SELECT ON tpwallet.recon_jobs, tpwallet.recon_progress TO tpwallet_reader;
REVOKE ALL ON PROCEDURE tpwallet.reconcile_window(text, text, timestamptz, timestamptz, jsonb, interval) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE tpwallet.reconcile_window(text, text, timestamptz, timestamptz, jsonb, interval) TO tpwallet_operator;
GRANT EXECUTE ON FUNCTION tpwallet._recon_job_take(text, text, timestamptz, timestamptz, jsonb, interval),
	tpwallet._recon_job_step(bigint) TO tpwallet_operator;
GRANT EXECUTE ON FUNCTION tpwallet._recon_job_alive(bigint, int), tpwallet._recon_job_lock_key() TO tpwallet_reader, tpwallet_owner;
-- the job lock itself: only the job functions (as the owner) take it
GRANT EXECUTE ON FUNCTION tpwallet._recon_job_lock(bigint), tpwallet._recon_job_unlock(bigint) TO tpwallet_owner;

DO $recon_match_dump$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['recon_runs', 'recon_matches', 'recon_match_members', 'recon_exceptions',
	                         'recon_jobs', 'recon_jobs_job_id_seq',
	                         'recon_runs_run_id_seq', 'recon_matches_match_id_seq', 'recon_exceptions_exception_id_seq']
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('tpwallet.' || t)::regclass, '');
	END LOOP;
END
$recon_match_dump$;

-- reconciliation review: readers (and so approvers and auditors) read
-- decisions, their trail and revocations, and export runs; operators
-- assign exceptions, propose decisions and withdraw their own; approvers
-- approve or reject (tpwallet_approver, which admin does not include:
-- whoever runs the system does not approve by default).  Four eyes is
-- the session user's, whatever the roles.
GRANT SELECT ON tpwallet.recon_decisions, tpwallet.recon_decision_log, tpwallet.recon_match_revocations
	TO tpwallet_reader;
GRANT EXECUTE ON FUNCTION tpwallet.recon_export(bigint) TO tpwallet_reader;
GRANT EXECUTE ON FUNCTION tpwallet.recon_assign(bigint, text),
	tpwallet.recon_propose(text, bigint[], text, jsonb),
	tpwallet.recon_revoke(bigint, text)
	TO tpwallet_operator;
GRANT EXECUTE ON FUNCTION tpwallet.recon_approve(bigint, text), tpwallet.recon_reject(bigint, text)
	TO tpwallet_approver;
GRANT EXECUTE ON FUNCTION tpwallet._recon_lock_exceptions(bigint[]), tpwallet._recon_lock_decision(bigint),
	tpwallet._recon_refuse_closed(tpwallet.recon_decisions), tpwallet._recon_log(bigint, text, jsonb),
	tpwallet._recon_param_amount(jsonb, text), tpwallet._recon_param_account(jsonb, text),
	tpwallet._recon_decision_params(text, jsonb, text, numeric), tpwallet._recon_refuse_rematch(bigint, bigint[]),
	tpwallet._recon_apply(tpwallet.recon_decisions), tpwallet._recon_auto_resolve(bigint[], bigint),
	tpwallet._csv_record(text[]), tpwallet._recon_utc(timestamptz)
	TO tpwallet_owner;

DO $recon_review_dump$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['recon_decisions', 'recon_decision_log', 'recon_match_revocations',
	                         'recon_decisions_decision_id_seq', 'recon_decision_log_log_id_seq']
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('tpwallet.' || t)::regclass, '');
	END LOOP;
END
$recon_review_dump$;

-- anomaly score: readers read the models and evaluate them on labels they
-- can read; operators score exceptions (like reconcile, part of a run);
-- admins train, since the newest model decides which exceptions are looked
-- at first.  recon_train_model and the evaluation read their labels with
-- the caller's privileges; _recon_train stores the model as the owner.
GRANT SELECT ON tpwallet.recon_models TO tpwallet_reader;
GRANT EXECUTE ON FUNCTION tpwallet.recon_evaluate_model(bigint, regclass, int),
	tpwallet._recon_evaluate(bigint, regclass, int)
	TO tpwallet_reader;
GRANT EXECUTE ON FUNCTION tpwallet.recon_score_exceptions(bigint) TO tpwallet_operator;
GRANT EXECUTE ON FUNCTION tpwallet.recon_train_model(regclass), tpwallet._recon_train(bigint[], boolean[], text)
	TO tpwallet_admin;
GRANT EXECUTE ON FUNCTION tpwallet._recon_feature_names(), tpwallet._recon_features(bigint[]),
	tpwallet._recon_item_features(bigint[], text[], bigint[]), tpwallet._recon_exception_arrays(bigint[]),
	tpwallet._recon_item_scores(bigint[], text[], bigint[], bigint), tpwallet._recon_scoring_model(),
	tpwallet._recon_prior_model(), tpwallet._recon_scores(bigint[], bigint),
	tpwallet._recon_auc(float8[], boolean[]), tpwallet._recon_read_labels(regclass)
	TO tpwallet_owner, tpwallet_reader;
GRANT EXECUTE ON FUNCTION tpwallet._recon_logreg(float8[], boolean[], float8, int),
	tpwallet._recon_audit_scoring(text, bigint, int),
	tpwallet._recon_open_exception(bigint, bigint, int, int),
	tpwallet._recon_refuse_resolved(bigint, text, text, bigint) TO tpwallet_owner;

DO $recon_score_dump$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['recon_models', 'recon_models_model_id_seq']
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('tpwallet.' || t)::regclass, '');
	END LOOP;
END
$recon_score_dump$;

-- The guard checks (_guards_intact, and the event trigger that protects
-- the guards, which runs as whoever changes a table and cannot read
-- guarded_tables) compare with the number of guard triggers this script
-- made: write it into their bodies.
DO $guard_count$
DECLARE
	n int := (SELECT count(*) FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
	           WHERE c.relnamespace = 'tpwallet'::regnamespace
	             AND t.tgname IN ('tpwallet_guard_change', 'tpwallet_guard_truncate', 'tpwallet_guard_workflow'));
	f regprocedure;
	def text;
BEGIN
	IF n < 2 * (SELECT count(*) FROM tpwallet.guarded_tables) THEN
		RAISE EXCEPTION 'a guarded table lacks its guards';
	END IF;
	FOREACH f IN ARRAY ARRAY['tpwallet._guards_intact()'::regprocedure, 'tpwallet._protect_guards()'::regprocedure] LOOP
		def := pg_catalog.pg_get_functiondef(f);
		IF position('-1 /* guard triggers */' IN def) = 0 THEN
			RAISE EXCEPTION '% has no guard count to set', f;
		END IF;
		EXECUTE replace(def, '-1 /* guard triggers */', n || ' /* guard triggers */');
	END LOOP;
END
$guard_count$;
