/*-------------------------------------------------------------------------
 *
 * keys.h
 *	  Row keys: which column and unique index key a table, and the exact
 *	  conversion, comparison and text of key values (keys.c).
 *
 * IDENTIFICATION
 *	  src/keys.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_KEYS_H
#define TG_KEYS_H

#include "postgres.h"

#include "utils/relcache.h"

#include "table.h"

extern AttrNumber tg_find_key_column(Relation rel, AttrNumber wanted,
									 bool *ambiguous);
pg_noreturn extern void tg_raise_no_key(Relation rel, const char *key_column,
										bool ambiguous);
extern void tg_key_describe(TgTable *table, Relation rel, AttrNumber key_attnum);
extern Datum tg_key_convert(TgTable *table, Datum value, Oid valtype,
							const char *argname);
extern int	tg_key_compare(TgTable *table, Datum a, Datum b);
extern char *tg_key_display(TgTable *table, Datum key);
extern char *tg_key_text(TgTable *table, Datum key);
extern char *tg_key_stable_text(TgTable *table, Datum key);
extern Datum tg_key_from_stable_text(TgTable *table, const char *text,
									 const char *argname);
extern bool tg_key_equals_text(TgTable *table, Datum key, const char *text,
							   const char *argname);

#endif							/* TG_KEYS_H */
