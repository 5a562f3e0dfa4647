--
-- upgrade: guards made under 1.0 keep working after ALTER EXTENSION
-- UPDATE to 1.1, 1.2, 1.3, 1.4 and then 1.5, and an updated 1.0 has
-- exactly the shape of a fresh 1.5.
--

-- everything a client or pg_dump can see of the installed extension
CREATE FUNCTION tg_shape() RETURNS SETOF text LANGUAGE sql AS $$
	WITH ext AS (
		SELECT oid, extconfig FROM pg_extension WHERE extname = 'transfer_guard'
	), members AS (
		SELECT d.classid, d.objid FROM pg_depend d, ext
		 WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid
		   AND d.deptype = 'e'
	)
	SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members
	UNION ALL
	SELECT format('function %s(%s) returns %s volatile=%s secdef=%s strict=%s config=%s src=%s acl=%s',
				  p.proname, pg_get_function_arguments(p.oid),
				  pg_get_function_result(p.oid), p.provolatile, p.prosecdef,
				  p.proisstrict, p.proconfig, p.prosrc,
				  (SELECT string_agg(a::text, ',' ORDER BY a::text)
					 FROM unnest(p.proacl) AS a))
	  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
	UNION ALL
	SELECT format('relation %s kind=%s options=%s acl=%s', c.relname, c.relkind,
				  c.reloptions,
				  (SELECT string_agg(a::text, ',' ORDER BY a::text)
					 FROM unnest(c.relacl) AS a))
	  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	UNION ALL
	SELECT format('column %s.%s %s %s notnull=%s default=%s', c.relname, a.attnum,
				  a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
				  pg_get_expr(d.adbin, d.adrelid))
	  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	UNION ALL
	SELECT format('constraint %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
	  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	  JOIN pg_constraint k ON k.conrelid = c.oid
	UNION ALL
	SELECT format('index %s %s', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid))
	  FROM members m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
	UNION ALL
	SELECT format('view %s %s', c.relname, pg_get_viewdef(c.oid))
	  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	 WHERE c.relkind = 'v'
	UNION ALL
	SELECT format('trigger %s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
	  FROM members m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid
	 WHERE NOT t.tgisinternal
	UNION ALL
	SELECT 'dumped ' || cfg::regclass::text FROM ext, unnest(ext.extconfig) AS cfg
	UNION ALL
	SELECT format('event trigger %s on %s enabled=%s', evtname, evtevent, evtenabled)
	  FROM members m JOIN pg_event_trigger e
		ON m.classid = 'pg_event_trigger'::regclass AND e.oid = m.objid
$$;

DROP EXTENSION transfer_guard;
CREATE EXTENSION transfer_guard VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard';

-- guards made, and used, under 1.0
CREATE TABLE u_acc (id bigint PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO u_acc SELECT g, 100 FROM generate_series(1, 3) g;
SELECT guard('u_acc', 'balance', 0, 1000);
SELECT from_balance, to_balance FROM transfer('u_acc', 1, 2, 10);
SELECT count(*) FROM transfer_batch('[{"from_table": "u_acc", "from_key": 2, "to_key": 3, "amount": 5}]');
SELECT * FROM transfer_guards;

ALTER EXTENSION transfer_guard UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard';

-- the same guard, its limits kept, now journaled
SELECT * FROM transfer_guards;
SELECT from_balance, to_balance FROM transfer('u_acc', 1, 2, 10);
SELECT * FROM tg_try($$SELECT * FROM transfer('u_acc', 1, 2, 1000)$$);
SELECT from_key, to_key, amount, from_balance, to_balance FROM transfer_guard_journal;
-- and the 1.1 functions work on it
SELECT status FROM try_transfer('u_acc', 3, 1, 1, idempotency_key => 'u-1');
SELECT status FROM try_transfer('u_acc', 3, 1, 1, idempotency_key => 'u-1');
SELECT guard('u_acc', 'balance', 0, 1000, journal => false);
SELECT * FROM u_acc ORDER BY id;

-- 1.1 to 1.2: the journal's indexes by account can be switched off
ALTER EXTENSION transfer_guard UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard';
SELECT journal_account_indexes(false);
SELECT count(*) AS journal_indexes FROM pg_index
 WHERE indrelid = 'transfer_guard_journal'::regclass;
SELECT from_balance, to_balance FROM transfer('u_acc', 1, 2, 1);
SELECT journal_account_indexes(true);
SELECT count(*) AS journal_indexes FROM pg_index
 WHERE indrelid = 'transfer_guard_journal'::regclass;
SELECT * FROM u_acc ORDER BY id;

-- 1.2 to 1.3: names in the registry become attribute numbers.  Under 1.2
-- a rename through a parent table left a name that names no column; the
-- update drops that guard with a warning, and keeps the others.
CREATE TABLE u_par (id int NOT NULL, balance bigint NOT NULL);
CREATE TABLE u_kid (id int PRIMARY KEY, balance bigint NOT NULL, ver int NOT NULL DEFAULT 0)
	INHERITS (u_par);
INSERT INTO u_kid VALUES (1, 50), (2, 50);
SELECT guard('u_kid', 'balance', version_column => 'ver');
ALTER TABLE u_par RENAME balance TO funds;
CREATE TABLE u_ver (id int PRIMARY KEY, balance bigint NOT NULL, "Ver" int NOT NULL DEFAULT 0);
INSERT INTO u_ver VALUES (1, 50), (2, 50);
SELECT guard('u_ver', 'balance', version_column => 'Ver');
SELECT tbl, balance_column, version_column, key_column FROM transfer_guards ORDER BY tbl::text;
-- a view of a user's built on transfer_guards stays
CREATE VIEW u_guards AS SELECT tbl, balance_column FROM transfer_guards;
ALTER EXTENSION transfer_guard UPDATE TO '1.3';
SELECT * FROM u_guards ORDER BY tbl::text;
DROP VIEW u_guards;
SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard';
SELECT tbl, balance_column, version_column, key_column FROM transfer_guards ORDER BY tbl::text;
SELECT tbl, balance_column, version_column, key_column FROM transfer_guard_registry ORDER BY tbl::text;
SELECT from_balance, to_balance FROM transfer('u_acc', 1, 2, 1);
SELECT * FROM u_acc ORDER BY id;
-- the kept guards follow renames from now on
ALTER TABLE u_ver RENAME "Ver" TO version;
ALTER TABLE u_ver RENAME balance TO funds;
SELECT from_balance, to_balance FROM transfer('u_ver', 1, 2, 5);
SELECT * FROM u_ver ORDER BY id;
SELECT * FROM tg_try($$SELECT * FROM transfer('u_kid', 1, 2, 5)$$);
SELECT guard('u_kid', 'funds', version_column => 'ver');
SELECT from_balance, to_balance FROM transfer('u_kid', 1, 2, 5);
DROP TABLE u_kid, u_par, u_ver;

-- 1.3 to 1.4: hot rows.  Guards and journal rows stay, and a row of a
-- table guarded before the update can be made hot
SELECT count(*) AS journal_rows_before FROM transfer_guard_journal \gset
ALTER EXTENSION transfer_guard UPDATE TO '1.4';
SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard';
SELECT count(*) = :journal_rows_before AS journal_kept FROM transfer_guard_journal;
SELECT tbl, balance_column, version_column, key_column FROM transfer_guards ORDER BY tbl::text;
-- (a hot row's column has no ceiling)
SELECT * FROM tg_try($$SELECT set_hot('u_acc', '2')$$);
SELECT guard('u_acc', 'balance', min_balance => 0);
SELECT set_hot('u_acc', '2');
SELECT from_balance, to_balance FROM transfer('u_acc', 1, 2, 1);
SELECT current_balance('u_acc', '2') AS current_2, balance AS column_2
  FROM u_acc WHERE id = 2;
SELECT set_hot('u_acc', '2', hot => false);
SELECT * FROM u_acc ORDER BY id;
SELECT count(*) AS pending FROM transfer_guard_pending;

-- 1.4 to 1.5: holds.  Journal rows stay (as transfers), a pending credit
-- of a hot row stays, and a table guarded before the update takes holds,
-- journaled with their kind
SELECT set_hot('u_acc', '2');
SELECT from_balance, to_balance FROM transfer('u_acc', 1, 2, 1);
SELECT count(*) AS journal_rows_before FROM transfer_guard_journal \gset
ALTER EXTENSION transfer_guard UPDATE TO '1.5';
SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard';
SELECT count(*) = :journal_rows_before AS journal_kept,
	   bool_and(kind = 'transfer' AND hold_id IS NULL) AS all_transfers
  FROM transfer_guard_journal;
SELECT count(*) AS pending FROM transfer_guard_pending;
SELECT hold_id > 0 AS placed, from_balance FROM hold('u_acc', 1, 2, 3);
SELECT from_balance, to_balance FROM capture(
	(SELECT max(hold_id) FROM transfer_guard_holds), 2);
SELECT kind, from_key, to_key, amount FROM transfer_guard_journal
 WHERE kind <> 'transfer' ORDER BY transfer_id;
SELECT set_hot('u_acc', '2', hot => false);
SELECT * FROM u_acc ORDER BY id;

-- the updated extension has the shape of a fresh one
CREATE TEMP TABLE shape_updated AS SELECT tg_shape() AS line;
DROP EXTENSION transfer_guard;
CREATE EXTENSION transfer_guard;
SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard';
CREATE TEMP TABLE shape_fresh AS SELECT tg_shape() AS line;
SELECT count(*) > 30 AS shape_has_content FROM shape_fresh;
SELECT 'only after update' AS side, line FROM (
	SELECT line FROM shape_updated EXCEPT SELECT line FROM shape_fresh) AS d
UNION ALL
SELECT 'only in fresh', line FROM (
	SELECT line FROM shape_fresh EXCEPT SELECT line FROM shape_updated) AS d
ORDER BY 1, 2;

DROP TABLE u_acc;
DROP FUNCTION tg_shape();

-- installed in a schema whose name needs quoting, the switch finds and
-- makes the journal's indexes there
DROP EXTENSION transfer_guard;
CREATE SCHEMA "Odd Schema";
CREATE EXTENSION transfer_guard SCHEMA "Odd Schema";
SELECT "Odd Schema".journal_account_indexes(false);
SELECT string_agg(indexrelid::regclass::text, ' ' ORDER BY indexrelid::regclass::text)
  FROM pg_index WHERE indrelid = '"Odd Schema".transfer_guard_journal'::regclass;
SELECT "Odd Schema".journal_account_indexes(true);
SELECT string_agg(indexrelid::regclass::text, ' ' ORDER BY indexrelid::regclass::text)
  FROM pg_index WHERE indrelid = '"Odd Schema".transfer_guard_journal'::regclass;
DROP EXTENSION transfer_guard;
DROP SCHEMA "Odd Schema";
CREATE EXTENSION transfer_guard;

-- 1.2 to 1.3 makes transfer() and try_transfer() again, with anycompatible
-- keys: a view calling the 1.2 function stops the update (DROP FUNCTION
-- refuses), which then changes nothing; without the view it goes through
DROP EXTENSION transfer_guard;
CREATE EXTENSION transfer_guard VERSION '1.2';
CREATE VIEW u_calls AS SELECT * FROM transfer('accounts', 1, 2, 1);
ALTER EXTENSION transfer_guard UPDATE TO '1.3';
SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard';
DROP VIEW u_calls;
ALTER EXTENSION transfer_guard UPDATE TO '1.3';
SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard';
SELECT guard('accounts', 'balance');
SELECT from_balance, to_balance FROM transfer('accounts', 1::smallint, 2::bigint, 1);
SELECT from_balance, to_balance FROM transfer('accounts', 2, 1, 1);
