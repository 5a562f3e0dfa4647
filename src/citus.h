/*-------------------------------------------------------------------------
 *
 * citus.h
 *	  Tables that Citus distributes (citus.c).
 *
 * IDENTIFICATION
 *	  src/citus.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_CITUS_H
#define TG_CITUS_H

#include "postgres.h"

#include "utils/relcache.h"

#include "table.h"

extern TgPlacement tg_citus_placement(Relation rel, AttrNumber key_attnum);
extern void tg_citus_two_phase_commit(void);

#endif							/* TG_CITUS_H */
