/*-------------------------------------------------------------------------
 *
 * holds.c
 *	  Holds (1.5).  hold() debits the source now, as a transfer's debit is
 *	  checked, and records the hold in transfer_guard_hold; capture() moves
 *	  all or part of it to the destination and gives the rest back,
 *	  release() gives it all back, and expiry releases it once it is past
 *	  its expires_at.  Each step is a call of the engine whose legs have no
 *	  source (the hold is it) or, for the hold, no destination: the rows are
 *	  locked, checked and updated as a transfer's, by the caller, with the
 *	  caller's privileges, policies and triggers.
 *
 *	  A step locks the hold's record (FOR UPDATE) before any row, and reads
 *	  its state under that lock: of a capture, a release and an expiry of
 *	  one hold, the first to lock it decides, and the others find it no
 *	  longer held.  The records are read and written as the extension's
 *	  owner, on the caller's behalf, as the journal is.
 *
 * IDENTIFICATION
 *	  src/holds.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "amount.h"
#include "checks.h"
#include "colref.h"
#include "engine.h"
#include "extension.h"
#include "holds.h"
#include "keys.h"
#include "registry.h"
#include "report.h"
#include "statements.h"

/* the columns every read of a hold's record returns, in this order */
#define HOLD_COLUMNS \
	"h.hold_id, h.from_table::pg_catalog.oid," \
	" %s.transfer_guard_column_attnum(h.from_column), h.from_key," \
	" h.to_table::pg_catalog.oid," \
	" %s.transfer_guard_column_attnum(h.to_column), h.to_key," \
	" h.amount, h.state, h.placed_by, h.expires_at," \
	" h.transfer_id"

/* a hold's record, as locked */
typedef struct HoldRow
{
	int64		hold_id;
	Oid			from_relid;
	AttrNumber	from_attnum;
	char	   *from_key;
	Oid			to_relid;
	AttrNumber	to_attnum;
	char	   *to_key;
	Numeric		amount;
	char	   *state;
	char	   *placed_by;		/* a role's name; it may be gone */
	bool		has_expiry;
	TimestampTz expires_at;
	bool		has_transfer_id;
	int64		transfer_id;
	TgTable    *from_table;		/* release_expired(): the source's table */
	Datum		from_key_value; /* and its key, for the global lock order */
} HoldRow;

static TgExtensionStatement insert_stmt;
static TgExtensionStatement lock_stmt;
static TgExtensionStatement lock_skip_stmt;
static TgExtensionStatement mark_stmt;
static TgExtensionStatement capture_stmt;
static TgExtensionStatement expired_stmt;
static TgExtensionStatement expired_mine_stmt;

/* a hold's record from a result row, in the current memory context */
static void
hold_from_tuple(HeapTuple tuple, TupleDesc desc, HoldRow *h)
{
	bool		isnull;
	Datum		v;

	h->hold_id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
	h->from_relid = DatumGetObjectId(SPI_getbinval(tuple, desc, 2, &isnull));
	h->from_attnum = DatumGetInt16(SPI_getbinval(tuple, desc, 3, &isnull));
	h->from_key = TextDatumGetCString(SPI_getbinval(tuple, desc, 4, &isnull));
	h->from_table = NULL;
	h->to_relid = DatumGetObjectId(SPI_getbinval(tuple, desc, 5, &isnull));
	h->to_attnum = DatumGetInt16(SPI_getbinval(tuple, desc, 6, &isnull));
	h->to_key = TextDatumGetCString(SPI_getbinval(tuple, desc, 7, &isnull));
	h->amount = DatumGetNumericCopy(SPI_getbinval(tuple, desc, 8, &isnull));
	h->state = TextDatumGetCString(SPI_getbinval(tuple, desc, 9, &isnull));
	h->placed_by = pstrdup(NameStr(*DatumGetName(SPI_getbinval(tuple, desc, 10, &isnull))));
	v = SPI_getbinval(tuple, desc, 11, &isnull);
	h->has_expiry = !isnull;
	h->expires_at = isnull ? 0 : DatumGetTimestampTz(v);
	v = SPI_getbinval(tuple, desc, 12, &isnull);
	h->has_transfer_id = !isnull;
	h->transfer_id = isnull ? 0 : DatumGetInt64(v);
}

/*
 * Lock a hold's record and read it; false if there is none (or, with
 * skip_locked, another transaction holds it).  With SPI connected; the
 * record is read into the caller's memory context.
 */
static bool
lock_hold(int64 hold_id, bool skip_locked, HoldRow *h, MemoryContext cxt)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	SPIPlanPtr	plan;
	MemoryContext old;
	int			rc;

	plan = tg_extension_plan(skip_locked ? &lock_skip_stmt : &lock_stmt,
							 TG_HOLDS_NAME,
							 tg_extension_sql(skip_locked ?
											  "SELECT " HOLD_COLUMNS " FROM %%s AS h"
											  " WHERE h.hold_id OPERATOR(pg_catalog.=) $1"
											  " FOR UPDATE SKIP LOCKED" :
											  "SELECT " HOLD_COLUMNS " FROM %%s AS h"
											  " WHERE h.hold_id OPERATOR(pg_catalog.=) $1"
											  " FOR UPDATE"),
							 1, argtypes);
	values[0] = Int64GetDatum(hold_id);
	rc = tg_spi_as_owner(plan, values, NULL, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "locking hold " INT64_FORMAT " failed: %s", hold_id,
			 SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	old = MemoryContextSwitchTo(cxt);
	hold_from_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, h);
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
	return true;
}

/*
 * May the current role capture or release this hold?  The role that placed
 * it may (and its members), and so may the owners of its tables.
 */
static void
check_may_act(HoldRow *h)
{
	Oid			user = GetUserId();
	Oid			placer = get_role_oid(h->placed_by, true);
	Oid			from_owner = tg_relation_owner(h->from_relid);
	Oid			to_owner = tg_relation_owner(h->to_relid);

	if ((OidIsValid(placer) && has_privs_of_role(user, placer)) ||
		(OidIsValid(from_owner) && has_privs_of_role(user, from_owner)) ||
		(OidIsValid(to_owner) && has_privs_of_role(user, to_owner)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for hold " INT64_FORMAT, h->hold_id),
			 errdetail("Only the role that placed a hold and the owners of its tables may capture or release it.")));
}

static void
raise_no_hold(int64 hold_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("hold " INT64_FORMAT " does not exist", hold_id)));
}

/* how a hold that is no longer held ended, or TG_HOLD_OK if it is held */
static TgHoldStatus
hold_state(HoldRow *h, TimestampTz now)
{
	if (strcmp(h->state, "captured") == 0)
		return TG_HOLD_CAPTURED;
	if (strcmp(h->state, "released") == 0)
		return TG_HOLD_RELEASED;
	if (strcmp(h->state, "expired") == 0)
		return TG_HOLD_EXPIRED;
	if (h->has_expiry && h->expires_at <= now)
		return TG_HOLD_EXPIRED;
	return TG_HOLD_OK;
}

/* the error of a step on a hold that is no longer held */
static void
raise_closed(HoldRow *h, TgHoldStatus status)
{
	if (status == TG_HOLD_CAPTURED)
		ereport(ERROR,
				(errcode(ERRCODE_TG_HOLD_CAPTURED),
				 errmsg("hold " INT64_FORMAT " is already captured", h->hold_id),
				 h->has_transfer_id ?
				 errdetail("It was captured by transfer " INT64_FORMAT ".",
						   h->transfer_id) :
				 errdetail("This transaction is capturing it.")));
	if (status == TG_HOLD_RELEASED)
		ereport(ERROR,
				(errcode(ERRCODE_TG_HOLD_RELEASED),
				 errmsg("hold " INT64_FORMAT " is already released", h->hold_id)));
	if (strcmp(h->state, "expired") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_TG_HOLD_EXPIRED),
				 errmsg("hold " INT64_FORMAT " has expired", h->hold_id),
				 errdetail("It was released when it expired.")));
	ereport(ERROR,
			(errcode(ERRCODE_TG_HOLD_EXPIRED),
			 errmsg("hold " INT64_FORMAT " has expired", h->hold_id),
			 errdetail("It is past its expires_at; it is released at its next release, try_capture() or release_expired(), or by the maintenance worker.")));
}

/* the name of a column of a hold's table, which must still be there */
static char *
hold_column(HoldRow *h, Oid relid, AttrNumber attnum)
{
	char	   *name = get_attname(relid, attnum, true);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a column of hold " INT64_FORMAT " no longer exists",
						h->hold_id)));
	return name;
}

/* is this column of a table guarded with journal => true? */
static bool
column_journals(Oid relid, AttrNumber attnum)
{
	TgTable    *table = tg_get_table(relid, true);
	int			c;

	for (c = 0; table != NULL && c < table->ncolumns; c++)
		if (table->columns[c].attnum == attnum)
			return table->columns[c].journal;
	return false;
}

/* a leg crediting amount out of a hold to one of its rows */
static void
step_leg(TgLegSpec *spec, HoldRow *h, TgLegKind kind, bool to_source,
		 Numeric amount, bool journal)
{
	Oid			relid = to_source ? h->from_relid : h->to_relid;
	AttrNumber	attnum = to_source ? h->from_attnum : h->to_attnum;
	TgTable    *table = tg_get_table(relid, false);

	memset(spec, 0, sizeof(*spec));
	spec->kind = kind;
	spec->hold_id = h->hold_id;
	spec->hold_journal = journal;
	spec->from_relid = InvalidOid;
	spec->to_relid = relid;
	spec->to_column = hold_column(h, relid, attnum);
	/* the key read back as it was written (tg_key_stable_text()) */
	spec->to_key = tg_key_from_stable_text(table, to_source ? h->from_key :
										   h->to_key, "to_key");
	spec->to_key_type = table->key_basetypid;
	spec->amount = amount;
}

/*
 * Credit what the hold gives: amount (NULL: none) to the destination, the
 * rest of the hold (if any) back to the source as kind.  The legs go to
 * the engine as one call, in try mode if asked.  results gets one result
 * per leg; *nlegs their number.
 */
static TgStatus
credit_out(HoldRow *h, Numeric amount, TgLegKind rest_kind, bool try_mode,
		   TgLegResult *results, int *nlegs)
{
	bool		journal = column_journals(h->from_relid, h->from_attnum) ||
		column_journals(h->to_relid, h->to_attnum);
	Numeric		rest = amount ? tg_numeric_sub(h->amount, amount) : h->amount;
	TgLegSpec	specs[2];
	TgRequest	req;
	int			n = 0;

	if (amount != NULL)
		step_leg(&specs[n++], h, TG_LEG_CAPTURE, false, amount, journal);
	if (tg_numeric_cmp(rest, tg_int64_to_numeric(0)) > 0)
		step_leg(&specs[n++], h, rest_kind, true, rest, journal);

	memset(&req, 0, sizeof(req));
	req.legs = specs;
	req.nlegs = n;
	req.try_mode = try_mode;
	memset(results, 0, sizeof(TgLegResult) * 2);
	*nlegs = n;
	return tg_execute(&req, results);
}

/*
 * Record a hold's new state (and what a capture takes), before its credits
 * are made: code they run (a trigger) that touches the hold again finds it
 * no longer held, so it can never be paid out twice.  "held" opens it
 * again, when a try_capture() made no credit.
 */
static void
mark_hold(HoldRow *h, const char *state, Numeric captured)
{
	Oid			argtypes[3] = {INT8OID, TEXTOID, NUMERICOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	SPIPlanPtr	plan;
	int			rc;

	plan = tg_extension_plan(&mark_stmt, TG_HOLDS_NAME,
							 "UPDATE %s SET state = $2, captured = $3,"
							 " closed_at = CASE WHEN $2 OPERATOR(pg_catalog.=) 'held'"
							 " THEN NULL ELSE pg_catalog.clock_timestamp() END"
							 " WHERE hold_id OPERATOR(pg_catalog.=) $1",
							 3, argtypes);
	values[0] = Int64GetDatum(h->hold_id);
	values[1] = CStringGetTextDatum(state);
	values[2] = captured ? NumericGetDatum(captured) : (Datum) 0;
	nulls[2] = captured ? ' ' : 'n';
	rc = tg_spi_as_owner(plan, values, nulls, 0);
	if (rc != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "recording the state of hold " INT64_FORMAT " failed: %s",
			 h->hold_id, SPI_result_code_string(rc));
}

/* record the transfer id of a hold's capture, once it is known */
static void
mark_capture(HoldRow *h, int64 transfer_id)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2];
	SPIPlanPtr	plan;
	int			rc;

	plan = tg_extension_plan(&capture_stmt, TG_HOLDS_NAME,
							 "UPDATE %s SET transfer_id = $2"
							 " WHERE hold_id OPERATOR(pg_catalog.=) $1",
							 2, argtypes);
	values[0] = Int64GetDatum(h->hold_id);
	values[1] = Int64GetDatum(transfer_id);
	rc = tg_spi_as_owner(plan, values, NULL, 0);
	if (rc != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "recording the capture of hold " INT64_FORMAT " failed: %s",
			 h->hold_id, SPI_result_code_string(rc));
}

/* a numeric in cxt */
static Numeric
numeric_in_context(Numeric n, MemoryContext cxt)
{
	MemoryContext old;
	Numeric		copy;

	if (n == NULL)
		return NULL;
	old = MemoryContextSwitchTo(cxt);
	copy = DatumGetNumericCopy(NumericGetDatum(n));
	MemoryContextSwitchTo(old);
	return copy;
}

/*
 * Give a locked hold back to its source, as its release or its expiry;
 * the source's balance after it (NULL if it is a hot row, whose credit is
 * pending), in the caller's context.
 */
static Numeric
give_back(HoldRow *h, TgLegKind kind, MemoryContext cxt)
{
	TgLegResult results[2];
	int			n;

	mark_hold(h, kind == TG_LEG_EXPIRE ? "expired" : "released", NULL);
	(void) credit_out(h, NULL, kind, false, results, &n);
	return numeric_in_context(results[0].to_balance, cxt);
}

/* an interval a hold may last: finite and positive */
static void
check_expires_in(const Interval *expires_in)
{
	Interval	zero;

	memset(&zero, 0, sizeof(zero));
#ifdef INTERVAL_NOT_FINITE
	if (INTERVAL_NOT_FINITE(expires_in))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_in must be finite"),
				 errhint("Pass NULL for a hold that never expires.")));
#endif
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp,
										  IntervalPGetDatum(expires_in),
										  IntervalPGetDatum(&zero))) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_in must be greater than zero"),
				 errdetail("The interval given was %s.",
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(expires_in)))),
				 errhint("Pass NULL for a hold that never expires.")));
}

/*
 * A hold's expiry as its idempotency record keeps it: its length in
 * seconds, as interval comparison counts it (a month is 30 days, a day 24
 * hours), so that '1 day' and '24 hours' are the same request, in a form no
 * setting (IntervalStyle) changes.
 */
static char *
expires_json(const Interval *expires_in)
{
	Numeric		days;
	Numeric		seconds;

	if (expires_in == NULL)
		return pstrdup("\"expires_in\": null");
	days = tg_numeric_add(tg_numeric_times(tg_int64_to_numeric(expires_in->month), 30),
						  tg_int64_to_numeric(expires_in->day));
	seconds = tg_numeric_add(DatumGetNumeric(DirectFunctionCall2(numeric_mul,
																 NumericGetDatum(days),
																 NumericGetDatum(tg_int64_to_numeric(SECS_PER_DAY)))),
							 DatumGetNumeric(DirectFunctionCall2(numeric_div,
																 NumericGetDatum(tg_int64_to_numeric(expires_in->time)),
																 NumericGetDatum(tg_int64_to_numeric(USECS_PER_SEC)))));
	seconds = DatumGetNumeric(DirectFunctionCall1(numeric_trim_scale,
												  NumericGetDatum(seconds)));
	return psprintf("\"expires_in\": \"%s seconds\"", tg_numeric_display(seconds));
}

/*
 * Write the record of a hold the engine placed: its destination must
 * exist, as the caller sees it.  With SPI connected.
 */
static void
record_hold(TgLegSpec *spec, TgLegResult *result, TimestampTz created_at,
			const TimestampTz *expires_at)
{
	TgTable    *from = tg_get_table(spec->from_relid, false);
	TgTable    *to = tg_get_table(spec->to_relid, false);
	TgColumn   *from_col = tg_find_column(from, spec->from_column, "balance_column");
	TgColumn   *to_col = tg_find_column(to, spec->to_column, "to_column");
	Datum		to_key = tg_key_convert(to, spec->to_key, spec->to_key_type, "to_key");
	Oid			column_type = tg_registry_shape().column_type;
	Oid			argtypes[11] = {INT8OID, REGCLASSOID, column_type, TEXTOID,
		REGCLASSOID, column_type, TEXTOID, NUMERICOID, NAMEOID,
	TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[11];
	char		nulls[11];
	SPIPlanPtr	plan;
	HeapTuple	row;
	bool		isnull;
	int			rc;

	row = tg_stmt_read(to, 0, to_key);
	if (row == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no row with key %s in table \"%s\"",
						tg_key_display(to, to_key),
						tg_rel_display_name(to->relid)),
				 errdetail("The destination of a hold must exist and be visible to the current role."),
				 tg_errtablecol(to->relid, to->key_attnum)));
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(result->transfer_id);
	values[1] = ObjectIdGetDatum(from->relid);
	values[2] = PointerGetDatum(tg_colref_make(from->relid, from_col->attnum));
	values[3] = CStringGetTextDatum(result->from_key);
	values[4] = ObjectIdGetDatum(to->relid);
	values[5] = PointerGetDatum(tg_colref_make(to->relid, to_col->attnum));
	values[6] = CStringGetTextDatum(tg_key_stable_text(to, SPI_getbinval(row, SPI_tuptable->tupdesc,
																		  1, &isnull)));
	values[7] = NumericGetDatum(spec->amount);
	values[8] = NameGetDatum(tg_caller());
	values[9] = TimestampTzGetDatum(created_at);
	values[10] = expires_at ? TimestampTzGetDatum(*expires_at) : (Datum) 0;
	nulls[10] = expires_at ? ' ' : 'n';
	SPI_freetuptable(SPI_tuptable);

	plan = tg_extension_plan(&insert_stmt, TG_HOLDS_NAME,
							 "INSERT INTO %s (hold_id, from_table, from_column, from_key,"
							 " to_table, to_column, to_key, amount, placed_by,"
							 " created_at, expires_at)"
							 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
							 " $9, $10, $11)",
							 11, argtypes);
	rc = tg_spi_as_owner(plan, values, nulls, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "recording hold " INT64_FORMAT " failed: %s",
			 result->transfer_id, SPI_result_code_string(rc));
}

/*
 * Refuse a hold on a table Citus distributes: its record, on this server,
 * would have to commit with the shards' changes, which is not built.
 */
static void
check_not_citus(Oid relid)
{
	TgTable    *table = tg_get_table(relid, false);

	if (table->placement == TG_PLACE_CITUS)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("holds on table \"%s\" are not supported: Citus distributes it",
						tg_rel_display_name(relid)),
				 tg_errtable(relid)));
}

/*
 * hold(): debit the source by amount into a new hold towards the
 * destination, expiring after expires_in (NULL: never).  Returns the
 * hold's id (the transfer id of its journal row) and the source's balance
 * after it; an idempotency key replays both.
 */
int64
tg_hold(TgLegSpec *spec, const Interval *expires_in,
		const char *idempotency_key, Numeric *from_balance)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires_at = 0;
	TgRequest	req;
	TgLegResult result;
	TgStatus	status;

	if (expires_in != NULL)
	{
		check_expires_in(expires_in);
		expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
															 TimestampTzGetDatum(now),
															 IntervalPGetDatum(expires_in)));
		/* a month less some days is positive, yet may end before now */
		if (expires_at <= now)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expires_in must end after the hold is placed"),
					 errdetail("The interval given was %s.",
							   DatumGetCString(DirectFunctionCall1(interval_out,
																   IntervalPGetDatum(expires_in))))));
	}
	check_not_citus(spec->from_relid);
	check_not_citus(spec->to_relid);
	spec->kind = TG_LEG_HOLD;
	memset(&req, 0, sizeof(req));
	req.legs = spec;
	req.nlegs = 1;
	req.idempotency_key = idempotency_key;
	req.request_extra = expires_json(expires_in);
	memset(&result, 0, sizeof(result));

	status = tg_execute(&req, &result);
	if (status == TG_STATUS_OK)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		record_hold(spec, &result, now, expires_in ? &expires_at : NULL);
		SPI_finish();
	}
	*from_balance = result.from_balance;
	return result.transfer_id;
}

/* a capture's amount: finite and positive (its scale the engine checks) */
static void
check_capture_amount(Numeric amount)
{
	if (numeric_is_nan(amount) || tg_numeric_is_inf(amount))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must be a finite number"),
				 errdetail("The amount given was %s.", tg_numeric_display(amount))));
	if (tg_numeric_cmp(amount, tg_int64_to_numeric(0)) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must be greater than zero"),
				 errdetail("The amount given was %s.", tg_numeric_display(amount))));
}

/*
 * The capture of a locked, held hold: amount (NULL: all of it) to the
 * destination, the rest back to the source.  In try mode a ceiling is a
 * status and the hold stays held.
 */
static TgHoldStatus
capture_held(HoldRow *h, Numeric amount, bool try_mode,
			 TgCaptureResult *result, MemoryContext cxt)
{
	TgLegResult results[2];
	TgStatus	status;
	int			n;

	if (amount == NULL)
		amount = h->amount;
	if (tg_numeric_cmp(amount, h->amount) > 0)
	{
		if (try_mode)
			return TG_HOLD_EXCEEDS_HOLD;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount %s exceeds the %s that hold " INT64_FORMAT " holds",
						tg_numeric_display(amount), tg_numeric_display(h->amount),
						h->hold_id)));
	}
	mark_hold(h, "captured", amount);
	status = credit_out(h, amount, TG_LEG_RELEASE, try_mode, results, &n);
	if (status == TG_STATUS_NOT_FOUND)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("a row of hold " INT64_FORMAT " does not exist", h->hold_id),
				 errdetail("The row does not exist or is not visible to the current role.")));
	result->to_balance = numeric_in_context(results[0].to_balance, cxt);
	result->from_balance = n > 1 ? numeric_in_context(results[1].to_balance, cxt) : NULL;
	if (status == TG_STATUS_LIMIT_EXCEEDED)
	{
		/* nothing was credited: the hold stays open */
		mark_hold(h, "held", NULL);
		return TG_HOLD_LIMIT_EXCEEDED;
	}
	mark_capture(h, results[0].transfer_id);
	result->has_transfer_id = true;
	result->transfer_id = results[0].transfer_id;
	return TG_HOLD_OK;
}

/*
 * capture() and try_capture().  A hold past its expiry is released as
 * expired by try_capture(); capture() raises, which undoes anything it
 * did, so it leaves the release to the next touch.
 */
TgHoldStatus
tg_capture(int64 hold_id, Numeric amount, bool try_mode,
		   TgCaptureResult *result)
{
	MemoryContext cxt = CurrentMemoryContext;
	HoldRow		h;
	TgHoldStatus status;

	memset(result, 0, sizeof(*result));
	if (amount != NULL)
		check_capture_amount(amount);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!lock_hold(hold_id, false, &h, cxt))
	{
		if (!try_mode)
			raise_no_hold(hold_id);
		SPI_finish();
		return TG_HOLD_NOT_FOUND;
	}
	check_may_act(&h);
	status = hold_state(&h, GetCurrentTimestamp());
	if (status == TG_HOLD_OK)
		status = capture_held(&h, amount, try_mode, result, cxt);
	else if (!try_mode)
		raise_closed(&h, status);
	else if (status == TG_HOLD_EXPIRED && strcmp(h.state, "held") == 0)
		(void) give_back(&h, TG_LEG_EXPIRE, cxt);
	else if (status == TG_HOLD_CAPTURED)
	{
		result->has_transfer_id = h.has_transfer_id;
		result->transfer_id = h.transfer_id;
	}
	SPI_finish();
	return status;
}

/*
 * release(): give a held hold back to its source; one past its expiry is
 * given back as expired.  Returns the source's balance after it (NULL for
 * a hot row).
 */
Numeric
tg_release(int64 hold_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	HoldRow		h;
	TgHoldStatus status;
	Numeric		balance;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!lock_hold(hold_id, false, &h, cxt))
		raise_no_hold(hold_id);
	check_may_act(&h);
	status = hold_state(&h, GetCurrentTimestamp());
	if (status != TG_HOLD_OK && strcmp(h.state, "held") != 0)
		raise_closed(&h, status);
	balance = give_back(&h, status == TG_HOLD_EXPIRED ? TG_LEG_EXPIRE :
						TG_LEG_RELEASE, cxt);
	SPI_finish();
	return balance;
}

/*
 * Is an error of releasing one expired hold about that hold alone (its
 * rows, their rules, the caller's rights on them), so that
 * release_expired() may report it and go on with the others?  Anything
 * else (a cancel, a serialization failure, a deadlock, running out of
 * something) ends the call.
 */
static bool
error_is_the_holds(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
		case ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION:
		case ERRCODE_TRIGGERED_ACTION_EXCEPTION:
		case ERRCODE_PLPGSQL_ERROR:
			return true;
	}
	return sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE ||
		sqlerrcode == ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE ||
		sqlerrcode == ERRCODE_TG_HOLD_CAPTURED ||
		sqlerrcode == ERRCODE_TG_HOLD_RELEASED ||
		sqlerrcode == ERRCODE_TG_HOLD_EXPIRED;
}

/*
 * Release one expired hold for release_expired() in a subtransaction: an
 * error about that hold alone is a warning, the hold stays held, and the
 * call goes on.  Returns whether it was released.
 */
static bool
expire_one(HoldRow *h, MemoryContext cxt)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool released = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		(void) give_back(h, TG_LEG_EXPIRE, cxt);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (!error_is_the_holds(edata->sqlerrcode))
			ReThrowError(edata);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("could not release expired hold " INT64_FORMAT ": %s",
						h->hold_id, edata->message),
				 errdetail("It stays held; the next release_expired() tries it again.")));
		FreeErrorData(edata);
		released = false;
	}
	PG_END_TRY();
	return released;
}

/*
 * The global lock order of the holds' sources (table OID, then key in the
 * key's order), in which release_expired() gives them back: each release
 * locks its source row and keeps the lock, so releasing in any other order
 * could deadlock with a transfer() locking two of those rows.
 */
static int
cmp_sources(const void *a, const void *b)
{
	const HoldRow *x = (const HoldRow *) a;
	const HoldRow *y = (const HoldRow *) b;

	if (x->from_relid != y->from_relid)
		return x->from_relid < y->from_relid ? -1 : 1;
	if (x->from_table == NULL || y->from_table == NULL)
		return (x->from_table == NULL) - (y->from_table == NULL);
	return tg_key_compare(x->from_table, x->from_key_value, y->from_key_value);
}

/* the holds' sources as release_expired() orders them (cmp_sources) */
static void
order_by_source(HoldRow *holds, uint64 n, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	uint64		i;

	for (i = 0; i < n; i++)
	{
		holds[i].from_table = tg_get_table(holds[i].from_relid, true);
		if (holds[i].from_table != NULL)
			holds[i].from_key_value =
				tg_key_from_stable_text(holds[i].from_table, holds[i].from_key,
										"from_key");
	}
	MemoryContextSwitchTo(old);
	qsort(holds, n, sizeof(HoldRow), cmp_sources);
}

/*
 * release_expired(): release, as expired, every hold past its expiry that
 * the caller may release, skipping one a capture or release in flight has
 * locked (that one decides it), and warning of one it cannot release (its
 * source row gone, at its ceiling...).  The sources are given back in the
 * global lock order.  Returns how many it released.
 */
int64
tg_release_expired(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			argtypes[2] = {TIMESTAMPTZOID, OIDOID};
	Datum		values[2];
	SPIPlanPtr	plan;
	HoldRow    *holds;
	uint64		n;
	uint64		i;
	int64		released = 0;
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = tg_extension_plan(&expired_mine_stmt, TG_HOLDS_NAME,
							 tg_extension_sql("SELECT " HOLD_COLUMNS " FROM %%s AS h"
											  " WHERE h.state OPERATOR(pg_catalog.=) 'held'"
											  " AND h.expires_at OPERATOR(pg_catalog.<=) $1"
											  " AND (EXISTS (SELECT FROM pg_catalog.pg_roles AS r"
											  " WHERE r.rolname OPERATOR(pg_catalog.=) h.placed_by"
											  " AND pg_catalog.pg_has_role($2, r.oid, 'USAGE'))"
											  " OR pg_catalog.pg_has_role($2, (SELECT c.relowner FROM pg_catalog.pg_class AS c"
											  " WHERE c.oid OPERATOR(pg_catalog.=) h.from_table::pg_catalog.oid), 'USAGE')"
											  " OR pg_catalog.pg_has_role($2, (SELECT c.relowner FROM pg_catalog.pg_class AS c"
											  " WHERE c.oid OPERATOR(pg_catalog.=) h.to_table::pg_catalog.oid), 'USAGE'))"
											  " ORDER BY h.hold_id FOR UPDATE SKIP LOCKED"),
							 2, argtypes);
	values[0] = TimestampTzGetDatum(GetCurrentTimestamp());
	values[1] = ObjectIdGetDatum(GetUserId());
	rc = tg_spi_as_owner(plan, values, NULL, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "finding expired holds failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	holds = MemoryContextAlloc(cxt, sizeof(HoldRow) * (n > 0 ? n : 1));
	for (i = 0; i < n; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		hold_from_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &holds[i]);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	order_by_source(holds, n, cxt);
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (expire_one(&holds[i], cxt))
			released++;
	}
	SPI_finish();
	return released;
}

/*
 * The holds past their expiry, for the maintenance worker: each with the
 * source table whose owner it releases it as.  With SPI connected; the
 * list is in cxt.
 */
List *
tg_expired_holds(MemoryContext cxt)
{
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	SPIPlanPtr	plan;
	List	   *holds = NIL;
	uint64		i;
	int			rc;

	if (!OidIsValid(tg_extension_relation(TG_HOLDS_NAME, true)))
		return NIL;
	plan = tg_extension_plan(&expired_stmt, TG_HOLDS_NAME,
							 "SELECT h.hold_id, h.from_table::pg_catalog.oid FROM %s AS h"
							 " WHERE h.state OPERATOR(pg_catalog.=) 'held'"
							 " AND h.expires_at OPERATOR(pg_catalog.<=) $1"
							 " ORDER BY h.hold_id",
							 1, argtypes);
	values[0] = TimestampTzGetDatum(GetCurrentTimestamp());
	rc = tg_spi_read_as_owner(plan, values, NULL, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "finding expired holds failed: %s", SPI_result_code_string(rc));
	for (i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		TgExpiredHold *e = palloc(sizeof(TgExpiredHold));
		bool		isnull;

		e->hold_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
												 SPI_tuptable->tupdesc, 1, &isnull));
		e->from_relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 2, &isnull));
		holds = lappend(holds, e);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	return holds;
}

/*
 * Release one hold as expired if it still is held and past its expiry,
 * skipping it if a transaction holds it; for the maintenance worker.
 * Returns whether it was released.
 */
bool
tg_expire_hold(int64 hold_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	HoldRow		h;
	bool		expired = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (lock_hold(hold_id, true, &h, cxt) &&
		strcmp(h.state, "held") == 0 &&
		hold_state(&h, GetCurrentTimestamp()) == TG_HOLD_EXPIRED)
	{
		(void) give_back(&h, TG_LEG_EXPIRE, cxt);
		expired = true;
	}
	SPI_finish();
	return expired;
}

/* the status as try_capture() reports it */
const char *
tg_hold_status_name(TgHoldStatus status)
{
	switch (status)
	{
		case TG_HOLD_OK:
			return "ok";
		case TG_HOLD_EXPIRED:
			return "expired";
		case TG_HOLD_CAPTURED:
			return "captured";
		case TG_HOLD_RELEASED:
			return "released";
		case TG_HOLD_NOT_FOUND:
			return "not_found";
		case TG_HOLD_LIMIT_EXCEEDED:
			return "limit_exceeded";
		case TG_HOLD_EXCEEDS_HOLD:
			return "exceeds_hold";
	}
	return "unknown";			/* keep compiler quiet */
}
