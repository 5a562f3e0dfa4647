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

SELECT plan(70);

-- the extension as a whole ------------------------------------------------

SELECT has_extension('transfer_guard', 'extension transfer_guard is installed');

SELECT ok(
	NOT (SELECT extrelocatable FROM pg_extension WHERE extname = 'transfer_guard'),
	'extension transfer_guard is not relocatable');

SELECT set_eq(
	$$SELECT pg_describe_object(classid, objid, objsubid)
	    FROM pg_depend
	   WHERE refclassid = 'pg_extension'::regclass
	     AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'transfer_guard')
	     AND deptype = 'e'$$,
	ARRAY[
		'table transfer_guard_registry',
		'sequence transfer_guard_transfer_id_seq',
		'view transfer_guards',
		'function guard(regclass,name,numeric,numeric)',
		'function unguard(regclass,name)',
		'function transfer(regclass,anyelement,anyelement,numeric,name,boolean,regclass,name)',
		'function transfer(regclass,text,text,numeric,name,boolean,regclass,name)',
		'function transfer_batch(jsonb,boolean)',
		'function transfer_guard_on_drop()',
		'event trigger transfer_guard_on_drop'],
	'extension transfer_guard installs exactly these objects');

-- the five SQL-callable C functions ----------------------------------------
-- Each is VOLATILE (it locks and updates rows), SECURITY INVOKER (the caller
-- needs the table privileges a plain UPDATE needs), not STRICT (NULL
-- arguments get a proper error or their default meaning), written in C, and
-- executable by PUBLIC (the table privileges are what protect the data).

SELECT has_function('guard', ARRAY['regclass', 'name', 'numeric', 'numeric'],
	'function guard(regclass, name, numeric, numeric) exists');
SELECT function_returns('guard', ARRAY['regclass', 'name', 'numeric', 'numeric'], 'void',
	'guard(regclass, name, numeric, numeric) returns void');
SELECT volatility_is('guard', ARRAY['regclass', 'name', 'numeric', 'numeric'], 'volatile',
	'guard(regclass, name, numeric, numeric) is volatile');
SELECT isnt_definer('guard', ARRAY['regclass', 'name', 'numeric', 'numeric'],
	'guard(regclass, name, numeric, numeric) is security invoker');
SELECT isnt_strict('guard', ARRAY['regclass', 'name', 'numeric', 'numeric'],
	'guard(regclass, name, numeric, numeric) is not strict');
SELECT function_lang_is('guard', ARRAY['regclass', 'name', 'numeric', 'numeric'], 'c',
	'guard(regclass, name, numeric, numeric) is written in C');
SELECT function_privs_are('guard', ARRAY['regclass', 'name', 'numeric', 'numeric'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute guard(regclass, name, numeric, numeric)');

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
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'function transfer(regclass, anyelement, anyelement, numeric, name, boolean, regclass, name) exists');
SELECT function_returns('transfer',
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'record',
	'transfer(regclass, anyelement, ...) returns record');
SELECT volatility_is('transfer',
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'volatile',
	'transfer(regclass, anyelement, ...) is volatile');
SELECT isnt_definer('transfer',
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'transfer(regclass, anyelement, ...) is security invoker');
SELECT isnt_strict('transfer',
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'transfer(regclass, anyelement, ...) is not strict');
SELECT function_lang_is('transfer',
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'c',
	'transfer(regclass, anyelement, ...) is written in C');
SELECT function_privs_are('transfer',
	ARRAY['regclass', 'anyelement', 'anyelement', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute transfer(regclass, anyelement, ...)');

SELECT has_function('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'function transfer(regclass, text, text, numeric, name, boolean, regclass, name) exists');
SELECT function_returns('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'record',
	'transfer(regclass, text, ...) returns record');
SELECT volatility_is('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'volatile',
	'transfer(regclass, text, ...) is volatile');
SELECT isnt_definer('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'transfer(regclass, text, ...) is security invoker');
SELECT isnt_strict('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'transfer(regclass, text, ...) is not strict');
SELECT function_lang_is('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'c',
	'transfer(regclass, text, ...) is written in C');
SELECT function_privs_are('transfer',
	ARRAY['regclass', 'text', 'text', 'numeric', 'name', 'boolean', 'regclass', 'name'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute transfer(regclass, text, ...)');

SELECT has_function('transfer_batch', ARRAY['jsonb', 'boolean'],
	'function transfer_batch(jsonb, boolean) exists');
SELECT function_returns('transfer_batch', ARRAY['jsonb', 'boolean'], 'setof record',
	'transfer_batch(jsonb, boolean) returns setof record');
SELECT volatility_is('transfer_batch', ARRAY['jsonb', 'boolean'], 'volatile',
	'transfer_batch(jsonb, boolean) is volatile');
SELECT isnt_definer('transfer_batch', ARRAY['jsonb', 'boolean'],
	'transfer_batch(jsonb, boolean) is security invoker');
SELECT isnt_strict('transfer_batch', ARRAY['jsonb', 'boolean'],
	'transfer_batch(jsonb, boolean) is not strict');
SELECT function_lang_is('transfer_batch', ARRAY['jsonb', 'boolean'], 'c',
	'transfer_batch(jsonb, boolean) is written in C');
SELECT function_privs_are('transfer_batch', ARRAY['jsonb', 'boolean'],
	'public', ARRAY['EXECUTE'],
	'PUBLIC may execute transfer_batch(jsonb, boolean)');

-- parameter names, defaults and result columns ------------------------------
-- Callers use named notation (to_table => ...) and read the result columns
-- by name, so these are part of the interface.

SELECT is(
	(SELECT pg_get_function_arguments('guard(regclass,name,numeric,numeric)'::regprocedure)),
	'tbl regclass, balance_column name, min_balance numeric DEFAULT 0, max_balance numeric DEFAULT NULL::numeric',
	'guard takes (tbl, balance_column, min_balance DEFAULT 0, max_balance DEFAULT NULL)');
SELECT is(
	(SELECT pg_get_function_arguments('unguard(regclass,name)'::regprocedure)),
	'tbl regclass, balance_column name',
	'unguard takes (tbl, balance_column)');
SELECT is(
	(SELECT pg_get_function_arguments(
		'transfer(regclass,anyelement,anyelement,numeric,name,boolean,regclass,name)'::regprocedure)),
	'tbl regclass, from_key anyelement, to_key anyelement, amount numeric, '
	'balance_column name DEFAULT NULL::name, nowait boolean DEFAULT false, '
	'to_table regclass DEFAULT NULL::regclass, to_column name DEFAULT NULL::name, '
	'OUT transfer_id bigint, OUT from_balance numeric, OUT to_balance numeric',
	'transfer(anyelement keys) takes (tbl, from_key, to_key, amount, balance_column, nowait, to_table, to_column) and returns (transfer_id, from_balance, to_balance)');
SELECT is(
	(SELECT pg_get_function_arguments(
		'transfer(regclass,text,text,numeric,name,boolean,regclass,name)'::regprocedure)),
	'tbl regclass, from_key text, to_key text, amount numeric, '
	'balance_column name DEFAULT NULL::name, nowait boolean DEFAULT false, '
	'to_table regclass DEFAULT NULL::regclass, to_column name DEFAULT NULL::name, '
	'OUT transfer_id bigint, OUT from_balance numeric, OUT to_balance numeric',
	'transfer(text keys) takes the same parameters and returns the same columns');
SELECT is(
	(SELECT pg_get_function_result('transfer_batch(jsonb,boolean)'::regprocedure)),
	'TABLE(leg integer, transfer_id bigint, from_balance numeric, to_balance numeric)',
	'transfer_batch returns TABLE(leg, transfer_id, from_balance, to_balance)');
SELECT is(
	(SELECT pg_get_function_arguments('transfer_batch(jsonb,boolean)'::regprocedure)),
	'legs jsonb, nowait boolean DEFAULT false',
	'transfer_batch takes (legs, nowait DEFAULT false)');

-- the transfer_guards view --------------------------------------------------

SELECT has_view('transfer_guards', 'view transfer_guards exists');
SELECT columns_are('transfer_guards',
	ARRAY['tbl', 'balance_column', 'min_balance', 'max_balance'],
	'view transfer_guards has exactly the columns tbl, balance_column, min_balance, max_balance');
SELECT col_type_is('transfer_guards', 'tbl', 'regclass',
	'transfer_guards.tbl is regclass');
SELECT col_type_is('transfer_guards', 'balance_column', 'name',
	'transfer_guards.balance_column is name');
SELECT col_type_is('transfer_guards', 'min_balance', 'numeric',
	'transfer_guards.min_balance is numeric');
SELECT col_type_is('transfer_guards', 'max_balance', 'numeric',
	'transfer_guards.max_balance is numeric');
SELECT table_privs_are('transfer_guards', 'public', ARRAY['SELECT'],
	'PUBLIC may read view transfer_guards, and nothing more');

-- the registry table behind it ----------------------------------------------

SELECT has_table('transfer_guard_registry', 'table transfer_guard_registry exists');
SELECT columns_are('transfer_guard_registry',
	ARRAY['tbl', 'balance_column', 'min_balance', 'max_balance'],
	'table transfer_guard_registry has exactly the columns tbl, balance_column, min_balance, max_balance');
SELECT col_is_pk('transfer_guard_registry', ARRAY['tbl', 'balance_column'],
	'a column is guarded at most once: the registry key is (tbl, balance_column)');
SELECT col_not_null('transfer_guard_registry', 'tbl',
	'transfer_guard_registry.tbl is NOT NULL');
SELECT col_not_null('transfer_guard_registry', 'balance_column',
	'transfer_guard_registry.balance_column is NOT NULL');
SELECT col_is_null('transfer_guard_registry', 'min_balance',
	'transfer_guard_registry.min_balance may be NULL (no lower limit)');
SELECT col_is_null('transfer_guard_registry', 'max_balance',
	'transfer_guard_registry.max_balance may be NULL (no upper limit)');
SELECT has_check('transfer_guard_registry',
	'transfer_guard_registry has a CHECK constraint (min_balance <= max_balance)');
SELECT table_privs_are('transfer_guard_registry', 'public', ARRAY[]::text[],
	'PUBLIC has no privilege on table transfer_guard_registry');
SELECT ok(
	'transfer_guard_registry'::regclass = ANY (
		SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'transfer_guard'),
	'pg_dump dumps the rows of transfer_guard_registry (extension configuration table)');

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

SELECT * FROM finish();
ROLLBACK;
