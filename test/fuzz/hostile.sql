--
-- test/fuzz/hostile.sql -- hostile and odd input, one claim per line
--
-- NULLs in every position; amounts that are not numbers, not finite, signed
-- zero, tiny, huge, at and beyond each integer type's limits; keys of other
-- types, lossy keys, keys with quotes and backslashes; names that need
-- quoting; the table or its guard changed between two calls of one
-- session; partitioned tables, triggers, CHECK constraints, domains and
-- foreign keys, whose own rules must still fire; holds, with odd amounts,
-- keys, hold ids, expiries and idempotency keys.  Every refused call must
-- leave every balance as it was, and every step of a hold the balances
-- plus the open holds.
--
-- Run by test/fuzz/run.sh after lib.sql, as a superuser, in a database where
-- transfer_guard is installed in the first schema of search_path.
--
\set ON_ERROR_STOP 1
\pset tuples_only on
\pset format unaligned
SET client_min_messages = warning;

-- PostgreSQL 13's numeric has no infinities: 'Infinity' is refused by the
-- type's input (22P02) before the extension sees it; from 14 on the
-- extension itself refuses it (22023 as an amount or key, 22000 as a balance)
SELECT current_setting('server_version_num')::int >= 140000 AS numeric_inf,
	CASE WHEN current_setting('server_version_num')::int >= 140000
		 THEN '22023' ELSE '22P02' END AS inf_state \gset

DROP SCHEMA IF EXISTS h CASCADE;
CREATE SCHEMA h;

-- ---------------------------------------------------------------------------
-- NULL in every position
-- ---------------------------------------------------------------------------
CREATE TABLE h.acc (id bigint PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO h.acc SELECT g, 100 FROM generate_series(1, 4) g;
SELECT guard('h.acc', 'bal');

SELECT tgt.expect('guard: NULL table is 22004', $$SELECT guard(NULL, 'bal')$$, '22004');
SELECT tgt.expect('guard: NULL column is 22004', $$SELECT guard('h.acc', NULL)$$, '22004');
SELECT tgt.expect('guard: NULL min_balance means no floor', $$SELECT guard('h.acc', 'bal', NULL)$$, '00000');
SELECT tgt.is('guard: NULL min_balance is stored as no floor',
	(SELECT min_balance IS NULL FROM transfer_guards WHERE tbl = 'h.acc'::regclass), true);
SELECT tgt.expect('guard: NULL max_balance means no ceiling', $$SELECT guard('h.acc', 'bal', 0, NULL)$$, '00000');
SELECT tgt.expect('unguard: NULL table is 22004', $$SELECT unguard(NULL, 'bal')$$, '22004');
SELECT tgt.expect('unguard: NULL column is 22004', $$SELECT unguard('h.acc', NULL)$$, '22004');

SELECT tgt.expect('transfer: NULL table is 22004', $$SELECT transfer(NULL, 1, 2, 5)$$, '22004');
SELECT tgt.expect('transfer: NULL from_key is 22004', $$SELECT transfer('h.acc', NULL, 2, 5)$$, '22004');
SELECT tgt.expect('transfer: NULL to_key is 22004', $$SELECT transfer('h.acc', 1, NULL, 5)$$, '22004');
SELECT tgt.expect('transfer: NULL amount is 22004', $$SELECT transfer('h.acc', 1, 2, NULL)$$, '22004');
SELECT tgt.expect('transfer: NULL nowait is 22004', $$SELECT transfer('h.acc', 1, 2, 5, nowait => NULL)$$, '22004');
SELECT tgt.expect('transfer: NULL keys of the text overload are 22004', $$SELECT transfer('h.acc', NULL::text, '2', 5)$$, '22004');
SELECT tgt.expect('transfer: all NULL is 22004', $$SELECT transfer(NULL, NULL::bigint, NULL::bigint, NULL)$$, '22004');
SELECT tgt.expect('transfer: NULL balance_column, to_table and to_column mean the defaults',
	$$SELECT transfer('h.acc', 1, 2, 5, balance_column => NULL, to_table => NULL, to_column => NULL)$$, '00000');
SELECT tgt.expect('transfer_batch: NULL legs is 22004', $$SELECT transfer_batch(NULL)$$, '22004');
SELECT tgt.expect('transfer_batch: NULL nowait is 22004', $$SELECT transfer_batch('[]', NULL)$$, '22004');
SELECT tgt.expect('transfer_batch: JSON null from_table is 22004',
	$$SELECT transfer_batch('[{"from_table": null, "from_key": 1, "to_key": 2, "amount": 1}]')$$, '22004');
SELECT tgt.expect('transfer_batch: JSON null from_key is 22004',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": null, "to_key": 2, "amount": 1}]')$$, '22004');
SELECT tgt.expect('transfer_batch: JSON null to_key is 22004',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": null, "amount": 1}]')$$, '22004');
SELECT tgt.expect('transfer_batch: JSON null amount is 22004',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": null}]')$$, '22004');
SELECT tgt.expect('transfer_batch: JSON null to_table, from_column, to_column mean the defaults',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 2, "to_key": 1, "amount": 5, "to_table": null, "from_column": null, "to_column": null}]')$$, '00000');
SELECT tgt.expect_any('transfer_batch: a leg missing a required field is refused',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "to_key": 2, "amount": 1}]')$$, '{22004,22023}');
SELECT tgt.is('NULLs: the balances are as they were', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.acc), '100,100,100,100');

-- ---------------------------------------------------------------------------
-- Amounts
-- ---------------------------------------------------------------------------
SELECT tgt.expect('amount NaN is 22023', $$SELECT transfer('h.acc', 1, 2, 'NaN')$$, '22023');
SELECT tgt.expect('amount Infinity is ' || :'inf_state', $$SELECT transfer('h.acc', 1, 2, 'Infinity')$$, :'inf_state');
SELECT tgt.expect('amount -Infinity is ' || :'inf_state', $$SELECT transfer('h.acc', 1, 2, '-Infinity')$$, :'inf_state');
SELECT tgt.expect('amount -0 is 22023', $$SELECT transfer('h.acc', 1, 2, '-0'::numeric)$$, '22023');
SELECT tgt.expect('amount -0.000 is 22023', $$SELECT transfer('h.acc', 1, 2, -0.000)$$, '22023');
SELECT tgt.expect('amount 0 is 22023', $$SELECT transfer('h.acc', 1, 2, 0)$$, '22023');
SELECT tgt.expect('amount -1 is 22023', $$SELECT transfer('h.acc', 1, 2, -1)$$, '22023');
SELECT tgt.expect('amount 1e-1000 for a bigint column is 22023 (not a whole number)', $$SELECT transfer('h.acc', 1, 2, 1e-1000)$$, '22023');
SELECT tgt.expect('amount 0.5 for a bigint column is 22023', $$SELECT transfer('h.acc', 1, 2, 0.5)$$, '22023');
SELECT tgt.expect('amount 1.0 for a bigint column is a whole number', $$SELECT transfer('h.acc', 1, 2, 1.0)$$, '00000');
SELECT tgt.expect('amount 1e1000 for a bigint column is 22003', $$SELECT transfer('h.acc', 1, 2, 1e1000)$$, '22003');
SELECT tgt.expect('amount as a numeric string works', $$SELECT transfer('h.acc', 2, 1, '1')$$, '00000');
SELECT tgt.expect('amount "abc" is 22P02', $$SELECT transfer('h.acc', 1, 2, 'abc')$$, '22P02');
SELECT tgt.expect('amount "NaN" in a batch is 22023',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": "NaN"}]')$$, '22023');
SELECT tgt.expect('amount "-Infinity" in a batch is ' || :'inf_state',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": "-Infinity"}]')$$, :'inf_state');
SELECT tgt.expect('amount -0 in a batch is 22023',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": -0}]')$$, '22023');
SELECT tgt.expect('amount 1e-1000 in a batch is 22023 for a bigint column',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": 1e-1000}]')$$, '22023');
SELECT tgt.expect('amount 1e1000 in a batch is 22003 for a bigint column',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": 1e1000}]')$$, '22003');
SELECT tgt.expect('amount true in a batch is 22023',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": true}]')$$, '22023');
SELECT tgt.expect('amount as an object in a batch is 22023',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": {"v": 1}}]')$$, '22023');
SELECT tgt.is('amounts: the balances are as they were', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.acc), '100,100,100,100');

-- unconstrained numeric: tiny and huge amounts are exact
CREATE TABLE h.acc_num (id int PRIMARY KEY, bal numeric NOT NULL);
INSERT INTO h.acc_num VALUES (1, 1000), (2, 0);
SELECT guard('h.acc_num', 'bal', NULL);
SELECT tgt.expect('numeric: amount 1e-1000 moves', $$SELECT transfer('h.acc_num', 1, 2, 1e-1000)$$, '00000');
SELECT tgt.expect('numeric: amount 1e1000 moves', $$SELECT transfer('h.acc_num', 1, 2, 1e1000)$$, '00000');
SELECT tgt.is('numeric: 1e1000 arrived exactly', (SELECT bal FROM h.acc_num WHERE id = 2), 1e1000 + 1e-1000);
SELECT tgt.expect('numeric: both move back', $$SELECT transfer_batch('[{"from_table": "h.acc_num", "from_key": 2, "to_key": 1, "amount": 1e1000}, {"from_table": "h.acc_num", "from_key": 2, "to_key": 1, "amount": "1e-1000"}]')$$, '00000');
SELECT tgt.ok('numeric: the balances are exactly restored', (SELECT array_agg(bal ORDER BY id) = ARRAY[1000, 0]::numeric[] FROM h.acc_num));
SELECT tgt.ok('numeric: the sum is exact', (SELECT sum(bal) = 1000 FROM h.acc_num));
SELECT guard('h.acc_num', 'bal', 0);
SELECT tgt.expect('numeric: 1e1000 over the floor is 23514', $$SELECT transfer('h.acc_num', 1, 2, 1e1000)$$, '23514');

-- numeric(12,2): scale and precision
CREATE TABLE h.acc_n122 (id int PRIMARY KEY, bal numeric(12,2) NOT NULL);
INSERT INTO h.acc_n122 VALUES (1, 9999999999.99), (2, 0), (3, -9999999999.99);
SELECT guard('h.acc_n122', 'bal', NULL);
SELECT tgt.expect('numeric(12,2): amount 0.01 moves', $$SELECT transfer('h.acc_n122', 1, 2, 0.01)$$, '00000');
SELECT tgt.expect('numeric(12,2): amount 0.001 is 22023', $$SELECT transfer('h.acc_n122', 1, 2, 0.001)$$, '22023');
SELECT tgt.expect('numeric(12,2): amount 1e-1000 is 22023', $$SELECT transfer('h.acc_n122', 1, 2, 1e-1000)$$, '22023');
SELECT tgt.expect('numeric(12,2): amount 1e1000 is 22003', $$SELECT transfer('h.acc_n122', 1, 2, 1e1000)$$, '22003');
SELECT tgt.expect('numeric(12,2): amount 10000000000 is 22003', $$SELECT transfer('h.acc_n122', 1, 2, 10000000000)$$, '22003');
SELECT tgt.expect('numeric(12,2): credit beyond 9999999999.99 is 22003', $$SELECT transfer('h.acc_n122', 2, 1, 0.02)$$, '22003');
SELECT tgt.expect('numeric(12,2): debit below -9999999999.99 is 22003', $$SELECT transfer('h.acc_n122', 3, 2, 0.01)$$, '22003');
SELECT tgt.is('numeric(12,2): the balances are as expected', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.acc_n122), '9999999999.98,0.01,-9999999999.99');

-- each integer type at and beyond its limits
CREATE TABLE h.i2 (id smallint PRIMARY KEY, bal smallint NOT NULL);
INSERT INTO h.i2 VALUES (1, 32767), (2, -32768), (3, 0);
SELECT guard('h.i2', 'bal', NULL);
SELECT tgt.expect('smallint: amount 32768 is 22003', $$SELECT transfer('h.i2', 3, 2, 32768)$$, '22003');
SELECT tgt.expect('smallint: credit past 32767 is 22003', $$SELECT transfer('h.i2', 3, 1, 1)$$, '22003');
SELECT tgt.expect('smallint: debit past -32768 is 22003', $$SELECT transfer('h.i2', 2, 3, 1)$$, '22003');
SELECT tgt.expect('smallint: amount 32767 to the limit moves', $$SELECT transfer('h.i2', 1, 3, 32767)$$, '00000');
SELECT tgt.expect('smallint: amount 32767 back moves', $$SELECT transfer('h.i2', 3, 1, 32767)$$, '00000');
SELECT tgt.expect('smallint: key 32768 is 22003', $$SELECT transfer('h.i2', 32768, 1, 1)$$, '22003');
SELECT tgt.expect('smallint: key -32769 as text is 22003', $$SELECT transfer('h.i2', '-32769', '1', 1)$$, '22003');
SELECT tgt.is('smallint: the balances are as they were', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.i2), '32767,-32768,0');

CREATE TABLE h.i4 (id int PRIMARY KEY, bal int NOT NULL);
INSERT INTO h.i4 VALUES (1, 2147483647), (2, -2147483648), (3, 0);
SELECT guard('h.i4', 'bal', NULL);
SELECT tgt.expect('integer: amount 2147483648 is 22003', $$SELECT transfer('h.i4', 3, 2, 2147483648)$$, '22003');
SELECT tgt.expect('integer: credit past 2147483647 is 22003', $$SELECT transfer('h.i4', 3, 1, 1)$$, '22003');
SELECT tgt.expect('integer: debit past -2147483648 is 22003', $$SELECT transfer('h.i4', 2, 3, 1)$$, '22003');
SELECT tgt.expect('integer: key 2147483648 is 22003', $$SELECT transfer('h.i4', 2147483648, 1::bigint, 1)$$, '22003');
SELECT tgt.expect('integer: key 9223372036854775808 is 22003', $$SELECT transfer('h.i4', 9223372036854775808, 1::numeric, 1)$$, '22003');
SELECT tgt.is('integer: the balances are as they were', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.i4), '2147483647,-2147483648,0');

CREATE TABLE h.i8 (id bigint PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO h.i8 VALUES (1, 9223372036854775807), (2, -9223372036854775808), (3, 0);
SELECT guard('h.i8', 'bal', NULL);
SELECT tgt.expect('bigint: amount 9223372036854775808 is 22003', $$SELECT transfer('h.i8', 3, 2, 9223372036854775808)$$, '22003');
SELECT tgt.expect('bigint: credit past 9223372036854775807 is 22003', $$SELECT transfer('h.i8', 3, 1, 1)$$, '22003');
SELECT tgt.expect('bigint: debit past -9223372036854775808 is 22003', $$SELECT transfer('h.i8', 2, 3, 1)$$, '22003');
-- a net change beyond bigint through one bigint balance, every balance in
-- range after every leg: moved exactly, on the row path and through the
-- statements alike, then moved back
SELECT tgt.expect('bigint: a batch whose net change exceeds bigint moves exactly',
	$$SELECT transfer_batch('[{"from_table": "h.i8", "from_key": 1, "to_key": 2, "amount": 9223372036854775807}, {"from_table": "h.i8", "from_key": 3, "to_key": 2, "amount": 9223372036854775807}]')$$, '00000');
SELECT tgt.is('bigint: ... to the unit', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.i8), '0,9223372036854775806,-9223372036854775807');
SET transfer_guard.row_path = off;
SELECT tgt.expect('bigint: the same back through the statements',
	$$SELECT transfer_batch('[{"from_table": "h.i8", "from_key": 2, "to_key": 1, "amount": 9223372036854775807}, {"from_table": "h.i8", "from_key": 2, "to_key": 3, "amount": 9223372036854775807}]')$$, '00000');
RESET transfer_guard.row_path;
SELECT tgt.expect('bigint: key 9223372036854775808 as text is 22003', $$SELECT transfer('h.i8', '9223372036854775808', '1', 1)$$, '22003');
SELECT tgt.expect('bigint: key -9223372036854775809 in a batch is 22003',
	$$SELECT transfer_batch('[{"from_table": "h.i8", "from_key": -9223372036854775809, "to_key": 1, "amount": 1}]')$$, '22003');
SELECT tgt.is('bigint: the balances are as they were', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.i8), '9223372036854775807,-9223372036854775808,0');

-- ---------------------------------------------------------------------------
-- Keys of other types, lossy keys, keys with quotes and backslashes
-- ---------------------------------------------------------------------------
SELECT tgt.expect('key boolean for a bigint key is 42804', $$SELECT transfer('h.acc', true, false, 1)$$, '42804');
SELECT tgt.expect('key uuid for a bigint key is 42804',
	$$SELECT transfer('h.acc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, 1)$$, '42804');
SELECT tgt.expect('key jsonb for a bigint key is 42804', $$SELECT transfer('h.acc', '1'::jsonb, '2'::jsonb, 1)$$, '42804');
SELECT tgt.expect('key int[] for a bigint key is 42804', $$SELECT transfer('h.acc', '{1}'::int[], '{2}'::int[], 1)$$, '42804');
SELECT tgt.expect('key timestamp for a bigint key is 42804', $$SELECT transfer('h.acc', now(), now(), 1)$$, '42804');
SELECT tgt.expect('key float8 for a bigint key is 42804', $$SELECT transfer('h.acc', 1::float8, 2::float8, 1)$$, '42804');
SELECT tgt.expect('key record for a bigint key is 42804', $$SELECT transfer('h.acc', ROW(1), ROW(2), 1)$$, '42804');
SELECT tgt.expect('key "abc" for a bigint key is 22P02', $$SELECT transfer('h.acc', 'abc', '2', 1)$$, '22P02');
SELECT tgt.expect('key "" for a bigint key is 22P02', $$SELECT transfer('h.acc', '', '2', 1)$$, '22P02');
SELECT tgt.expect('key numeric 1.5 for a bigint key is 22023', $$SELECT transfer('h.acc', 1.5, 2.5, 1)$$, '22023');
SELECT tgt.expect('key numeric NaN for a bigint key is 22023', $$SELECT transfer('h.acc', 'NaN'::numeric, 2::numeric, 1)$$, '22023');
SELECT tgt.expect('key numeric Infinity for a bigint key is ' || :'inf_state', $$SELECT transfer('h.acc', 'Infinity'::numeric, 2::numeric, 1)$$, :'inf_state');
SELECT tgt.expect('key numeric 1e1000 for a bigint key is 22003', $$SELECT transfer('h.acc', 1e1000, 2::numeric, 1)$$, '22003');
SELECT tgt.expect('key 1.5 in a batch for a bigint key is 22023',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1.5, "to_key": 2, "amount": 1}]')$$, '22023');
SELECT tgt.expect('key "1.5" in a batch for a bigint key is 22P02',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": "1.5", "to_key": 2, "amount": 1}]')$$, '22P02');
SELECT tgt.expect('key true in a batch is 22023',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": true, "to_key": 2, "amount": 1}]')$$, '22023');
SELECT tgt.expect('key [1] in a batch is 22023',
	$$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": [1], "to_key": 2, "amount": 1}]')$$, '22023');
SELECT tgt.expect('key smallint for a bigint key converts exactly', $$SELECT transfer('h.acc', 1::int2, 2::int2, 1)$$, '00000');
SELECT tgt.expect('key numeric 2.000 for a bigint key converts exactly', $$SELECT transfer('h.acc', 2.000, 1.0, 1)$$, '00000');
SELECT tgt.expect('key varchar for a bigint key converts through input', $$SELECT transfer('h.acc', '1'::varchar, '2'::varchar, 1)$$, '00000');
SELECT tgt.expect('key char(3) with padding for a bigint key converts', $$SELECT transfer('h.acc', '2'::char(3), '1'::char(3), 1)$$, '00000');
SELECT tgt.expect('key 9 that matches no row is P0002', $$SELECT transfer('h.acc', 1, 9, 1)$$, 'P0002');
SELECT tgt.expect('the same key twice is 22023', $$SELECT transfer('h.acc', 1, 1, 1)$$, '22023');
SELECT tgt.expect('the same key as 1 and 1.0 is 22023', $$SELECT transfer('h.acc', 1::numeric, 1.0, 1)$$, '22023');
SELECT tgt.is('keys: the balances are as they were', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.acc), '100,100,100,100');

-- numeric(10,0) key: a key must never be rounded onto another row
CREATE TABLE h.nkey (id numeric(10,0) PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO h.nkey VALUES (1, 100), (2, 100), (3, 100);
SELECT guard('h.nkey', 'bal');
SELECT tgt.expect_any('numeric(10,0) key: numeric 1.5 never reaches row 2', $$SELECT transfer('h.nkey', 1::numeric, 1.5, 5)$$, '{22023,P0002}');
SELECT tgt.expect_any('numeric(10,0) key: text "1.5" matches no row, is not rounded to row 2', $$SELECT transfer('h.nkey', '1', '1.5', 5)$$, '{22023,P0002}');
SELECT tgt.expect_any('numeric(10,0) key: "2.5" in a batch matches no row, is not rounded to row 3',
	$$SELECT transfer_batch('[{"from_table": "h.nkey", "from_key": 1, "to_key": "2.5", "amount": 5}]')$$, '{22023,P0002}');
SELECT tgt.is('numeric(10,0) key: the balances are as they were', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.nkey), '100,100,100');

-- name key: a long text key must not be truncated onto another row
CREATE TABLE h.namekey (id name PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO h.namekey VALUES (repeat('a', 63), 100), ('b', 100);
SELECT guard('h.namekey', 'bal');
SELECT tgt.expect_any('name key: a 66-character key is refused, not truncated onto the 63-character row',
	$$SELECT transfer('h.namekey', 'b', repeat('a', 63) || 'zzz', 5)$$, '{22023,22003,22P02,P0002}');
SELECT tgt.is('name key: the balances are as they were', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.namekey), '100,100');

-- uuid keys
CREATE TABLE h.ukey (id uuid PRIMARY KEY, bal int NOT NULL);
INSERT INTO h.ukey VALUES ('00000000-0000-0000-0000-000000000001', 10), ('00000000-0000-0000-0000-000000000002', 10);
SELECT guard('h.ukey', 'bal');
SELECT tgt.expect('uuid key: a bad uuid is 22P02', $$SELECT transfer('h.ukey', 'not-a-uuid', '00000000-0000-0000-0000-000000000002', 1)$$, '22P02');
SELECT tgt.expect('uuid key: an integer is 42804', $$SELECT transfer('h.ukey', 1, 2, 1)$$, '42804');
SELECT tgt.expect('uuid key: a number in a batch is 42804',
	$$SELECT transfer_batch('[{"from_table": "h.ukey", "from_key": 1, "to_key": "00000000-0000-0000-0000-000000000002", "amount": 1}]')$$, '42804');
SELECT tgt.expect('uuid key: the braced form is read by uuid input',
	$$SELECT transfer('h.ukey', '{00000000-0000-0000-0000-000000000001}', '00000000000000000000000000000002', 1)$$, '00000');

-- text keys with quotes, backslashes, empty and blank
CREATE TABLE h.tkey (k text PRIMARY KEY, bal int NOT NULL);
INSERT INTO h.tkey VALUES (E'O''Brien', 10), (E'back\\slash', 10), ('"dq"', 10),
	('''; DROP TABLE h.acc; --', 10), (E'tab\there', 10), ('', 10), (' ', 10), ('ünï€ode', 10);
SELECT guard('h.tkey', 'bal');
SELECT tgt.expect('text key: quote to backslash moves', $$SELECT transfer('h.tkey', E'O''Brien', E'back\\slash', 1)$$, '00000');
SELECT tgt.expect('text key: double quotes to an injection string moves', $$SELECT transfer('h.tkey', '"dq"', '''; DROP TABLE h.acc; --', 1)$$, '00000');
SELECT tgt.expect('text key: the empty key and the blank key are distinct rows', $$SELECT transfer('h.tkey', '', ' ', 1)$$, '00000');
SELECT tgt.expect('text key: tab and unicode keys move in a batch',
	$$SELECT transfer_batch(jsonb_build_array(jsonb_build_object('from_table', 'h.tkey', 'from_key', E'tab\there', 'to_key', 'ünï€ode', 'amount', 1), jsonb_build_object('from_table', 'h.tkey', 'from_key', E'back\\slash', 'to_key', E'O''Brien', 'amount', 1)))$$, '00000');
SELECT tgt.is('text key: a missing key with a quote is reported quoted',
	(tgt.state_of($$SELECT transfer('h.tkey', E'O''Brien', E'it''s', 1)$$)).msg, E'no row with key ''it''''s'' in table "tkey"');
SELECT tgt.expect('text key: a key differing only by trailing blank is another row', $$SELECT transfer('h.tkey', '"dq"', '"dq" ', 1)$$, 'P0002');
SELECT tgt.is('text key: every balance as expected', (SELECT string_agg(bal::text, ',' ORDER BY k COLLATE "C") FROM h.tkey), '9,11,9,11,10,10,9,11');
SELECT tgt.is('text key: the sum is unchanged', (SELECT sum(bal) FROM h.tkey), 80::bigint);
SELECT tgt.ok('text key: the injection string in a key ran nothing', to_regclass('h.acc') IS NOT NULL);

-- ---------------------------------------------------------------------------
-- Names that need quoting
-- ---------------------------------------------------------------------------
CREATE SCHEMA "Sch ema";
CREATE TABLE "Sch ema"."Acc ""Q"" Tbl" ("Key Col" int PRIMARY KEY, "select" bigint NOT NULL,
	"MixedCase" numeric(10,2) NOT NULL, "a\b" int NOT NULL);
INSERT INTO "Sch ema"."Acc ""Q"" Tbl" VALUES (1, 10, 10, 10), (2, 10, 10, 10);
SELECT tgt.expect('quoted names: guard a reserved-word column', $$SELECT guard('"Sch ema"."Acc ""Q"" Tbl"', 'select')$$, '00000');
SELECT tgt.expect('quoted names: guard a mixed-case column', $$SELECT guard('"Sch ema"."Acc ""Q"" Tbl"', 'MixedCase')$$, '00000');
SELECT tgt.expect('quoted names: guard a column with a backslash', $$SELECT guard('"Sch ema"."Acc ""Q"" Tbl"', E'a\\b')$$, '00000');
SELECT tgt.expect('quoted names: several guarded columns and none named is 42702', $$SELECT transfer('"Sch ema"."Acc ""Q"" Tbl"', 1, 2, 1)$$, '42702');
SELECT tgt.expect('quoted names: transfer on "select"', $$SELECT transfer('"Sch ema"."Acc ""Q"" Tbl"', 1, 2, 1, balance_column => 'select')$$, '00000');
SELECT tgt.expect('quoted names: transfer on "MixedCase"', $$SELECT transfer('"Sch ema"."Acc ""Q"" Tbl"', 1, 2, 0.5, balance_column => 'MixedCase')$$, '00000');
SELECT tgt.expect('quoted names: "mixedcase" is another, unguarded column (55000)', $$SELECT transfer('"Sch ema"."Acc ""Q"" Tbl"', 1, 2, 1, balance_column => 'mixedcase')$$, '55000');
SELECT tgt.expect('quoted names: from "select" to "a\b" of the same row', $$SELECT transfer('"Sch ema"."Acc ""Q"" Tbl"', 1, 1, 1, balance_column => 'select', to_column => E'a\\b')$$, '00000');
SELECT tgt.expect('quoted names: a batch with quoted table and columns',
	$$SELECT transfer_batch('[{"from_table": "\"Sch ema\".\"Acc \"\"Q\"\" Tbl\"", "from_column": "MixedCase", "from_key": 2, "to_key": 1, "amount": 0.25}]')$$, '00000');
SELECT tgt.is('quoted names: the balances', (SELECT string_agg(concat_ws('/', "select", "MixedCase", "a\b"), ',' ORDER BY "Key Col") FROM "Sch ema"."Acc ""Q"" Tbl"), '8/9.75/11,11/10.25/10');

-- ---------------------------------------------------------------------------
-- The table or its guard changed between two calls of one session
-- ---------------------------------------------------------------------------
CREATE TABLE h.chg (id int PRIMARY KEY, bal bigint NOT NULL, other int NOT NULL DEFAULT 0);
INSERT INTO h.chg VALUES (1, 100), (2, 100);
SELECT guard('h.chg', 'bal');
SELECT tgt.expect('changes: a first call fills the cache', $$SELECT transfer('h.chg', 1, 2, 1)$$, '00000');
ALTER TABLE h.chg RENAME TO chg2;
SELECT tgt.expect('changes: after a rename the new name works', $$SELECT transfer('h.chg2', 2, 1, 1)$$, '00000');
SELECT tgt.expect('changes: after a rename the old name is 42P01', $$SELECT transfer('h.chg', 2, 1, 1)$$, '42P01');
ALTER TABLE h.chg2 ALTER COLUMN bal TYPE numeric(12,2);
SELECT tgt.expect('changes: after bigint -> numeric(12,2) a fraction moves', $$SELECT transfer('h.chg2', 1, 2, 0.5)$$, '00000');
SELECT tgt.expect('changes: after bigint -> numeric(12,2) a third decimal is 22023', $$SELECT transfer('h.chg2', 1, 2, 0.005)$$, '22023');
SELECT tgt.expect('changes: the fraction moves back', $$SELECT transfer('h.chg2', 2, 1, 0.5)$$, '00000');
ALTER TABLE h.chg2 ALTER COLUMN bal TYPE text;
SELECT tgt.expect('changes: after -> text the column is not guarded (55000)', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '55000');
ALTER TABLE h.chg2 ALTER COLUMN bal TYPE smallint USING bal::numeric::smallint;
SELECT tgt.expect('changes: after -> smallint the guard applies again', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '00000');
SELECT tgt.expect('changes: after -> smallint the range is smallint''s', $$SELECT transfer('h.chg2', 1, 2, 40000)$$, '22003');
ALTER TABLE h.chg2 RENAME COLUMN bal TO bal_renamed;
SELECT tgt.expect_any('changes: after renaming the column, the guard follows it or the call is refused (55000)', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '{00000,55000}');
SELECT tgt.expect('changes: after renaming the column, its old name is not guarded (55000)', $$SELECT transfer('h.chg2', 1, 2, 1, balance_column => 'bal')$$, '55000');
ALTER TABLE h.chg2 RENAME COLUMN bal_renamed TO bal;
SELECT tgt.expect('changes: after renaming it back it is guarded again', $$SELECT transfer('h.chg2', 2, 1, 1, balance_column => 'bal')$$, '00000');
SELECT guard('h.chg2', 'bal', 1000);
SELECT tgt.expect('changes: a raised floor binds the next call (23514)', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '23514');
SELECT unguard('h.chg2', 'bal');
SELECT tgt.expect('changes: after unguard the table is not guarded (55000)', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '55000');
SELECT guard('h.chg2', 'bal');
BEGIN;
SELECT tgt.expect('changes: in one transaction, a call before ALTER', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '00000');
ALTER TABLE h.chg2 ALTER COLUMN bal TYPE bigint;
SELECT tgt.expect('changes: in one transaction, a call after ALTER', $$SELECT transfer('h.chg2', 2, 1, 1)$$, '00000');
ALTER TABLE h.chg2 DROP CONSTRAINT chg_pkey;
SELECT tgt.expect_any('changes: in one transaction, after the key is dropped, the call is refused', $$SELECT transfer('h.chg2', 2, 1, 1)$$, '{42P10,55000}');
ALTER TABLE h.chg2 ADD PRIMARY KEY (id);
SELECT tgt.expect('changes: in one transaction, after the key is back', $$SELECT transfer('h.chg2', 2, 1, 1)$$, '00000');
COMMIT;
SELECT tgt.is('changes: the sum is unchanged', (SELECT sum(bal) FROM h.chg2), 200::numeric);
SELECT 'h.chg2'::regclass::oid AS chg_oid \gset
ALTER TABLE h.chg2 DROP COLUMN bal;
SELECT tgt.is('changes: dropping the column removed its guard', (SELECT count(*) FROM transfer_guards WHERE tbl = :chg_oid), 0::bigint);
SELECT tgt.expect('changes: after dropping the column, 55000', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '55000');
ALTER TABLE h.chg2 ADD COLUMN bal bigint NOT NULL DEFAULT 5;
SELECT tgt.expect('changes: a new column of the same name is not guarded (55000)', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '55000');
SELECT guard('h.chg2', 'bal');
SELECT tgt.expect('changes: guarded again', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '00000');
DROP TABLE h.chg2;
SELECT tgt.is('changes: dropping the table removed its guard', (SELECT count(*) FROM transfer_guard_registry WHERE tbl::oid = :chg_oid), 0::bigint);
SELECT tgt.expect('changes: the dropped table by its old OID is 42P01', format($$SELECT transfer(%s::oid::regclass, 1, 2, 1)$$, :chg_oid), '42P01');
SELECT tgt.expect('changes: the dropped table by name is 42P01', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '42P01');
CREATE TABLE h.chg2 (id int PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO h.chg2 VALUES (1, 100), (2, 100);
SELECT tgt.expect('changes: a new table of the same name is not guarded (55000)', $$SELECT transfer('h.chg2', 1, 2, 1)$$, '55000');

-- ---------------------------------------------------------------------------
-- The table's own rules: partitions, triggers, CHECK, domains, foreign keys
-- ---------------------------------------------------------------------------
CREATE TABLE h.part (id int PRIMARY KEY, bal int NOT NULL CONSTRAINT part_cap CHECK (bal <= 1000))
	PARTITION BY RANGE (id);
CREATE TABLE h.part1 PARTITION OF h.part FOR VALUES FROM (0) TO (100);
CREATE TABLE h.part2 PARTITION OF h.part FOR VALUES FROM (100) TO (200);
INSERT INTO h.part VALUES (1, 100), (2, 0), (150, 100), (151, 990);
SELECT guard('h.part', 'bal');
SELECT tgt.expect('partitioned: a move across partitions', $$SELECT transfer('h.part', 1, 150, 10)$$, '00000');
SELECT tgt.expect_constraint('partitioned: the CHECK constraint fires (23514, part_cap)', $$SELECT transfer('h.part', 1, 151, 20)$$, '23514', 'part_cap');
SELECT tgt.expect_constraint('partitioned: the floor is the guard''s (23514, transfer_guard_min_balance)', $$SELECT transfer('h.part', 2, 1, 1)$$, '23514', 'transfer_guard_min_balance');
SELECT tgt.expect('partitioned: a key outside every partition is P0002', $$SELECT transfer('h.part', 1, 500, 1)$$, 'P0002');
SELECT tgt.is('partitioned: the balances', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.part), '90,0,110,990');
-- the same rows reachable through the parent and through a guarded partition
SELECT tgt.ok('partitioned: a partition of a guarded table cannot be guarded too, or one batch cannot overdraw a row through both',
	(tgt.state_of($$SELECT guard('h.part1', 'bal')$$)).state <> '00000'
	OR (tgt.state_of($$SELECT transfer_batch('[{"from_table": "h.part", "from_key": 1, "to_key": 150, "amount": 90}, {"from_table": "h.part1", "from_key": 1, "to_key": 2, "amount": 90}]')$$)).state IN ('23514', '22023', '55000'),
	'guard() of the partition and the batch through parent and partition both succeeded');
SELECT tgt.ok('partitioned: no balance of a guarded partition is below its floor 0', NOT EXISTS (SELECT FROM h.part WHERE bal < 0),
	(SELECT string_agg(format('row %s has %s', id, bal), ', ') FROM h.part WHERE bal < 0));
SELECT tgt.state_of($$SELECT unguard('h.part1', 'bal')$$) \g /dev/null

CREATE TABLE h.audit (id int, old_bal int, new_bal int);
CREATE TABLE h.trig (id int PRIMARY KEY, bal int NOT NULL, touched int NOT NULL DEFAULT 0);
INSERT INTO h.trig VALUES (1, 100), (2, 100), (13, 100), (66, 100);
CREATE FUNCTION h.trig_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 66 THEN
		RETURN NULL;
	END IF;
	NEW.touched := OLD.touched + 1;
	INSERT INTO h.audit VALUES (NEW.id, OLD.bal, NEW.bal);
	RETURN NEW;
END;
$$;
CREATE FUNCTION h.trig_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 13 THEN
		RAISE EXCEPTION 'row 13 is frozen' USING ERRCODE = 'check_violation', CONSTRAINT = 'frozen_13';
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER trig_before BEFORE UPDATE ON h.trig FOR EACH ROW EXECUTE FUNCTION h.trig_before();
CREATE TRIGGER trig_after AFTER UPDATE ON h.trig FOR EACH ROW EXECUTE FUNCTION h.trig_after();
SELECT guard('h.trig', 'bal');
SELECT tgt.expect('triggers: a move fires the triggers', $$SELECT transfer('h.trig', 1, 2, 5)$$, '00000');
SELECT tgt.is('triggers: the BEFORE trigger ran once per row', (SELECT string_agg(format('%s:%s->%s', id, old_bal, new_bal), ' ' ORDER BY id) FROM h.audit), '1:100->95 2:100->105');
SELECT tgt.expect_constraint('triggers: an AFTER trigger''s error passes through', $$SELECT transfer('h.trig', 1, 13, 5)$$, '23514', 'frozen_13');
SELECT tgt.expect('triggers: a BEFORE trigger that skips a row is 09000', $$SELECT transfer('h.trig', 1, 66, 5)$$, '09000');
SELECT tgt.is('triggers: the balances', (SELECT string_agg(format('%s/%s', bal, touched), ',' ORDER BY id) FROM h.trig), '95/1,105/1,100/0,100/0');

CREATE DOMAIN h.not13 AS bigint CONSTRAINT not_thirteen CHECK (VALUE <> 13);
CREATE TABLE h.dom (id int PRIMARY KEY, bal h.not13 NOT NULL);
INSERT INTO h.dom VALUES (1, 20), (2, 0);
SELECT guard('h.dom', 'bal');
SELECT tgt.expect_constraint('domain: the domain CHECK fires (23514, not_thirteen)', $$SELECT transfer('h.dom', 1, 2, 13)$$, '23514', 'not_thirteen');
SELECT tgt.expect('domain: other amounts move', $$SELECT transfer('h.dom', 1, 2, 12)$$, '00000');

CREATE TABLE h.levels (v int PRIMARY KEY);
INSERT INTO h.levels SELECT generate_series(0, 100);
CREATE TABLE h.fk (id int PRIMARY KEY, bal int NOT NULL CONSTRAINT fk_level REFERENCES h.levels (v));
INSERT INTO h.fk VALUES (1, 50), (2, 60);
CREATE TABLE h.orders (id int PRIMARY KEY, account int NOT NULL REFERENCES h.fk (id));
INSERT INTO h.orders VALUES (1, 1);
SELECT guard('h.fk', 'bal');
SELECT tgt.expect_constraint('foreign key: a balance outside the referenced table is 23503', $$SELECT transfer('h.fk', 1, 2, 41)$$, '23503', 'fk_level');
SELECT tgt.expect('foreign key: a referenced row moves', $$SELECT transfer('h.fk', 1, 2, 40)$$, '00000');
SELECT tgt.is('foreign key: the balances', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.fk), '10,100');

CREATE TABLE h.odd (id int PRIMARY KEY, bal numeric, bal2 int);
INSERT INTO h.odd VALUES (1, NULL, 1), (2, 'NaN', 1), (3, 10, 1);
\if :numeric_inf
INSERT INTO h.odd VALUES (4, 'Infinity', 1);
\endif
SELECT guard('h.odd', 'bal', NULL);
SELECT tgt.expect('odd balances: a NULL balance is 22004', $$SELECT transfer('h.odd', 1, 3, 1)$$, '22004');
SELECT tgt.expect('odd balances: a NaN balance is 22000', $$SELECT transfer('h.odd', 3, 2, 1)$$, '22000');
\if :numeric_inf
SELECT tgt.expect('odd balances: an Infinity balance is 22000', $$SELECT transfer('h.odd', 4, 3, 1)$$, '22000');
\endif
SELECT tgt.expect('odd balances: an unguarded column is 55000', $$SELECT transfer('h.odd', 3, 1, 1, balance_column => 'bal2')$$, '55000');
SELECT tgt.expect('odd balances: the key column cannot be guarded (22023)', $$SELECT guard('h.odd', 'id')$$, '22023');
SELECT tgt.expect('odd balances: a system column cannot be guarded (0A000)', $$SELECT guard('h.odd', 'xmin')$$, '0A000');
SELECT tgt.expect('odd balances: a missing column cannot be guarded (42703)', $$SELECT guard('h.odd', 'nope')$$, '42703');
SELECT tgt.expect('odd balances: an index cannot be guarded (42809)', $$SELECT guard('h.odd_pkey', 'id')$$, '42809');
SELECT tgt.expect('odd balances: a text column cannot be guarded (42804)', $$SELECT guard('h.tkey', 'k')$$, '42804');

-- generated and identity columns cannot be written by UPDATE
CREATE TABLE h.gen (id int PRIMARY KEY, a int NOT NULL, bal int GENERATED ALWAYS AS (a * 2) STORED);
INSERT INTO h.gen (id, a) VALUES (1, 10), (2, 10);
SELECT tgt.ok('generated: guard() refuses a generated column, or transfer() fails with a documented SQLSTATE',
	(tgt.state_of($$SELECT guard('h.gen', 'bal')$$)).state <> '00000'
	OR (tgt.state_of($$SELECT transfer('h.gen', 1, 2, 1)$$)).state IN ('55000', '42809', '0A000', '22023'),
	(SELECT format('guard() succeeded; transfer: %s %s', s.state, s.msg)
	   FROM tgt.state_of($$SELECT transfer('h.gen', 1, 2, 1)$$) s));
CREATE TABLE h.ident (id int PRIMARY KEY, bal int GENERATED ALWAYS AS IDENTITY);
INSERT INTO h.ident (id) VALUES (1), (2);
SELECT tgt.ok('identity: guard() refuses a GENERATED ALWAYS identity column, or transfer() fails with a documented SQLSTATE',
	(tgt.state_of($$SELECT guard('h.ident', 'bal')$$)).state <> '00000'
	OR (tgt.state_of($$SELECT transfer('h.ident', 1, 2, 1)$$)).state IN ('55000', '42809', '0A000', '22023'),
	(SELECT format('guard() succeeded; transfer: %s %s', s.state, s.msg)
	   FROM tgt.state_of($$SELECT transfer('h.ident', 1, 2, 1)$$) s));

-- ---------------------------------------------------------------------------
-- Malformed batches
-- ---------------------------------------------------------------------------
SELECT tgt.expect('batch: an object instead of an array is 22023', $$SELECT transfer_batch('{}')$$, '22023');
SELECT tgt.expect('batch: a scalar is 22023', $$SELECT transfer_batch('3')$$, '22023');
SELECT tgt.expect('batch: a string is 22023', $$SELECT transfer_batch('"[]"')$$, '22023');
SELECT tgt.expect('batch: JSON null is 22023', $$SELECT transfer_batch('null')$$, '22023');
SELECT tgt.expect('batch: a number as a leg is 22023', $$SELECT transfer_batch('[1]')$$, '22023');
SELECT tgt.expect('batch: an array as a leg is 22023', $$SELECT transfer_batch('[[]]')$$, '22023');
SELECT tgt.expect('batch: null as a leg is 22023', $$SELECT transfer_batch('[null]')$$, '22023');
SELECT tgt.expect('batch: an unknown field is 22023', $$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": 1, "amout": 1}]')$$, '22023');
SELECT tgt.expect('batch: a field name that differs in case is 22023', $$SELECT transfer_batch('[{"From_table": "h.acc", "from_key": 1, "to_key": 2, "amount": 1}]')$$, '22023');
SELECT tgt.expect('batch: from_table as a number is 22023', $$SELECT transfer_batch('[{"from_table": 1, "from_key": 1, "to_key": 2, "amount": 1}]')$$, '22023');
SELECT tgt.expect('batch: a column as a number is 22023', $$SELECT transfer_batch('[{"from_table": "h.acc", "from_column": 1, "from_key": 1, "to_key": 2, "amount": 1}]')$$, '22023');
SELECT tgt.expect('batch: a column name of 64 characters is 22023', format($$SELECT transfer_batch('[{"from_table": "h.acc", "from_column": "%s", "from_key": 1, "to_key": 2, "amount": 1}]')$$, repeat('x', 64)), '22023');
SELECT tgt.expect('batch: a table that does not exist is 42P01', $$SELECT transfer_batch('[{"from_table": "h.nope", "from_key": 1, "to_key": 2, "amount": 1}]')$$, '42P01');
SELECT tgt.expect('batch: a table given by a bad OID is 42P01', $$SELECT transfer_batch('[{"from_table": "4000000000", "from_key": 1, "to_key": 2, "amount": 1}]')$$, '42P01');
SELECT tgt.expect('batch: a second leg that fails undoes the first', $$SELECT transfer_batch('[{"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": 1}, {"from_table": "h.acc", "from_key": 1, "to_key": 2, "amount": 1000}]')$$, '23514');
SELECT tgt.expect('batch: the empty array does nothing', $$SELECT transfer_batch('[]')$$, '00000');
SELECT tgt.is('batch: the balances are as they were', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.acc), '100,100,100,100');
SELECT tgt.is('batch: 2000 legs in a ring return 2000 rows',
	(SELECT count(*) FROM transfer_batch((SELECT jsonb_agg(jsonb_build_object('from_table', 'h.acc', 'from_key', 1 + g % 4, 'to_key', 1 + (g + 1) % 4, 'amount', 1)) FROM generate_series(1, 2000) g))),
	2000::bigint);
SELECT tgt.is('batch: after the ring every balance is as before', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.acc), '100,100,100,100');

-- ---------------------------------------------------------------------------
-- Holds: NULLs, odd amounts, keys, hold ids, intervals and idempotency keys
-- for hold(), capture(), try_capture(), release() and release_expired().
-- After every call the balances plus the open holds are what they were: a
-- hold moves money out of a balance into the hold, its capture or release
-- out of the hold, and a refused call moves nothing.
-- ---------------------------------------------------------------------------
SELECT CASE WHEN current_setting('server_version_num')::int >= 170000
		THEN '22023' ELSE '22007' END AS interval_inf_state \gset
CREATE TABLE h.hacc (id bigint PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO h.hacc SELECT g, 100 FROM generate_series(1, 4) g;
SELECT guard('h.hacc', 'bal');
CREATE TABLE h.hn2 (id int PRIMARY KEY, bal numeric(12,2) NOT NULL);
INSERT INTO h.hn2 VALUES (1, 100), (2, 100);
SELECT guard('h.hn2', 'bal');
CREATE TABLE h.hun (id int PRIMARY KEY, bal numeric NOT NULL);
INSERT INTO h.hun VALUES (1, 100), (2, 100);
SELECT guard('h.hun', 'bal', NULL);
CREATE TABLE h.hcap (id int PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO h.hcap VALUES (1, 100), (2, 95);
SELECT guard('h.hcap', 'bal', 0, 100);
CREATE TABLE h.htxt (k text PRIMARY KEY, bal int NOT NULL);
INSERT INTO h.htxt VALUES ('a', 50), (E'O''Brien', 50);
SELECT guard('h.htxt', 'bal');
CREATE TABLE h.hplain (id int PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO h.hplain VALUES (1, 100), (2, 100);
\set money 'SELECT (SELECT sum(bal) FROM h.hacc) + (SELECT sum(bal) FROM h.hn2) + (SELECT sum(bal) FROM h.hun) + (SELECT sum(bal) FROM h.hcap) + (SELECT sum(bal) FROM h.htxt) + (SELECT COALESCE(sum(amount), 0) FROM transfer_guard_hold WHERE state = ''held'')'
SELECT tgt.value(:'money') AS money_start \gset
\set balances 'SELECT string_agg(bal::text, '','' ORDER BY id) FROM h.hacc'

-- NULLs
SELECT tgt.expect_kept('hold: NULL table is 22004', $$SELECT hold(NULL, 1, 2, 5)$$, '22004', :'money');
SELECT tgt.expect_kept('hold: NULL from_key is 22004', $$SELECT hold('h.hacc', NULL, 2, 5)$$, '22004', :'money');
SELECT tgt.expect_kept('hold: NULL to_key is 22004', $$SELECT hold('h.hacc', 1, NULL, 5)$$, '22004', :'money');
SELECT tgt.expect_kept('hold: NULL amount is 22004', $$SELECT hold('h.hacc', 1, 2, NULL)$$, '22004', :'money');
SELECT tgt.expect_kept('hold: NULL keys of the text overload are 22004', $$SELECT hold('h.hacc', '1', NULL::text, 5)$$, '22004', :'money');
SELECT tgt.expect_kept('hold: all NULL is 22004', $$SELECT hold(NULL, NULL::bigint, NULL::bigint, NULL)$$, '22004', :'money');
SELECT tgt.expect_kept('hold: NULL balance_column, to_table, to_column, expires_in and idempotency_key mean the defaults',
	$$SELECT hold('h.hacc', 1, 2, 5, balance_column => NULL, to_table => NULL, to_column => NULL, expires_in => NULL, idempotency_key => NULL)$$,
	'00000', :'money');
SELECT hold_id AS h_null_defaults FROM transfer_guard_holds ORDER BY hold_id DESC LIMIT 1 \gset
SELECT tgt.is('hold: a NULL expires_in is a hold that never expires',
	(SELECT expires_at IS NULL AND state = 'held' FROM transfer_guard_holds WHERE hold_id = :h_null_defaults), true);
SELECT tgt.expect_kept('capture: NULL hold_id is 22004', $$SELECT capture(NULL)$$, '22004', :'money');
SELECT tgt.expect_kept('capture: NULL hold_id with an amount is 22004', $$SELECT capture(NULL, 5)$$, '22004', :'money');
SELECT tgt.expect_kept('try_capture: NULL hold_id is 22004, an error and not a status', $$SELECT try_capture(NULL)$$, '22004', :'money');
SELECT tgt.expect_kept('release: NULL hold_id is 22004', $$SELECT release(NULL)$$, '22004', :'money');
SELECT tgt.expect_kept('capture: a NULL amount captures it all', format('SELECT capture(%s, NULL)', :h_null_defaults), '00000', :'money');
SELECT tgt.is('capture: ... all of it', (SELECT format('%s %s', state, captured) FROM transfer_guard_holds WHERE hold_id = :h_null_defaults), 'captured 5');
SELECT tgt.is('NULLs: the balances are as moved (5 from row 1 to row 2)', tgt.value(:'balances'), '95,105,100,100');

-- amounts
SELECT tgt.expect_kept('hold: amount 0 is 22023', $$SELECT hold('h.hacc', 1, 2, 0)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: amount -0 is 22023', $$SELECT hold('h.hacc', 1, 2, '-0'::numeric)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: amount -0.000 is 22023', $$SELECT hold('h.hacc', 1, 2, -0.000)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: amount -1 is 22023', $$SELECT hold('h.hacc', 1, 2, -1)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: amount NaN is 22023', $$SELECT hold('h.hacc', 1, 2, 'NaN')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: amount Infinity is ' || :'inf_state', $$SELECT hold('h.hacc', 1, 2, 'Infinity')$$, :'inf_state', :'money');
SELECT tgt.expect_kept('hold: amount -Infinity is ' || :'inf_state', $$SELECT hold('h.hacc', 1, 2, '-Infinity')$$, :'inf_state', :'money');
SELECT tgt.expect_kept('hold: amount 0.5 for a bigint column is 22023', $$SELECT hold('h.hacc', 1, 2, 0.5)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: amount 1e-1000 for a bigint column is 22023', $$SELECT hold('h.hacc', 1, 2, 1e-1000)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: amount 1e1000 for a bigint column is 22003', $$SELECT hold('h.hacc', 1, 2, 1e1000)$$, '22003', :'money');
SELECT tgt.expect_kept('hold: amount 9223372036854775808 for a bigint column is 22003', $$SELECT hold('h.hacc', 1, 2, 9223372036854775808)$$, '22003', :'money');
SELECT tgt.expect_kept('hold: amount "abc" is 22P02', $$SELECT hold('h.hacc', 1, 2, 'abc')$$, '22P02', :'money');
SELECT tgt.expect_kept('hold: more than the balance is 23514 (the floor is checked at once, as for a debit)', $$SELECT hold('h.hacc', 1, 2, 96)$$, '23514', :'money');
SELECT tgt.expect_kept('hold: numeric(12,2): amount 0.001 is 22023', $$SELECT hold('h.hn2', 1, 2, 0.001)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: a scale the source keeps but the destination numeric(12,2) does not is 22023',
	$$SELECT hold('h.hun', 1, 2, 0.001, to_table => 'h.hn2')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: a scale the destination keeps but the source numeric(12,2) does not is 22023',
	$$SELECT hold('h.hn2', 1, 1, 0.001, to_table => 'h.hun')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: a fraction to a bigint destination is 22023',
	$$SELECT hold('h.hun', 1, 1, 0.5, to_table => 'h.hacc')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: unconstrained numeric: amount 1e1000 is held (no floor)', $$SELECT hold('h.hun', 1, 2, 1e1000)$$, '00000', :'money');
SELECT hold_id AS h_huge FROM transfer_guard_holds ORDER BY hold_id DESC LIMIT 1 \gset
SELECT tgt.expect_kept('hold: unconstrained numeric: amount 1e-1000 is held', $$SELECT hold('h.hun', 1, 2, 1e-1000)$$, '00000', :'money');
SELECT hold_id AS h_tiny FROM transfer_guard_holds ORDER BY hold_id DESC LIMIT 1 \gset
SELECT tgt.ok('hold: both amounts are held exactly',
	(SELECT array_agg(amount ORDER BY hold_id) = ARRAY[1e1000, 1e-1000] FROM transfer_guard_holds WHERE hold_id IN (:h_huge, :h_tiny)));
SELECT tgt.expect_kept('release: 1e1000 comes back', format('SELECT release(%s)', :h_huge), '00000', :'money');
SELECT tgt.expect_kept('capture: 1e-1000 is captured', format('SELECT capture(%s)', :h_tiny), '00000', :'money');
SELECT tgt.ok('unconstrained numeric: the balances are exact to 1e-1000',
	(SELECT array_agg(bal ORDER BY id) = ARRAY[100 - 1e-1000, 100 + 1e-1000] FROM h.hun));

-- keys
SELECT tgt.expect_kept('hold: the same row twice is 22023', $$SELECT hold('h.hacc', 1, 1, 5)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: the same row through the text overload is 22023', $$SELECT hold('h.hacc', '1', '1', 5)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: the same row as 1 and 1.0 is 22023', $$SELECT hold('h.hacc', 1::numeric, 1.0, 5)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: the same row with to_table naming the same table is 22023', $$SELECT hold('h.hacc', 1, 1, 5, to_table => 'h.hacc')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: a source that matches no row is P0002', $$SELECT hold('h.hacc', 9, 2, 5)$$, 'P0002', :'money');
SELECT tgt.expect_kept('hold: a destination that matches no row is P0002', $$SELECT hold('h.hacc', 1, 9, 5)$$, 'P0002', :'money');
SELECT tgt.expect_kept('hold: a destination in another table that matches no row is P0002', $$SELECT hold('h.hacc', 1, 9, 5, to_table => 'h.hcap')$$, 'P0002', :'money');
SELECT tgt.expect_kept('hold: key "abc" for a bigint key is 22P02', $$SELECT hold('h.hacc', 'abc', '2', 5)$$, '22P02', :'money');
SELECT tgt.expect_kept('hold: key boolean for a bigint key is 42804', $$SELECT hold('h.hacc', true, false, 5)$$, '42804', :'money');
SELECT tgt.expect_kept('hold: key uuid for a bigint key is 42804',
	$$SELECT hold('h.hacc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, 5)$$, '42804', :'money');
SELECT tgt.expect_kept('hold: key numeric 1.5 for a bigint key is 22023', $$SELECT hold('h.hacc', 1.5, 2.5, 5)$$, '22023', :'money');
SELECT tgt.expect_kept('hold: key 9223372036854775808 for a bigint key is 22003', $$SELECT hold('h.hacc', '9223372036854775808', '1', 5)$$, '22003', :'money');
SELECT tgt.expect_kept('hold: a destination key of another type than the source key, as text', $$SELECT hold('h.hacc', '2', 'a', 5, to_table => 'h.htxt')$$, '00000', :'money');
SELECT tgt.expect_kept('hold: a text key with a quote', $$SELECT hold('h.htxt', E'O''Brien', 'a', 5)$$, '00000', :'money');
SELECT tgt.expect_kept('hold: an unguarded destination table is 55000', $$SELECT hold('h.hacc', 1, 1, 5, to_table => 'h.hplain')$$, '55000', :'money');
SELECT tgt.expect_kept('hold: a destination table that does not exist is 42P01', $$SELECT hold('h.hacc', 1, 1, 5, to_table => 'h.nope')$$, '42P01', :'money');
SELECT tgt.expect_kept('hold: an unguarded destination column is 55000', $$SELECT hold('h.hacc', 1, 2, 5, to_column => 'id')$$, '55000', :'money');
SELECT tgt.expect_kept('hold: an unguarded source column is 55000', $$SELECT hold('h.hacc', 1, 2, 5, balance_column => 'nope')$$, '55000', :'money');
SELECT tgt.expect_kept('hold: an unguarded source table is 55000', $$SELECT hold('h.hplain', 1, 2, 5)$$, '55000', :'money');

-- intervals
SELECT tgt.expect_kept('hold: expires_in 0 is 22023', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => '0')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: expires_in -1 day is 22023', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => '-1 day')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: expires_in -1 microsecond is 22023', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => '-00:00:00.000001')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: expires_in 1 day -24 hours is 22023', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => '1 day -24 hours')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: expires_in 1 month -40 days is 22023', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => '1 month -40 days')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: expires_in of half a microsecond (0 once read) is 22023', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => make_interval(secs => 0.0000004))$$, '22023', :'money');
SELECT tgt.expect_kept('hold: expires_in infinity is ' || :'interval_inf_state', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => 'infinity')$$, :'interval_inf_state', :'money');
SELECT tgt.expect_kept('hold: expires_in -infinity is ' || :'interval_inf_state', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => '-infinity')$$, :'interval_inf_state', :'money');
SELECT tgt.value(:'money') AS money_before \gset
SELECT s.state AS far_state, COALESCE(s.msg, '') AS far_msg
  FROM tgt.state_of($$SELECT hold('h.hacc', 1, 2, 5, expires_in => '178000000 years')$$) s \gset
SELECT tgt.ok('hold: an expiry beyond the range of timestamps is refused (22023, or 22008 from the timestamp arithmetic), and nothing moves',
	:'far_state' IN ('22023', '22008') AND tgt.value(:'money')::numeric = :'money_before'::numeric,
	format('%s %s; money before %s, after %s', :'far_state', :'far_msg', :'money_before', tgt.value(:'money')));
SELECT tgt.expect_kept('hold: expires_in 290000 years is within range', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => '290000 years')$$, '00000', :'money');
SELECT tgt.expect_kept('hold: expires_in of an interval type is required (an integer matches no function, 42883)', $$SELECT hold('h.hacc', 1, 2, 5, expires_in => 5)$$, '42883', :'money');
SELECT tgt.ok('intervals: the refused calls moved nothing; two holds of 5 are open',
	tgt.value(:'balances') = '90,100,100,100' AND (SELECT count(*) = 2 AND sum(amount) = 10 FROM transfer_guard_holds
		WHERE state = 'held' AND from_table = 'h.hacc'::regclass),
	tgt.value(:'balances'));

-- idempotency keys: hold() and transfer() share one namespace per role
SELECT tgt.expect_kept('hold: the empty idempotency key is 22023', $$SELECT hold('h.hacc', 3, 4, 5, idempotency_key => '')$$, '22023', :'money');
SELECT tgt.expect_kept('hold: an idempotency key of 1001 bytes is 22023', $$SELECT hold('h.hacc', 3, 4, 5, idempotency_key => repeat('k', 1001))$$, '22023', :'money');
SELECT tgt.expect_kept('hold: with an idempotency key', $$SELECT hold('h.hacc', 3, 4, 5, expires_in => '1 hour', idempotency_key => 'hk-1')$$, '00000', :'money');
SELECT hold_id AS hk1, from_balance AS hk1_balance FROM hold('h.hacc', 3, 4, 5, expires_in => '1 hour', idempotency_key => 'hk-1') \gset
SELECT tgt.is('hold: the replay returns the first hold_id and from_balance',
	(SELECT format('%s %s', hold_id, from_balance) FROM hold('h.hacc', 3, 4, 5, expires_in => '1 hour', idempotency_key => 'hk-1')),
	(SELECT format('%s 95', max(hold_id)) FROM transfer_guard_holds));
SELECT tgt.expect_kept('hold: the replay through the text overload with the same keys is the same request',
	$$SELECT hold('h.hacc', '3', '4', 5, expires_in => '1 hour', idempotency_key => 'hk-1')$$, '00000', :'money');
SELECT tgt.expect_kept('hold: the replay with an equal expiry spelled otherwise is the same request',
	$$SELECT hold('h.hacc', 3, 4, 5, expires_in => '60 minutes', idempotency_key => 'hk-1')$$, '00000', :'money');
SELECT tgt.is('hold: the replays placed no other hold and moved nothing',
	(SELECT format('%s %s', count(*), tgt.value(:'balances')) FROM transfer_guard_holds WHERE from_table = 'h.hacc'::regclass AND from_key = '3'),
	'1 90,100,95,100');
SELECT tgt.expect_kept('hold: the same key with another amount is TG001', $$SELECT hold('h.hacc', 3, 4, 6, expires_in => '1 hour', idempotency_key => 'hk-1')$$, 'TG001', :'money');
SELECT tgt.expect_kept('hold: the same key with another expires_in is TG001', $$SELECT hold('h.hacc', 3, 4, 5, expires_in => '2 hours', idempotency_key => 'hk-1')$$, 'TG001', :'money');
SELECT tgt.expect_kept('hold: the same key without expires_in is TG001', $$SELECT hold('h.hacc', 3, 4, 5, idempotency_key => 'hk-1')$$, 'TG001', :'money');
SELECT tgt.expect_kept('hold: the same key with another destination is TG001', $$SELECT hold('h.hacc', 3, 2, 5, expires_in => '1 hour', idempotency_key => 'hk-1')$$, 'TG001', :'money');
SELECT tgt.expect_kept('transfer: a hold''s key is TG001', $$SELECT transfer('h.hacc', 3, 4, 5, idempotency_key => 'hk-1')$$, 'TG001', :'money');
SELECT tgt.expect_kept('try_transfer: a hold''s key is TG001, not a replay', $$SELECT try_transfer('h.hacc', 3, 4, 5, idempotency_key => 'hk-1')$$, 'TG001', :'money');
SELECT tgt.expect_kept('transfer_batch: a hold''s key is TG001',
	$$SELECT transfer_batch('[{"from_table": "h.hacc", "from_key": 3, "to_key": 4, "amount": 5}]', idempotency_key => 'hk-1')$$, 'TG001', :'money');
SELECT tgt.expect_kept('transfer: with a key', $$SELECT transfer('h.hacc', 4, 3, 1, idempotency_key => 'tk-1')$$, '00000', :'money');
SELECT tgt.expect_kept('hold: a transfer''s key is TG001', $$SELECT hold('h.hacc', 4, 3, 1, idempotency_key => 'tk-1')$$, 'TG001', :'money');
SELECT tgt.expect_kept('capture: the keyed hold', format('SELECT capture(%s, 2)', :hk1), '00000', :'money');
SELECT tgt.is('hold: a replay after the capture returns the hold as placed, and moves nothing',
	(SELECT format('%s %s %s', hold_id, from_balance, tgt.value(:'balances'))
	   FROM hold('h.hacc', 3, 4, 5, expires_in => '1 hour', idempotency_key => 'hk-1')),
	format('%s 95 90,100,99,101', :hk1));

-- hold ids that are no hold
SELECT max(transfer_id) AS plain_transfer FROM transfer_guard_journal WHERE kind = 'transfer' \gset
SELECT tgt.expect_kept('capture: hold -1 is P0002', $$SELECT capture(-1)$$, 'P0002', :'money');
SELECT tgt.expect_kept('capture: hold 0 is P0002', $$SELECT capture(0)$$, 'P0002', :'money');
SELECT tgt.expect_kept('capture: hold 9223372036854775807 is P0002', $$SELECT capture(9223372036854775807)$$, 'P0002', :'money');
SELECT tgt.expect_kept('capture: hold -9223372036854775808 is P0002', $$SELECT capture(-9223372036854775808)$$, 'P0002', :'money');
SELECT tgt.expect_kept('capture: the id of a transfer is no hold (P0002)', format('SELECT capture(%s)', :plain_transfer), 'P0002', :'money');
SELECT tgt.expect_kept('release: the id of a transfer is no hold (P0002)', format('SELECT release(%s)', :plain_transfer), 'P0002', :'money');
SELECT tgt.expect_kept('release: hold -1 is P0002', $$SELECT release(-1)$$, 'P0002', :'money');
SELECT tgt.is('try_capture: hold -1 is not_found, without ids or balances',
	(SELECT format('%s %s %s %s', status, transfer_id, from_balance, to_balance) FROM try_capture(-1)), 'not_found   ');
SELECT tgt.expect_kept('capture: a hold id as a fraction matches no function (42883)', $$SELECT capture(1.5)$$, '42883', :'money');
SELECT tgt.expect_kept('capture: a hold id as text "abc" is 22P02', $$SELECT capture('abc')$$, '22P02', :'money');

-- capture amounts
SELECT hold_id AS hc FROM hold('h.hacc', 4, 1, 10) \gset
SELECT tgt.expect_kept('capture: amount 0 is 22023', format('SELECT capture(%s, 0)', :hc), '22023', :'money');
SELECT tgt.expect_kept('capture: amount -1 is 22023', format('SELECT capture(%s, -1)', :hc), '22023', :'money');
SELECT tgt.expect_kept('capture: amount -0 is 22023', format('SELECT capture(%s, ''-0'')', :hc), '22023', :'money');
SELECT tgt.expect_kept('capture: amount NaN is 22023', format('SELECT capture(%s, ''NaN'')', :hc), '22023', :'money');
SELECT tgt.expect_kept('capture: amount Infinity is ' || :'inf_state', format('SELECT capture(%s, ''Infinity'')', :hc), :'inf_state', :'money');
SELECT tgt.expect_kept('capture: amount above the hold is 22023', format('SELECT capture(%s, 11)', :hc), '22023', :'money');
SELECT tgt.expect_kept('capture: amount 1e1000 is 22023', format('SELECT capture(%s, 1e1000)', :hc), '22023', :'money');
SELECT tgt.expect_kept('capture: amount 0.5 for a bigint column is 22023', format('SELECT capture(%s, 0.5)', :hc), '22023', :'money');
SELECT tgt.expect_kept('capture: amount 1e-1000 for a bigint column is 22023', format('SELECT capture(%s, 1e-1000)', :hc), '22023', :'money');
SELECT tgt.expect_kept('try_capture: amount 0 is 22023, an error and not a status', format('SELECT try_capture(%s, 0)', :hc), '22023', :'money');
SELECT tgt.is('try_capture: amount above the hold is exceeds_hold',
	(SELECT status FROM try_capture(:hc, 10.5)), 'exceeds_hold');
SELECT tgt.is('capture amounts: the hold is open and holds 10', (SELECT format('%s %s', state, amount) FROM transfer_guard_holds WHERE hold_id = :hc), 'held 10');
SELECT tgt.is('capture: a part moves to the destination, the rest back to the source',
	(SELECT format('%s %s', from_balance, to_balance) FROM capture(:hc, 3)), '98 93');
SELECT tgt.is('capture: ... and the balances are so', tgt.value(:'balances'), '93,100,99,98');
SELECT tgt.expect_kept('capture: a second capture is TG002', format('SELECT capture(%s)', :hc), 'TG002', :'money');
SELECT tgt.expect_kept('release: a captured hold is TG002', format('SELECT release(%s)', :hc), 'TG002', :'money');
SELECT tgt.is('try_capture: a captured hold is captured, with the capture''s transfer_id',
	(SELECT format('%s %s', status, transfer_id = (SELECT transfer_id FROM transfer_guard_holds WHERE hold_id = :hc)) FROM try_capture(:hc)),
	'captured t');

-- released holds
SELECT hold_id AS hr FROM hold('h.hacc', 4, 1, 10) \gset
SELECT tgt.is('release: gives it all back and returns the source''s balance', (SELECT release(:hr)), 98::numeric);
SELECT tgt.expect_kept('release: a second release is TG003', format('SELECT release(%s)', :hr), 'TG003', :'money');
SELECT tgt.expect_kept('capture: a released hold is TG003', format('SELECT capture(%s)', :hr), 'TG003', :'money');
SELECT tgt.is('try_capture: a released hold is released', (SELECT status FROM try_capture(:hr)), 'released');

-- expired holds
SELECT hold_id AS he1 FROM hold('h.hacc', 4, 1, 1, expires_in => '00:00:00.000001') \gset
SELECT hold_id AS he2 FROM hold('h.hacc', 4, 1, 2, expires_in => '00:00:00.000001') \gset
SELECT hold_id AS he3 FROM hold('h.hacc', 4, 1, 3, expires_in => '00:00:00.000001') \gset
SELECT hold_id AS he4 FROM hold('h.hacc', 4, 1, 4, expires_in => '00:00:00.000001') \gset
SELECT pg_sleep(0.01) \g /dev/null
SELECT tgt.expect_kept('capture: a hold past its expiry is TG004', format('SELECT capture(%s)', :he1), 'TG004', :'money');
SELECT tgt.is('capture: ... and, its error undoing everything, the hold is still open', (SELECT state FROM transfer_guard_holds WHERE hold_id = :he1), 'held');
SELECT tgt.expect_kept('capture: a part of a hold past its expiry is TG004', format('SELECT capture(%s, 1)', :he1), 'TG004', :'money');
SELECT tgt.is('try_capture: a hold past its expiry is expired', (SELECT status FROM try_capture(:he1)), 'expired');
SELECT tgt.is('try_capture: ... and released, as expired', (SELECT format('%s %s', state, captured) FROM transfer_guard_holds WHERE hold_id = :he1), 'expired ');
SELECT tgt.is('try_capture: an expired hold stays expired', (SELECT status FROM try_capture(:he1)), 'expired');
SELECT tgt.expect_kept('capture: an expired hold is TG004', format('SELECT capture(%s)', :he1), 'TG004', :'money');
SELECT tgt.expect_kept('release: an expired hold is TG004', format('SELECT release(%s)', :he1), 'TG004', :'money');
SELECT tgt.expect_kept('release: a hold past its expiry is released, as expired, without an error', format('SELECT release(%s)', :he2), '00000', :'money');
SELECT tgt.is('release: ... as expired', (SELECT state FROM transfer_guard_holds WHERE hold_id = :he2), 'expired');
SELECT tgt.expect_kept('release_expired: releases the holds past their expiry', 'SELECT release_expired()', '00000', :'money');
SELECT tgt.is('release_expired: ... both of them, as expired',
	(SELECT string_agg(state, ',' ORDER BY hold_id) FROM transfer_guard_holds WHERE hold_id IN (:he3, :he4)), 'expired,expired');
SELECT tgt.is('release_expired: again, there is none left', (SELECT release_expired()), 0::bigint);
SELECT tgt.is('expiry: every amount came back', tgt.value(:'balances'), '93,100,99,98');

-- the destination's ceiling is checked at the capture
SELECT hold_id AS hl FROM hold('h.hacc', 4, 2, 10, to_table => 'h.hcap') \gset
SELECT tgt.expect_kept('capture: above the destination''s ceiling is 23514', format('SELECT capture(%s)', :hl), '23514', :'money');
SELECT tgt.is('try_capture: above the destination''s ceiling is limit_exceeded, no transfer, the destination''s current balance',
	(SELECT format('%s %s %s', status, transfer_id, to_balance) FROM try_capture(:hl)), 'limit_exceeded  95');
SELECT tgt.is('try_capture: ... and the hold stays open', (SELECT state FROM transfer_guard_holds WHERE hold_id = :hl), 'held');
SELECT tgt.expect_kept('capture: up to the ceiling, the rest back', format('SELECT capture(%s, 5)', :hl), '00000', :'money');
SELECT tgt.is('capture: ... so', (SELECT format('%s %s', (SELECT bal FROM h.hacc WHERE id = 4), (SELECT bal FROM h.hcap WHERE id = 2))), '93 100');

-- through statements rather than the row path
SET transfer_guard.row_path = off;
SELECT hold_id AS hs FROM hold('h.hn2', 1, 2, 0.75) \gset
SELECT tgt.expect_kept('row_path off: a partial capture', format('SELECT capture(%s, 0.25)', :hs), '00000', :'money');
RESET transfer_guard.row_path;
SELECT tgt.is('row_path off: the balances', (SELECT string_agg(bal::text, ',' ORDER BY id) FROM h.hn2), '99.75,100.25');

-- open holds keep their column guarded and their table in place
CREATE TABLE h.hdrop (id int PRIMARY KEY, bal bigint NOT NULL, other int);
INSERT INTO h.hdrop VALUES (1, 100), (2, 100);
SELECT guard('h.hdrop', 'bal');
SELECT hold_id AS hd FROM hold('h.hdrop', 1, 2, 10) \gset
SELECT tgt.expect('open holds: unguard is 55000', $$SELECT unguard('h.hdrop', 'bal')$$, '55000');
SELECT tgt.expect('open holds: DROP TABLE is 2BP01', $$DROP TABLE h.hdrop$$, '2BP01');
SELECT tgt.expect('open holds: DROP COLUMN of the balance is 2BP01', $$ALTER TABLE h.hdrop DROP COLUMN bal$$, '2BP01');
SELECT tgt.expect('open holds: DROP SCHEMA ... CASCADE is 2BP01', $$DROP SCHEMA h CASCADE$$, '2BP01');
SELECT tgt.expect('open holds: another column may go', $$ALTER TABLE h.hdrop DROP COLUMN other$$, '00000');
SELECT tgt.expect_kept('open holds: the hold is released', format('SELECT release(%s)', :hd), '00000',
	$$SELECT sum(bal) + (SELECT COALESCE(sum(amount) FILTER (WHERE state = 'held'), 0) FROM transfer_guard_holds WHERE from_table = 'h.hdrop'::regclass) FROM h.hdrop$$);
SELECT tgt.expect('open holds: once released, DROP TABLE works', $$DROP TABLE h.hdrop$$, '00000');

SELECT tgt.ok('holds: the balances plus the open holds are what they were', tgt.value(:'money')::numeric = :'money_start'::numeric, tgt.value(:'money'));
SELECT tgt.is('holds: the open holds left are released', (SELECT count(release(hold_id)) FROM transfer_guard_holds WHERE state = 'held'), 3::bigint);
SELECT tgt.ok('holds: then the balances alone are what they were', tgt.value(:'money')::numeric = :'money_start'::numeric, tgt.value(:'money'));
SELECT tgt.ok('holds: the journal tells each hold''s story (a hold row, then rows out of it for as much once closed)',
	NOT EXISTS (SELECT FROM transfer_guard_holds h
		 WHERE (SELECT sum(amount) FROM transfer_guard_journal j WHERE j.hold_id = h.hold_id AND j.kind = 'hold') IS DISTINCT FROM h.amount
			OR COALESCE((SELECT sum(amount) FROM transfer_guard_journal j WHERE j.hold_id = h.hold_id AND j.kind <> 'hold'), 0)
			   <> CASE WHEN h.state = 'held' THEN 0 ELSE h.amount END));

-- ---------------------------------------------------------------------------
-- Read-only transactions
-- ---------------------------------------------------------------------------
BEGIN READ ONLY;
SELECT tgt.expect('read-only: transfer is 25006', $$SELECT transfer('h.acc', 1, 2, 1)$$, '25006');
SELECT tgt.expect('read-only: transfer_batch is 25006', $$SELECT transfer_batch('[]')$$, '25006');
SELECT tgt.expect('read-only: guard is 25006', $$SELECT guard('h.acc', 'bal')$$, '25006');
SELECT tgt.expect('read-only: unguard is 25006', $$SELECT unguard('h.acc', 'bal')$$, '25006');
SELECT tgt.expect('read-only: hold is 25006', $$SELECT hold('h.hacc', 1, 2, 1)$$, '25006');
SELECT tgt.expect('read-only: capture is 25006', format('SELECT capture(%s)', :h_null_defaults), '25006');
SELECT tgt.expect('read-only: try_capture is 25006', 'SELECT try_capture(-1)', '25006');
SELECT tgt.expect('read-only: release is 25006', format('SELECT release(%s)', :h_null_defaults), '25006');
SELECT tgt.expect('read-only: release_expired is 25006', 'SELECT release_expired()', '25006');
COMMIT;

-- ---------------------------------------------------------------------------
-- A guard of a temporary table does not outlive the table
-- ---------------------------------------------------------------------------
SELECT current_setting('tgt.n') AS tgt_n \gset
CREATE TEMP TABLE tmp_acc (id int PRIMARY KEY, bal int NOT NULL);
SELECT 'tmp_acc'::regclass::oid AS tmp_oid, (tgt.state_of($$SELECT guard('tmp_acc', 'bal')$$)).state AS tmp_guard_state \gset
\connect
\pset tuples_only on
\pset format unaligned
SET client_min_messages = warning;
SELECT set_config('tgt.n', :'tgt_n', false) \g /dev/null
SELECT tgt.ok(format('temp table: guard() refused it (%s), or its guard is gone once the session that made it has ended', :'tmp_guard_state'),
	:'tmp_guard_state' <> '00000' OR NOT EXISTS (SELECT FROM transfer_guard_registry WHERE tbl::oid = :tmp_oid),
	'guard() succeeded and the registry still holds a row for the dropped temporary table');
SELECT tgt.is('registry: no guard refers to a table that does not exist',
	(SELECT count(*) FROM transfer_guard_registry r WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = r.tbl::oid)), 0::bigint);

-- leave the registry clean for the steps that follow
DELETE FROM transfer_guard_registry r WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = r.tbl::oid);
DROP SCHEMA h CASCADE;
DROP SCHEMA "Sch ema" CASCADE;
