/*-------------------------------------------------------------------------
 *
 * pending.c
 *	  Hot rows and their pending credits.  A credit to a hot row takes no
 *	  lock on the row: it is a row of transfer_guard_pending, written in the
 *	  caller's transaction.  Folding adds the committed pending credits of a
 *	  row the caller has locked to its balance, with the table's own UPDATE
 *	  statement (its triggers fire, its version column moves), and deletes
 *	  them, in the same transaction.  docs/design.md, "Hot rows", says why
 *	  nothing is lost or counted twice.
 *
 *	  The pending credits are written and read as the extension's owner, on
 *	  the caller's behalf, as the journal is.
 *
 * IDENTIFICATION
 *	  src/pending.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "amount.h"
#include "colref.h"
#include "extension.h"
#include "keys.h"
#include "pending.h"
#include "registry.h"
#include "report.h"
#include "statements.h"

/*
 * The lock that orders deferred credits to a hot row before set_hot(hot =>
 * false): an advisory lock tag (so pg_locks shows it) with a field4 that
 * the SQL-level advisory lock functions never use (they use 1 and 2).
 */
#define TG_HOT_LOCK_FIELD4	0x5447

static TgExtensionStatement insert_stmt;
static TgExtensionStatement fold_stmt;
static TgExtensionStatement sum_stmt;

/* the hot row of this column and key, or NULL */
TgHotRow *
tg_hot_find(TgTable *table, int column, Datum key)
{
	int			i;

	for (i = 0; i < table->nhot; i++)
		if (table->hot[i].column == column &&
			tg_key_compare(table, table->hot[i].key, key) == 0)
			return &table->hot[i];
	return NULL;
}

/*
 * Take the hot row's lock until the end of the transaction: ShareLock for a
 * deferred credit, ExclusiveLock for set_hot(), which waits so for every
 * credit in flight to end.  Both take it before any slot or row, so it is
 * first in the lock order.  Two keys of one hash share a lock; that only
 * makes one wait for the other.
 */
void
tg_hot_lock(Oid relid, AttrNumber attnum, const char *key_text, LOCKMODE mode)
{
	LOCKTAG		tag;
	uint32		h = hash_combine(hash_bytes((const unsigned char *) key_text,
											(int) strlen(key_text)),
								 (uint32) attnum);

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, relid, h, TG_HOT_LOCK_FIELD4);
	(void) LockAcquire(&tag, mode, false, false);
}

/*
 * Record a credit to a hot row, in the caller's transaction, with SPI
 * connected.  Its transfer id ties it to the journal.  The caller holds
 * the hot row's lock in ShareLock mode (tg_hot_lock), taken before any
 * slot or row of the call.
 */
void
tg_pending_add(TgTable *table, TgHotRow *hot, Numeric amount, int64 transfer_id)
{
	RegistryShape shape = tg_registry_shape();
	Oid			argtypes[5] = {REGCLASSOID, shape.column_type, TEXTOID,
	NUMERICOID, INT8OID};
	Datum		values[5];
	SPIPlanPtr	plan;
	int			rc;

	plan = tg_extension_plan(&insert_stmt, TG_PENDING_NAME,
							 "INSERT INTO %s (tbl, balance_column, key, amount, transfer_id)"
							 " VALUES ($1, $2, $3, $4, $5)", 5, argtypes);
	values[0] = ObjectIdGetDatum(table->relid);
	values[1] = PointerGetDatum(tg_colref_make(table->relid,
											   table->columns[hot->column].attnum));
	values[2] = CStringGetTextDatum(hot->key_text);
	values[3] = NumericGetDatum(amount);
	values[4] = Int64GetDatum(transfer_id);
	rc = tg_spi_as_owner(plan, values, NULL, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "recording a pending credit failed: %s",
			 SPI_result_code_string(rc));
}

/*
 * Fold the committed pending credits of a row this transaction has locked
 * into its balance, and delete them; with SPI connected.  Returns the sum
 * folded (NULL if there was nothing), in the context that was current when
 * SPI was connected, and their number in *count.  The
 * DELETE decides which credits are folded: one another settle deleted
 * first is not returned, so none is added twice.
 */
Numeric
tg_pending_fold(TgTable *table, int column, Datum key, const char *key_text,
				int64 *count)
{
	TgColumn   *col = &table->columns[column];
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, TEXTOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	bool		isnull;
	Datum		sum;
	int			rc;

	*count = 0;
	if (!OidIsValid(tg_extension_relation(TG_PENDING_NAME, true)))
		return NULL;
	plan = tg_extension_plan(&fold_stmt, TG_PENDING_NAME,
							 tg_extension_sql("WITH d AS (DELETE FROM %%s AS p"
										 " WHERE p.tbl OPERATOR(pg_catalog.=) $1"
										 " AND %s.transfer_guard_column_attnum(p.balance_column)"
										 " OPERATOR(pg_catalog.=) $2"
										 " AND p.key OPERATOR(pg_catalog.=) $3"
										 " RETURNING p.amount)"
										 " SELECT pg_catalog.count(*), pg_catalog.sum(d.amount) FROM d"),
							 3, argtypes);
	values[0] = ObjectIdGetDatum(table->relid);
	values[1] = Int16GetDatum(col->attnum);
	values[2] = CStringGetTextDatum(key_text);
	rc = tg_spi_as_owner(plan, values, NULL, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "folding pending credits failed: %s",
			 SPI_result_code_string(rc));
	*count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	sum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
						&isnull);
	sum = *count == 0 || isnull ? (Datum) 0 : SPI_datumTransfer(sum, false, -1);
	SPI_freetuptable(SPI_tuptable);
	if (sum == (Datum) 0)
		return NULL;

	if (tg_stmt_update(table, key, UINT64CONST(1) << column, &sum) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("settling row %s of table \"%s\" was skipped",
						tg_key_display(table, key),
						tg_rel_display_name(table->relid)),
				 errdetail("A BEFORE UPDATE trigger returned NULL; its pending credits stay pending."),
				 tg_errtablecol(table->relid, col->attnum)));
	SPI_freetuptable(SPI_tuptable);
	return DatumGetNumeric(sum);
}

/*
 * The sum of the pending credits of a row (committed, or this
 * transaction's), in the snapshot of the caller's statement, read-only so
 * that a read of the row in the same snapshot adds up; zero if none.  With SPI
 * connected; the sum is in the context current when it was.
 */
Numeric
tg_pending_sum(Oid relid, AttrNumber attnum, const char *key_text)
{
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, TEXTOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	bool		isnull;
	Datum		sum;
	int			rc;

	if (!OidIsValid(tg_extension_relation(TG_PENDING_NAME, true)))
		return tg_number_to_numeric(Int32GetDatum(0), INT4OID);
	plan = tg_extension_plan(&sum_stmt, TG_PENDING_NAME,
							 tg_extension_sql("SELECT COALESCE(pg_catalog.sum(p.amount), 0)"
										 " FROM %%s AS p"
										 " WHERE p.tbl OPERATOR(pg_catalog.=) $1"
										 " AND %s.transfer_guard_column_attnum(p.balance_column)"
										 " OPERATOR(pg_catalog.=) $2"
										 " AND p.key OPERATOR(pg_catalog.=) $3"),
							 3, argtypes);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = Int16GetDatum(attnum);
	values[2] = CStringGetTextDatum(key_text);
	rc = tg_spi_read_as_owner(plan, values, NULL, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "reading pending credits failed: %s",
			 SPI_result_code_string(rc));
	sum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
						&isnull);
	sum = SPI_datumTransfer(sum, false, -1);
	SPI_freetuptable(SPI_tuptable);
	return DatumGetNumeric(sum);
}
