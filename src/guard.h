/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  guard() and unguard() (guard.c).
 *
 * IDENTIFICATION
 *	  src/guard.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_GUARD_H
#define TG_GUARD_H

#include "postgres.h"

#include "utils/relcache.h"

#include "utils/numeric.h"

extern void tg_guard(Oid relid, const char *colname, Numeric min_balance,
					 Numeric max_balance, bool journal,
					 const char *version_column, const char *key_column);
extern void tg_unguard(Oid relid, const char *colname);
extern Relation tg_open_owned_table(Oid relid);

#endif							/* TG_GUARD_H */
