/* transfer_guard--1.4--1.5.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION transfer_guard UPDATE TO '1.5'" to load this file. \quit

--
-- The journal records the steps of holds (1.5): the hold has no
-- destination yet (to_* NULL), its capture, release or expiry no source
-- (from_* NULL); kind says which, hold_id which hold.  The new columns
-- cost no rewrite; the constraint reads the journal once.
--
ALTER TABLE @extschema@.transfer_guard_journal
	ALTER COLUMN from_table DROP NOT NULL,
	ALTER COLUMN from_column DROP NOT NULL,
	ALTER COLUMN from_key DROP NOT NULL,
	ALTER COLUMN to_table DROP NOT NULL,
	ALTER COLUMN to_column DROP NOT NULL,
	ALTER COLUMN to_key DROP NOT NULL,
	ADD COLUMN hold_id pg_catalog.int8,
	ADD COLUMN kind pg_catalog.text NOT NULL DEFAULT 'transfer',
	ADD CONSTRAINT transfer_guard_journal_kind CHECK (
		kind OPERATOR(pg_catalog.=) ANY
		(ARRAY['transfer', 'hold', 'capture', 'release', 'expire']::pg_catalog.text[])
		AND (hold_id IS NULL) OPERATOR(pg_catalog.=) (kind OPERATOR(pg_catalog.=) 'transfer')
		AND (from_table IS NULL) OPERATOR(pg_catalog.=)
			(kind OPERATOR(pg_catalog.<>) ALL (ARRAY['transfer', 'hold']::pg_catalog.text[]))
		AND (to_table IS NULL) OPERATOR(pg_catalog.=) (kind OPERATOR(pg_catalog.=) 'hold'));

-- the journal's view shows the new columns
CREATE OR REPLACE VIEW @extschema@.transfer_journal WITH (security_barrier) AS
	SELECT j.*
	  FROM @extschema@.transfer_guard_journal AS j
	 WHERE pg_catalog.pg_has_role(
			   (SELECT c.relowner FROM pg_catalog.pg_class AS c
				 WHERE c.oid OPERATOR(pg_catalog.=) j.from_table::pg_catalog.oid),
			   'USAGE')
		OR pg_catalog.pg_has_role(
			   (SELECT c.relowner FROM pg_catalog.pg_class AS c
				 WHERE c.oid OPERATOR(pg_catalog.=) j.to_table::pg_catalog.oid),
			   'USAGE');

--
-- Holds (1.5): an amount taken from a row by hold() and kept until it is
-- captured to its destination, released back, or expired.  One row per
-- hold, written by the C functions on behalf of the caller; hold_id is the
-- transfer id of the hold's journal row.
--
CREATE TABLE @extschema@.transfer_guard_hold (
	hold_id pg_catalog.int8 PRIMARY KEY,
	from_table pg_catalog.regclass NOT NULL,
	from_column @extschema@.transfer_guard_column NOT NULL,
	from_key pg_catalog.text NOT NULL,
	to_table pg_catalog.regclass NOT NULL,
	to_column @extschema@.transfer_guard_column NOT NULL,
	to_key pg_catalog.text NOT NULL,
	amount pg_catalog.numeric NOT NULL,
	state pg_catalog.text NOT NULL DEFAULT 'held',
	placed_by pg_catalog.name NOT NULL,
	created_at pg_catalog.timestamptz NOT NULL,
	expires_at pg_catalog.timestamptz,
	captured pg_catalog.numeric,
	transfer_id pg_catalog.int8,
	closed_at pg_catalog.timestamptz,
	CONSTRAINT transfer_guard_hold_amount
		CHECK (amount OPERATOR(pg_catalog.>) 0),
	CONSTRAINT transfer_guard_hold_state
		CHECK (state OPERATOR(pg_catalog.=) ANY
			   (ARRAY['held', 'captured', 'released', 'expired']::pg_catalog.text[]))
);
CREATE INDEX transfer_guard_hold_expiry
	ON @extschema@.transfer_guard_hold (expires_at)
	WHERE state OPERATOR(pg_catalog.=) 'held';
REVOKE ALL ON @extschema@.transfer_guard_hold FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_hold', '');

--
-- The holds each role may see: those it placed (or a role it is a member
-- of placed), and those on tables it owns, as the journal's view filters.
-- placed_by is the role's name, as the journal's caller is: a dump
-- restored where that role does not exist keeps the hold (its tables'
-- owners may still end it).
--
CREATE VIEW @extschema@.transfer_guard_holds WITH (security_barrier) AS
	SELECT h.hold_id, h.from_table,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) h.from_table::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(h.from_column)
			   AND NOT a.attisdropped)
			   AS from_column,
		   h.from_key, h.to_table,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) h.to_table::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(h.to_column)
			   AND NOT a.attisdropped)
			   AS to_column,
		   h.to_key, h.amount, h.state, h.created_at, h.expires_at,
		   h.transfer_id, h.captured, h.closed_at, h.placed_by
	  FROM @extschema@.transfer_guard_hold AS h
	 WHERE EXISTS (SELECT FROM pg_catalog.pg_roles AS r
				WHERE r.rolname OPERATOR(pg_catalog.=) h.placed_by
				  AND pg_catalog.pg_has_role(r.oid, 'USAGE'))
		OR pg_catalog.pg_has_role(
			   (SELECT c.relowner FROM pg_catalog.pg_class AS c
				 WHERE c.oid OPERATOR(pg_catalog.=) h.from_table::pg_catalog.oid),
			   'USAGE')
		OR pg_catalog.pg_has_role(
			   (SELECT c.relowner FROM pg_catalog.pg_class AS c
				 WHERE c.oid OPERATOR(pg_catalog.=) h.to_table::pg_catalog.oid),
			   'USAGE');
GRANT SELECT ON @extschema@.transfer_guard_holds TO PUBLIC;

--
-- hold: take amount from a row now, for its destination; capture or
-- release it later.  The keys as for transfer(): anycompatible, and text.
--
CREATE FUNCTION @extschema@.hold(
	tbl pg_catalog.regclass,
	from_key anycompatible,
	to_key anycompatible,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	expires_in pg_catalog.interval DEFAULT NULL,
	idempotency_key pg_catalog.text DEFAULT NULL,
	OUT hold_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_hold'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.hold(
	tbl pg_catalog.regclass,
	from_key pg_catalog.text,
	to_key pg_catalog.text,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	expires_in pg_catalog.interval DEFAULT NULL,
	idempotency_key pg_catalog.text DEFAULT NULL,
	OUT hold_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_hold'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.capture(
	hold_id pg_catalog.int8,
	amount pg_catalog.numeric DEFAULT NULL,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_capture'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.try_capture(
	hold_id pg_catalog.int8,
	amount pg_catalog.numeric DEFAULT NULL,
	OUT status pg_catalog.text,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_try_capture'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.release(hold_id pg_catalog.int8)
RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'transfer_guard_release'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.release_expired()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'transfer_guard_release_expired'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

--
-- Forget the guards (and hot rows) of dropped tables and columns, and keep
-- the tables and columns of open holds (1.5).  SECURITY
-- DEFINER so that the owner of a dropped table need not hold privileges on
-- the registry; it touches nothing but the extension's tables, so its
-- pinned search_path is safe.  Columns are matched by attribute number,
-- which is how the registry records them.  A guard whose column was
-- dropped without this trigger (under session_replication_role = replica)
-- names a column that is gone: attribute numbers are never reused, so it
-- cannot land on another one.
--
CREATE OR REPLACE FUNCTION @extschema@.transfer_guard_on_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	hold_schema pg_catalog.name;
	hold_table pg_catalog.name;
BEGIN
	-- a table or column with open holds stays: they hold its money (1.5)
	SELECT d.schema_name, COALESCE(c.relname, d.object_name)
	  INTO hold_schema, hold_table
	  FROM @extschema@.transfer_guard_hold AS h
	  JOIN pg_catalog.pg_event_trigger_dropped_objects() AS d ON true
	  LEFT JOIN pg_catalog.pg_class AS c
		ON c.oid OPERATOR(pg_catalog.=) d.objid
	 WHERE h.state OPERATOR(pg_catalog.=) 'held'
	   AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND ((d.objid OPERATOR(pg_catalog.=) h.from_table::pg_catalog.oid
			 AND (d.objsubid OPERATOR(pg_catalog.=) 0
				  OR d.objsubid OPERATOR(pg_catalog.=)
					 @extschema@.transfer_guard_column_attnum(h.from_column)))
			OR (d.objid OPERATOR(pg_catalog.=) h.to_table::pg_catalog.oid
				AND (d.objsubid OPERATOR(pg_catalog.=) 0
					 OR d.objsubid OPERATOR(pg_catalog.=)
						@extschema@.transfer_guard_column_attnum(h.to_column))))
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'cannot drop a table or column with open holds'
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = pg_catalog.format('Table %I.%I has open holds.', hold_schema, hold_table),
				  HINT = 'Capture or release its holds first (view transfer_guard_holds).',
				  SCHEMA = hold_schema, TABLE = hold_table;
	END IF;
	DELETE FROM @extschema@.transfer_guard_registry AS r
	 USING pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0
			OR d.objsubid OPERATOR(pg_catalog.=)
			   @extschema@.transfer_guard_column_attnum(r.balance_column));
	-- hot rows, pending credits and slots go with their table or column (1.4)
	DELETE FROM @extschema@.transfer_guard_hot AS h
	 USING pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) h.tbl::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0
			OR d.objsubid OPERATOR(pg_catalog.=)
			   @extschema@.transfer_guard_column_attnum(h.balance_column));
	DELETE FROM @extschema@.transfer_guard_pending AS p
	 USING pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0
			OR d.objsubid OPERATOR(pg_catalog.=)
			   @extschema@.transfer_guard_column_attnum(p.balance_column));
	DELETE FROM @extschema@.transfer_guard_slots AS x
	 USING pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) x.tbl::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0
			OR d.objsubid OPERATOR(pg_catalog.=)
			   @extschema@.transfer_guard_column_attnum(x.balance_column));
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
REVOKE ALL ON FUNCTION @extschema@.transfer_guard_on_drop() FROM PUBLIC;

