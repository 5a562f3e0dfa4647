/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place that knows which PostgreSQL major version we build
 *	  against.  Everything else calls the names defined here.
 *
 *	  Supported: PostgreSQL 13 and later.
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_COMPAT_H
#define TG_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 130000
#error "transfer_guard requires PostgreSQL 13 or later"
#endif

#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "utils/acl.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

/*
 * A function that does not return: 18 replaced pg_attribute_noreturn(),
 * written after the declarator, by pg_noreturn, written before it.  GCC and
 * Clang accept the attribute in front, so the older versions get it there.
 */
#if PG_VERSION_NUM < 180000
#define pg_noreturn pg_attribute_noreturn()
#endif

/* ownership check on a relation: renamed to object_ownercheck in 16 */
#if PG_VERSION_NUM >= 160000
#define tg_rel_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define tg_rel_ownercheck(relid, roleid) \
	pg_class_ownercheck((relid), (roleid))
#endif

/* a qualified name's parts: 16 added a soft-error context argument */
#if PG_VERSION_NUM >= 160000
#define tg_string_to_qualified_name_list(str) \
	stringToQualifiedNameList((str), NULL)
#else
#define tg_string_to_qualified_name_list(str) \
	stringToQualifiedNameList(str)
#endif

/* privilege check on a schema: object_aclcheck from 16 on */
#if PG_VERSION_NUM >= 160000
#define tg_namespace_aclcheck(nspid, roleid, mode) \
	object_aclcheck(NamespaceRelationId, (nspid), (roleid), (mode))
#else
#define tg_namespace_aclcheck(nspid, roleid, mode) \
	pg_namespace_aclcheck((nspid), (roleid), (mode))
#endif

/* int64 -> numeric without going through fmgr: exported from 14 on */
#if PG_VERSION_NUM >= 140000
#define tg_int64_to_numeric(v) int64_to_numeric(v)
#else
#define tg_int64_to_numeric(v) \
	DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(v)))
#endif

/* infinities exist in numeric from 14 on */
#if PG_VERSION_NUM >= 140000
#define tg_numeric_is_inf(n) numeric_is_inf(n)
#else
#define tg_numeric_is_inf(n) (false)
#endif

/*
 * Scale of a numeric typmod.  15 allows a negative scale, stored in 11 bits
 * with the sign extended by hand.
 */
#if PG_VERSION_NUM >= 150000
#define tg_numeric_typmod_scale(typmod) \
	(((((typmod) - VARHDRSZ) & 0x7ff) ^ 1024) - 1024)
#else
#define tg_numeric_typmod_scale(typmod) (((typmod) - VARHDRSZ) & 0xffff)
#endif
#define tg_numeric_typmod_precision(typmod) \
	((((typmod) - VARHDRSZ) >> 16) & 0xffff)

/* claim a prefix of custom settings: renamed in 15 */
#if PG_VERSION_NUM >= 150000
#define tg_reserve_guc_prefix(prefix) MarkGUCPrefixReserved(prefix)
#else
#define tg_reserve_guc_prefix(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * The row path without the executor's statements (rows.c) is built on 14
 * and later, where result relations are set up by ExecInitResultRelation;
 * on 13 every row goes through SQL statements.  Tested on 15; written for
 * 14 and 16 from their headers.
 */
#if PG_VERSION_NUM >= 140000
#define TG_HAVE_ROW_PATH 1

#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif
#include "utils/rel.h"

/* index maintenance after an update: 16 passes which indexes, and a flag */
#if PG_VERSION_NUM >= 160000
typedef TU_UpdateIndexes tg_update_indexes_t;
#define tg_must_update_indexes(u) ((u) != TU_None)
#define tg_insert_index_tuples(rri, slot, estate, u) \
	ExecInsertIndexTuples((rri), (slot), (estate), true, false, NULL, NIL, \
						  (u) == TU_Summarizing)
#else
typedef bool tg_update_indexes_t;
#define tg_must_update_indexes(u) (u)
#define tg_insert_index_tuples(rri, slot, estate, u) \
	ExecInsertIndexTuples((rri), (slot), (estate), true, false, NULL, NIL)
#endif

/* an index scan: 18 added instrumentation, which the row path does not keep */
#if PG_VERSION_NUM >= 180000
#define tg_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define tg_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

/* AFTER ROW UPDATE triggers: 15 added the partition-move arguments */
#if PG_VERSION_NUM >= 150000
#define tg_after_row_update(estate, rri, tid, slot, recheck) \
	ExecARUpdateTriggers((estate), (rri), NULL, NULL, (tid), NULL, (slot), \
						 (recheck), NULL, false)
#else
#define tg_after_row_update(estate, rri, tid, slot, recheck) \
	ExecARUpdateTriggers((estate), (rri), (tid), NULL, (slot), (recheck), NULL)
#endif

/*
 * The range table of the row path: one entry per table, with the columns
 * the update sets (triggers "OF column" and the lock mode depend on them).
 * 16 moved the permission fields into RTEPermissionInfo.
 */
static inline void
tg_exec_range_table(EState *estate, Relation *rels, Bitmapset **updated,
					int nrels)
{
	List	   *rtable = NIL;
#if PG_VERSION_NUM >= 160000
	List	   *perminfos = NIL;
#endif
	int			i;

	for (i = 0; i < nrels; i++)
	{
		RangeTblEntry *rte = makeNode(RangeTblEntry);

		rte->rtekind = RTE_RELATION;
		rte->relid = RelationGetRelid(rels[i]);
		rte->relkind = rels[i]->rd_rel->relkind;
		rte->rellockmode = RowExclusiveLock;
#if PG_VERSION_NUM >= 160000
		{
			RTEPermissionInfo *perm = makeNode(RTEPermissionInfo);

			perm->relid = rte->relid;
			perm->requiredPerms = ACL_SELECT | ACL_UPDATE;
			perm->selectedCols = bms_copy(updated[i]);
			perm->updatedCols = bms_copy(updated[i]);
			perminfos = lappend(perminfos, perm);
			rte->perminfoindex = i + 1;
		}
#else
		rte->requiredPerms = ACL_SELECT | ACL_UPDATE;
		rte->selectedCols = bms_copy(updated[i]);
		rte->updatedCols = bms_copy(updated[i]);
#endif
		rtable = lappend(rtable, rte);
	}
#if PG_VERSION_NUM >= 180000
	/* 18: and the range table indexes that partition pruning kept: all */
	ExecInitRangeTable(estate, rtable, perminfos,
					   bms_add_range(NULL, 1, nrels));
#elif PG_VERSION_NUM >= 160000
	ExecInitRangeTable(estate, rtable, perminfos);
#else
	ExecInitRangeTable(estate, rtable);
#endif
}

/* the columns the update of one row sets, for its AFTER ROW triggers */
static inline void
tg_exec_set_updated_cols(EState *estate, Index rti, Bitmapset *cols)
{
#if PG_VERSION_NUM >= 160000
	RangeTblEntry *rte = exec_rt_fetch(rti, estate);

	getRTEPermissionInfo(estate->es_rteperminfos, rte)->updatedCols = cols;
#else
	exec_rt_fetch(rti, estate)->updatedCols = cols;
#endif
}
#endif							/* PG_VERSION_NUM >= 140000 */

#endif							/* TG_COMPAT_H */
