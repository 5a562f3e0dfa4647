/*-------------------------------------------------------------------------
 *
 * exec.h
 *	  Kept SPI plans and the executor state for direct row changes
 *	  (exec.c).
 *
 * IDENTIFICATION
 *	  src/exec.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_EXEC_H
#define TG_EXEC_H

#include "postgres.h"

#include "executor/spi.h"
#include "nodes/bitmapset.h"
#include "utils/relcache.h"

#include "compat.h"

extern bool tg_row_path_enabled;	/* transfer_guard.row_path */

extern SPIPlanPtr tg_prepare_kept(const char *sql, int nargs, Oid *argtypes);

#ifdef TG_HAVE_ROW_PATH
extern EState *tg_exec_state_open(Relation *rels, Bitmapset **updated,
								  int nrels, CommandId cid,
								  ResultRelInfo **rris);
extern void tg_exec_state_close(EState *estate);
#endif

#endif							/* TG_EXEC_H */
