/*-------------------------------------------------------------------------
 *
 * entry.c
 *	  The SQL-callable functions: argument checks and result rows.  Every
 *	  NULL the caller passes where a value is needed is an error (22004),
 *	  never a silent empty result; the work itself is done by registry.c
 *	  (guard, unguard) and engine.c (transfers).
 *
 * IDENTIFICATION
 *	  src/entry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "contention.h"
#include "engine.h"
#include "exec.h"
#include "guard.h"
#include "holds.h"
#include "hot.h"
#include "keys.h"
#include "request.h"
#include "rows.h"
#include "worker.h"


/* 18 records the module's name and version, shown by pg_get_loaded_modules() */
#ifdef PG_MODULE_MAGIC_EXT
PG_MODULE_MAGIC_EXT(.name = "transfer_guard", .version = TG_EXTVERSION);
#else
PG_MODULE_MAGIC;
#endif

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomBoolVariable("transfer_guard.row_path",
							 "Locks and updates rows without SQL statements where the table allows it.",
							 "Off: every table is locked and updated with SQL statements, as tables with row-level security or BEFORE ROW UPDATE triggers always are.",
							 &tg_row_path_enabled,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	tg_worker_init();
	tg_contention_init();
	tg_reserve_guc_prefix("transfer_guard");
}

/* argument positions of transfer() */
#define TRANSFER_ARG_TBL			0
#define TRANSFER_ARG_FROM_KEY		1
#define TRANSFER_ARG_TO_KEY			2
#define TRANSFER_ARG_AMOUNT			3
#define TRANSFER_ARG_COLUMN			4
#define TRANSFER_ARG_NOWAIT			5
#define TRANSFER_ARG_TO_TABLE		6
#define TRANSFER_ARG_TO_COLUMN		7
#define TRANSFER_ARG_IDEMPOTENCY	8	/* from 1.1 */

/* columns of the rows transfer(), try_transfer() and transfer_batch() return */
#define TRANSFER_RESULT_NATTS		3
#define TRY_RESULT_NATTS			4
#define BATCH_RESULT_NATTS			4

/* the longest idempotency key, in bytes */
#define TG_IDEMPOTENCY_KEY_MAX		1000

/* an optional argument the SQL declaration may not have (1.0) */
#define OPTIONAL_ARG_PRESENT(n)	(PG_NARGS() > (n) && !PG_ARGISNULL(n))

/*
 * The row type a function returns, blessed, kept per function OID for the
 * backend's life: working it out (get_call_result_type) costs as much as a
 * fifth of a transfer, and a function's OUT parameters cannot change under
 * its OID (CREATE OR REPLACE refuses to).
 */
typedef struct ResultType
{
	Oid			fn_oid;
	TupleDesc	desc;
	struct ResultType *next;
} ResultType;

static ResultType *result_types = NULL;

static TupleDesc
result_type(FunctionCallInfo fcinfo)
{
	Oid			fn_oid = fcinfo->flinfo->fn_oid;
	ResultType *rt;
	TupleDesc	desc;
	MemoryContext old;

	for (rt = result_types; rt != NULL; rt = rt->next)
		if (rt->fn_oid == fn_oid)
			return rt->desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(CacheMemoryContext);
	rt = palloc(sizeof(ResultType));
	rt->fn_oid = fn_oid;
	rt->desc = BlessTupleDesc(CreateTupleDescCopy(desc));
	rt->next = result_types;
	result_types = rt;
	MemoryContextSwitchTo(old);
	return rt->desc;
}

static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
}

/*
 * Every function here writes: refuse at once in a read-only transaction or
 * on a standby (25006), before any lock is taken.
 */
static void
require_writable(const char *fname)
{
	PreventCommandIfReadOnly(fname);
	PreventCommandDuringRecovery(fname);
}

static const char *
optional_name(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : NameStr(*PG_GETARG_NAME(argno));
}

/*
 * set_hot(tbl regclass, key text, balance_column name DEFAULT NULL,
 *		   hot boolean DEFAULT true, slots int DEFAULT 0) RETURNS void
 */
PG_FUNCTION_INFO_V1(transfer_guard_set_hot);
Datum
transfer_guard_set_hot(PG_FUNCTION_ARGS)
{
	require_arg(fcinfo, 0, "tbl");
	require_arg(fcinfo, 1, "key");
	require_arg(fcinfo, 3, "hot");
	require_arg(fcinfo, 4, "slots");
	require_writable("set_hot()");
	tg_set_hot(PG_GETARG_OID(0), TextDatumGetCString(PG_GETARG_DATUM(1)),
			   optional_name(fcinfo, 2), PG_GETARG_BOOL(3), PG_GETARG_INT32(4));
	PG_RETURN_VOID();
}

/*
 * current_balance(tbl regclass, key text, balance_column name DEFAULT NULL)
 *		 RETURNS numeric
 */
PG_FUNCTION_INFO_V1(transfer_guard_current_balance);
Datum
transfer_guard_current_balance(PG_FUNCTION_ARGS)
{
	Numeric		balance;

	require_arg(fcinfo, 0, "tbl");
	require_arg(fcinfo, 1, "key");
	balance = tg_current_balance(PG_GETARG_OID(0),
								 TextDatumGetCString(PG_GETARG_DATUM(1)),
								 optional_name(fcinfo, 2));
	if (balance == NULL)
		PG_RETURN_NULL();
	PG_RETURN_NUMERIC(balance);
}

/*
 * settle(tbl regclass DEFAULT NULL) RETURNS bigint
 */
PG_FUNCTION_INFO_V1(transfer_guard_settle);
Datum
transfer_guard_settle(PG_FUNCTION_ARGS)
{
	require_writable("settle()");
	PG_RETURN_INT64(tg_settle(PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0)));
}

/*
 * guard(tbl regclass, balance_column name, min_balance numeric DEFAULT 0,
 *		 max_balance numeric DEFAULT NULL, journal boolean DEFAULT true,
 *		 version_column name DEFAULT NULL, key_column name DEFAULT NULL)
 *		 RETURNS void
 *
 * (1.0 declares only the first four arguments.)
 */
PG_FUNCTION_INFO_V1(transfer_guard_guard);
Datum
transfer_guard_guard(PG_FUNCTION_ARGS)
{
	bool		journal = true;

	require_arg(fcinfo, 0, "tbl");
	require_arg(fcinfo, 1, "balance_column");
	if (PG_NARGS() > 4)
	{
		require_arg(fcinfo, 4, "journal");
		journal = PG_GETARG_BOOL(4);
	}
	require_writable("guard()");

	tg_guard(PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)),
			 PG_ARGISNULL(2) ? NULL : PG_GETARG_NUMERIC(2),
			 PG_ARGISNULL(3) ? NULL : PG_GETARG_NUMERIC(3),
			 journal,
			 OPTIONAL_ARG_PRESENT(5) ? NameStr(*PG_GETARG_NAME(5)) : NULL,
			 OPTIONAL_ARG_PRESENT(6) ? NameStr(*PG_GETARG_NAME(6)) : NULL);
	PG_RETURN_VOID();
}

/*
 * unguard(tbl regclass, balance_column name) RETURNS void
 */
PG_FUNCTION_INFO_V1(transfer_guard_unguard);
Datum
transfer_guard_unguard(PG_FUNCTION_ARGS)
{
	require_arg(fcinfo, 0, "tbl");
	require_arg(fcinfo, 1, "balance_column");
	require_writable("unguard()");

	tg_unguard(PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)));
	PG_RETURN_VOID();
}

/*
 * Without a call expression (a fast-path function call), the keys' types
 * are the declared ones: text for the text overload; the polymorphic one
 * (anycompatible, anyelement before 1.3) cannot be called that way.
 */
static void
declared_key_types(FunctionCallInfo fcinfo, TgLegSpec *spec)
{
	Oid		   *argtypes;
	int			nargs;

	get_func_signature(fcinfo->flinfo->fn_oid, &argtypes, &nargs);
	if (nargs <= TRANSFER_ARG_TO_KEY ||
		argtypes[TRANSFER_ARG_FROM_KEY] != TEXTOID ||
		argtypes[TRANSFER_ARG_TO_KEY] != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_INDETERMINATE_DATATYPE),
				 errmsg("could not determine the types of from_key and to_key"),
				 errhint("Call the overload that takes the keys as text.")));
	spec->from_key_type = TEXTOID;
	spec->to_key_type = TEXTOID;
}

/*
 * An idempotency key, or NULL for none.  The empty string is refused: a
 * client sending '' to mean "no key" would otherwise have every request
 * after its first replayed, silently.  A key must also fit the index of
 * the idempotency records.
 */
static const char *
optional_idempotency_key(FunctionCallInfo fcinfo, int argno)
{
	char	   *key;

	if (!OPTIONAL_ARG_PRESENT(argno))
		return NULL;
	key = TextDatumGetCString(PG_GETARG_DATUM(argno));
	if (key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency_key must not be empty"),
				 errhint("Pass NULL for a request without a key.")));
	if (strlen(key) > TG_IDEMPOTENCY_KEY_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency_key is longer than %d bytes",
						TG_IDEMPOTENCY_KEY_MAX)));
	return key;
}

/*
 * The arguments shared by transfer() and try_transfer() as one leg.
 * Both SQL overloads of each (anycompatible keys, text keys) land here; the
 * keys' actual types come from the call expression, after the parser
 * unified them (an integer and a bigint key arrive as two bigints), and
 * tg_key_convert() decides whether each converts exactly.  to_table
 * defaults to
 * tbl; to_column to balance_column when the destination is the same table,
 * else to the destination table's only guarded column.
 */
static void
transfer_args(FunctionCallInfo fcinfo, const char *fname, TgLegSpec *spec,
			  TgRequest *req)
{
	require_arg(fcinfo, TRANSFER_ARG_TBL, "tbl");
	require_arg(fcinfo, TRANSFER_ARG_FROM_KEY, "from_key");
	require_arg(fcinfo, TRANSFER_ARG_TO_KEY, "to_key");
	require_arg(fcinfo, TRANSFER_ARG_AMOUNT, "amount");
	require_arg(fcinfo, TRANSFER_ARG_NOWAIT, "nowait");
	require_writable(fname);

	memset(spec, 0, sizeof(*spec));
	spec->from_relid = PG_GETARG_OID(TRANSFER_ARG_TBL);
	spec->from_column = optional_name(fcinfo, TRANSFER_ARG_COLUMN);
	spec->from_key = PG_GETARG_DATUM(TRANSFER_ARG_FROM_KEY);
	spec->from_key_type = get_fn_expr_argtype(fcinfo->flinfo,
											  TRANSFER_ARG_FROM_KEY);
	spec->to_key = PG_GETARG_DATUM(TRANSFER_ARG_TO_KEY);
	spec->to_key_type = get_fn_expr_argtype(fcinfo->flinfo, TRANSFER_ARG_TO_KEY);
	spec->amount = PG_GETARG_NUMERIC(TRANSFER_ARG_AMOUNT);
	spec->to_relid = PG_ARGISNULL(TRANSFER_ARG_TO_TABLE) ?
		spec->from_relid : PG_GETARG_OID(TRANSFER_ARG_TO_TABLE);
	spec->to_column = optional_name(fcinfo, TRANSFER_ARG_TO_COLUMN);
	if (spec->to_column == NULL && spec->to_relid == spec->from_relid)
		spec->to_column = spec->from_column;

	if (!OidIsValid(spec->from_key_type) || !OidIsValid(spec->to_key_type))
		declared_key_types(fcinfo, spec);

	memset(req, 0, sizeof(*req));
	req->legs = spec;
	req->nlegs = 1;
	req->nowait = PG_GETARG_BOOL(TRANSFER_ARG_NOWAIT);
	req->idempotency_key = optional_idempotency_key(fcinfo,
													TRANSFER_ARG_IDEMPOTENCY);
}

static Datum
numeric_or_null(Numeric n, bool *isnull)
{
	*isnull = (n == NULL);
	return n ? NumericGetDatum(n) : (Datum) 0;
}

/*
 * transfer(tbl, from_key, to_key, amount, balance_column, nowait, to_table,
 *			to_column, idempotency_key) -> (transfer_id, from_balance,
 *			to_balance)
 *
 * A replayed idempotency key returns the original result.
 */
PG_FUNCTION_INFO_V1(transfer_guard_transfer);
Datum
transfer_guard_transfer(PG_FUNCTION_ARGS)
{
	TgLegSpec	spec;
	TgRequest	req;
	TgLegResult result;
	TupleDesc	tupdesc;
	Datum		values[TRANSFER_RESULT_NATTS];
	bool		nulls[TRANSFER_RESULT_NATTS] = {false, false, false};

	transfer_args(fcinfo, "transfer()", &spec, &req);
	tupdesc = result_type(fcinfo);

	tg_execute(&req, &result);

	values[0] = Int64GetDatum(result.transfer_id);
	values[1] = numeric_or_null(result.from_balance, &nulls[1]);
	values[2] = numeric_or_null(result.to_balance, &nulls[2]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc,
													  values, nulls)));
}

/*
 * try_transfer(same arguments as transfer) -> (status, transfer_id,
 *				from_balance, to_balance)
 *
 * Business outcomes come back as a status, without a subtransaction:
 * ok, insufficient_funds, limit_exceeded, not_found, busy, duplicate.
 * transfer_id is NULL unless something was moved (ok) or replayed
 * (duplicate); the balances are those after the move, the current ones for
 * insufficient_funds and limit_exceeded, NULL for not_found and busy.
 */
PG_FUNCTION_INFO_V1(transfer_guard_try_transfer);
Datum
transfer_guard_try_transfer(PG_FUNCTION_ARGS)
{
	TgLegSpec	spec;
	TgRequest	req;
	TgLegResult result;
	TgStatus	status;
	TupleDesc	tupdesc;
	Datum		values[TRY_RESULT_NATTS];
	bool		nulls[TRY_RESULT_NATTS] = {false, false, false, false};

	transfer_args(fcinfo, "try_transfer()", &spec, &req);
	req.try_mode = true;
	tupdesc = result_type(fcinfo);

	memset(&result, 0, sizeof(result));
	status = tg_execute(&req, &result);

	values[0] = CStringGetTextDatum(tg_status_name(status));
	values[1] = Int64GetDatum(result.transfer_id);
	nulls[1] = !result.has_transfer_id;
	values[2] = numeric_or_null(result.from_balance, &nulls[2]);
	values[3] = numeric_or_null(result.to_balance, &nulls[3]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc,
													  values, nulls)));
}

/* ---- holds (1.5) ---- */

/* argument positions of hold() */
#define HOLD_ARG_TBL			0
#define HOLD_ARG_FROM_KEY		1
#define HOLD_ARG_TO_KEY			2
#define HOLD_ARG_AMOUNT			3
#define HOLD_ARG_COLUMN			4
#define HOLD_ARG_TO_TABLE		5
#define HOLD_ARG_TO_COLUMN		6
#define HOLD_ARG_EXPIRES_IN		7
#define HOLD_ARG_IDEMPOTENCY	8

/*
 * hold(tbl, from_key, to_key, amount, balance_column, to_table, to_column,
 *		expires_in, idempotency_key) -> (hold_id, from_balance)
 *
 * Both SQL overloads (anycompatible keys, text keys) land here, as for
 * transfer().
 */
PG_FUNCTION_INFO_V1(transfer_guard_hold);
Datum
transfer_guard_hold(PG_FUNCTION_ARGS)
{
	TgLegSpec	spec;
	TupleDesc	tupdesc;
	Numeric		from_balance;
	int64		hold_id;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	require_arg(fcinfo, HOLD_ARG_TBL, "tbl");
	require_arg(fcinfo, HOLD_ARG_FROM_KEY, "from_key");
	require_arg(fcinfo, HOLD_ARG_TO_KEY, "to_key");
	require_arg(fcinfo, HOLD_ARG_AMOUNT, "amount");
	require_writable("hold()");

	memset(&spec, 0, sizeof(spec));
	spec.from_relid = PG_GETARG_OID(HOLD_ARG_TBL);
	spec.from_column = optional_name(fcinfo, HOLD_ARG_COLUMN);
	spec.from_key = PG_GETARG_DATUM(HOLD_ARG_FROM_KEY);
	spec.from_key_type = get_fn_expr_argtype(fcinfo->flinfo, HOLD_ARG_FROM_KEY);
	spec.to_key = PG_GETARG_DATUM(HOLD_ARG_TO_KEY);
	spec.to_key_type = get_fn_expr_argtype(fcinfo->flinfo, HOLD_ARG_TO_KEY);
	spec.amount = PG_GETARG_NUMERIC(HOLD_ARG_AMOUNT);
	spec.to_relid = PG_ARGISNULL(HOLD_ARG_TO_TABLE) ?
		spec.from_relid : PG_GETARG_OID(HOLD_ARG_TO_TABLE);
	spec.to_column = optional_name(fcinfo, HOLD_ARG_TO_COLUMN);
	if (spec.to_column == NULL && spec.to_relid == spec.from_relid)
		spec.to_column = spec.from_column;
	if (!OidIsValid(spec.from_key_type) || !OidIsValid(spec.to_key_type))
		declared_key_types(fcinfo, &spec);
	tupdesc = result_type(fcinfo);

	hold_id = tg_hold(&spec,
					  PG_ARGISNULL(HOLD_ARG_EXPIRES_IN) ? NULL :
					  PG_GETARG_INTERVAL_P(HOLD_ARG_EXPIRES_IN),
					  optional_idempotency_key(fcinfo, HOLD_ARG_IDEMPOTENCY),
					  &from_balance);

	values[0] = Int64GetDatum(hold_id);
	values[1] = numeric_or_null(from_balance, &nulls[1]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * capture(hold_id bigint, amount numeric DEFAULT NULL)
 *		-> (transfer_id, from_balance, to_balance)
 */
PG_FUNCTION_INFO_V1(transfer_guard_capture);
Datum
transfer_guard_capture(PG_FUNCTION_ARGS)
{
	TgCaptureResult result;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	require_arg(fcinfo, 0, "hold_id");
	require_writable("capture()");
	tupdesc = result_type(fcinfo);

	(void) tg_capture(PG_GETARG_INT64(0),
					  PG_ARGISNULL(1) ? NULL : PG_GETARG_NUMERIC(1), false,
					  &result);

	values[0] = Int64GetDatum(result.transfer_id);
	values[1] = numeric_or_null(result.from_balance, &nulls[1]);
	values[2] = numeric_or_null(result.to_balance, &nulls[2]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * try_capture(hold_id bigint, amount numeric DEFAULT NULL)
 *		-> (status, transfer_id, from_balance, to_balance)
 *
 * ok, expired, captured, released, not_found, limit_exceeded,
 * exceeds_hold.  transfer_id is the capture's (ok, captured); the
 * balances are those after it (ok), or the current ones (limit_exceeded).
 */
PG_FUNCTION_INFO_V1(transfer_guard_try_capture);
Datum
transfer_guard_try_capture(PG_FUNCTION_ARGS)
{
	TgCaptureResult result;
	TgHoldStatus status;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	require_arg(fcinfo, 0, "hold_id");
	require_writable("try_capture()");
	tupdesc = result_type(fcinfo);

	status = tg_capture(PG_GETARG_INT64(0),
						PG_ARGISNULL(1) ? NULL : PG_GETARG_NUMERIC(1), true,
						&result);

	values[0] = CStringGetTextDatum(tg_hold_status_name(status));
	values[1] = Int64GetDatum(result.transfer_id);
	nulls[1] = !result.has_transfer_id;
	values[2] = numeric_or_null(result.from_balance, &nulls[2]);
	values[3] = numeric_or_null(result.to_balance, &nulls[3]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * release(hold_id bigint) RETURNS numeric: the source's balance after it
 */
PG_FUNCTION_INFO_V1(transfer_guard_release);
Datum
transfer_guard_release(PG_FUNCTION_ARGS)
{
	Numeric		balance;

	require_arg(fcinfo, 0, "hold_id");
	require_writable("release()");
	balance = tg_release(PG_GETARG_INT64(0));
	if (balance == NULL)
		PG_RETURN_NULL();
	PG_RETURN_NUMERIC(balance);
}

/*
 * release_expired() RETURNS bigint: how many holds it released
 */
PG_FUNCTION_INFO_V1(transfer_guard_release_expired);
Datum
transfer_guard_release_expired(PG_FUNCTION_ARGS)
{
	require_writable("release_expired()");
	PG_RETURN_INT64(tg_release_expired());
}

/* ---- transfer_batch ---- */

pg_noreturn static void
raise_bad_leg(int legno, const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid batch leg %d: %s", legno, msg),
			 errhint("Each leg is an object with the fields from_table, from_key, to_key and amount, and optionally to_table, from_column and to_column.")));
}

/* a leg's required field: present and not JSON null */
static void
require_field(JsonbValue *v, int legno, const char *field)
{
	if (v == NULL || v->type == jbvNull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", field),
				 errcontext("transfer_batch leg %d", legno)));
}

static char *
jsonb_string(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* a key from JSON: a string goes through the key type's input, a number is numeric */
static void
json_key(JsonbValue *v, int legno, const char *field, Datum *key, Oid *type)
{
	require_field(v, legno, field);
	if (v->type == jbvString)
	{
		*key = CStringGetDatum(jsonb_string(v));
		*type = UNKNOWNOID;
	}
	else if (v->type == jbvNumeric)
	{
		*key = NumericGetDatum(v->val.numeric);
		*type = NUMERICOID;
	}
	else
		raise_bad_leg(legno, psprintf("%s must be a string or a number", field));
}

static Oid
json_table(JsonbValue *v, int legno, const char *field)
{
	require_field(v, legno, field);
	if (v->type != jbvString)
		raise_bad_leg(legno, psprintf("%s must be a string", field));
	/* resolved like a regclass argument: by the caller's search_path */
	return DatumGetObjectId(DirectFunctionCall1(regclassin,
												CStringGetDatum(jsonb_string(v))));
}

static const char *
json_column(JsonbValue *v, int legno, const char *field)
{
	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
		raise_bad_leg(legno, psprintf("%s must be a string", field));
	if (v->val.string.len >= NAMEDATALEN)
		raise_bad_leg(legno, psprintf("%s is too long", field));
	return jsonb_string(v);
}

static Numeric
json_amount(JsonbValue *v, int legno)
{
	require_field(v, legno, "amount");
	if (v->type == jbvNumeric)
		return v->val.numeric;
	if (v->type == jbvString)
		return DatumGetNumeric(DirectFunctionCall3(numeric_in,
												   CStringGetDatum(jsonb_string(v)),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
	raise_bad_leg(legno, "amount must be a number or a numeric string");
	return NULL;				/* keep compiler quiet */
}

/*
 * One leg object.  Every field is checked by name, so a misspelt field is
 * an error instead of a silently ignored one.
 */
static void
parse_leg(JsonbContainer *obj, int legno, TgLegSpec *spec)
{
	static const char *const fields[] = {
		"from_table", "from_key", "from_column",
		"to_table", "to_key", "to_column", "amount"
	};
#define NFIELDS lengthof(fields)
	JsonbValue *found[NFIELDS];
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			f;

	memset(found, 0, sizeof(found));
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *name;

		if (tok != WJB_KEY)
			continue;
		name = jsonb_string(&v);
		for (f = 0; f < (int) NFIELDS; f++)
			if (strcmp(name, fields[f]) == 0)
				break;
		if (f == (int) NFIELDS)
			raise_bad_leg(legno, psprintf("unknown field \"%s\"", name));
		/* the field's value */
		(void) JsonbIteratorNext(&it, &v, true);
		found[f] = palloc(sizeof(JsonbValue));
		*found[f] = v;
	}

	spec->from_relid = json_table(found[0], legno, "from_table");
	json_key(found[1], legno, "from_key", &spec->from_key, &spec->from_key_type);
	spec->from_column = json_column(found[2], legno, "from_column");
	spec->to_relid = (found[3] == NULL || found[3]->type == jbvNull) ?
		spec->from_relid : json_table(found[3], legno, "to_table");
	json_key(found[4], legno, "to_key", &spec->to_key, &spec->to_key_type);
	spec->to_column = json_column(found[5], legno, "to_column");
	spec->amount = json_amount(found[6], legno);
	if (spec->to_column == NULL && spec->to_relid == spec->from_relid)
		spec->to_column = spec->from_column;
#undef NFIELDS
}

/* the legs of a batch: a JSON array of leg objects */
static TgLegSpec *
parse_legs(Jsonb *legs, int *nlegs)
{
	TgLegSpec  *specs;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			i = 0;

	if (JB_ROOT_IS_SCALAR(legs) || !JB_ROOT_IS_ARRAY(legs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("legs must be a JSON array of objects")));
	*nlegs = JB_ROOT_COUNT(legs);
	specs = palloc0(sizeof(TgLegSpec) * Max(*nlegs, 1));
	it = JsonbIteratorInit(&legs->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			raise_bad_leg(i + 1, "a leg must be a JSON object");
		parse_leg(v.val.binary.data, i + 1, &specs[i]);
		i++;
	}
	return specs;
}

/* the batch's rows, one per leg, materialized */
static void
return_batch_rows(FunctionCallInfo fcinfo, ReturnSetInfo *rsinfo,
				  TgLegResult *results, int nlegs)
{
	TupleDesc	tupdesc = result_type(fcinfo);
	Tuplestorestate *store;
	MemoryContext old;
	int			i;

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);

	for (i = 0; i < nlegs; i++)
	{
		Datum		values[BATCH_RESULT_NATTS];
		bool		nulls[BATCH_RESULT_NATTS] = {false, false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = Int64GetDatum(results[i].transfer_id);
		values[2] = numeric_or_null(results[i].from_balance, &nulls[2]);
		values[3] = numeric_or_null(results[i].to_balance, &nulls[3]);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = tupdesc;
}

/*
 * transfer_batch(legs jsonb, nowait boolean DEFAULT false,
 *				  idempotency_key text DEFAULT NULL)
 *	 RETURNS TABLE (leg int, transfer_id bigint, from_balance numeric,
 *					to_balance numeric)
 *
 * All legs or none, their rows locked in the global order (how, for each
 * kind of call: docs/design.md, "How a call locks its rows").
 */
PG_FUNCTION_INFO_V1(transfer_guard_transfer_batch);
Datum
transfer_guard_transfer_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TgLegSpec  *specs;
	TgLegResult *results;
	int			nlegs;
	const char *idempotency_key;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));

	require_arg(fcinfo, 0, "legs");
	require_arg(fcinfo, 1, "nowait");
	require_writable("transfer_batch()");
	specs = parse_legs(PG_GETARG_JSONB_P(0), &nlegs);
	results = palloc0(sizeof(TgLegResult) * Max(nlegs, 1));

	idempotency_key = optional_idempotency_key(fcinfo, 2);
	if (nlegs > 0)
	{
		TgRequest	req;

		memset(&req, 0, sizeof(req));
		req.legs = specs;
		req.nlegs = nlegs;
		req.nowait = PG_GETARG_BOOL(1);
		req.is_batch = true;
		req.idempotency_key = idempotency_key;
		tg_execute(&req, results);
	}
	return_batch_rows(fcinfo, rsinfo, results, nlegs);
	return (Datum) 0;
}
