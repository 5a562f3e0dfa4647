/* transfer_guard--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION transfer_guard UPDATE TO '1.3'" to load this file. \quit

--
-- The registry records columns by attribute number (transfer_guard_column)
-- instead of by name, so that no rename can move a guard onto another
-- column; the rename-following event trigger goes.
--
CREATE TYPE @extschema@.transfer_guard_column;

CREATE FUNCTION @extschema@.transfer_guard_column_in(pg_catalog.cstring)
RETURNS @extschema@.transfer_guard_column
AS 'MODULE_PATHNAME', 'transfer_guard_column_in'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.transfer_guard_column_out(@extschema@.transfer_guard_column)
RETURNS pg_catalog.cstring
AS 'MODULE_PATHNAME', 'transfer_guard_column_out'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.transfer_guard_column (
	INPUT = @extschema@.transfer_guard_column_in,
	OUTPUT = @extschema@.transfer_guard_column_out,
	INTERNALLENGTH = 8,
	ALIGNMENT = int4,
	STORAGE = plain
);

CREATE FUNCTION @extschema@.transfer_guard_column_attnum(@extschema@.transfer_guard_column)
RETURNS pg_catalog.int2
AS 'MODULE_PATHNAME', 'transfer_guard_column_attnum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

--
-- A recorded name that no longer names a column of its table was left
-- behind by a rename the event trigger did not follow (through a parent
-- table, or under session_replication_role = replica).  Which column it
-- meant cannot be known now: such a guard is removed, a version column
-- forgotten, and a key column forgotten (the key is then found as for a
-- guard made under 1.0), each with a warning.
--
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT g.tbl, g.balance_column
		  FROM @extschema@.transfer_guard_registry AS g
		 WHERE NOT EXISTS (
			SELECT FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) g.tbl::pg_catalog.oid
			   AND a.attname OPERATOR(pg_catalog.=) g.balance_column
			   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)
	LOOP
		RAISE WARNING 'removing the guard of %.%, which names no column', r.tbl, r.balance_column
			USING DETAIL = 'The column was renamed in a way the extension did not follow.',
				  HINT = 'Call guard() again for the column it meant.';
	END LOOP;
	DELETE FROM @extschema@.transfer_guard_registry AS g
	 WHERE NOT EXISTS (
		SELECT FROM pg_catalog.pg_attribute AS a
		 WHERE a.attrelid OPERATOR(pg_catalog.=) g.tbl::pg_catalog.oid
		   AND a.attname OPERATOR(pg_catalog.=) g.balance_column
		   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped);
	FOR r IN
		SELECT g.tbl, g.balance_column, g.version_column, g.key_column,
			   g.version_column IS NOT NULL AND NOT EXISTS (
				SELECT FROM pg_catalog.pg_attribute AS a
				 WHERE a.attrelid OPERATOR(pg_catalog.=) g.tbl::pg_catalog.oid
				   AND a.attname OPERATOR(pg_catalog.=) g.version_column
				   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped) AS stale_version,
			   g.key_column IS NOT NULL AND NOT EXISTS (
				SELECT FROM pg_catalog.pg_attribute AS a
				 WHERE a.attrelid OPERATOR(pg_catalog.=) g.tbl::pg_catalog.oid
				   AND a.attname OPERATOR(pg_catalog.=) g.key_column
				   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped) AS stale_key
		  FROM @extschema@.transfer_guard_registry AS g
	LOOP
		IF r.stale_version THEN
			RAISE WARNING 'forgetting version column % of the guard of %.%, which names no column',
				r.version_column, r.tbl, r.balance_column
				USING HINT = 'Call guard() again naming the version column.';
			UPDATE @extschema@.transfer_guard_registry AS g SET version_column = NULL
			 WHERE g.tbl OPERATOR(pg_catalog.=) r.tbl
			   AND g.balance_column OPERATOR(pg_catalog.=) r.balance_column;
		END IF;
		IF r.stale_key THEN
			RAISE WARNING 'forgetting key column % of the guard of %.%, which names no column',
				r.key_column, r.tbl, r.balance_column
				USING HINT = 'Call guard() again naming the key column.';
			UPDATE @extschema@.transfer_guard_registry AS g SET key_column = NULL
			 WHERE g.tbl OPERATOR(pg_catalog.=) r.tbl
			   AND g.balance_column OPERATOR(pg_catalog.=) r.balance_column;
		END IF;
	END LOOP;
END;
$$;

DROP EVENT TRIGGER transfer_guard_on_alter;
DROP FUNCTION @extschema@.transfer_guard_on_alter();
DROP FUNCTION @extschema@.transfer_guard_names_column(pg_catalog.regclass, pg_catalog.name);

-- the view reads the columns whose type changes: for the change, it reads
-- none of them (replaced, not dropped, so views of users built on it stay)
CREATE OR REPLACE VIEW @extschema@.transfer_guards AS
	SELECT r.tbl, NULL::pg_catalog.name AS balance_column,
		   r.min_balance, r.max_balance, r.journal,
		   NULL::pg_catalog.name AS version_column,
		   NULL::pg_catalog.name AS key_column
	  FROM @extschema@.transfer_guard_registry AS r;

ALTER TABLE @extschema@.transfer_guard_registry
	DROP CONSTRAINT transfer_guard_registry_pkey;
ALTER TABLE @extschema@.transfer_guard_registry
	ALTER balance_column TYPE @extschema@.transfer_guard_column
		USING pg_catalog.format('%s.%I', tbl, balance_column)::@extschema@.transfer_guard_column,
	ALTER version_column TYPE @extschema@.transfer_guard_column
		USING CASE WHEN version_column IS NOT NULL THEN
			pg_catalog.format('%s.%I', tbl, version_column)::@extschema@.transfer_guard_column END,
	ALTER key_column TYPE @extschema@.transfer_guard_column
		USING CASE WHEN key_column IS NOT NULL THEN
			pg_catalog.format('%s.%I', tbl, key_column)::@extschema@.transfer_guard_column END;
CREATE UNIQUE INDEX transfer_guard_registry_column
	ON @extschema@.transfer_guard_registry
	(tbl, @extschema@.transfer_guard_column_attnum(balance_column));

CREATE OR REPLACE VIEW @extschema@.transfer_guards AS
	SELECT r.tbl,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(r.balance_column)
			   AND NOT a.attisdropped)
			   AS balance_column,
		   r.min_balance, r.max_balance, r.journal,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(r.version_column)
			   AND NOT a.attisdropped)
			   AS version_column,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(r.key_column)
			   AND NOT a.attisdropped)
			   AS key_column
	  FROM @extschema@.transfer_guard_registry AS r;

-- drop the guards of dropped columns by attribute number
CREATE OR REPLACE FUNCTION @extschema@.transfer_guard_on_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.transfer_guard_registry AS r
	 USING pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0
			OR d.objsubid OPERATOR(pg_catalog.=)
			   @extschema@.transfer_guard_column_attnum(r.balance_column));
	-- a dropped version column: the guard stays, without a version column
	UPDATE @extschema@.transfer_guard_registry AS r
	   SET version_column = NULL
	  FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
	   AND d.objsubid OPERATOR(pg_catalog.<>) 0
	   AND d.objsubid OPERATOR(pg_catalog.=)
		   @extschema@.transfer_guard_column_attnum(r.version_column);
END;
$$;

--
-- transfer() and try_transfer() take their keys as anycompatible instead of
-- anyelement, so keys of two integer sizes (psycopg 3 sends 1 as smallint
-- and 3000000000 as bigint) are unified instead of finding no function.  A
-- polymorphic argument cannot change type in place, so the two functions
-- are dropped and made again, with the privileges of a fresh install (the
-- default: PUBLIC may execute them).  A view or SQL-standard function body
-- that calls them stops the update here, as DROP FUNCTION refuses.  The
-- text overloads stay as they are.
--
DROP FUNCTION @extschema@.transfer(pg_catalog.regclass, anyelement, anyelement,
	pg_catalog.numeric, pg_catalog.name, pg_catalog.bool, pg_catalog.regclass,
	pg_catalog.name, pg_catalog.text);
DROP FUNCTION @extschema@.try_transfer(pg_catalog.regclass, anyelement,
	anyelement, pg_catalog.numeric, pg_catalog.name, pg_catalog.bool,
	pg_catalog.regclass, pg_catalog.name, pg_catalog.text);

CREATE FUNCTION @extschema@.transfer(
	tbl pg_catalog.regclass,
	from_key anycompatible,
	to_key anycompatible,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	nowait pg_catalog.bool DEFAULT false,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	idempotency_key pg_catalog.text DEFAULT NULL,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_transfer'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.try_transfer(
	tbl pg_catalog.regclass,
	from_key anycompatible,
	to_key anycompatible,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	nowait pg_catalog.bool DEFAULT false,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	idempotency_key pg_catalog.text DEFAULT NULL,
	OUT status pg_catalog.text,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_try_transfer'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
