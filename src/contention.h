/*-------------------------------------------------------------------------
 *
 * contention.h
 *	  Waits for rows, counted in shared memory (contention.c).
 *
 * IDENTIFICATION
 *	  src/contention.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_CONTENTION_H
#define TG_CONTENTION_H

#include "postgres.h"

#include "portability/instr_time.h"

extern void tg_contention_init(void);
extern bool tg_contention_enabled(void);
extern void tg_contention_record(Oid relid, const char *key_text,
								 instr_time waited);

#endif							/* TG_CONTENTION_H */
