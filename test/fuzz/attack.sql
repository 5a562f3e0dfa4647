--
-- test/fuzz/attack.sql -- planted objects, privileges, row-level security,
-- ownership, SQL injection, and the same against holds (with triggers that
-- act on the hold being captured, and expiry and idempotency keys across
-- roles)
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
DROP TABLE IF EXISTS a_big, a_int, a_num, a_text, a_uuid, a_priv, a_rls, inj_victim, a_hold, a_shop CASCADE;
DO $$
BEGIN
	DROP OWNED BY atk_owner, atk_user, atk_evil, atk_member, atk_heir;
	DROP ROLE atk_owner, atk_user, atk_evil, atk_member, atk_heir;
EXCEPTION WHEN undefined_object THEN
	NULL;
END;
$$;
CREATE ROLE atk_owner;
CREATE ROLE atk_user;
CREATE ROLE atk_evil;
CREATE ROLE atk_member IN ROLE atk_user;			-- inherits atk_user's rights
CREATE ROLE atk_heir NOINHERIT IN ROLE atk_user;	-- a member that does not inherit them
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
	FOREACH t IN ARRAY ARRAY['bigint', 'integer', 'smallint', 'numeric', 'text', 'uuid', 'name', 'oid', 'regclass',
			'timestamp with time zone', 'interval', 'regrole'] LOOP
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

-- ---------------------------------------------------------------------------
-- Holds: other roles' holds, the holds' table and view, privileges on both
-- tables, triggers that act on the hold being captured, row-level security,
-- planted objects, expiry of others' holds, idempotency keys
-- ---------------------------------------------------------------------------
-- a_hold is atk_owner's, atk_user and atk_evil may update it; a_shop is
-- atk_evil's, atk_user may update it: atk_user pays atk_evil through holds
CREATE TABLE a_hold (id int PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO a_hold VALUES (1, 1000), (2, 1000), (3, 1000), (4, 1000);
ALTER TABLE a_hold OWNER TO atk_owner;
SET ROLE atk_owner;
SELECT guard('a_hold', 'bal') \g /dev/null
GRANT SELECT, UPDATE ON a_hold TO atk_user, atk_evil;
RESET ROLE;
CREATE TABLE a_shop (id int PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO a_shop VALUES (1, 0), (2, 0);
ALTER TABLE a_shop OWNER TO atk_evil;
SET ROLE atk_evil;
SELECT guard('a_shop', 'bal') \g /dev/null
GRANT SELECT, UPDATE ON a_shop TO atk_user;
RESET ROLE;

-- the money of these tables, counted by whoever asks: their balances and
-- the open holds
CREATE FUNCTION tgt.hold_money() RETURNS numeric
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
	SELECT (SELECT sum(bal) FROM public.a_hold) + (SELECT sum(bal) FROM public.a_shop)
		+ (SELECT sum(bal) FROM public.a_rls)
		+ (SELECT COALESCE(sum(amount), 0) FROM public.transfer_guard_hold WHERE state = 'held')
$$;
-- the state of a hold, whoever asks
CREATE FUNCTION tgt.hold_state(id bigint) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
	SELECT state FROM public.transfer_guard_hold WHERE hold_id = id
$$;
\set money 'SELECT tgt.hold_money()'
SELECT tgt.hold_money() AS holds_money_start \gset

-- another role's hold ------------------------------------------------------
SET ROLE atk_user;
SELECT hold_id AS h_user FROM hold('a_hold', 1, 2, 100) \gset
SELECT hold_id AS h_pay FROM hold('a_hold', 1, 1, 100, to_table => 'a_shop') \gset
RESET ROLE;
SET ROLE atk_evil;
SELECT tgt.expect_kept('holds: a role that neither placed a hold nor owns its tables cannot capture it (42501)',
	format('SELECT capture(%s)', :h_user), '42501', :'money');
SELECT tgt.expect_kept('holds: ... nor capture a part of it (42501)',
	format('SELECT capture(%s, 1)', :h_user), '42501', :'money');
SELECT tgt.expect_kept('holds: ... nor try_capture it: an error (42501), not a status',
	format('SELECT try_capture(%s)', :h_user), '42501', :'money');
SELECT tgt.expect_kept('holds: ... nor release it (42501)',
	format('SELECT release(%s)', :h_user), '42501', :'money');
SELECT tgt.is('holds: ... and the refusal names the hold, nothing more',
	(tgt.state_of(format('SELECT capture(%s)', :h_user))).msg, format('permission denied for hold %s', :h_user));
SELECT tgt.is('holds: a role sees, through transfer_guard_holds, none of the holds of others on tables it does not own',
	(SELECT count(*) FROM transfer_guard_holds WHERE hold_id = :h_user), 0::bigint);
SELECT tgt.is('holds: the owner of the destination table sees the holds paying to it',
	(SELECT string_agg(format('%s %s %s', hold_id = :h_pay, placed_by, state), ',') FROM transfer_guard_holds), 't atk_user held');
RESET ROLE;
SET ROLE atk_heir;
SELECT tgt.expect_kept('holds: a member of the placing role that does not inherit its rights cannot capture its hold (42501)',
	format('SELECT capture(%s)', :h_user), '42501', :'money');
SELECT tgt.is('holds: ... nor see it', (SELECT count(*) FROM transfer_guard_holds), 0::bigint);
RESET ROLE;
SET ROLE atk_member;
SELECT tgt.is('holds: a member of the placing role that inherits its rights sees its holds',
	(SELECT count(*) FROM transfer_guard_holds WHERE hold_id IN (:h_user, :h_pay)), 2::bigint);
RESET ROLE;
SET ROLE atk_owner;
SELECT tgt.is('holds: the owner of the source table sees the holds drawn from it',
	(SELECT count(*) FROM transfer_guard_holds WHERE hold_id IN (:h_user, :h_pay)), 2::bigint);
RESET ROLE;
SELECT tgt.is('holds: the refused steps left the hold open', tgt.hold_state(:h_user), 'held');

-- the holds' table and view ----------------------------------------------------
SET ROLE atk_evil;
SELECT tgt.expect('holds: transfer_guard_hold cannot be read directly', $$SELECT * FROM transfer_guard_hold$$, '42501');
SELECT tgt.expect('holds: transfer_guard_hold cannot be inserted into (a hold nobody placed)',
	format($$INSERT INTO transfer_guard_hold (hold_id, from_table, from_column, from_key, to_table, to_column, to_key, amount, placed_by, created_at)
		SELECT hold_id + 1000, from_table, from_column, from_key, to_table, to_column, to_key, 1000000, 'atk_evil', now()
		  FROM transfer_guard_hold WHERE hold_id = %s$$, :h_pay), '42501');
SELECT tgt.expect('holds: transfer_guard_hold cannot be updated (a larger amount)', $$UPDATE transfer_guard_hold SET amount = 1000000$$, '42501');
SELECT tgt.expect('holds: transfer_guard_hold cannot be updated (another placer)', $$UPDATE transfer_guard_hold SET placed_by = 'atk_evil'$$, '42501');
SELECT tgt.expect('holds: transfer_guard_hold cannot be deleted from', $$DELETE FROM transfer_guard_hold$$, '42501');
SELECT tgt.expect('holds: transfer_guard_hold cannot be truncated', $$TRUNCATE transfer_guard_hold$$, '42501');
SELECT tgt.expect('holds: the view transfer_guard_holds cannot be updated', $$UPDATE transfer_guard_holds SET amount = 1000000$$, '42501');
SELECT tgt.expect('holds: the view transfer_guard_holds cannot be deleted from', $$DELETE FROM transfer_guard_holds$$, '42501');
RESET ROLE;
SET ROLE atk_owner;
SELECT tgt.expect('holds: owning a table gives no access to transfer_guard_hold', $$UPDATE transfer_guard_hold SET amount = 1$$, '42501');
RESET ROLE;
SELECT tgt.is('holds: the holds'' table is as the holds left it',
	(SELECT string_agg(format('%s %s %s', amount, placed_by, state), ',' ORDER BY hold_id) FROM transfer_guard_hold),
	'100 atk_user held,100 atk_user held');

-- privileges on the tables ---------------------------------------------------
SET ROLE atk_evil;
SELECT tgt.expect_kept('holds: a hold on a table the role may not update is 42501', $$SELECT hold('a_priv', 1, 2, 1)$$, '42501', :'money');
SELECT tgt.expect_kept('holds: a hold paying to a table the role may not update is 42501',
	$$SELECT hold('a_hold', 3, 1, 1, to_table => 'a_priv')$$, '42501', :'money');
RESET ROLE;
GRANT SELECT ON a_priv TO atk_evil;
SET ROLE atk_evil;
SELECT tgt.expect_kept('holds: a hold paying to a table the role may only read is 42501',
	$$SELECT hold('a_hold', 3, 1, 1, to_table => 'a_priv')$$, '42501', :'money');
SELECT tgt.expect_kept('holds: a hold drawing on a table the role may only read is 42501',
	$$SELECT hold('a_priv', 1, 1, 1, to_table => 'a_hold')$$, '42501', :'money');
RESET ROLE;
REVOKE SELECT ON a_priv FROM atk_evil;
-- the destination's owner takes back the payer's UPDATE: the payer can no
-- longer capture (a credit to the destination), still release (a credit
-- to the source)
SET ROLE atk_user;
SELECT hold_id AS h_revoked FROM hold('a_hold', 2, 2, 10, to_table => 'a_shop') \gset
RESET ROLE;
SET ROLE atk_evil;
REVOKE UPDATE ON a_shop FROM atk_user;
RESET ROLE;
SET ROLE atk_user;
SELECT tgt.expect_kept('holds: a capture by a role that lost UPDATE on the destination is 42501',
	format('SELECT capture(%s)', :h_revoked), '42501', :'money');
SELECT tgt.expect_kept('holds: ... which may still release it to the source', format('SELECT release(%s)', :h_revoked), '00000', :'money');
RESET ROLE;
SET ROLE atk_evil;
GRANT UPDATE ON a_shop TO atk_user;
RESET ROLE;
-- a SECURITY DEFINER function acts as its owner
SET ROLE atk_evil;
CREATE FUNCTION evil.grab(id bigint) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
	AS $$BEGIN PERFORM public.capture(id); END$$;
GRANT EXECUTE ON FUNCTION evil.grab(bigint) TO PUBLIC;
RESET ROLE;
SET ROLE atk_user;
SELECT tgt.expect_kept('holds: a SECURITY DEFINER function of a role that may not act on a hold cannot capture it, even called by its placer (42501)',
	format('SELECT evil.grab(%s)', :h_user), '42501', :'money');
RESET ROLE;

-- triggers of the destination that act on the hold being captured ------------
-- atk_evil owns the destination, so it may capture holds paying to it; its
-- trigger tries to take the same hold a second time while the first
-- capture is running.  The hold pays once or the capture fails.
SET ROLE atk_evil;
CREATE TABLE evil.again (hold_id bigint, how text);
CREATE FUNCTION evil.again() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	t record;
BEGIN
	IF COALESCE(current_setting('atk.again', true), '') = '' THEN
		PERFORM set_config('atk.again', 'done', true);
		FOR t IN SELECT * FROM evil.again LOOP
			IF t.how = 'capture' THEN
				PERFORM public.capture(t.hold_id);
			ELSIF t.how = 'try_capture' THEN
				PERFORM public.try_capture(t.hold_id);
			ELSE
				PERFORM public.release(t.hold_id);
			END IF;
		END LOOP;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER again_after AFTER UPDATE ON public.a_shop FOR EACH ROW EXECUTE FUNCTION evil.again();
RESET ROLE;
CREATE FUNCTION tgt.twice(claim text, id bigint, how text, stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	before numeric := tgt.hold_money();
	shop bigint := (SELECT sum(bal) FROM public.a_shop);
	amount numeric := (SELECT h.amount FROM public.transfer_guard_hold h WHERE h.hold_id = id);
	r record;
BEGIN
	DELETE FROM evil.again;
	INSERT INTO evil.again VALUES (id, how);
	EXECUTE 'SET LOCAL ROLE atk_evil';
	r := tgt.state_of(stmt);
	RESET ROLE;
	DELETE FROM evil.again;
	RETURN tgt.line(tgt.hold_money() = before AND (SELECT sum(bal) FROM public.a_shop) - shop <= amount, claim,
		format(E'statement: %s (trigger: %s)\nended %s %s\nmoney before %s, after %s; destination credited %s of a hold of %s',
			stmt, how, r.state, r.msg, before, tgt.hold_money(), (SELECT sum(bal) FROM public.a_shop) - shop, amount));
END;
$$;
SET ROLE atk_user;
SELECT hold_id AS h_t1 FROM hold('a_hold', 3, 1, 50, to_table => 'a_shop') \gset
SELECT hold_id AS h_t2 FROM hold('a_hold', 3, 1, 50, to_table => 'a_shop') \gset
SELECT hold_id AS h_t3 FROM hold('a_hold', 3, 1, 50, to_table => 'a_shop') \gset
SELECT hold_id AS h_t4 FROM hold('a_hold', 3, 2, 50, to_table => 'a_shop') \gset
SELECT hold_id AS h_t5 FROM hold('a_hold', 3, 1, 50, to_table => 'a_shop') \gset
RESET ROLE;
SELECT tgt.twice('holds: an AFTER trigger of the destination capturing the hold again during its capture does not pay it twice',
	:h_t1, 'capture', format('SELECT capture(%s)', :h_t1));
SELECT tgt.twice('holds: an AFTER trigger of the destination releasing the hold during its capture does not pay it twice',
	:h_t2, 'release', format('SELECT capture(%s)', :h_t2));
SELECT tgt.twice('holds: an AFTER trigger of the destination capturing the hold again during a partial capture does not pay it twice',
	:h_t3, 'capture', format('SELECT capture(%s, 20)', :h_t3));
SELECT tgt.twice('holds: an AFTER trigger of the destination capturing the hold again during a try_capture does not pay it twice',
	:h_t5, 'try_capture', format('SELECT try_capture(%s)', :h_t5));
SET ROLE atk_evil;
DROP TRIGGER again_after ON public.a_shop;
CREATE TRIGGER again_before BEFORE UPDATE ON public.a_shop FOR EACH ROW EXECUTE FUNCTION evil.again();
RESET ROLE;
SELECT tgt.twice('holds: a BEFORE trigger of the destination capturing the hold again during its capture does not pay it twice',
	:h_t4, 'capture', format('SELECT capture(%s)', :h_t4));
SET ROLE atk_evil;
DROP TRIGGER again_before ON public.a_shop;
RESET ROLE;
-- (each of those claims stands alone: count from here)
SELECT tgt.hold_money() AS holds_money_start \gset

-- row-level security: a_rls shows atk_user rows 1 and 2 only ----------------
SET ROLE atk_user;
SELECT tgt.expect_kept('holds: a hold paying to a row a policy hides is P0002', $$SELECT hold('a_rls', 1, 3, 10)$$, 'P0002', :'money');
SELECT tgt.expect_kept('holds: a hold drawing on a row a policy hides is P0002', $$SELECT hold('a_rls', 3, 1, 10)$$, 'P0002', :'money');
SELECT tgt.is('holds: a hidden destination reads exactly as a missing one',
	regexp_replace((tgt.state_of($$SELECT hold('a_rls', 1, 3, 10)$$)).msg, 'key [0-9]+', 'key N'),
	regexp_replace((tgt.state_of($$SELECT hold('a_rls', 1, 99, 10)$$)).msg, 'key [0-9]+', 'key N'));
SELECT hold_id AS h_rls FROM hold('a_rls', 1, 2, 10) \gset
RESET ROLE;
-- the destination row becomes someone else's, hidden from the placer
UPDATE a_rls SET owner = 'atk_owner' WHERE id = 2;
SET ROLE atk_user;
SELECT tgt.expect_kept('holds: the capture of a hold whose destination a policy now hides is P0002',
	format('SELECT capture(%s)', :h_rls), 'P0002', :'money');
SELECT tgt.is('holds: ... and the hold stays open', tgt.hold_state(:h_rls), 'held');
SELECT tgt.expect_kept('holds: ... which its placer can still release to its visible source',
	format('SELECT release(%s)', :h_rls), '00000', :'money');
RESET ROLE;
UPDATE a_rls SET owner = 'atk_user' WHERE id = 2;

-- planted objects: the victim's search_path puts the attacker's schema
-- (and pg_temp) before pg_catalog while it places and captures holds ------
SET ROLE atk_evil;
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted clock_timestamp' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil.pg_has_role(oid, oid, text) RETURNS boolean LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted pg_has_role' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil.pg_has_role(oid, text) RETURNS boolean LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted pg_has_role' USING ERRCODE = 'XE001'; END$$;
CREATE FUNCTION evil.transfer_guard_column_attnum(public.transfer_guard_column) RETURNS smallint LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'planted transfer_guard_column_attnum' USING ERRCODE = 'XE001'; END$$;
CREATE TABLE evil.transfer_guard_hold (hold_id bigint, amount numeric, state text);
INSERT INTO evil.transfer_guard_hold VALUES (1, 1000000, 'held');
RESET ROLE;
CREATE TEMP TABLE transfer_guard_hold (hold_id bigint, amount numeric, state text);
SET search_path = evil, public, pg_catalog;
SELECT tgt.expect('control: with evil first, an unqualified timestamptz <= reaches the planted operator',
	$$SELECT now() <= now()$$, 'XE001');
SELECT tgt.expect('control: with evil first, clock_timestamp() reaches the planted function',
	$$SELECT clock_timestamp()$$, 'XE001');
SELECT hold_id AS h_pl FROM public.hold('public.a_hold', 4, 1, 30, expires_in => '1 hour') \gset
SELECT tgt.expect_kept('planted, pg_catalog last: hold()', $$SELECT * FROM public.hold('public.a_hold', 4, 1, 10, expires_in => '1 hour')$$, '00000', :'money');
SELECT tgt.expect_kept('planted, pg_catalog last: capture() of a part', format('SELECT * FROM public.capture(%s, 20)', :h_pl), '00000', :'money');
SELECT tgt.is('planted, pg_catalog last: try_capture() of a captured hold', (SELECT status FROM public.try_capture(:h_pl)), 'captured');
SELECT tgt.expect_kept('planted, pg_catalog last: release()',
	format('SELECT public.release(%s)', (SELECT max(h.hold_id) FROM public.transfer_guard_hold h)), '00000', :'money');
SELECT tgt.expect_kept('planted, pg_catalog last: release_expired()', $$SELECT public.release_expired()$$, '00000', :'money');
SELECT tgt.expect('planted, pg_catalog last: the view transfer_guard_holds', $$SELECT count(*) FROM public.transfer_guard_holds$$, '00000');
SET search_path = pg_temp, evil, public, pg_catalog;
SELECT tgt.expect_kept('planted, pg_temp first: hold() and capture()',
	$$SELECT public.capture((public.hold('public.a_hold', 4, 1, 5)).hold_id)$$, '00000', :'money');
SET ROLE atk_user;
SET search_path = evil, public, pg_catalog;
SELECT tgt.expect_kept('planted, pg_catalog last, an ordinary role: hold(), capture() and try_capture()',
	$$SELECT public.try_capture((public.hold('public.a_hold', 4, 1, 5)).hold_id, 1)$$, '00000', :'money');
RESET ROLE;
RESET search_path;
SELECT tgt.is('planted: the attacker''s table of the same name is untouched', (SELECT string_agg(format('%s %s %s', hold_id, amount, state), ',') FROM evil.transfer_guard_hold), '1 1000000 held');
SELECT tgt.is('planted: the temp table of the same name is untouched', (SELECT count(*) FROM pg_temp.transfer_guard_hold), 0::bigint);
DROP TABLE pg_temp.transfer_guard_hold;

-- release_expired() releases only the holds the caller may act on ---------
SET ROLE atk_user;
SELECT hold_id AS h_exp_user FROM hold('a_hold', 2, 4, 7, expires_in => '00:00:00.000001') \gset
RESET ROLE;
SET ROLE atk_evil;
SELECT hold_id AS h_exp_evil FROM hold('a_hold', 2, 4, 9, expires_in => '00:00:00.000001') \gset
SELECT pg_sleep(0.01) \g /dev/null
SELECT tgt.is('holds: release_expired() by a role releases its own expired hold, and no other role''s',
	(SELECT release_expired()), 1::bigint);
RESET ROLE;
SELECT tgt.is('holds: ... so the other role''s expired hold is still open, and its own expired',
	format('%s %s', tgt.hold_state(:h_exp_user), tgt.hold_state(:h_exp_evil)), 'held expired');
SET ROLE atk_heir;
SELECT tgt.is('holds: release_expired() by a member of the placer that does not inherit its rights releases none',
	(SELECT release_expired()), 0::bigint);
RESET ROLE;
SET ROLE atk_owner;
SELECT tgt.is('holds: release_expired() by the owner of the source table releases the expired hold drawn from it',
	(SELECT release_expired()), 1::bigint);
RESET ROLE;
SELECT tgt.is('holds: ... as expired', tgt.hold_state(:h_exp_user), 'expired');

-- idempotency keys: one namespace per role for hold() and transfer() ------
SET ROLE atk_user;
SELECT hold_id AS h_key FROM hold('a_hold', 2, 3, 11, idempotency_key => 'order-9') \gset
SELECT tgt.expect_kept('holds: the placer''s transfer with its hold''s key is TG001', $$SELECT transfer('a_hold', 2, 3, 11, idempotency_key => 'order-9')$$, 'TG001', :'money');
SELECT tgt.expect_kept('holds: the placer''s try_transfer with its hold''s key is TG001, not a replay', $$SELECT try_transfer('a_hold', 2, 3, 11, idempotency_key => 'order-9')$$, 'TG001', :'money');
SELECT tgt.expect_kept('holds: the placer''s batch with its hold''s key is TG001',
	$$SELECT transfer_batch('[{"from_table": "a_hold", "from_key": 2, "to_key": 3, "amount": 11}]', idempotency_key => 'order-9')$$, 'TG001', :'money');
RESET ROLE;
SET ROLE atk_evil;
SELECT tgt.is('holds: another role''s hold with the same key and arguments is a hold of its own, not a replay',
	(SELECT hold_id <> :h_key FROM hold('a_hold', 2, 3, 11, idempotency_key => 'order-9')), true);
SELECT tgt.is('holds: ... which it may release', (SELECT release(max(hold_id)) IS NOT NULL FROM transfer_guard_holds WHERE placed_by = 'atk_evil' AND state = 'held'), true);
RESET ROLE;
SET ROLE atk_user;
SELECT tgt.is('holds: the placer''s replay still returns its own hold',
	(SELECT hold_id FROM hold('a_hold', 2, 3, 11, idempotency_key => 'order-9')), :h_key::bigint);
RESET ROLE;
REVOKE UPDATE ON a_hold FROM atk_user;
SET ROLE atk_user;
SELECT tgt.expect_kept('holds: after its UPDATE was revoked, the placer cannot replay its keyed hold (42501)',
	$$SELECT hold('a_hold', 2, 3, 11, idempotency_key => 'order-9')$$, '42501', :'money');
SELECT tgt.expect_kept('holds: ... nor release its hold, a credit to the source (42501)', format('SELECT release(%s)', :h_key), '42501', :'money');
RESET ROLE;
GRANT UPDATE ON a_hold TO atk_user;

SELECT tgt.is('holds: the balances plus the open holds are what they were', tgt.hold_money(), :holds_money_start::numeric);

-- open holds keep their tables: give them back first
RESET ROLE;
RESET search_path;
SELECT count(release(hold_id)) FROM transfer_guard_hold WHERE state = 'held' \g /dev/null
DROP TABLE a_big, a_int, a_num, a_text, a_uuid, a_priv, a_rls, inj_victim, "inj""; DROP TABLE inj_victim; --", a_hold, a_shop;
DROP SCHEMA evil CASCADE;
REVOKE CREATE ON SCHEMA public FROM atk_owner, atk_evil;
DROP OWNED BY atk_owner, atk_user, atk_evil, atk_member, atk_heir;
DROP ROLE atk_owner, atk_user, atk_evil, atk_member, atk_heir;
