/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  The transfer engine, shared by transfer(), try_transfer() and
 *	  transfer_batch().  tg_execute() runs the pipeline: resolve the legs,
 *	  put their rows in the global lock order, open the tables, claim or
 *	  replay the idempotency key, lock and read the rows, check every leg,
 *	  update each touched row once, record the journal and the key, and
 *	  return the results.
 *
 *	  The global lock order is (table OID, key in the key type's btree
 *	  order), and the lock FOR NO KEY UPDATE.  Rows of tables the row path
 *	  serves (rows.c) are locked and updated through the access methods;
 *	  the others through statements (statements.c).  try_transfer() and
 *	  NOWAIT calls lock every row before any check, so nothing is written
 *	  before every check has passed; a waiting transfer() on the row path
 *	  reads, checks, and locks each row by updating it, checking again on
 *	  a row another transaction changed first, and deciding a refusal only
 *	  on locked rows.  docs/design.md explains each choice.
 *
 * IDENTIFICATION
 *	  src/engine.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "port/pg_bitutils.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "amount.h"
#include "checks.h"
#include "citus.h"
#include "engine.h"
#include "exec.h"
#include "extension.h"
#include "idempotency.h"
#include "journal.h"
#include "keys.h"
#include "pending.h"
#include "registry.h"
#include "report.h"
#include "request.h"
#include "rows.h"
#include "slots.h"
#include "statements.h"
#include "table.h"

/* one row of one table, and the balances of its guarded columns */
typedef struct OpRow
{
	Datum		key;			/* converted to the key's base type */
	Datum		held_key;		/* the key as the row read holds it (its
								 * spelling, which may differ from key's) */
	struct OpRow *merged_into;	/* the row with the same key this one was
								 * merged into, or itself */
	bool		found;
	bool	   *debited;		/* per table column: some leg took from it */
	bool	   *credited;		/* per table column: some leg added to it */
	Numeric    *start;			/* per table column: balance as read */
	Numeric    *balance;		/* per table column: balance after the legs */
	bool	   *isnull;			/* per table column: NULL in the row */
	int		   *last_leg;		/* per table column: last leg touching it, -1 */
	Numeric    *final;			/* per table column: as stored by the update */
	TupleTableSlot *slot;		/* row path: the row as read */
	bool		locked;			/* row path: slot's version is locked */
	bool		changed_by_call;	/* row path: code this call ran changed it
									 * after the read; a statement updates it */
	Numeric    *drained;		/* per column: slots combined into it, or
								 * NULL (all NULL: no slots combined) */
	Numeric    *total;			/* per column: its total after the legs,
								 * before its slots were filled again */
} OpRow;

/* one table taking part in the call */
typedef struct OpTable
{
	TgTable    *table;
	Relation	rel;			/* held open for the whole call */
	uint64		mask;			/* the guarded columns the legs use */
	bool		rowpath;		/* locked and updated by rows.c */
	int			relno;			/* its number in the row path */
	int			nrows;
	int			maxrows;
	OpRow	  **rows;
} OpTable;

/* one leg, resolved */
typedef struct OpLeg
{
	TgLegKind	kind;
	TgLegRecord record;			/* as the journal and idempotency see it */
	OpTable    *from_table;		/* NULL: a step ending a hold, no source */
	int			from_col;		/* index into table->columns */
	OpRow	   *from_row;
	OpTable    *to_table;
	int			to_col;
	OpRow	   *to_row;			/* NULL: a hold, not credited */
	Numeric		amount;
	Numeric		from_after;
	Numeric		to_after;
	Datum		to_key;			/* converted, until to_row is placed */
	TgHotRow   *deferred;		/* a credit to this hot row, deferred */
	int			slot;			/* the slot its debit takes, or -1 */
} OpLeg;

/*
 * A hot row with slots that the call debits: either one slot covers its
 * debits (slot >= 0; the row is not locked), or every slot is combined
 * into the row (slot -1; share is what each slot holds afterwards).
 */
typedef struct SlotUse
{
	OpTable    *ot;
	OpRow	   *row;
	int			column;
	TgHotRow   *hot;
	int			slot;
	Numeric		debit;
	int			nslots;			/* combined: the slots locked */
	Numeric		share;
} SlotUse;

/* what the checks of the legs found */
typedef enum LegCheck
{
	LEG_OK,
	LEG_INSUFFICIENT_FUNDS,		/* try mode: a floor */
	LEG_LIMIT_EXCEEDED,			/* try mode: a ceiling */
	LEG_DECIDE_WHEN_LOCKED		/* a refusal or data error on rows not all
								 * locked yet */
} LegCheck;

/* the call */
typedef struct OpState
{
	TgRequest  *req;
	MemoryContext outer;		/* the caller's: balances outlive SPI */
	int			ntables;
	int			maxtables;
	OpTable   **tables;
	int			nlegs;
	OpLeg	   *legs;
	TgLegRecord *records;		/* the legs as recorded */
	bool		journal;		/* some leg is journaled */
	bool		citus;			/* some table is a Citus table */
	bool		local;			/* some table is this server's own */
	bool		hot;			/* some table has hot rows */
	int			nslots;			/* slot uses */
	SlotUse    *slots;
	bool		is_batch;
	bool		try_mode;		/* business outcomes as a status */
	TgLockMode	lock_mode;		/* how statements and try calls lock */
	TgRowExec  *ex;				/* the row path, or NULL */
	bool		lock_by_update; /* read now, lock each row by its update */
	bool		decide_when_locked; /* refusals as LEG_DECIDE_WHEN_LOCKED */
	int			current_leg;	/* for the error context, -1 when none */
} OpState;

/* errors found while a batch leg is checked name the leg */
static void
leg_error_context(void *arg)
{
	OpState    *st = (OpState *) arg;

	if (st->is_batch && st->current_leg >= 0)
		errcontext("transfer_batch leg %d", st->current_leg + 1);
}

/*
 * The call's entry for a table, added the first time a leg names it.
 * Adding it locks the table (RowExclusiveLock), takes in the invalidations
 * committed so far and gets its guard from the cache (tg_get_table), so a
 * guard changed since the last call applies to this one.
 */
static OpTable *
op_table(OpState *st, Oid relid)
{
	OpTable    *ot;
	int			i;

	for (i = 0; i < st->ntables; i++)
		if (st->tables[i]->table->relid == relid)
			return st->tables[i];

	if (st->ntables == st->maxtables)
	{
		st->maxtables *= 2;
		st->tables = repalloc(st->tables, sizeof(OpTable *) * st->maxtables);
	}
	ot = palloc0(sizeof(OpTable));
	ot->table = tg_get_table(relid, false);
	ot->maxrows = 4;
	ot->rows = palloc(sizeof(OpRow *) * ot->maxrows);
	st->tables[st->ntables++] = ot;
	return ot;
}

static int
column_index(const TgTable *table, const TgColumn *col)
{
	return (int) (col - table->columns);
}

/* a new row for a key, in no table's list yet */
static OpRow *
new_row(OpTable *ot, Datum key)
{
	OpRow	   *row;
	int			ncols = ot->table->ncolumns;
	int			i;

	row = palloc0(sizeof(OpRow));
	row->key = key;
	row->merged_into = row;
	row->start = palloc0(sizeof(Numeric) * ncols);
	row->balance = palloc0(sizeof(Numeric) * ncols);
	row->isnull = palloc0(sizeof(bool) * ncols);
	row->final = palloc0(sizeof(Numeric) * ncols);
	row->debited = palloc0(sizeof(bool) * ncols);
	row->credited = palloc0(sizeof(bool) * ncols);
	row->last_leg = palloc(sizeof(int) * ncols);
	for (i = 0; i < ncols; i++)
		row->last_leg[i] = -1;
	return row;
}

/*
 * A row for a key.  Rows are appended as legs name them; duplicates are
 * merged after sorting (merge_rows), so resolving n legs costs n log n
 * comparisons, not n squared.
 */
static OpRow *
op_row(OpTable *ot, Datum key)
{
	OpRow	   *row = new_row(ot, key);

	if (ot->nrows == ot->maxrows)
	{
		ot->maxrows *= 2;
		ot->rows = repalloc(ot->rows, sizeof(OpRow *) * ot->maxrows);
	}
	ot->rows[ot->nrows++] = row;
	return row;
}

/*
 * The destination of a deferred credit: a row of the call that is never
 * locked, read or updated (found, with no balance), its key as set_hot()
 * recorded it.
 */
static OpRow *
deferred_row(OpTable *ot, TgHotRow *hot)
{
	OpRow	   *row = new_row(ot, hot->key);

	row->held_key = hot->key;
	row->found = true;
	return row;
}

static int
cmp_tables(const void *a, const void *b)
{
	Oid			ra = (*(OpTable *const *) a)->table->relid;
	Oid			rb = (*(OpTable *const *) b)->table->relid;

	return (ra > rb) - (ra < rb);
}

static int
cmp_rows(const void *a, const void *b, void *arg)
{
	TgTable    *table = (TgTable *) arg;

	return tg_key_compare(table, (*(OpRow *const *) a)->key,
						  (*(OpRow *const *) b)->key);
}

/*
 * Sort a table's rows into key order and merge rows with equal keys (in
 * the key's collation, so 'A' and 'a' are one row under a case-insensitive
 * one): each duplicate points to the row it merged into.
 */
static void
merge_rows(OpTable *ot)
{
	int			n = 0;
	int			r;

	qsort_arg(ot->rows, ot->nrows, sizeof(OpRow *), cmp_rows, ot->table);
	for (r = 0; r < ot->nrows; r++)
	{
		if (n > 0 && tg_key_compare(ot->table, ot->rows[n - 1]->key,
									ot->rows[r]->key) == 0)
			ot->rows[r]->merged_into = ot->rows[n - 1];
		else
			ot->rows[n++] = ot->rows[r];
	}
	ot->nrows = n;
}

/* binary search of a locked key among the table's sorted rows */
static OpRow *
find_row(OpTable *ot, Datum key)
{
	int			lo = 0;
	int			hi = ot->nrows - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = tg_key_compare(ot->table, ot->rows[mid]->key, key);

		if (c == 0)
			return ot->rows[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static void
raise_not_found(OpTable *ot, OpRow *row)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("no row with key %s in table \"%s\"",
					tg_key_display(ot->table, row->key),
					tg_rel_display_name(ot->table->relid)),
			 errdetail("The row does not exist or is not visible to the current role."),
			 tg_errtablecol(ot->table->relid, ot->table->key_attnum)));
}

/* the keys of a table's rows, in their (key) order */
static Datum *
row_keys(OpTable *ot)
{
	Datum	   *keys = palloc(sizeof(Datum) * ot->nrows);
	int			r;

	for (r = 0; r < ot->nrows; r++)
		keys[r] = ot->rows[r]->key;
	return keys;
}

/*
 * Where a row's values come from: a row path slot, by attribute number,
 * or a statement's result tuple, by position from first_attno on, one
 * position per column copied.
 */
typedef struct RowSource
{
	TupleTableSlot *slot;
	HeapTuple	tuple;
	TupleDesc	desc;
	int			first_attno;
} RowSource;

/*
 * Copy the balances of the guarded columns in which from src into dest
 * (and their NULLs into isnull, if given), as numeric, in the caller's
 * memory context.
 */
static void
copy_balances(OpState *st, OpTable *ot, RowSource *src, uint64 which,
			  Numeric *dest, bool *isnull)
{
	MemoryContext old = MemoryContextSwitchTo(st->outer);
	int			attno = src->first_attno;
	int			c;

	for (c = 0; c < ot->table->ncolumns; c++)
	{
		TgColumn   *col = &ot->table->columns[c];
		bool		null;
		Datum		v;

		if ((which & (UINT64CONST(1) << c)) == 0)
			continue;
		v = src->slot ? slot_getattr(src->slot, col->attnum, &null) :
			SPI_getbinval(src->tuple, src->desc, attno++, &null);
		if (isnull)
			isnull[c] = null;
		dest[c] = null ? NULL : tg_numeric_from_column(col, v);
	}
	MemoryContextSwitchTo(old);
}

/* a row read: its key as held, its balances as the start of every leg */
static void
row_read(OpState *st, OpTable *ot, OpRow *row, RowSource *src, Datum held_key)
{
	MemoryContext old = MemoryContextSwitchTo(st->outer);
	int			c;

	row->found = true;
	row->held_key = datumCopy(held_key, ot->table->key_typbyval,
							  ot->table->key_typlen);
	MemoryContextSwitchTo(old);
	copy_balances(st, ot, src, ot->mask, row->start, row->isnull);
	for (c = 0; c < ot->table->ncolumns; c++)
		row->balance[c] = row->start[c];
}

/* lock_table_rows() for the rows with these keys, with one statement */
static void
lock_rows_with(OpState *st, OpTable *ot, TgLockMode mode, Datum *keys,
			   int nkeys)
{
	SPITupleTable *tuptable = tg_stmt_lock(ot->table, mode, ot->mask,
										   keys, nkeys);
	RowSource	src = {NULL, NULL, tuptable->tupdesc, 2};
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		key = SPI_getbinval(tuptable->vals[i], tuptable->tupdesc,
										1, &isnull);
		OpRow	   *row = isnull ? NULL : find_row(ot, key);

		if (row == NULL)
			elog(ERROR, "locked a row of table \"%s\" that was not asked for",
				 tg_rel_display_name(ot->table->relid));
		src.tuple = tuptable->vals[i];
		row_read(st, ot, row, &src, key);
	}
	SPI_freetuptable(tuptable);
}

/*
 * Lock the rows of one table with the statement, in key order, and read
 * the balances of the columns the legs use.  Rows that are not returned
 * stay !found: they do not exist, are hidden, or (SKIP LOCKED) are busy.
 * A Citus table's rows are locked one statement per key, in key order,
 * each routed to the shard that holds the row.
 */
static void
lock_table_rows(OpState *st, OpTable *ot, TgLockMode mode)
{
	Datum	   *keys = row_keys(ot);
	int			r;

	if (ot->table->placement == TG_PLACE_LOCAL)
		lock_rows_with(st, ot, mode, keys, ot->nrows);
	else
		for (r = 0; r < ot->nrows; r++)
			lock_rows_with(st, ot, mode, &keys[r], 1);
}

/* a row the row path read or locked */
static void
read_balances(OpState *st, OpTable *ot, OpRow *row, TupleTableSlot *slot)
{
	RowSource	src = {slot, NULL, NULL, 0};
	bool		isnull;

	row_read(st, ot, row, &src,
			 slot_getattr(slot, ot->table->key_attnum, &isnull));
	row->slot = slot;
}

/*
 * Read the rows of one table through the row path (rows.c), in key order,
 * with the balances of the columns the legs use, as lock_table_rows() does
 * with a statement: locked now, or, with TG_LOCK_BY_UPDATE, as the
 * snapshot sees them, to be locked by their update.
 */
static void
lock_table_rows_direct(OpState *st, OpTable *ot, TgLockMode mode)
{
	int			r;

	for (r = 0; r < ot->nrows; r++)
	{
		OpRow	   *row = ot->rows[r];
		TupleTableSlot *slot;

		if (mode == TG_LOCK_BY_UPDATE)
			slot = tg_row_read(st->ex, ot->relno, row->key);
		else
			slot = tg_row_lock(st->ex, ot->relno, ot->table, row->key, mode);
		if (slot == NULL)
			continue;
		read_balances(st, ot, row, slot);
		row->locked = mode != TG_LOCK_BY_UPDATE;
	}
}

/*
 * Read the rows of every table, in the global order: on the row path with
 * rowpath_mode (maybe TG_LOCK_BY_UPDATE), through statements with
 * st->lock_mode.  Forgets what an earlier read found.
 */
static void
read_or_lock_rows(OpState *st, TgLockMode rowpath_mode)
{
	int			t;
	int			r;

	for (t = 0; t < st->ntables; t++)
	{
		OpTable    *ot = st->tables[t];

		for (r = 0; r < ot->nrows; r++)
		{
			ot->rows[r]->found = false;
			ot->rows[r]->slot = NULL;
			ot->rows[r]->locked = false;
			ot->rows[r]->changed_by_call = false;
		}
		/* a table may have no row to lock: deferred credits, slot debits */
		if (ot->nrows > 0 && ot->rowpath)
			lock_table_rows_direct(st, ot, rowpath_mode);
		else if (ot->nrows > 0)
			lock_table_rows(st, ot, st->lock_mode);
		/* a later table is read with a new snapshot (READ COMMITTED) */
		if (st->ex)
			tg_row_exec_next_table(st->ex);
	}
}

/*
 * A value of a column's base type as the column stores it: a numeric with
 * the column's typmod applied (the checks made sure it fits exactly).  A
 * domain's constraints are checked by tg_row_update() on the version it
 * writes, as assigning the value in an UPDATE would.
 */
static Datum
column_value(Oid basetypid, int32 basetypmod, Datum value)
{
	if (basetypid == NUMERICOID && basetypmod >= 0)
		value = DirectFunctionCall2(numeric, value, Int32GetDatum(basetypmod));
	return value;
}

/* the domain a column's values must satisfy, or InvalidOid */
static Oid
domain_of(Oid typid, Oid basetypid)
{
	return typid != basetypid ? typid : InvalidOid;
}

/* a version column's value plus one, with the + of its type */
static Datum
version_plus_one(TgColumn *col, Datum value)
{
	Datum		next;

	switch (col->version_basetypid)
	{
		case INT2OID:
			next = DirectFunctionCall2(int2pl, value, Int16GetDatum(1));
			break;
		case INT4OID:
			next = DirectFunctionCall2(int4pl, value, Int32GetDatum(1));
			break;
		case INT8OID:
			next = DirectFunctionCall2(int8pl, value, Int64GetDatum(1));
			break;
		default:
			elog(ERROR, "unexpected version column type %u",
				 col->version_basetypid);
			next = (Datum) 0;	/* keep compiler quiet */
	}
	return next;
}

/* the guarded columns some leg changed in a row */
static uint64
touched_columns(OpTable *ot, OpRow *row)
{
	uint64		mask = 0;
	int			c;

	for (c = 0; c < ot->table->ncolumns; c++)
		if (row->last_leg[c] >= 0)
			mask |= UINT64CONST(1) << c;
	return mask;
}

/*
 * The columns a row path update of one row sets, with their new values:
 * every touched balance its checked value, each version column (once) its
 * value plus one, a NULL version staying NULL as "v = v + 1" leaves it
 * (and counting as set, for "UPDATE OF v" triggers).  Returns how many.
 */
static int
row_path_new_values(OpTable *ot, OpRow *row, AttrNumber *attnums,
					Datum *values, bool *nulls, Oid *domains)
{
	TgTable    *table = ot->table;
	int			nset = 0;
	int			c;
	int			i;

	for (c = 0; c < table->ncolumns; c++)
	{
		TgColumn   *col = &table->columns[c];
		bool		isnull;
		Datum		v;

		if (row->last_leg[c] < 0)
			continue;
		attnums[nset] = col->attnum;
		domains[nset] = domain_of(col->typid, col->basetypid);
		nulls[nset] = false;
		values[nset++] = column_value(col->basetypid, col->basetypmod,
									  tg_numeric_to_column(col, row->balance[c]));
		if (col->version_attnum == InvalidAttrNumber)
			continue;
		for (i = 0; i < nset; i++)
			if (attnums[i] == col->version_attnum)
				break;
		if (i < nset)
			continue;
		v = slot_getattr(row->slot, col->version_attnum, &isnull);
		attnums[nset] = col->version_attnum;
		domains[nset] = domain_of(col->version_typid, col->version_basetypid);
		nulls[nset] = isnull;
		values[nset++] = isnull ? (Datum) 0 : version_plus_one(col, v);
	}
	return nset;
}

/*
 * Update one row through the row path, by its update locking it if it was
 * read without a lock.  Returns false when the version read is no longer
 * the row's newest (see tg_row_update): *concurrent then says whether
 * another transaction changed it, or code this call ran.
 */
static bool
update_row_direct(OpState *st, OpTable *ot, OpRow *row, bool *concurrent)
{
	AttrNumber	attnums[2 * TG_MAX_COLUMNS];
	Datum		values[2 * TG_MAX_COLUMNS];
	Oid			domains[2 * TG_MAX_COLUMNS];
	bool		nulls[2 * TG_MAX_COLUMNS];
	int			nset;
	RowSource	src = {NULL, NULL, NULL, 0};

	nset = row_path_new_values(ot, row, attnums, values, nulls, domains);
	src.slot = tg_row_update(st->ex, ot->relno, row->slot, row->locked, nset,
							 attnums, values, nulls, domains, concurrent);
	if (src.slot == NULL)
		return false;
	copy_balances(st, ot, &src, touched_columns(ot, row), row->final, NULL);
	return true;
}

/*
 * Update every touched balance of one locked row with the statement, by
 * its net change (exact, as numeric: a batch may move more than a bigint
 * holds through one bigint balance, in and out again).
 */
static void
update_row(OpState *st, OpTable *ot, OpRow *row)
{
	TgTable    *table = ot->table;
	uint64		mask = touched_columns(ot, row);
	Datum		deltas[TG_MAX_COLUMNS];
	int			ndeltas = 0;
	RowSource	src = {NULL, NULL, NULL, 1};
	int			c;

	for (c = 0; c < table->ncolumns; c++)
		if (mask & (UINT64CONST(1) << c))
			deltas[ndeltas++] =
				NumericGetDatum(tg_numeric_sub(row->balance[c], row->start[c]));
	src.tuple = tg_stmt_update(table, row->key, mask, deltas);
	if (src.tuple == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("update of row %s in table \"%s\" was skipped",
						tg_key_display(table, row->key),
						tg_rel_display_name(table->relid)),
				 ot->rowpath ?
				 errdetail("Code the transfer ran deleted the row or changed its key; a transfer changes both rows or neither.") :
				 errdetail("A BEFORE UPDATE trigger returned NULL; a transfer changes both rows or neither."),
				 tg_errtablecol(table->relid,
								table->columns[pg_rightmost_one_pos64(mask)].attnum)));
	src.desc = SPI_tuptable->tupdesc;
	copy_balances(st, ot, &src, mask, row->final, NULL);
	SPI_freetuptable(SPI_tuptable);
}

/* the columns an update of the table may set, for the row path */
static Bitmapset *
updated_columns(OpTable *ot)
{
	Bitmapset  *cols = NULL;
	int			c;

	for (c = 0; c < ot->table->ncolumns; c++)
	{
		TgColumn   *col = &ot->table->columns[c];

		if ((ot->mask & (UINT64CONST(1) << c)) == 0)
			continue;
		cols = bms_add_member(cols, col->attnum - FirstLowInvalidHeapAttributeNumber);
		if (col->version_attnum != InvalidAttrNumber)
			cols = bms_add_member(cols, col->version_attnum - FirstLowInvalidHeapAttributeNumber);
	}
	return cols;
}

/* start the row path for the tables that can take it, or return NULL */
static TgRowExec *
row_path_begin(OpState *st)
{
	Relation   *rels = palloc(sizeof(Relation) * st->ntables);
	TgTable   **tables = palloc(sizeof(TgTable *) * st->ntables);
	Bitmapset **updated = palloc(sizeof(Bitmapset *) * st->ntables);
	int			n = 0;
	int			t;

	for (t = 0; t < st->ntables; t++)
	{
		OpTable    *ot = st->tables[t];

		if (!ot->rowpath)
			continue;
		ot->relno = n;
		rels[n] = ot->rel;
		tables[n] = ot->table;
		updated[n] = updated_columns(ot);
		n++;
	}
	return n > 0 ? tg_row_exec_begin(rels, tables, updated, n) : NULL;
}

static bool
all_rows_found(OpState *st)
{
	int			t;
	int			r;

	for (t = 0; t < st->ntables; t++)
		for (r = 0; r < st->tables[t]->nrows; r++)
			if (!st->tables[t]->rows[r]->found)
				return false;
	return true;
}

/* set every leg's result to "nothing moved", with the given balances */
static void
results_nothing_moved(OpState *st, TgLegResult *results, bool with_balances)
{
	int			i;

	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];

		results[i].has_transfer_id = false;
		results[i].from_balance = NULL;
		results[i].to_balance = NULL;
		if (!with_balances)
			continue;
		if (leg->from_row && leg->from_row->found)
			results[i].from_balance = leg->from_row->balance[leg->from_col];
		if (leg->to_row && leg->to_row->found)
			results[i].to_balance = leg->to_row->balance[leg->to_col];
	}
}

/*
 * Move amount out of (debit) or into a balance of a row as the legs left
 * it.  What stops the move is an error; in try mode a floor or ceiling is
 * a status; with decide_when_locked anything that stops it is.
 */
static LegCheck
move(OpState *st, OpTable *ot, OpRow *row, int c, Numeric amount, bool debit)
{
	TgColumn   *col = &ot->table->columns[c];
	Numeric		before = row->isnull[c] ? NULL : row->balance[c];
	Numeric		after;
	TgLimitCheck check = tg_check_move(col, before, amount, debit, &after);

	if (check == TG_LIMIT_OK)
	{
		row->balance[c] = after;
		return LEG_OK;
	}
	if (st->decide_when_locked)
		return LEG_DECIDE_WHEN_LOCKED;
	if (st->try_mode && check == TG_LIMIT_BELOW_FLOOR)
		return LEG_INSUFFICIENT_FUNDS;
	if (st->try_mode && check == TG_LIMIT_ABOVE_CEILING)
		return LEG_LIMIT_EXCEEDED;
	tg_raise_limit(check, ot->table, col, row->key, before, amount, debit);
	return LEG_OK;				/* keep compiler quiet */
}

/* every balance back to its value as read, no leg applied */
static void
reset_balances(OpState *st)
{
	int			t;
	int			r;
	int			c;

	for (t = 0; t < st->ntables; t++)
		for (r = 0; r < st->tables[t]->nrows; r++)
		{
			OpRow	   *row = st->tables[t]->rows[r];

			for (c = 0; c < st->tables[t]->table->ncolumns; c++)
			{
				row->balance[c] = row->start[c];
				if (row->drained && row->drained[c] && !row->isnull[c])
					row->balance[c] = tg_numeric_add(row->start[c], row->drained[c]);
				row->last_leg[c] = -1;
				row->debited[c] = false;
				row->credited[c] = false;
			}
		}
}

/*
 * The checks, leg by leg, from the balances as read: each debit must keep
 * its balance at or above the floor, each credit at or below the ceiling,
 * and both within the column's type.
 */
static LegCheck
run_checks(OpState *st)
{
	int			i;

	reset_balances(st);
	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];
		LegCheck	check;

		st->current_leg = i;
		check = leg->slot >= 0 || leg->from_row == NULL ? LEG_OK :
			move(st, leg->from_table, leg->from_row, leg->from_col,
				 leg->amount, true);
		if (check == LEG_OK && leg->deferred == NULL && leg->to_row != NULL)
			check = move(st, leg->to_table, leg->to_row, leg->to_col,
						 leg->amount, false);
		if (check != LEG_OK)
			return check;
		if (leg->from_row)
		{
			leg->from_after = leg->from_row->balance[leg->from_col];
			leg->from_row->last_leg[leg->from_col] = i;
			leg->from_row->debited[leg->from_col] = true;
		}
		if (leg->to_row)
		{
			leg->to_after = leg->to_row->balance[leg->to_col];
			leg->to_row->last_leg[leg->to_col] = i;
			leg->to_row->credited[leg->to_col] = true;
		}
	}
	st->current_leg = -1;
	return LEG_OK;
}

/*
 * The first row that was not found, in leg order: an error, or in try
 * mode NOT_FOUND or (SKIP LOCKED) BUSY.
 */
static TgStatus
check_rows_found(OpState *st)
{
	int			i;

	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];
		bool		from_found = leg->from_row == NULL || leg->from_row->found;
		OpTable    *ot = from_found ? leg->to_table : leg->from_table;
		OpRow	   *row = from_found ? leg->to_row : leg->from_row;

		st->current_leg = i;
		if (row == NULL || row->found)
			continue;
		if (!st->try_mode)
			raise_not_found(ot, row);
		if (st->lock_mode == TG_LOCK_SKIP &&
			tg_stmt_row_is_busy(ot->table, row->key))
			return TG_STATUS_BUSY;
		return TG_STATUS_NOT_FOUND;
	}
	st->current_leg = -1;
	return TG_STATUS_OK;
}

/*
 * Lock the newest version of a row read without a lock (waiting for it),
 * and read its balances again.  A row deleted or re-keyed meanwhile is not
 * found.
 */
static void
lock_row_read(OpState *st, OpTable *ot, OpRow *row)
{
	bool		by_call;
	TupleTableSlot *slot = tg_row_relock(st->ex, ot->relno, ot->table,
										 row->key, row->slot, &by_call);

	if (by_call)
	{
		/*
		 * Code this call ran changed the row since it was read: read (and
		 * lock) its newest version with the statement, which sees it, and
		 * update it with a statement too.
		 */
		OpTable		one = *ot;
		OpRow	   *rows[1] = {row};

		one.nrows = 1;
		one.rows = rows;
		row->found = false;
		lock_table_rows(st, &one, TG_LOCK_WAIT);
		if (!row->found)
			raise_not_found(ot, row);
		row->changed_by_call = true;
		row->locked = true;
		return;
	}
	if (slot == NULL)
		raise_not_found(ot, row);
	read_balances(st, ot, row, slot);
	row->locked = true;
}

/*
 * Run the checks on rows read without a lock; where they refuse the
 * transfer, or find a balance they cannot work with (NULL, not finite, out
 * of the type's range), lock every such row after (table t, row r), in the
 * global order, and run them again: a refusal or a data error is decided
 * on locked values only, as the statements decide it.  The rows before
 * (t, r) are held already.  Errors as run_checks() raises them.
 */
static void
checks_then_lock_rest(OpState *st, int t, int r)
{
	LegCheck	check;

	st->decide_when_locked = true;
	check = run_checks(st);
	st->decide_when_locked = false;
	if (check == LEG_OK)
		return;
	for (; t < st->ntables; t++, r = 0)
	{
		OpTable    *ot = st->tables[t];

		if (!ot->rowpath)
			continue;
		for (; r < ot->nrows; r++)
			if (!ot->rows[r]->locked)
				lock_row_read(st, ot, ot->rows[r]);
	}
	(void) run_checks(st);
}

/*
 * A row read without a lock was changed by another transaction that
 * committed before this call could update it: lock its newest version,
 * read its balances again, and run every check again on them.  The rows
 * updated so far were their newest versions when updated, and stay held,
 * so their new values stand; a check that still fails on locked rows is an
 * error, and the caller's transaction undoes those updates.  Not in try
 * mode.
 */
static void
refresh_row(OpState *st, int t, int r)
{
	lock_row_read(st, st->tables[t], st->tables[t]->rows[r]);
	checks_then_lock_rest(st, t, r + 1);
}

/*
 * Resolve the legs: tables, columns, exact keys, valid amounts, and the
 * leg as the journal and idempotency record see it.  Nothing is locked yet
 * but the tables themselves (RowExclusiveLock).
 */
static void
resolve_legs(OpState *st, TgLegSpec *specs)
{
	int			i;

	for (i = 0; i < st->nlegs; i++)
	{
		TgLegSpec  *spec = &specs[i];
		OpLeg	   *leg = &st->legs[i];
		bool		has_from = !TG_LEG_ENDS_HOLD(spec->kind);
		TgColumn   *from_col = NULL;
		TgColumn   *to_col;
		Datum		from_key = (Datum) 0;
		Datum		to_key;

		st->current_leg = i;
		leg->kind = spec->kind;

		if (has_from)
		{
			leg->from_table = op_table(st, spec->from_relid);
			from_col = tg_find_column(leg->from_table->table, spec->from_column,
									  st->is_batch ? "from_column" : "balance_column");
			leg->from_col = column_index(leg->from_table->table, from_col);
			leg->from_table->mask |= UINT64CONST(1) << leg->from_col;
			tg_check_amount(spec->from_relid, from_col, spec->amount);
		}
		leg->to_table = op_table(st, spec->to_relid);
		to_col = tg_find_column(leg->to_table->table, spec->to_column,
								st->is_batch ? "to_column" :
								spec->to_relid == spec->from_relid ?
								"balance_column" : "to_column");
		leg->to_col = column_index(leg->to_table->table, to_col);
		leg->to_table->mask |= UINT64CONST(1) << leg->to_col;
		if (to_col != from_col)
			tg_check_amount(spec->to_relid, to_col, spec->amount);
		leg->amount = spec->amount;

		if (has_from)
			from_key = tg_key_convert(leg->from_table->table, spec->from_key,
									  spec->from_key_type, "from_key");
		to_key = tg_key_convert(leg->to_table->table, spec->to_key,
								spec->to_key_type, "to_key");

		if (has_from && from_col == to_col &&
			tg_key_compare(leg->from_table->table, from_key, to_key) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source and destination are the same row"),
					 errdetail("Both keys are %s in column \"%s\" of table \"%s\".",
							   tg_key_display(leg->from_table->table, from_key),
							   NameStr(from_col->name),
							   tg_rel_display_name(spec->from_relid)),
					 tg_errtablecol(spec->from_relid, from_col->attnum)));

		leg->from_row = has_from ? op_row(leg->from_table, from_key) : NULL;
		leg->to_key = to_key;

		leg->record.kind = spec->kind;
		leg->record.hold_id = spec->hold_id;
		leg->record.from_relid = has_from ? spec->from_relid : InvalidOid;
		leg->record.from_column = has_from ? NameStr(from_col->name) : NULL;
		leg->record.to_relid = spec->to_relid;
		leg->record.to_column = NameStr(to_col->name);
		leg->record.amount = spec->amount;
		leg->record.journal = has_from ?
			from_col->journal || to_col->journal : spec->hold_journal;
	}
	st->current_leg = -1;
}

/* does some leg of the call debit this balance? */
static bool
debited_in_call(OpState *st, OpTable *ot, int col, Datum key)
{
	int			i;

	for (i = 0; i < st->nlegs; i++)
		if (st->legs[i].from_table == ot && st->legs[i].from_col == col &&
			tg_key_compare(ot->table, st->legs[i].from_row->key, key) == 0)
			return true;
	return false;
}

/*
 * The destination rows of the legs.  A credit to a hot row is deferred (a
 * pending credit; the row is not locked) unless the call also debits that
 * row, which locks and settles it anyway, or row-level security applies to
 * the caller on its table: a policy may hide the row from an UPDATE, which
 * only the locked row can tell.
 */
static void
place_credits(OpState *st)
{
	int			i;

	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];
		OpTable    *ot = leg->to_table;
		TgHotRow   *hot = NULL;

		if (leg->from_table != NULL && leg->from_table->table->nhot > 0)
			st->hot = true;
		if (leg->kind == TG_LEG_HOLD)
			continue;			/* the destination is only recorded */
		if (ot->table->nhot > 0)
		{
			st->hot = true;
			/* row-level security decides per row, on the locked row */
			if (check_enable_rls(ot->table->relid, InvalidOid, true) != RLS_ENABLED)
				hot = tg_hot_find(ot->table, leg->to_col, leg->to_key);
		}
		if (hot != NULL && !debited_in_call(st, ot, leg->to_col, leg->to_key))
		{
			/* first in the lock order, before slots and rows (pending.c) */
			tg_hot_lock(ot->table->relid, ot->table->columns[leg->to_col].attnum,
						hot->key_text, ShareLock);
			leg->deferred = hot;
			leg->to_row = deferred_row(ot, hot);
		}
		else
			leg->to_row = op_row(ot, leg->to_key);
	}
}

/* a new call of request req, in the caller's memory context */
static void
init_state(OpState *st, TgRequest *req)
{
	int			i;

	memset(st, 0, sizeof(*st));
	st->req = req;
	st->outer = CurrentMemoryContext;
	st->maxtables = 2;
	st->tables = palloc(sizeof(OpTable *) * st->maxtables);
	st->nlegs = req->nlegs;
	st->legs = palloc0(sizeof(OpLeg) * req->nlegs);
	st->is_batch = req->is_batch;
	st->try_mode = req->try_mode;
	st->lock_mode = !req->nowait ? TG_LOCK_WAIT :
		req->try_mode ? TG_LOCK_SKIP : TG_LOCK_NOWAIT;
	st->current_leg = -1;
	for (i = 0; i < req->nlegs; i++)
		st->legs[i].slot = -1;
}

/*
 * The legs as the journal and the idempotency record store them.  Until
 * the rows are read, with the keys as the caller gave them (converted),
 * for comparing the request with a recorded one; the keys' text only when
 * a key was given.
 */
static void
prepare_records(OpState *st)
{
	int			i;

	st->records = palloc(sizeof(TgLegRecord) * st->nlegs);
	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];

		st->journal |= leg->record.journal;
		leg->record.from_table = leg->from_row ? leg->from_table->table : NULL;
		leg->record.from_key_value = leg->from_row ? leg->from_row->key : (Datum) 0;
		leg->record.to_table = leg->to_table->table;
		leg->record.to_key_value = leg->to_row ? leg->to_row->key : leg->to_key;
		if (st->req->idempotency_key)
		{
			leg->record.from_key = leg->from_row ?
				tg_key_text(leg->from_table->table, leg->from_row->key) : NULL;
			leg->record.to_key = tg_key_text(leg->to_table->table,
											 leg->record.to_key_value);
		}
		st->records[i] = leg->record;
	}
}

/* the global lock order: tables by OID, rows by key, each key once */
static void
order_rows(OpState *st)
{
	int			t;
	int			i;

	qsort(st->tables, st->ntables, sizeof(OpTable *), cmp_tables);
	for (t = 0; t < st->ntables; t++)
		merge_rows(st->tables[t]);
	for (i = 0; i < st->nlegs; i++)
	{
		if (st->legs[i].from_row)
			st->legs[i].from_row = st->legs[i].from_row->merged_into;
		if (st->legs[i].to_row)
			st->legs[i].to_row = st->legs[i].to_row->merged_into;
	}
}

/*
 * Hold every table open until the call ends: its definition then cannot
 * change under the call, not even by code the call itself runs (a policy
 * function or trigger attempting ALTER TABLE gets "in use").  Check the
 * caller's privileges, and which tables take the row path.
 */
static void
open_tables(OpState *st)
{
	int			t;

	for (t = 0; t < st->ntables; t++)
	{
		OpTable    *ot = st->tables[t];

		ot->rel = relation_open(ot->table->relid, RowExclusiveLock);
		tg_check_privileges(ot->table, ot->rel, ot->mask);
		ot->rowpath = ot->table->placement == TG_PLACE_LOCAL &&
			tg_row_path_usable(ot->rel, ot->table, ot->mask);
		st->citus |= ot->table->placement == TG_PLACE_CITUS;
		st->local |= ot->table->placement == TG_PLACE_LOCAL;
	}
}

/*
 * An idempotency key is claimed before any row is locked: a second call
 * with the same key waits here for the first to commit or roll back, then
 * replays its result (DUPLICATE) or does the work itself (OK).  With
 * nowait, a key in use is an error, or in try mode BUSY.
 */
static TgStatus
claim_or_replay(OpState *st, TgLegResult *results)
{
	const char *key = st->req->idempotency_key;

	if (key == NULL)
		return TG_STATUS_OK;
	if (!tg_idempotency_claim(key, st->req->nowait))
	{
		if (!st->try_mode)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("idempotency key \"%s\" is in use by another transaction",
							key)));
		results_nothing_moved(st, results, false);
		return TG_STATUS_BUSY;
	}
	if (tg_idempotency_replay(key, st->is_batch, st->records, st->nlegs,
							  st->req->request_extra, results))
		return TG_STATUS_DUPLICATE;
	return TG_STATUS_OK;
}

/*
 * Read the rows, locking them as the call needs.  On the row path, a call
 * that raises its business outcomes and waits for busy rows reads its
 * rows now and locks each one by updating it, in the same order, checking
 * again if another transaction changed it first (what an UPDATE does).
 * One that must not write before its outcome is known (try mode), must
 * not wait, or has a table taking the statements (it would be locked at
 * the read, before a row path table earlier in the order is locked by its
 * update) locks first.
 */
static void
lock_and_read(OpState *st)
{
	int			t;

	st->ex = row_path_begin(st);
	st->lock_by_update = st->ex != NULL && st->lock_mode == TG_LOCK_WAIT &&
		!st->try_mode && !st->hot;
	for (t = 0; t < st->ntables; t++)
		if (!st->tables[t]->rowpath)
			st->lock_by_update = false;
	read_or_lock_rows(st, st->lock_by_update ? TG_LOCK_BY_UPDATE : st->lock_mode);
	if (st->lock_by_update && !all_rows_found(st))
	{
		/*
		 * A row missing from the snapshot may be one a transaction this
		 * call would have waited for is inserting: decide "not found" the
		 * way the statements do, locking each table's rows before reading
		 * the next table with a new snapshot.  Nothing is written yet.
		 */
		tg_row_exec_end(st->ex);
		st->ex = row_path_begin(st);
		st->lock_by_update = false;
		read_or_lock_rows(st, st->lock_mode);
	}
}

/*
 * The checks, leg by leg, on the values read (SPI left us in its own
 * context; the balances must outlive SPI_finish).  In try mode, a refusal
 * as a status, with the balances as locked; nothing is written then.
 */
static TgStatus
check_legs(OpState *st, TgLegResult *results)
{
	LegCheck	check = LEG_OK;

	MemoryContextSwitchTo(st->outer);
	if (st->lock_by_update)
		checks_then_lock_rest(st, 0, 0);
	else
		check = run_checks(st);
	if (check == LEG_OK)
		return TG_STATUS_OK;
	reset_balances(st);
	results_nothing_moved(st, results, true);
	return check == LEG_INSUFFICIENT_FUNDS ? TG_STATUS_INSUFFICIENT_FUNDS :
		TG_STATUS_LIMIT_EXCEEDED;
}

/*
 * The updates, one per touched row, in the global order; then the limits
 * on what they stored.  On the row path a row another transaction changed
 * after the read is locked at its newest version and checked again
 * (refresh_row), and one that code this call ran changed is updated with a
 * statement, which adds to its newest value.
 */
static void
update_rows(OpState *st)
{
	int			t;
	int			r;
	int			c;

	for (t = 0; t < st->ntables; t++)
	{
		OpTable    *ot = st->tables[t];

		for (r = 0; r < ot->nrows; r++)
		{
			OpRow	   *row = ot->rows[r];
			bool		concurrent;

			while (ot->rowpath && !row->changed_by_call &&
				   !update_row_direct(st, ot, row, &concurrent))
			{
				if (!concurrent)
				{
					row->changed_by_call = true;
					break;
				}
				refresh_row(st, t, r);
			}
			row->locked = true;
			if (!ot->rowpath || row->changed_by_call)
				update_row(st, ot, row);
		}
	}
	if (st->ex)
	{
		tg_row_exec_end(st->ex);
		st->ex = NULL;
	}
	for (t = 0; t < st->ntables; t++)
		for (r = 0; r < st->tables[t]->nrows; r++)
		{
			OpRow	   *row = st->tables[t]->rows[r];

			for (c = 0; c < st->tables[t]->table->ncolumns; c++)
				if (row->last_leg[c] >= 0)
					tg_check_stored(st->tables[t]->table,
									&st->tables[t]->table->columns[c],
									row->key, row->final[c],
									row->debited[c], row->credited[c]);
		}
}

/*
 * A balance as the update stored it; for a row whose slots were combined,
 * its total (the column and the slots filled from it).
 */
static Numeric
stored_total(OpRow *row, int c)
{
	if (row->total != NULL && row->total[c] != NULL)
		return row->total[c];
	return row->final[c];
}

/*
 * Each leg's transfer id and the balances after it: the values stored by
 * the update for the last leg touching a balance, the computed
 * intermediate ones for earlier legs of a batch.
 */
static void
assign_results(OpState *st, TgLegResult *results)
{
	int			i;

	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];

		results[i].has_transfer_id = true;
		results[i].transfer_id = nextval_internal(tg_sequence_oid(), false);
		results[i].from_balance = leg->from_row == NULL ? NULL :
			leg->from_row->last_leg[leg->from_col] == i ?
			stored_total(leg->from_row, leg->from_col) : leg->from_after;
		results[i].to_balance = leg->to_row == NULL ? NULL :
			leg->to_row->last_leg[leg->to_col] == i ?
			stored_total(leg->to_row, leg->to_col) : leg->to_after;
		if (leg->kind == TG_LEG_HOLD)
		{
			/* in the caller's context: it outlives SPI */
			MemoryContext old = MemoryContextSwitchTo(st->outer);

			results[i].from_key = tg_key_stable_text(leg->from_table->table,
													 leg->from_row->held_key);
			MemoryContextSwitchTo(old);
		}
		else
			results[i].from_key = NULL;
	}
}

/*
 * The journal and the idempotency record, which keep each key as its
 * locked row holds it, whatever the caller's spelling, so that it matches
 * the row's id::text.
 */
static void
record(OpState *st, TgLegResult *results)
{
	const char *key = st->req->idempotency_key;
	int			i;

	if (!st->journal && key == NULL)
		return;
	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];

		st->records[i].from_key = leg->from_row == NULL ? NULL :
			tg_key_text(leg->from_table->table, leg->from_row->held_key);
		st->records[i].to_key = tg_key_text(leg->to_table->table,
											leg->to_row ? leg->to_row->held_key :
											leg->to_key);
	}
	if (st->journal)
		tg_journal_append(st->records, results, st->nlegs, st->is_batch, key);
	if (key)
		tg_idempotency_record(key, st->is_batch, st->records, st->nlegs,
							  st->req->request_extra, results);
}

/*
 * Settle the hot rows the call has locked (it debits them, or credits them
 * too) before any check: the checks then see every committed credit.  The
 * settle is an update of its own, by statement; the call's update follows
 * it, by statement too.  A NULL balance is not settled (its pending credits
 * stay; the checks refuse it).
 */
static void
settle_hot_rows(OpState *st)
{
	MemoryContext old;
	int			t;
	int			r;
	int			c;

	if (!st->hot)
		return;
	for (t = 0; t < st->ntables; t++)
	{
		OpTable    *ot = st->tables[t];

		for (r = 0; r < ot->nrows && ot->table->nhot > 0; r++)
			for (c = 0; c < ot->table->ncolumns; c++)
			{
				OpRow	   *row = ot->rows[r];
				TgHotRow   *hot;
				Numeric		sum;
				int64		n;

				if (!row->found || row->isnull[c] ||
					(ot->mask & (UINT64CONST(1) << c)) == 0 ||
					(hot = tg_hot_find(ot->table, c, row->key)) == NULL)
					continue;
				sum = tg_pending_fold(ot->table, c, row->key, hot->key_text, &n);
				if (sum == NULL)
					continue;
				old = MemoryContextSwitchTo(st->outer);
				row->start[c] = tg_numeric_add(row->start[c], sum);
				row->balance[c] = row->start[c];
				MemoryContextSwitchTo(old);
				row->changed_by_call = true;
			}
	}
}

/*
 * What the call debits from a hot row's balance, and whether the row takes
 * part in the call only through those debits (then a slot may serve them
 * without locking the row).
 */
static Numeric
slot_debit(OpState *st, OpRow *row, int c, bool *only_debits)
{
	Numeric		debit = NULL;
	int			i;

	*only_debits = true;
	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];

		if (leg->to_row == row)
			*only_debits = false;
		if (leg->from_row != row)
			continue;
		if (leg->from_col != c)
			*only_debits = false;
		else
			debit = debit ? tg_numeric_add(debit, leg->amount) : leg->amount;
	}
	return debit;
}

/* take a row out of its table's rows: nothing locks, reads or updates it */
static void
detach_row(OpTable *ot, int r, TgHotRow *hot)
{
	OpRow	   *row = ot->rows[r];

	memmove(&ot->rows[r], &ot->rows[r + 1], sizeof(OpRow *) * (ot->nrows - r - 1));
	ot->nrows--;
	row->found = true;
	row->held_key = hot->key;
}

/* remember a slot use of the call */
static SlotUse *
add_slot_use(OpState *st, OpTable *ot, OpRow *row, int c, TgHotRow *hot)
{
	SlotUse    *use;

	st->slots = st->nslots == 0 ? palloc(sizeof(SlotUse) * st->nlegs) : st->slots;
	use = &st->slots[st->nslots++];
	use->ot = ot;
	use->row = row;
	use->column = c;
	use->hot = hot;
	use->slot = -1;
	use->debit = NULL;
	use->nslots = 0;
	use->share = NULL;
	return use;
}

/*
 * Lock every slot of a hot row the call debits and cannot serve with one
 * slot, to combine them into the row: their sum is added to the row's
 * balance as read.  Returns false when a slot is busy (try mode, nowait).
 */
static bool
combine_slots(OpState *st, SlotUse *use)
{
	OpRow	   *row = use->row;
	TgTable    *table = use->ot->table;
	AttrNumber	attnum = table->columns[use->column].attnum;
	MemoryContext old;
	Numeric		sum;
	int			n;

	sum = tg_slots_lock(table->relid, attnum, use->hot->key_text,
						st->lock_mode, &n);
	if (st->lock_mode == TG_LOCK_SKIP)
	{
		/* try mode, nowait: every slot, or busy */
		if (n < tg_slots_count(table->relid, attnum, use->hot->key_text))
			return false;
	}
	else
	{
		/*
		 * Again, in a new snapshot: slots that set_hot() added while this
		 * call waited are locked and counted too.  The ones locked already
		 * are this transaction's.
		 */
		sum = tg_slots_lock(table->relid, attnum, use->hot->key_text,
							st->lock_mode, &n);
	}
	use->nslots = n;
	old = MemoryContextSwitchTo(st->outer);
	if (row->drained == NULL)
		row->drained = palloc0(sizeof(Numeric) * table->ncolumns);
	row->drained[use->column] = sum;
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * One slot covering a debit: a free one; else (unless the call must not
 * wait) wait for a covering slot to be free, without keeping it, and try
 * again.  -1 once no slot covers the debit.  A call that raises its
 * refusals takes the debit out of the slot with the same statement (an
 * error later undoes it, with the caller's transaction); try mode writes
 * nothing before its outcome is known, so write_slots() does it then.
 */
static int
take_one_slot(OpState *st, TgTable *table, int c, TgHotRow *hot, Numeric debit)
{
	AttrNumber	attnum = table->columns[c].attnum;
	int			slot;

	for (;;)
	{
		slot = tg_slot_take(table->relid, attnum, hot->key_text, debit,
							!st->try_mode);
		if (slot >= 0 || st->lock_mode == TG_LOCK_SKIP ||
			!tg_slot_wait(table->relid, attnum, hot->key_text, debit,
						  st->lock_mode))
			return slot;
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The slots of the hot rows the call debits, before any row is locked
 * (slots come first in the lock order, docs/design.md, "Escrow slots").
 * A row that takes part only through debits of one column, with no
 * row-level security applying to the caller, is served by one slot that
 * covers them all, if one does: the row is not locked.  Otherwise every
 * slot of the row is locked and combined into it.  Returns BUSY when a
 * slot is (try mode, nowait).
 */
static TgStatus
take_slots(OpState *st, TgLegResult *results)
{
	int			t;
	int			r;
	int			c;
	int			i;

	if (!st->hot)
		return TG_STATUS_OK;
	for (t = 0; t < st->ntables; t++)
	{
		OpTable    *ot = st->tables[t];
		bool		rls = check_enable_rls(ot->table->relid, InvalidOid, true) == RLS_ENABLED;

		for (r = 0; r < ot->nrows && ot->table->nhot > 0; r++)
			for (c = 0; c < ot->table->ncolumns; c++)
			{
				OpRow	   *row = ot->rows[r];
				TgHotRow   *hot = tg_hot_find(ot->table, c, row->key);
				bool		only_debits;
				Numeric		debit;
				SlotUse    *use;

				if (hot == NULL || hot->slots == 0 ||
					(debit = slot_debit(st, row, c, &only_debits)) == NULL)
					continue;
				use = add_slot_use(st, ot, row, c, hot);
				use->debit = debit;
				if (only_debits && !rls)
					use->slot = take_one_slot(st, ot->table, c, hot, debit);
				if (use->slot >= 0)
				{
					for (i = 0; i < st->nlegs; i++)
						if (st->legs[i].from_row == row)
							st->legs[i].slot = use->slot;
					detach_row(ot, r--, hot);
					break;
				}
				if (!combine_slots(st, use))
				{
					results_nothing_moved(st, results, false);
					return TG_STATUS_BUSY;
				}
			}
	}
	return TG_STATUS_OK;
}

/*
 * Fill the combined slots again from their rows, after the checks: each of
 * the n slots locked gets an equal share of what the row holds above its
 * floor, at the column's scale (the rest stays in the column, which keeps
 * its floor).  The row's total after the legs is kept for the results.
 */
static void
fill_slots(OpState *st)
{
	int			i;

	for (i = 0; i < st->nslots; i++)
	{
		SlotUse    *use = &st->slots[i];
		OpRow	   *row = use->row;
		TgColumn   *col = &use->ot->table->columns[use->column];
		Numeric		balance = row->balance[use->column];
		MemoryContext old;

		if (use->slot >= 0 || balance == NULL || use->nslots == 0)
			continue;
		old = MemoryContextSwitchTo(st->outer);
		use->share = col->min_balance == NULL ? tg_int64_to_numeric(0) :
			tg_numeric_share(col, tg_numeric_sub(balance, col->min_balance),
							 use->nslots);
		if (row->total == NULL)
			row->total = palloc0(sizeof(Numeric) * use->ot->table->ncolumns);
		row->total[use->column] = balance;
		row->balance[use->column] =
			tg_numeric_sub(balance, tg_numeric_times(use->share, use->nslots));
		MemoryContextSwitchTo(old);
	}
}

/*
 * Write the slots: the one taken debited (in try mode; otherwise taking
 * it did), the combined ones filled.
 */
static void
write_slots(OpState *st)
{
	int			i;

	for (i = 0; i < st->nslots; i++)
	{
		SlotUse    *use = &st->slots[i];
		TgTable    *table = use->ot->table;
		AttrNumber	attnum = table->columns[use->column].attnum;

		if (use->slot >= 0 && st->try_mode)
			tg_slot_debit(table->relid, attnum, use->hot->key_text, use->slot,
						  use->debit);
		else if (use->share != NULL)
			tg_slots_fill(table->relid, attnum, use->hot->key_text, use->share);
	}
}

/*
 * Record the deferred credits, with their transfer ids, once the rest of
 * the call has been done.
 */
static void
defer_credits(OpState *st, TgLegResult *results)
{
	int			i;

	for (i = 0; i < st->nlegs; i++)
		if (st->legs[i].deferred != NULL)
			tg_pending_add(st->legs[i].to_table->table, st->legs[i].deferred,
						   st->legs[i].amount, results[i].transfer_id);
}

/* the pipeline, from the tables opened on; the caller cleans up */
static TgStatus
run(OpState *st, TgLegResult *results)
{
	TgStatus	status;

	status = claim_or_replay(st, results);
	if (status != TG_STATUS_OK)
		return status;
	status = take_slots(st, results);
	if (status != TG_STATUS_OK)
		return status;
	lock_and_read(st);
	status = check_rows_found(st);
	if (status != TG_STATUS_OK)
	{
		results_nothing_moved(st, results, false);
		return status;
	}
	settle_hot_rows(st);
	status = check_legs(st, results);
	if (status != TG_STATUS_OK)
		return status;
	fill_slots(st);
	update_rows(st);
	write_slots(st);
	/*
	 * Rows of this server changed with a Citus table's, or records written
	 * here with them: Citus must commit with two-phase commit, for this
	 * server's commit to decide for both (citus.c).
	 */
	if (st->citus &&
		(st->local || st->journal || st->req->idempotency_key != NULL))
		tg_citus_two_phase_commit();
	assign_results(st, results);
	record(st, results);
	defer_credits(st, results);
	return TG_STATUS_OK;
}

/*
 * Execute a request as one all-or-nothing operation inside the caller's
 * transaction.  results[i] receives leg i's transfer id and the balances
 * after it.
 *
 * Returns TG_STATUS_OK, or TG_STATUS_DUPLICATE when an idempotency key
 * replays an earlier result.  In try mode it also returns the business
 * outcomes (insufficient funds, limit exceeded, not found, busy) instead of
 * raising them; nothing has been written then.
 */
TgStatus
tg_execute(TgRequest *req, TgLegResult *results)
{
	OpState		st;
	ErrorContextCallback errcb;
	TgStatus	status;
	int			t;

	init_state(&st, req);
	errcb.callback = leg_error_context;
	errcb.arg = &st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	resolve_legs(&st, req->legs);
	place_credits(&st);
	prepare_records(&st);
	order_rows(&st);
	open_tables(&st);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	status = run(&st, results);

	if (st.ex)
		tg_row_exec_end(st.ex);
	SPI_finish();
	for (t = 0; t < st.ntables; t++)
		relation_close(st.tables[t]->rel, NoLock);
	error_context_stack = errcb.previous;
	return status;
}

/* the status as try_transfer() reports it */
const char *
tg_status_name(TgStatus status)
{
	switch (status)
	{
		case TG_STATUS_OK:
			return "ok";
		case TG_STATUS_INSUFFICIENT_FUNDS:
			return "insufficient_funds";
		case TG_STATUS_LIMIT_EXCEEDED:
			return "limit_exceeded";
		case TG_STATUS_NOT_FOUND:
			return "not_found";
		case TG_STATUS_BUSY:
			return "busy";
		case TG_STATUS_DUPLICATE:
			return "duplicate";
	}
	return "unknown";			/* keep compiler quiet */
}
