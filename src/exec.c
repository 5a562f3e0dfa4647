/*-------------------------------------------------------------------------
 *
 * exec.c
 *	  Running code for a call: SPI plans kept for the backend's life, and
 *	  the executor state through which the row path and the journal change
 *	  rows without SQL statements (on PostgreSQL 14 and later).
 *
 * IDENTIFICATION
 *	  src/exec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "utils/memutils.h"

#include "exec.h"

/* transfer_guard.row_path: may tables take the row path (rows.c)? */
bool		tg_row_path_enabled = true;


/*
 * Prepare and keep a plan.  Callers assign the cache slot only after
 * SPI_keepplan succeeded, so an error never leaves a half-made plan in the
 * cache.
 *
 * The plan is generic: the statements look up rows by key through the key's
 * unique index whatever the parameters are, and a custom plan (which the
 * plan cache would otherwise keep choosing for "= ANY ($1)", whose cost it
 * cannot tell from the generic one) means planning the statement again at
 * every call.
 */
SPIPlanPtr
tg_prepare_kept(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes,
										  CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

#ifdef TG_HAVE_ROW_PATH

/*
 * An executor state with rels (each held open and locked by the caller) as
 * its result relations, indexes open, writing with command id cid: what a
 * plain UPDATE or INSERT of their rows needs.  updated[i]: the columns an
 * update of rels[i] may set.  rris[i] receives each table's result
 * relation.
 */
EState *
tg_exec_state_open(Relation *rels, Bitmapset **updated, int nrels,
				   CommandId cid, ResultRelInfo **rris)
{
	EState	   *estate = CreateExecutorState();
	MemoryContext old = MemoryContextSwitchTo(estate->es_query_cxt);
	int			i;

	estate->es_output_cid = cid;
	tg_exec_range_table(estate, rels, updated, nrels);
	for (i = 0; i < nrels; i++)
	{
		rris[i] = makeNode(ResultRelInfo);
		ExecInitResultRelation(estate, rris[i], i + 1);
		ExecOpenIndices(rris[i], false);
	}
	MemoryContextSwitchTo(old);
	return estate;
}

/* close what tg_exec_state_open() opened, and free its memory */
void
tg_exec_state_close(EState *estate)
{
	ExecCloseResultRelations(estate);
	ExecCloseRangeTableRelations(estate);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
}

#endif							/* TG_HAVE_ROW_PATH */
