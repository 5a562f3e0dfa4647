--
-- test/fuzz/attack.sql -- planted objects, privileges, row-level security,
-- ownership and SQL injection
--
-- Run by test/fuzz/run.sh after lib.sql, as a superuser, in a database where
-- transfer_guard is installed in schema public.  Every planted function
-- raises SQLSTATE XE001, so a check fails with XE001 if the extension ever
-- calls one; a control check first shows that the planted objects are live
-- (an unqualified reference in the same search_path does reach them).
--
\set ON_ERROR_STOP 1
\pset tuples_only on
\pset format unaligned
SET client_min_messages = warning;

DROP SCHEMA IF EXISTS evil CASCADE;
DROP TABLE IF EXISTS a_big, a_int, a_num, a_text, a_uuid, a_priv, a_rls, inj_victim CASCADE;
DO $$
BEGIN
	DROP OWNED BY atk_owner, atk_user, atk_evil;
	DROP ROLE atk_owner, atk_user, atk_evil;
EXCEPTION WHEN undefined_object THEN
	NULL;
END;
$$;
CREATE ROLE atk_owner;
CREATE ROLE atk_user;
CREATE ROLE atk_evil;
GRANT CREATE ON SCHEMA public TO atk_owner, atk_evil;
DO $$
BEGIN
	EXECUTE format('GRANT CREATE ON DATABASE %I TO atk_evil', current_database());
END;
$$;

-- ---------------------------------------------------------------------------
-- Planted objects
-- ---------------------------------------------------------------------------
CREATE TABLE a_big (id bigint PRIMARY KEY, bal bigint NOT NULL);
CREATE TABLE a_int (id int PRIMARY KEY, bal int NOT NULL);
CREATE TABLE a_num (id numeric PRIMARY KEY, bal numeric NOT NULL);
CREATE TABLE a_text (id text PRIMARY KEY, bal numeric(10,2) NOT NULL);
CREATE TABLE a_uuid (id uuid PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO a_big VALUES (1, 100), (2, 100), (3, 100);
INSERT INTO a_int VALUES (1, 100), (2, 100), (3, 100);
INSERT INTO a_num VALUES (1, 100), (2, 100), (3, 100);
INSERT INTO a_text VALUES ('a', 100), ('b', 100), ('c', 100);
INSERT INTO a_uuid VALUES ('00000000-0000-0000-0000-000000000001', 100),
	('00000000-0000-0000-0000-000000000002', 100), ('00000000-0000-0000-0000-000000000003', 100);
SELECT guard('a_big', 'bal') \g /dev/null
SELECT guard('a_int', 'bal') \g /dev/null
SELECT guard('a_num', 'bal') \g /dev/null
SELECT guard('a_text', 'bal') \g /dev/null
SELECT guard('a_uuid', 'bal') \g /dev/null

SET ROLE atk_evil;
CREATE SCHEMA evil;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
DO $$
DECLARE
	t text;
	f text;
	o text;
	body text := $b$BEGIN RAISE EXCEPTION 'planted function called by %', current_user USING ERRCODE = 'XE001'; END$b$;
BEGIN
	FOREACH t IN ARRAY ARRAY['bigint', 'integer', 'smallint', 'numeric', 'text', 'uuid', 'name', 'oid', 'regclass'] LOOP
		f := replace(t, ' ', '_');
		EXECUTE format('CREATE FUNCTION evil.cmp_%s(%s, %s) RETURNS boolean LANGUAGE plpgsql AS %L', f, t, t, body);
		EXECUTE format('CREATE FUNCTION evil.any_%s(%s, %s[]) RETURNS boolean LANGUAGE plpgsql AS %L', f, t, t, body);
		FOREACH o IN ARRAY ARRAY['=', '<', '>', '<=', '>=', '<>'] LOOP
			EXECUTE format('CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.cmp_%s)', o, t, t, f);
		END LOOP;
		EXECUTE format('CREATE OPERATOR evil.= (LEFTARG = %s, RIGHTARG = %s[], FUNCTION = evil.any_%s)', t, t, f);
		IF t IN ('bigint', 'integer', 'smallint', 'numeric') THEN
			EXECUTE format('CREATE FUNCTION evil.add_%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS %L', f, t, t, t, body);
			EXECUTE format('CREATE OPERATOR evil.+ (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.add_%s)', t, t, f);
			EXECUTE format('CREATE OPERATOR evil.- (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.add_%s)', t, t, f);
		END IF;
	END LOOP;
	-- mixed integer widths, as a "col + $2" of a narrower column would use
	EXECUTE format('CREATE FUNCTION evil.add_int4_int8(integer, bigint) RETURNS bigint LANGUAGE plpgsql AS %L', body);
	EXECUTE format('CREATE FUNCTION evil.add_int2_int8(smallint, bigint) RETURNS bigint LANGUAGE plpgsql AS %L', body);
	EXECUTE 'CREATE OPERATOR evil.+ (LEFTARG = integer, RIGHTARG = bigint, FUNCTION = evil.add_int4_int8)';
	EXECUTE 'CREATE OPERATOR evil.+ (LEFTARG = smallint, RIGHTARG = bigint, FUNCTION = evil.add_int2_int8)';
END;
$$;
CREATE FUNCTION evil.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted unnest' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil.array_position(anyarray, anyelement) RETURNS int LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted array_position' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil."array"(anyelement) RETURNS anyarray LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted array' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil.nextval(regclass) RETURNS bigint LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted nextval' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted now' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil.jsonb_build_object(VARIADIC text[]) RETURNS jsonb LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted jsonb_build_object' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil.numeric(bigint) RETURNS numeric LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted numeric' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil.int8(numeric) RETURNS bigint LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted int8' USING ERRCODE = 'XE001'; END$$;
-- tables of the same names as the guarded ones and the registry
CREATE TABLE evil.a_big (id bigint PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO evil.a_big VALUES (1, 0), (2, 0);
CREATE TABLE evil.transfer_guard_registry (tbl regclass, balance_column name, min_balance numeric, max_balance numeric);
CREATE TABLE evil.transfer_guard_journal (x int);
RESET ROLE;

-- planted temporary objects: a temp table of the same name, temp functions
-- and operators (pg_temp is never searched for those, whatever the path says)
CREATE TEMP TABLE a_big (id bigint PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO pg_temp.a_big VALUES (1, 0), (2, 0);
CREATE FUNCTION pg_temp.boom_b(bigint, bigint) RETURNS boolean LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted temp function' USING ERRCODE = 'XE001'; END$$;
CREATE OPERATOR pg_temp.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = pg_temp.boom_b);
CREATE OPERATOR pg_temp.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = pg_temp.boom_b);

-- control: the planted objects are live in the paths used below
SET search_path = evil, public, pg_catalog;
SELECT tgt.expect('control: with evil first, an unqualified bigint = reaches the planted operator',
	$$SELECT 1::bigint = 2::bigint$$, 'XE001');
SELECT tgt.expect('control: with evil first, an unqualified numeric + reaches the planted operator',
	$$SELECT 1::numeric + 2::numeric$$, 'XE001');
SELECT tgt.expect('control: with evil first, ORDER BY a text column does not use a planted < (so ORDER BY needs no qualifying)',
	$$SELECT id FROM public.a_text ORDER BY id$$, '00000');
SELECT tgt.expect('control: with evil first, unnest reaches the planted function',
	$$SELECT unnest(ARRAY[1])$$, 'XE001');

-- the victim is a superuser with the attacker's schema first and pg_catalog last
SELECT tgt.expect('planted, pg_catalog last: transfer on a bigint key', $$SELECT * FROM public.transfer('public.a_big', 1, 2, 5)$$, '00000');
SELECT tgt.expect('planted, pg_catalog last: transfer on an integer key and column', $$SELECT * FROM public.transfer('public.a_int', 1::int, 2::int, 5)$$, '00000');
SELECT tgt.expect('planted, pg_catalog last: transfer on a numeric key and column', $$SELECT * FROM public.transfer('public.a_num', 1::numeric, 2::numeric, 5)$$, '00000');
SELECT tgt.expect('planted, pg_catalog last: transfer on a text key', $$SELECT * FROM public.transfer('public.a_text', 'a', 'b', 5)$$, '00000');
SELECT tgt.expect('planted, pg_catalog last: transfer on a uuid key',
	$$SELECT * FROM public.transfer('public.a_uuid', '00000000-0000-0000-0000-000000000001'::uuid, '00000000-0000-0000-0000-000000000002'::uuid, 5)$$, '00000');
SELECT tgt.expect('planted, pg_catalog last: a batch over all five tables, keys in descending order',
	$$SELECT * FROM public.transfer_batch('[{"from_table": "public.a_big", "from_key": 3, "to_key": 2, "amount": 1},
		{"from_table": "public.a_big", "from_key": 2, "to_key": 1, "amount": 1},
		{"from_table": "public.a_int", "from_key": 3, "to_key": 1, "amount": 1},
		{"from_table": "public.a_num", "from_key": 3, "to_key": 1, "amount": 1},
		{"from_table": "public.a_text", "from_key": "c", "to_key": "a", "amount": 1},
		{"from_table": "public.a_uuid", "from_key": "00000000-0000-0000-0000-000000000003", "to_key": "00000000-0000-0000-0000-000000000001", "amount": 1}]')$$, '00000');
SELECT tgt.expect('planted, pg_catalog last: a refused transfer raises the extension''s error, not the planted one', $$SELECT * FROM public.transfer('public.a_big', 1, 2, 1000)$$, '23514');
SELECT tgt.expect('planted, pg_catalog last: guard()', $$SELECT public.guard('public.a_big', 'bal', 0, 1000000)$$, '00000');
SELECT tgt.expect('planted, pg_catalog last: unguard()', $$SELECT public.unguard('public.a_big', 'bal')$$, '00000');
SELECT tgt.expect('planted, pg_catalog last: guard() again', $$SELECT public.guard('public.a_big', 'bal')$$, '00000');
SELECT tgt.expect('planted, pg_catalog last: a transfer after the guard changed', $$SELECT * FROM public.transfer('public.a_big', 2, 1, 5)$$, '00000');
SET search_path = pg_temp, evil, public, pg_catalog;
SELECT tgt.expect('planted, pg_temp first: transfer on a bigint key', $$SELECT * FROM public.transfer('public.a_big', 1, 2, 5)$$, '00000');
SELECT tgt.expect('planted, pg_temp first: a batch', $$SELECT * FROM public.transfer_batch('[{"from_table": "public.a_big", "from_key": 2, "to_key": 1, "amount": 5}]')$$, '00000');
RESET search_path;
SELECT tgt.is('planted: a_big balances as moved', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM public.a_big), '101,100,99');
SELECT tgt.is('planted: a_int balances as moved', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM public.a_int), '96,105,99');
SELECT tgt.is('planted: a_num balances as moved', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM public.a_num), '96,105,99');
SELECT tgt.is('planted: a_text balances as moved', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM public.a_text), '96.00,105.00,99.00');
SELECT tgt.is('planted: a_uuid balances as moved', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM public.a_uuid), '96,105,99');
SELECT tgt.is('planted: the attacker''s table of the same name is untouched', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM evil.a_big), '0,0');
SELECT tgt.is('planted: the temp table of the same name is untouched', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM pg_temp.a_big), '0,0');
SELECT tgt.is('planted: the attacker''s registry of the same name is untouched', (SELECT count(*) FROM evil.transfer_guard_registry), 0::bigint);
SELECT tgt.is('planted: the real registry holds the guard', (SELECT count(*) FROM public.transfer_guard_registry WHERE tbl = 'public.a_big'::regclass), 1::bigint);
DROP TABLE pg_temp.a_big;

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------
CREATE TABLE a_priv (id int PRIMARY KEY, bal bigint NOT NULL, note text);
INSERT INTO a_priv VALUES (1, 100, 'x'), (2, 100, 'y');
ALTER TABLE a_priv OWNER TO atk_owner;
SET ROLE atk_owner;
SELECT guard('a_priv', 'bal') \g /dev/null
RESET ROLE;
SET ROLE atk_user;
SELECT tgt.expect('privileges: no privilege at all is 42501', $$SELECT * FROM transfer('a_priv', 1, 2, 1)$$, '42501');
RESET ROLE;
GRANT SELECT ON a_priv TO atk_user;
SET ROLE atk_user;
SELECT tgt.expect('privileges: SELECT without UPDATE is 42501', $$SELECT * FROM transfer('a_priv', 1, 2, 1)$$, '42501');
SELECT tgt.expect('privileges: SELECT without UPDATE is 42501 in a batch', $$SELECT * FROM transfer_batch('[{"from_table": "a_priv", "from_key": 1, "to_key": 2, "amount": 1}]')$$, '42501');
RESET ROLE;
GRANT UPDATE (note) ON a_priv TO atk_user;
SET ROLE atk_user;
SELECT tgt.expect('privileges: UPDATE on another column only is 42501', $$SELECT * FROM transfer('a_priv', 1, 2, 1)$$, '42501');
RESET ROLE;
REVOKE ALL ON a_priv FROM atk_user;
GRANT UPDATE (bal) ON a_priv TO atk_user;
SET ROLE atk_user;
SELECT tgt.expect('privileges: UPDATE on the balance without SELECT is 42501', $$SELECT * FROM transfer('a_priv', 1, 2, 1)$$, '42501');
RESET ROLE;
GRANT SELECT (id, bal) ON a_priv TO atk_user;
SET ROLE atk_user;
SELECT tgt.expect('privileges: SELECT on key and balance and UPDATE on the balance suffice', $$SELECT * FROM transfer('a_priv', 1, 2, 1)$$, '00000');
RESET ROLE;
SELECT tgt.is('privileges: only the permitted transfer moved money', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM a_priv), '99,101');

-- ownership: only the owner may guard, unguard or change limits
SET ROLE atk_user;
SELECT tgt.expect('ownership: a non-owner cannot guard', $$SELECT guard('a_priv', 'bal', -1000000)$$, '42501');
SELECT tgt.expect('ownership: a non-owner cannot change limits by guarding another column', $$SELECT guard('a_priv', 'note')$$, '42501');
SELECT tgt.expect('ownership: a non-owner cannot unguard', $$SELECT unguard('a_priv', 'bal')$$, '42501');
SELECT tgt.expect('ownership: the registry cannot be inserted into', $$INSERT INTO transfer_guard_registry (tbl, balance_column) VALUES ('a_priv', 'a_priv.note')$$, '42501');
SELECT tgt.expect('ownership: the registry cannot be updated', $$UPDATE transfer_guard_registry SET min_balance = -1000000$$, '42501');
SELECT tgt.expect('ownership: the registry cannot be deleted from', $$DELETE FROM transfer_guard_registry$$, '42501');
SELECT tgt.expect('ownership: the view transfer_guards cannot be updated', $$UPDATE transfer_guards SET min_balance = -1000000$$, '42501');
SELECT tgt.expect('ownership: the view transfer_guards cannot be deleted from', $$DELETE FROM transfer_guards$$, '42501');
SELECT tgt.expect('ownership: the transfer id sequence cannot be advanced', $$SELECT nextval('transfer_guard_transfer_id_seq')$$, '42501');
SELECT tgt.expect('ownership: the transfer id sequence cannot be reset', $$SELECT setval('transfer_guard_transfer_id_seq', 1)$$, '42501');
SELECT tgt.expect('ownership: the drop event trigger function cannot be called', $$SELECT transfer_guard_on_drop()$$, '42501');
RESET ROLE;
SELECT tgt.is('ownership: the guard is as the owner set it', (SELECT format('%s/%s', min_balance, max_balance) FROM transfer_guards WHERE tbl = 'a_priv'::regclass), '0/');

-- ---------------------------------------------------------------------------
-- Row-level security
-- ---------------------------------------------------------------------------
CREATE TABLE a_rls (id int PRIMARY KEY, bal bigint NOT NULL, owner name NOT NULL);
INSERT INTO a_rls VALUES (1, 100, 'atk_user'), (2, 100, 'atk_user'), (3, 100, 'atk_owner'), (4, 100, 'atk_owner');
ALTER TABLE a_rls OWNER TO atk_owner;
SET ROLE atk_owner;
SELECT guard('a_rls', 'bal') \g /dev/null
ALTER TABLE a_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON a_rls USING (owner = current_user);
GRANT SELECT, UPDATE ON a_rls TO atk_user;
RESET ROLE;
SET ROLE atk_user;
SELECT tgt.expect('RLS: a hidden row as destination is P0002', $$SELECT * FROM transfer('a_rls', 1, 3, 10)$$, 'P0002');
SELECT tgt.expect('RLS: a hidden row as source is P0002', $$SELECT * FROM transfer('a_rls', 3, 1, 10)$$, 'P0002');
SELECT tgt.expect('RLS: hidden rows as both ends are P0002', $$SELECT * FROM transfer('a_rls', 3, 4, 10)$$, 'P0002');
SELECT tgt.expect('RLS: a hidden row through the text overload is P0002', $$SELECT * FROM transfer('a_rls', '3'::text, '1'::text, 10)$$, 'P0002');
SELECT tgt.expect('RLS: a hidden row in the second leg of a batch is P0002',
	$$SELECT * FROM transfer_batch('[{"from_table": "a_rls", "from_key": 1, "to_key": 2, "amount": 10}, {"from_table": "a_rls", "from_key": 4, "to_key": 2, "amount": 10}]')$$, 'P0002');
SELECT tgt.is('RLS: a hidden row reads exactly as a missing one',
	regexp_replace((tgt.state_of($$SELECT * FROM transfer('a_rls', 1, 3, 10)$$)).msg, 'key [0-9]+', 'key N'),
	regexp_replace((tgt.state_of($$SELECT * FROM transfer('a_rls', 1, 99, 10)$$)).msg, 'key [0-9]+', 'key N'));
SELECT tgt.expect('RLS: visible rows move', $$SELECT * FROM transfer('a_rls', 1, 2, 10)$$, '00000');
RESET ROLE;
-- a policy that shows every row but lets the caller update only its own
SET ROLE atk_owner;
DROP POLICY mine ON a_rls;
CREATE POLICY see_all ON a_rls FOR SELECT USING (true);
CREATE POLICY update_own ON a_rls FOR UPDATE USING (owner = current_user);
RESET ROLE;
SET ROLE atk_user;
SELECT tgt.expect_any('RLS: a row visible but not updatable is never credited', $$SELECT * FROM transfer('a_rls', 1, 3, 10)$$, '{P0002,42501}');
SELECT tgt.expect_any('RLS: a row visible but not updatable is never debited', $$SELECT * FROM transfer('a_rls', 3, 1, 10)$$, '{P0002,42501}');
RESET ROLE;
-- the owner is subject to a FORCEd policy too
SET ROLE atk_owner;
DROP POLICY see_all ON a_rls;
DROP POLICY update_own ON a_rls;
CREATE POLICY mine ON a_rls USING (owner = current_user);
ALTER TABLE a_rls FORCE ROW LEVEL SECURITY;
SELECT tgt.expect('RLS: with FORCE, the owner cannot reach the caller''s rows', $$SELECT * FROM transfer('a_rls', 3, 1, 10)$$, 'P0002');
SELECT tgt.expect('RLS: with FORCE, row_security = off is refused, not bypassed', $$SET LOCAL row_security = off; SELECT * FROM transfer('a_rls', 3, 1, 10)$$, '42501');
RESET ROLE;
SELECT tgt.is('RLS: only the visible move happened', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM a_rls), '90,110,100,100');

-- ---------------------------------------------------------------------------
-- SQL injection through every name and JSON field
-- ---------------------------------------------------------------------------
CREATE TABLE inj_victim (x int);
INSERT INTO inj_victim VALUES (1);
CREATE TABLE "inj""; DROP TABLE inj_victim; --" (
	"k'); DROP TABLE inj_victim; --" text PRIMARY KEY,
	"b""; DELETE FROM inj_victim; --" bigint NOT NULL,
	"c') OR 1=1; --" bigint NOT NULL);
INSERT INTO "inj""; DROP TABLE inj_victim; --" VALUES
	(''' OR ''1''=''1', 100, 100), ('x''); DELETE FROM inj_victim; --', 100, 100);
SELECT tgt.expect('injection: guard through a hostile table and column name',
	$$SELECT guard('"inj""; DROP TABLE inj_victim; --"', 'b"; DELETE FROM inj_victim; --')$$, '00000');
SELECT tgt.expect('injection: guard a second hostile column',
	$$SELECT guard('"inj""; DROP TABLE inj_victim; --"', 'c'') OR 1=1; --')$$, '00000');
SELECT tgt.expect('injection: tbl, balance_column, to_table, to_column and keys',
	$$SELECT * FROM transfer('"inj""; DROP TABLE inj_victim; --"', ''' OR ''1''=''1', 'x''); DELETE FROM inj_victim; --', 1,
		balance_column => 'b"; DELETE FROM inj_victim; --', to_table => '"inj""; DROP TABLE inj_victim; --"',
		to_column => 'c'') OR 1=1; --')$$, '00000');
SELECT tgt.expect('injection: every JSON field',
	$$SELECT * FROM transfer_batch(jsonb_build_array(jsonb_build_object(
		'from_table', '"inj""; DROP TABLE inj_victim; --"', 'from_column', 'c'') OR 1=1; --',
		'from_key', 'x''); DELETE FROM inj_victim; --', 'to_table', '"inj""; DROP TABLE inj_victim; --"',
		'to_column', 'b"; DELETE FROM inj_victim; --', 'to_key', ''' OR ''1''=''1', 'amount', 2)))$$, '00000');
SELECT tgt.expect('injection: a column name that is SQL is not guarded (55000)',
	$$SELECT * FROM transfer('"inj""; DROP TABLE inj_victim; --"', 'a', 'b', 1, balance_column => 'x"; DROP TABLE inj_victim; --')$$, '55000');
SELECT tgt.expect('injection: a JSON column name that is SQL is not guarded (55000)',
	$$SELECT * FROM transfer_batch('[{"from_table": "\"inj\"\"; DROP TABLE inj_victim; --\"", "from_column": "x\"; DROP TABLE inj_victim; --", "from_key": "a", "to_key": "b", "amount": 1}]')$$, '55000');
SELECT tgt.expect_any('injection: a JSON table name that is SQL is refused',
	$$SELECT * FROM transfer_batch('[{"from_table": "a_big; DROP TABLE inj_victim", "from_key": 1, "to_key": 2, "amount": 1}]')$$, '{42602,42P01}');
SELECT tgt.expect('injection: unguard through hostile names',
	$$SELECT unguard('"inj""; DROP TABLE inj_victim; --"', 'c'') OR 1=1; --')$$, '00000');
SELECT tgt.is('injection: the victim table is intact', (SELECT count(*) FROM inj_victim), 1::bigint);
SELECT tgt.is('injection: the hostile table moved as asked',
	(SELECT string_agg(format('%s/%s', "b""; DELETE FROM inj_victim; --", "c') OR 1=1; --"), ','
			ORDER BY "k'); DROP TABLE inj_victim; --" COLLATE "C")
	   FROM "inj""; DROP TABLE inj_victim; --"), '101/100,100/99');

RESET ROLE;
RESET search_path;
DROP TABLE a_big, a_int, a_num, a_text, a_uuid, a_priv, a_rls, inj_victim, "inj""; DROP TABLE inj_victim; --";
DROP SCHEMA evil CASCADE;
REVOKE CREATE ON SCHEMA public FROM atk_owner, atk_evil;
DROP OWNED BY atk_owner, atk_user, atk_evil;
DROP ROLE atk_owner, atk_user, atk_evil;
