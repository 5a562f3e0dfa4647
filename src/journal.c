/*-------------------------------------------------------------------------
 *
 * journal.c
 *	  The journal (transfer_guard_journal): one row per leg, appended in the
 *	  caller's transaction on the caller's behalf by the extension's owner;
 *	  no ordinary role may write it.  Rows go in through the table access
 *	  method while the journal is as the extension made it, else through a
 *	  kept INSERT.
 *
 * IDENTIFICATION
 *	  src/journal.c
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

#include "exec.h"
#include "extension.h"
#include "journal.h"
#include "request.h"



/* journal columns bound as parameters */
#define JOURNAL_NARGS 14

static TgExtensionStatement journal_insert;

static SPIPlanPtr
journal_plan(void)
{
	Oid			argtypes[JOURNAL_NARGS] = {
		INT8OID, INT8OID, INT4OID, OIDOID, NAMEOID, TEXTOID, OIDOID,
		NAMEOID, TEXTOID, NUMERICOID, NUMERICOID, NUMERICOID, NAMEOID,
	TEXTOID};

	return tg_extension_plan(&journal_insert, TG_JOURNAL_NAME,
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
	rc = tg_spi_as_owner(journal_plan(), values, nulls, 0);
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
