/*-------------------------------------------------------------------------
 *
 * amount.h
 *	  Exact amount and balance arithmetic (amount.c).
 *
 * IDENTIFICATION
 *	  src/amount.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_AMOUNT_H
#define TG_AMOUNT_H

#include "postgres.h"

#include "utils/numeric.h"

#include "table.h"

extern bool tg_is_integer_type(Oid basetypid);
extern bool tg_is_balance_type(Oid basetypid);
extern void tg_integer_range(Oid typid, Numeric *lo, Numeric *hi);
extern void tg_column_set_type(TgColumn *col, Oid typid, int32 typmod);
extern void tg_check_amount(Oid relid, TgColumn *col, Numeric amount);
extern void tg_check_limit_value(Oid relid, TgColumn *col, Numeric limit,
								 const char *argname);
extern Numeric tg_number_to_numeric(Datum value, Oid typid);
extern Numeric tg_numeric_from_column(TgColumn *col, Datum value);
extern Datum tg_numeric_to_type(Numeric value, Oid typid);
extern Datum tg_numeric_to_column(TgColumn *col, Numeric value);
extern Numeric tg_numeric_add(Numeric a, Numeric b);
extern Numeric tg_numeric_sub(Numeric a, Numeric b);
extern Numeric tg_numeric_share(TgColumn *col, Numeric avail, int n);
extern Numeric tg_numeric_times(Numeric a, int n);
extern int	tg_numeric_cmp(Numeric a, Numeric b);
extern char *tg_numeric_display(Numeric n);

#endif							/* TG_AMOUNT_H */
