/*-------------------------------------------------------------------------
 *
 * checks.h
 *	  Privileges and the limits of debits and credits (checks.c).
 *
 * IDENTIFICATION
 *	  src/checks.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_CHECKS_H
#define TG_CHECKS_H

#include "postgres.h"

#include "utils/numeric.h"
#include "utils/relcache.h"

#include "table.h"

/* what stops a debit or credit, if anything */
typedef enum TgLimitCheck
{
	TG_LIMIT_OK,
	TG_LIMIT_NOT_USABLE,		/* the balance is NULL, NaN or infinite */
	TG_LIMIT_BELOW_FLOOR,		/* a debit would cross min_balance */
	TG_LIMIT_ABOVE_CEILING,		/* a credit would cross max_balance */
	TG_LIMIT_OUT_OF_RANGE		/* the column's type cannot hold the result */
} TgLimitCheck;

extern void tg_check_privileges(TgTable *table, Relation rel, uint64 mask);
extern Oid	tg_relation_owner(Oid relid);
extern TgLimitCheck tg_check_move(TgColumn *col, Numeric before,
								  Numeric amount, bool debit, Numeric *after);
extern void tg_raise_limit(TgLimitCheck check, TgTable *table, TgColumn *col,
						   Datum key, Numeric before, Numeric amount,
						   bool debit);
extern void tg_check_stored(TgTable *table, TgColumn *col, Datum key,
							Numeric stored, bool debited, bool credited);

#endif							/* TG_CHECKS_H */
