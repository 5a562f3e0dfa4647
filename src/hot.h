/*-------------------------------------------------------------------------
 *
 * hot.h
 *	  set_hot(), current_balance() and settle() (hot.c).
 *
 * IDENTIFICATION
 *	  src/hot.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_HOT_H
#define TG_HOT_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/numeric.h"

#include "table.h"

/* the pending credits of one row, to settle */
typedef struct TgSettleGroup
{
	Oid			relid;
	AttrNumber	attnum;
	char	   *key_text;
	/* resolved when it is settled */
	TgTable    *table;
	int			column;
	Datum		key;
} TgSettleGroup;

extern void tg_set_hot(Oid relid, const char *key, const char *colname,
					   bool hot, int slots);
extern Numeric tg_current_balance(Oid relid, const char *key,
								  const char *colname);
extern int64 tg_settle(Oid relid);
extern List *tg_settle_groups(Oid relid, MemoryContext cxt);
extern int64 tg_settle_group(TgSettleGroup *group, bool skip_unprivileged,
							 bool worker);

#endif							/* TG_HOT_H */
