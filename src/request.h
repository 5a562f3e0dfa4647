/*-------------------------------------------------------------------------
 *
 * request.h
 *	  A call as the SQL-callable functions hand it to the engine, and what
 *	  the engine hands back: legs, the request, statuses, results, and the
 *	  form in which the journal and idempotency records see a leg.  Data
 *	  types only.
 *
 * IDENTIFICATION
 *	  src/request.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_REQUEST_H
#define TG_REQUEST_H

#include "postgres.h"

#include "utils/numeric.h"

#include "table.h"

/*
 * What a leg is in the books (holds.c): a transfer from row to row; a hold
 * (a debit of the source into the hold; the destination is only recorded);
 * or a step that ends a hold (a credit out of it: the capture to the
 * destination, the release or the expiry back to the source).
 */
typedef enum TgLegKind
{
	TG_LEG_TRANSFER,
	TG_LEG_HOLD,
	TG_LEG_CAPTURE,
	TG_LEG_RELEASE,
	TG_LEG_EXPIRE
} TgLegKind;

/* a leg that credits out of a hold: it has no source row */
#define TG_LEG_ENDS_HOLD(kind) \
	((kind) == TG_LEG_CAPTURE || (kind) == TG_LEG_RELEASE || \
	 (kind) == TG_LEG_EXPIRE)

/*
 * One leg of a transfer as the SQL-callable functions hand it to the
 * engine: tables by OID, columns by name (NULL: the only guarded one),
 * keys as the caller's values with their types, amount as given.  A leg
 * ending a hold has no source (from_relid is InvalidOid); its hold's
 * columns decide whether it is journaled (hold_journal).
 */
typedef struct TgLegSpec
{
	TgLegKind	kind;
	int64		hold_id;		/* the hold a step ends, or 0 */
	bool		hold_journal;	/* a step ending a hold: journal it */
	Oid			from_relid;
	const char *from_column;
	Datum		from_key;
	Oid			from_key_type;
	Oid			to_relid;
	const char *to_column;
	Datum		to_key;
	Oid			to_key_type;
	Numeric		amount;
} TgLegSpec;

/* how a call ended, for try_transfer(); transfer() raises instead */
typedef enum TgStatus
{
	TG_STATUS_OK,
	TG_STATUS_INSUFFICIENT_FUNDS,
	TG_STATUS_LIMIT_EXCEEDED,
	TG_STATUS_NOT_FOUND,
	TG_STATUS_BUSY,
	TG_STATUS_DUPLICATE
} TgStatus;

/* one call: its legs and how to run them */
typedef struct TgRequest
{
	TgLegSpec  *legs;
	int			nlegs;
	bool		nowait;			/* do not wait for a locked row */
	bool		is_batch;		/* transfer_batch(): messages name legs */
	bool		try_mode;		/* report business outcomes as a status */
	const char *idempotency_key;	/* NULL if none */
	const char *request_extra;	/* JSON members the idempotency record adds
								 * to the request (a hold's expiry), or NULL */
} TgRequest;

/*
 * A leg as the journal and the idempotency record see it: names and key
 * texts, in the form they are stored (tg_key_text()), and the keys as
 * values, to compare a request with a recorded one.
 */
typedef struct TgLegRecord
{
	TgLegKind	kind;
	int64		hold_id;		/* 0 for a transfer, or a hold not yet placed */
	Oid			from_relid;		/* InvalidOid: no source (a step ending a hold) */
	const char *from_column;
	const char *from_key;
	Oid			to_relid;		/* a hold: its destination, not credited */
	const char *to_column;
	const char *to_key;
	Numeric		amount;
	bool		journal;
	TgTable    *from_table;
	Datum		from_key_value; /* converted to the key's base type */
	TgTable    *to_table;
	Datum		to_key_value;
} TgLegRecord;

/* what the engine returns per leg */
typedef struct TgLegResult
{
	bool		has_transfer_id;	/* false when nothing was moved */
	int64		transfer_id;
	Numeric		from_balance;
	Numeric		to_balance;
	char	   *from_key;		/* a hold: its source's key as the row holds
								 * it (tg_key_text()) */
} TgLegResult;


#endif							/* TG_REQUEST_H */
