--
-- hazards: what user code and schema changes cannot do to a transfer.
--
CREATE TABLE h_a (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE h_b (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO h_a VALUES (1, 100), (2, 100), (3, 100);
INSERT INTO h_b VALUES (1, 100);
SELECT guard('h_a', 'balance'), guard('h_b', 'balance');

-- a policy function that alters a table the call is using: refused, since
-- the call holds its tables open (no misread balance, no crash); policies
-- apply to ordinary roles, so an ordinary role owns these tables
CREATE ROLE regress_tg_mallory;
GRANT CREATE ON SCHEMA public TO regress_tg_mallory;
SET ROLE regress_tg_mallory;
CREATE TABLE h_ma (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE h_mb (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO h_ma VALUES (1, 100);
INSERT INTO h_mb VALUES (1, 100);
SELECT guard('h_ma', 'balance'), guard('h_mb', 'balance');
CREATE FUNCTION h_sneaky() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	ALTER TABLE h_mb ALTER COLUMN balance TYPE bigint;
	RETURN true;
END $$;
ALTER TABLE h_ma ENABLE ROW LEVEL SECURITY;
ALTER TABLE h_ma FORCE ROW LEVEL SECURITY;
CREATE POLICY h_p ON h_ma USING (h_sneaky());
SELECT * FROM tg_try($$SELECT * FROM transfer('h_ma', 1, 1, 5, to_table => 'h_mb')$$);
SELECT * FROM h_mb;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'h_mb'::regclass AND attname = 'balance';
DROP TABLE h_ma, h_mb;
DROP FUNCTION h_sneaky();
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM regress_tg_mallory;
DROP ROLE regress_tg_mallory;

-- the same from a trigger fired by the update
CREATE FUNCTION h_alter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	ALTER TABLE h_b ALTER COLUMN balance TYPE bigint;
	RETURN NEW;
END $$;
CREATE TRIGGER h_alter BEFORE UPDATE ON h_a FOR EACH ROW EXECUTE FUNCTION h_alter();
SELECT * FROM tg_try($$SELECT * FROM transfer('h_a', 1, 1, 5, to_table => 'h_b')$$);
DROP TRIGGER h_alter ON h_a;
SELECT * FROM h_a ORDER BY id;
SELECT * FROM h_b;

-- a trigger that transfers again from a row the outer call already
-- checked: the stored balance is checked too, so the floor holds
CREATE FUNCTION h_again() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 1 AND pg_trigger_depth() = 1 THEN
		PERFORM transfer('h_a', 2, 3, 100);
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER h_again BEFORE UPDATE ON h_a FOR EACH ROW EXECUTE FUNCTION h_again();
SELECT * FROM tg_try($$SELECT * FROM transfer('h_a', 2, 1, 100)$$);
DROP TRIGGER h_again ON h_a;
SELECT * FROM h_a ORDER BY id;

-- tables with rules, temporary tables, generated and identity columns
CREATE TABLE h_ruled (id int PRIMARY KEY, balance int NOT NULL);
CREATE TABLE h_elsewhere (id int, balance int);
CREATE RULE h_redirect AS ON UPDATE TO h_ruled DO INSTEAD
	UPDATE h_elsewhere SET balance = NEW.balance WHERE id = OLD.id;
SELECT * FROM tg_try($$SELECT guard('h_ruled', 'balance')$$);
CREATE TEMP TABLE h_temp (id int PRIMARY KEY, balance int NOT NULL);
-- (the temp schema's name depends on the backend: shown as pg_temp_N)
SELECT regexp_replace(t, 'pg_temp_[0-9]+', 'pg_temp_N') FROM tg_try($$SELECT guard('h_temp', 'balance')$$) AS t;
CREATE TABLE h_gen (id int PRIMARY KEY, balance int NOT NULL,
					twice int GENERATED ALWAYS AS (balance * 2) STORED,
					serial int GENERATED ALWAYS AS IDENTITY);
SELECT * FROM tg_try($$SELECT guard('h_gen', 'twice')$$);
SELECT * FROM tg_try($$SELECT guard('h_gen', 'serial')$$);
SELECT * FROM tg_try($$SELECT guard('h_gen', 'balance', version_column => 'serial')$$);
-- a rule added after guard() is refused at the next transfer
CREATE TABLE h_later (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO h_later VALUES (1, 10), (2, 10);
SELECT guard('h_later', 'balance');
CREATE RULE h_later_rule AS ON UPDATE TO h_later DO ALSO NOTIFY h_later;
SELECT * FROM tg_try($$SELECT * FROM transfer('h_later', 1, 2, 1)$$);
DROP RULE h_later_rule ON h_later;
SELECT from_balance, to_balance FROM transfer('h_later', 1, 2, 1);

-- a partitioned table and its partitions hold the same rows: one or the
-- other can be guarded, not both
CREATE TABLE h_parts (id int PRIMARY KEY, balance int NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE h_part1 PARTITION OF h_parts FOR VALUES FROM (0) TO (100);
SELECT guard('h_parts', 'balance');
SELECT * FROM tg_try($$SELECT guard('h_part1', 'balance')$$);
SELECT unguard('h_parts', 'balance');
SELECT guard('h_part1', 'balance');
SELECT * FROM tg_try($$SELECT guard('h_parts', 'balance')$$);

-- the key is recorded by guard(): rebuilding indexes never switches it
CREATE TABLE h_keys (acct int NOT NULL, legacy int NOT NULL, balance int NOT NULL);
CREATE UNIQUE INDEX h_keys_acct ON h_keys (acct);
CREATE UNIQUE INDEX h_keys_legacy ON h_keys (legacy);
INSERT INTO h_keys VALUES (1, 2, 100), (2, 1, 100), (3, 3, 100);
SELECT * FROM tg_try($$SELECT guard('h_keys', 'balance')$$);
SELECT guard('h_keys', 'balance', key_column => 'acct');
SELECT key_column FROM transfer_guards WHERE tbl = 'h_keys'::regclass;
SELECT from_balance, to_balance FROM transfer('h_keys', 1, 3, 10);
REINDEX INDEX CONCURRENTLY h_keys_acct;
SELECT from_balance, to_balance FROM transfer('h_keys', 1, 3, 10);
SELECT * FROM h_keys ORDER BY acct;
-- a key whose index is gone is refused, not replaced by another
DROP INDEX h_keys_acct;
SELECT * FROM tg_try($$SELECT * FROM transfer('h_keys', 1, 3, 10)$$);
SELECT * FROM tg_try($$SELECT guard('h_keys', 'balance', key_column => 'balance')$$);
-- an index whose collation differs from the column's is not a key
CREATE TABLE h_coll (code text COLLATE "C" NOT NULL, balance int NOT NULL);
CREATE UNIQUE INDEX h_coll_code ON h_coll (code COLLATE "POSIX");
SELECT * FROM tg_try($$SELECT guard('h_coll', 'balance')$$);

-- renaming a guarded, version or key column keeps the guard
CREATE TABLE h_ren (id int PRIMARY KEY, balance int NOT NULL, ver int NOT NULL DEFAULT 0);
INSERT INTO h_ren VALUES (1, 10, 0), (2, 10, 0);
SELECT guard('h_ren', 'balance', version_column => 'ver');
ALTER TABLE h_ren RENAME COLUMN balance TO credits;
ALTER TABLE h_ren RENAME COLUMN ver TO version;
ALTER TABLE h_ren RENAME COLUMN id TO account;
SELECT balance_column, version_column, key_column FROM transfer_guards
 WHERE tbl = 'h_ren'::regclass;
SELECT from_balance, to_balance FROM transfer('h_ren', 1, 2, 1);
SELECT * FROM h_ren ORDER BY account;
-- a new column taking the old name is not guarded
ALTER TABLE h_ren ADD COLUMN balance int NOT NULL DEFAULT 0;
SELECT * FROM tg_try($$SELECT * FROM transfer('h_ren', 1, 2, 1, balance_column => 'balance')$$);

-- the caller needs privileges on the columns moved, not on every guarded one
CREATE TABLE h_cols (id int PRIMARY KEY, coins int NOT NULL, gems int NOT NULL);
INSERT INTO h_cols VALUES (1, 10, 10), (2, 10, 10);
SELECT guard('h_cols', 'coins'), guard('h_cols', 'gems');
CREATE ROLE regress_tg_cols;
GRANT SELECT (id, coins), UPDATE (coins) ON h_cols TO regress_tg_cols;
SET ROLE regress_tg_cols;
SELECT from_balance, to_balance FROM transfer('h_cols', 1, 2, 1, balance_column => 'coins');
SELECT * FROM tg_try($$SELECT * FROM transfer('h_cols', 1, 2, 1, balance_column => 'gems')$$);
-- and lacking them is reported before any business outcome
SELECT * FROM tg_try($$SELECT * FROM try_transfer('h_cols', 1, 2, 1000, balance_column => 'gems')$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('h_cols', 1, 9, 1, balance_column => 'gems')$$);
RESET ROLE;
-- a replayed idempotency key needs the privileges too
GRANT SELECT, UPDATE ON h_cols TO regress_tg_cols;
SET ROLE regress_tg_cols;
SELECT status FROM try_transfer('h_cols', 1, 2, 1, balance_column => 'gems', idempotency_key => 'h-1');
RESET ROLE;
REVOKE ALL ON h_cols FROM regress_tg_cols;
SET ROLE regress_tg_cols;
SELECT * FROM tg_try($$SELECT * FROM try_transfer('h_cols', 1, 2, 1, balance_column => 'gems', idempotency_key => 'h-1')$$);
RESET ROLE;
DROP ROLE regress_tg_cols;

-- a text key is read without the column's typmod: never rounded or cut
CREATE TABLE h_nkey (id numeric(10,2) PRIMARY KEY, balance int NOT NULL);
INSERT INTO h_nkey VALUES (1.01, 10), (2, 10);
SELECT guard('h_nkey', 'balance');
SELECT * FROM tg_try($$SELECT * FROM transfer('h_nkey', '1.005', '2', 1)$$);
SELECT from_balance FROM transfer('h_nkey', '1.01', '2', 1);
CREATE TABLE h_vkey (id varchar(3) PRIMARY KEY, balance int NOT NULL);
INSERT INTO h_vkey VALUES ('abc', 10), ('xyz', 10);
SELECT guard('h_vkey', 'balance');
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "h_vkey", "from_key": "abcd", "to_key": "xyz", "amount": 1}]')$$);

DROP TABLE h_a, h_b, h_ruled, h_elsewhere, h_gen, h_later, h_parts, h_keys,
	h_coll, h_ren, h_cols, h_nkey, h_vkey;
DROP TABLE pg_temp.h_temp;
DROP FUNCTION h_alter(), h_again();
