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
 * there is an error; one skipped returns NULL.
 */
static char *
lock_row(TgTable *table, int column, Datum key, TgLockMode mode,
		 Numeric *balance)
{
	SPITupleTable *tt = tg_stmt_lock(table, mode, UINT64CONST(1) << column,
									 &key, 1);
	bool		isnull;
	Datum		v;
	char	   *held;

	if (SPI_processed != 1 && mode == TG_LOCK_SKIP)
		return NULL;
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
	const char *schema = quote_identifier(get_namespace_name(tg_extension_namespace()));

	values[0] = ObjectIdGetDatum(table->relid);
	values[1] = PointerGetDatum(tg_colref_make(table->relid,
											   table->columns[column].attnum));
	values[2] = CStringGetTextDatum(held);
	values[3] = Int32GetDatum(slots);
	run_as_owner(&mark_stmt, TG_HOT_NAME,
				 psprintf("INSERT INTO %%s AS h (tbl, balance_column, key, slots)"
						  " VALUES ($1, $2, $3, $4)"
						  " ON CONFLICT (tbl, %s.transfer_guard_column_attnum(balance_column), key)"
						  " DO UPDATE SET slots = EXCLUDED.slots", schema),
				 4, argtypes, values);
}

/* forget the hot row; false if it was not hot */
static bool
unmark_hot(TgTable *table, int column, const char *held)
{
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, TEXTOID};
	Datum		values[3];
	const char *schema = quote_identifier(get_namespace_name(tg_extension_namespace()));

	values[0] = ObjectIdGetDatum(table->relid);
	values[1] = Int16GetDatum(table->columns[column].attnum);
	values[2] = CStringGetTextDatum(held);
	return run_as_owner(&unmark_stmt, TG_HOT_NAME,
						psprintf("DELETE FROM %%s AS h"
								 " WHERE h.tbl OPERATOR(pg_catalog.=) $1"
								 " AND %s.transfer_guard_column_attnum(h.balance_column)"
								 " OPERATOR(pg_catalog.=) $2"
								 " AND h.key OPERATOR(pg_catalog.=) $3", schema),
						3, argtypes, values) > 0;
}

/*
 * Settle a locked row: fold its pending credits.  A NULL balance cannot
 * take them; they stay pending, and so does the row's hot mark.
 */
static int64
fold_locked(TgTable *table, int column, Datum key, const char *held,
			Numeric balance, int elevel)
{
	int64		n;

	if (balance == NULL &&
		tg_numeric_cmp(tg_pending_sum(table->relid, table->columns[column].attnum, held),
					   tg_number_to_numeric(Int32GetDatum(0), INT4OID)) != 0)
	{
		ereport(elevel,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cannot settle row %s of table \"%s\": its balance is NULL",
						held, tg_rel_display_name(table->relid)),
				 errdetail("Its pending credits stay pending."),
				 tg_errtablecol(table->relid, table->columns[column].attnum)));
		return 0;
	}
	(void) tg_pending_fold(table, column, key, held, &n);
	return n;
}

/*
 * set_hot(): mark a row hot, or not.  The table's owner only, as guard().
 * Unmarking waits for the credits in flight to the row (tg_hot_lock), then
 * settles it, so nothing stays pending that this transaction can see.
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
	Numeric		balance;
	char	   *held;

	if (slots < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slots must not be negative")));
	if (slots > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("escrow slots for debits of hot rows are not supported yet"),
				 errhint("Call set_hot() with slots => 0: credits are deferred, debits lock the row.")));
	if (table->placement != TG_PLACE_LOCAL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rows of table \"%s\" cannot be hot: Citus distributes it",
						RelationGetRelationName(rel)),
				 tg_errtable(relid)));
	if (hot && col->max_balance != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rows of column \"%s\" of table \"%s\" cannot be hot: it has a ceiling",
						NameStr(col->name), RelationGetRelationName(rel)),
				 errdetail("A deferred credit is not checked against max_balance %s.",
						   tg_numeric_display(col->max_balance)),
				 errhint("Guard the column without max_balance first."),
				 errtablecol(rel, col->attnum)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!hot)
		tg_hot_lock(relid, col->attnum, tg_key_text(table, keyval), ExclusiveLock);
	held = lock_row(table, column, keyval, TG_LOCK_WAIT, &balance);
	if (hot)
		mark_hot(table, column, held, slots);
	else
	{
		if (strcmp(held, tg_key_text(table, keyval)) != 0)
			tg_hot_lock(relid, col->attnum, held, ExclusiveLock);
		(void) fold_locked(table, column, keyval, held, balance, ERROR);
		if (!unmark_hot(table, column, held))
			ereport(NOTICE,
					(errmsg("row %s of column \"%s\" of table \"%s\" is not hot",
							held, NameStr(col->name), RelationGetRelationName(rel))));
	}
	SPI_finish();

	/* every backend's cache entry for this table is now stale */
	CacheInvalidateRelcache(rel);
	relation_close(rel, NoLock);
}

/*
 * current_balance(): a guarded row's exact balance in the snapshot of the
 * caller's statement: its column plus the credits pending on it.  Both are
 * read in that one snapshot; a settle moves credits from one to the other
 * in one transaction, so the sum is never off.  NULL if the column is.
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
		old = MemoryContextSwitchTo(outer);
		result = tg_numeric_add(result, pending);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return result;
}

/*
 * The rows with committed pending credits, of one table or (InvalidOid) of
 * all, as the extension's owner sees them; with SPI connected.  The list is
 * made in cxt.
 */
List *
tg_settle_groups(Oid relid, MemoryContext cxt)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	const char *schema = quote_identifier(get_namespace_name(tg_extension_namespace()));
	const char *sql = psprintf("SELECT DISTINCT p.tbl::pg_catalog.oid,"
							   " %s.transfer_guard_column_attnum(p.balance_column), p.key"
							   " FROM %%s AS p%s", schema,
							   OidIsValid(relid) ?
							   " WHERE p.tbl OPERATOR(pg_catalog.=) $1" : "");
	List	   *groups = NIL;
	uint64		n;
	uint64		i;

	if (!OidIsValid(tg_extension_relation(TG_PENDING_NAME, true)))
		return NIL;
	n = OidIsValid(relid) ?
		run_as_owner(&groups_of_stmt, TG_PENDING_NAME, sql, 1, argtypes, values) :
		run_as_owner(&groups_stmt, TG_PENDING_NAME, sql, 0, NULL, NULL);
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
	const char *schema = quote_identifier(get_namespace_name(tg_extension_namespace()));

	values[0] = ObjectIdGetDatum(relid);
	values[1] = Int16GetDatum(attnum);
	values[2] = CStringGetTextDatum(held);
	run_as_owner(&settled_stmt, TG_HOT_NAME,
				 psprintf("UPDATE %%s AS h SET last_settle = pg_catalog.now()"
						  " WHERE h.tbl OPERATOR(pg_catalog.=) $1"
						  " AND %s.transfer_guard_column_attnum(h.balance_column)"
						  " OPERATOR(pg_catalog.=) $2"
						  " AND h.key OPERATOR(pg_catalog.=) $3", schema),
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
 * Lock a resolved row and fold its pending credits; with skip_locked, a row
 * that is locked (or gone) is left for later.
 */
static int64
settle_resolved(TgSettleGroup *g, bool skip_locked)
{
	Numeric		balance;
	char	   *held = lock_row(g->table, g->column, g->key,
								skip_locked ? TG_LOCK_SKIP : TG_LOCK_WAIT,
								&balance);
	int64		n;

	if (held == NULL)
		return 0;
	n = fold_locked(g->table, g->column, g->key, held, balance, WARNING);
	if (n > 0)
		note_settled(g->relid, g->attnum, held);
	return n;
}

/*
 * Settle one row: lock it and fold its committed pending credits.  Returns
 * how many it folded.  With SPI connected.
 */
int64
tg_settle_group(TgSettleGroup *g, bool skip_unprivileged, bool skip_locked)
{
	return resolve_group(g, skip_unprivileged) ?
		settle_resolved(g, skip_locked) : 0;
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
