--
-- security: ownership, privileges, row-level security, planted objects in
-- the caller's search_path, and names that need quoting.
--
CREATE ROLE regress_tg_owner;
CREATE ROLE regress_tg_user;
CREATE ROLE regress_tg_other;
GRANT CREATE ON SCHEMA public TO regress_tg_owner;

SET ROLE regress_tg_owner;
CREATE TABLE s_acc (id bigint PRIMARY KEY, balance bigint NOT NULL, note text);
INSERT INTO s_acc VALUES (1, 100, 'a'), (2, 100, 'b'), (3, 100, 'c');
-- the owner may guard (the extension owner is a superuser; the owner is not)
SELECT guard('s_acc', 'balance');
RESET ROLE;

-- only the owner (or a superuser) may guard, unguard or change limits
SET ROLE regress_tg_other;
SELECT * FROM tg_try($$SELECT guard('s_acc', 'balance', -1000)$$);
SELECT * FROM tg_try($$SELECT unguard('s_acc', 'balance')$$);
-- nor write the registry directly
SELECT * FROM tg_try($$INSERT INTO transfer_guard_registry VALUES ('s_acc', 's_acc.note', NULL, NULL)$$);
SELECT * FROM tg_try($$UPDATE transfer_guard_registry SET min_balance = -1000$$);
SELECT * FROM tg_try($$DELETE FROM transfer_guard_registry$$);
-- but anyone may read the view
SELECT tbl, balance_column, min_balance FROM transfer_guards WHERE tbl = 's_acc'::regclass;
RESET ROLE;
SELECT min_balance FROM transfer_guards WHERE tbl = 's_acc'::regclass;

-- the caller needs the privileges of a plain UPDATE
SET ROLE regress_tg_user;
SELECT * FROM tg_try($$SELECT * FROM transfer('s_acc', 1, 2, 1)$$);
RESET ROLE;
GRANT SELECT ON s_acc TO regress_tg_user;
SET ROLE regress_tg_user;
SELECT * FROM tg_try($$SELECT * FROM transfer('s_acc', 1, 2, 1)$$);
RESET ROLE;
-- UPDATE on another column only is not enough
GRANT UPDATE (note) ON s_acc TO regress_tg_user;
SET ROLE regress_tg_user;
SELECT * FROM tg_try($$SELECT * FROM transfer('s_acc', 1, 2, 1)$$);
RESET ROLE;
-- UPDATE on the balance column is
GRANT UPDATE (balance) ON s_acc TO regress_tg_user;
SET ROLE regress_tg_user;
SELECT from_balance, to_balance FROM transfer('s_acc', 1, 2, 1);
RESET ROLE;
REVOKE ALL ON s_acc FROM regress_tg_user;
GRANT SELECT, UPDATE ON s_acc TO regress_tg_user;

-- row-level security: a hidden row is "not found", revealing nothing
ALTER TABLE s_acc ENABLE ROW LEVEL SECURITY;
CREATE POLICY s_mine ON s_acc USING (note <> 'c');
SET ROLE regress_tg_user;
SELECT * FROM tg_try($$SELECT * FROM transfer('s_acc', 1, 3, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('s_acc', 3, 1, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('s_acc', 1, 4, 1)$$);
SELECT from_balance, to_balance FROM transfer('s_acc', 1, 2, 1);
RESET ROLE;
-- a policy's WITH CHECK still applies to the updated row
CREATE POLICY s_cap ON s_acc AS RESTRICTIVE FOR UPDATE
	USING (true) WITH CHECK (balance <= 150);
SET ROLE regress_tg_user;
SELECT * FROM tg_try($$SELECT * FROM transfer('s_acc', 1, 2, 60)$$);
RESET ROLE;
ALTER TABLE s_acc DISABLE ROW LEVEL SECURITY;
SELECT * FROM s_acc ORDER BY id;

-- planted objects earlier in the caller's search_path are never used:
-- a temp table of the same name, and = and + operators for bigint
CREATE SCHEMA evil;
CREATE FUNCTION evil.always(bigint, bigint) RETURNS boolean
	LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.always);
CREATE FUNCTION evil.times_ten(bigint, bigint) RETURNS bigint
	LANGUAGE sql AS 'SELECT $1 * 10';
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.times_ten);
CREATE TEMP TABLE s_acc (id bigint PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO s_acc VALUES (1, 0), (2, 0);
SET search_path = evil, pg_catalog, pg_temp, public;
SELECT from_balance, to_balance FROM transfer('public.s_acc', 1, 2, 5);
RESET search_path;
SELECT * FROM public.s_acc ORDER BY id;
SELECT * FROM pg_temp.s_acc ORDER BY id;
DROP TABLE pg_temp.s_acc;
DROP SCHEMA evil CASCADE;

-- names that need quoting, and names that try to break out of a statement
CREATE TABLE "Weird ""Name""; DROP TABLE s_acc; --" (
	"select" bigint PRIMARY KEY,
	"Bal ance" numeric NOT NULL);
INSERT INTO "Weird ""Name""; DROP TABLE s_acc; --" VALUES (1, 10), (2, 0);
SELECT guard('"Weird ""Name""; DROP TABLE s_acc; --"', 'Bal ance');
SELECT from_balance, to_balance
  FROM transfer('"Weird ""Name""; DROP TABLE s_acc; --"', 1, 2, 4);
SELECT * FROM tg_try($$SELECT * FROM transfer('"Weird ""Name""; DROP TABLE s_acc; --"', 1, 2, 4, balance_column => 'bal ance')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('"Weird ""Name""; DROP TABLE s_acc; --"', 1, 2, 4, balance_column => 'Bal ance"; DROP TABLE s_acc; --')$$);
SELECT * FROM tg_try($$SELECT guard('s_acc', 'balance"; DROP TABLE s_acc; --')$$);
SELECT * FROM "Weird ""Name""; DROP TABLE s_acc; --" ORDER BY 1;
SELECT count(*) AS s_acc_still_there FROM s_acc;

DROP TABLE "Weird ""Name""; DROP TABLE s_acc; --";
DROP TABLE s_acc;
REVOKE CREATE ON SCHEMA public FROM regress_tg_owner;
DROP ROLE regress_tg_owner, regress_tg_user, regress_tg_other;

-- a table given by OID (regclass) needs USAGE on its schema, as naming it
-- does, and as a plain UPDATE does: for every entry point and either side
-- of a transfer, and for the table's owner as well (superusers excepted)
CREATE ROLE regress_tg_nsp_owner;
CREATE ROLE regress_tg_nsp_user;
CREATE SCHEMA s_bank;
CREATE TABLE s_bank.acc (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO s_bank.acc VALUES (1, 100), (2, 100);
CREATE TABLE s_open (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO s_open VALUES (1, 100), (2, 100);
SELECT guard('s_bank.acc', 'balance'), guard('s_open', 'balance');
ALTER TABLE s_bank.acc OWNER TO regress_tg_nsp_owner;
GRANT SELECT, UPDATE ON s_bank.acc, s_open TO regress_tg_nsp_user;
SELECT 's_bank.acc'::regclass::oid AS s_bank_acc \gset
SET ROLE regress_tg_nsp_user;
SELECT * FROM tg_try($$UPDATE s_bank.acc SET balance = balance + 5 WHERE id = 2$$);
SELECT * FROM tg_try(format($$SELECT * FROM transfer(%s::regclass, 1, 2, 5)$$, :s_bank_acc));
SELECT * FROM tg_try(format($$SELECT * FROM transfer(%s::regclass, '1', '2', 5)$$, :s_bank_acc));
SELECT * FROM tg_try(format($$SELECT * FROM transfer('s_open', 1, 2, 5, to_table => %s::regclass)$$, :s_bank_acc));
SELECT * FROM tg_try(format($$SELECT * FROM try_transfer(%s::regclass, 1, 2, 5)$$, :s_bank_acc));
SELECT * FROM tg_try(format($$SELECT * FROM try_transfer('s_open', 1, 2, 5, to_table => %s::regclass)$$, :s_bank_acc));
SELECT * FROM tg_try(format($$SELECT * FROM transfer_batch('[{"from_table": "%s", "from_key": 1, "to_key": 2, "amount": 5}]')$$, :s_bank_acc));
SELECT * FROM tg_try(format($$SELECT * FROM transfer_batch('[{"from_table": "s_open", "from_key": 1, "to_table": "%s", "to_key": 2, "amount": 5}]')$$, :s_bank_acc));
RESET ROLE;
-- the owner: UPDATE and ALTER TABLE need USAGE, so do transfers, guard()
-- and unguard()
SET ROLE regress_tg_nsp_owner;
SELECT * FROM tg_try($$UPDATE s_bank.acc SET balance = balance + 5 WHERE id = 2$$);
SELECT * FROM tg_try($$ALTER TABLE s_bank.acc ADD CHECK (balance >= 0)$$);
SELECT * FROM tg_try(format($$SELECT * FROM transfer(%s::regclass, 1, 2, 5)$$, :s_bank_acc));
SELECT * FROM tg_try(format($$SELECT guard(%s::regclass, 'balance', -1000)$$, :s_bank_acc));
SELECT * FROM tg_try(format($$SELECT unguard(%s::regclass, 'balance')$$, :s_bank_acc));
RESET ROLE;
SELECT * FROM s_bank.acc ORDER BY id;
SELECT min_balance FROM transfer_guards WHERE tbl = 's_bank.acc'::regclass;
-- with USAGE it works, by OID as by name
GRANT USAGE ON SCHEMA s_bank TO regress_tg_nsp_user, regress_tg_nsp_owner;
SET ROLE regress_tg_nsp_user;
SELECT * FROM tg_try(format($$SELECT * FROM transfer(%s::regclass, 1, 2, 5)$$, :s_bank_acc));
SELECT from_balance, to_balance FROM transfer('s_bank.acc', 1, 2, 5, idempotency_key => 's-nsp');
SELECT leg, from_balance, to_balance FROM transfer_batch('[{"from_table": "s_open", "from_key": 1, "to_table": "s_bank.acc", "to_key": 2, "amount": 5}]');
RESET ROLE;
-- USAGE revoked: a replayed idempotency key answers nothing either
REVOKE USAGE ON SCHEMA s_bank FROM regress_tg_nsp_user;
SET ROLE regress_tg_nsp_user;
SELECT * FROM tg_try(format($$SELECT * FROM transfer(%s::regclass, 1, 2, 5, idempotency_key => 's-nsp')$$, :s_bank_acc));
RESET ROLE;
SET ROLE regress_tg_nsp_owner;
SELECT * FROM tg_try(format($$SELECT guard(%s::regclass, 'balance', -1000)$$, :s_bank_acc));
RESET ROLE;
SELECT * FROM s_bank.acc ORDER BY id;
SELECT min_balance FROM transfer_guards WHERE tbl = 's_bank.acc'::regclass;
DROP SCHEMA s_bank CASCADE;
DROP TABLE s_open;
DROP ROLE regress_tg_nsp_owner, regress_tg_nsp_user;
