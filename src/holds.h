/*-------------------------------------------------------------------------
 *
 * holds.h
 *	  Holds: an amount taken from a row now and captured to a destination,
 *	  or released back, later (holds.c).
 *
 * IDENTIFICATION
 *	  src/holds.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_HOLDS_H
#define TG_HOLDS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/numeric.h"

#include "request.h"

/* the SQLSTATEs of a hold that is no longer open */
#define ERRCODE_TG_HOLD_CAPTURED	MAKE_SQLSTATE('T','G','0','0','2')
#define ERRCODE_TG_HOLD_RELEASED	MAKE_SQLSTATE('T','G','0','0','3')
#define ERRCODE_TG_HOLD_EXPIRED		MAKE_SQLSTATE('T','G','0','0','4')

/* how try_capture() ended */
typedef enum TgHoldStatus
{
	TG_HOLD_OK,
	TG_HOLD_EXPIRED,
	TG_HOLD_CAPTURED,
	TG_HOLD_RELEASED,
	TG_HOLD_NOT_FOUND,
	TG_HOLD_LIMIT_EXCEEDED,
	TG_HOLD_EXCEEDS_HOLD
} TgHoldStatus;

/* what capture() returns */
typedef struct TgCaptureResult
{
	bool		has_transfer_id;
	int64		transfer_id;
	Numeric		from_balance;
	Numeric		to_balance;
} TgCaptureResult;

/* an expired hold the worker releases, and the role it acts as */
typedef struct TgExpiredHold
{
	int64		hold_id;
	Oid			from_relid;
} TgExpiredHold;

extern int64 tg_hold(TgLegSpec *spec, const Interval *expires_in,
					 const char *idempotency_key, Numeric *from_balance);
extern TgHoldStatus tg_capture(int64 hold_id, Numeric amount, bool try_mode,
							   TgCaptureResult *result);
extern Numeric tg_release(int64 hold_id);
extern int64 tg_release_expired(void);
extern List *tg_expired_holds(MemoryContext cxt);
extern bool tg_expire_hold(int64 hold_id);
extern const char *tg_hold_status_name(TgHoldStatus status);

#endif							/* TG_HOLDS_H */
