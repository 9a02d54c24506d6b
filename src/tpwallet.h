/*
 * tpwallet.h
 *	  Declarations shared by every part of the tpwallet extension.
 *
 * The tpwallet SQLSTATE class "TW" holds domain errors; standard codes are
 * used where they fit.  docs/errors.md lists every code.
 */
#ifndef TPWALLET_H
#define TPWALLET_H

#include "postgres.h"
#include "access/attnum.h"

#define ERRCODE_TW_INSUFFICIENT_FUNDS	MAKE_SQLSTATE('T','W','0','0','1')
#define ERRCODE_TW_IDEMPOTENCY_CONFLICT MAKE_SQLSTATE('T','W','0','0','2')
#define ERRCODE_TW_ACCOUNT_CLOSED		MAKE_SQLSTATE('T','W','0','0','3')
#define ERRCODE_TW_UNBALANCED_ENTRY		MAKE_SQLSTATE('T','W','0','0','4')
#define ERRCODE_TW_ASSET_MISMATCH		MAKE_SQLSTATE('T','W','0','0','5')
#define ERRCODE_TW_BOOK_MISMATCH		MAKE_SQLSTATE('T','W','0','0','6')
#define ERRCODE_TW_HOLD_NOT_PENDING		MAKE_SQLSTATE('T','W','0','0','7')
#define ERRCODE_TW_ALREADY_REVERSED		MAKE_SQLSTATE('T','W','0','0','8')
#define ERRCODE_TW_APPEND_ONLY			MAKE_SQLSTATE('T','W','0','0','9')
#define ERRCODE_TW_HSM_UNAVAILABLE		MAKE_SQLSTATE('T','W','0','1','0')
#define ERRCODE_TW_HSM_LOGIN_FAILED		MAKE_SQLSTATE('T','W','0','1','1')
#define ERRCODE_TW_FROST_INVALID_SHARE	MAKE_SQLSTATE('T','W','0','1','2')
#define ERRCODE_TW_NONCE_REUSED			MAKE_SQLSTATE('T','W','0','1','3')
/* raised by the reconciliation review (src/sql/87_recon_review.sql) */
#define ERRCODE_TW_REVIEW_TRANSITION	MAKE_SQLSTATE('T','W','0','1','4')
#define ERRCODE_TW_FOUR_EYES			MAKE_SQLSTATE('T','W','0','1','5')

/* GUCs (tpwallet.c) */
extern char *tpwallet_database;
extern int	tpwallet_seal_interval_ms;
extern int	tpwallet_seal_max_entries;
extern bool tpwallet_recon_full_carry_scan;

/* worker.c */
extern void tpwallet_register_workers(void);
extern void tpw_register_worker(const char *function, const char *name);

/* The extension's relations and columns by name (names.c, cached): errors when missing. */
extern Oid	tpw_relid(const char *name);
/* columns[0..n-1]'s attribute numbers; columns must be a static array (the cache key) */
extern void tpw_attnums(Oid relid, int n, const char *const *columns, AttrNumber *attnums);

/* One step of a worker, in its own transaction with SPI; false if it failed (logged). */
typedef void (*tpw_step_fn) (void *arg);
extern bool tpw_run_step(const char *worker, const char *what, tpw_step_fn step, void *arg);
/* Hold the extension against DROP EXTENSION for the transaction; false if it is gone. */
extern bool tpw_lock_extension(Oid ext);

#endif							/* TPWALLET_H */
