/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The maintenance worker: one background worker per database named in
 *	  transfer_guard.settle_databases, started when the library is in
 *	  shared_preload_libraries.  Every transfer_guard.settle_interval it
 *	  settles the rows with committed pending credits (hot.c), one row per
 *	  transaction, as the owner of the row's table, skipping a row that is
 *	  locked (a debit holding it settles it itself); then it releases the
 *	  holds past their expiry (holds.c), one per transaction, as the owner
 *	  of the hold's source table, skipping a hold a capture or release in
 *	  flight has locked (that one decides it).
 *
 * IDENTIFICATION
 *	  src/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "checks.h"
#include "extension.h"
#include "holds.h"
#include "hot.h"
#include "worker.h"

/* the most databases one server's workers serve */
#define TG_WORKER_MAX_DATABASES	32

/* seconds before the postmaster starts a worker again after it failed */
#define TG_WORKER_RESTART_SECONDS	10

static int	tg_settle_interval = 1000;	/* ms */
static char *tg_settle_databases = NULL;

PGDLLEXPORT void transfer_guard_worker_main(Datum arg);

/* start one worker for a database */
static void
register_worker(const char *dbname)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = TG_WORKER_RESTART_SECONDS;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "transfer_guard");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "transfer_guard_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "transfer_guard worker for %s", dbname);
	snprintf(worker.bgw_type, BGW_MAXLEN, "transfer_guard worker");
	strlcpy(worker.bgw_extra, dbname, BGW_EXTRALEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * The settings, and, while the postmaster loads shared_preload_libraries,
 * one worker per database named.
 */
void
tg_worker_init(void)
{
	char	   *names;
	List	   *dbs;
	ListCell   *lc;

	DefineCustomIntVariable("transfer_guard.settle_interval",
							"Time between two rounds of the maintenance worker.",
							"Each round settles every row with committed pending credits and releases every hold past its expiry.",
							&tg_settle_interval,
							1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	/*
	 * A PGC_POSTMASTER setting can only be defined while the postmaster
	 * loads the library; loaded later, the library starts no worker.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomStringVariable("transfer_guard.settle_databases",
							   "Databases the maintenance worker serves, comma-separated.",
							   "Read at server start, with transfer_guard in shared_preload_libraries.",
							   &tg_settle_databases,
							   "",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	names = pstrdup(tg_settle_databases);
	if (!SplitIdentifierString(names, ',', &dbs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list syntax in transfer_guard.settle_databases")));
	if (list_length(dbs) > TG_WORKER_MAX_DATABASES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("transfer_guard.settle_databases names more than %d databases",
						TG_WORKER_MAX_DATABASES)));
	foreach(lc, dbs)
		register_worker((const char *) lfirst(lc));
}

/* is the extension installed here, at a version with pending credits? */
static bool
extension_ready(void)
{
	return OidIsValid(get_extension_oid("transfer_guard", true)) &&
		OidIsValid(tg_extension_relation(TG_PENDING_NAME, true));
}

/*
 * The work of this round: the rows to settle and the holds to release,
 * each an empty list when there is nothing.
 */
static void
find_work(MemoryContext cxt, List **groups, List **holds)
{
	*groups = NIL;
	*holds = NIL;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "transfer_guard: finding work");
	if (extension_ready())
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		*groups = tg_settle_groups(InvalidOid, cxt);
		*holds = tg_expired_holds(cxt);
		SPI_finish();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* one piece of a round's work: a row to settle or a hold to release */
typedef enum WorkKind
{
	WORK_SETTLE,
	WORK_EXPIRE
} WorkKind;

/*
 * Do one piece of work in a transaction of its own, as the owner of the
 * table relid, in a restricted operation.  An error is reported and the
 * transaction rolled back (which also undoes the identity and settings);
 * the worker goes on with the next piece.
 */
static void
work_one(WorkKind kind, Oid relid, void *item)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		Oid			save_userid;
		int			save_sec_context;
		Oid			owner;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, kind == WORK_SETTLE ?
							   "transfer_guard: settling" :
							   "transfer_guard: releasing an expired hold");
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		owner = tg_relation_owner(relid);
		if (OidIsValid(owner))
		{
			/*
			 * As autovacuum runs code of a table's owner: a restricted
			 * operation, whose setting changes (a trigger's set_config(),
			 * say) end with the row, so that nothing one owner's code does
			 * carries over to the next owner's table.
			 */
			int			save_nestlevel;

			GetUserIdAndSecContext(&save_userid, &save_sec_context);
			SetUserIdAndSecContext(owner, save_sec_context |
								   SECURITY_LOCAL_USERID_CHANGE |
								   SECURITY_RESTRICTED_OPERATION);
			save_nestlevel = NewGUCNestLevel();
			if (kind == WORK_SETTLE)
				(void) tg_settle_group((TgSettleGroup *) item, false, true);
			else
				(void) tg_expire_hold(((TgExpiredHold *) item)->hold_id);
			AtEOXact_GUC(false, save_nestlevel);
			SetUserIdAndSecContext(save_userid, save_sec_context);
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
}

/*
 * One round: every row with committed pending credits, then every hold
 * past its expiry.
 */
static void
settle_round(MemoryContext cxt)
{
	List	   *groups;
	List	   *holds;
	ListCell   *lc;

	find_work(cxt, &groups, &holds);
	MemoryContextSwitchTo(cxt);
	foreach(lc, groups)
	{
		CHECK_FOR_INTERRUPTS();
		work_one(WORK_SETTLE, ((TgSettleGroup *) lfirst(lc))->relid, lfirst(lc));
	}
	foreach(lc, holds)
	{
		CHECK_FOR_INTERRUPTS();
		work_one(WORK_EXPIRE, ((TgExpiredHold *) lfirst(lc))->from_relid,
				 lfirst(lc));
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(TopMemoryContext);
	MemoryContextReset(cxt);
}

void
transfer_guard_worker_main(Datum arg)
{
	MemoryContext cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(MyBgworkerEntry->bgw_extra, NULL, 0);
	cxt = AllocSetContextCreate(TopMemoryContext, "transfer_guard worker",
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 tg_settle_interval, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		settle_round(cxt);
	}
}
