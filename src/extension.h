/*-------------------------------------------------------------------------
 *
 * extension.h
 *	  The extension's own objects and acting as their owner (extension.c).
 *
 * IDENTIFICATION
 *	  src/extension.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_EXTENSION_H
#define TG_EXTENSION_H

#include "postgres.h"

#include "executor/spi.h"

#include "compat.h"

/* the extension's own relations */
#define TG_REGISTRY_NAME	"transfer_guard_registry"
#define TG_SEQUENCE_NAME	"transfer_guard_transfer_id_seq"
#define TG_JOURNAL_NAME		"transfer_guard_journal"
#define TG_IDEMPOTENCY_NAME "transfer_guard_idempotency"
#define TG_HOT_NAME			"transfer_guard_hot"
#define TG_PENDING_NAME		"transfer_guard_pending"
#define TG_SLOTS_NAME		"transfer_guard_slots"
#define TG_HOLDS_NAME		"transfer_guard_hold"

/*
 * A kept statement on one of the extension's relations, and the relation
 * it was prepared for: if the extension was dropped and created again,
 * the relation is a new one and the statement is prepared again (nothing
 * can be running the old plan then).
 */
typedef struct TgExtensionStatement
{
	SPIPlanPtr	plan;
	Oid			relid;
} TgExtensionStatement;

extern Oid	tg_extension_namespace(void);
extern Oid	tg_extension_relation(const char *name, bool missing_ok);
extern char *tg_extension_relation_name(const char *name);
extern Oid	tg_registry_oid(void);
extern Oid	tg_sequence_oid(void);
extern bool tg_journal_available(void);
extern uint64 tg_extension_generation(void);
extern NameData *tg_caller(void);
extern SPIPlanPtr tg_extension_plan(TgExtensionStatement *stmt,
									const char *relname, const char *sqlfmt,
									int nargs, Oid *argtypes);
extern char *tg_extension_sql(const char *fmt);
extern int	tg_spi_as_owner(SPIPlanPtr plan, Datum *values, const char *nulls,
							long tcount);
extern int	tg_spi_read_as_owner(SPIPlanPtr plan, Datum *values,
								 const char *nulls, long tcount);

#endif							/* TG_EXTENSION_H */
