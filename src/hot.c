/*-------------------------------------------------------------------------
 *
 * hot.c
 *	  Hot rows as their functions see them: set_hot() marks a row hot (its
 *	  credits deferred, pending.c) or not, current_balance() reads a row's
 *	  exact balance (the column plus what is pending on it), and settle()
 *	  folds the committed pending credits into their rows, one locked row
 *	  at a time, as the maintenance worker (worker.c) does.
 *
 * IDENTIFICATION
 *	  src/hot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "amount.h"
#include "colref.h"
#include "extension.h"
#include "guard.h"
#include "hot.h"
#include "keys.h"
#include "pending.h"
#include "registry.h"
#include "report.h"
#include "slots.h"
#include "statements.h"

static TgExtensionStatement mark_stmt;
static TgExtensionStatement unmark_stmt;
static TgExtensionStatement groups_stmt;
static TgExtensionStatement groups_of_stmt;
static TgExtensionStatement settled_stmt;

static void
raise_not_found(TgTable *table, Datum key)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("no row with key %s in table \"%s\"",
					tg_key_display(table, key),
					tg_rel_display_name(table->relid)),
			 errdetail("The row does not exist or is not visible to the current role."),
			 tg_errtablecol(table->relid, table->key_attnum)));
}

/*
 * Lock one row of a guarded table (waiting, or with TG_LOCK_SKIP not), with
 * one guarded column; returns the key as the row holds it, as text, and the
 * column's balance (NULL if it is NULL).  With SPI connected.  A row not
 * there is an error, or with missing_ok a warning and NULL; one skipped
 * returns NULL.
 */
static char *
lock_row(TgTable *table, int column, Datum key, TgLockMode mode,
		 bool missing_ok, Numeric *balance)
{
	SPITupleTable *tt = tg_stmt_lock(table, mode, UINT64CONST(1) << column,
									 &key, 1);
	bool		isnull;
	Datum		v;
	char	   *held;

	if (SPI_processed != 1 && mode == TG_LOCK_SKIP)
		return NULL;
	if (SPI_processed != 1 && missing_ok)
	{
		ereport(WARNING,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("pending credits of row %s of table \"%s\" kept: the row is gone",
						tg_key_display(table, key), tg_rel_display_name(table->relid)),
				 errdetail("current_balance() cannot read them; delete them, or insert the row again.")));
		return NULL;
	}
	if (SPI_processed != 1)
		raise_not_found(table, key);
	held = tg_key_text(table, SPI_getbinval(tt->vals[0], tt->tupdesc, 1,
											&isnull));
	v = SPI_getbinval(tt->vals[0], tt->tupdesc, 2, &isnull);
	*balance = isnull ? NULL : tg_numeric_from_column(&table->columns[column], v);
	return held;
}

/* an extension statement as the extension's owner; returns SPI_processed */
static uint64
run_as_owner(TgExtensionStatement *stmt, const char *relname,
			 const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	SPIPlanPtr	plan = tg_extension_plan(stmt, relname, sql, nargs, argtypes);
	int			rc = tg_spi_as_owner(plan, values, NULL, 0);

	if (rc < 0)
		elog(ERROR, "statement on \"%s\" failed: %s", relname,
			 SPI_result_code_string(rc));
	return SPI_processed;
}

/* record the hot row (or its new number of slots) */
static void
mark_hot(TgTable *table, int column, const char *held, int slots)
{
	RegistryShape shape = tg_registry_shape();
	Oid			argtypes[4] = {REGCLASSOID, shape.column_type, TEXTOID, INT4OID};
	Datum		values[4];

	values[0] = ObjectIdGetDatum(table->relid);
	values[1] = PointerGetDatum(tg_colref_make(table->relid,
											   table->columns[column].attnum));
	values[2] = CStringGetTextDatum(held);
	values[3] = Int32GetDatum(slots);
	run_as_owner(&mark_stmt, TG_HOT_NAME,
				 tg_extension_sql("INSERT INTO %%s AS h (tbl, balance_column, key, slots)"
								  " VALUES ($1, $2, $3, $4)"
								  " ON CONFLICT (tbl, %s.transfer_guard_column_attnum(balance_column), key)"
								  " DO UPDATE SET slots = EXCLUDED.slots"),
				 4, argtypes, values);
}

/* forget the hot row; false if it was not hot */
static bool
unmark_hot(TgTable *table, int column, const char *held)
{
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, TEXTOID};
	Datum		values[3];

	values[0] = ObjectIdGetDatum(table->relid);
	values[1] = Int16GetDatum(table->columns[column].attnum);
	values[2] = CStringGetTextDatum(held);
	return run_as_owner(&unmark_stmt, TG_HOT_NAME,
						tg_extension_sql("DELETE FROM %%s AS h"
										 " WHERE h.tbl OPERATOR(pg_catalog.=) $1"
										 " AND %s.transfer_guard_column_attnum(h.balance_column)"
										 " OPERATOR(pg_catalog.=) $2"
										 " AND h.key OPERATOR(pg_catalog.=) $3"),
						3, argtypes, values) > 0;
}

/*
 * Settle a locked row: fold its pending credits, adding them to *balance.
 * A NULL balance cannot take them; they stay pending (elevel says how that
 * is reported).  Returns how many were folded.
 */
static int64
fold_locked(TgTable *table, int column, Datum key, const char *held,
			Numeric *balance, int elevel)
{
	int64		n;
	Numeric		sum;

	if (*balance == NULL &&
		tg_numeric_cmp(tg_pending_sum(table->relid, table->columns[column].attnum, held),
					   tg_int64_to_numeric(0)) != 0)
	{
		ereport(elevel,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cannot settle row %s of table \"%s\": its balance is NULL",
						held, tg_rel_display_name(table->relid)),
				 errdetail("Its pending credits stay pending."),
				 tg_errtablecol(table->relid, table->columns[column].attnum)));
		return 0;
	}
	if (*balance == NULL)
		return 0;
	sum = tg_pending_fold(table, column, key, held, &n);
	if (sum != NULL)
		*balance = tg_numeric_add(*balance, sum);
	return n;
}

/*
 * Give a locked row with locked slots n slots again: the slots' sum goes
 * back into the row, and each of the n slots takes an equal share of what
 * the row then holds above its floor (none without a floor).  With make,
 * the row's slots become n slots (set_hot()); else the n slots locked, all
 * of the row's, are filled.  One UPDATE of the row, if its balance
 * changes.  balance is the row's balance as it now stands (after any
 * fold).
 */
static void
refill_locked(TgTable *table, int column, Datum key, const char *held,
			  Numeric balance, Numeric slot_sum, int n, bool make)
{
	TgColumn   *col = &table->columns[column];
	Numeric		total = tg_numeric_add(balance, slot_sum);
	Numeric		share = tg_int64_to_numeric(0);
	Datum		delta;

	if (n > 0 && col->min_balance != NULL)
		share = tg_numeric_share(col, tg_numeric_sub(total, col->min_balance), n);
	delta = NumericGetDatum(tg_numeric_sub(slot_sum, tg_numeric_times(share, n)));
	if (tg_numeric_cmp(DatumGetNumeric(delta), tg_int64_to_numeric(0)) != 0)
	{
		if (tg_stmt_update(table, key, UINT64CONST(1) << column, &delta) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
					 errmsg("update of row %s in table \"%s\" was skipped",
							held, tg_rel_display_name(table->relid)),
					 errdetail("A BEFORE UPDATE trigger returned NULL; the row's slots are unchanged."),
					 tg_errtablecol(table->relid, col->attnum)));
		SPI_freetuptable(SPI_tuptable);
	}
	if (make)
		tg_slots_make(table->relid, col->attnum, held, n, share);
	else if (n > 0)
		tg_slots_fill(table->relid, col->attnum, held, share);
}

/* the refusals of set_hot() before anything is locked */
static void
check_set_hot(Relation rel, TgTable *table, TgColumn *col, bool hot, int slots)
{
	if (slots < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slots must not be negative")));
	if (slots > TG_MAX_SLOTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slots must be at most %d", TG_MAX_SLOTS)));
	if (table->placement != TG_PLACE_LOCAL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rows of table \"%s\" cannot be hot: Citus distributes it",
						RelationGetRelationName(rel)),
				 tg_errtable(table->relid)));
	if (hot && col->max_balance != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rows of column \"%s\" of table \"%s\" cannot be hot: it has a ceiling",
						NameStr(col->name), RelationGetRelationName(rel)),
				 errdetail("A deferred credit is not checked against max_balance %s.",
						   tg_numeric_display(col->max_balance)),
				 errhint("Guard the column without max_balance first."),
				 errtablecol(rel, col->attnum)));
	if (hot && slots > 0 && col->min_balance == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rows of column \"%s\" of table \"%s\" cannot have slots: it has no floor",
						NameStr(col->name), RelationGetRelationName(rel)),
				 errdetail("Slots hold what a row has above its floor."),
				 errhint("Guard the column with a min_balance first."),
				 errtablecol(rel, col->attnum)));
}

/*
 * set_hot(): mark a row hot, or not, and give it its slots.  The table's
 * owner only, as guard().  Unmarking first waits for the credits in flight
 * to the row (tg_hot_lock).  Then the row's slots are locked (before the
 * row: the lock order of slots.c), the row, its pending credits settled,
 * its old slots put back into it and its new ones filled from it; when it
 * stops being hot, nothing stays pending or in slots that this transaction
 * can see.
 */
void
tg_set_hot(Oid relid, const char *key, const char *colname, bool hot,
		   int slots)
{
	Relation	rel = tg_open_owned_table(relid);
	TgTable    *table = tg_get_table(relid, false);
	TgColumn   *col = tg_find_column(table, colname, "balance_column");
	int			column = (int) (col - table->columns);
	Datum		keyval = tg_key_convert(table, CStringGetTextDatum(key),
										TEXTOID, "key");
	TgHotRow   *current = tg_hot_find(table, column, keyval);
	const char *hot_key = current ? current->key_text : tg_key_text(table, keyval);
	Numeric		balance;
	Numeric		slot_sum;
	char	   *held;
	int			nslots;

	check_set_hot(rel, table, col, hot, slots);
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set_hot() must run in a READ COMMITTED transaction"),
				 errdetail("It waits for the credits in flight to the row, then settles them; a transaction snapshot taken before they committed would not see them.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!hot)
		tg_hot_lock(relid, col->attnum, hot_key, ExclusiveLock);
	slot_sum = tg_slots_lock(relid, col->attnum, hot_key, TG_LOCK_WAIT, &nslots);
	held = lock_row(table, column, keyval, TG_LOCK_WAIT, false, &balance);
	if (!hot && strcmp(held, hot_key) != 0)
		tg_hot_lock(relid, col->attnum, held, ExclusiveLock);
	(void) fold_locked(table, column, keyval, held, &balance, ERROR);
	if (balance == NULL && nslots > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cannot settle row %s of table \"%s\": its balance is NULL",
						held, tg_rel_display_name(relid)),
				 tg_errtablecol(relid, col->attnum)));
	if (balance != NULL)
		refill_locked(table, column, keyval, held, balance, slot_sum,
					  hot ? slots : 0, true);
	if (hot)
		mark_hot(table, column, held, slots);
	else if (!unmark_hot(table, column, held))
		ereport(NOTICE,
				(errmsg("row %s of column \"%s\" of table \"%s\" is not hot",
						held, NameStr(col->name), RelationGetRelationName(rel))));
	SPI_finish();

	/* every backend's cache entry for this table is now stale */
	CacheInvalidateRelcache(rel);
	relation_close(rel, NoLock);
}

/*
 * current_balance(): a guarded row's exact balance in the snapshot of the
 * caller's statement: its column, the credits pending on it and what its
 * slots hold.  All are read in that one snapshot; a settle or a combine
 * moves units between them in one transaction, so the sum is never off.
 * NULL if the column is.
 */
Numeric
tg_current_balance(Oid relid, const char *key, const char *colname)
{
	TgTable    *table = tg_get_table(relid, false);
	TgColumn   *col = tg_find_column(table, colname, "balance_column");
	uint64		mask = UINT64CONST(1) << (col - table->columns);
	Datum		keyval = tg_key_convert(table, CStringGetTextDatum(key),
										TEXTOID, "key");
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext old;
	HeapTuple	tup;
	Numeric		result = NULL;
	Numeric		pending;
	Numeric		slot_sum;
	bool		isnull;
	Datum		v;
	char	   *held;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	tup = tg_stmt_read(table, mask, keyval);
	if (tup == NULL)
		raise_not_found(table, keyval);
	held = tg_key_text(table, SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
	v = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
	{
		old = MemoryContextSwitchTo(outer);
		result = tg_numeric_from_column(col, v);
		MemoryContextSwitchTo(old);
		pending = tg_pending_sum(relid, col->attnum, held);
		slot_sum = tg_slots_sum(relid, col->attnum, held);
		old = MemoryContextSwitchTo(outer);
		result = tg_numeric_add(tg_numeric_add(result, pending), slot_sum);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return result;
}

/*
 * The rows with committed pending credits, of one table or (InvalidOid) of
 * all, as the extension's owner sees them; with SPI connected.  Of all
 * tables, also the hot rows whose slots need filling (one holds at most a
 * quarter of another, or all are empty).  The list is made in cxt.
 */
List *
tg_settle_groups(Oid relid, MemoryContext cxt)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	const char *sql = tg_extension_sql(OidIsValid(relid) ?
									   "SELECT DISTINCT p.tbl::pg_catalog.oid,"
									   " %s.transfer_guard_column_attnum(p.balance_column), p.key"
									   " FROM %%s AS p WHERE p.tbl OPERATOR(pg_catalog.=) $1" :
									   "SELECT DISTINCT p.tbl::pg_catalog.oid,"
									   " %s.transfer_guard_column_attnum(p.balance_column), p.key"
									   " FROM %%s AS p");
	List	   *groups = NIL;
	uint64		n;
	uint64		i;

	if (!OidIsValid(tg_extension_relation(TG_PENDING_NAME, true)))
		return NIL;
	if (OidIsValid(relid))
		n = run_as_owner(&groups_of_stmt, TG_PENDING_NAME, sql, 1, argtypes, values);
	else if (!OidIsValid(tg_extension_relation(TG_SLOTS_NAME, true)))
		n = run_as_owner(&groups_stmt, TG_PENDING_NAME, sql, 0, NULL, NULL);
	else
	{
		/* and the rows with slots to fill: one at most a quarter of another */
		sql = psprintf("%s UNION %s", sql,
					   tg_extension_sql("SELECT h.tbl::pg_catalog.oid,"
										" %s.transfer_guard_column_attnum(h.balance_column), h.key"
										" FROM %s.transfer_guard_hot AS h"
										" WHERE h.slots OPERATOR(pg_catalog.>) 0 AND ("
										" SELECT pg_catalog.min(x.amount) OPERATOR(pg_catalog.*) 4"
										" OPERATOR(pg_catalog.<) pg_catalog.max(x.amount)"
										" OR pg_catalog.max(x.amount) OPERATOR(pg_catalog.=) 0"
										" FROM %s.transfer_guard_slots AS x"
										" WHERE x.tbl OPERATOR(pg_catalog.=) h.tbl"
										" AND %s.transfer_guard_column_attnum(x.balance_column)"
										" OPERATOR(pg_catalog.=) %s.transfer_guard_column_attnum(h.balance_column)"
										" AND x.key OPERATOR(pg_catalog.=) h.key)"));
		n = run_as_owner(&groups_stmt, TG_PENDING_NAME, sql, 0, NULL, NULL);
	}
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *key = SPI_getvalue(tup, desc, 3);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		TgSettleGroup *g = palloc0(sizeof(TgSettleGroup));
		bool		isnull;

		g->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		g->attnum = DatumGetInt16(SPI_getbinval(tup, desc, 2, &isnull));
		g->key_text = pstrdup(key);
		groups = lappend(groups, g);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	return groups;
}

/* note when a hot row was last settled */
static void
note_settled(Oid relid, AttrNumber attnum, const char *held)
{
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, TEXTOID};
	Datum		values[3];

	values[0] = ObjectIdGetDatum(relid);
	values[1] = Int16GetDatum(attnum);
	values[2] = CStringGetTextDatum(held);
	run_as_owner(&settled_stmt, TG_HOT_NAME,
				 tg_extension_sql("UPDATE %%s AS h SET last_settle = pg_catalog.now()"
								  " WHERE h.tbl OPERATOR(pg_catalog.=) $1"
								  " AND %s.transfer_guard_column_attnum(h.balance_column)"
								  " OPERATOR(pg_catalog.=) $2"
								  " AND h.key OPERATOR(pg_catalog.=) $3"),
				 3, argtypes, values);
}

/*
 * The guarded table, column and key of a row with pending credits; false
 * if it cannot be settled now: its table or column is no longer guarded
 * (with a warning: the credits stay pending), or, with skip_unprivileged,
 * the current role may not update the column.
 */
static bool
resolve_group(TgSettleGroup *g, bool skip_unprivileged)
{
	int			c;

	if (get_rel_relkind(g->relid) == '\0')
		return false;
	/* the table's UPDATE privilege, or the column's */
	if (skip_unprivileged &&
		pg_class_aclcheck(g->relid, GetUserId(), ACL_UPDATE) != ACLCHECK_OK &&
		pg_attribute_aclcheck(g->relid, g->attnum, GetUserId(), ACL_UPDATE) != ACLCHECK_OK)
		return false;
	g->table = tg_get_table(g->relid, true);
	for (c = 0; g->table != NULL && c < g->table->ncolumns; c++)
		if (g->table->columns[c].attnum == g->attnum)
			break;
	if (g->table == NULL || c == g->table->ncolumns)
	{
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pending credits of row %s of table \"%s\" kept: the column is not guarded",
						g->key_text, tg_rel_display_name(g->relid))));
		return false;
	}
	g->column = c;
	g->key = tg_key_convert(g->table, CStringGetTextDatum(g->key_text),
							TEXTOID, "key");
	return true;
}

/*
 * Lock a resolved row and fold its pending credits.  As the maintenance
 * worker, a row or slot that is locked (or a row that is gone) is left for
 * later, and a row with slots has them filled again (its slots are locked
 * first, the lock order of slots.c): credits settled into the column, and
 * slots emptied by debits, are then available to debits through slots.
 */
static int64
settle_resolved(TgSettleGroup *g, bool worker)
{
	TgHotRow   *hot = tg_hot_find(g->table, g->column, g->key);
	int			nslots = 0;
	Numeric		slot_sum = NULL;
	Numeric		balance;
	char	   *held;
	int64		n;

	if (worker && hot != NULL && hot->slots > 0)
	{
		/* every slot of the row, or leave it for later */
		slot_sum = tg_slots_lock(g->relid, g->attnum, hot->key_text,
								 TG_LOCK_SKIP, &nslots);
		if (nslots == 0 ||
			nslots < tg_slots_count(g->relid, g->attnum, hot->key_text))
			return 0;
	}
	held = lock_row(g->table, g->column, g->key,
					worker ? TG_LOCK_SKIP : TG_LOCK_WAIT, true, &balance);
	if (held == NULL)
		return 0;
	n = fold_locked(g->table, g->column, g->key, held, &balance, WARNING);
	if (slot_sum != NULL && balance != NULL)
		refill_locked(g->table, g->column, g->key, held, balance, slot_sum,
					  nslots, false);
	if (n > 0)
		note_settled(g->relid, g->attnum, held);
	return n;
}

/*
 * Settle one row: lock it and fold its committed pending credits.  Returns
 * how many it folded.  With SPI connected.  worker: as the maintenance
 * worker (settle_resolved()).
 */
int64
tg_settle_group(TgSettleGroup *g, bool skip_unprivileged, bool worker)
{
	return resolve_group(g, skip_unprivileged) ?
		settle_resolved(g, worker) : 0;
}

/* two resolved rows in the global lock order: table, then key */
static int
cmp_groups(const ListCell *a, const ListCell *b)
{
	TgSettleGroup *ga = (TgSettleGroup *) lfirst(a);
	TgSettleGroup *gb = (TgSettleGroup *) lfirst(b);

	if (ga->relid != gb->relid)
		return ga->relid < gb->relid ? -1 : 1;
	return tg_key_compare(ga->table, ga->key, gb->key);
}

/*
 * settle(): settle every row with pending credits, of one table or of every
 * table whose column the caller may update, in the caller's transaction,
 * locking the rows in the global order.  Returns how many credits it
 * folded.
 */
int64
tg_settle(Oid relid)
{
	List	   *groups;
	List	   *resolved = NIL;
	ListCell   *lc;
	int64		n = 0;

	if (OidIsValid(relid))
		tg_check_schema_usage(relid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	groups = tg_settle_groups(relid, CurrentMemoryContext);
	foreach(lc, groups)
		if (resolve_group((TgSettleGroup *) lfirst(lc), !OidIsValid(relid)))
			resolved = lappend(resolved, lfirst(lc));
	list_sort(resolved, cmp_groups);
	foreach(lc, resolved)
		n += settle_resolved((TgSettleGroup *) lfirst(lc), false);
	SPI_finish();
	return n;
}
