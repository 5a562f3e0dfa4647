--
-- test/pgtap/01_surface.sql -- the installed surface of transfer_guard
--
-- Which objects CREATE EXTENSION installs, with their exact signatures,
-- return types, volatility, security and language, and who may read or call
-- them.  The extension is created inside the transaction, which is rolled
-- back, so the database is left as it was found.
--
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS transfer_guard;

SELECT plan(231);

-- the extension as a whole ------------------------------------------------

SELECT has_extension('transfer_guard', 'extension transfer_guard is installed');

SELECT is(
	(SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard'),
	'1.5',
	'CREATE EXTENSION transfer_guard installs version 1.5');

SELECT ok(
	NOT (SELECT extrelocatable FROM pg_extension WHERE extname = 'transfer_guard'),
	'extension transfer_guard is not relocatable');

SELECT set_eq(
	$$SELECT pg_describe_object(classid, objid, objsubid)
	    FROM pg_depend
	   WHERE refclassid = 'pg_extension'::regclass
	     AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'transfer_guard')
	     AND deptype = 'e'
	     -- 18 records the implicit types too (row types of the tables and
	     -- views, array types), which come and go with their owners
	     AND NOT (classid = 'pg_type'::regclass AND objid IN (
	              SELECT oid FROM pg_type
	               WHERE typrelid <> 0 OR (typcategory = 'A' AND typelem <> 0)))$$,
	ARRAY[
		'table transfer_guard_registry',
		'sequence transfer_guard_transfer_id_seq',
		'view transfer_guards',
		'table transfer_guard_journal',
		'view transfer_journal',
		'table transfer_guard_idempotency',
		'table transfer_guard_settings',
		'function transfer_guard_apply_settings()',
		'function journal_account_indexes(boolean)',
		'function guard(regclass,name,numeric,numeric,boolean,name,name)',
		'function unguard(regclass,name)',
		'function transfer(regclass,anycompatible,anycompatible,numeric,name,boolean,regclass,name,text)',
		'function transfer(regclass,text,text,numeric,name,boolean,regclass,name,text)',
		'function try_transfer(regclass,anycompatible,anycompatible,numeric,name,boolean,regclass,name,text)',
		'function try_transfer(regclass,text,text,numeric,name,boolean,regclass,name,text)',
		'function transfer_batch(jsonb,boolean,text)',
		'function transfer_guard_on_drop()',
		'event trigger transfer_guard_on_drop',
		'type transfer_guard_column',
		'function transfer_guard_column_in(cstring)',
		'function transfer_guard_column_out(transfer_guard_column)',
		'function transfer_guard_column_attnum(transfer_guard_column)',
		'table transfer_guard_hot',
		'table transfer_guard_pending',
		'table transfer_guard_slots',
		'view transfer_guard_hot_rows',
		'function set_hot(regclass,text,name,boolean,integer)',
		'function current_balance(regclass,text,name)',
		'function settle(regclass)',
		'function transfer_guard_contention_rows()',
		'view transfer_guard_contention',
		'function transfer_guard_contention_reset()',
		'table transfer_guard_hold',
		'view transfer_guard_holds',
		'function hold(regclass,anycompatible,anycompatible,numeric,name,regclass,name,interval,text)',
		'function hold(regclass,text,text,numeric,name,regclass,name,interval,text)',
		'function capture(bigint,numeric)',
		'function try_capture(bigint,numeric)',
		'function release(bigint)',
		'function release_expired()'],
	'extension transfer_guard installs exactly these objects');

SELECT set_eq(
	$$SELECT unnest(extconfig)::regclass::text
	    FROM pg_extension WHERE extname = 'transfer_guard'$$,
	ARRAY[
		'transfer_guard_registry',
		'transfer_guard_transfer_id_seq',
		'transfer_guard_journal',
		'transfer_guard_idempotency',
		'transfer_guard_settings',
		'transfer_guard_hot',
		'transfer_guard_pending',
		'transfer_guard_slots',
		'transfer_guard_hold'],
	'pg_dump dumps exactly the registry, the transfer id sequence, the journal, the idempotency keys, the settings, the hot rows, the pending credits, the slots and the holds');
SELECT ok(
	(SELECT bool_and(c = '') FROM pg_extension, unnest(extcondition) AS c
	  WHERE extname = 'transfer_guard'),
	'pg_dump dumps every row of the extension''s configuration tables (no WHERE condition)');

-- the replaced signatures are gone ------------------------------------------
-- A function's argument list cannot change in place: 1.1 replaced the 1.0
-- ones, 1.3 the anyelement keys of 1.1 with anycompatible ones, and an old
-- one left behind would make calls ambiguous.

SELECT hasnt_function('guard', ARRAY['regclass', 'name', 'numeric', 'numeric'],
	'the 1.0 guard(regclass, name, numeric, numeric) is not installed');
SELECT hasnt_function('transfer',
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'the 1.0 transfer(regclass, anyelement, ...) without idempotency_key is not installed');
SELECT hasnt_function('transfer',
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'the 1.1 transfer(regclass, anyelement, anyelement, ...) is not installed (1.3 takes anycompatible keys)');
SELECT hasnt_function('try_transfer',
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'the 1.1 try_transfer(regclass, anyelement, anyelement, ...) is not installed (1.3 takes anycompatible keys)');
SELECT hasnt_function('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'the 1.0 transfer(regclass, text, ...) without idempotency_key is not installed');
SELECT hasnt_function('transfer_batch', ARRAY['jsonb', 'boolean'],
	'the 1.0 transfer_batch(jsonb, boolean) is not installed');

-- the seven SQL-callable C functions ----------------------------------------
-- Each is VOLATILE (it locks and updates rows), SECURITY INVOKER (the caller
-- needs the table privileges a plain UPDATE needs), not STRICT (NULL
-- arguments get a proper error or their default meaning), written in C, and
-- executable by PUBLIC (the table privileges are what protect the data).

SELECT has_function('guard', ARRAY['regclass', 'name', 'numeric', 'numeric', 'boolean', 'name', 'name'],
	'function guard(regclass, name, numeric, numeric, boolean, name, name) exists');
SELECT function_returns('guard', ARRAY['regclass', 'name', 'numeric', 'numeric', 'boolean', 'name', 'name'],
	'void',
	'guard(regclass, name, numeric, numeric, boolean, name, name) returns void');
SELECT volatility_is('guard', ARRAY['regclass', 'name', 'numeric', 'numeric', 'boolean', 'name', 'name'],
	'volatile',
	'guard(regclass, name, numeric, numeric, boolean, name, name) is volatile');
SELECT isnt_definer('guard', ARRAY['regclass', 'name', 'numeric', 'numeric', 'boolean', 'name', 'name'],
	'guard(regclass, name, numeric, numeric, boolean, name, name) is security invoker');
SELECT isnt_strict('guard', ARRAY['regclass', 'name', 'numeric', 'numeric', 'boolean', 'name', 'name'],
	'guard(regclass, name, numeric, numeric, boolean, name, name) is not strict');
SELECT function_lang_is('guard', ARRAY['regclass', 'name', 'numeric', 'numeric', 'boolean', 'name', 'name'],
	'c',
	'guard(regclass, name, numeric, numeric, boolean, name, name) is written in C');
SELECT function_privs_are('guard', ARRAY['regclass', 'name', 'numeric', 'numeric', 'boolean', 'name', 'name'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute guard(regclass, name, numeric, numeric, boolean, name, name)');

SELECT has_function('unguard', ARRAY['regclass', 'name'],
	'function unguard(regclass, name) exists');
SELECT function_returns('unguard', ARRAY['regclass', 'name'], 'void',
	'unguard(regclass, name) returns void');
SELECT volatility_is('unguard', ARRAY['regclass', 'name'], 'volatile',
	'unguard(regclass, name) is volatile');
SELECT isnt_definer('unguard', ARRAY['regclass', 'name'],
	'unguard(regclass, name) is security invoker');
SELECT isnt_strict('unguard', ARRAY['regclass', 'name'],
	'unguard(regclass, name) is not strict');
SELECT function_lang_is('unguard', ARRAY['regclass', 'name'], 'c',
	'unguard(regclass, name) is written in C');
SELECT function_privs_are('unguard', ARRAY['regclass', 'name'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute unguard(regclass, name)');

SELECT has_function('transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'function transfer(regclass, anycompatible, anycompatible, numeric, name, boolean, regclass, name, text) exists');
SELECT function_returns('transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'record',
	'transfer(regclass, anycompatible, ...) returns record');
SELECT volatility_is('transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'volatile',
	'transfer(regclass, anycompatible, ...) is volatile');
SELECT isnt_definer('transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'transfer(regclass, anycompatible, ...) is security invoker');
SELECT isnt_strict('transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'transfer(regclass, anycompatible, ...) is not strict');
SELECT function_lang_is('transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'c',
	'transfer(regclass, anycompatible, ...) is written in C');
SELECT function_privs_are('transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute transfer(regclass, anycompatible, ...)');

SELECT has_function('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'function transfer(regclass, text, text, numeric, name, boolean, regclass, name, text) exists');
SELECT function_returns('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'record',
	'transfer(regclass, text, ...) returns record');
SELECT volatility_is('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'volatile',
	'transfer(regclass, text, ...) is volatile');
SELECT isnt_definer('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'transfer(regclass, text, ...) is security invoker');
SELECT isnt_strict('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'transfer(regclass, text, ...) is not strict');
SELECT function_lang_is('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'c',
	'transfer(regclass, text, ...) is written in C');
SELECT function_privs_are('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute transfer(regclass, text, ...)');

SELECT has_function('try_transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'function try_transfer(regclass, anycompatible, anycompatible, numeric, name, boolean, regclass, name, text) exists');
SELECT function_returns('try_transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'record',
	'try_transfer(regclass, anycompatible, ...) returns record');
SELECT volatility_is('try_transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'volatile',
	'try_transfer(regclass, anycompatible, ...) is volatile');
SELECT isnt_definer('try_transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'try_transfer(regclass, anycompatible, ...) is security invoker');
SELECT isnt_strict('try_transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'try_transfer(regclass, anycompatible, ...) is not strict');
SELECT function_lang_is('try_transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'c',
	'try_transfer(regclass, anycompatible, ...) is written in C');
SELECT function_privs_are('try_transfer',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute try_transfer(regclass, anycompatible, ...)');

SELECT has_function('try_transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'function try_transfer(regclass, text, text, numeric, name, boolean, regclass, name, text) exists');
SELECT function_returns('try_transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'record',
	'try_transfer(regclass, text, ...) returns record');
SELECT volatility_is('try_transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'volatile',
	'try_transfer(regclass, text, ...) is volatile');
SELECT isnt_definer('try_transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'try_transfer(regclass, text, ...) is security invoker');
SELECT isnt_strict('try_transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'try_transfer(regclass, text, ...) is not strict');
SELECT function_lang_is('try_transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'c',
	'try_transfer(regclass, text, ...) is written in C');
SELECT function_privs_are('try_transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name', 'text'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute try_transfer(regclass, text, ...)');

SELECT has_function('transfer_batch', ARRAY['jsonb', 'boolean', 'text'],
	'function transfer_batch(jsonb, boolean, text) exists');
SELECT function_returns('transfer_batch', ARRAY['jsonb', 'boolean', 'text'], 'setof record',
	'transfer_batch(jsonb, boolean, text) returns setof record');
SELECT volatility_is('transfer_batch', ARRAY['jsonb', 'boolean', 'text'], 'volatile',
	'transfer_batch(jsonb, boolean, text) is volatile');
SELECT isnt_definer('transfer_batch', ARRAY['jsonb', 'boolean', 'text'],
	'transfer_batch(jsonb, boolean, text) is security invoker');
SELECT isnt_strict('transfer_batch', ARRAY['jsonb', 'boolean', 'text'],
	'transfer_batch(jsonb, boolean, text) is not strict');
SELECT function_lang_is('transfer_batch', ARRAY['jsonb', 'boolean', 'text'], 'c',
	'transfer_batch(jsonb, boolean, text) is written in C');
SELECT function_privs_are('transfer_batch', ARRAY['jsonb', 'boolean', 'text'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute transfer_batch(jsonb, boolean, text)');

-- parameter names, defaults and result columns ------------------------------
-- Callers use named notation (to_table => ..., idempotency_key => ...) and
-- read the result columns by name, so these are part of the interface.

SELECT is(
	(SELECT pg_get_function_arguments(
		'guard(regclass,name,numeric,numeric,boolean,name,name)'::regprocedure)),
	'tbl regclass, balance_column name, min_balance numeric DEFAULT 0, '
	'max_balance numeric DEFAULT NULL::numeric, journal boolean DEFAULT true, '
	'version_column name DEFAULT NULL::name, key_column name DEFAULT NULL::name',
	'guard takes (tbl, balance_column, min_balance DEFAULT 0, max_balance DEFAULT NULL, journal DEFAULT true, version_column DEFAULT NULL, key_column DEFAULT NULL)');
SELECT is(
	(SELECT pg_get_function_arguments('unguard(regclass,name)'::regprocedure)),
	'tbl regclass, balance_column name',
	'unguard takes (tbl, balance_column)');
SELECT is(
	(SELECT pg_get_function_arguments(
		'transfer(regclass,anycompatible,anycompatible,numeric,name,boolean,regclass,name,text)'::regprocedure)),
	'tbl regclass, from_key anycompatible, to_key anycompatible, amount numeric, '
	'balance_column name DEFAULT NULL::name, nowait boolean DEFAULT false, '
	'to_table regclass DEFAULT NULL::regclass, to_column name DEFAULT NULL::name, '
	'idempotency_key text DEFAULT NULL::text, '
	'OUT transfer_id bigint, OUT from_balance numeric, OUT to_balance numeric',
	'transfer(anycompatible keys) takes (tbl, from_key, to_key, amount, balance_column, nowait, to_table, to_column, idempotency_key DEFAULT NULL) and returns (transfer_id, from_balance, to_balance)');
SELECT is(
	(SELECT pg_get_function_arguments(
		'transfer(regclass,text,text,numeric,name,boolean,regclass,name,text)'::regprocedure)),
	'tbl regclass, from_key text, to_key text, amount numeric, '
	'balance_column name DEFAULT NULL::name, nowait boolean DEFAULT false, '
	'to_table regclass DEFAULT NULL::regclass, to_column name DEFAULT NULL::name, '
	'idempotency_key text DEFAULT NULL::text, '
	'OUT transfer_id bigint, OUT from_balance numeric, OUT to_balance numeric',
	'transfer(text keys) takes the same parameters and returns the same columns');
SELECT is(
	(SELECT pg_get_function_arguments(
		'try_transfer(regclass,anycompatible,anycompatible,numeric,name,boolean,regclass,name,text)'::regprocedure)),
	'tbl regclass, from_key anycompatible, to_key anycompatible, amount numeric, '
	'balance_column name DEFAULT NULL::name, nowait boolean DEFAULT false, '
	'to_table regclass DEFAULT NULL::regclass, to_column name DEFAULT NULL::name, '
	'idempotency_key text DEFAULT NULL::text, '
	'OUT status text, OUT transfer_id bigint, OUT from_balance numeric, OUT to_balance numeric',
	'try_transfer(anycompatible keys) takes the parameters of transfer and returns (status, transfer_id, from_balance, to_balance)');
SELECT is(
	(SELECT pg_get_function_arguments(
		'try_transfer(regclass,text,text,numeric,name,boolean,regclass,name,text)'::regprocedure)),
	'tbl regclass, from_key text, to_key text, amount numeric, '
	'balance_column name DEFAULT NULL::name, nowait boolean DEFAULT false, '
	'to_table regclass DEFAULT NULL::regclass, to_column name DEFAULT NULL::name, '
	'idempotency_key text DEFAULT NULL::text, '
	'OUT status text, OUT transfer_id bigint, OUT from_balance numeric, OUT to_balance numeric',
	'try_transfer(text keys) takes the same parameters and returns the same columns');
SELECT is(
	(SELECT pg_get_function_arguments('transfer_batch(jsonb,boolean,text)'::regprocedure)),
	'legs jsonb, nowait boolean DEFAULT false, idempotency_key text DEFAULT NULL::text',
	'transfer_batch takes (legs, nowait DEFAULT false, idempotency_key DEFAULT NULL)');
SELECT is(
	(SELECT pg_get_function_result('transfer_batch(jsonb,boolean,text)'::regprocedure)),
	'TABLE(leg integer, transfer_id bigint, from_balance numeric, to_balance numeric)',
	'transfer_batch returns TABLE(leg, transfer_id, from_balance, to_balance)');

-- the transfer_guards view --------------------------------------------------

SELECT has_view('transfer_guards', 'view transfer_guards exists');
SELECT columns_are('transfer_guards',
	ARRAY['tbl', 'balance_column', 'min_balance', 'max_balance', 'journal', 'version_column', 'key_column'],
	'view transfer_guards has exactly the columns tbl, balance_column, min_balance, max_balance, journal, version_column, key_column');
SELECT col_type_is('transfer_guards', 'tbl', 'regclass',
	'transfer_guards.tbl is regclass');
SELECT col_type_is('transfer_guards', 'balance_column', 'name',
	'transfer_guards.balance_column is name');
SELECT col_type_is('transfer_guards', 'min_balance', 'numeric',
	'transfer_guards.min_balance is numeric');
SELECT col_type_is('transfer_guards', 'max_balance', 'numeric',
	'transfer_guards.max_balance is numeric');
SELECT col_type_is('transfer_guards', 'journal', 'boolean',
	'transfer_guards.journal is boolean');
SELECT col_type_is('transfer_guards', 'version_column', 'name',
	'transfer_guards.version_column is name');
SELECT table_privs_are('transfer_guards', 'public', ARRAY['SELECT'],
	'PUBLIC may read view transfer_guards, and nothing more');

-- the registry table behind it ----------------------------------------------

SELECT has_table('transfer_guard_registry', 'table transfer_guard_registry exists');
SELECT columns_are('transfer_guard_registry',
	ARRAY['tbl', 'balance_column', 'min_balance', 'max_balance', 'journal', 'version_column', 'key_column'],
	'table transfer_guard_registry has exactly the columns tbl, balance_column, min_balance, max_balance, journal, version_column, key_column');
SELECT is(
	(SELECT pg_get_indexdef(i.indexrelid) ~ '^CREATE UNIQUE INDEX \S+ ON \S+ USING btree \(tbl, \S*transfer_guard_column_attnum\(balance_column\)\)$'
	   FROM pg_index i WHERE i.indrelid = 'transfer_guard_registry'::regclass),
	true,
	'a column is guarded at most once: the registry''s one index is unique on (tbl, the balance column''s attribute number)');
SELECT col_not_null('transfer_guard_registry', 'tbl',
	'transfer_guard_registry.tbl is NOT NULL');
SELECT col_not_null('transfer_guard_registry', 'balance_column',
	'transfer_guard_registry.balance_column is NOT NULL');
SELECT col_is_null('transfer_guard_registry', 'min_balance',
	'transfer_guard_registry.min_balance may be NULL (no lower limit)');
SELECT col_is_null('transfer_guard_registry', 'max_balance',
	'transfer_guard_registry.max_balance may be NULL (no upper limit)');
SELECT col_type_is('transfer_guard_registry', 'journal', 'boolean',
	'transfer_guard_registry.journal is boolean');
SELECT col_not_null('transfer_guard_registry', 'journal',
	'transfer_guard_registry.journal is NOT NULL');
SELECT col_default_is('transfer_guard_registry', 'journal', 'true',
	'transfer_guard_registry.journal defaults to true (guards are journaled unless switched off)');
SELECT col_type_is('transfer_guard_registry', 'balance_column', 'transfer_guard_column',
	'transfer_guard_registry.balance_column is transfer_guard_column (by attribute number)');
SELECT col_type_is('transfer_guard_registry', 'version_column', 'transfer_guard_column',
	'transfer_guard_registry.version_column is transfer_guard_column (by attribute number)');
SELECT col_type_is('transfer_guard_registry', 'key_column', 'transfer_guard_column',
	'transfer_guard_registry.key_column is transfer_guard_column (by attribute number)');
SELECT col_is_null('transfer_guard_registry', 'version_column',
	'transfer_guard_registry.version_column may be NULL (no version column)');
SELECT has_check('transfer_guard_registry',
	'transfer_guard_registry has a CHECK constraint (min_balance <= max_balance)');
SELECT table_privs_are('transfer_guard_registry', 'public', ARRAY[]::text[],
	'PUBLIC has no privilege on table transfer_guard_registry');
SELECT ok(
	'transfer_guard_registry'::regclass = ANY (
		SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'transfer_guard'),
	'pg_dump dumps the rows of transfer_guard_registry (extension configuration table)');

-- the journal ------------------------------------------------------------------
-- Written only by the extension, as the extension's owner; read directly
-- only by roles granted SELECT on it, and by everyone else through the
-- transfer_journal view.

SELECT has_table('transfer_guard_journal', 'table transfer_guard_journal exists');
SELECT columns_are('transfer_guard_journal',
	ARRAY['transfer_id', 'batch_id', 'leg', 'created_at',
		  'from_table', 'from_column', 'from_key',
		  'to_table', 'to_column', 'to_key',
		  'amount', 'from_balance', 'to_balance',
		  'caller', 'txid', 'idempotency_key', 'hold_id', 'kind'],
	'table transfer_guard_journal has exactly the columns transfer_id, batch_id, leg, created_at, from_table, from_column, from_key, to_table, to_column, to_key, amount, from_balance, to_balance, caller, txid, idempotency_key, hold_id, kind');
-- (pg_get_expr's text inherits the "C" collation of pg_attrdef.adbin; it is
-- compared with plain literals, hence the COLLATE)
SELECT results_eq(
	$$SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
	         pg_get_expr(d.adbin, d.adrelid) COLLATE "default"
	    FROM pg_attribute AS a
	    LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	   WHERE a.attrelid = 'transfer_guard_journal'::regclass
	     AND a.attnum > 0 AND NOT a.attisdropped
	   ORDER BY a.attnum$$,
	$$VALUES
		('transfer_id'::name, 'bigint', true, NULL::text),
		('batch_id', 'bigint', false, NULL),
		('leg', 'integer', true, NULL),
		('created_at', 'timestamp with time zone', true, 'now()'),
		('from_table', 'regclass', false, NULL),
		('from_column', 'name', false, NULL),
		('from_key', 'text', false, NULL),
		('to_table', 'regclass', false, NULL),
		('to_column', 'name', false, NULL),
		('to_key', 'text', false, NULL),
		('amount', 'numeric', true, NULL),
		('from_balance', 'numeric', false, NULL),
		('to_balance', 'numeric', false, NULL),
		('caller', 'name', true, NULL),
		('txid', 'xid8', true, NULL),
		('idempotency_key', 'text', false, NULL),
		('hold_id', 'bigint', false, NULL),
		('kind', 'text', true, '''transfer''::text')$$,
	'transfer_guard_journal columns, in order, have these types, NOT NULL constraints and defaults (1.5: a step of a hold has no source or no destination)');
SELECT is(
	(SELECT pg_get_constraintdef(oid) FROM pg_constraint
	  WHERE conrelid = 'transfer_guard_journal'::regclass AND conname = 'transfer_guard_journal_kind'),
	'CHECK (((kind = ANY (ARRAY[''transfer''::text, ''hold''::text, ''capture''::text, ''release''::text, ''expire''::text]))'
	' AND ((hold_id IS NULL) = (kind = ''transfer''::text))'
	' AND ((from_table IS NULL) = (kind <> ALL (ARRAY[''transfer''::text, ''hold''::text])))'
	' AND ((to_table IS NULL) = (kind = ''hold''::text))))',
	'constraint transfer_guard_journal_kind: the five kinds; a hold_id exactly on the steps of holds; no source exactly on capture, release and expire rows; no destination exactly on hold rows');
SELECT throws_ok(
	$$INSERT INTO transfer_guard_journal (transfer_id, leg, from_table, from_column, from_key, to_table, to_column, to_key, amount, caller, txid, kind)
	  VALUES (-1, 1, 'pg_class', 'x', '1', 'pg_class', 'x', '2', 1, current_user, pg_current_xact_id(), 'refund')$$,
	'23514', NULL,
	'the journal refuses a kind that is not one of the five (23514)');
SELECT throws_ok(
	$$INSERT INTO transfer_guard_journal (transfer_id, leg, from_table, from_column, from_key, to_table, to_column, to_key, amount, caller, txid, hold_id)
	  VALUES (-1, 1, 'pg_class', 'x', '1', 'pg_class', 'x', '2', 1, current_user, pg_current_xact_id(), 7)$$,
	'23514', NULL,
	'the journal refuses a transfer row with a hold_id (23514)');
SELECT throws_ok(
	$$INSERT INTO transfer_guard_journal (transfer_id, leg, from_table, from_column, from_key, to_table, to_column, to_key, amount, caller, txid, hold_id, kind)
	  VALUES (-1, 1, 'pg_class', 'x', '1', 'pg_class', 'x', '2', 1, current_user, pg_current_xact_id(), -1, 'hold')$$,
	'23514', NULL,
	'the journal refuses a hold row with a destination (23514)');
SELECT throws_ok(
	$$INSERT INTO transfer_guard_journal (transfer_id, leg, from_table, from_column, from_key, to_table, to_column, to_key, amount, caller, txid, hold_id, kind)
	  VALUES (-2, 1, 'pg_class', 'x', '1', 'pg_class', 'x', '2', 1, current_user, pg_current_xact_id(), -1, 'capture')$$,
	'23514', NULL,
	'the journal refuses a capture row with a source (23514)');
SELECT throws_ok(
	$$INSERT INTO transfer_guard_journal (transfer_id, leg, to_table, to_column, to_key, amount, caller, txid, hold_id, kind)
	  VALUES (-3, 1, 'pg_class', 'x', '2', 1, current_user, pg_current_xact_id(), NULL, 'release')$$,
	'23514', NULL,
	'the journal refuses a release row without a hold_id (23514)');
SELECT throws_ok(
	$$INSERT INTO transfer_guard_journal (transfer_id, leg, from_table, from_column, from_key, amount, caller, txid)
	  VALUES (-4, 1, 'pg_class', 'x', '1', 1, current_user, pg_current_xact_id())$$,
	'23514', NULL,
	'the journal refuses a transfer row without a destination (23514)');
SELECT lives_ok(
	$$INSERT INTO transfer_guard_journal (transfer_id, leg, from_table, from_column, from_key, to_table, to_column, to_key, amount, caller, txid, hold_id, kind)
	  VALUES (-5, 1, 'pg_class', 'x', '1', NULL, NULL, NULL, 1, current_user, pg_current_xact_id(), -5, 'hold'),
	         (-6, 1, NULL, NULL, NULL, 'pg_class', 'x', '2', 1, current_user, pg_current_xact_id(), -5, 'expire'),
	         (-7, 1, 'pg_class', 'x', '1', 'pg_class', 'x', '2', 1, current_user, pg_current_xact_id(), NULL, DEFAULT)$$,
	'the journal takes a hold row without a destination, an expire row without a source, and a transfer row whose kind defaults to transfer');
SELECT col_is_pk('transfer_guard_journal', 'transfer_id',
	'a transfer id is journaled at most once: the journal key is transfer_id');
SELECT indexes_are('transfer_guard_journal',
	ARRAY['transfer_guard_journal_pkey', 'transfer_guard_journal_from', 'transfer_guard_journal_to'],
	'transfer_guard_journal has exactly the indexes on transfer_id, (from_table, from_key) and (to_table, to_key)');
SELECT has_index('transfer_guard_journal', 'transfer_guard_journal_from',
	ARRAY['from_table', 'from_key'],
	'the journal is indexed by (from_table, from_key), to find the debits of a row');
SELECT has_index('transfer_guard_journal', 'transfer_guard_journal_to',
	ARRAY['to_table', 'to_key'],
	'the journal is indexed by (to_table, to_key), to find the credits of a row');
SELECT table_privs_are('transfer_guard_journal', 'public', ARRAY[]::text[],
	'PUBLIC has no privilege on table transfer_guard_journal');
SELECT ok(
	'transfer_guard_journal'::regclass = ANY (
		SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'transfer_guard'),
	'pg_dump dumps the rows of transfer_guard_journal (extension configuration table)');

-- the journal's indexes by account (1.2) ---------------------------------------
-- transfer_guard_settings holds the choice (no row: indexed); its statement
-- trigger makes the journal's indexes match; journal_account_indexes() is
-- how the journal's owner changes it.  PL/pgSQL without a pinned
-- search_path (their DDL fires the database's event triggers, which must
-- see the caller's); every name in them is qualified.

SELECT has_table('transfer_guard_settings', 'table transfer_guard_settings exists');
SELECT columns_are('transfer_guard_settings', ARRAY['journal_account_indexes'],
	'table transfer_guard_settings has exactly the column journal_account_indexes');
SELECT col_type_is('transfer_guard_settings', 'journal_account_indexes', 'boolean',
	'transfer_guard_settings.journal_account_indexes is boolean');
SELECT col_not_null('transfer_guard_settings', 'journal_account_indexes',
	'transfer_guard_settings.journal_account_indexes is NOT NULL');
SELECT is(
	(SELECT pg_get_indexdef('transfer_guard_settings_one_row'::regclass)),
	'CREATE UNIQUE INDEX transfer_guard_settings_one_row ON public.transfer_guard_settings USING btree ((true))',
	'transfer_guard_settings holds one row at most');
SELECT is_empty('SELECT * FROM transfer_guard_settings',
	'a fresh installation stores no setting: the journal is indexed by account');
SELECT table_privs_are('transfer_guard_settings', 'public', ARRAY['SELECT'],
	'PUBLIC may read table transfer_guard_settings, and nothing more');
SELECT ok(
	'transfer_guard_settings'::regclass = ANY (
		SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'transfer_guard'),
	'pg_dump dumps the rows of transfer_guard_settings (extension configuration table)');
SELECT trigger_is('transfer_guard_settings', 'transfer_guard_apply_settings',
	'transfer_guard_apply_settings',
	'a trigger on transfer_guard_settings applies the setting');
SELECT is(
	(SELECT pg_get_triggerdef(oid) FROM pg_trigger
	  WHERE tgrelid = 'transfer_guard_settings'::regclass AND NOT tgisinternal),
	'CREATE TRIGGER transfer_guard_apply_settings AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE '
	'ON public.transfer_guard_settings FOR EACH STATEMENT EXECUTE FUNCTION transfer_guard_apply_settings()',
	'the trigger fires after every statement that can change the setting, TRUNCATE included');
SELECT is(
	(SELECT tgenabled FROM pg_trigger
	  WHERE tgrelid = 'transfer_guard_settings'::regclass AND NOT tgisinternal),
	'A'::"char",
	'the trigger fires always, also under session_replication_role = replica');

SELECT has_function('journal_account_indexes', ARRAY['boolean'],
	'function journal_account_indexes(boolean) exists');
SELECT is(
	(SELECT pg_get_function_arguments('journal_account_indexes(boolean)'::regprocedure)),
	'enabled boolean',
	'journal_account_indexes takes (enabled)');
SELECT function_returns('journal_account_indexes', ARRAY['boolean'], 'void',
	'journal_account_indexes(boolean) returns void');
SELECT volatility_is('journal_account_indexes', ARRAY['boolean'], 'volatile',
	'journal_account_indexes(boolean) is volatile');
SELECT isnt_definer('journal_account_indexes', ARRAY['boolean'],
	'journal_account_indexes(boolean) is security invoker: only the journal''s owner can change its indexes');
SELECT function_lang_is('journal_account_indexes', ARRAY['boolean'], 'plpgsql',
	'journal_account_indexes(boolean) is written in PL/pgSQL');
SELECT is(
	(SELECT proconfig FROM pg_proc WHERE oid = 'journal_account_indexes(boolean)'::regprocedure),
	ARRAY['lock_timeout=100ms'],
	'journal_account_indexes(boolean) waits for the journal''s lock 100 ms at a time, and does not pin search_path');
SELECT function_privs_are('journal_account_indexes', ARRAY['boolean'],
	'public', ARRAY[]::text[],
	'PUBLIC may not execute journal_account_indexes(boolean)');
SELECT isnt_definer('transfer_guard_apply_settings', ARRAY[]::text[],
	'transfer_guard_apply_settings() is security invoker');
SELECT is(
	(SELECT proconfig FROM pg_proc WHERE oid = 'transfer_guard_apply_settings()'::regprocedure),
	NULL,
	'transfer_guard_apply_settings() sets no configuration (search_path is the caller''s)');
SELECT function_privs_are('transfer_guard_apply_settings', ARRAY[]::text[],
	'public', ARRAY[]::text[],
	'PUBLIC may not execute transfer_guard_apply_settings()');

-- the transfer_journal view ----------------------------------------------------

SELECT has_view('transfer_journal', 'view transfer_journal exists');
SELECT columns_are('transfer_journal',
	ARRAY['transfer_id', 'batch_id', 'leg', 'created_at',
		  'from_table', 'from_column', 'from_key',
		  'to_table', 'to_column', 'to_key',
		  'amount', 'from_balance', 'to_balance',
		  'caller', 'txid', 'idempotency_key', 'hold_id', 'kind'],
	'view transfer_journal has exactly the columns of transfer_guard_journal');
SELECT results_eq(
	$$SELECT attname, format_type(atttypid, atttypmod)
	    FROM pg_attribute
	   WHERE attrelid = 'transfer_journal'::regclass AND attnum > 0 AND NOT attisdropped
	   ORDER BY attnum$$,
	$$SELECT attname, format_type(atttypid, atttypmod)
	    FROM pg_attribute
	   WHERE attrelid = 'transfer_guard_journal'::regclass AND attnum > 0 AND NOT attisdropped
	   ORDER BY attnum$$,
	'view transfer_journal columns have the names, order and types of the journal''s');
SELECT is(
	(SELECT reloptions FROM pg_class WHERE oid = 'transfer_journal'::regclass),
	ARRAY['security_barrier=true'],
	'view transfer_journal is a security_barrier view, and not security_invoker (it reads the journal with its owner''s rights)');
SELECT is(
	(SELECT relowner FROM pg_class WHERE oid = 'transfer_journal'::regclass),
	(SELECT relowner FROM pg_class WHERE oid = 'transfer_guard_journal'::regclass),
	'view transfer_journal is owned by the owner of transfer_guard_journal');
SELECT table_privs_are('transfer_journal', 'public', ARRAY['SELECT'],
	'PUBLIC may read view transfer_journal, and nothing more');

-- the idempotency keys -----------------------------------------------------------

SELECT has_table('transfer_guard_idempotency', 'table transfer_guard_idempotency exists');
SELECT columns_are('transfer_guard_idempotency',
	ARRAY['caller', 'idempotency_key', 'request', 'result', 'created_at'],
	'table transfer_guard_idempotency has exactly the columns caller, idempotency_key, request, result, created_at');
SELECT results_eq(
	$$SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
	         pg_get_expr(d.adbin, d.adrelid) COLLATE "default"
	    FROM pg_attribute AS a
	    LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	   WHERE a.attrelid = 'transfer_guard_idempotency'::regclass
	     AND a.attnum > 0 AND NOT a.attisdropped
	   ORDER BY a.attnum$$,
	$$VALUES
		('caller'::name, 'name', true, NULL::text),
		('idempotency_key', 'text', true, NULL),
		('request', 'jsonb', true, NULL),
		('result', 'jsonb', true, NULL),
		('created_at', 'timestamp with time zone', true, 'now()')$$,
	'transfer_guard_idempotency columns, in order, have these types, NOT NULL constraints and defaults');
SELECT col_is_pk('transfer_guard_idempotency', ARRAY['caller', 'idempotency_key'],
	'a key is recorded once per role: the key of transfer_guard_idempotency is (caller, idempotency_key)');
SELECT table_privs_are('transfer_guard_idempotency', 'public', ARRAY[]::text[],
	'PUBLIC has no privilege on table transfer_guard_idempotency');
SELECT ok(
	'transfer_guard_idempotency'::regclass = ANY (
		SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'transfer_guard'),
	'pg_dump dumps the rows of transfer_guard_idempotency (extension configuration table)');

-- the transfer id sequence --------------------------------------------------

SELECT has_sequence('transfer_guard_transfer_id_seq',
	'sequence transfer_guard_transfer_id_seq exists');
SELECT sequence_privs_are('transfer_guard_transfer_id_seq', 'public', ARRAY[]::text[],
	'PUBLIC has no privilege on sequence transfer_guard_transfer_id_seq');

-- the event trigger that forgets the guards of dropped tables and columns ----

SELECT is(
	(SELECT evtevent FROM pg_event_trigger WHERE evtname = 'transfer_guard_on_drop'),
	'sql_drop',
	'event trigger transfer_guard_on_drop exists and fires on sql_drop');
SELECT is(
	(SELECT evtfoid::regprocedure FROM pg_event_trigger WHERE evtname = 'transfer_guard_on_drop'),
	'transfer_guard_on_drop()'::regprocedure,
	'event trigger transfer_guard_on_drop calls function transfer_guard_on_drop()');
SELECT is(
	(SELECT evtenabled FROM pg_event_trigger WHERE evtname = 'transfer_guard_on_drop'),
	'O'::"char",
	'event trigger transfer_guard_on_drop is enabled');
SELECT function_returns('transfer_guard_on_drop', ARRAY[]::text[], 'event_trigger',
	'transfer_guard_on_drop() returns event_trigger');
SELECT is_definer('transfer_guard_on_drop', ARRAY[]::text[],
	'transfer_guard_on_drop() is security definer, so a table owner without registry privileges can drop a guarded table');
SELECT function_privs_are('transfer_guard_on_drop', ARRAY[]::text[], 'public', ARRAY[]::text[],
	'PUBLIC may not execute transfer_guard_on_drop()');
SELECT is(
	(SELECT proconfig FROM pg_proc WHERE oid = 'transfer_guard_on_drop()'::regprocedure),
	ARRAY['search_path=pg_catalog, pg_temp'],
	'transfer_guard_on_drop() pins search_path to pg_catalog, pg_temp');

-- the registry's column type -------------------------------------------------

SELECT is(
	(SELECT array_agg(e.evtname ORDER BY e.evtname) FROM pg_event_trigger e
	  WHERE e.evtfoid::regproc::text LIKE 'transfer_guard%'),
	ARRAY['transfer_guard_on_drop']::name[],
	'the one event trigger is transfer_guard_on_drop: renames need none, columns being recorded by attribute number');
SELECT is(
	(SELECT t.typlen || ' ' || t.typalign::text || ' ' || t.typstorage::text || ' ' || t.typbyval
	   FROM pg_type t WHERE t.typname = 'transfer_guard_column'),
	'8 i p false',
	'type transfer_guard_column is 8 bytes, int-aligned, plain, by reference');
SELECT volatility_is('transfer_guard_column_in', ARRAY['cstring'], 'stable',
	'transfer_guard_column_in() is STABLE: it resolves names in the catalogs');
SELECT volatility_is('transfer_guard_column_out', ARRAY['transfer_guard_column'], 'stable',
	'transfer_guard_column_out() is STABLE: it prints current names');
SELECT volatility_is('transfer_guard_column_attnum', ARRAY['transfer_guard_column'], 'immutable',
	'transfer_guard_column_attnum() is IMMUTABLE, as the registry''s unique index needs');

-- hot rows (1.4) ---------------------------------------------------------------
-- set_hot() and settle() write (VOLATILE); current_balance() reads in the
-- caller's snapshot (STABLE).  All are security invoker, not strict, in C,
-- and executable by PUBLIC: the table privileges protect the data.

SELECT function_returns('set_hot', ARRAY['regclass', 'text', 'name', 'boolean', 'integer'], 'void',
	'set_hot(regclass, text, name, boolean, integer) returns void');
SELECT is(
	(SELECT pg_get_function_arguments('set_hot(regclass,text,name,boolean,integer)'::regprocedure)),
	'tbl regclass, key text, balance_column name DEFAULT NULL::name, hot boolean DEFAULT true, slots integer DEFAULT 0',
	'set_hot takes (tbl, key, balance_column DEFAULT NULL, hot DEFAULT true, slots DEFAULT 0)');
SELECT volatility_is('set_hot', ARRAY['regclass', 'text', 'name', 'boolean', 'integer'], 'volatile',
	'set_hot() is volatile');
SELECT function_returns('current_balance', ARRAY['regclass', 'text', 'name'], 'numeric',
	'current_balance(regclass, text, name) returns numeric');
SELECT is(
	(SELECT pg_get_function_arguments('current_balance(regclass,text,name)'::regprocedure)),
	'tbl regclass, key text, balance_column name DEFAULT NULL::name',
	'current_balance takes (tbl, key, balance_column DEFAULT NULL)');
SELECT volatility_is('current_balance', ARRAY['regclass', 'text', 'name'], 'stable',
	'current_balance() is stable (one snapshot per statement)');
SELECT function_returns('settle', ARRAY['regclass'], 'bigint',
	'settle(regclass) returns bigint');
SELECT is(
	(SELECT pg_get_function_arguments('settle(regclass)'::regprocedure)),
	'tbl regclass DEFAULT NULL::regclass',
	'settle takes (tbl DEFAULT NULL)');
SELECT volatility_is('settle', ARRAY['regclass'], 'volatile',
	'settle() is volatile');
SELECT is(
	(SELECT count(*)::int FROM pg_proc
	  WHERE oid IN ('set_hot(regclass,text,name,boolean,integer)'::regprocedure,
					'current_balance(regclass,text,name)'::regprocedure,
					'settle(regclass)'::regprocedure)
		AND NOT prosecdef AND NOT proisstrict
		AND prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
		AND has_function_privilege('public', oid, 'EXECUTE')),
	3,
	'set_hot, current_balance and settle are security invoker, not strict, in C, executable by PUBLIC');

SELECT has_table('transfer_guard_hot', 'table transfer_guard_hot exists');
SELECT columns_are('transfer_guard_hot',
	ARRAY['tbl', 'balance_column', 'key', 'slots', 'marked_at', 'last_settle'],
	'table transfer_guard_hot has exactly the columns tbl, balance_column, key, slots, marked_at, last_settle');
SELECT col_type_is('transfer_guard_hot', 'balance_column', 'transfer_guard_column',
	'transfer_guard_hot.balance_column is transfer_guard_column (by attribute number)');
SELECT table_privs_are('transfer_guard_hot', 'public', ARRAY[]::text[],
	'PUBLIC has no privilege on table transfer_guard_hot');
SELECT has_table('transfer_guard_pending', 'table transfer_guard_pending exists');
SELECT columns_are('transfer_guard_pending',
	ARRAY['tbl', 'balance_column', 'key', 'amount', 'transfer_id', 'created_at'],
	'table transfer_guard_pending has exactly the columns tbl, balance_column, key, amount, transfer_id, created_at');
SELECT col_type_is('transfer_guard_pending', 'amount', 'numeric',
	'transfer_guard_pending.amount is numeric (exact, never rounded)');
SELECT table_privs_are('transfer_guard_pending', 'public', ARRAY[]::text[],
	'PUBLIC has no privilege on table transfer_guard_pending');
SELECT has_table('transfer_guard_slots', 'table transfer_guard_slots exists');
SELECT columns_are('transfer_guard_slots',
	ARRAY['tbl', 'balance_column', 'key', 'slot', 'amount'],
	'table transfer_guard_slots has exactly the columns tbl, balance_column, key, slot, amount');
SELECT has_check('transfer_guard_slots',
	'table transfer_guard_slots has a CHECK constraint (a slot never goes below zero)');
SELECT table_privs_are('transfer_guard_slots', 'public', ARRAY[]::text[],
	'PUBLIC has no privilege on table transfer_guard_slots');
SELECT has_view('transfer_guard_hot_rows', 'view transfer_guard_hot_rows exists');
SELECT columns_are('transfer_guard_hot_rows',
	ARRAY['tbl', 'balance_column', 'key', 'slots', 'slot_amount', 'pending_count', 'pending_amount', 'marked_at', 'last_settle'],
	'view transfer_guard_hot_rows has exactly the columns tbl, balance_column, key, slots, slot_amount, pending_count, pending_amount, marked_at, last_settle');
SELECT table_privs_are('transfer_guard_hot_rows', 'public', ARRAY['SELECT'],
	'PUBLIC may read view transfer_guard_hot_rows, and nothing more');
SELECT ok(
	(SELECT reloptions FROM pg_class WHERE oid = 'transfer_guard_hot_rows'::regclass)
		@> ARRAY['security_barrier=true'],
	'view transfer_guard_hot_rows is a security barrier (it filters by the caller''s table ownership)');

-- holds (1.5) ------------------------------------------------------------------
-- hold(), capture(), try_capture(), release() and release_expired() write
-- (VOLATILE, PARALLEL UNSAFE), run with the caller's rights (SECURITY
-- INVOKER: the table privileges, policies and triggers apply as to a
-- transfer), are not strict (a NULL gets its error or its default meaning),
-- are written in C, and are executable by PUBLIC.

SELECT has_function('hold',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'regclass', 'name', 'interval', 'text'],
	'function hold(regclass, anycompatible, anycompatible, numeric, name, regclass, name, interval, text) exists');
SELECT has_function('hold',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'regclass', 'name', 'interval', 'text'],
	'function hold(regclass, text, text, numeric, name, regclass, name, interval, text) exists');
SELECT has_function('capture', ARRAY['bigint', 'numeric'], 'function capture(bigint, numeric) exists');
SELECT has_function('try_capture', ARRAY['bigint', 'numeric'], 'function try_capture(bigint, numeric) exists');
SELECT has_function('release', ARRAY['bigint'], 'function release(bigint) exists');
SELECT has_function('release_expired', ARRAY[]::text[], 'function release_expired() exists');
SELECT is(
	(SELECT pg_get_function_arguments(
		'hold(regclass,anycompatible,anycompatible,numeric,name,regclass,name,interval,text)'::regprocedure)),
	'tbl regclass, from_key anycompatible, to_key anycompatible, amount numeric, '
	'balance_column name DEFAULT NULL::name, to_table regclass DEFAULT NULL::regclass, '
	'to_column name DEFAULT NULL::name, expires_in interval DEFAULT NULL::interval, '
	'idempotency_key text DEFAULT NULL::text, '
	'OUT hold_id bigint, OUT from_balance numeric',
	'hold(anycompatible keys) takes (tbl, from_key, to_key, amount, balance_column, to_table, to_column, expires_in, idempotency_key DEFAULT NULL) and returns (hold_id, from_balance)');
SELECT is(
	(SELECT pg_get_function_arguments(
		'hold(regclass,text,text,numeric,name,regclass,name,interval,text)'::regprocedure)),
	'tbl regclass, from_key text, to_key text, amount numeric, '
	'balance_column name DEFAULT NULL::name, to_table regclass DEFAULT NULL::regclass, '
	'to_column name DEFAULT NULL::name, expires_in interval DEFAULT NULL::interval, '
	'idempotency_key text DEFAULT NULL::text, '
	'OUT hold_id bigint, OUT from_balance numeric',
	'hold(text keys) takes the same parameters and returns the same columns');
SELECT is(
	(SELECT pg_get_function_arguments('capture(bigint,numeric)'::regprocedure)),
	'hold_id bigint, amount numeric DEFAULT NULL::numeric, '
	'OUT transfer_id bigint, OUT from_balance numeric, OUT to_balance numeric',
	'capture takes (hold_id, amount DEFAULT NULL) and returns (transfer_id, from_balance, to_balance)');
SELECT is(
	(SELECT pg_get_function_arguments('try_capture(bigint,numeric)'::regprocedure)),
	'hold_id bigint, amount numeric DEFAULT NULL::numeric, '
	'OUT status text, OUT transfer_id bigint, OUT from_balance numeric, OUT to_balance numeric',
	'try_capture takes (hold_id, amount DEFAULT NULL) and returns (status, transfer_id, from_balance, to_balance)');
SELECT is(
	(SELECT pg_get_function_arguments('release(bigint)'::regprocedure)),
	'hold_id bigint',
	'release takes (hold_id)');
SELECT function_returns('hold',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'regclass', 'name', 'interval', 'text'],
	'record', 'hold(regclass, anycompatible, ...) returns record');
SELECT function_returns('hold',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'regclass', 'name', 'interval', 'text'],
	'record', 'hold(regclass, text, ...) returns record');
SELECT function_returns('capture', ARRAY['bigint', 'numeric'], 'record', 'capture(bigint, numeric) returns record');
SELECT function_returns('try_capture', ARRAY['bigint', 'numeric'], 'record', 'try_capture(bigint, numeric) returns record');
SELECT function_returns('release', ARRAY['bigint'], 'numeric', 'release(bigint) returns numeric (the source''s balance)');
SELECT function_returns('release_expired', ARRAY[]::text[], 'bigint', 'release_expired() returns bigint (how many it released)');
SELECT is(
	(SELECT string_agg(format('%s %s %s %s %s %s', oid::regprocedure, provolatile, proparallel, prosecdef, proisstrict,
			(SELECT lanname FROM pg_language WHERE oid = prolang)), '; ' ORDER BY oid::regprocedure::text)
	   FROM pg_proc
	  WHERE proname IN ('hold', 'capture', 'try_capture', 'release', 'release_expired')
		AND pronamespace = (SELECT extnamespace FROM pg_extension WHERE extname = 'transfer_guard')),
	'capture(bigint,numeric) v u f f c; '
	'hold(regclass,anycompatible,anycompatible,numeric,name,regclass,name,interval,text) v u f f c; '
	'hold(regclass,text,text,numeric,name,regclass,name,interval,text) v u f f c; '
	'release(bigint) v u f f c; '
	'release_expired() v u f f c; '
	'try_capture(bigint,numeric) v u f f c',
	'the six hold functions are volatile, parallel unsafe, security invoker, not strict, and written in C');
SELECT function_privs_are('hold',
	ARRAY['regclass', 'anycompatible', 'anycompatible', 'numeric', 'name', 'regclass', 'name', 'interval', 'text'],
	'public', ARRAY['EXECUTE'], 'PUBLIC may execute hold(regclass, anycompatible, ...)');
SELECT function_privs_are('hold',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'regclass', 'name', 'interval', 'text'],
	'public', ARRAY['EXECUTE'], 'PUBLIC may execute hold(regclass, text, ...)');
SELECT function_privs_are('capture', ARRAY['bigint', 'numeric'], 'public', ARRAY['EXECUTE'],
	'PUBLIC may execute capture(bigint, numeric)');
SELECT function_privs_are('try_capture', ARRAY['bigint', 'numeric'], 'public', ARRAY['EXECUTE'],
	'PUBLIC may execute try_capture(bigint, numeric)');
SELECT function_privs_are('release', ARRAY['bigint'], 'public', ARRAY['EXECUTE'],
	'PUBLIC may execute release(bigint)');
SELECT function_privs_are('release_expired', ARRAY[]::text[], 'public', ARRAY['EXECUTE'],
	'PUBLIC may execute release_expired()');

-- the holds' table: written only by the extension, on the caller's behalf

SELECT has_table('transfer_guard_hold', 'table transfer_guard_hold exists');
SELECT columns_are('transfer_guard_hold',
	ARRAY['hold_id', 'from_table', 'from_column', 'from_key', 'to_table', 'to_column', 'to_key',
		  'amount', 'state', 'placed_by', 'created_at', 'expires_at', 'captured', 'transfer_id', 'closed_at'],
	'table transfer_guard_hold has exactly the columns hold_id, from_table, from_column, from_key, to_table, to_column, to_key, amount, state, placed_by, created_at, expires_at, captured, transfer_id, closed_at');
SELECT results_eq(
	$$SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
	         pg_get_expr(d.adbin, d.adrelid) COLLATE "default"
	    FROM pg_attribute AS a
	    LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	   WHERE a.attrelid = 'transfer_guard_hold'::regclass
	     AND a.attnum > 0 AND NOT a.attisdropped
	   ORDER BY a.attnum$$,
	$$VALUES
		('hold_id'::name, 'bigint', true, NULL::text),
		('from_table', 'regclass', true, NULL),
		('from_column', 'transfer_guard_column', true, NULL),
		('from_key', 'text', true, NULL),
		('to_table', 'regclass', true, NULL),
		('to_column', 'transfer_guard_column', true, NULL),
		('to_key', 'text', true, NULL),
		('amount', 'numeric', true, NULL),
		('state', 'text', true, '''held''::text'),
		('placed_by', 'name', true, NULL),
		('created_at', 'timestamp with time zone', true, NULL),
		('expires_at', 'timestamp with time zone', false, NULL),
		('captured', 'numeric', false, NULL),
		('transfer_id', 'bigint', false, NULL),
		('closed_at', 'timestamp with time zone', false, NULL)$$,
	'transfer_guard_hold columns, in order, have these types, NOT NULL constraints and defaults (columns by attribute number, the placing role by name, no expiry: NULL)');
SELECT col_is_pk('transfer_guard_hold', 'hold_id',
	'a hold is recorded once: the key of transfer_guard_hold is hold_id');
SELECT results_eq(
	$$SELECT conname::text COLLATE "default", pg_get_constraintdef(oid) COLLATE "default" FROM pg_constraint
	   WHERE conrelid = 'transfer_guard_hold'::regclass AND contype = 'c' ORDER BY conname$$,
	$$VALUES ('transfer_guard_hold_amount', 'CHECK ((amount > (0)::numeric))'),
	         ('transfer_guard_hold_state', 'CHECK ((state = ANY (ARRAY[''held''::text, ''captured''::text, ''released''::text, ''expired''::text])))')$$,
	'transfer_guard_hold checks that a hold holds more than 0 and is held, captured, released or expired');
SELECT indexes_are('transfer_guard_hold',
	ARRAY['transfer_guard_hold_pkey', 'transfer_guard_hold_expiry'],
	'transfer_guard_hold has exactly the indexes on hold_id and on the expiry of open holds');
SELECT is(
	(SELECT pg_get_indexdef('transfer_guard_hold_expiry'::regclass)),
	'CREATE INDEX transfer_guard_hold_expiry ON public.transfer_guard_hold USING btree (expires_at) WHERE (state = ''held''::text)',
	'the expired holds are found through a partial index of the open holds by expiry');
SELECT table_privs_are('transfer_guard_hold', 'public', ARRAY[]::text[],
	'PUBLIC has no privilege on table transfer_guard_hold');
SELECT ok(
	'transfer_guard_hold'::regclass = ANY (
		SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'transfer_guard'),
	'pg_dump dumps the rows of transfer_guard_hold (extension configuration table)');

-- the holds' view: each role sees its holds and those on its tables

SELECT has_view('transfer_guard_holds', 'view transfer_guard_holds exists');
SELECT results_eq(
	$$SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
	   WHERE attrelid = 'transfer_guard_holds'::regclass AND attnum > 0 AND NOT attisdropped
	   ORDER BY attnum$$,
	$$VALUES ('hold_id'::name, 'bigint'), ('from_table', 'regclass'), ('from_column', 'name'),
	         ('from_key', 'text'), ('to_table', 'regclass'), ('to_column', 'name'), ('to_key', 'text'),
	         ('amount', 'numeric'), ('state', 'text'), ('created_at', 'timestamp with time zone'),
	         ('expires_at', 'timestamp with time zone'), ('transfer_id', 'bigint'), ('captured', 'numeric'),
	         ('closed_at', 'timestamp with time zone'), ('placed_by', 'name')$$,
	'view transfer_guard_holds has exactly the columns hold_id, from_table, from_column, from_key, to_table, to_column, to_key, amount, state, created_at, expires_at, transfer_id, captured, closed_at, placed_by, with these types (columns by name)');
SELECT is(
	(SELECT reloptions FROM pg_class WHERE oid = 'transfer_guard_holds'::regclass),
	ARRAY['security_barrier=true'],
	'view transfer_guard_holds is a security_barrier view, and not security_invoker (it reads the holds with its owner''s rights)');
SELECT is(
	(SELECT relowner FROM pg_class WHERE oid = 'transfer_guard_holds'::regclass),
	(SELECT relowner FROM pg_class WHERE oid = 'transfer_guard_hold'::regclass),
	'view transfer_guard_holds is owned by the owner of transfer_guard_hold');
SELECT table_privs_are('transfer_guard_holds', 'public', ARRAY['SELECT'],
	'PUBLIC may read view transfer_guard_holds, and nothing more');
SELECT is(
	(SELECT proconfig FROM pg_proc WHERE oid = 'transfer_guard_on_drop()'::regprocedure),
	ARRAY['search_path=pg_catalog, pg_temp'],
	'transfer_guard_on_drop(), which now also refuses to drop what open holds use, still pins search_path');

-- contention (1.4) ---------------------------------------------------------------
SELECT has_view('transfer_guard_contention', 'view transfer_guard_contention exists');
SELECT columns_are('transfer_guard_contention',
	ARRAY['tbl', 'key', 'waits', 'wait_time', 'last_wait'],
	'view transfer_guard_contention has exactly the columns tbl, key, waits, wait_time, last_wait');
SELECT table_privs_are('transfer_guard_contention', 'public', ARRAY['SELECT'],
	'PUBLIC may read view transfer_guard_contention, and nothing more');
SELECT function_privs_are('transfer_guard_contention_rows', ARRAY[]::text[],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may call transfer_guard_contention_rows(), which shows each role the rows of its own tables');
SELECT isnt_definer('transfer_guard_contention_rows', ARRAY[]::text[],
	'transfer_guard_contention_rows() is security invoker (it filters by the caller)');
SELECT function_privs_are('transfer_guard_contention_reset', ARRAY[]::text[],
	'public', ARRAY[]::text[],
	'PUBLIC may not call transfer_guard_contention_reset() (the extension''s owner only)');

SELECT * FROM finish();
ROLLBACK;
