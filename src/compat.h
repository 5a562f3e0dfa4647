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
#include "utils/acl.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

/* ownership check on a relation: renamed to object_ownercheck in 16 */
#if PG_VERSION_NUM >= 160000
#define tg_rel_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define tg_rel_ownercheck(relid, roleid) \
	pg_class_ownercheck((relid), (roleid))
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

#endif							/* TG_COMPAT_H */
