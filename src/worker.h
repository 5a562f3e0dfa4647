/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The maintenance worker (worker.c).
 *
 * IDENTIFICATION
 *	  src/worker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_WORKER_H
#define TG_WORKER_H

#include "postgres.h"

extern void tg_worker_init(void);

#endif							/* TG_WORKER_H */
