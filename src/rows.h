/*-------------------------------------------------------------------------
 *
 * rows.h
 *	  The row path: rows found, locked and updated through the table and
 *	  index access methods, without SQL statements (rows.c).
 *
 * IDENTIFICATION
 *	  src/rows.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_ROWS_H
#define TG_ROWS_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "nodes/bitmapset.h"
#include "utils/relcache.h"

#include "table.h"

typedef struct TgRowExec TgRowExec;
extern bool tg_row_path_usable(Relation rel, TgTable *table, uint64 mask);
extern TgRowExec *tg_row_exec_begin(Relation *rels, TgTable **tables,
									Bitmapset **updated, int nrels);
extern TupleTableSlot *tg_row_lock(TgRowExec *ex, int relno, TgTable *table,
								   Datum key, int mode);
extern TupleTableSlot *tg_row_read(TgRowExec *ex, int relno, Datum key);
extern TupleTableSlot *tg_row_relock(TgRowExec *ex, int relno, TgTable *table,
									 Datum key, TupleTableSlot *slot,
									 bool *moved);
extern TupleTableSlot *tg_row_update(TgRowExec *ex, int relno,
									 TupleTableSlot *locked, bool held, int nset,
									 const AttrNumber *attnums,
									 const Datum *values, const bool *nulls,
									 const Oid *domains, bool *concurrent);
extern void tg_row_exec_next_table(TgRowExec *ex);
extern void tg_row_exec_end(TgRowExec *ex);


#endif							/* TG_ROWS_H */
