/*-------------------------------------------------------------------------
 *
 * statements.h
 *	  The statement path: rows locked, probed and updated with SQL
 *	  statements (statements.c).
 *
 * IDENTIFICATION
 *	  src/statements.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_STATEMENTS_H
#define TG_STATEMENTS_H

#include "postgres.h"

#include "executor/spi.h"

#include "table.h"

extern SPITupleTable *tg_stmt_lock(TgTable *table, TgLockMode mode,
								   uint64 mask, Datum *keys, int nkeys);
extern bool tg_stmt_row_is_busy(TgTable *table, Datum key);
extern HeapTuple tg_stmt_read(TgTable *table, uint64 mask, Datum key);
extern HeapTuple tg_stmt_update(TgTable *table, Datum key, uint64 mask,
								Datum *deltas);

#endif							/* TG_STATEMENTS_H */
