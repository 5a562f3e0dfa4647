/*-------------------------------------------------------------------------
 *
 * engine.h
 *	  The transfer engine (engine.c).
 *
 * IDENTIFICATION
 *	  src/engine.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_ENGINE_H
#define TG_ENGINE_H

#include "postgres.h"

#include "request.h"

extern TgStatus tg_execute(TgRequest *request, TgLegResult *results);
extern const char *tg_status_name(TgStatus status);


#endif							/* TG_ENGINE_H */
