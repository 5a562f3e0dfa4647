/*-------------------------------------------------------------------------
 *
 * idempotency.h
 *	  Idempotency keys (idempotency.c).
 *
 * IDENTIFICATION
 *	  src/idempotency.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_IDEMPOTENCY_H
#define TG_IDEMPOTENCY_H

#include "postgres.h"

#include "request.h"

/* the SQLSTATE of an idempotency key reused for a different request */
#define ERRCODE_TG_IDEMPOTENCY_MISMATCH MAKE_SQLSTATE('T','G','0','0','1')

extern bool tg_idempotency_claim(const char *key, bool nowait);
extern bool tg_idempotency_replay(const char *key, bool is_batch,
								  TgLegRecord *records, int nlegs,
								  const char *extra, TgLegResult *results);
extern void tg_idempotency_record(const char *key, bool is_batch,
								  TgLegRecord *records, int nlegs,
								  const char *extra, TgLegResult *results);

#endif							/* TG_IDEMPOTENCY_H */
