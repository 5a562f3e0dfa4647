--
-- keys: tables keyed by bigint, integer, smallint, numeric, uuid and text;
-- keys are converted exactly or refused, never rounded.
--
CREATE TABLE k_int8 (id bigint PRIMARY KEY, balance int NOT NULL);
CREATE TABLE k_int4 (id integer PRIMARY KEY, balance int NOT NULL);
CREATE TABLE k_int2 (id smallint PRIMARY KEY, balance int NOT NULL);
CREATE TABLE k_num (id numeric PRIMARY KEY, balance int NOT NULL);
CREATE TABLE k_uuid (id uuid PRIMARY KEY, balance int NOT NULL);
CREATE TABLE k_text (id text PRIMARY KEY, balance int NOT NULL);
INSERT INTO k_int8 VALUES (1, 10), (2, 10), (9223372036854775807, 10);
INSERT INTO k_int4 VALUES (1, 10), (2, 10);
INSERT INTO k_int2 VALUES (1, 10), (2, 10);
INSERT INTO k_num VALUES (1, 10), (1.5, 10), (2, 10);
INSERT INTO k_uuid VALUES ('00000000-0000-0000-0000-000000000001', 10),
						  ('00000000-0000-0000-0000-000000000002', 10);
INSERT INTO k_text VALUES ('alice', 10), ('bob', 10), ('o''brien', 10),
						  (E'back\\slash', 10), ('', 10);
SELECT guard('k_int8', 'balance'), guard('k_int4', 'balance'),
	   guard('k_int2', 'balance'), guard('k_num', 'balance'),
	   guard('k_uuid', 'balance'), guard('k_text', 'balance');

-- bigint key: integer, bigint, numeric and text arguments
SELECT from_balance, to_balance FROM transfer('k_int8', 1, 2, 1);
SELECT from_balance, to_balance FROM transfer('k_int8', 1::bigint, 2::bigint, 1);
SELECT from_balance, to_balance FROM transfer('k_int8', 1::numeric, 2::numeric, 1);
SELECT from_balance, to_balance FROM transfer('k_int8', '2', '9223372036854775807', 1);
SELECT from_balance, to_balance FROM transfer('k_int8', 2::smallint, 1::smallint, 1);
-- a fractional numeric key never reaches a neighbouring row
SELECT * FROM tg_try($$SELECT * FROM transfer('k_int8', 1.5, 2.0, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_int8', 'NaN'::numeric, 2::numeric, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_int8', '1.5', '2', 1)$$);
-- a key beyond the key type's range
SELECT * FROM tg_try($$SELECT * FROM transfer('k_int8', 1::numeric, 9223372036854775808, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_int2', 1, 40000, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_int4', 1::bigint, 2147483648, 1)$$);
-- a key of another type altogether
SELECT * FROM tg_try($$SELECT * FROM transfer('k_int8', 1.0::float8, 2.0::float8, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_int8', 'a', 'b', 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_int8', true, false, 1)$$);

-- integer and smallint keys
SELECT from_balance, to_balance FROM transfer('k_int4', 1, 2, 1);
SELECT from_balance, to_balance FROM transfer('k_int4', 1::bigint, 2::bigint, 1);
SELECT from_balance, to_balance FROM transfer('k_int2', 1, 2, 1);

-- numeric keys: 1.5 is a row of its own, 2.0 is row 2
SELECT from_balance, to_balance FROM transfer('k_num', 1.5, 2.0, 1);
SELECT from_balance, to_balance FROM transfer('k_num', 1, 2, 1);
SELECT from_balance, to_balance FROM transfer('k_num', '1.5', '1', 1);
SELECT * FROM k_num ORDER BY id;

-- uuid keys: as text (untyped) or as uuid
SELECT from_balance, to_balance
  FROM transfer('k_uuid', '00000000-0000-0000-0000-000000000001',
				'00000000-0000-0000-0000-000000000002', 1);
SELECT from_balance, to_balance
  FROM transfer('k_uuid', '00000000-0000-0000-0000-000000000002'::uuid,
				'00000000-0000-0000-0000-000000000001'::uuid, 2);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_uuid', 'not-a-uuid', '00000000-0000-0000-0000-000000000001', 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_uuid', '00000000-0000-0000-0000-000000000009', '00000000-0000-0000-0000-000000000001', 1)$$);

-- text keys with quotes, backslashes, the empty string
SELECT from_balance, to_balance FROM transfer('k_text', 'alice', 'o''brien', 1);
SELECT from_balance, to_balance FROM transfer('k_text', E'back\\slash', '', 1);
SELECT from_balance, to_balance FROM transfer('k_text', 'bob'::varchar, 'alice'::varchar, 1);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_text', 'alice', 'Alice', 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_text', 'x''); DROP TABLE k_text; --', 'alice', 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_text', 1, 2, 1)$$);
SELECT * FROM k_text ORDER BY id;

-- a text key under a case-insensitive collation: 'ALICE' is row 'alice'
CREATE COLLATION IF NOT EXISTS k_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE k_ci_t (id text COLLATE k_ci PRIMARY KEY, balance int NOT NULL);
INSERT INTO k_ci_t VALUES ('alice', 10), ('bob', 10);
SELECT guard('k_ci_t', 'balance');
SELECT from_balance, to_balance FROM transfer('k_ci_t', 'ALICE', 'Bob', 3);
SELECT * FROM tg_try($$SELECT * FROM transfer('k_ci_t', 'alice', 'ALICE', 1)$$);

-- a name key longer than name holds is refused, never cut onto another row
CREATE TABLE k_name (id name PRIMARY KEY, balance int NOT NULL);
INSERT INTO k_name VALUES (repeat('a', 63), 10), ('b', 10);
SELECT guard('k_name', 'balance');
SELECT * FROM tg_try($$SELECT * FROM transfer('k_name', 'b', repeat('a', 63) || 'zzz', 5)$$);
SELECT from_balance, to_balance FROM transfer('k_name', 'b', repeat('a', 63), 5);
-- a text key for a numeric(10,0) key column is not rounded onto a neighbour
CREATE TABLE k_num0 (id numeric(10,0) PRIMARY KEY, balance int NOT NULL);
INSERT INTO k_num0 VALUES (1, 10), (2, 10);
SELECT guard('k_num0', 'balance');
SELECT * FROM tg_try($$SELECT * FROM transfer('k_num0', '1', '1.5', 5)$$);
SELECT * FROM k_num0 ORDER BY id;

DROP TABLE k_int8, k_int4, k_int2, k_num, k_uuid, k_text, k_ci_t, k_name, k_num0;
DROP COLLATION k_ci;

--
-- keys of two types in one call: transfer() and try_transfer() take them as
-- anycompatible, so an integer and a bigint (as psycopg 3 sends 1 and
-- 3000000000), a smallint and an integer, or an integer and a numeric are
-- unified to the wider type, and each key is then converted exactly to the
-- key column's type, never rounded.  Untyped literals still reach the text
-- overload; keys of unrelated types still find no function.
--
CREATE TABLE k2_int4 (id integer PRIMARY KEY, balance int NOT NULL);
CREATE TABLE k2_int8 (id bigint PRIMARY KEY, balance int NOT NULL);
CREATE TABLE k2_num (id numeric PRIMARY KEY, balance int NOT NULL);
CREATE TABLE k2_uuid (id uuid PRIMARY KEY, balance int NOT NULL);
INSERT INTO k2_int4 VALUES (1, 10), (2, 10), (3, 10), (40000, 10);
INSERT INTO k2_int8 VALUES (1, 10), (2, 10), (40000, 10), (3000000000, 10);
INSERT INTO k2_num VALUES (1, 10), (1.5, 10), (2, 10);
INSERT INTO k2_uuid VALUES ('00000000-0000-0000-0000-000000000001', 10),
						   ('00000000-0000-0000-0000-000000000002', 10);
SELECT guard('k2_int4', 'balance'), guard('k2_int8', 'balance'),
	   guard('k2_num', 'balance'), guard('k2_uuid', 'balance');

-- the overload a call resolves to (the type of its keys), or the error of
-- resolving it; a view records the function it calls without running it
CREATE FUNCTION k2_overload(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	fn regprocedure;
BEGIN
	EXECUTE 'CREATE TEMP VIEW k2_call AS SELECT * FROM ' || call;
	SELECT d.refobjid INTO fn
	  FROM pg_depend AS d JOIN pg_rewrite AS r ON r.oid = d.objid
	 WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class = 'k2_call'::regclass
	   AND d.refclassid = 'pg_proc'::regclass;
	DROP VIEW k2_call;
	RETURN format('%s(%s)', (SELECT proname FROM pg_proc WHERE oid = fn),
				  (SELECT format_type(proargtypes[1], NULL) FROM pg_proc WHERE oid = fn));
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT call, k2_overload(call) FROM (VALUES
	($$transfer('k2_int8', 1, 3000000000, 5)$$),
	($$transfer('k2_int8', 1::smallint, 40000, 5)$$),
	($$transfer('k2_int8', 1::smallint, 3000000000::bigint, 5)$$),
	($$transfer('k2_int4', 1, 2.5, 5)$$),
	($$transfer('k2_int4', 1, '2', 5)$$),
	($$transfer('k2_int4', '1', '2', 5)$$),
	($$transfer('k2_int4', '1'::text, '2'::text, 5)$$),
	($$transfer('k2_int4', 'a'::varchar, 'b'::text, 5)$$),
	($$transfer('k2_uuid', gen_random_uuid(), gen_random_uuid(), 5)$$),
	($$transfer('k2_uuid', gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 5)$$),
	($$transfer('k2_int4', 1, 'x'::text, 5)$$),
	($$transfer('k2_uuid', gen_random_uuid(), 'x'::text, 5)$$),
	($$transfer('k2_int4', 1, true, 5)$$),
	($$try_transfer('k2_int8', 1, 3000000000, 5)$$),
	($$try_transfer('k2_int4', '1', '2', 5)$$),
	($$try_transfer('k2_int4', 1, 'x'::text, 5)$$)) AS c (call);

-- mixed integer sizes move money, in both functions
SELECT from_balance, to_balance FROM transfer('k2_int8', 1, 3000000000, 1);
SELECT from_balance, to_balance FROM transfer('k2_int8', 40000::integer, 2::smallint, 1);
SELECT from_balance, to_balance FROM transfer('k2_int4', 1::smallint, 40000, 1);
SELECT status, from_balance, to_balance FROM try_transfer('k2_int8', 3000000000, 1::smallint, 1);
SELECT status, from_balance, to_balance FROM try_transfer('k2_int4', 40000::bigint, 1, 1);
-- an integer and a numeric: unified to numeric, converted exactly: 2.0 is
-- row 2, 2.5 reaches neither row 2 nor row 3
SELECT from_balance, to_balance FROM transfer('k2_int4', 1, 2.0, 1);
SELECT * FROM tg_try($$SELECT * FROM transfer('k2_int4', 1, 2.5, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('k2_int4', 2.5, 1, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k2_int8', 1, 9223372036854775808, 1)$$);
SELECT from_balance, to_balance FROM transfer('k2_num', 1, 1.5, 1);
-- an integer and an untyped literal: the literal is read as an integer
SELECT from_balance, to_balance FROM transfer('k2_int4', 2, '3', 1);
SELECT * FROM tg_try($$SELECT * FROM transfer('k2_int4', 2, '2.5', 1)$$);
-- two untyped literals: the text overload, converted by the key's input
SELECT from_balance, to_balance FROM transfer('k2_int8', '3000000000', '1', 1);
SELECT * FROM tg_try($$SELECT * FROM transfer('k2_int4', '1', '2.5', 1)$$);
-- uuid keys, typed or one of them untyped
SELECT from_balance, to_balance
  FROM transfer('k2_uuid', '00000000-0000-0000-0000-000000000001'::uuid,
				'00000000-0000-0000-0000-000000000002', 1);
-- an integer and a float: unified to double precision, which an integer
-- key does not take
SELECT * FROM tg_try($$SELECT * FROM transfer('k2_int4', 1, 2::float8, 1)$$);
-- keys of unrelated types find no function, as before
SELECT * FROM tg_try($$SELECT * FROM transfer('k2_int4', 1, 'x'::text, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('k2_uuid', '00000000-0000-0000-0000-000000000001'::uuid, 'x'::text, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('k2_int4', 1, true, 1)$$);
-- from a prepared statement with parameters of two integer types
PREPARE k2_mixed (regclass, smallint, bigint, numeric) AS
	SELECT from_balance, to_balance FROM transfer($1, $2, $3, $4);
EXECUTE k2_mixed('k2_int8', 2, 3000000000, 1);
DEALLOCATE k2_mixed;
SELECT * FROM k2_int4 ORDER BY id;
SELECT * FROM k2_int8 ORDER BY id;
SELECT * FROM k2_num ORDER BY id;
SELECT * FROM k2_uuid ORDER BY id;

DROP FUNCTION k2_overload(text);
DROP TABLE k2_int4, k2_int8, k2_num, k2_uuid;
