/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  The transfer engine, shared by transfer(), try_transfer() and
 *	  transfer_batch(): legs -> idempotency key -> rows in the global lock
 *	  order -> locked read -> checks -> updates -> journal.  This is where
 *	  rows are locked, balances checked and plans prepared and kept.
 *
 *	  The global lock order is (table OID, key in the key type's btree
 *	  order).  Every call of this extension locks the rows it needs in that
 *	  order, so two calls cannot wait for each other in a cycle however
 *	  their rows overlap.  The lock is FOR NO KEY UPDATE, the row lock a
 *	  plain UPDATE of a non-key column takes: it excludes every other
 *	  transfer and every other writer of the row, but, unlike FOR UPDATE, it
 *	  does not block foreign key checks of rows that reference the locked
 *	  one.
 *
 *	  Rows are read, locked and updated in one of two ways per table:
 *	  through the row path (rows.c: the table and index access methods,
 *	  without a statement), or, for the tables it does not serve, through
 *	  SQL statements: one "SELECT ... WHERE key = ANY($1) ORDER BY key FOR
 *	  NO KEY UPDATE" per table, then one "UPDATE ... SET col = col + $delta"
 *	  per row, so the database adds to the row it holds.
 *
 *	  try_transfer() and NOWAIT calls lock every row before changing any,
 *	  and check the locked values: nothing is written before every check
 *	  has passed, so try_transfer() can report a business outcome (not
 *	  enough funds, a limit, a missing or busy row) as a status without a
 *	  subtransaction.  A transfer() or transfer_batch() that waits, on the
 *	  row path, reads its rows, checks them, and locks each row by updating
 *	  it, in the same order; a row another transaction changed first is
 *	  locked at its newest version and every check runs again (what an
 *	  UPDATE's recheck does), and a refusal or a missing row is decided only
 *	  once the rows are locked.  Checks run in leg order, in exact numeric
 *	  arithmetic; each touched row is updated once, every touched balance by
 *	  the net change of all legs and its version column, if any, by one.
 *	  Any error leaves every row as it was, since the caller's transaction
 *	  (or subtransaction) aborts.
 *
 * IDENTIFICATION
 *	  src/engine.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "amount.h"
#include "engine.h"
#include "exec.h"
#include "extension.h"
#include "idempotency.h"
#include "journal.h"
#include "keys.h"
#include "registry.h"
#include "report.h"
#include "request.h"
#include "rows.h"
#include "table.h"


/* one locked row of one table, and the balances of its guarded columns */
typedef struct OpRow
{
	Datum		key;			/* converted to the key's base type */
	Datum		held_key;		/* the key as the row read holds it (its
								 * spelling, which may differ from key's) */
	struct OpRow *same;			/* the row this one is a duplicate of, or self */
	bool		found;
	bool	   *debited;		/* per table column: some leg took from it */
	bool	   *credited;		/* per table column: some leg added to it */
	Numeric    *start;			/* per table column: balance as locked */
	Numeric    *balance;		/* per table column: balance after the legs */
	bool	   *isnull;			/* per table column: NULL in the row */
	int		   *last_leg;		/* per table column: last leg touching it, -1 */
	Numeric    *final;			/* per table column: as stored by the UPDATE */
	TupleTableSlot *slot;		/* row path: the row as read */
	bool		locked;			/* row path: slot's version is locked */
	bool		moved;			/* row path: changed by code this call ran
								 * after the read; updated with a statement */
} OpRow;

/* one table taking part in the operation */
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
	TgLegRecord record;			/* as the journal and idempotency see it */
	OpTable    *from_table;
	int			from_col;		/* index into table->columns */
	OpRow	   *from_row;
	OpTable    *to_table;
	int			to_col;
	OpRow	   *to_row;
	Numeric		amount;
	Numeric		from_after;
	Numeric		to_after;
} OpLeg;

typedef struct OpState
{
	int			ntables;
	int			maxtables;
	OpTable   **tables;
	int			nlegs;
	OpLeg	   *legs;
	bool		is_batch;
	bool		try_mode;		/* business outcomes as a status */
	bool		defer;			/* any refusal or data error as
								 * TG_STATUS_RECHECK: the rows read are not
								 * all locked yet */
	int			current_leg;	/* for the error context, -1 when none */
} OpState;

static void
leg_error_context(void *arg)
{
	OpState    *st = (OpState *) arg;

	if (st->is_batch && st->current_leg >= 0)
		errcontext("transfer_batch leg %d", st->current_leg + 1);
}

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

/*
 * A row for a key.  Rows are appended as legs name them; duplicates are
 * merged after sorting (merge_rows), so resolving n legs costs n log n
 * comparisons, not n squared.
 */
static OpRow *
op_row(OpTable *ot, Datum key)
{
	OpRow	   *row;
	int			ncols = ot->table->ncolumns;
	int			i;

	if (ot->nrows == ot->maxrows)
	{
		ot->maxrows *= 2;
		ot->rows = repalloc(ot->rows, sizeof(OpRow *) * ot->maxrows);
	}
	row = palloc0(sizeof(OpRow));
	row->key = key;
	row->same = row;
	row->start = palloc0(sizeof(Numeric) * ncols);
	row->balance = palloc0(sizeof(Numeric) * ncols);
	row->isnull = palloc0(sizeof(bool) * ncols);
	row->final = palloc0(sizeof(Numeric) * ncols);
	row->debited = palloc0(sizeof(bool) * ncols);
	row->credited = palloc0(sizeof(bool) * ncols);
	row->last_leg = palloc(sizeof(int) * ncols);
	for (i = 0; i < ncols; i++)
		row->last_leg[i] = -1;
	ot->rows[ot->nrows++] = row;
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
			ot->rows[r]->same = ot->rows[n - 1];
		else
			ot->rows[n++] = ot->rows[r];
	}
	ot->nrows = n;
}

/* "OPERATOR(schema.=)" for the key's default btree equality */
static char *
key_eq_operator(TgTable *table)
{
	TypeCacheEntry *typentry = lookup_type_cache(table->key_basetypid,
												 TYPECACHE_EQ_OPR);
	HeapTuple	tup;
	Form_pg_operator op;
	char	   *result;

	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(typentry->eq_opr));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", typentry->eq_opr);
	op = (Form_pg_operator) GETSTRUCT(tup);
	result = psprintf("OPERATOR(%s.%s)",
					  quote_identifier(get_namespace_name(op->oprnamespace)),
					  NameStr(op->oprname));
	ReleaseSysCache(tup);
	return result;
}

static char *
qualified_table(TgTable *table)
{
	return psprintf("%s%s", table->use_only ? "ONLY " : "",
					tg_rel_qualified_name(table->relid));
}

/*
 * The statement that locks a table's rows in key order and reads the
 * guarded columns in mask:
 *	 SELECT key, col1, ... FROM [ONLY] tbl WHERE key = ANY ($1)
 *	 ORDER BY key FOR NO KEY UPDATE [NOWAIT | SKIP LOCKED]
 */
static SPIPlanPtr
lock_plan(TgTable *table, int mode, uint64 mask)
{
	static const char *const suffix[TG_STATEMENT_LOCK_MODES] = {"", " NOWAIT", " SKIP LOCKED"};
	TgMaskPlan *mp;
	StringInfoData sql;
	const char *key;
	SPIPlanPtr	plan;
	MemoryContext old;
	int			i;

	for (mp = table->lock_plans; mp != NULL; mp = mp->next)
		if (mp->mode == mode && mp->mask == mask)
			return mp->plan;

	key = quote_identifier(NameStr(table->key_name));
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s", key);
	for (i = 0; i < table->ncolumns; i++)
		if (mask & (UINT64CONST(1) << i))
			appendStringInfo(&sql, ", %s",
							 quote_identifier(NameStr(table->columns[i].name)));
	appendStringInfo(&sql,
					 " FROM %s WHERE %s %s ANY ($1) ORDER BY %s FOR NO KEY UPDATE%s",
					 qualified_table(table), key, key_eq_operator(table), key,
					 suffix[mode]);

	plan = tg_prepare_kept(sql.data, 1, &table->key_arraytypid);
	old = MemoryContextSwitchTo(table->cxt);
	mp = palloc(sizeof(TgMaskPlan));
	MemoryContextSwitchTo(old);
	mp->mode = mode;
	mp->mask = mask;
	mp->plan = plan;
	mp->next = table->lock_plans;
	table->lock_plans = mp;
	return plan;
}

/*
 * The statement that applies the net changes to one row, for the set of
 * guarded columns in mask, and adds one to their version columns:
 *	 UPDATE [ONLY] tbl SET c1 = c1 + $2, ..., v = v + 1
 *	 WHERE key = $1 RETURNING c1, ...
 * The row is already locked by this transaction, so the UPDATE cannot
 * wait, and the database adds to the value it holds.  The net changes are
 * numeric whatever the column's type: the sum is exact, and only the
 * stored result must fit the column (a batch may move more than a bigint
 * holds through one bigint balance, in and out again).
 */
static SPIPlanPtr
update_plan(TgTable *table, uint64 mask)
{
	TgMaskPlan *up;
	StringInfoData sql;
	StringInfoData returning;
	Oid			argtypes[TG_MAX_COLUMNS + 1];
	AttrNumber	versions[TG_MAX_COLUMNS];
	int			nversions = 0;
	int			nargs = 1;
	int			c;
	int			v;
	SPIPlanPtr	plan;
	MemoryContext old;

	for (up = table->update_plans; up != NULL; up = up->next)
		if (up->mask == mask)
			return up->plan;

	initStringInfo(&sql);
	initStringInfo(&returning);
	appendStringInfo(&sql, "UPDATE %s SET ", qualified_table(table));
	argtypes[0] = table->key_basetypid;
	for (c = 0; c < table->ncolumns; c++)
	{
		TgColumn   *col = &table->columns[c];
		const char *name;

		if ((mask & (UINT64CONST(1) << c)) == 0)
			continue;
		name = quote_identifier(NameStr(col->name));
		argtypes[nargs++] = NUMERICOID;
		appendStringInfo(&sql, "%s%s = %s OPERATOR(pg_catalog.+) $%d",
						 nargs > 2 ? ", " : "", name, name, nargs);
		appendStringInfo(&returning, "%s%s", nargs > 2 ? ", " : "", name);

		/* each distinct version column once */
		if (col->version_attnum != InvalidAttrNumber)
		{
			for (v = 0; v < nversions; v++)
				if (versions[v] == col->version_attnum)
					break;
			if (v == nversions)
			{
				const char *vname = quote_identifier(NameStr(col->version_name));

				versions[nversions++] = col->version_attnum;
				appendStringInfo(&sql, ", %s = %s OPERATOR(pg_catalog.+) 1",
								 vname, vname);
			}
		}
	}
	appendStringInfo(&sql, " WHERE %s %s $1 RETURNING %s",
					 quote_identifier(NameStr(table->key_name)),
					 key_eq_operator(table), returning.data);

	plan = tg_prepare_kept(sql.data, nargs, argtypes);
	old = MemoryContextSwitchTo(table->cxt);
	up = palloc(sizeof(TgMaskPlan));
	MemoryContextSwitchTo(old);
	up->mode = -1;
	up->mask = mask;
	up->plan = plan;
	up->next = table->update_plans;
	table->update_plans = up;
	return plan;
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

/* the rows of a table as a key array, the parameter of its statements */
static Datum
key_array(OpTable *ot)
{
	TgTable    *table = ot->table;
	Datum	   *keys = palloc(sizeof(Datum) * ot->nrows);
	int			r;

	for (r = 0; r < ot->nrows; r++)
		keys[r] = ot->rows[r]->key;
	return PointerGetDatum(construct_array(keys, ot->nrows, table->key_basetypid,
										   table->key_typlen, table->key_typbyval,
										   table->key_typalign));
}

/*
 * The rows a statement returned must have the types the cache entry was
 * built for.  The tables are held open for the whole call, which keeps
 * their definitions fixed even against code the call itself runs (policy
 * functions, triggers); this check makes sure of it before any value is
 * read.
 */
static void
check_result_type(TgTable *table, TupleDesc desc, int attno, Oid expected)
{
	if (attno > desc->natts || SPI_gettypeid(desc, attno) != expected)
		tg_raise_table_changed(table->relid);
}

/*
 * Lock the rows of one table, in key order, and read the balances of the
 * columns the legs use into memory of the caller's context.  Rows that are
 * not returned stay !found: they do not exist, are hidden, or (SKIP
 * LOCKED) are busy.
 */
static void
lock_table_rows(OpTable *ot, int mode, MemoryContext outer)
{
	TgTable    *table = ot->table;
	Datum		arg = key_array(ot);
	TupleDesc	desc;
	int			rc;
	uint64		i;
	int			c;
	int			attno;

	rc = SPI_execute_plan(lock_plan(table, mode, ot->mask), &arg, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "locking rows of table \"%s\" failed: %s",
			 tg_rel_display_name(table->relid), SPI_result_code_string(rc));

	desc = SPI_tuptable->tupdesc;
	check_result_type(table, desc, 1, table->key_typid);
	attno = 1;
	for (c = 0; c < table->ncolumns; c++)
		if (ot->mask & (UINT64CONST(1) << c))
			check_result_type(table, desc, ++attno, table->columns[c].typid);

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		key = SPI_getbinval(tup, desc, 1, &isnull);
		OpRow	   *row = isnull ? NULL : find_row(ot, key);
		MemoryContext old;

		if (row == NULL)
			elog(ERROR, "locked a row of table \"%s\" that was not asked for",
				 tg_rel_display_name(table->relid));
		row->found = true;

		old = MemoryContextSwitchTo(outer);
		row->held_key = datumCopy(key, table->key_typbyval, table->key_typlen);
		attno = 1;
		for (c = 0; c < table->ncolumns; c++)
		{
			Datum		v;

			if ((ot->mask & (UINT64CONST(1) << c)) == 0)
				continue;
			v = SPI_getbinval(tup, desc, ++attno, &isnull);
			row->isnull[c] = isnull;
			if (!isnull)
			{
				row->start[c] = tg_numeric_from_column(&table->columns[c], v);
				row->balance[c] = row->start[c];
			}
		}
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * After SKIP LOCKED missed a row: is it there, locked by another
 * transaction (busy), or not there for this role (not found)?
 *
 * Asked with the lock statement itself, NOWAIT, so that the row is seen
 * exactly as a locking read sees it: row-level security applies the UPDATE
 * policies' USING quals to a locking read, which a plain SELECT does not,
 * and a row they hide is not found, as for an UPDATE, even when it is
 * locked.  The statement runs in an internal subtransaction, rolled back
 * whatever happens, as PL/pgSQL's exception blocks do: 55P03 then leaves
 * the caller's transaction intact, and a row the probe did lock (freed in
 * the meantime) is not kept.  Any other error is raised again once the
 * subtransaction is gone.  Only on this rare path: a try with nowait that
 * skipped a row.
 */
static bool
row_is_busy(OpTable *ot, OpRow *row)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	TgTable    *table = ot->table;
	SPIPlanPtr	plan = lock_plan(table, TG_LOCK_NOWAIT, 0);
	Datum		arg;
	ErrorData  *volatile edata = NULL;
	volatile bool found = false;

	arg = PointerGetDatum(construct_array(&row->key, 1, table->key_basetypid,
										  table->key_typlen,
										  table->key_typbyval,
										  table->key_typalign));

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		int			rc = SPI_execute_plan(plan, &arg, NULL, false, 0);

		if (rc != SPI_OK_SELECT)
			elog(ERROR, "locking rows of table \"%s\" failed: %s",
				 tg_rel_display_name(table->relid), SPI_result_code_string(rc));
		found = SPI_processed > 0;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();

	/* its tuple table and any row lock it took go with it */
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;

	if (edata == NULL)
	{
		/*
		 * Visible and lockable now: it was locked a moment ago, and freed
		 * since.  Busy: a retry finds it.
		 */
		return found;
	}
	if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
		ReThrowError(edata);
	FreeErrorData(edata);
	return true;
}

/* a balance the checks can work with: not NULL, finite */
static bool
balance_usable(OpRow *row, int c)
{
	return !row->isnull[c] && !numeric_is_nan(row->balance[c]) &&
		!tg_numeric_is_inf(row->balance[c]);
}

static void
check_not_null(OpTable *ot, OpRow *row, TgColumn *col, int c)
{
	if (row->isnull[c])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("balance of row %s in table \"%s\" is null",
						tg_key_display(ot->table, row->key),
						tg_rel_display_name(ot->table->relid)),
				 errdetail("Column \"%s\" holds no value to move from or to.",
						   NameStr(col->name)),
				 tg_errtablecol(ot->table->relid, col->attnum)));
	if (numeric_is_nan(row->balance[c]) || tg_numeric_is_inf(row->balance[c]))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("balance of row %s in table \"%s\" is not a finite number",
						tg_key_display(ot->table, row->key),
						tg_rel_display_name(ot->table->relid)),
				 errdetail("Column \"%s\" holds %s.", NameStr(col->name),
						   tg_numeric_display(row->balance[c])),
				 tg_errtablecol(ot->table->relid, col->attnum)));
}

static void
raise_out_of_range(OpTable *ot, OpRow *row, TgColumn *col, Numeric balance,
				   const char *verb, Numeric amount)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("balance of row %s in table \"%s\" would be out of range",
					tg_key_display(ot->table, row->key),
					tg_rel_display_name(ot->table->relid)),
			 errdetail("Balance %s %s amount %s does not fit column \"%s\" of type %s.",
					   tg_numeric_display(balance), verb,
					   tg_numeric_display(amount), NameStr(col->name),
					   format_type_with_typemod(col->basetypid, col->basetypmod)),
			 tg_errtablecol(ot->table->relid, col->attnum)));
}

/*
 * Take amount from a balance, refusing to cross the floor: an error, or in
 * try mode TG_STATUS_INSUFFICIENT_FUNDS with nothing changed.
 */
static TgStatus
debit(OpState *st, OpTable *ot, OpRow *row, int c, Numeric amount)
{
	TgColumn   *col = &ot->table->columns[c];
	Numeric		before = row->balance[c];
	Numeric		after;

	if (st->defer && !balance_usable(row, c))
		return TG_STATUS_RECHECK;
	check_not_null(ot, row, col, c);
	after = tg_numeric_sub(before, amount);
	if (col->min_balance && tg_numeric_cmp(after, col->min_balance) < 0)
	{
		if (st->defer)
			return TG_STATUS_RECHECK;
		if (st->try_mode)
			return TG_STATUS_INSUFFICIENT_FUNDS;
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("insufficient balance in row %s of table \"%s\"",
						tg_key_display(ot->table, row->key),
						tg_rel_display_name(ot->table->relid)),
				 errdetail("Balance %s minus amount %s would fall below the minimum %s.",
						   tg_numeric_display(before),
						   tg_numeric_display(amount),
						   tg_numeric_display(col->min_balance)),
				 tg_errtablecol(ot->table->relid, col->attnum),
				 err_generic_string(PG_DIAG_CONSTRAINT_NAME, TG_MIN_CONSTRAINT)));
	}
	if (col->type_min && tg_numeric_cmp(after, col->type_min) < 0)
	{
		if (st->defer)
			return TG_STATUS_RECHECK;
		raise_out_of_range(ot, row, col, before, "minus", amount);
	}
	row->balance[c] = after;
	return TG_STATUS_OK;
}

/*
 * Add amount to a balance, refusing to cross the ceiling: an error, or in
 * try mode TG_STATUS_LIMIT_EXCEEDED with nothing changed.
 */
static TgStatus
credit(OpState *st, OpTable *ot, OpRow *row, int c, Numeric amount)
{
	TgColumn   *col = &ot->table->columns[c];
	Numeric		before = row->balance[c];
	Numeric		after;

	if (st->defer && !balance_usable(row, c))
		return TG_STATUS_RECHECK;
	check_not_null(ot, row, col, c);
	after = tg_numeric_add(before, amount);
	if (col->max_balance && tg_numeric_cmp(after, col->max_balance) > 0)
	{
		if (st->defer)
			return TG_STATUS_RECHECK;
		if (st->try_mode)
			return TG_STATUS_LIMIT_EXCEEDED;
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("balance limit exceeded in row %s of table \"%s\"",
						tg_key_display(ot->table, row->key),
						tg_rel_display_name(ot->table->relid)),
				 errdetail("Balance %s plus amount %s would rise above the maximum %s.",
						   tg_numeric_display(before),
						   tg_numeric_display(amount),
						   tg_numeric_display(col->max_balance)),
				 tg_errtablecol(ot->table->relid, col->attnum),
				 err_generic_string(PG_DIAG_CONSTRAINT_NAME, TG_MAX_CONSTRAINT)));
	}
	if (col->type_max && tg_numeric_cmp(after, col->type_max) > 0)
	{
		if (st->defer)
			return TG_STATUS_RECHECK;
		raise_out_of_range(ot, row, col, before, "plus", amount);
	}
	row->balance[c] = after;
	return TG_STATUS_OK;
}

/* the net change of a balance as the UPDATE's parameter */
static Datum
delta_param(OpRow *row, int c)
{
	return NumericGetDatum(tg_numeric_sub(row->balance[c], row->start[c]));
}

/*
 * The balances of the columns the legs use, and the key as the row holds
 * it, from a row path slot
 */
static void
read_balances(OpTable *ot, OpRow *row, TupleTableSlot *slot,
			  MemoryContext outer)
{
	TgTable    *table = ot->table;
	MemoryContext old = MemoryContextSwitchTo(outer);
	bool		key_isnull;
	int			c;

	row->held_key = datumCopy(slot_getattr(slot, table->key_attnum, &key_isnull),
							  table->key_typbyval, table->key_typlen);
	for (c = 0; c < table->ncolumns; c++)
	{
		bool		isnull;
		Datum		v;

		if ((ot->mask & (UINT64CONST(1) << c)) == 0)
			continue;
		v = slot_getattr(slot, table->columns[c].attnum, &isnull);
		row->isnull[c] = isnull;
		row->start[c] = isnull ? NULL :
			tg_numeric_from_column(&table->columns[c], v);
		row->balance[c] = row->start[c];
	}
	MemoryContextSwitchTo(old);
}

/*
 * Read the rows of one table through the row path (rows.c), in key order,
 * with the balances of the columns the legs use, as lock_table_rows() does
 * with a statement: locked now (mode TG_LOCK_*), or, with TG_LOCK_BY_UPDATE,
 * as the snapshot sees them, to be locked by their update.
 */
static void
lock_table_rows_direct(OpTable *ot, TgRowExec *ex, int mode,
					   MemoryContext outer)
{
	int			r;

	for (r = 0; r < ot->nrows; r++)
	{
		OpRow	   *row = ot->rows[r];
		TupleTableSlot *slot;

		if (mode == TG_LOCK_BY_UPDATE)
			slot = tg_row_read(ex, ot->relno, row->key);
		else
			slot = tg_row_lock(ex, ot->relno, ot->table, row->key, mode);
		if (slot == NULL)
			continue;
		row->found = true;
		row->slot = slot;
		row->locked = mode != TG_LOCK_BY_UPDATE;
		read_balances(ot, row, slot, outer);
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

/*
 * Update one locked row through the row path: every touched balance set to
 * its checked value, each version column (once) to its value plus one, a
 * NULL version staying NULL as "v = v + 1" leaves it (and counting as set,
 * for "UPDATE OF v" triggers).  Returns false when
 * the version read is no longer the row's newest (see tg_row_update).
 */
static bool
update_row_direct(OpTable *ot, OpRow *row, TgRowExec *ex, MemoryContext outer,
				  bool *concurrent)
{
	TgTable    *table = ot->table;
	AttrNumber	attnums[2 * TG_MAX_COLUMNS];
	Datum		values[2 * TG_MAX_COLUMNS];
	Oid			domains[2 * TG_MAX_COLUMNS];
	bool		nulls[2 * TG_MAX_COLUMNS];
	int			nset = 0;
	TupleTableSlot *slot;
	MemoryContext old;
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
		/* "v = v + 1": NULL stays NULL, and v counts as set either way */
		v = slot_getattr(row->slot, col->version_attnum, &isnull);
		attnums[nset] = col->version_attnum;
		domains[nset] = domain_of(col->version_typid, col->version_basetypid);
		nulls[nset] = isnull;
		values[nset++] = isnull ? (Datum) 0 : version_plus_one(col, v);
	}

	slot = tg_row_update(ex, ot->relno, row->slot, nset, attnums, values,
						 nulls, domains, concurrent);
	if (slot == NULL)
		return false;

	old = MemoryContextSwitchTo(outer);
	for (c = 0; c < table->ncolumns; c++)
	{
		bool		isnull;
		Datum		v;

		if (row->last_leg[c] < 0)
			continue;
		v = slot_getattr(slot, table->columns[c].attnum, &isnull);
		row->final[c] = isnull ? NULL :
			tg_numeric_from_column(&table->columns[c], v);
	}
	MemoryContextSwitchTo(old);
	return true;
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

/* update every touched balance of one locked row with one statement */
static void
update_row(OpTable *ot, OpRow *row, MemoryContext outer)
{
	TgTable    *table = ot->table;
	Datum		args[TG_MAX_COLUMNS + 1];
	uint64		mask = 0;
	int			nargs = 1;
	int			first_touched = -1;
	int			rc;
	int			c;
	int			attno = 0;
	MemoryContext old;

	args[0] = row->key;
	for (c = 0; c < table->ncolumns; c++)
		if (row->last_leg[c] >= 0)
		{
			mask |= UINT64CONST(1) << c;
			args[nargs++] = delta_param(row, c);
			if (first_touched < 0)
				first_touched = c;
		}

	rc = SPI_execute_plan(update_plan(table, mask), args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("update of table \"%s\" did not run as a plain UPDATE",
						tg_rel_display_name(table->relid)),
				 errdetail("The statement ended with %s.", SPI_result_code_string(rc))));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("update of row %s in table \"%s\" was skipped",
						tg_key_display(table, row->key),
						tg_rel_display_name(table->relid)),
				 ot->rowpath ?
				 errdetail("Code the transfer ran deleted the row or changed its key; a transfer changes both rows or neither.") :
				 errdetail("A BEFORE UPDATE trigger returned NULL; a transfer changes both rows or neither."),
				 tg_errtablecol(table->relid, table->columns[first_touched].attnum)));

	for (c = 0; c < table->ncolumns; c++)
		if (row->last_leg[c] >= 0)
			check_result_type(table, SPI_tuptable->tupdesc, ++attno,
							  table->columns[c].typid);

	attno = 0;
	old = MemoryContextSwitchTo(outer);
	for (c = 0; c < table->ncolumns; c++)
	{
		bool		isnull;
		Datum		v;

		if (row->last_leg[c] < 0)
			continue;
		v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
						  ++attno, &isnull);
		row->final[c] = isnull ? NULL :
			tg_numeric_from_column(&table->columns[c], v);
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
}

/*
 * The limits hold for what the UPDATE stored, not only for what the checks
 * computed: a trigger may have changed the new value, or code run by the
 * update (a trigger calling transfer() again) may have moved the same row
 * in between.  A balance that was debited must not end below its floor,
 * one that was credited not above its ceiling.
 */
static void
check_stored(OpTable *ot, OpRow *row)
{
	TgTable    *table = ot->table;
	int			c;

	for (c = 0; c < table->ncolumns; c++)
	{
		TgColumn   *col = &table->columns[c];
		Numeric		stored = row->final[c];

		if (row->last_leg[c] < 0 || stored == NULL)
			continue;
		if (row->debited[c] && col->min_balance &&
			tg_numeric_cmp(stored, col->min_balance) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("insufficient balance in row %s of table \"%s\"",
							tg_key_display(table, row->key),
							tg_rel_display_name(table->relid)),
					 errdetail("The balance stored by the update, %s, is below the minimum %s.",
							   tg_numeric_display(stored),
							   tg_numeric_display(col->min_balance)),
					 tg_errtablecol(table->relid, col->attnum),
					 err_generic_string(PG_DIAG_CONSTRAINT_NAME, TG_MIN_CONSTRAINT)));
		if (row->credited[c] && col->max_balance &&
			tg_numeric_cmp(stored, col->max_balance) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("balance limit exceeded in row %s of table \"%s\"",
							tg_key_display(table, row->key),
							tg_rel_display_name(table->relid)),
					 errdetail("The balance stored by the update, %s, is above the maximum %s.",
							   tg_numeric_display(stored),
							   tg_numeric_display(col->max_balance)),
					 tg_errtablecol(table->relid, col->attnum),
					 err_generic_string(PG_DIAG_CONSTRAINT_NAME, TG_MAX_CONSTRAINT)));
	}
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
		TgColumn   *from_col;
		TgColumn   *to_col;
		Datum		from_key;
		Datum		to_key;

		st->current_leg = i;

		leg->from_table = op_table(st, spec->from_relid);
		leg->to_table = op_table(st, spec->to_relid);
		from_col = tg_find_column(leg->from_table->table, spec->from_column,
								  st->is_batch ? "from_column" : "balance_column");
		to_col = tg_find_column(leg->to_table->table, spec->to_column,
								st->is_batch ? "to_column" :
								spec->to_relid == spec->from_relid ?
								"balance_column" : "to_column");
		leg->from_col = column_index(leg->from_table->table, from_col);
		leg->to_col = column_index(leg->to_table->table, to_col);
		leg->from_table->mask |= UINT64CONST(1) << leg->from_col;
		leg->to_table->mask |= UINT64CONST(1) << leg->to_col;

		tg_check_amount(spec->from_relid, from_col, spec->amount);
		if (to_col != from_col)
			tg_check_amount(spec->to_relid, to_col, spec->amount);
		leg->amount = spec->amount;

		from_key = tg_key_convert(leg->from_table->table, spec->from_key,
								  spec->from_key_type, "from_key");
		to_key = tg_key_convert(leg->to_table->table, spec->to_key,
								spec->to_key_type, "to_key");

		if (from_col == to_col &&
			tg_key_compare(leg->from_table->table, from_key, to_key) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source and destination are the same row"),
					 errdetail("Both keys are %s in column \"%s\" of table \"%s\".",
							   tg_key_display(leg->from_table->table, from_key),
							   NameStr(from_col->name),
							   tg_rel_display_name(spec->from_relid)),
					 tg_errtablecol(spec->from_relid, from_col->attnum)));

		leg->from_row = op_row(leg->from_table, from_key);
		leg->to_row = op_row(leg->to_table, to_key);

		leg->record.from_relid = spec->from_relid;
		leg->record.from_column = NameStr(from_col->name);
		leg->record.to_relid = spec->to_relid;
		leg->record.to_column = NameStr(to_col->name);
		leg->record.amount = spec->amount;
		leg->record.journal = from_col->journal || to_col->journal;
	}
	st->current_leg = -1;
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
		if (with_balances && leg->from_row->found && leg->to_row->found)
		{
			results[i].from_balance = leg->from_row->balance[leg->from_col];
			results[i].to_balance = leg->to_row->balance[leg->to_col];
		}
	}
}

/*
 * The first row that the lock statements did not return, in leg order:
 * an error, or in try mode NOT_FOUND or (SKIP LOCKED) BUSY.
 */
static TgStatus
check_rows_found(OpState *st, bool skip_locked)
{
	int			i;

	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];
		OpTable    *ot = NULL;
		OpRow	   *row = NULL;

		st->current_leg = i;
		if (!leg->from_row->found)
		{
			ot = leg->from_table;
			row = leg->from_row;
		}
		else if (!leg->to_row->found)
		{
			ot = leg->to_table;
			row = leg->to_row;
		}
		if (row == NULL)
			continue;
		if (!st->try_mode)
			raise_not_found(ot, row);
		if (skip_locked && row_is_busy(ot, row))
			return TG_STATUS_BUSY;
		return TG_STATUS_NOT_FOUND;
	}
	st->current_leg = -1;
	return TG_STATUS_OK;
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
				row->last_leg[c] = -1;
				row->debited[c] = false;
				row->credited[c] = false;
			}
		}
}

/*
 * The checks, leg by leg, from the balances as read: each debit must keep
 * its balance at or above the floor, each credit at or below the ceiling,
 * and both within the column's type.  Errors, or in try mode the first
 * business outcome as a status.
 */
static TgStatus
run_checks(OpState *st)
{
	int			i;

	for (i = 0; i < st->nlegs; i++)
	{
		OpLeg	   *leg = &st->legs[i];
		TgStatus	status;

		st->current_leg = i;
		status = debit(st, leg->from_table, leg->from_row, leg->from_col,
					   leg->amount);
		if (status == TG_STATUS_OK)
			status = credit(st, leg->to_table, leg->to_row, leg->to_col,
							leg->amount);
		if (status != TG_STATUS_OK)
			return status;
		leg->from_after = leg->from_row->balance[leg->from_col];
		leg->to_after = leg->to_row->balance[leg->to_col];
		leg->from_row->last_leg[leg->from_col] = i;
		leg->to_row->last_leg[leg->to_col] = i;
		leg->from_row->debited[leg->from_col] = true;
		leg->to_row->credited[leg->to_col] = true;
	}
	st->current_leg = -1;
	return TG_STATUS_OK;
}

/*
 * Read the rows of every table, in the global order: on the row path with
 * rowpath_mode (TG_LOCK_* or TG_LOCK_BY_UPDATE), through statements with
 * lock_mode.  Forgets what an earlier read found.
 */
static void
read_rows(OpState *st, TgRowExec *ex, int rowpath_mode, int lock_mode,
		  MemoryContext outer)
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
			ot->rows[r]->moved = false;
		}
		if (ot->rowpath)
			lock_table_rows_direct(ot, ex, rowpath_mode, outer);
		else
			lock_table_rows(ot, lock_mode, outer);
		/* a later table is read with a new snapshot (READ COMMITTED) */
		if (ex)
			tg_row_exec_table_read(ex);
	}
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

/*
 * Lock the newest version of a row read without a lock (waiting for it),
 * and read its balances again.  A row deleted or re-keyed meanwhile is not
 * found.
 */
static void
lock_row_read(OpTable *ot, OpRow *row, TgRowExec *ex, MemoryContext outer)
{
	bool		moved;
	TupleTableSlot *slot = tg_row_relock(ex, ot->relno, ot->table, row->key,
										 row->slot, &moved);

	if (moved)
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
		lock_table_rows(&one, TG_LOCK_WAIT, outer);
		if (!row->found)
			raise_not_found(ot, row);
		row->moved = true;
		row->locked = true;
		return;
	}
	if (slot == NULL)
		raise_not_found(ot, row);
	row->slot = slot;
	row->locked = true;
	read_balances(ot, row, slot, outer);
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
checks_then_lock_rest(OpState *st, TgRowExec *ex, int t, int r,
					  MemoryContext outer)
{
	TgStatus	status;

	st->defer = true;
	reset_balances(st);
	status = run_checks(st);
	st->defer = false;
	if (status == TG_STATUS_OK)
		return;
	for (; t < st->ntables; t++, r = 0)
	{
		OpTable    *ot = st->tables[t];

		if (!ot->rowpath)
			continue;
		for (; r < ot->nrows; r++)
			if (!ot->rows[r]->locked)
				lock_row_read(ot, ot->rows[r], ex, outer);
	}
	reset_balances(st);
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
refresh_row(OpState *st, int t, int r, TgRowExec *ex, MemoryContext outer)
{
	lock_row_read(st->tables[t], st->tables[t]->rows[r], ex, outer);
	checks_then_lock_rest(st, ex, t, r + 1, outer);
}

/*
 * The privileges a plain UPDATE of the balances would need: USAGE on the
 * table's schema (which naming it needs; a table given by OID must not skip
 * it), SELECT on the key and the balance columns, UPDATE on the balance
 * columns (on the table, or on each column).  Checked before anything is
 * locked or replayed, so a caller without them learns nothing about the
 * rows, and always gets 42501 first.  The statements check again, with
 * row-level security on top.
 */
static void
check_privilege(OpTable *ot, AttrNumber attnum, AclMode mode)
{
	Oid			relid = ot->table->relid;
	Oid			userid = GetUserId();

	if (pg_class_aclcheck(relid, userid, mode) == ACLCHECK_OK ||
		pg_attribute_aclcheck(relid, attnum, userid, mode) == ACLCHECK_OK)
		return;
	aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(ot->rel->rd_rel->relkind),
				   RelationGetRelationName(ot->rel));
}

static void
check_privileges(OpTable *ot)
{
	int			c;

	tg_check_schema_usage(ot->table->relid);
	check_privilege(ot, ot->table->key_attnum, ACL_SELECT);
	for (c = 0; c < ot->table->ncolumns; c++)
		if (ot->mask & (UINT64CONST(1) << c))
		{
			TgColumn   *col = &ot->table->columns[c];

			check_privilege(ot, col->attnum, ACL_SELECT);
			check_privilege(ot, col->attnum, ACL_UPDATE);
			if (col->version_attnum != InvalidAttrNumber)
			{
				check_privilege(ot, col->version_attnum, ACL_SELECT);
				check_privilege(ot, col->version_attnum, ACL_UPDATE);
			}
		}
}

/*
 * Execute a request as one all-or-nothing operation inside the caller's
 * transaction.  results[i] receives leg i's transfer id and the balances
 * after it: the values stored by the UPDATE for the last leg touching a
 * balance, the computed intermediate ones for earlier legs of a batch.
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
	MemoryContext outer = CurrentMemoryContext;
	TgLegRecord *records;
	TgRowExec  *ex = NULL;
	bool		optimistic = false;
	TgStatus	status = TG_STATUS_OK;
	int			lock_mode;
	bool		journal = false;
	int			t;
	int			i;

	memset(&st, 0, sizeof(st));
	st.maxtables = 2;
	st.tables = palloc(sizeof(OpTable *) * st.maxtables);
	st.nlegs = req->nlegs;
	st.legs = palloc0(sizeof(OpLeg) * req->nlegs);
	st.is_batch = req->is_batch;
	st.try_mode = req->try_mode;
	st.current_leg = -1;

	errcb.callback = leg_error_context;
	errcb.arg = &st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	resolve_legs(&st, req->legs);

	/*
	 * The legs as the journal and the idempotency record store them.  Until
	 * the rows are locked, with the keys as the caller gave them (converted),
	 * for comparing the request with a recorded one; the keys' text only when
	 * a key was given.
	 */
	records = palloc(sizeof(TgLegRecord) * st.nlegs);
	for (i = 0; i < st.nlegs; i++)
		journal |= st.legs[i].record.journal;
	for (i = 0; i < st.nlegs; i++)
	{
		OpLeg	   *leg = &st.legs[i];

		leg->record.from_table = leg->from_table->table;
		leg->record.from_key_value = leg->from_row->key;
		leg->record.to_table = leg->to_table->table;
		leg->record.to_key_value = leg->to_row->key;
		if (req->idempotency_key)
		{
			leg->record.from_key = tg_key_text(leg->from_table->table,
											   leg->from_row->key);
			leg->record.to_key = tg_key_text(leg->to_table->table,
											 leg->to_row->key);
		}
		records[i] = leg->record;
	}

	/* the global lock order: table OID, then key */
	qsort(st.tables, st.ntables, sizeof(OpTable *), cmp_tables);
	for (t = 0; t < st.ntables; t++)
		merge_rows(st.tables[t]);
	for (i = 0; i < st.nlegs; i++)
	{
		st.legs[i].from_row = st.legs[i].from_row->same;
		st.legs[i].to_row = st.legs[i].to_row->same;
	}

	/*
	 * Hold every table open until the call ends: its definition then cannot
	 * change under the call, not even by code the call itself runs (a
	 * policy function or trigger attempting ALTER TABLE gets "in use").
	 */
	for (t = 0; t < st.ntables; t++)
	{
		st.tables[t]->rel = relation_open(st.tables[t]->table->relid,
										  RowExclusiveLock);
		check_privileges(st.tables[t]);
		st.tables[t]->rowpath = tg_row_path_usable(st.tables[t]->rel,
												   st.tables[t]->table,
												   st.tables[t]->mask);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * An idempotency key is claimed before any row is locked: a second call
	 * with the same key waits here for the first to commit or roll back,
	 * then replays its result or does the work itself.
	 */
	if (req->idempotency_key)
	{
		if (!tg_idempotency_claim(req->idempotency_key, req->nowait))
		{
			if (!req->try_mode)
				ereport(ERROR,
						(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
						 errmsg("idempotency key \"%s\" is in use by another transaction",
								req->idempotency_key)));
			results_nothing_moved(&st, results, false);
			status = TG_STATUS_BUSY;
			goto done;
		}
		if (tg_idempotency_replay(req->idempotency_key, req->is_batch,
								  records, st.nlegs, results))
		{
			status = TG_STATUS_DUPLICATE;
			goto done;
		}
	}

	lock_mode = !req->nowait ? TG_LOCK_WAIT :
		req->try_mode ? TG_LOCK_SKIP : TG_LOCK_NOWAIT;
	/*
	 * On the row path, a transfer that raises its business outcomes and
	 * waits for busy rows reads its rows, checks, and locks each row by
	 * updating it, in the same order, checking again if another transaction
	 * changed the row first (what an UPDATE does); a refusal is decided
	 * only once the rows are locked.  One that must not write before its
	 * outcome is known (try mode), or must not wait, locks first.
	 */
	ex = row_path_begin(&st);
	optimistic = ex != NULL && lock_mode == TG_LOCK_WAIT && !req->try_mode;
	for (t = 0; t < st.ntables; t++)
	{
		/*
		 * Not when a table takes the statements: it would be locked at the
		 * read, before a row path table earlier in the order is locked by
		 * its update, which breaks the order.
		 */
		if (!st.tables[t]->rowpath)
			optimistic = false;
	}
	read_rows(&st, ex, optimistic ? TG_LOCK_BY_UPDATE : lock_mode, lock_mode,
			  outer);
	if (optimistic && !all_rows_found(&st))
	{
		/*
		 * A row missing from the snapshot may be one a transaction this
		 * call would have waited for is inserting: decide "not found" the
		 * way the statements do, locking each table's rows before reading
		 * the next table with a new snapshot.  Nothing is written yet.
		 */
		tg_row_exec_end(ex);
		ex = row_path_begin(&st);
		optimistic = false;
		read_rows(&st, ex, lock_mode, lock_mode, outer);
	}

	status = check_rows_found(&st, lock_mode == TG_LOCK_SKIP);
	if (status != TG_STATUS_OK)
	{
		results_nothing_moved(&st, results, false);
		goto done;
	}

	/*
	 * The checks, leg by leg, on the values read.  SPI left us in its own
	 * context; the balances must outlive SPI_finish.
	 */
	MemoryContextSwitchTo(outer);
	if (optimistic)
		checks_then_lock_rest(&st, ex, 0, 0, outer);
	else
		status = run_checks(&st);
	if (status != TG_STATUS_OK)
	{
		/* try mode: report the balances as locked, nothing written */
		reset_balances(&st);
		results_nothing_moved(&st, results, true);
		goto done;
	}

	/* the updates, one per touched row, in the same global order */
	for (t = 0; t < st.ntables; t++)
	{
		OpTable    *ot = st.tables[t];
		int			r;

		for (r = 0; r < ot->nrows; r++)
		{
			OpRow	   *row = ot->rows[r];
			bool		concurrent;

			while (ot->rowpath && !row->moved &&
				   !update_row_direct(ot, row, ex, outer, &concurrent))
			{
				if (!concurrent)
				{
					/* moved by code this call ran: a statement adds to it */
					update_row(ot, row, outer);
					break;
				}
				refresh_row(&st, t, r, ex, outer);
			}
			row->locked = true;
			if (!ot->rowpath || row->moved)
				update_row(ot, row, outer);
		}
	}
	if (ex)
	{
		tg_row_exec_end(ex);
		ex = NULL;
	}
	for (t = 0; t < st.ntables; t++)
	{
		OpTable    *ot = st.tables[t];
		int			r;

		for (r = 0; r < ot->nrows; r++)
			check_stored(ot, ot->rows[r]);
	}

	for (i = 0; i < st.nlegs; i++)
	{
		OpLeg	   *leg = &st.legs[i];

		results[i].has_transfer_id = true;
		results[i].transfer_id = nextval_internal(tg_sequence_oid(), false);
		results[i].from_balance =
			leg->from_row->last_leg[leg->from_col] == i ?
			leg->from_row->final[leg->from_col] : leg->from_after;
		results[i].to_balance =
			leg->to_row->last_leg[leg->to_col] == i ?
			leg->to_row->final[leg->to_col] : leg->to_after;
	}

	/*
	 * What is recorded keeps each key as its locked row holds it, whatever
	 * the caller's spelling, so that it matches the row's id::text.
	 */
	if (journal || req->idempotency_key)
		for (i = 0; i < st.nlegs; i++)
		{
			OpLeg	   *leg = &st.legs[i];

			records[i].from_key = tg_key_text(leg->from_table->table,
											  leg->from_row->held_key);
			records[i].to_key = tg_key_text(leg->to_table->table,
											leg->to_row->held_key);
		}
	if (journal)
		tg_journal_append(records, results, st.nlegs, req->is_batch,
						  req->idempotency_key);
	if (req->idempotency_key)
		tg_idempotency_record(req->idempotency_key, req->is_batch, records,
							  st.nlegs, results);

done:
	if (ex)
		tg_row_exec_end(ex);
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
		case TG_STATUS_RECHECK:
			break;				/* never reported */
	}
	return "unknown";			/* keep compiler quiet */
}
