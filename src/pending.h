/*-------------------------------------------------------------------------
 *
 * pending.h
 *	  Hot rows and their pending credits (pending.c).
 *
 * IDENTIFICATION
 *	  src/pending.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_PENDING_H
#define TG_PENDING_H

#include "postgres.h"

#include "storage/lockdefs.h"
#include "utils/numeric.h"

#include "table.h"

extern TgHotRow *tg_hot_find(TgTable *table, int column, Datum key);
extern void tg_hot_lock(Oid relid, AttrNumber attnum, const char *key_text,
						LOCKMODE mode);
extern void tg_pending_add(TgTable *table, TgHotRow *hot, Numeric amount,
						   int64 transfer_id);
extern Numeric tg_pending_fold(TgTable *table, int column, Datum key,
							   const char *key_text, int64 *count);
extern Numeric tg_pending_sum(Oid relid, AttrNumber attnum,
							  const char *key_text);

#endif							/* TG_PENDING_H */
