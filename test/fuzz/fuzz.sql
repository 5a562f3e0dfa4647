--
-- test/fuzz/fuzz.sql -- random calls with nasty arguments, random DDL between them
--
-- Claims, checked at the end of the run:
--   * every call that failed, failed with a SQLSTATE the README documents
--     (the list is read from README.md by test/fuzz/run.sh and passed in as
--     :allowed);
--   * no call that writes succeeded in a read-only transaction (current_balance()
--     only reads);
--   * the sum of every guarded balance of every table the fuzz does not
--     alter, plus the amounts of the open holds drawn from them, is
--     unchanged: at the end, over every 50 calls and the DDL between them,
--     and across each call of hold(), capture(), try_capture(), release(),
--     release_expired() and a keyed transfer (the money is counted before
--     and after it, whatever it ended with);
--   * no balance of a table whose limits the fuzz never changes is outside
--     them;
--   * the journal tells each hold's story: its hold row, then rows out of
--     it for as much once it is closed, its capture under its transfer id.
-- A server crash ends the session, which test/fuzz/run.sh reports.
--
-- Variables (psql -v): seconds (run time), seed (0..1), allowed (SQLSTATEs,
-- comma separated), trace (1: print every statement and its outcome);
-- for replaying a run: calls (stop after this many calls) and
-- stop_before_checks (if set, leave the schema fz as the run left it).
--
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\o /dev/null

DROP SCHEMA IF EXISTS fz CASCADE;
DROP SCHEMA IF EXISTS fz_moved CASCADE;
DROP ROLE IF EXISTS fz_low;
CREATE ROLE fz_low;
CREATE SCHEMA fz;
CREATE SCHEMA fz_moved;
GRANT USAGE ON SCHEMA fz, fz_moved TO fz_low;

-- ---------------------------------------------------------------------------
-- Tables whose money is watched: the fuzz never changes their data by any
-- other way than the extension's functions, nor their balance column types.
-- "fixed" tables keep their limits for the whole run.
-- ---------------------------------------------------------------------------
CREATE TABLE fz.big (id bigint PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO fz.big SELECT g, 1000 FROM generate_series(1, 8) g;
SELECT guard('fz.big', 'bal', 0);

CREATE TABLE fz.i4 (id int PRIMARY KEY, bal int NOT NULL CONSTRAINT i4_cap CHECK (bal <= 3900));
INSERT INTO fz.i4 SELECT g, 1000 FROM generate_series(1, 8) g;
SELECT guard('fz.i4', 'bal', -500, 4000);

CREATE TABLE fz.i2 (id smallint PRIMARY KEY, bal smallint NOT NULL);
INSERT INTO fz.i2 VALUES (1, 32000), (2, -32000), (3, 0), (4, 32767), (5, -32768), (6, 100);
SELECT guard('fz.i2', 'bal', NULL);

CREATE TABLE fz.num (id numeric PRIMARY KEY, bal numeric(14,4) NOT NULL);
INSERT INTO fz.num VALUES (1, 100.5), (1.5, 100.5), (2, 100.5), (3, 100.5);
SELECT guard('fz.num', 'bal', 0);

CREATE TABLE fz.uu (id uuid PRIMARY KEY, bal bigint NOT NULL, owner name NOT NULL);
INSERT INTO fz.uu VALUES
	('00000000-0000-0000-0000-000000000001', 500, 'fz_low'),
	('00000000-0000-0000-0000-000000000002', 500, 'fz_low'),
	('00000000-0000-0000-0000-000000000003', 500, 'postgres'),
	('00000000-0000-0000-0000-000000000004', 500, 'postgres');
SELECT guard('fz.uu', 'bal', 0);
ALTER TABLE fz.uu ENABLE ROW LEVEL SECURITY;
CREATE POLICY uu_own ON fz.uu USING (owner = current_user);

CREATE TABLE fz."select" ("from" int PRIMARY KEY, "where" bigint NOT NULL, "Order" numeric NOT NULL);
INSERT INTO fz."select" SELECT g, 300, 300 FROM generate_series(1, 5) g;
SELECT guard('fz."select"', 'where', 0);
SELECT guard('fz."select"', 'Order', 0);

CREATE TABLE fz.part (id int PRIMARY KEY, bal bigint NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE fz.part_a PARTITION OF fz.part FOR VALUES FROM (0) TO (4);
CREATE TABLE fz.part_b PARTITION OF fz.part FOR VALUES FROM (4) TO (100);
INSERT INTO fz.part SELECT g, 200 FROM generate_series(1, 6) g;
SELECT guard('fz.part', 'bal', 0);
-- a partition guarded as well as its parent (refused by versions that
-- forbid it; the fuzz then only tries)
SELECT tgt.state_of($$SELECT guard('fz.part_a', 'bal', 0)$$);

CREATE TABLE fz.levels (v int PRIMARY KEY);
INSERT INTO fz.levels SELECT generate_series(0, 3000);
CREATE TABLE fz.fk (id int PRIMARY KEY, bal int NOT NULL REFERENCES fz.levels (v));
INSERT INTO fz.fk SELECT g, 500 FROM generate_series(1, 5) g;
SELECT guard('fz.fk', 'bal', 0);

CREATE DOMAIN fz.not13 AS bigint CHECK (VALUE <> 13);
CREATE TABLE fz.dom (id int PRIMARY KEY, bal fz.not13 NOT NULL);
INSERT INTO fz.dom SELECT g, 40 FROM generate_series(1, 5) g;
SELECT guard('fz.dom', 'bal', 0);

CREATE TABLE fz.trig (id int PRIMARY KEY, bal int NOT NULL, n int NOT NULL DEFAULT 0);
INSERT INTO fz.trig SELECT g, 700 FROM generate_series(1, 7) g;
CREATE FUNCTION fz.trig_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 7 THEN
		RETURN NULL;
	END IF;
	NEW.n := OLD.n + 1;
	RETURN NEW;
END;
$$;
CREATE FUNCTION fz.trig_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.bal > 1500 THEN
		RAISE EXCEPTION 'too rich' USING ERRCODE = 'check_violation';
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER b BEFORE UPDATE ON fz.trig FOR EACH ROW EXECUTE FUNCTION fz.trig_before();
CREATE TRIGGER a AFTER UPDATE ON fz.trig FOR EACH ROW EXECUTE FUNCTION fz.trig_after();
SELECT guard('fz.trig', 'bal', 0);

-- limits changed by the fuzz: money watched, limits not
CREATE TABLE fz."Text Keys" ("K" text PRIMARY KEY, "Bal Ance" numeric NOT NULL);
INSERT INTO fz."Text Keys" VALUES (E'O''Brien', 50), (E'back\\slash', 50), ('"dq"', 50), ('', 50),
	(' ', 50), ('x''; DROP TABLE fz.big; --', 50), ('1', 50), ('2', 50);
SELECT guard('fz."Text Keys"', 'Bal Ance', 0);

CREATE VIEW fz.v AS SELECT * FROM fz.big;
CREATE SEQUENCE fz.seq;

GRANT SELECT ON ALL TABLES IN SCHEMA fz TO fz_low;
GRANT UPDATE ON fz.big, fz.uu, fz.part TO fz_low;
GRANT UPDATE (bal) ON fz.i4 TO fz_low;

-- the watched columns: table, column, fixed floor and ceiling (NULL: none or not fixed)
CREATE TABLE fz.watched (tbl regclass, col name, fixed boolean, lo numeric, hi numeric);
INSERT INTO fz.watched VALUES
	('fz.big', 'bal', true, 0, NULL), ('fz.i4', 'bal', true, -500, 4000),
	('fz.i2', 'bal', true, NULL, NULL), ('fz.num', 'bal', true, 0, NULL),
	('fz.uu', 'bal', true, 0, NULL), ('fz."select"', 'where', true, 0, NULL),
	('fz."select"', 'Order', true, 0, NULL), ('fz.part', 'bal', true, 0, NULL),
	('fz.fk', 'bal', true, 0, NULL), ('fz.dom', 'bal', true, 0, NULL),
	('fz.trig', 'bal', true, 0, NULL), ('fz."Text Keys"', 'Bal Ance', false, NULL, NULL);

CREATE FUNCTION fz.sum_of(t regclass, c name) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
	s numeric;
BEGIN
	EXECUTE format('SELECT sum(%I) FROM %s', c, t) INTO s;
	RETURN s;
END;
$$;

-- the balances of t.c below lo or above hi, as "key=balance, ..."; a NULL
-- limit is none (its comparison is NULL, which WHERE drops), so that no
-- infinity is needed (13's numeric has none)
CREATE FUNCTION fz.outside(t regclass, c name, lo numeric, hi numeric) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	s text;
BEGIN
	EXECUTE format('SELECT string_agg(format(''%%s=%%s'', x.k, x.b), '', '') FROM (SELECT %I::text AS k, %I AS b FROM %s) x
		WHERE x.b < $1 OR x.b > $2', (SELECT attname FROM pg_attribute a JOIN pg_index i ON i.indrelid = a.attrelid
			AND a.attnum = i.indkey[0] AND i.indisprimary WHERE a.attrelid = t), c, t)
		INTO s USING lo, hi;
	RETURN s;
END;
$$;

CREATE TABLE fz.before AS SELECT tbl, col, fz.sum_of(tbl, col) AS total FROM fz.watched;

-- Holds take money out of a balance until they are captured or released:
-- the money of the watched tables is their balances plus what the open
-- holds drawn from them hold.  A hold from a watched table pays to a
-- watched table (the generator sees to it), one from a scratch table to
-- the same table.  The partitions count with their parent.
CREATE TABLE fz.watched_oids AS
	SELECT DISTINCT t::regclass::oid AS relid FROM unnest(ARRAY[
		'fz.big', 'fz.i4', 'fz.i2', 'fz.num', 'fz.uu', 'fz."select"', 'fz.part', 'fz.part_a', 'fz.part_b',
		'fz.fk', 'fz.dom', 'fz.trig', 'fz."Text Keys"']) t;

CREATE FUNCTION fz.held() RETURNS numeric
LANGUAGE sql AS $$
	SELECT COALESCE(sum(h.amount), 0) FROM transfer_guard_hold h
	 WHERE h.state = 'held' AND h.from_table::oid IN (SELECT relid FROM fz.watched_oids)
$$;

-- counted before and after many calls: one statement, its plan kept
SELECT format('CREATE FUNCTION fz.money() RETURNS numeric LANGUAGE plpgsql AS %L',
		format('BEGIN RETURN %s + (SELECT COALESCE(sum(h.amount), 0) FROM transfer_guard_hold h'
			' WHERE h.state = ''held'' AND h.from_table::oid IN (SELECT relid FROM fz.watched_oids)); END',
			string_agg(format('(SELECT COALESCE(sum(%I), 0) FROM %s)', col, tbl), ' + ')))
  FROM fz.watched \gexec

-- ---------------------------------------------------------------------------
-- Scratch tables: altered, dropped and recreated by the random DDL
-- ---------------------------------------------------------------------------
CREATE FUNCTION fz.make_scratch(n int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	keytype text := (ARRAY['bigint', 'int', 'smallint', 'text', 'numeric'])[1 + floor(random() * 5)::int];
	baltype text := (ARRAY['bigint', 'int', 'smallint', 'numeric', 'numeric(8,2)'])[1 + floor(random() * 5)::int];
	t text := format('fz.s%s', n);
BEGIN
	EXECUTE format('DROP TABLE IF EXISTS %s, fz_moved.s%s', t, n);
	EXECUTE format('CREATE TABLE %s (id %s PRIMARY KEY, bal %s, alt_id int NOT NULL)', t, keytype, baltype);
	EXECUTE format('INSERT INTO %s SELECT g::text::%s, 100, g FROM generate_series(1, 6) g', t, keytype);
	PERFORM guard(t::regclass, 'bal', CASE WHEN random() < 0.5 THEN 0 END);
	EXECUTE format('GRANT SELECT, UPDATE ON %s TO fz_low', t);
END;
$$;
SELECT fz.make_scratch(1), fz.make_scratch(2), fz.make_scratch(3);

-- ---------------------------------------------------------------------------
-- Pools of values, as SQL text
-- ---------------------------------------------------------------------------
CREATE FUNCTION fz.pick(a text[]) RETURNS text
LANGUAGE sql AS $$ SELECT a[1 + floor(random() * cardinality(a))::int] $$;

CREATE FUNCTION fz.chance(p float8) RETURNS boolean
LANGUAGE sql AS $$ SELECT random() < p $$;

CREATE FUNCTION fz.tables() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY[
	'fz.big', 'fz.i4', 'fz.i2', 'fz.num', 'fz.uu', 'fz."select"', 'fz.part', 'fz.part_a', 'fz.part_b',
	'fz.fk', 'fz.dom', 'fz.trig', 'fz."Text Keys"', 'fz.s1', 'fz.s2', 'fz.s3',
	'fz.big', 'fz.i4', 'fz.part', 'fz.part_a', 'fz.trig', 'fz.s1', 'fz.s2'] $$;

-- money moves between these only (and within each scratch table)
CREATE FUNCTION fz.watched_tables() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY[
	'fz.big', 'fz.i4', 'fz.i2', 'fz.num', 'fz.uu', 'fz."select"', 'fz.part', 'fz.part_a', 'fz.part_b',
	'fz.fk', 'fz.dom', 'fz.trig', 'fz."Text Keys"'] $$;

CREATE FUNCTION fz.odd_tables() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY[
	'fz.nope', '', ' ', '"', 'nosuch.big', 'FZ.BIG', '"fz"."big"', 'fz.v', 'fz.seq', 'fz.big_pkey',
	'pg_class', 'pg_catalog.pg_authid', '4000000000', '0', '-1', 'fz.big; DROP TABLE fz.i4',
	'a.b.c.d', 'postgres.fz.big', 'otherdb.fz.big', repeat('t', 100), E'fz.\\big', 'fz."Text Keys'] $$;

-- keys likely to exist in a table, as SQL literals of one type class
CREATE FUNCTION fz.key_pool(t text) RETURNS text[]
LANGUAGE sql AS $$ SELECT CASE
	WHEN t = 'fz.num' THEN ARRAY['1', '1.5', '2', '3', '1.50', '2.0', '4', '1.25']
	WHEN t = 'fz.uu' THEN ARRAY['''00000000-0000-0000-0000-000000000001''', '''00000000-0000-0000-0000-000000000002''',
		'''00000000-0000-0000-0000-000000000003''', '''{00000000-0000-0000-0000-000000000004}''',
		'''00000000-0000-0000-0000-000000000009''', '''not-a-uuid''']
	WHEN t = 'fz."Text Keys"' THEN ARRAY[E'''O''''Brien''', E'''back\\slash''', '''"dq"''', '''''', ''' ''',
		'''x''''; DROP TABLE fz.big; --''', '''1''', '''2''', '''nope''', E'E''\\\\''']
	WHEN t = 'fz.i2' THEN ARRAY['1', '2', '3', '4', '5', '6', '32768', '-32769', '7']
	ELSE ARRAY['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-1']
	END $$;

-- keys of any type
CREATE FUNCTION fz.odd_keys() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY[
	'NULL', '1.5', '2.5', '''1''', '''2''', '''abc''', '''''', 'true', '2147483648', '9223372036854775807',
	'9223372036854775808', '-9223372036854775809', '1e1000', '''NaN''::numeric', '''Infinity''::numeric',
	'''-0''::numeric', '1::int2', '2::int2', '''1''::varchar', '''2''::char(4)', '''1''::name', 'now()',
	'''{1}''::int[]', 'ROW(1)', '''1''::jsonb', '1::float8', '''1''::"char"', '''1''::citext_missing',
	'''00000000-0000-0000-0000-000000000001''::uuid', 'NULL::bigint', '1::oid', '''1''::regclass',
	E'''\\x01''::bytea', '''1 day''::interval', '$q$1$q$', 'repeat(''9'', 200)', '(SELECT 1)',
	'''1''::unknown'] $$;

CREATE FUNCTION fz.amounts() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY[
	'1', '2', '5', '10', '50', '100', '1000', '0.5', '0.01', '0.0001', '1.0', '3',
	'0', '-0', '-1', '''NaN''', '''Infinity''', '''-Infinity''', '1e-1000', '1e1000', '''1e-1000''',
	'32767', '32768', '2147483647', '2147483648', '9223372036854775807', '9223372036854775808',
	'''1''', '''abc''', '''''', 'NULL', '1::int2', '1::float8', '''1e3''', '''  7  ''', '-0.000',
	'100.00001', '1::bigint', '''0x10''', 'true'] $$;

CREATE FUNCTION fz.columns_of(t text) RETURNS text[]
LANGUAGE sql AS $$ SELECT CASE
	WHEN t = 'fz."select"' THEN ARRAY['''where''', '''Order''', '''order''', '''from''']
	WHEN t = 'fz."Text Keys"' THEN ARRAY['''Bal Ance''', '''bal ance''', '''K''']
	ELSE ARRAY['''bal''', '''BAL''', '''id''', '''alt_id''']
	END $$;

CREATE FUNCTION fz.odd_columns() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY[
	'NULL', '''nope''', '''''', '''ctid''', '''xmin''', '''bal"; DROP TABLE fz.big; --''',
	'''' || repeat('z', 70) || '''', E'''b\\al''', '''"bal"''', '''bal '''] $$;

-- a JSON value for a leg field, usually sensible, sometimes not
CREATE FUNCTION fz.json_key(t text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	k text := fz.pick(fz.key_pool(t));
	r float8 := random();
BEGIN
	IF r < 0.06 THEN
		RETURN fz.pick(ARRAY['null', 'true', '[1]', '{"k": 1}', '1.5', '1e1000', '-0', '"1.5"', '""',
			'"abc"', '9223372036854775808', '"\\\\"', '"\u00e9"', '0.0', '-9223372036854775809'])::jsonb;
	END IF;
	-- a SQL literal of the pool as a JSON string or number
	IF k ~ '^-?[0-9.]+$' AND random() < 0.7 THEN
		RETURN k::jsonb;
	END IF;
	IF k ~ '^''.*''$' THEN
		k := replace(substr(k, 2, length(k) - 2), '''''', '''');
	ELSIF k ~ '^E''' THEN
		k := E'\\';
	END IF;
	RETURN to_jsonb(k);
END;
$$;

CREATE FUNCTION fz.json_amount() RETURNS jsonb
LANGUAGE sql AS $$ SELECT fz.pick(ARRAY['1', '2', '5', '10', '0.5', '0.01', '100', '1000', '3',
	'"1"', '"7.5"', '0', '-1', '-0', '"NaN"', '"Infinity"', '"-Infinity"', '1e-1000', '1e1000', '"abc"',
	'""', 'null', 'true', '[1]', '{"a": 1}', '32768', '2147483648', '9223372036854775808', '"  2  "',
	'1.00', '2e2', '"1e1000"'])::jsonb $$;

CREATE FUNCTION fz.json_leg() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	t text := fz.pick(fz.tables());
	t2 text := t;
	leg jsonb;
	r float8;
BEGIN
	IF fz.chance(0.04) THEN
		t := fz.pick(fz.odd_tables());
	END IF;
	leg := jsonb_build_object('from_table', t, 'from_key', fz.json_key(t), 'amount', fz.json_amount());
	IF fz.chance(0.12) AND t = ANY (fz.watched_tables()) THEN
		t2 := fz.pick(fz.watched_tables());
		leg := leg || jsonb_build_object('to_table', t2);
	END IF;
	leg := leg || jsonb_build_object('to_key', fz.json_key(t2));
	IF fz.chance(0.2) THEN
		leg := leg || jsonb_build_object('from_column', trim(both '''' from fz.pick(fz.columns_of(t))));
	END IF;
	IF fz.chance(0.1) THEN
		leg := leg || jsonb_build_object('to_column', trim(both '''' from fz.pick(fz.columns_of(t2))));
	END IF;
	r := random();
	IF r < 0.03 THEN
		leg := leg - fz.pick(ARRAY['from_table', 'from_key', 'to_key', 'amount']);
	ELSIF r < 0.05 THEN
		leg := leg || jsonb_build_object(fz.pick(ARRAY['amout', 'From_table', '', ' amount', 'to_key ', 'leg']), 1);
	ELSIF r < 0.07 THEN
		leg := leg || jsonb_build_object(fz.pick(ARRAY['from_table', 'to_table', 'from_column', 'to_column']),
			fz.pick(ARRAY['null', 'true', '1', '[]', '{}', '"x\"; DROP TABLE fz.big; --"', '"fz.nope"'])::jsonb);
	ELSIF r < 0.08 THEN
		RETURN fz.pick(ARRAY['1', '"leg"', 'null', '[]', '[{}]', 'true'])::jsonb;
	END IF;
	RETURN leg;
END;
$$;

-- ---------------------------------------------------------------------------
-- Holds: hold() with the arguments transfer() gets, plus an expiry and an
-- idempotency key; the steps of a hold on ids that mostly exist
-- ---------------------------------------------------------------------------
CREATE FUNCTION fz.intervals() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY[
	'NULL', '''1 hour''', '''1 day''', '''00:00:00.000001''', '''00:00:00.002''', '''1 microsecond''',
	'''0''', '''-0''', '''-1 day''', '''1 day -24 hours''', '''1 month -40 days''', '''-00:00:00.000001''',
	'''178000000 years''', '''290000 years''', '''2147483647 days''', '''infinity''', '''-infinity''',
	'''P1D''', 'make_interval(secs => 0.0000005)', '5', '''1 day''::text', 'now()'] $$;

-- idempotency keys, few, so that they are reused by holds and transfers
CREATE FUNCTION fz.idempotency_keys() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY[
	'NULL', '''fk-1''', '''fk-2''', '''fk-3''', '''fk-4''', '''fk-1 ''', '''''', 'repeat(''k'', 1001)',
	'repeat(''k'', 1000)', 'NULL::text', '1'] $$;

CREATE FUNCTION fz.hold_call() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	t text := fz.pick(fz.tables());
	t2 text;
	kp text[];
	k1 text;
	k2 text;
	amt text;
	args text[];
	opt text[] := ARRAY[]::text[];
	i int;
BEGIN
	kp := fz.key_pool(t);
	k1 := fz.pick(kp);
	k2 := fz.pick(kp);
	IF fz.chance(0.08) THEN k1 := fz.pick(fz.odd_keys()); END IF;
	IF fz.chance(0.08) THEN k2 := fz.pick(fz.odd_keys()); END IF;
	IF fz.chance(0.05) THEN t := fz.pick(fz.odd_tables()); END IF;
	amt := fz.pick(fz.amounts());
	IF fz.chance(0.6) THEN amt := fz.pick(ARRAY['1', '2', '5', '10', '0.5', '3']); END IF;
	t := CASE WHEN t = '0' OR t = '-1' THEN t || '::oid::regclass' WHEN fz.chance(0.02) THEN 'NULL' ELSE quote_literal(t) END;
	args := ARRAY['tbl => ' || t, 'from_key => ' || k1, 'to_key => ' || k2, 'amount => ' || amt];
	IF fz.chance(0.3) THEN
		opt := opt || ('balance_column => ' || CASE WHEN fz.chance(0.15) THEN fz.pick(fz.odd_columns())
			ELSE fz.pick(fz.columns_of(trim(both '''' from t))) END);
	END IF;
	-- a hold from a watched table pays to a watched table
	IF fz.chance(0.2) AND trim(both '''' from t) = ANY (fz.watched_tables()) THEN
		t2 := fz.pick(fz.watched_tables());
		opt := opt || ('to_table => ' || CASE WHEN fz.chance(0.1) THEN quote_literal(fz.pick(fz.odd_tables()))
			ELSE quote_literal(t2) END);
		IF fz.chance(0.5) THEN
			opt := opt || ('to_column => ' || fz.pick(fz.columns_of(t2)));
		END IF;
		IF fz.chance(0.7) THEN
			args[2] := 'from_key => ' || quote_literal(trim(both '''' from k1)) || '::text';
			args[3] := 'to_key => ' || quote_literal(trim(both '''' from fz.pick(fz.key_pool(t2)))) || '::text';
		END IF;
	ELSIF fz.chance(0.1) THEN
		opt := opt || ('to_column => ' || CASE WHEN fz.chance(0.3) THEN fz.pick(fz.odd_columns())
			ELSE fz.pick(fz.columns_of(trim(both '''' from t))) END);
	END IF;
	IF fz.chance(0.25) THEN
		opt := opt || ('expires_in => ' || fz.pick(fz.intervals()));
	ELSIF fz.chance(0.3) THEN
		opt := opt || ('expires_in => ' || fz.pick(ARRAY['NULL', '''1 hour''', '''00:00:00.000001''', '''00:00:00.002''']));
	END IF;
	IF fz.chance(0.3) THEN
		opt := opt || ('idempotency_key => ' || fz.pick(fz.idempotency_keys()));
	END IF;
	IF fz.chance(0.4) THEN
		args := args || opt;
		SELECT array_agg(a ORDER BY random()) INTO args FROM unnest(args) a;
		RETURN format('SELECT * FROM hold(%s)', array_to_string(args, ', '));
	END IF;
	FOR i IN 1 .. 4 LOOP
		args[i] := regexp_replace(args[i], '^[a-z_]+ => ', '');
	END LOOP;
	RETURN format('SELECT * FROM hold(%s)', array_to_string(args || opt, ', '));
END;
$$;

-- a hold id as SQL text: a recent hold (usually an open one), or not a
-- hold at all
CREATE FUNCTION fz.hold_ref() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
	odd text;
BEGIN
	IF fz.chance(0.8) THEN
		IF fz.chance(0.6) THEN
			SELECT h.hold_id INTO id FROM transfer_guard_hold h WHERE h.state = 'held'
			 ORDER BY h.hold_id DESC OFFSET floor(random() * 10)::int LIMIT 1;
		ELSE
			SELECT h.hold_id INTO id FROM transfer_guard_hold h
			 ORDER BY h.hold_id DESC OFFSET floor(random() * 20)::int LIMIT 1;
		END IF;
		IF id IS NOT NULL THEN
			RETURN id::text;
		END IF;
	END IF;
	odd := fz.pick(ARRAY['NULL', 'NULL::bigint', '-1', '0', '9223372036854775807', '-9223372036854775808',
		'a transfer', '9223372036854775808', '1.5', '''abc''', '''7''', '1::smallint', 'true',
		'''1''::text', '2147483648', '''-0''']);
	IF odd = 'a transfer' THEN
		-- the id of a transfer that is no hold
		SELECT j.transfer_id INTO id FROM transfer_guard_journal j WHERE j.kind = 'transfer'
		 ORDER BY j.transfer_id DESC LIMIT 1;
		RETURN COALESCE(id, 1)::text;
	END IF;
	RETURN odd;
END;
$$;

-- an amount to capture from hold id (SQL text), as SQL text: mostly one
-- near what the hold holds
CREATE FUNCTION fz.capture_amount(id text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	a numeric;
BEGIN
	IF id ~ '^[0-9]+$' AND id::numeric <= 9223372036854775807 THEN
		SELECT h.amount INTO a FROM transfer_guard_hold h WHERE h.hold_id = id::bigint;
	END IF;
	IF a IS NOT NULL AND fz.chance(0.7) THEN
		RETURN fz.pick(ARRAY[a::text, (a + 1)::text, round(a / 2)::text, (a / 2)::text, (a - 1)::text,
			(a - 0.01)::text, (a + 0.0000001)::text, '1']);
	END IF;
	RETURN fz.pick(fz.amounts());
END;
$$;

-- One step of a hold, or a keyed transfer whose key holds may have used:
-- hold keys and transfer keys share one namespace per role
CREATE FUNCTION fz.hold_step(OUT fn text, OUT stmt text)
LANGUAGE plpgsql AS $$
DECLARE
	r float8 := random();
	id text;
	amt text := '';
	t text;
	kp text[];
BEGIN
	IF r < 0.45 THEN
		fn := 'hold';
		stmt := fz.hold_call();
		RETURN;
	END IF;
	IF r < 0.88 THEN
		id := fz.hold_ref();
		IF r < 0.78 AND fz.chance(0.45) THEN
			amt := fz.capture_amount(id);
			amt := CASE WHEN fz.chance(0.5) THEN ', amount => ' ELSE ', ' END || amt;
		END IF;
		IF fz.chance(0.2) THEN
			id := 'hold_id => ' || id;
			IF amt <> '' THEN
				amt := ', amount => ' || regexp_replace(amt, '^, (amount => )?', '');
			END IF;
		END IF;
	END IF;
	IF r < 0.63 THEN
		fn := 'capture';
		stmt := format('SELECT * FROM capture(%s%s)', id, amt);
	ELSIF r < 0.78 THEN
		fn := 'try_capture';
		stmt := format('SELECT * FROM try_capture(%s%s)', id, amt);
	ELSIF r < 0.88 THEN
		fn := 'release';
		stmt := format('SELECT release(%s)', id);
	ELSIF r < 0.94 THEN
		fn := 'release_expired';
		stmt := 'SELECT release_expired()';
	ELSE
		fn := 'keyed transfer';
		t := fz.pick(ARRAY['fz.big', 'fz.i4', 'fz.num', 'fz."Text Keys"']);
		kp := fz.key_pool(t);
		stmt := format(fz.pick(ARRAY[
				'SELECT * FROM transfer(%L, %s, %s, %s, idempotency_key => %s)',
				'SELECT * FROM try_transfer(%L, %s, %s, %s, idempotency_key => %s)']),
			t, fz.pick(kp), fz.pick(kp), fz.pick(ARRAY['1', '2', '5', '0.5']), fz.pick(fz.idempotency_keys()));
	END IF;
END;
$$;

-- ---------------------------------------------------------------------------
-- One random call, as SQL text
-- ---------------------------------------------------------------------------
CREATE FUNCTION fz.random_call(OUT fn text, OUT stmt text, OUT watch boolean)
LANGUAGE plpgsql AS $$
DECLARE
	r float8 := random();
	t text;
	t2 text;
	kp text[];
	k1 text;
	k2 text;
	amt text;
	args text[];
	named boolean := fz.chance(0.4);
	opt text[];
	i int;
	legs jsonb;
	n int;
BEGIN
	watch := false;
	IF r < 0.54 THEN
		fn := 'transfer';
		t := fz.pick(fz.tables());
		kp := fz.key_pool(t);
		k1 := fz.pick(kp);
		k2 := fz.pick(kp);
		IF fz.chance(0.08) THEN k1 := fz.pick(fz.odd_keys()); END IF;
		IF fz.chance(0.08) THEN k2 := fz.pick(fz.odd_keys()); END IF;
		IF fz.chance(0.05) THEN t := fz.pick(fz.odd_tables()); END IF;
		amt := fz.pick(fz.amounts());
		IF fz.chance(0.6) THEN amt := fz.pick(ARRAY['1', '2', '5', '10', '0.5', '3']); END IF;
		t := CASE WHEN t = '0' OR t = '-1' THEN t || '::oid::regclass' WHEN fz.chance(0.02) THEN 'NULL' ELSE quote_literal(t) END;
		args := ARRAY['tbl => ' || t, 'from_key => ' || k1, 'to_key => ' || k2, 'amount => ' || amt];
		opt := ARRAY[]::text[];
		IF fz.chance(0.3) THEN
			opt := opt || ('balance_column => ' || CASE WHEN fz.chance(0.15) THEN fz.pick(fz.odd_columns())
				ELSE fz.pick(fz.columns_of(trim(both '''' from t))) END);
		END IF;
		IF fz.chance(0.2) THEN
			opt := opt || ('nowait => ' || fz.pick(ARRAY['true', 'false', 'NULL', '''t''', '1::bool']));
		END IF;
		IF fz.chance(0.15) AND trim(both '''' from t) = ANY (fz.watched_tables()) THEN
			t2 := fz.pick(fz.watched_tables());
			opt := opt || ('to_table => ' || CASE WHEN fz.chance(0.1) THEN quote_literal(fz.pick(fz.odd_tables()))
				ELSE quote_literal(t2) END);
			IF fz.chance(0.5) THEN
				opt := opt || ('to_column => ' || fz.pick(fz.columns_of(t2)));
			END IF;
			-- keys of two tables usually differ in type: pass them as text
			IF fz.chance(0.7) THEN
				args[2] := 'from_key => ' || quote_literal(trim(both '''' from k1)) || '::text';
				args[3] := 'to_key => ' || quote_literal(trim(both '''' from fz.pick(fz.key_pool(t2)))) || '::text';
			END IF;
		ELSIF fz.chance(0.1) THEN
			opt := opt || ('to_column => ' || CASE WHEN fz.chance(0.3) THEN fz.pick(fz.odd_columns())
				ELSE fz.pick(fz.columns_of(trim(both '''' from t))) END);
		END IF;
		IF named THEN
			args := args || opt;
			-- named arguments in random order
			SELECT array_agg(a ORDER BY random()) INTO args FROM unnest(args) a;
			stmt := format('SELECT * FROM transfer(%s)', array_to_string(args, ', '));
		ELSE
			-- positional, then the optional ones by name
			FOR i IN 1 .. 4 LOOP
				args[i] := regexp_replace(args[i], '^[a-z_]+ => ', '');
			END LOOP;
			stmt := format('SELECT * FROM transfer(%s)', array_to_string(args || opt, ', '));
		END IF;
	ELSIF r < 0.78 THEN
		fn := 'transfer_batch';
		n := floor(random() * 5)::int;
		IF fz.chance(0.02) THEN n := 60; END IF;
		legs := '[]';
		FOR i IN 1 .. n LOOP
			legs := legs || jsonb_build_array(fz.json_leg());
		END LOOP;
		IF fz.chance(0.03) THEN
			legs := fz.pick(ARRAY['{}', '1', '"[]"', 'null', '{"from_table": "fz.big"}', '[[]]'])::jsonb;
		END IF;
		stmt := format('SELECT * FROM transfer_batch(%L%s)', legs,
			CASE WHEN fz.chance(0.15) THEN ', ' || fz.pick(ARRAY['true', 'false', 'NULL', 'nowait => true'])
			ELSE '' END);
		IF fz.chance(0.01) THEN
			stmt := 'SELECT * FROM transfer_batch(NULL)';
		END IF;
	ELSIF r < 0.92 THEN
		-- holds: the money is counted before and after each of these calls
		SELECT h.fn, h.stmt INTO fn, stmt FROM fz.hold_step() h;
		watch := true;
	ELSIF r < 0.965 THEN
		-- guard: on a table whose limits are not watched, or with hostile arguments
		fn := 'guard';
		t := fz.pick(ARRAY['fz.s1', 'fz.s2', 'fz.s3', 'fz."Text Keys"', 'fz.v', 'fz.seq', 'fz.big_pkey', 'fz.nope', 'pg_class']);
		-- odd names, but none that resolves to a table whose limits are watched
		IF fz.chance(0.1) THEN t := fz.pick(array_remove(array_remove(fz.odd_tables(), 'FZ.BIG'), '"fz"."big"')); END IF;
		stmt := format('SELECT guard(%s, %s%s)',
			CASE WHEN fz.chance(0.03) THEN 'NULL' ELSE quote_literal(t) END,
			CASE WHEN fz.chance(0.15) THEN fz.pick(fz.odd_columns()) ELSE fz.pick(fz.columns_of(t)) END,
			CASE WHEN fz.chance(0.5) THEN ', ' || fz.pick(ARRAY['0', 'NULL', '-100', '0.5', '''NaN''', '''Infinity''', '1e1000', '-1e1000', '50', '1e-1000'])
				|| CASE WHEN fz.chance(0.5) THEN ', ' || fz.pick(ARRAY['NULL', '1000', '100000', '0', '-1', '''NaN''', '1e1000', '0.25']) ELSE '' END
			ELSE '' END);
		IF fz.chance(0.1) THEN
			stmt := fz.pick(ARRAY['SELECT guard(''fz.big'', ''bal'', 0)', 'SELECT guard(''fz.i4'', ''bal'', -500, 4000)',
				'SELECT guard(''fz.part'', ''bal'', 0)', 'SELECT guard(''fz."select"'', ''Order'', 0)',
				'SELECT guard(tbl => ''fz.trig'', balance_column => ''bal'', max_balance => NULL, min_balance => 0)']);
		END IF;
	ELSIF r < 0.982 THEN
		fn := 'unguard';
		t := fz.pick(ARRAY['fz.s1', 'fz.s2', 'fz.s3', 'fz."Text Keys"', 'fz.nope', 'fz.v', 'fz.big_pkey']);
		stmt := format('SELECT unguard(%s, %s)',
			CASE WHEN fz.chance(0.05) THEN 'NULL' ELSE quote_literal(t) END,
			CASE WHEN fz.chance(0.2) THEN fz.pick(fz.odd_columns()) ELSE fz.pick(fz.columns_of(t)) END);
	ELSE
		-- hot rows: marked and unmarked on scratch tables only (a hot row's
		-- column lags its exact balance, which the watched sums do not
		-- count); read and settled anywhere
		t := fz.pick(ARRAY['fz.s1', 'fz.s2', 'fz.s3', 'fz.nope', 'fz.v', 'fz.big', 'fz."Text Keys"']);
		k1 := fz.pick(fz.key_pool(t));
		IF fz.chance(0.1) THEN k1 := fz.pick(fz.odd_keys()); END IF;
		r := random();
		IF r < 0.4 AND t ~ '^fz\.s[0-9]' THEN
			fn := 'set_hot';
			stmt := format('SELECT set_hot(%s, %s::text%s%s%s)',
				CASE WHEN fz.chance(0.03) THEN 'NULL' ELSE quote_literal(t) END, k1,
				CASE WHEN fz.chance(0.2) THEN ', balance_column => ' || fz.pick(fz.columns_of(t)) ELSE '' END,
				CASE WHEN fz.chance(0.4) THEN ', hot => ' || fz.pick(ARRAY['true', 'false', 'NULL']) ELSE '' END,
				CASE WHEN fz.chance(0.1) THEN ', slots => ' || fz.pick(ARRAY['0', '-1', '4', 'NULL', '2147483647']) ELSE '' END);
		ELSIF r < 0.8 THEN
			fn := 'current_balance';
			stmt := format('SELECT current_balance(%s, %s::text%s)',
				CASE WHEN fz.chance(0.03) THEN 'NULL' ELSE quote_literal(t) END, k1,
				CASE WHEN fz.chance(0.2) THEN ', ' || CASE WHEN fz.chance(0.3) THEN fz.pick(fz.odd_columns())
					ELSE fz.pick(fz.columns_of(t)) END ELSE '' END);
		ELSE
			fn := 'settle';
			stmt := format('SELECT settle(%s)',
				CASE WHEN fz.chance(0.3) THEN '' WHEN fz.chance(0.1) THEN 'NULL' ELSE quote_literal(t) END);
		END IF;
	END IF;
END;
$$;

-- ---------------------------------------------------------------------------
-- Random DDL: on scratch tables anything; on watched tables only what
-- keeps their money and limits (it still invalidates the cached guard)
-- ---------------------------------------------------------------------------
CREATE FUNCTION fz.random_ddl() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	n int := 1 + floor(random() * 3)::int;
	s text := format('fz.s%s', n);
	w text := fz.pick(ARRAY['fz.big', 'fz.i4', 'fz.i2', 'fz.num', 'fz.part', 'fz.trig', 'fz.fk', 'fz."Text Keys"']);
BEGIN
	RETURN fz.pick(ARRAY[
		format('SELECT fz.make_scratch(%s)', n),
		format('DROP TABLE %s', s),
		format('ALTER TABLE %s RENAME TO s%s_renamed', s, n),
		format('ALTER TABLE fz.s%s_renamed RENAME TO s%s', n, n),
		format('ALTER TABLE %s SET SCHEMA fz_moved', s),
		format('ALTER TABLE fz_moved.s%s SET SCHEMA fz', n),
		format('ALTER TABLE %s ALTER COLUMN bal TYPE %s USING bal::numeric::%s', s,
			fz.pick(ARRAY['bigint', 'int', 'smallint', 'numeric', 'numeric(6,2)', 'text']),
			fz.pick(ARRAY['bigint', 'int', 'smallint', 'numeric', 'numeric(6,2)', 'text'])),
		format('ALTER TABLE %s ALTER COLUMN id TYPE %s USING id::text::%s', s,
			fz.pick(ARRAY['bigint', 'int', 'text', 'numeric']), fz.pick(ARRAY['bigint', 'int', 'text', 'numeric'])),
		format('ALTER TABLE %s RENAME COLUMN bal TO bal_x', s),
		format('ALTER TABLE %s RENAME COLUMN bal_x TO bal', s),
		format('ALTER TABLE %s DROP COLUMN bal', s),
		format('ALTER TABLE %s DROP CONSTRAINT s%s_pkey', s, n),
		format('ALTER TABLE %s ADD PRIMARY KEY (id)', s),
		format('CREATE UNIQUE INDEX ON %s (alt_id)', s),
		format('ALTER TABLE %s ALTER COLUMN bal SET NOT NULL', s),
		format('UPDATE %s SET bal = NULL WHERE id::text = ''2''', s),
		format('TRUNCATE %s', s),
		format('INSERT INTO %s SELECT g::text::%s, 100, g + 10 FROM generate_series(1, 6) g ON CONFLICT DO NOTHING', s, 'int'),
		format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', s),
		format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', s),
		format('CREATE TRIGGER t%s BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION fz.trig_before()', floor(random() * 1000)::int, s),
		format('ALTER TABLE %s ADD CONSTRAINT c%s CHECK (bal::numeric < 150) NOT VALID', s, floor(random() * 1000)::int),
		format('SELECT unguard(%L, ''bal'')', s),
		format('SELECT guard(%L, ''bal'', %s)', s, fz.pick(ARRAY['0', 'NULL', '-10', '99'])),
		format('ALTER TABLE %s ADD COLUMN junk%s int', w, floor(random() * 1000)::int),
		format('CREATE INDEX ON %s ((1))', w),
		format('ANALYZE %s', w),
		format('COMMENT ON TABLE %s IS %L', w, md5(random()::text)),
		format('ALTER TABLE %s ALTER COLUMN %s SET STATISTICS %s', w,
			CASE WHEN w = 'fz."Text Keys"' THEN '"Bal Ance"' ELSE 'bal' END, floor(random() * 100)::int),
		'SELECT guard(''fz."Text Keys"'', ''Bal Ance'', -100, 1000)',
		'SELECT guard(''fz."Text Keys"'', ''Bal Ance'', NULL)',
		'SELECT unguard(''fz."Text Keys"'', ''Bal Ance'')',
		'SELECT guard(''fz."Text Keys"'', ''Bal Ance'', 0)',
		'SELECT guard(''fz.big'', ''bal'', 0)',
		'DISCARD PLANS',
		'SET LOCAL search_path = fz, public',
		'SET LOCAL search_path = pg_temp, public, pg_catalog'
	]);
END;
$$;

-- ---------------------------------------------------------------------------
-- The run
-- ---------------------------------------------------------------------------
-- Each call is prepared first, then executed, so that an error raised while
-- the statement is parsed (function resolution, the caller's literals) is
-- told apart from one raised by the call itself.
CREATE TABLE fz.outcome (fn text, mode text, phase text, state text, n bigint, example text, message text,
	PRIMARY KEY (fn, mode, phase, state));
CREATE TABLE fz.bad (no bigint, mode text, phase text, state text, stmt text, message text);
CREATE TABLE fz.stats (calls bigint, ddl bigint, ddl_failed bigint, commits bigint, seconds numeric);
-- the money of the watched tables (fz.money()) changed across one call
-- (first = last = that call), or across the calls first..last and the
-- random DDL between them
CREATE TABLE fz.moved (first bigint, last bigint, mode text, state text, stmt text, message text,
	before numeric, after numeric);

-- Errors at parse time that concern the extension's interface and so must
-- be documented: no signature matches, several do, or a table name cannot
-- be resolved.  Other parse-time errors are the caller's own literals
-- failing to read as the type the call resolved to (now() against '1');
-- they are counted, not judged.
-- Errors of the table's own rules that the README's pass-through sentence
-- covers without naming: a unique index on a column the fuzz guarded.
CREATE FUNCTION fz.own_rules() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY['23505'] $$;

CREATE FUNCTION fz.parse_judged() RETURNS text[]
LANGUAGE sql AS $$ SELECT ARRAY['42883', '42725', '42602', '42601', '3F000', '0A000'] $$;

CREATE PROCEDURE fz.run(seconds numeric, seed float8, allowed text[], trace boolean, max_calls bigint)
LANGUAGE plpgsql AS $$
DECLARE
	start timestamptz := clock_timestamp();
	calls bigint := 0;
	ddl bigint := 0;
	ddl_failed bigint := 0;
	commits bigint := 0;
	c record;
	mode text;
	phase text;
	st text;
	msg text;
	d text;
	i int;
	chunk_first bigint;
	chunk_money numeric;
	money numeric;
	m numeric;
BEGIN
	PERFORM setseed(seed);
	WHILE clock_timestamp() < start + make_interval(secs => seconds)
			AND (max_calls = 0 OR calls < max_calls) LOOP
		chunk_first := calls + 1;
		chunk_money := fz.money();
		FOR i IN 1 .. 50 LOOP
			EXIT WHEN max_calls > 0 AND calls >= max_calls;
			IF random() < 0.06 THEN
				d := fz.random_ddl();
				ddl := ddl + 1;
				IF trace THEN RAISE WARNING 'ddl: %', d; END IF;
				BEGIN
					EXECUTE d;
				EXCEPTION WHEN OTHERS THEN
					ddl_failed := ddl_failed + 1;
				END;
			END IF;

			c := fz.random_call();
			mode := CASE WHEN random() < 0.03 THEN 'read-only'
				WHEN random() < 0.05 THEN 'role fz_low' ELSE 'plain' END;
			calls := calls + 1;
			IF trace THEN RAISE WARNING 'call % (%): %', calls, mode, c.stmt; END IF;
			st := '00000';
			msg := NULL;
			phase := 'parse';
			IF c.watch AND mode = 'plain' THEN
				money := fz.money();
			END IF;
			BEGIN
				IF mode = 'read-only' THEN
					SET LOCAL transaction_read_only = on;
				ELSIF mode = 'role fz_low' THEN
					SET LOCAL ROLE fz_low;
				END IF;
				BEGIN
					EXECUTE 'PREPARE fzq AS ' || c.stmt;
					phase := 'call';
					EXECUTE 'EXECUTE fzq';
				EXCEPTION WHEN OTHERS THEN
					GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				END;
				-- nothing done in these modes is kept
				IF mode <> 'plain' THEN
					RAISE EXCEPTION USING ERRCODE = 'FZRB0';
				END IF;
			EXCEPTION WHEN SQLSTATE 'FZRB0' THEN
				NULL;
			END;
			IF phase = 'call' THEN
				DEALLOCATE fzq;
			END IF;
			IF c.watch AND mode = 'plain' THEN
				m := fz.money();
				IF m IS DISTINCT FROM money THEN
					INSERT INTO fz.moved VALUES (calls, calls, mode, st, c.stmt, msg, money, m);
				END IF;
			END IF;

			IF trace THEN RAISE WARNING '  -> % %: %', phase, st, msg; END IF;
			INSERT INTO fz.outcome VALUES (c.fn, mode, phase, st, 1, c.stmt, msg)
			ON CONFLICT ON CONSTRAINT outcome_pkey DO UPDATE SET n = fz.outcome.n + 1;
			IF (st <> '00000' AND NOT st = ANY (allowed) AND NOT st = ANY (fz.own_rules())
					AND (phase = 'call' OR st = ANY (fz.parse_judged())))
				OR (mode = 'read-only' AND st = '00000' AND c.fn <> 'current_balance') THEN
				INSERT INTO fz.bad VALUES (calls, mode, phase, st, c.stmt, msg);
			END IF;
		END LOOP;
		m := fz.money();
		IF m IS DISTINCT FROM chunk_money THEN
			INSERT INTO fz.moved VALUES (chunk_first, calls, NULL, NULL, NULL, NULL, chunk_money, m);
		END IF;
		COMMIT;
		commits := commits + 1;
	END LOOP;
	INSERT INTO fz.stats VALUES (calls, ddl, ddl_failed, commits,
		round(extract(epoch FROM clock_timestamp() - start)::numeric, 1));
	COMMIT;
END;
$$;

\if :{?calls}
\else
\set calls 0
\endif
\if :trace
CALL fz.run(:seconds, :seed, string_to_array(:'allowed', ','), true, :calls);
\else
CALL fz.run(:seconds, :seed, string_to_array(:'allowed', ','), false, :calls);
\endif
\if :{?stop_before_checks}
\quit
\endif

-- ---------------------------------------------------------------------------
-- Figures and claims
-- ---------------------------------------------------------------------------
\o
\pset tuples_only on
\pset format unaligned
SELECT format('# seed %s: %s calls in %s s (%s calls/s), %s random DDL statements (%s failed), %s commits',
	:seed, calls, seconds, round(calls / greatest(seconds, 0.1)), ddl, ddl_failed, commits) FROM fz.stats;
SELECT '# outcomes by function, mode, phase (parse: before the function ran) and SQLSTATE, with an example message:';
SELECT format('#   %-14s %-11s %-5s %-5s %7s  %s', fn, mode, phase, state, n, left(COALESCE(message, ''), 80))
  FROM fz.outcome ORDER BY fn, mode, phase, state;
SELECT format('# calls: %s succeeded; %s failed in the call with a documented SQLSTATE, %s with another; '
		'%s failed at parse time (%s of them with a resolution or table-name SQLSTATE the README does not list)',
	COALESCE(sum(n) FILTER (WHERE state = '00000'), 0),
	COALESCE(sum(n) FILTER (WHERE phase = 'call' AND state <> '00000' AND state = ANY (string_to_array(:'allowed', ','))), 0),
	COALESCE(sum(n) FILTER (WHERE phase = 'call' AND state <> '00000' AND NOT state = ANY (string_to_array(:'allowed', ','))), 0),
	COALESCE(sum(n) FILTER (WHERE phase = 'parse'), 0),
	COALESCE(sum(n) FILTER (WHERE phase = 'parse' AND state = ANY (fz.parse_judged()) AND NOT state = ANY (string_to_array(:'allowed', ','))), 0))
  FROM fz.outcome;

SELECT tgt.ok('fuzz: every call that failed in the function failed with a SQLSTATE the README documents',
	NOT EXISTS (SELECT FROM fz.bad WHERE phase = 'call' AND state <> '00000'),
	(SELECT string_agg(format('%s (%s calls), e.g. %s -- %s', state, cnt, stmt, message), E'\n')
	   FROM (SELECT state, count(*) AS cnt, min(stmt) AS stmt, min(message) AS message
	           FROM fz.bad WHERE phase = 'call' AND state <> '00000' GROUP BY state ORDER BY state) x));
SELECT tgt.ok('fuzz: every resolution or table-name error at parse time has a SQLSTATE the README documents',
	NOT EXISTS (SELECT FROM fz.bad WHERE phase = 'parse'),
	(SELECT string_agg(format('%s (%s calls), e.g. %s -- %s', state, cnt, stmt, message), E'\n')
	   FROM (SELECT state, count(*) AS cnt, min(stmt) AS stmt, min(message) AS message
	           FROM fz.bad WHERE phase = 'parse' GROUP BY state ORDER BY state) x));
SELECT tgt.ok('fuzz: no call that writes succeeded in a read-only transaction',
	NOT EXISTS (SELECT FROM fz.bad WHERE mode = 'read-only' AND state = '00000'),
	(SELECT string_agg(stmt, E'\n') FROM (SELECT stmt FROM fz.bad WHERE mode = 'read-only' AND state = '00000' LIMIT 5) x));
SELECT tgt.ok('fuzz: more than 100 transfers or batches succeeded (the fuzz moved money)',
	(SELECT sum(n) FROM fz.outcome WHERE state = '00000' AND fn IN ('transfer', 'transfer_batch')) > 100);
SELECT format('#   %s.%s: sum %s before, %s after', b.tbl, quote_ident(b.col), b.total, fz.sum_of(b.tbl, b.col))
  FROM fz.before b ORDER BY b.tbl::text, b.col;
SELECT format('#   open holds drawn from them: %s', fz.held());
SELECT tgt.ok('fuzz: the sum of all watched balances and of the open holds drawn from them is unchanged (money moves between them, never appears or vanishes)',
	(SELECT sum(fz.sum_of(tbl, col)) + fz.held() = sum(total) FROM fz.before),
	(SELECT format('before %s, after %s (balances %s, open holds %s)', sum(total),
		sum(fz.sum_of(tbl, col)) + fz.held(), sum(fz.sum_of(tbl, col)), fz.held()) FROM fz.before));

-- holds
SELECT format('# holds: %s placed (%s)', (SELECT count(*) FROM transfer_guard_hold),
	(SELECT string_agg(format('%s %s', n, state), ', ' ORDER BY state)
	   FROM (SELECT state, count(*) AS n FROM transfer_guard_hold GROUP BY state) x));
SELECT format('# holds: %s captured in part, %s with an expiry, %s with an idempotency key',
	(SELECT count(*) FROM transfer_guard_hold WHERE state = 'captured' AND captured < amount),
	(SELECT count(*) FROM transfer_guard_hold WHERE expires_at IS NOT NULL),
	(SELECT count(*) FROM transfer_guard_journal WHERE kind = 'hold' AND idempotency_key IS NOT NULL));
SELECT tgt.ok('fuzz: after every hold, capture, try_capture, release, release_expired and keyed transfer call, '
		'the watched balances plus the open holds drawn from them are as before it (an error moves nothing)',
	NOT EXISTS (SELECT FROM fz.moved WHERE first = last),
	(SELECT string_agg(format('call %s ended %s (%s): %s -- before %s, after %s', first, state, message, stmt, before, after), E'\n')
	   FROM (SELECT * FROM fz.moved WHERE first = last ORDER BY first LIMIT 10) x));
SELECT tgt.ok('fuzz: over every 50 calls and the DDL between them, the watched balances plus the open holds drawn from them are unchanged',
	NOT EXISTS (SELECT FROM fz.moved WHERE stmt IS NULL),
	(SELECT string_agg(format('calls %s to %s: before %s, after %s', first, last, before, after), E'\n')
	   FROM (SELECT * FROM fz.moved WHERE stmt IS NULL ORDER BY first LIMIT 10) x));
SELECT tgt.ok('fuzz: holds were placed, and ended captured, captured in part, released and expired',
	(SELECT count(*) FILTER (WHERE state = 'captured') > 0 AND count(*) FILTER (WHERE state = 'captured' AND captured < amount) > 0
		AND count(*) FILTER (WHERE state = 'released') > 0 AND count(*) FILTER (WHERE state = 'expired') > 0
	   FROM transfer_guard_hold),
	(SELECT string_agg(format('%s %s', state, n), ', ') FROM (SELECT state, count(*) AS n FROM transfer_guard_hold GROUP BY state) x));
SELECT tgt.ok('fuzz: capture, try_capture and release each succeeded at least once',
	(SELECT count(DISTINCT fn) = 3 FROM fz.outcome WHERE state = '00000' AND fn IN ('capture', 'try_capture', 'release')));
-- the journal tells each hold's story: its hold row for the amount, then
-- rows out of it (capture, release, expire) for as much once it is closed,
-- the capture row for what was captured, under the hold's transfer_id
CREATE TEMP TABLE hold_story AS
	SELECT h.hold_id, h.state, h.amount, h.captured, h.transfer_id,
		   (SELECT sum(j.amount) FROM transfer_guard_journal j WHERE j.hold_id = h.hold_id AND j.kind = 'hold') AS held,
		   (SELECT sum(j.amount) FROM transfer_guard_journal j WHERE j.hold_id = h.hold_id AND j.kind <> 'hold') AS out,
		   (SELECT string_agg(j.kind || ':' || j.transfer_id || ':' || j.amount, ' ' ORDER BY j.transfer_id)
			  FROM transfer_guard_journal j WHERE j.hold_id = h.hold_id AND j.kind = 'capture') AS captures
	  FROM transfer_guard_hold h;
SELECT tgt.ok('fuzz: the journal agrees with every hold: its hold row, what came out of it, and its capture',
	NOT EXISTS (SELECT FROM hold_story
		 WHERE held IS DISTINCT FROM amount
			OR COALESCE(out, 0) <> CASE WHEN state = 'held' THEN 0 ELSE amount END
			OR (state = 'captured') <> (captures IS NOT NULL)
			OR (state = 'captured' AND captures IS DISTINCT FROM format('capture:%s:%s', transfer_id, captured))),
	(SELECT string_agg(format('hold %s %s amount %s captured %s transfer %s: journal held %s, out %s, %s',
			hold_id, state, amount, captured, transfer_id, held, out, captures), E'\n')
	   FROM (SELECT * FROM hold_story
			  WHERE held IS DISTINCT FROM amount
				 OR COALESCE(out, 0) <> CASE WHEN state = 'held' THEN 0 ELSE amount END
				 OR (state = 'captured') <> (captures IS NOT NULL)
				 OR (state = 'captured' AND captures IS DISTINCT FROM format('capture:%s:%s', transfer_id, captured))
			  ORDER BY hold_id LIMIT 10) x));
-- the expired holds still open: release_expired() gives them back, or
-- fails as a whole on one it cannot (a row gone, a table's own rule)
SELECT count(*) AS expired_open FROM transfer_guard_hold
 WHERE state = 'held' AND expires_at <= clock_timestamp() \gset
SELECT s.state AS release_expired_state, COALESCE(s.msg, '') AS release_expired_msg
  FROM tgt.state_of('SELECT release_expired()') s \gset
SELECT format('# release_expired() at the end, with %s expired holds open: %s %s', :expired_open,
	:'release_expired_state', COALESCE(:'release_expired_msg', ''));
SELECT tgt.ok('fuzz: release_expired() at the end succeeds, or fails with a SQLSTATE the README documents',
	:'release_expired_state' = '00000' OR :'release_expired_state' = ANY (string_to_array(:'allowed', ',')),
	format('%s %s', :'release_expired_state', :'release_expired_msg'));
SELECT tgt.ok('fuzz: after release_expired(), the watched balances plus the open holds are still as before the run',
	(SELECT sum(fz.sum_of(tbl, col)) + fz.held() = sum(total) FROM fz.before),
	(SELECT format('before %s, after %s', sum(total), sum(fz.sum_of(tbl, col)) + fz.held()) FROM fz.before));
SELECT tgt.ok(format('fuzz: every balance of %s.%s is within its fixed limits [%s, %s]', w.tbl, quote_ident(w.col),
		COALESCE(w.lo::text, '-'), COALESCE(w.hi::text, '-')),
	fz.outside(w.tbl, w.col, w.lo, w.hi) IS NULL,
	'outside: ' || fz.outside(w.tbl, w.col, w.lo, w.hi))
  FROM fz.watched w WHERE w.fixed ORDER BY w.tbl::text, w.col;

-- clean up, so that a later step in the same cluster starts from nothing:
-- the open holds first (they keep their tables), then what could not be
-- released (a scratch column the DDL made text)
RESET ROLE;
DO $$
DECLARE
	h bigint;
	n int := 0;
BEGIN
	FOR h IN SELECT hold_id FROM transfer_guard_hold WHERE state = 'held' ORDER BY hold_id LOOP
		BEGIN
			PERFORM release(h);
		EXCEPTION WHEN OTHERS THEN
			n := n + 1;
		END;
	END LOOP;
	IF n > 0 THEN
		RAISE NOTICE '% open holds could not be released', n;
	END IF;
END;
$$;
SELECT format('# open holds left that release() refused (their rows or columns were changed): %s',
	count(*)) FROM transfer_guard_hold WHERE state = 'held';
DELETE FROM transfer_guard_hold WHERE state = 'held';
DROP SCHEMA fz CASCADE;
DROP SCHEMA fz_moved CASCADE;
DROP OWNED BY fz_low;
DROP ROLE fz_low;
