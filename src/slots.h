/*-------------------------------------------------------------------------
 *
 * slots.h
 *	  Escrow slots of hot rows (slots.c).
 *
 * IDENTIFICATION
 *	  src/slots.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_SLOTS_H
#define TG_SLOTS_H

#include "postgres.h"

#include "utils/numeric.h"

#include "table.h"

extern int	tg_slot_take(Oid relid, AttrNumber attnum, const char *key_text,
						 Numeric amount, bool debit);
extern bool tg_slot_wait(Oid relid, AttrNumber attnum, const char *key_text,
						 Numeric amount, TgLockMode mode);
extern Numeric tg_slots_lock(Oid relid, AttrNumber attnum,
							 const char *key_text, TgLockMode mode,
							 int *nlocked);
extern void tg_slot_debit(Oid relid, AttrNumber attnum, const char *key_text,
						  int slot, Numeric amount);
extern void tg_slots_make(Oid relid, AttrNumber attnum, const char *key_text,
						  int n, Numeric share);
extern void tg_slots_fill(Oid relid, AttrNumber attnum, const char *key_text,
						  Numeric share);
extern int	tg_slots_count(Oid relid, AttrNumber attnum, const char *key_text);
extern Numeric tg_slots_sum(Oid relid, AttrNumber attnum,
							const char *key_text);

#endif							/* TG_SLOTS_H */
