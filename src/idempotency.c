/*-------------------------------------------------------------------------
 *
 * idempotency.c
 *	  Idempotency keys.  A key is claimed with a transaction-scoped lock on
 *	  (calling role, key), so that a second request with the same key waits
 *	  for the first; it then finds the first one's record
 *	  (transfer_guard_idempotency) and replays its result, or, if the first
 *	  rolled back, finds nothing and does the work itself.
 *
 * IDENTIFICATION
 *	  src/idempotency.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "amount.h"
#include "extension.h"
#include "idempotency.h"
#include "keys.h"
#include "report.h"
#include "request.h"



/*
 * Idempotency claims are advisory-class locks whose fourth field no SQL
 * function produces (pg_advisory_lock uses 1 and 2), so they never collide
 * with the application's own advisory locks.  They show in pg_locks as
 * advisory locks with objsubid 21575 ('TG').
 */
#define TG_IDEMPOTENCY_LOCK_FIELD4	0x5447

static TgExtensionStatement idempotency_select;
static TgExtensionStatement idempotency_insert;


/*
 * Claim (calling role, key) until the end of the transaction.  Returns
 * false, without waiting, if nowait and another transaction holds it.
 */
bool
tg_idempotency_claim(const char *key, bool nowait)
{
	const char *caller = NameStr(*tg_caller());
	StringInfoData buf;
	uint64		hash;
	LOCKTAG		tag;

	/* role and key, separated by a byte neither can hold */
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, caller, strlen(caller) + 1);
	appendStringInfoString(&buf, key);
	hash = hash_bytes_extended((const unsigned char *) buf.data, buf.len, 0);

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (hash >> 32),
						 (uint32) hash, TG_IDEMPOTENCY_LOCK_FIELD4);
	return LockAcquire(&tag, ExclusiveLock, false, nowait) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * The request as stored: kind and legs, tables by qualified name, and the
 * members extra adds (a hold's expires_in).  A hold's leg names its
 * destination as to_table, to_column and to_key.
 */
static char *
request_json(bool is_batch, TgLegRecord *records, int nlegs, const char *extra)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"kind\": \"%s\", ",
					 is_batch ? "transfer_batch" :
					 nlegs > 0 && records[0].kind == TG_LEG_HOLD ? "hold" :
					 "transfer");
	if (extra != NULL)
		appendStringInfo(&buf, "%s, ", extra);
	appendStringInfoString(&buf, "\"legs\": [");
	for (i = 0; i < nlegs; i++)
	{
		TgLegRecord *rec = &records[i];

		appendStringInfoString(&buf, i > 0 ? ", {\"from_table\": " : "{\"from_table\": ");
		escape_json(&buf, tg_rel_qualified_name(rec->from_relid));
		appendStringInfoString(&buf, ", \"from_column\": ");
		escape_json(&buf, rec->from_column);
		appendStringInfoString(&buf, ", \"from_key\": ");
		escape_json(&buf, rec->from_key);
		appendStringInfoString(&buf, ", \"to_table\": ");
		escape_json(&buf, tg_rel_qualified_name(rec->to_relid));
		appendStringInfoString(&buf, ", \"to_column\": ");
		escape_json(&buf, rec->to_column);
		appendStringInfoString(&buf, ", \"to_key\": ");
		escape_json(&buf, rec->to_key);
		appendStringInfo(&buf, ", \"amount\": %s}",
						 DatumGetCString(DirectFunctionCall1(numeric_out,
															 NumericGetDatum(rec->amount))));
	}
	appendStringInfoString(&buf, "]}");
	return buf.data;
}

static Datum
jsonb_from_cstring(const char *s)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
}

/* a field of a JSON object, or NULL */
static JsonbValue *
field(JsonbContainer *obj, const char *name)
{
	return getKeyJsonValueFromContainer(obj, name, strlen(name), NULL);
}

static char *
value_text(JsonbValue *v)
{
	if (v == NULL || v->type == jbvNull)
		return pstrdup("null");
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(v->val.numeric)));
	return pstrdup("?");
}

static bool
values_equal(JsonbValue *a, JsonbValue *b)
{
	if (a == NULL || b == NULL || a->type != b->type)
		return a == b;
	if (a->type == jbvNumeric)
		return tg_numeric_cmp(a->val.numeric, b->val.numeric) == 0;
	if (a->type == jbvString)
		return a->val.string.len == b->val.string.len &&
			memcmp(a->val.string.val, b->val.string.val, a->val.string.len) == 0;
	return false;
}

/* the nth element of a JSON array, which must be a container */
static JsonbContainer *
array_element(JsonbContainer *array, int n)
{
	JsonbValue *v = getIthJsonbValueFromContainer(array, n);

	if (v == NULL || v->type != jbvBinary)
		elog(ERROR, "malformed idempotency record");
	return v->val.binary.data;
}

static JsonbContainer *
container_field(JsonbContainer *obj, const char *name)
{
	JsonbValue *v = field(obj, name);

	if (v == NULL || v->type != jbvBinary)
		elog(ERROR, "malformed idempotency record");
	return v->val.binary.data;
}

/*
 * Is a field of a recorded leg the same as in this request's leg rec?
 * Keys are compared as the key column compares them, not by their text: a
 * record keeps each key as its row held it (before 1.3, as the caller
 * spelled it), and a retry may spell the same row otherwise (1.00 for 1.0,
 * 'alice' for 'Alice' under a case-insensitive collation).  Compared only
 * once the leg's table has matched, since the fields come in order.
 */
static bool
field_equal(const char *name, JsonbValue *then, JsonbValue *now,
			TgLegRecord *rec)
{
	char	   *text;

	if (values_equal(then, now))
		return true;
	if (then == NULL || then->type != jbvString)
		return false;
	text = pnstrdup(then->val.string.val, then->val.string.len);
	if (strcmp(name, "from_key") == 0)
		return tg_key_equals_text(rec->from_table, rec->from_key_value, text,
								  name);
	if (strcmp(name, "to_key") == 0)
		return tg_key_equals_text(rec->to_table, rec->to_key_value, text,
								  name);
	return false;
}

/*
 * The first difference between a recorded request and this one, as the
 * mismatch error's detail, or NULL if they are the same request.
 */
static char *
request_difference(Jsonb *stored, Jsonb *requested, TgLegRecord *records)
{
	static const char *const fields[] = {
		"from_table", "from_column", "from_key", "to_table", "to_column",
		"to_key", "amount"
	};
	JsonbValue *kind_then = field(&stored->root, "kind");
	JsonbValue *kind_now = field(&requested->root, "kind");
	JsonbContainer *legs_then = container_field(&stored->root, "legs");
	JsonbContainer *legs_now = container_field(&requested->root, "legs");
	int			n_then = JsonContainerSize(legs_then);
	int			n_now = JsonContainerSize(legs_now);
	char	   *detail = NULL;
	int			i;
	int			f;

	JsonbValue *expires_then = field(&stored->root, "expires_in");
	JsonbValue *expires_now = field(&requested->root, "expires_in");

	if (!values_equal(kind_then, kind_now))
		detail = psprintf("The key was first used for a %s call, not a %s call.",
						  value_text(kind_then), value_text(kind_now));
	else if (!values_equal(expires_then, expires_now) &&
			 !(expires_then && expires_now && expires_then->type == jbvNull &&
			   expires_now->type == jbvNull))
		detail = psprintf("The key was first used with expires_in %s, not %s.",
						  value_text(expires_then), value_text(expires_now));
	else if (n_then != n_now)
		detail = psprintf("The key was first used for %d legs, not %d.",
						  n_then, n_now);
	for (i = 0; detail == NULL && i < n_now; i++)
	{
		JsonbContainer *then = array_element(legs_then, i);
		JsonbContainer *cur = array_element(legs_now, i);

		for (f = 0; f < (int) lengthof(fields); f++)
		{
			JsonbValue *a = field(then, fields[f]);
			JsonbValue *b = field(cur, fields[f]);

			if (field_equal(fields[f], a, b, &records[i]))
				continue;
			if (n_now > 1)
				detail = psprintf("Leg %d was first requested with %s %s, not %s.",
								  i + 1, fields[f], value_text(a), value_text(b));
			else
				detail = psprintf("The key was first used with %s %s, not %s.",
								  fields[f], value_text(a), value_text(b));
			break;
		}
	}
	return detail;
}

/* the mismatch error for a key first used with another request */
static void
raise_mismatch(const char *key, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_TG_IDEMPOTENCY_MISMATCH),
			 errmsg("idempotency key \"%s\" was already used for a different request",
					key),
			 errdetail_internal("%s", detail),
			 errhint("Use a new key for a new request.")));
}

/*
 * Look up a claimed key.  If this role used it before, either replay the
 * recorded result into results (same request) and return true, or raise
 * the mismatch error (different request).  Returns false if the key is
 * unused.  Called with SPI connected, before any row is locked: records
 * hold the keys as the caller gave them, converted, and the recorded keys
 * are compared with them by value (field_equal).
 */
bool
tg_idempotency_replay(const char *key, bool is_batch, TgLegRecord *records,
					  int nlegs, const char *extra, TgLegResult *results)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2];
	SPIPlanPtr	plan;
	int			rc;
	bool		isnull;
	Jsonb	   *stored;
	Jsonb	   *stored_result;
	Jsonb	   *requested;
	SPITupleTable *found;
	int			i;

	values[0] = NameGetDatum(tg_caller());
	values[1] = CStringGetTextDatum(key);
	plan = tg_extension_plan(&idempotency_select, TG_IDEMPOTENCY_NAME,
					   "SELECT request, result FROM %s"
					   " WHERE caller OPERATOR(pg_catalog.=) $1"
					   " AND idempotency_key OPERATOR(pg_catalog.=) $2",
					   2, argtypes);
	rc = tg_spi_as_owner(plan, values, NULL, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading idempotency key failed: %s",
			 SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;

	/* kept by name: comparing keys may run a key type's input function */
	found = SPI_tuptable;
	stored = DatumGetJsonbP(SPI_getbinval(found->vals[0], found->tupdesc, 1,
										  &isnull));
	stored_result = DatumGetJsonbP(SPI_getbinval(found->vals[0],
												 found->tupdesc, 2, &isnull));
	requested = DatumGetJsonbP(jsonb_from_cstring(request_json(is_batch, records,
															   nlegs, extra)));
	if (!DatumGetBool(DirectFunctionCall2(jsonb_eq, JsonbPGetDatum(stored),
										  JsonbPGetDatum(requested))))
	{
		char	   *detail = request_difference(stored, requested, records);

		if (detail != NULL)
			raise_mismatch(key, detail);
	}

	/* the same request: its recorded results, copied out of SPI's memory */
	for (i = 0; i < nlegs; i++)
	{
		JsonbContainer *leg = array_element(&stored_result->root, i);
		JsonbValue *id = field(leg, "transfer_id");
		JsonbValue *from = field(leg, "from_balance");
		JsonbValue *to = field(leg, "to_balance");

		if (id == NULL || id->type != jbvNumeric)
			elog(ERROR, "malformed idempotency record");
		results[i].has_transfer_id = true;
		results[i].transfer_id =
			DatumGetInt64(DirectFunctionCall1(numeric_int8,
											  NumericGetDatum(id->val.numeric)));
		results[i].from_balance = (from && from->type == jbvNumeric) ?
			DatumGetNumeric(SPI_datumTransfer(NumericGetDatum(from->val.numeric),
											  false, -1)) : NULL;
		results[i].to_balance = (to && to->type == jbvNumeric) ?
			DatumGetNumeric(SPI_datumTransfer(NumericGetDatum(to->val.numeric),
											  false, -1)) : NULL;
	}
	SPI_freetuptable(found);
	return true;
}

/*
 * Record a completed keyed request and its results.  Called with SPI
 * connected, holding the key's claim.  A record that is already there can
 * only have been committed after this transaction's snapshot was taken
 * (REPEATABLE READ or SERIALIZABLE): a serialization failure, as for any
 * concurrent update.
 */
void
tg_idempotency_record(const char *key, bool is_batch, TgLegRecord *records,
					  int nlegs, const char *extra, TgLegResult *results)
{
	StringInfoData result;
	Oid			argtypes[4] = {NAMEOID, TEXTOID, JSONBOID, JSONBOID};
	Datum		values[4];
	SPIPlanPtr	plan;
	int			rc;
	int			i;

	initStringInfo(&result);
	appendStringInfoChar(&result, '[');
	for (i = 0; i < nlegs; i++)
		appendStringInfo(&result,
						 "%s{\"transfer_id\": " INT64_FORMAT
						 ", \"from_balance\": %s, \"to_balance\": %s}",
						 i > 0 ? ", " : "", results[i].transfer_id,
						 results[i].from_balance ?
						 DatumGetCString(DirectFunctionCall1(numeric_out,
															 NumericGetDatum(results[i].from_balance))) : "null",
						 results[i].to_balance ?
						 DatumGetCString(DirectFunctionCall1(numeric_out,
															 NumericGetDatum(results[i].to_balance))) : "null");
	appendStringInfoChar(&result, ']');

	values[0] = NameGetDatum(tg_caller());
	values[1] = CStringGetTextDatum(key);
	values[2] = jsonb_from_cstring(request_json(is_batch, records, nlegs, extra));
	values[3] = jsonb_from_cstring(result.data);
	plan = tg_extension_plan(&idempotency_insert, TG_IDEMPOTENCY_NAME,
					   "INSERT INTO %s (caller, idempotency_key, request, result)"
					   " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
					   4, argtypes);
	rc = tg_spi_as_owner(plan, values, NULL, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "recording idempotency key failed: %s",
			 SPI_result_code_string(rc));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent use of idempotency key \"%s\"",
						key),
				 errhint("The transaction might succeed if retried.")));
}
