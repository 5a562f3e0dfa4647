/*-------------------------------------------------------------------------
 *
 * journal.h
 *	  The journal of transfers (journal.c).
 *
 * IDENTIFICATION
 *	  src/journal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_JOURNAL_H
#define TG_JOURNAL_H

#include "postgres.h"

#include "request.h"

extern void tg_journal_append(TgLegRecord *records, TgLegResult *results,
							  int nlegs, bool is_batch,
							  const char *idempotency_key);

#endif							/* TG_JOURNAL_H */
