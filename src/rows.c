/*-------------------------------------------------------------------------
 *
 * rows.c
 *	  The row path: a guarded table's rows found through the key's unique
 *	  index, locked with table_tuple_lock() or by their update, and updated
 *	  by TID with table_tuple_update(), the new version then going through
 *	  the executor routines a plain UPDATE uses for constraints, index
 *	  entries and AFTER ROW triggers; what "SELECT ... FOR NO KEY UPDATE"
 *	  and "UPDATE ... WHERE key = $1" do, without an executor per
 *	  statement.  tg_row_path_usable() says which tables it serves; the
 *	  others take the statements (statements.c).  docs/design.md, "The row
 *	  path versus statements", gives the rules and why.
 *
 * IDENTIFICATION
 *	  src/rows.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "contention.h"
#include "exec.h"
#include "keys.h"
#include "report.h"
#include "rows.h"
#include "table.h"

#ifdef TG_HAVE_ROW_PATH

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"


struct TgRowExec
{
	EState	   *estate;
	int			nrels;
	ResultRelInfo **rris;
	Relation   *indexes;		/* each table's key index, among rri's */
	IndexScanDesc *scans;		/* started on first use */
	ScanKeyData *skeys;
	Snapshot   *snapshots;		/* each table's, set on first use */
	bool		read_before;	/* some table of the call was read already */
	bool	   *registered;		/* snapshots[i] is ours to unregister */
	bool	   *identity_checked;	/* replica identity checked for updates */
	TupleTableSlot **newslots;	/* each table's slot for new row versions */
	CommandId  *cids;			/* each table's, set with its snapshot */
	CommandId	cid;			/* the newest of them */
	TgTable   **tables;			/* each table's cache entry */
};

/*
 * Is the version in slot locked or being changed by another transaction in
 * progress (so that updating it will wait)?  Read from the tuple header
 * without the buffer's lock: it only decides whether a wait is counted.
 * A key-share lock (a foreign key check) does not make an update wait.
 */
static bool
held_by_another(TupleTableSlot *slot)
{
	bool		should_free;
	HeapTuple	tup;
	uint16		infomask;
	TransactionId xmax;
	bool		held = false;

	if (!TTS_IS_BUFFERTUPLE(slot))
		return false;
	tup = ExecFetchSlotHeapTuple(slot, false, &should_free);
	infomask = tup->t_data->t_infomask;
	xmax = HeapTupleHeaderGetRawXmax(tup->t_data);
	if ((infomask & (HEAP_XMAX_INVALID | HEAP_XMAX_IS_MULTI)) == 0 &&
		!HEAP_XMAX_IS_KEYSHR_LOCKED(infomask) &&
		TransactionIdIsValid(xmax) &&
		!TransactionIdIsCurrentTransactionId(xmax))
		held = TransactionIdIsInProgress(xmax);
	if (should_free)
		heap_freetuple(tup);
	return held;
}

/* count a wait for a row that began at started and has just ended */
static void
count_wait(Relation rel, TgTable *table, Datum key, instr_time started)
{
	instr_time	waited;

	INSTR_TIME_SET_CURRENT(waited);
	INSTR_TIME_SUBTRACT(waited, started);
	tg_contention_record(RelationGetRelid(rel), tg_key_text(table, key), waited);
}

/* the column the cache entry describes is still the table's column */
static void
check_attribute(Relation rel, AttrNumber attnum, Oid typid)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Form_pg_attribute att;

	if (attnum <= 0 || attnum > desc->natts)
		att = NULL;
	else
		att = TupleDescAttr(desc, attnum - 1);
	if (att == NULL || att->attisdropped || att->atttypid != typid)
		tg_raise_table_changed(RelationGetRelid(rel));
}

/*
 * Can this call take the row path for this table?  mask: the guarded
 * columns the call changes.
 */
bool
tg_row_path_usable(Relation rel, TgTable *table, uint64 mask)
{
	TriggerDesc *trig = rel->trigdesc;
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	int			c;

	if (!tg_row_path_enabled || ExecutorCheckPerms_hook != NULL ||
		rel->rd_rel->relkind != RELKIND_RELATION)
		return false;
	if (constr && constr->has_generated_stored)
		return false;
	if (rel->rd_rel->relrowsecurity &&
		check_enable_rls(RelationGetRelid(rel), InvalidOid, false) == RLS_ENABLED)
		return false;
	if (trig && (trig->trig_update_before_row ||
				 trig->trig_update_before_statement ||
				 trig->trig_update_after_statement ||
				 trig->trig_update_instead_row ||
				 trig->trig_update_old_table ||
				 trig->trig_update_new_table))
		return false;

	check_attribute(rel, table->key_attnum, table->key_typid);
	for (c = 0; c < table->ncolumns; c++)
	{
		TgColumn   *col = &table->columns[c];

		if ((mask & (UINT64CONST(1) << c)) == 0)
			continue;
		check_attribute(rel, col->attnum, col->typid);
		if (col->version_attnum != InvalidAttrNumber)
			check_attribute(rel, col->version_attnum, col->version_typid);
	}
	return true;
}

/*
 * Start the row path for a call on rels (every one usable, each held open
 * and locked by the caller), whose updates may set the columns in
 * updated[i] (attribute numbers offset by FirstLowInvalidHeapAttributeNumber).
 * The rows are read with snapshots that see everything the transaction did
 * so far, as the statements would (see table_snapshot).
 */
TgRowExec *
tg_row_exec_begin(Relation *rels, TgTable **tables, Bitmapset **updated,
				  int nrels)
{
	TgRowExec  *ex = palloc0(sizeof(TgRowExec));
	MemoryContext old;
	int			i;

	CommandCounterIncrement();
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	ex->cid = GetCurrentCommandId(true);

	ex->rris = palloc0(sizeof(ResultRelInfo *) * nrels);
	ex->estate = tg_exec_state_open(rels, updated, nrels, ex->cid, ex->rris);
	ex->estate->es_snapshot = GetActiveSnapshot();

	old = MemoryContextSwitchTo(ex->estate->es_query_cxt);
	ex->nrels = nrels;
	ex->tables = tables;		/* the caller's, for the call */
	ex->indexes = palloc0(sizeof(Relation) * nrels);
	ex->scans = palloc0(sizeof(IndexScanDesc) * nrels);
	ex->skeys = palloc0(sizeof(ScanKeyData) * nrels);
	ex->snapshots = palloc0(sizeof(Snapshot) * nrels);
	ex->registered = palloc0(sizeof(bool) * nrels);
	ex->identity_checked = palloc0(sizeof(bool) * nrels);
	ex->newslots = palloc0(sizeof(TupleTableSlot *) * nrels);
	ex->cids = palloc0(sizeof(CommandId) * nrels);
	for (i = 0; i < nrels; i++)
	{
		ResultRelInfo *rri = ex->rris[i];
		int			j;

		for (j = 0; j < rri->ri_NumIndices; j++)
			if (RelationGetRelid(rri->ri_IndexRelationDescs[j]) == tables[i]->key_index)
				ex->indexes[i] = rri->ri_IndexRelationDescs[j];
		if (ex->indexes[i] == NULL)
			tg_raise_table_changed(RelationGetRelid(rels[i]));
		ScanKeyEntryInitialize(&ex->skeys[i], 0, 1, BTEqualStrategyNumber,
							   InvalidOid, tables[i]->key_index_collation,
							   tables[i]->key_eq_proc, (Datum) 0);
	}
	MemoryContextSwitchTo(old);

	AfterTriggerBeginQuery();
	return ex;
}

/*
 * The engine has read one table's rows (on either path): a table read after
 * it gets a snapshot of its own.
 */
void
tg_row_exec_next_table(TgRowExec *ex)
{
	ex->read_before = true;
}

/*
 * The snapshot a table's rows are read with, and the command id they are
 * locked and updated with (ex->cids[relno]), both taken at the table's
 * first use.  The first table the call reads uses the call's; in READ
 * COMMITTED each later one gets a new snapshot, since the call may have
 * waited for a row of an earlier table meanwhile, and a lock statement for
 * this table would see what committed in between.
 *
 * A table read after statements of this call ran (a table earlier in the
 * global order that takes the statements, and the code they ran: a policy
 * function may have updated this table's rows) gets a new command id and a
 * snapshot that sees their changes, as the next statement would.  With the
 * old ones it would read a row version older than those changes, or lock a
 * version newer than its command id can see (TM_Invisible).  A row changed
 * after the table's command id, by statements or code run later, reports
 * itself (TM_SelfModified) and is updated with a statement.
 */
static Snapshot
table_snapshot(TgRowExec *ex, int relno)
{
	bool		after_statements = false;

	if (ex->snapshots[relno])
		return ex->snapshots[relno];
	if (GetCurrentCommandId(false) != ex->cid)
	{
		CommandCounterIncrement();
		ex->cid = GetCurrentCommandId(true);
		after_statements = true;
	}
	ex->cids[relno] = ex->cid;
	if (!after_statements &&
		(!ex->read_before || IsolationUsesXactSnapshot()))
		ex->snapshots[relno] = GetActiveSnapshot();
	else
	{
		PushCopiedSnapshot(GetTransactionSnapshot());
		UpdateActiveSnapshotCommandId();
		ex->snapshots[relno] = RegisterSnapshot(GetActiveSnapshot());
		ex->registered[relno] = true;
		PopActiveSnapshot();
	}
	return ex->snapshots[relno];
}

/*
 * Keep a copy of the slot's row instead of a pin on its buffer: a call
 * holding many rows must not pin a buffer for each.
 */
static TupleTableSlot *
unpin(TupleTableSlot *slot)
{
	ExecMaterializeSlot(slot);
	return slot;
}

/* the row's version visible to the table's snapshot, or NULL */
static TupleTableSlot *
fetch_row(TgRowExec *ex, int relno, Datum key)
{
	Relation	rel = ex->rris[relno]->ri_RelationDesc;
	TupleTableSlot *slot;
	MemoryContext old;

	old = MemoryContextSwitchTo(ex->estate->es_query_cxt);
	if (ex->scans[relno] == NULL)
		ex->scans[relno] = tg_index_beginscan(rel, ex->indexes[relno],
										   table_snapshot(ex, relno), 1, 0);
	slot = table_slot_create(rel, &ex->estate->es_tupleTable);
	MemoryContextSwitchTo(old);

	ex->skeys[relno].sk_argument = key;
	index_rescan(ex->scans[relno], &ex->skeys[relno], 1, NULL, 0);
	if (!index_getnext_slot(ex->scans[relno], ForwardScanDirection, slot))
		return NULL;
	return unpin(slot);
}

/*
 * table_tuple_lock() of the version in slot, FOR NO KEY UPDATE, following
 * its updates to the newest (READ COMMITTED).  A lock that waits is first
 * tried without waiting when waits are counted, and counted (contention.c)
 * only if that would have blocked.
 */
static TM_Result
lock_tuple(TgRowExec *ex, int relno, TgTable *table, Datum key,
		   TupleTableSlot *slot, LockWaitPolicy wait, TM_FailureData *tmfd)
{
	Relation	rel = ex->rris[relno]->ri_RelationDesc;
	Snapshot	snapshot = table_snapshot(ex, relno);
	ItemPointerData tid = slot->tts_tid;
	uint8		flags = IsolationUsesXactSnapshot() ? 0 :
		TUPLE_LOCK_FLAG_FIND_LAST_VERSION;
	TM_Result	result;
	instr_time	started;
	bool		traversed;

	if (wait != LockWaitBlock || !tg_contention_enabled())
		return table_tuple_lock(rel, &tid, snapshot, slot, ex->cids[relno],
								LockTupleNoKeyExclusive, wait, flags, tmfd);
	result = table_tuple_lock(rel, &tid, snapshot, slot, ex->cids[relno],
							  LockTupleNoKeyExclusive, LockWaitSkip, flags, tmfd);
	if (result != TM_WouldBlock)
		return result;

	/*
	 * The try may have followed the row's updates to a newer version: the
	 * lock that waits starts from the one it reached, and the caller must
	 * still learn that the version it read was left behind.
	 */
	traversed = tmfd->traversed;
	tid = slot->tts_tid;
	INSTR_TIME_SET_CURRENT(started);
	result = table_tuple_lock(rel, &tid, snapshot, slot, ex->cids[relno],
							  LockTupleNoKeyExclusive, LockWaitBlock, flags, tmfd);
	tmfd->traversed = tmfd->traversed || traversed;
	count_wait(rel, table, key, started);
	return result;
}

/*
 * Lock FOR NO KEY UPDATE the row version in slot, or in READ COMMITTED its
 * newest version, which replaces it in slot.  Returns slot, or NULL when
 * there is none to lock: deleted meanwhile, its key changed meanwhile, or
 * (SKIP LOCKED) locked by another transaction.  NOWAIT raises 55P03 on a
 * locked row.
 */
static TupleTableSlot *
lock_version(TgRowExec *ex, int relno, TgTable *table, Datum key,
			 TupleTableSlot *slot, int mode, bool *moved)
{
	TM_FailureData tmfd;
	TM_Result	result;
	LockWaitPolicy wait;
	Datum		stored;
	bool		isnull;

	wait = mode == TG_LOCK_NOWAIT ? LockWaitError :
		mode == TG_LOCK_SKIP ? LockWaitSkip : LockWaitBlock;
	result = lock_tuple(ex, relno, table, key, slot, wait, &tmfd);
	*moved = false;
	switch (result)
	{
		case TM_Ok:
			unpin(slot);
			if (!tmfd.traversed)
				return slot;
			/* a newer version: is it still the row with this key? */
			stored = slot_getattr(slot, table->key_attnum, &isnull);
			if (isnull || tg_key_compare(table, stored, key) != 0)
				return NULL;
			return slot;

		case TM_WouldBlock:
			/* SKIP LOCKED */
			ExecClearTuple(slot);
			return NULL;

		case TM_SelfModified:

			/*
			 * Changed by a later command of this transaction than the
			 * snapshot's: code run by this call.  A lock statement run now
			 * would see the change; the caller decides.
			 */
			ExecClearTuple(slot);
			*moved = true;
			return NULL;

		case TM_Updated:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
			elog(ERROR, "unexpected table_tuple_lock status: %u", result);
			break;

		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
			ExecClearTuple(slot);
			return NULL;

		case TM_Invisible:

			/*
			 * Cannot happen: the version was found with the table's
			 * snapshot, whose command id is the one it is locked with (see
			 * table_snapshot); a newer version of this transaction's, met
			 * while following the row's updates, is TM_SelfModified.  The
			 * executor's lock statement raises the same internal error.
			 */
			elog(ERROR, "attempted to lock invisible tuple");
			break;

		default:
			elog(ERROR, "unexpected table_tuple_lock status: %u", result);
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * Find the row with this key and lock it FOR NO KEY UPDATE (mode: TG_LOCK_*).
 * Returns the slot holding its newest version, or NULL when there is none
 * to lock (see lock_version).
 */
TupleTableSlot *
tg_row_lock(TgRowExec *ex, int relno, TgTable *table, Datum key, int mode)
{
	TupleTableSlot *slot = fetch_row(ex, relno, key);
	bool		moved;

	if (slot == NULL)
		return NULL;
	/* the lock statement would skip a row changed by the call's own code */
	return lock_version(ex, relno, table, key, slot, mode, &moved);
}

/*
 * Find the row with this key without locking it: the version the table's
 * snapshot sees, or NULL.  tg_row_update() then locks it by updating it,
 * or reports that another transaction changed it first.
 */
TupleTableSlot *
tg_row_read(TgRowExec *ex, int relno, Datum key)
{
	return fetch_row(ex, relno, key);
}

/*
 * Lock the newest version of a row read before (waiting for it), which
 * replaces the old one in slot.  NULL when the row was deleted or its key
 * changed, or, with *moved set, when code this call ran changed it since
 * the read (the caller reads it again with a statement).  On a row this
 * transaction already holds, it only confirms it.
 */
TupleTableSlot *
tg_row_relock(TgRowExec *ex, int relno, TgTable *table, Datum key,
			  TupleTableSlot *slot, bool *moved)
{
	return lock_version(ex, relno, table, key, slot, TG_LOCK_WAIT, moved);
}

/*
 * The new version of a locked row, in the table's slot for it: the locked
 * version with the nset columns replaced and dropped columns emptied (a
 * dropped column's old value is not carried forward).  *setcols receives
 * the columns set, for "UPDATE OF" triggers.
 */
static TupleTableSlot *
new_version(TgRowExec *ex, int relno, TupleTableSlot *locked, int nset,
			const AttrNumber *attnums, const Datum *values,
			const bool *nulls, Bitmapset **setcols)
{
	Relation	rel = ex->rris[relno]->ri_RelationDesc;
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *slot;
	int			i;

	if (ex->newslots[relno] == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(ex->estate->es_query_cxt);

		ex->newslots[relno] = table_slot_create(rel, &ex->estate->es_tupleTable);
		MemoryContextSwitchTo(old);
	}
	slot = ex->newslots[relno];

	slot_getallattrs(locked);
	ExecClearTuple(slot);
	for (i = 0; i < desc->natts; i++)
	{
		bool		dropped = TupleDescAttr(desc, i)->attisdropped;

		slot->tts_values[i] = dropped ? (Datum) 0 : locked->tts_values[i];
		slot->tts_isnull[i] = dropped ? true : locked->tts_isnull[i];
	}
	*setcols = NULL;
	for (i = 0; i < nset; i++)
	{
		slot->tts_values[attnums[i] - 1] = values[i];
		slot->tts_isnull[attnums[i] - 1] = nulls[i];
		*setcols = bms_add_member(*setcols,
								  attnums[i] - FirstLowInvalidHeapAttributeNumber);
	}
	ExecStoreVirtualTuple(slot);
	slot->tts_tableOid = RelationGetRelid(rel);
	return slot;
}

/*
 * Write the new version in place of the locked one by its TID.  False when
 * that version is no longer the row's newest: *concurrent says whether
 * another transaction changed it (else code this call ran did).
 */
static bool
write_version(TgRowExec *ex, int relno, TupleTableSlot *locked,
			  TupleTableSlot *slot, bool held,
			  tg_update_indexes_t *update_indexes, bool *concurrent)
{
	Relation	rel = ex->rris[relno]->ri_RelationDesc;
	TM_FailureData tmfd;
	TM_Result	result;
	LockTupleMode lockmode;
	instr_time	started;

	/*
	 * An update that will wait for another transaction holding the row is
	 * timed and counted (contention.c).  Not when this transaction holds
	 * the row's lock already.
	 */
	INSTR_TIME_SET_ZERO(started);
	if (!held && tg_contention_enabled() && held_by_another(locked))
		INSTR_TIME_SET_CURRENT(started);
	result = table_tuple_update(rel, &locked->tts_tid, slot, ex->cids[relno],
								table_snapshot(ex, relno), InvalidSnapshot,
								true, &tmfd, &lockmode, update_indexes);
	if (!INSTR_TIME_IS_ZERO(started))
	{
		bool		isnull;

		count_wait(rel, ex->tables[relno],
				   slot_getattr(locked, ex->tables[relno]->key_attnum, &isnull),
				   started);
	}
	*concurrent = false;
	switch (result)
	{
		case TM_Ok:
			return true;
		case TM_SelfModified:
			if (tmfd.cmax != ex->cids[relno])
				return false;
			/* this call updates each row once */
			elog(ERROR, "row of table \"%s\" updated twice by one transfer",
				 RelationGetRelationName(rel));
			break;
		case TM_Updated:
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent %s",
								result == TM_Updated ? "update" : "delete")));
			*concurrent = true;
			return false;
		default:

			/*
			 * Cannot happen: waiting, the update does not report a busy
			 * row, and it raises an error of its own for a version its
			 * command id cannot see (TM_Invisible), which the version read
			 * or locked with the same command id never is.
			 */
			elog(ERROR, "unexpected table_tuple_update status: %u", result);
	}
	return false;				/* keep compiler quiet */
}

/*
 * Update a row read by tg_row_lock() or tg_row_read(): that version with
 * attnums[i] set to values[i] (NULL if nulls[i]; of a domain type
 * domains[i], or InvalidOid).  held: this transaction holds its lock.
 * Returns the slot holding the row as stored, or NULL when the version is
 * no longer the row's newest:
 *	 - *concurrent false: this transaction changed the row since (code the
 *	   call ran, such as a constraint's function calling transfer() again);
 *	   the caller updates it with a statement, which adds to the newest
 *	   value;
 *	 - *concurrent true (READ COMMITTED, a row read without a lock): another
 *	   transaction changed or deleted it and committed; the caller locks the
 *	   newest version with tg_row_relock(), checks again and retries.
 * In REPEATABLE READ and SERIALIZABLE, another transaction's change is a
 * serialization failure, as for an UPDATE.  The update waits for a
 * transaction that holds the row.
 */
TupleTableSlot *
tg_row_update(TgRowExec *ex, int relno, TupleTableSlot *locked, bool held,
			  int nset, const AttrNumber *attnums, const Datum *values,
			  const bool *nulls, const Oid *domains, bool *concurrent)
{
	ResultRelInfo *rri = ex->rris[relno];
	Relation	rel = rri->ri_RelationDesc;
	EState	   *estate = ex->estate;
	TupleTableSlot *slot;
	tg_update_indexes_t update_indexes;
	Bitmapset  *setcols;
	List	   *recheck = NIL;
	int			i;

	if (!ex->identity_checked[relno])
	{
		CheckCmdReplicaIdentity(rel, CMD_UPDATE);
		ex->identity_checked[relno] = true;
	}
	slot = new_version(ex, relno, locked, nset, attnums, values, nulls,
					   &setcols);
	if (!write_version(ex, relno, locked, slot, held, &update_indexes, concurrent))
		return NULL;

	/* the constraints, on the version written (see the header comment) */
	for (i = 0; i < nset; i++)
		if (OidIsValid(domains[i]))
			domain_check(values[i], nulls[i], domains[i], NULL,
						 GetPerTupleMemoryContext(estate));
	if (rel->rd_att->constr)
		ExecConstraints(rri, slot, estate);
	if (rel->rd_rel->relispartition)
		ExecPartitionCheck(rri, slot, estate, true);

	if (rri->ri_NumIndices > 0 && tg_must_update_indexes(update_indexes))
		recheck = tg_insert_index_tuples(rri, slot, estate, update_indexes);

	/* "AFTER UPDATE OF col" triggers see the columns this row's update set */
	tg_exec_set_updated_cols(estate, rri->ri_RangeTableIndex, setcols);
	tg_after_row_update(estate, rri, &locked->tts_tid, slot, recheck);
	list_free(recheck);
	ResetPerTupleExprContext(estate);
	return slot;
}

/*
 * End the row path: fire the AFTER ROW triggers the updates queued, and
 * release what it held.  On an error, aborting the (sub)transaction does
 * the same.
 */
void
tg_row_exec_end(TgRowExec *ex)
{
	int			i;

	for (i = 0; i < ex->nrels; i++)
		if (ex->scans[i])
			index_endscan(ex->scans[i]);
	AfterTriggerEndQuery(ex->estate);
	for (i = 0; i < ex->nrels; i++)
		if (ex->registered[i])
			UnregisterSnapshot(ex->snapshots[i]);
	/* the arrays above live in the executor state's memory */
	tg_exec_state_close(ex->estate);
	PopActiveSnapshot();
	pfree(ex);
}

#else							/* !TG_HAVE_ROW_PATH */

bool
tg_row_path_usable(Relation rel, TgTable *table, uint64 mask)
{
	return false;
}

TgRowExec *
tg_row_exec_begin(Relation *rels, TgTable **tables, Bitmapset **updated,
				  int nrels)
{
	elog(ERROR, "the row path is not available");
	return NULL;
}

TupleTableSlot *
tg_row_lock(TgRowExec *ex, int relno, TgTable *table, Datum key, int mode)
{
	elog(ERROR, "the row path is not available");
	return NULL;
}

TupleTableSlot *
tg_row_read(TgRowExec *ex, int relno, Datum key)
{
	elog(ERROR, "the row path is not available");
	return NULL;
}

TupleTableSlot *
tg_row_relock(TgRowExec *ex, int relno, TgTable *table, Datum key,
			  TupleTableSlot *slot, bool *moved)
{
	elog(ERROR, "the row path is not available");
	return NULL;
}

TupleTableSlot *
tg_row_update(TgRowExec *ex, int relno, TupleTableSlot *locked, bool held,
			  int nset, const AttrNumber *attnums, const Datum *values,
			  const bool *nulls, const Oid *domains, bool *concurrent)
{
	elog(ERROR, "the row path is not available");
	return NULL;
}

void
tg_row_exec_next_table(TgRowExec *ex)
{
}

void
tg_row_exec_end(TgRowExec *ex)
{
}

#endif							/* TG_HAVE_ROW_PATH */
