/*-------------------------------------------------------------------------
 *
 * statements.c
 *	  The statement path: a guarded table's rows locked, probed and updated
 *	  with SQL statements through SPI, with plans kept per table, column
 *	  set and lock mode in the table's cache entry.  For the tables the row
 *	  path (rows.c) does not serve, and wherever a row must be seen exactly
 *	  as a statement sees it.
 *
 *	  Every name in the statements is quoted from the catalogs and every
 *	  operator schema-qualified, so nothing in the caller's search_path is
 *	  picked up; the statements fire the table's triggers and apply its
 *	  policies as the caller's own UPDATE would.
 *
 * IDENTIFICATION
 *	  src/statements.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "exec.h"
#include "report.h"
#include "statements.h"
#include "table.h"

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
 * Keep a plan in one of the table's lists, in its entry's memory, so that
 * it goes with the entry when the table changes.  The plan is kept by SPI
 * already; the entry's list is changed only once it is.
 */
static void
keep_plan(TgTable *table, TgMaskPlan **list, int mode, uint64 mask,
		  SPIPlanPtr plan)
{
	TgMaskPlan *mp = MemoryContextAlloc(table->cxt, sizeof(TgMaskPlan));

	mp->mode = mode;
	mp->mask = mask;
	mp->plan = plan;
	mp->next = *list;
	*list = mp;
}

/*
 * The statement that locks a table's rows in key order and reads the
 * guarded columns in mask:
 *	 SELECT key, col1, ... FROM [ONLY] tbl WHERE key = ANY ($1)
 *	 ORDER BY key FOR NO KEY UPDATE [NOWAIT | SKIP LOCKED]
 * For a Citus table, one row, by a key Citus routes to its shard:
 *	 SELECT key, col1, ... FROM [ONLY] tbl WHERE key = $1
 *	 FOR NO KEY UPDATE [NOWAIT | SKIP LOCKED]
 */
static SPIPlanPtr
lock_plan(TgTable *table, TgLockMode mode, uint64 mask)
{
	static const char *const suffix[TG_STATEMENT_LOCK_MODES] = {"", " NOWAIT", " SKIP LOCKED"};
	bool		single = table->placement != TG_PLACE_LOCAL;
	TgMaskPlan *mp;
	StringInfoData sql;
	const char *key;
	SPIPlanPtr	plan;
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
	appendStringInfo(&sql, " FROM %s WHERE %s %s ", qualified_table(table),
					 key, key_eq_operator(table));
	if (single)
		appendStringInfo(&sql, "$1 FOR NO KEY UPDATE%s", suffix[mode]);
	else
		appendStringInfo(&sql, "ANY ($1) ORDER BY %s FOR NO KEY UPDATE%s",
						 key, suffix[mode]);

	plan = tg_prepare_kept(sql.data, 1,
						   single ? &table->key_basetypid : &table->key_arraytypid);
	keep_plan(table, &table->lock_plans, mode, mask, plan);
	return plan;
}

/* the mode of a read plan in the lock plans' list: no lock */
#define TG_READ_PLAN_MODE	(-1)

/*
 * The statement that reads one row without a lock, as the caller's
 * snapshot sees it:
 *	 SELECT key, col1, ... FROM [ONLY] tbl WHERE key = $1
 */
static SPIPlanPtr
read_plan(TgTable *table, uint64 mask)
{
	TgMaskPlan *mp;
	StringInfoData sql;
	const char *key;
	SPIPlanPtr	plan;
	int			i;

	for (mp = table->lock_plans; mp != NULL; mp = mp->next)
		if (mp->mode == TG_READ_PLAN_MODE && mp->mask == mask)
			return mp->plan;

	key = quote_identifier(NameStr(table->key_name));
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s", key);
	for (i = 0; i < table->ncolumns; i++)
		if (mask & (UINT64CONST(1) << i))
			appendStringInfo(&sql, ", %s",
							 quote_identifier(NameStr(table->columns[i].name)));
	appendStringInfo(&sql, " FROM %s WHERE %s %s $1", qualified_table(table),
					 key, key_eq_operator(table));
	plan = tg_prepare_kept(sql.data, 1, &table->key_basetypid);
	keep_plan(table, &table->lock_plans, TG_READ_PLAN_MODE, mask, plan);
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
	keep_plan(table, &table->update_plans, -1, mask, plan);
	return plan;
}

/*
 * The lock statement's parameter: the keys as an array of the key's base
 * type; for a Citus table, the one key itself.
 */
static Datum
key_array(TgTable *table, Datum *keys, int nkeys)
{
	if (table->placement != TG_PLACE_LOCAL)
	{
		if (nkeys != 1)
			elog(ERROR, "a Citus table's rows are locked one key per statement");
		return keys[0];
	}
	return PointerGetDatum(construct_array(keys, nkeys, table->key_basetypid,
										   table->key_typlen,
										   table->key_typbyval,
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
 * After SKIP LOCKED missed the row with this key: is it there, locked by
 * another transaction (busy), or not there for this role (not found)?
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
bool
tg_stmt_row_is_busy(TgTable *table, Datum key)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	SPIPlanPtr	plan = lock_plan(table, TG_LOCK_NOWAIT, 0);
	Datum		arg = key_array(table, &key, 1);
	ErrorData  *volatile edata = NULL;
	volatile bool found = false;

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


/*
 * Lock the rows with these keys in key order, waiting or not as mode says,
 * and read the guarded columns in mask: the returned SPI tuple table holds
 * the key as the row holds it in column 1, then those columns in the order
 * of table->columns.  Rows that do not exist, that a policy hides, or (SKIP
 * LOCKED) that are busy, are not returned.  The caller frees the table.
 */
SPITupleTable *
tg_stmt_lock(TgTable *table, TgLockMode mode, uint64 mask, Datum *keys,
			 int nkeys)
{
	Datum		arg = key_array(table, keys, nkeys);
	int			rc;
	int			c;
	int			attno = 1;

	rc = SPI_execute_plan(lock_plan(table, mode, mask), &arg, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "locking rows of table \"%s\" failed: %s",
			 tg_rel_display_name(table->relid), SPI_result_code_string(rc));
	check_result_type(table, SPI_tuptable->tupdesc, 1, table->key_typid);
	for (c = 0; c < table->ncolumns; c++)
		if (mask & (UINT64CONST(1) << c))
			check_result_type(table, SPI_tuptable->tupdesc, ++attno,
							  table->columns[c].typid);
	return SPI_tuptable;
}

/*
 * Read the row with this key without locking it, in the snapshot of the
 * caller's statement (read-only), with the guarded columns in mask, as
 * tg_stmt_lock() returns them; NULL if it is not there for this role.
 */
HeapTuple
tg_stmt_read(TgTable *table, uint64 mask, Datum key)
{
	int			rc;
	int			c;
	int			attno = 1;

	rc = SPI_execute_plan(read_plan(table, mask), &key, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading a row of table \"%s\" failed: %s",
			 tg_rel_display_name(table->relid), SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return NULL;
	check_result_type(table, SPI_tuptable->tupdesc, 1, table->key_typid);
	for (c = 0; c < table->ncolumns; c++)
		if (mask & (UINT64CONST(1) << c))
			check_result_type(table, SPI_tuptable->tupdesc, ++attno,
							  table->columns[c].typid);
	return SPI_tuptable->vals[0];
}

/*
 * Add deltas (numeric, one per guarded column in mask, in column order) to
 * the balances of the locked row with this key, and one to their version
 * columns.  Returns the row as the UPDATE stored it, its columns those in
 * mask, in the tuple table SPI_tuptable (the caller frees it); or NULL if
 * no row was updated (a BEFORE UPDATE trigger returned NULL, or code the
 * call ran deleted the row or changed its key).
 */
HeapTuple
tg_stmt_update(TgTable *table, Datum key, uint64 mask, Datum *deltas)
{
	Datum		args[TG_MAX_COLUMNS + 1];
	int			nargs = 1;
	int			rc;
	int			c;

	args[0] = key;
	for (c = 0; c < table->ncolumns; c++)
		if (mask & (UINT64CONST(1) << c))
		{
			args[nargs] = deltas[nargs - 1];
			nargs++;
		}
	rc = SPI_execute_plan(update_plan(table, mask), args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("update of table \"%s\" did not run as a plain UPDATE",
						tg_rel_display_name(table->relid)),
				 errdetail("The statement ended with %s.", SPI_result_code_string(rc))));
	if (SPI_processed != 1)
	{
		SPI_freetuptable(SPI_tuptable);
		return NULL;
	}
	nargs = 0;
	for (c = 0; c < table->ncolumns; c++)
		if (mask & (UINT64CONST(1) << c))
			check_result_type(table, SPI_tuptable->tupdesc, ++nargs,
							  table->columns[c].typid);
	return SPI_tuptable->vals[0];
}
