/*-------------------------------------------------------------------------
 *
 * contention.c
 *	  The rows transfers waited for: per row (database, table, key), how
 *	  many waits and how long, in a fixed-size hash table in shared memory,
 *	  there when the library is in shared_preload_libraries.  The row path
 *	  (rows.c) tries each lock without waiting first; only a lock that
 *	  would have waited is timed and counted, so an uncontended call costs
 *	  nothing here.  transfer_guard_contention() reads the table (the view
 *	  transfer_guard_contention), transfer_guard_contention_reset()
 *	  empties it.
 *
 * IDENTIFICATION
 *	  src/contention.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "contention.h"

/* rows the table holds; waits for rows beyond that are not counted */
#define TG_CONTENTION_ROWS	1024

/* the longest key kept, in bytes; a longer one is cut (at a character) */
#define TG_CONTENTION_KEY_LEN	64

typedef struct ContentionKey
{
	Oid			dbid;
	Oid			relid;
	char		key[TG_CONTENTION_KEY_LEN];
} ContentionKey;

typedef struct ContentionEntry
{
	ContentionKey tag;			/* hash key: must be first */
	int64		waits;
	int64		wait_us;
	TimestampTz last_wait;
} ContentionEntry;

typedef struct ContentionShared
{
	LWLock	   *lock;
	int64		dropped;		/* waits not counted: the table was full */
} ContentionShared;

static ContentionShared *shared = NULL;
static HTAB *rows = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif

static Size
contention_size(void)
{
	return add_size(MAXALIGN(sizeof(ContentionShared)),
					hash_estimate_size(TG_CONTENTION_ROWS, sizeof(ContentionEntry)));
}

static void
contention_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(contention_size());
	RequestNamedLWLockTranche("transfer_guard", 1);
}

static void
contention_startup(void)
{
	HASHCTL		ctl;
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("transfer_guard contention",
							 sizeof(ContentionShared), &found);
	if (!found)
	{
		shared->lock = &(GetNamedLWLockTranche("transfer_guard"))->lock;
		shared->dropped = 0;
	}
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ContentionKey);
	ctl.entrysize = sizeof(ContentionEntry);
	rows = ShmemInitHash("transfer_guard contention rows",
						 TG_CONTENTION_ROWS, TG_CONTENTION_ROWS, &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Ask for the shared memory, when the postmaster loads the library from
 * shared_preload_libraries; loaded later, waits are not counted.
 */
void
tg_contention_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = contention_request;
#else
	contention_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = contention_startup;
}

bool
tg_contention_enabled(void)
{
	return rows != NULL;
}

/* count one wait of this long for a row */
void
tg_contention_record(Oid relid, const char *key_text, instr_time waited)
{
	ContentionKey tag;
	ContentionEntry *entry;
	bool		found;
	int			len;

	if (rows == NULL)
		return;
	memset(&tag, 0, sizeof(tag));
	tag.dbid = MyDatabaseId;
	tag.relid = relid;
	len = pg_mbcliplen(key_text, strlen(key_text), TG_CONTENTION_KEY_LEN - 1);
	memcpy(tag.key, key_text, len);

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	entry = hash_search(rows, &tag, HASH_ENTER_NULL, &found);
	if (entry == NULL)
		shared->dropped++;
	else
	{
		if (!found)
		{
			entry->waits = 0;
			entry->wait_us = 0;
		}
		entry->waits++;
		entry->wait_us += INSTR_TIME_GET_MICROSEC(waited);
		entry->last_wait = GetCurrentTimestamp();
	}
	LWLockRelease(shared->lock);
}

PG_FUNCTION_INFO_V1(transfer_guard_contention);
PG_FUNCTION_INFO_V1(transfer_guard_contention_reset);

/*
 * transfer_guard_contention_rows() RETURNS TABLE (tbl regclass, key text,
 * waits bigint, wait_time interval, last_wait timestamptz): the rows of
 * this database that calls waited for, of the tables the caller owns (or
 * is a member of the owning role of; superusers: all).  Without the
 * shared memory, none, with a notice saying why.
 */
Datum
transfer_guard_contention(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	ContentionEntry *entry;
	TupleDesc	desc;
	Tuplestorestate *store;
	MemoryContext old;
	ContentionEntry *copies;
	int			ncopies = 0;
	int			i;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	store = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = CreateTupleDescCopy(desc);
	MemoryContextSwitchTo(old);

	if (rows == NULL)
	{
		ereport(NOTICE,
				(errmsg("waits for rows are not counted"),
				 errdetail("transfer_guard is not in shared_preload_libraries.")));
		PG_RETURN_VOID();
	}
	/* copy this database's rows, then look at them without the lock */
	copies = palloc(sizeof(ContentionEntry) * TG_CONTENTION_ROWS);
	LWLockAcquire(shared->lock, LW_SHARED);
	hash_seq_init(&status, rows);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (entry->tag.dbid == MyDatabaseId && ncopies < TG_CONTENTION_ROWS)
			copies[ncopies++] = *entry;
	LWLockRelease(shared->lock);

	for (i = 0; i < ncopies; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		entry = &copies[i];
		/* the tables the caller owns (or is a member of the owning role of) */
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->tag.relid)) ||
			!tg_rel_ownercheck(entry->tag.relid, GetUserId()))
			continue;
		values[0] = ObjectIdGetDatum(entry->tag.relid);
		values[1] = CStringGetTextDatum(entry->tag.key);
		values[2] = Int64GetDatum(entry->waits);
		values[3] = DirectFunctionCall7(make_interval, Int32GetDatum(0),
										Int32GetDatum(0), Int32GetDatum(0),
										Int32GetDatum(0), Int32GetDatum(0),
										Int32GetDatum(0),
										Float8GetDatum(entry->wait_us / 1000000.0));
		values[4] = TimestampTzGetDatum(entry->last_wait);
		tuplestore_putvalues(store, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/*
 * transfer_guard_contention_reset() RETURNS void: forget the counts of
 * this database.  The extension's owner only (EXECUTE is revoked from
 * PUBLIC).
 */
Datum
transfer_guard_contention_reset(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS status;
	ContentionEntry *entry;

	if (rows == NULL)
		PG_RETURN_VOID();
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&status, rows);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (entry->tag.dbid == MyDatabaseId)
			hash_search(rows, &entry->tag, HASH_REMOVE, NULL);
	LWLockRelease(shared->lock);
	PG_RETURN_VOID();
}
