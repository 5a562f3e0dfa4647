/*-------------------------------------------------------------------------
 *
 * slots.c
 *	  Escrow slots: a hot row's funds set aside for its debits, in
 *	  transfer_guard_slots.  A debit takes one slot that covers it, skipping
 *	  locked ones, instead of the row's lock; when none does, the call locks
 *	  every slot (in slot order) and the row, and combines them.  Slots are
 *	  locked before any row of the call: docs/design.md, "Escrow slots",
 *	  says why that order cannot deadlock.
 *
 *	  The slots are read and written as the extension's owner, on the
 *	  caller's behalf, as the journal is.  A slot's amount never goes below
 *	  zero (a CHECK constraint says so too).
 *
 * IDENTIFICATION
 *	  src/slots.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/resowner.h"

#include "amount.h"
#include "colref.h"
#include "extension.h"
#include "registry.h"
#include "slots.h"

/* the condition naming one row's slots: $1 table, $2 attnum, $3 key */
#define SLOTS_OF_ROW \
	" x.tbl OPERATOR(pg_catalog.=) $1" \
	" AND %s.transfer_guard_column_attnum(x.balance_column) OPERATOR(pg_catalog.=) $2" \
	" AND x.key OPERATOR(pg_catalog.=) $3"

static TgExtensionStatement take_stmt;
static TgExtensionStatement take_debit_stmt;
static TgExtensionStatement find_stmt;
static TgExtensionStatement wait_stmt[2];
static TgExtensionStatement lock_stmt[TG_STATEMENT_LOCK_MODES];
static TgExtensionStatement debit_stmt;
static TgExtensionStatement fill_stmt;
static TgExtensionStatement fill_all_stmt;
static TgExtensionStatement count_stmt;
static TgExtensionStatement clear_stmt;
static TgExtensionStatement make_stmt;
static TgExtensionStatement sum_stmt;

/* a counter spreading the calls of this backend over the slots */
static uint32 next_start = 0;

static void
row_args(Datum *values, Oid relid, AttrNumber attnum, const char *key_text)
{
	values[0] = ObjectIdGetDatum(relid);
	values[1] = Int16GetDatum(attnum);
	values[2] = CStringGetTextDatum(key_text);
}

static void
check_rc(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "%s failed: %s", what, SPI_result_code_string(rc));
}

/*
 * Lock one slot of the row that holds at least amount, trying them in an
 * order that differs from call to call (slot numbers XOR a value drawn per
 * call) so that concurrent debits spread over the slots.  A locked slot
 * is passed over (SKIP LOCKED): a wait would keep the locks of the slots
 * passed on the way (tg_slot_wait() waits instead).  With debit, the same
 * statement takes amount out of the slot it locked
 * (a call that raises its refusals: an error later undoes it).  Returns
 * the slot's number, or -1 if none covers the amount.
 */
int
tg_slot_take(Oid relid, AttrNumber attnum, const char *key_text,
			 Numeric amount, bool debit)
{
	Oid			argtypes[5] = {REGCLASSOID, INT2OID, TEXTOID, NUMERICOID, INT4OID};
	Datum		values[5];
	SPIPlanPtr	plan;
	const char *take;
	bool		isnull;
	volatile int slot = -1;
	int			rc;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	take = tg_extension_sql("SELECT x.slot FROM %%s AS x WHERE" SLOTS_OF_ROW
							" AND x.amount OPERATOR(pg_catalog.>=) $4"
							" ORDER BY x.slot OPERATOR(pg_catalog.#) $5"
							" LIMIT 1 FOR UPDATE SKIP LOCKED");
	if (debit)
		take = psprintf("WITH s AS (%s) %s", take,
						tg_extension_sql("UPDATE %s.transfer_guard_slots AS x"
										 " SET amount = x.amount OPERATOR(pg_catalog.-) $4"
										 " FROM s WHERE" SLOTS_OF_ROW
										 " AND x.slot OPERATOR(pg_catalog.=) s.slot"
										 " RETURNING x.slot"));
	plan = tg_extension_plan(debit ? &take_debit_stmt : &take_stmt,
							 TG_SLOTS_NAME, take, 5, argtypes);
	row_args(values, relid, attnum, key_text);
	values[3] = NumericGetDatum(amount);
	values[4] = Int32GetDatum((int32) (((uint32) MyProcPid * 2654435761u + next_start++) & 0xFFFF));

	/*
	 * In a subtransaction: a slot that changed since the statement's
	 * snapshot is locked before it is found not to cover the amount any
	 * more, and keeps that lock.  Taking none, the call must hold none of
	 * the row's slots (it may wait for one next), so the subtransaction
	 * goes, and those locks with it.
	 */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		rc = tg_spi_as_owner(plan, values, NULL, 1);
		check_rc(rc, debit ? SPI_OK_UPDATE_RETURNING : SPI_OK_SELECT, "taking a slot");
		if (SPI_processed == 1)
			slot = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
		SPI_freetuptable(SPI_tuptable);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	if (edata == NULL && slot >= 0)
		ReleaseCurrentSubTransaction();
	else
		RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	if (edata != NULL)
		ReThrowError(edata);
	return slot;
}

/*
 * Wait until a slot of the row that covers amount (as the statement's
 * snapshot shows the slots) is free, without keeping it: its lock is taken
 * in a subtransaction that is rolled back, so the call holds no slot of
 * the row while it waits (docs/design.md, "Escrow slots", says why that
 * matters).  With TG_LOCK_NOWAIT a held slot is an error (55P03).  Returns
 * false when no slot covers the amount.
 */
bool
tg_slot_wait(Oid relid, AttrNumber attnum, const char *key_text,
			 Numeric amount, TgLockMode mode)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Oid			argtypes[5] = {REGCLASSOID, INT2OID, TEXTOID, NUMERICOID, INT4OID};
	Oid			wait_types[4] = {REGCLASSOID, INT2OID, TEXTOID, INT4OID};
	Datum		values[5];
	SPIPlanPtr	find;
	SPIPlanPtr	wait;
	ErrorData  *volatile edata = NULL;
	bool		isnull;

	find = tg_extension_plan(&find_stmt, TG_SLOTS_NAME,
							 tg_extension_sql("SELECT x.slot FROM %%s AS x WHERE" SLOTS_OF_ROW
											  " AND x.amount OPERATOR(pg_catalog.>=) $4"
											  " ORDER BY x.slot OPERATOR(pg_catalog.#) $5 LIMIT 1"),
							 5, argtypes);
	wait = tg_extension_plan(&wait_stmt[mode == TG_LOCK_NOWAIT], TG_SLOTS_NAME,
							 psprintf("%s%s",
									  tg_extension_sql("SELECT x.slot FROM %%s AS x WHERE" SLOTS_OF_ROW
													   " AND x.slot OPERATOR(pg_catalog.=) $4 FOR UPDATE"),
									  mode == TG_LOCK_NOWAIT ? " NOWAIT" : ""),
							 4, wait_types);
	row_args(values, relid, attnum, key_text);
	values[3] = NumericGetDatum(amount);
	values[4] = Int32GetDatum((int32) (((uint32) MyProcPid * 2654435761u + next_start++) & 0xFFFF));
	check_rc(tg_spi_as_owner(find, values, NULL, 1), SPI_OK_SELECT, "finding a slot");
	if (SPI_processed == 0)
	{
		SPI_freetuptable(SPI_tuptable);
		return false;
	}
	values[3] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	SPI_freetuptable(SPI_tuptable);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		check_rc(tg_spi_as_owner(wait, values, NULL, 0), SPI_OK_SELECT, "waiting for a slot");
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	/* the slot's lock goes with the subtransaction */
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	if (edata != NULL)
		ReThrowError(edata);
	return true;
}

/*
 * Lock every slot of the row in slot order, waiting or not as mode says,
 * and return the sum of the ones locked (in the context current when SPI
 * was connected), their number in *nlocked.  With TG_LOCK_SKIP, a slot
 * that is locked is left out: compare *nlocked with the row's slots.
 */
Numeric
tg_slots_lock(Oid relid, AttrNumber attnum, const char *key_text,
			  TgLockMode mode, int *nlocked)
{
	static const char *const suffix[TG_STATEMENT_LOCK_MODES] = {"", " NOWAIT", " SKIP LOCKED"};
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, TEXTOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	Numeric		sum = tg_int64_to_numeric(0);
	uint64		i;

	Assert(mode < TG_STATEMENT_LOCK_MODES);
	*nlocked = 0;
	if (!OidIsValid(tg_extension_relation(TG_SLOTS_NAME, true)))
		return sum;				/* before 1.4: no slots */
	plan = tg_extension_plan(&lock_stmt[mode], TG_SLOTS_NAME,
							 psprintf("%s%s",
									  tg_extension_sql("SELECT x.amount FROM %%s AS x WHERE" SLOTS_OF_ROW
													   " ORDER BY x.slot FOR UPDATE"),
									  suffix[mode]),
							 3, argtypes);
	row_args(values, relid, attnum, key_text);
	check_rc(tg_spi_as_owner(plan, values, NULL, 0), SPI_OK_SELECT, "locking slots");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		v = SPI_getbinval(SPI_tuptable->vals[i],
									  SPI_tuptable->tupdesc, 1, &isnull);

		sum = tg_numeric_add(sum, DatumGetNumeric(v));
	}
	*nlocked = (int) SPI_processed;
	SPI_freetuptable(SPI_tuptable);
	return DatumGetNumeric(SPI_datumTransfer(NumericGetDatum(sum), false, -1));
}

/* take amount out of a slot this transaction has locked */
void
tg_slot_debit(Oid relid, AttrNumber attnum, const char *key_text, int slot,
			  Numeric amount)
{
	Oid			argtypes[5] = {REGCLASSOID, INT2OID, TEXTOID, INT4OID, NUMERICOID};
	Datum		values[5];
	SPIPlanPtr	plan;

	plan = tg_extension_plan(&debit_stmt, TG_SLOTS_NAME,
							 tg_extension_sql("UPDATE %%s AS x"
											  " SET amount = x.amount OPERATOR(pg_catalog.-) $5"
											  " WHERE" SLOTS_OF_ROW
											  " AND x.slot OPERATOR(pg_catalog.=) $4"),
							 5, argtypes);
	row_args(values, relid, attnum, key_text);
	values[3] = Int32GetDatum(slot);
	values[4] = NumericGetDatum(amount);
	check_rc(tg_spi_as_owner(plan, values, NULL, 0), SPI_OK_UPDATE, "debiting a slot");
	if (SPI_processed != 1)
		elog(ERROR, "slot %d of a hot row of table %u is missing", slot, relid);
}

/*
 * Fill every slot of the row with share: the slots this transaction has
 * locked (all of the row's, as a lock statement in a new snapshot found
 * them; only set_hot() adds slots, and it locks the existing ones first).
 */
void
tg_slots_fill(Oid relid, AttrNumber attnum, const char *key_text, Numeric share)
{
	Oid			argtypes[4] = {REGCLASSOID, INT2OID, TEXTOID, NUMERICOID};
	Datum		values[4];
	SPIPlanPtr	plan;

	row_args(values, relid, attnum, key_text);
	values[3] = NumericGetDatum(share);
	plan = tg_extension_plan(&fill_all_stmt, TG_SLOTS_NAME,
							 tg_extension_sql("UPDATE %%s AS x SET amount = $4 WHERE" SLOTS_OF_ROW),
							 4, argtypes);
	check_rc(tg_spi_as_owner(plan, values, NULL, 0), SPI_OK_UPDATE, "filling slots");
}

/* how many slots the row has, in a new snapshot (READ COMMITTED) */
int
tg_slots_count(Oid relid, AttrNumber attnum, const char *key_text)
{
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, TEXTOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	bool		isnull;
	int			n;

	if (!OidIsValid(tg_extension_relation(TG_SLOTS_NAME, true)))
		return 0;
	row_args(values, relid, attnum, key_text);
	plan = tg_extension_plan(&count_stmt, TG_SLOTS_NAME,
							 tg_extension_sql("SELECT pg_catalog.count(*)::pg_catalog.int4 FROM %%s AS x WHERE" SLOTS_OF_ROW),
							 3, argtypes);
	check_rc(tg_spi_as_owner(plan, values, NULL, 0), SPI_OK_SELECT, "counting slots");
	n = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return n;
}

/*
 * Make the row's slots (locked by this transaction) n slots of share each:
 * the existing ones are updated in place, so that a transaction waiting to
 * lock them finds their new amounts; slots beyond n are deleted and missing
 * ones inserted.  n = 0 removes them all.
 */
void
tg_slots_make(Oid relid, AttrNumber attnum, const char *key_text, int n,
			  Numeric share)
{
	RegistryShape shape = tg_registry_shape();
	Oid			argtypes[5] = {REGCLASSOID, INT2OID, TEXTOID, INT4OID, NUMERICOID};
	Oid			make_types[5] = {REGCLASSOID, shape.column_type, TEXTOID, INT4OID, NUMERICOID};
	Datum		values[5];
	SPIPlanPtr	plan;

	if (n == 0 && !OidIsValid(tg_extension_relation(TG_SLOTS_NAME, true)))
		return;					/* before 1.4: no slots */
	row_args(values, relid, attnum, key_text);
	values[3] = Int32GetDatum(n);
	values[4] = NumericGetDatum(share);
	plan = tg_extension_plan(&fill_stmt, TG_SLOTS_NAME,
							 tg_extension_sql("UPDATE %%s AS x SET amount = $5 WHERE" SLOTS_OF_ROW
											  " AND x.slot OPERATOR(pg_catalog.<) $4"),
							 5, argtypes);
	check_rc(tg_spi_as_owner(plan, values, NULL, 0), SPI_OK_UPDATE, "filling slots");
	plan = tg_extension_plan(&clear_stmt, TG_SLOTS_NAME,
							 tg_extension_sql("DELETE FROM %%s AS x WHERE" SLOTS_OF_ROW
											  " AND x.slot OPERATOR(pg_catalog.>=) $4"),
							 5, argtypes);
	check_rc(tg_spi_as_owner(plan, values, NULL, 0), SPI_OK_DELETE, "removing slots");
	plan = tg_extension_plan(&make_stmt, TG_SLOTS_NAME,
							 tg_extension_sql("INSERT INTO %%s (tbl, balance_column, key, slot, amount)"
											  " SELECT $1, $2, $3, g, $5"
											  " FROM pg_catalog.generate_series(0, $4 OPERATOR(pg_catalog.-) 1) AS g"
											  " WHERE NOT EXISTS (SELECT FROM %s.transfer_guard_slots AS x WHERE"
											  " x.tbl OPERATOR(pg_catalog.=) $1"
											  " AND %s.transfer_guard_column_attnum(x.balance_column)"
											  " OPERATOR(pg_catalog.=) %s.transfer_guard_column_attnum($2)"
											  " AND x.key OPERATOR(pg_catalog.=) $3"
											  " AND x.slot OPERATOR(pg_catalog.=) g)"),
							 5, make_types);
	values[1] = PointerGetDatum(tg_colref_make(relid, attnum));
	check_rc(tg_spi_as_owner(plan, values, NULL, 0), SPI_OK_INSERT, "making slots");
}

/*
 * What the row's slots hold, in the snapshot of the caller's statement
 * (read-only, as tg_pending_sum() reads); zero if it has none.  In the
 * context current when SPI was connected.
 */
Numeric
tg_slots_sum(Oid relid, AttrNumber attnum, const char *key_text)
{
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, TEXTOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	bool		isnull;
	Datum		sum;

	if (!OidIsValid(tg_extension_relation(TG_SLOTS_NAME, true)))
		return tg_int64_to_numeric(0);
	plan = tg_extension_plan(&sum_stmt, TG_SLOTS_NAME,
							 tg_extension_sql("SELECT COALESCE(pg_catalog.sum(x.amount), 0)"
											  " FROM %%s AS x WHERE" SLOTS_OF_ROW),
							 3, argtypes);
	row_args(values, relid, attnum, key_text);
	check_rc(tg_spi_read_as_owner(plan, values, NULL, 0), SPI_OK_SELECT, "reading slots");
	sum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	sum = SPI_datumTransfer(sum, false, -1);
	SPI_freetuptable(SPI_tuptable);
	return DatumGetNumeric(sum);
}
