/*-------------------------------------------------------------------------
 *
 * report.h
 *	  Names and error fields for messages about tables (report.c).
 *
 * IDENTIFICATION
 *	  src/report.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_REPORT_H
#define TG_REPORT_H

#include "postgres.h"

#include "access/attnum.h"

#include "compat.h"

extern const char *tg_rel_display_name(Oid relid);
extern char *tg_rel_qualified_name(Oid relid);
extern char *tg_rel_literal(Oid relid);
extern int	tg_errtable(Oid relid);
extern int	tg_errtablecol(Oid relid, AttrNumber attnum);
pg_noreturn extern void tg_raise_table_changed(Oid relid);

#endif							/* TG_REPORT_H */
