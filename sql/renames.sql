--
-- renames: the registry records the balance, key and version columns by
-- attribute number, so that no rename (on the table, through an
-- inheritance parent or a partitioned table, or under
-- session_replication_role = replica) keeps a guard from its column or
-- moves it onto another one.  Tables with inheritance children are refused
-- rather than half-reached.
--

-- renames through an inheritance parent recurse to the guarded child
CREATE TABLE kip (id int NOT NULL, balance bigint NOT NULL);
CREATE TABLE kic (id int PRIMARY KEY, code int NOT NULL UNIQUE,
				  balance bigint NOT NULL) INHERITS (kip);
INSERT INTO kic (id, code, balance) VALUES (1, 2, 100), (2, 1, 100);
SELECT guard('kic', 'balance');
ALTER TABLE kip RENAME id TO acct;
ALTER TABLE kic RENAME code TO ext_code;
-- acct 1 pays acct 2: not the rows whose ext_code is 1 and 2
SELECT from_balance, to_balance FROM transfer('kic', 1, 2, 10);
SELECT acct, ext_code, balance FROM kic ORDER BY acct;
SELECT balance_column, key_column FROM transfer_guards WHERE tbl = 'kic'::regclass;
ALTER TABLE kip RENAME balance TO funds;
SELECT from_balance, to_balance FROM transfer('kic', 2, 1, 5, 'funds');
SELECT * FROM tg_try($$SELECT * FROM transfer('kic', 2, 1, 5, 'balance')$$);
SELECT balance_column, key_column FROM transfer_guards WHERE tbl = 'kic'::regclass;
-- kic has a parent but no children of its own: it is guarded as any table
SELECT from_balance, to_balance FROM transfer('kic', 1, 2, 1);

-- renames through a partitioned table recurse to a guarded partition
CREATE TABLE rp (id int NOT NULL, code int NOT NULL, balance bigint NOT NULL,
				 version int NOT NULL DEFAULT 0) PARTITION BY RANGE (id);
CREATE TABLE rp1 PARTITION OF rp FOR VALUES FROM (1) TO (100);
ALTER TABLE rp1 ADD PRIMARY KEY (id);
ALTER TABLE rp1 ADD UNIQUE (code);
INSERT INTO rp VALUES (1, 2, 100), (2, 1, 100);
SELECT guard('rp1', 'balance', version_column => 'version', key_column => 'id');
ALTER TABLE rp RENAME balance TO funds;
ALTER TABLE rp RENAME id TO acct;
ALTER TABLE rp RENAME version TO ver;
SELECT from_balance, to_balance FROM transfer('rp1', 1, 2, 10);
ALTER TABLE rp RENAME code TO ext_code;
SELECT from_balance, to_balance FROM transfer('rp1', 1, 2, 10);
SELECT acct, ext_code, funds, ver FROM rp ORDER BY acct;
SELECT balance_column, version_column, key_column FROM transfer_guards
 WHERE tbl = 'rp1'::regclass;

-- under session_replication_role = replica no event trigger fires; the
-- guard follows all the same
CREATE TABLE rr (id int PRIMARY KEY, other int NOT NULL UNIQUE,
				 balance numeric NOT NULL, spare numeric NOT NULL DEFAULT 0);
INSERT INTO rr VALUES (1, 2, 100), (2, 1, 100);
SELECT guard('rr', 'balance', key_column => 'id');
SET session_replication_role = replica;
ALTER TABLE rr RENAME balance TO funds;
ALTER TABLE rr RENAME spare TO balance;
ALTER TABLE rr RENAME id TO acct;
ALTER TABLE rr RENAME other TO id;
RESET session_replication_role;
SELECT from_balance, to_balance FROM transfer('rr', 1, 2, 10);
SELECT * FROM rr ORDER BY acct;
SELECT * FROM tg_try($$SELECT * FROM transfer('rr', 1, 2, 10, 'balance')$$);
SELECT balance_column, key_column FROM transfer_guards WHERE tbl = 'rr'::regclass;

-- a guarded column dropped under replica leaves a guard that names a
-- column that is gone; attribute numbers are never reused, so a column
-- added later is not guarded by it
SET session_replication_role = replica;
ALTER TABLE rr DROP COLUMN funds;
RESET session_replication_role;
ALTER TABLE rr ADD COLUMN funds numeric NOT NULL DEFAULT 7;
SELECT * FROM tg_try($$SELECT * FROM transfer('rr', 1, 2, 1, 'funds')$$);
SELECT balance_column, key_column FROM transfer_guards WHERE tbl = 'rr'::regclass;
SELECT balance_column::text ~ '^[0-9]+\.[0-9]+$' AS numeric_form
  FROM transfer_guard_registry WHERE tbl = 'rr'::regclass;

-- the registry's column type: a qualified name in, the current name out
CREATE SCHEMA "Odd ""Schema";
CREATE TABLE "Odd ""Schema"."T.1" ("a b" int PRIMARY KEY, "Bal" bigint NOT NULL);
SELECT '"Odd ""Schema"."T.1"."Bal"'::transfer_guard_column;
SELECT '"Odd ""Schema"."T.1"."Bal"'::transfer_guard_column::text::transfer_guard_column;
SELECT transfer_guard_column_attnum('"Odd ""Schema"."T.1"."a b"');
ALTER TABLE "Odd ""Schema"."T.1" RENAME "Bal" TO "New Bal";
CREATE TEMP TABLE colref_kept AS
	SELECT '"Odd ""Schema"."T.1"."New Bal"'::transfer_guard_column AS c;
ALTER TABLE "Odd ""Schema"."T.1" RENAME "New Bal" TO "Bal";
SELECT c FROM colref_kept;
SELECT * FROM tg_try($$SELECT 'rr'::transfer_guard_column$$);
SELECT * FROM tg_try($$SELECT 'rr.nope'::transfer_guard_column$$);
SELECT * FROM tg_try($$SELECT 'nope.balance'::transfer_guard_column$$);
SELECT * FROM tg_try($$SELECT 'a.b.c.d.e'::transfer_guard_column$$);
SELECT * FROM tg_try($$SELECT 'rr.xmin'::transfer_guard_column$$);
SELECT * FROM tg_try($$SELECT '"unterminated'::transfer_guard_column$$);
SELECT * FROM tg_try($$SELECT ''::transfer_guard_column$$);
SELECT '12345.3'::transfer_guard_column;
SELECT * FROM tg_try($$SELECT '12345.99999'::transfer_guard_column$$);
DROP TABLE colref_kept;
DROP SCHEMA "Odd ""Schema" CASCADE;

-- a table with inheritance children is refused, at guard() and, for a
-- child added later, at every call: never "no such row" for a row that
-- UPDATE of the parent would change
CREATE TABLE par (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE chi (id int PRIMARY KEY, balance bigint NOT NULL) INHERITS (par);
INSERT INTO par VALUES (1, 100);
INSERT INTO chi VALUES (2, 100);
SELECT * FROM tg_try($$SELECT guard('par', 'balance')$$);
DROP TABLE chi;
SELECT guard('par', 'balance');
INSERT INTO par VALUES (2, 100);
SELECT from_balance, to_balance FROM transfer('par', 2, 1, 10);
-- par's relhassubclass stays set after the child is gone, so adding one
-- again sends par no invalidation: the call still finds it
CREATE TABLE chi2 (id int PRIMARY KEY, balance bigint NOT NULL) INHERITS (par);
INSERT INTO chi2 VALUES (3, 100);
SELECT * FROM tg_try($$SELECT * FROM transfer('par', 3, 1, 10)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('par', 2, 1, 10)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "par", "from_key": 2, "to_key": 1, "amount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('par', 3, 1, 10)$$);
-- a child attached with ALTER TABLE ... INHERIT likewise
DROP TABLE chi2;
SELECT from_balance, to_balance FROM transfer('par', 2, 1, 1);
CREATE TABLE chi3 (id int PRIMARY KEY, balance bigint NOT NULL);
ALTER TABLE chi3 INHERIT par;
SELECT * FROM tg_try($$SELECT * FROM transfer('par', 2, 1, 1)$$);
ALTER TABLE chi3 NO INHERIT par;
SELECT from_balance, to_balance FROM transfer('par', 2, 1, 1);
SELECT * FROM par ORDER BY id;

DROP TABLE kic, kip, rp, rr, par, chi3;
