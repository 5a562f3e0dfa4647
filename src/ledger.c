/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The journal and idempotency keys: what is recorded about a transfer
 *	  besides the balances themselves.
 *
 *	  The journal (transfer_guard_journal) gets one row per leg, appended on
 *	  the caller's behalf by the extension's owner; no ordinary role may
 *	  write it.  An idempotency key is claimed with a transaction-scoped
 *	  lock on (calling role, key), so that a second request with the same
 *	  key waits for the first; it then finds the first one's record
 *	  (transfer_guard_idempotency) and replays its result, or, if the first
 *	  rolled back, finds nothing and does the work itself.
 *
 * IDENTIFICATION
 *	  src/ledger.c
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

#include "compat.h"
#include "transfer_guard.h"

/*
 * Idempotency claims are advisory-class locks whose fourth field no SQL
 * function produces (pg_advisory_lock uses 1 and 2), so they never collide
 * with the application's own advisory locks.  They show in pg_locks as
 * advisory locks with objsubid 21575 ('TG').
 */
#define TG_IDEMPOTENCY_LOCK_FIELD4	0x5447

/* journal columns bound as parameters */
#define JOURNAL_NARGS 14

/*
 * A kept statement on one of the extension's relations, and the relation
 * it was prepared for: if the extension was dropped and created again,
 * the relation is a new one and the statement is prepared again (nothing
 * can be running the old plan then).
 */
typedef struct LedgerStatement
{
	SPIPlanPtr	plan;
	Oid			relid;
} LedgerStatement;

static LedgerStatement journal_insert;
static LedgerStatement idempotency_select;
static LedgerStatement idempotency_insert;

static SPIPlanPtr
ledger_plan(LedgerStatement *stmt, const char *relname, const char *sqlfmt,
			int nargs, Oid *argtypes)
{
	Oid			relid = tg_extension_relation(relname, false);

	if (stmt->plan && stmt->relid == relid)
		return stmt->plan;
	if (stmt->plan)
		SPI_freeplan(stmt->plan);
	stmt->plan = NULL;			/* until the new one is kept */
	stmt->plan = tg_prepare_kept(psprintf(sqlfmt, tg_extension_relation_name(relname)),
								 nargs, argtypes);
	stmt->relid = relid;
	return stmt->plan;
}

/*
 * Run a ledger statement as the extension's owner: ordinary roles hold no
 * privilege on the journal and the idempotency records.
 */
static int
execute_as_owner(SPIPlanPtr plan, Datum *values, const char *nulls,
				 long tcount)
{
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	tg_become_extension_owner(&save_userid, &save_sec_context);
	rc = SPI_execute_plan(plan, values, nulls, false, tcount);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return rc;
}

bool
tg_journal_available(void)
{
	return OidIsValid(tg_extension_relation(TG_JOURNAL_NAME, true));
}

static SPIPlanPtr
journal_plan(void)
{
	Oid			argtypes[JOURNAL_NARGS] = {
		INT8OID, INT8OID, INT4OID, OIDOID, NAMEOID, TEXTOID, OIDOID,
		NAMEOID, TEXTOID, NUMERICOID, NUMERICOID, NUMERICOID, NAMEOID,
	TEXTOID};

	return ledger_plan(&journal_insert, TG_JOURNAL_NAME,
					   "INSERT INTO %s (transfer_id, batch_id, leg, from_table,"
					   " from_column, from_key, to_table, to_column, to_key, amount,"
					   " from_balance, to_balance, caller, txid, idempotency_key)"
					   " VALUES ($1, $2, $3, $4::pg_catalog.regclass, $5, $6,"
					   " $7::pg_catalog.regclass, $8, $9, $10, $11, $12, $13,"
					   " pg_catalog.pg_current_xact_id(), $14)",
					   JOURNAL_NARGS, argtypes);
}

/*
 * The journal's columns in table order.  The row path below writes them
 * all, created_at and txid as their defaults would (now() is the
 * transaction's start, pg_current_xact_id() its top-level id); the
 * statement binds the others as parameters.
 */
enum
{
	J_TRANSFER_ID, J_BATCH_ID, J_LEG, J_CREATED_AT, J_FROM_TABLE,
	J_FROM_COLUMN, J_FROM_KEY, J_TO_TABLE, J_TO_COLUMN, J_TO_KEY, J_AMOUNT,
	J_FROM_BALANCE, J_TO_BALANCE, J_CALLER, J_TXID, J_IDEMPOTENCY_KEY,
	J_NATTS
};

/* one journal row: its values and the names they point to */
typedef struct JournalRow
{
	Datum		values[J_NATTS];
	bool		isnull[J_NATTS];
	NameData	from_column;
	NameData	to_column;
} JournalRow;

static void
journal_row(JournalRow *row, TgLegRecord *rec, TgLegResult *results, int i,
			bool is_batch, const char *idempotency_key, NameData *caller)
{
	memset(row->isnull, false, sizeof(row->isnull));
	namestrcpy(&row->from_column, rec->from_column);
	namestrcpy(&row->to_column, rec->to_column);

	row->values[J_TRANSFER_ID] = Int64GetDatum(results[i].transfer_id);
	row->values[J_BATCH_ID] = Int64GetDatum(results[0].transfer_id);
	row->isnull[J_BATCH_ID] = !is_batch;
	row->values[J_LEG] = Int32GetDatum(i + 1);
	row->values[J_CREATED_AT] =
		TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	row->values[J_FROM_TABLE] = ObjectIdGetDatum(rec->from_relid);
	row->values[J_FROM_COLUMN] = NameGetDatum(&row->from_column);
	row->values[J_FROM_KEY] = CStringGetTextDatum(rec->from_key);
	row->values[J_TO_TABLE] = ObjectIdGetDatum(rec->to_relid);
	row->values[J_TO_COLUMN] = NameGetDatum(&row->to_column);
	row->values[J_TO_KEY] = CStringGetTextDatum(rec->to_key);
	row->values[J_AMOUNT] = NumericGetDatum(rec->amount);
	row->values[J_FROM_BALANCE] = PointerGetDatum(results[i].from_balance);
	row->isnull[J_FROM_BALANCE] = results[i].from_balance == NULL;
	row->values[J_TO_BALANCE] = PointerGetDatum(results[i].to_balance);
	row->isnull[J_TO_BALANCE] = results[i].to_balance == NULL;
	row->values[J_CALLER] = NameGetDatum(caller);
	row->values[J_TXID] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	row->values[J_IDEMPOTENCY_KEY] =
		idempotency_key ? CStringGetTextDatum(idempotency_key) : (Datum) 0;
	row->isnull[J_IDEMPOTENCY_KEY] = idempotency_key == NULL;
}

/* append one row with the kept INSERT, as the extension's owner */
static void
journal_insert_statement(JournalRow *row)
{
	static const int param_columns[JOURNAL_NARGS] = {
		J_TRANSFER_ID, J_BATCH_ID, J_LEG, J_FROM_TABLE, J_FROM_COLUMN,
		J_FROM_KEY, J_TO_TABLE, J_TO_COLUMN, J_TO_KEY, J_AMOUNT,
		J_FROM_BALANCE, J_TO_BALANCE, J_CALLER, J_IDEMPOTENCY_KEY};
	Datum		values[JOURNAL_NARGS];
	char		nulls[JOURNAL_NARGS];
	int			rc;
	int			p;

	for (p = 0; p < JOURNAL_NARGS; p++)
	{
		values[p] = row->values[param_columns[p]];
		nulls[p] = row->isnull[param_columns[p]] ? 'n' : ' ';
	}
	rc = execute_as_owner(journal_plan(), values, nulls, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "appending to the journal failed: %s",
			 SPI_result_code_string(rc));
}

#ifdef TG_HAVE_ROW_PATH

static const Oid journal_column_types[J_NATTS] = {
	INT8OID, INT8OID, INT4OID, TIMESTAMPTZOID, REGCLASSOID, NAMEOID, TEXTOID,
	REGCLASSOID, NAMEOID, TEXTOID, NUMERICOID, NUMERICOID, NUMERICOID,
	NAMEOID, XID8OID, TEXTOID};

/*
 * Can the journal rows be inserted without the statement?  Only while the
 * journal is exactly as the extension made it: its columns, no trigger, no
 * rule, no row-level security (a superuser could add any of them), and no
 * module checking the executor's permissions (an audit module must see the
 * insert).
 */
static bool
journal_row_path_usable(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	if (!tg_row_path_enabled || ExecutorCheckPerms_hook != NULL ||
		rel->rd_rel->relkind != RELKIND_RELATION ||
		rel->trigdesc != NULL || rel->rd_rel->relhasrules ||
		rel->rd_rel->relrowsecurity || desc->natts != J_NATTS)
		return false;
	for (i = 0; i < J_NATTS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->atttypid != journal_column_types[i] ||
			att->attgenerated)
			return false;
	}
	return true;
}

/*
 * Append rows with the executor's routine for a plain INSERT of a row
 * (constraints, index entries, the primary key's uniqueness), as logical
 * replication applies one.
 */
static void
journal_insert_rows(Relation rel, JournalRow *rows, int nrows)
{
	Bitmapset  *none = NULL;
	ResultRelInfo *rri;
	EState	   *estate = tg_exec_state_open(&rel, &none, 1,
											GetCurrentCommandId(true), &rri);
	MemoryContext old = MemoryContextSwitchTo(estate->es_query_cxt);
	TupleTableSlot *slot = table_slot_create(rel, &estate->es_tupleTable);
	int			i;

	MemoryContextSwitchTo(old);

	for (i = 0; i < nrows; i++)
	{
		ExecClearTuple(slot);
		memcpy(slot->tts_values, rows[i].values, sizeof(rows[i].values));
		memcpy(slot->tts_isnull, rows[i].isnull, sizeof(rows[i].isnull));
		ExecStoreVirtualTuple(slot);
		ExecSimpleRelationInsert(rri, estate, slot);
		ResetPerTupleExprContext(estate);
	}

	tg_exec_state_close(estate);
}

#endif							/* TG_HAVE_ROW_PATH */

/*
 * Append the journaled legs of a completed transfer.  Called with SPI
 * connected, after the updates.  A batch's legs share its first leg's
 * transfer id as batch_id.
 */
void
tg_journal_append(TgLegRecord *records, TgLegResult *results, int nlegs,
				  bool is_batch, const char *idempotency_key)
{
	NameData	caller;
	JournalRow *rows = palloc(sizeof(JournalRow) * nlegs);
	int			nrows = 0;
	int			i;

	namestrcpy(&caller, GetUserNameFromId(GetUserId(), false));
	for (i = 0; i < nlegs; i++)
		if (records[i].journal)
			journal_row(&rows[nrows++], &records[i], results, i, is_batch,
						idempotency_key, &caller);
	if (nrows == 0)
		return;

#ifdef TG_HAVE_ROW_PATH
	{
		Relation	rel = table_open(tg_extension_relation(TG_JOURNAL_NAME, false),
									 RowExclusiveLock);
		bool		usable = journal_row_path_usable(rel);

		if (usable)
			journal_insert_rows(rel, rows, nrows);
		table_close(rel, NoLock);
		if (usable)
			return;
	}
#endif
	for (i = 0; i < nrows; i++)
		journal_insert_statement(&rows[i]);
}

/* ---- idempotency keys ---- */

/*
 * Claim (calling role, key) until the end of the transaction.  Returns
 * false, without waiting, if nowait and another transaction holds it.
 */
bool
tg_idempotency_claim(const char *key, bool nowait)
{
	const char *caller = GetUserNameFromId(GetUserId(), false);
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

/* the request as stored: kind and legs, tables by qualified name */
static char *
request_json(bool is_batch, TgLegRecord *records, int nlegs)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"kind\": \"%s\", \"legs\": [",
					 is_batch ? "transfer_batch" : "transfer");
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

	if (!values_equal(kind_then, kind_now))
		detail = psprintf("The key was first used for a %s call, not a %s call.",
						  value_text(kind_then), value_text(kind_now));
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
					  int nlegs, TgLegResult *results)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2];
	NameData	caller;
	SPIPlanPtr	plan;
	int			rc;
	bool		isnull;
	Jsonb	   *stored;
	Jsonb	   *stored_result;
	Jsonb	   *requested;
	SPITupleTable *found;
	int			i;

	namestrcpy(&caller, GetUserNameFromId(GetUserId(), false));
	values[0] = NameGetDatum(&caller);
	values[1] = CStringGetTextDatum(key);
	plan = ledger_plan(&idempotency_select, TG_IDEMPOTENCY_NAME,
					   "SELECT request, result FROM %s"
					   " WHERE caller OPERATOR(pg_catalog.=) $1"
					   " AND idempotency_key OPERATOR(pg_catalog.=) $2",
					   2, argtypes);
	rc = execute_as_owner(plan, values, NULL, 1);
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
															   nlegs)));
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
					  int nlegs, TgLegResult *results)
{
	StringInfoData result;
	Oid			argtypes[4] = {NAMEOID, TEXTOID, JSONBOID, JSONBOID};
	Datum		values[4];
	NameData	caller;
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

	namestrcpy(&caller, GetUserNameFromId(GetUserId(), false));
	values[0] = NameGetDatum(&caller);
	values[1] = CStringGetTextDatum(key);
	values[2] = jsonb_from_cstring(request_json(is_batch, records, nlegs));
	values[3] = jsonb_from_cstring(result.data);
	plan = ledger_plan(&idempotency_insert, TG_IDEMPOTENCY_NAME,
					   "INSERT INTO %s (caller, idempotency_key, request, result)"
					   " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
					   4, argtypes);
	rc = execute_as_owner(plan, values, NULL, 0);
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
