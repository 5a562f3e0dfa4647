/*-------------------------------------------------------------------------
 *
 * colref.h
 *	  transfer_guard_column: a column by (table OID, attribute number)
 *	  (colref.c).
 *
 * IDENTIFICATION
 *	  src/colref.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_COLREF_H
#define TG_COLREF_H

#include "postgres.h"

#include "access/attnum.h"

/*
 * A column of a table, as the registry records it: by attribute number,
 * which no rename changes (colref.c).  The SQL type transfer_guard_column.
 */
typedef struct TgColumnRef
{
	Oid			relid;
	AttrNumber	attnum;
	int16		unused;			/* fixed length 8, zeroed */
} TgColumnRef;

extern TgColumnRef *tg_colref_make(Oid relid, AttrNumber attnum);
extern char *tg_colref_attname(Oid relid, AttrNumber attnum);


#endif							/* TG_COLREF_H */
