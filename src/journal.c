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



/*
 * The journal's columns in table order, the one description both ways of
 * appending use.  The row path below writes them all, created_at and txid
 * as their defaults would (now() is the transaction's start,
 * pg_current_xact_id() its top-level id).  The statement binds those with
 * a parameter type, computes txid with its expression, and leaves
 * created_at to its default.
 */
enum
{
	J_TRANSFER_ID, J_BATCH_ID, J_LEG, J_CREATED_AT, J_FROM_TABLE,
	J_FROM_COLUMN, J_FROM_KEY, J_TO_TABLE, J_TO_COLUMN, J_TO_KEY, J_AMOUNT,
	J_FROM_BALANCE, J_TO_BALANCE, J_CALLER, J_TXID, J_IDEMPOTENCY_KEY,
	J_HOLD_ID, J_KIND,			/* 1.5 */
	J_NATTS
};

/* the journal's columns before 1.5 */
#define J_NATTS_1_4		J_HOLD_ID

typedef struct JournalColumn
{
	const char *name;
	Oid			type;			/* its type in the table */
	Oid			param_type;		/* bound as a parameter of this type, or */
	const char *expression;		/* computed by this, or (both unset) default */
} JournalColumn;

static const JournalColumn journal_columns[J_NATTS] = {
	{"transfer_id", INT8OID, INT8OID, NULL},
	{"batch_id", INT8OID, INT8OID, NULL},
	{"leg", INT4OID, INT4OID, NULL},
	{"created_at", TIMESTAMPTZOID, InvalidOid, NULL},
	{"from_table", REGCLASSOID, OIDOID, NULL},
	{"from_column", NAMEOID, NAMEOID, NULL},
	{"from_key", TEXTOID, TEXTOID, NULL},
	{"to_table", REGCLASSOID, OIDOID, NULL},
	{"to_column", NAMEOID, NAMEOID, NULL},
	{"to_key", TEXTOID, TEXTOID, NULL},
	{"amount", NUMERICOID, NUMERICOID, NULL},
	{"from_balance", NUMERICOID, NUMERICOID, NULL},
	{"to_balance", NUMERICOID, NUMERICOID, NULL},
	{"caller", NAMEOID, NAMEOID, NULL},
	{"txid", XID8OID, InvalidOid, "pg_catalog.pg_current_xact_id()"},
	{"idempotency_key", TEXTOID, TEXTOID, NULL},
	{"hold_id", INT8OID, INT8OID, NULL},
	{"kind", TEXTOID, TEXTOID, NULL},
};

/* the kept INSERTs, of the journal before 1.5 and since */
static TgExtensionStatement journal_insert_1_4;
static TgExtensionStatement journal_insert;

/* what the kind column says of a leg */
static const char *
kind_name(TgLegKind kind)
{
	switch (kind)
	{
		case TG_LEG_TRANSFER:
			return "transfer";
		case TG_LEG_HOLD:
			return "hold";
		case TG_LEG_CAPTURE:
			return "capture";
		case TG_LEG_RELEASE:
			return "release";
		case TG_LEG_EXPIRE:
			return "expire";
	}
	return "transfer";			/* keep compiler quiet */
}

/*
 * The kept INSERT of one journal row:
 *	 INSERT INTO journal (transfer_id, ..., txid, idempotency_key)
 *	 VALUES ($1, ..., pg_catalog.pg_current_xact_id(), $14)
 * with a regclass column bound as its OID.
 */
static SPIPlanPtr
journal_plan(int ncols)
{
	StringInfoData cols;
	StringInfoData vals;
	Oid			argtypes[J_NATTS];
	int			nargs = 0;
	int			c;

	initStringInfo(&cols);
	initStringInfo(&vals);
	for (c = 0; c < ncols; c++)
	{
		const JournalColumn *col = &journal_columns[c];

		if (!OidIsValid(col->param_type) && col->expression == NULL)
			continue;
		appendStringInfo(&cols, "%s%s", cols.len ? ", " : "", col->name);
		if (vals.len)
			appendStringInfoString(&vals, ", ");
		if (col->expression)
			appendStringInfoString(&vals, col->expression);
		else
		{
			argtypes[nargs++] = col->param_type;
			appendStringInfo(&vals, "$%d%s", nargs,
							 col->type == REGCLASSOID ? "::pg_catalog.regclass" : "");
		}
	}
	return tg_extension_plan(ncols == J_NATTS ? &journal_insert :
							 &journal_insert_1_4, TG_JOURNAL_NAME,
							 psprintf("INSERT INTO %%s (%s) VALUES (%s)",
									  cols.data, vals.data),
							 nargs, argtypes);
}

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
	bool		has_from = OidIsValid(rec->from_relid);
	bool		has_to = rec->kind != TG_LEG_HOLD;

	memset(row->isnull, false, sizeof(row->isnull));
	if (has_from)
		namestrcpy(&row->from_column, rec->from_column);
	namestrcpy(&row->to_column, rec->to_column);

	row->values[J_TRANSFER_ID] = Int64GetDatum(results[i].transfer_id);
	row->values[J_BATCH_ID] = Int64GetDatum(results[0].transfer_id);
	row->isnull[J_BATCH_ID] = !is_batch;
	row->values[J_LEG] = Int32GetDatum(i + 1);
	row->values[J_CREATED_AT] =
		TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	/* a hold has no destination yet, a step ending one no source */
	if (has_from)
	{
		row->values[J_FROM_TABLE] = ObjectIdGetDatum(rec->from_relid);
		row->values[J_FROM_COLUMN] = NameGetDatum(&row->from_column);
		row->values[J_FROM_KEY] = CStringGetTextDatum(rec->from_key);
	}
	row->isnull[J_FROM_TABLE] = row->isnull[J_FROM_COLUMN] =
		row->isnull[J_FROM_KEY] = !has_from;
	if (has_to)
	{
		row->values[J_TO_TABLE] = ObjectIdGetDatum(rec->to_relid);
		row->values[J_TO_COLUMN] = NameGetDatum(&row->to_column);
		row->values[J_TO_KEY] = CStringGetTextDatum(rec->to_key);
	}
	row->isnull[J_TO_TABLE] = row->isnull[J_TO_COLUMN] =
		row->isnull[J_TO_KEY] = !has_to;
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
	/* a hold's id is the transfer id of its own row */
	row->values[J_HOLD_ID] = Int64GetDatum(rec->kind == TG_LEG_HOLD ?
										   results[i].transfer_id : rec->hold_id);
	row->isnull[J_HOLD_ID] = rec->kind == TG_LEG_TRANSFER;
	row->values[J_KIND] = CStringGetTextDatum(kind_name(rec->kind));
}

/* append one row with the kept INSERT, as the extension's owner */
static void
journal_insert_statement(JournalRow *row, int ncols)
{
	Datum		values[J_NATTS];
	char		nulls[J_NATTS];
	int			nargs = 0;
	int			rc;
	int			c;

	for (c = 0; c < ncols; c++)
		if (OidIsValid(journal_columns[c].param_type))
		{
			values[nargs] = row->values[c];
			nulls[nargs++] = row->isnull[c] ? 'n' : ' ';
		}
	rc = tg_spi_as_owner(journal_plan(ncols), values, nulls, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "appending to the journal failed: %s",
			 SPI_result_code_string(rc));
}

#ifdef TG_HAVE_ROW_PATH

/*
 * Can the journal rows be inserted without the statement?  Only while the
 * journal is exactly as the extension made it: its columns, no trigger, no
 * rule, no row-level security (a superuser could add any of them), and no
 * module checking the executor's permissions (an audit module must see the
 * insert).
 */
static bool
journal_row_path_usable(Relation rel, int ncols)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	if (!tg_row_path_enabled || ExecutorCheckPerms_hook != NULL ||
		rel->rd_rel->relkind != RELKIND_RELATION ||
		rel->trigdesc != NULL || rel->rd_rel->relhasrules ||
		rel->rd_rel->relrowsecurity || desc->natts != ncols)
		return false;
	for (i = 0; i < ncols; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->atttypid != journal_columns[i].type ||
			strcmp(NameStr(att->attname), journal_columns[i].name) != 0 ||
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
journal_insert_rows(Relation rel, JournalRow *rows, int nrows, int ncols)
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
		memcpy(slot->tts_values, rows[i].values, sizeof(Datum) * ncols);
		memcpy(slot->tts_isnull, rows[i].isnull, sizeof(bool) * ncols);
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
	NameData   *caller = tg_caller();
	JournalRow *rows = palloc(sizeof(JournalRow) * nlegs);
	int			nrows = 0;
	int			ncols;
	bool		holds = false;
	int			i;

	for (i = 0; i < nlegs; i++)
		if (records[i].journal)
		{
			journal_row(&rows[nrows++], &records[i], results, i, is_batch,
						idempotency_key, caller);
			holds |= records[i].kind != TG_LEG_TRANSFER;
		}
	if (nrows == 0)
		return;

	/* the journal of an installation not yet updated to 1.5 has no kinds */
	ncols = get_attnum(tg_extension_relation(TG_JOURNAL_NAME, false),
					   "kind") != InvalidAttrNumber ? J_NATTS : J_NATTS_1_4;
	if (holds && ncols != J_NATTS)
		elog(ERROR, "the journal has no column for holds");

#ifdef TG_HAVE_ROW_PATH
	{
		Relation	rel = table_open(tg_extension_relation(TG_JOURNAL_NAME, false),
									 RowExclusiveLock);
		bool		usable = journal_row_path_usable(rel, ncols);

		if (usable)
			journal_insert_rows(rel, rows, nrows, ncols);
		table_close(rel, NoLock);
		if (usable)
			return;
	}
#endif
	for (i = 0; i < nrows; i++)
		journal_insert_statement(&rows[i], ncols);
}
