--
-- transfer: the normal path, the calling conventions, and composition with
-- the caller's transaction, triggers and constraints.
--
CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 5) g;
SELECT guard('accounts', 'balance');

-- integer literals for a bigint key, no schema prefix
SELECT from_balance, to_balance FROM transfer('accounts', 1, 2, 100);
SELECT * FROM accounts ORDER BY id;

-- transfer ids come from a sequence and grow
SELECT (SELECT transfer_id FROM transfer('accounts', 2, 3, 1)) <
	   (SELECT transfer_id FROM transfer('accounts', 2, 3, 1)) AS ids_grow;

-- untyped parameters (as drivers send them) resolve to the text overload
PREPARE untyped AS SELECT from_balance, to_balance FROM transfer($1, $2, $3, $4);
EXECUTE untyped('accounts', 3, 4, 2);
EXECUTE untyped('accounts', '4', '3', '2');
DEALLOCATE untyped;
-- typed parameters
PREPARE typed(regclass, bigint, bigint, numeric) AS
	SELECT from_balance, to_balance FROM transfer($1, $2, $3, $4);
EXECUTE typed('accounts', 3, 4, 2);
DEALLOCATE typed;

-- string literals, and named optional arguments
SELECT from_balance, to_balance FROM transfer('accounts', '4', '5', 1, nowait => true);
SELECT from_balance, to_balance
  FROM transfer(tbl => 'accounts', from_key => 5, to_key => 4, amount => 1,
				balance_column => 'balance');

-- the whole balance may be moved: the floor 0 is reachable
SELECT from_balance, to_balance FROM transfer('accounts', 5, 1, 100);
SELECT sum(balance) AS total FROM accounts;

-- it runs in the caller's transaction: a rollback undoes it
BEGIN;
SELECT from_balance, to_balance FROM transfer('accounts', 1, 5, 50);
ROLLBACK;
SELECT * FROM accounts ORDER BY id;

-- and a savepoint rollback undoes it too
BEGIN;
SAVEPOINT s;
SELECT from_balance, to_balance FROM transfer('accounts', 1, 5, 50);
ROLLBACK TO SAVEPOINT s;
SELECT from_balance, to_balance FROM transfer('accounts', 1, 5, 10);
COMMIT;
SELECT * FROM accounts ORDER BY id;

-- several guarded columns: balance_column chooses; between two columns of
-- one table, and between two tables (the motivating case)
CREATE TABLE players (id int PRIMARY KEY, coins int NOT NULL, gems numeric(10,2) NOT NULL);
INSERT INTO players VALUES (1, 50, 1.50), (2, 0, 0);
SELECT guard('players', 'coins'), guard('players', 'gems');
SELECT * FROM tg_try($$SELECT * FROM transfer('players', 1, 2, 5)$$);
SELECT from_balance, to_balance FROM transfer('players', 1, 2, 5, balance_column => 'coins');
SELECT from_balance, to_balance FROM transfer('players', 1, 2, 0.25, balance_column => 'gems');
-- coins of row 1 to gems of row 1: same row, different columns
SELECT from_balance, to_balance
  FROM transfer('players', 1, 1, 3, balance_column => 'coins', to_column => 'gems');
CREATE TABLE shop (sku text PRIMARY KEY, stock bigint NOT NULL);
INSERT INTO shop VALUES ('apple', 0);
SELECT guard('shop', 'stock');
-- keys of different types are passed as text
SELECT from_balance, to_balance
  FROM transfer('players', '2', 'apple', 5, balance_column => 'coins',
				to_table => 'shop');
SELECT from_balance, to_balance
  FROM transfer('shop', 'apple', '1', 2, to_table => 'players', to_column => 'coins');
SELECT * FROM players ORDER BY id;
SELECT * FROM shop;

-- the table's own triggers fire, under the caller's search_path
CREATE SCHEMA audit_s;
CREATE TABLE audit_s.log (note text);
CREATE FUNCTION audit_s.note_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- unqualified on purpose: found through the caller's search_path
	INSERT INTO log VALUES (format('%s: %s -> %s', NEW.id, OLD.balance, NEW.balance));
	RETURN NEW;
END $$;
CREATE TRIGGER accounts_audit AFTER UPDATE ON accounts
	FOR EACH ROW EXECUTE FUNCTION audit_s.note_change();
SET search_path = public, audit_s;
SELECT from_balance, to_balance FROM transfer('accounts', 2, 3, 7);
RESET search_path;
SELECT * FROM audit_s.log ORDER BY note;
DROP TRIGGER accounts_audit ON accounts;

-- a CHECK constraint of the table still fires
ALTER TABLE accounts ADD CONSTRAINT accounts_cap CHECK (balance <= 250);
SELECT * FROM tg_try($$SELECT * FROM transfer('accounts', 3, 2, 100)$$);
ALTER TABLE accounts DROP CONSTRAINT accounts_cap;
-- a BEFORE trigger that changes the new value: the stored value is returned
CREATE FUNCTION fee() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.balance > OLD.balance THEN NEW.balance := NEW.balance - 1; END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER accounts_fee BEFORE UPDATE ON accounts
	FOR EACH ROW EXECUTE FUNCTION fee();
SELECT from_balance, to_balance FROM transfer('accounts', 3, 2, 10);
DROP TRIGGER accounts_fee ON accounts;
-- a BEFORE trigger that skips the update: both rows or neither
CREATE FUNCTION skip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.id = 2 THEN RETURN NULL; END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER accounts_skip BEFORE UPDATE ON accounts
	FOR EACH ROW EXECUTE FUNCTION skip();
SELECT * FROM tg_try($$SELECT * FROM transfer('accounts', 1, 2, 1)$$);
DROP TRIGGER accounts_skip ON accounts;
SELECT * FROM accounts ORDER BY id;

-- foreign keys: a referencing row keeps working (the key is never updated)
CREATE TABLE orders (id int PRIMARY KEY, account bigint REFERENCES accounts);
INSERT INTO orders VALUES (1, 1);
SELECT from_balance, to_balance FROM transfer('accounts', 1, 2, 1);

-- a guarded partitioned table
CREATE TABLE parts (id int PRIMARY KEY, balance int NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE parts_lo PARTITION OF parts FOR VALUES FROM (0) TO (100);
CREATE TABLE parts_hi PARTITION OF parts FOR VALUES FROM (100) TO (200);
INSERT INTO parts VALUES (1, 10), (150, 10);
SELECT guard('parts', 'balance');
SELECT from_balance, to_balance FROM transfer('parts', 1, 150, 10);
SELECT from_balance, to_balance FROM transfer('parts', 150, 1, 20);
SELECT tableoid::regclass, * FROM parts ORDER BY id;

-- a table changed between two calls in one session: the cached plans follow
ALTER TABLE accounts ADD COLUMN extra int;
SELECT from_balance, to_balance FROM transfer('accounts', 2, 1, 1);
ALTER TABLE accounts DROP COLUMN extra;
ALTER TABLE accounts RENAME TO accounts2;
SELECT from_balance, to_balance FROM transfer('accounts2', 2, 1, 1);
ALTER TABLE accounts2 RENAME TO accounts;
ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(20,2);
SELECT from_balance, to_balance FROM transfer('accounts', 2, 1, 0.5);
SELECT from_balance, to_balance FROM transfer('accounts', 1, 2, 0.5);
ALTER TABLE accounts ALTER COLUMN balance TYPE text;
SELECT * FROM tg_try($$SELECT * FROM transfer('accounts', 2, 1, 1)$$);
ALTER TABLE accounts ALTER COLUMN balance TYPE bigint USING balance::numeric::bigint;
SELECT from_balance, to_balance FROM transfer('accounts', 2, 1, 1);
-- altered inside a transaction that already used it: the old cache entry
-- is retired, and freed only once no statement can point to it (in a new
-- session, so that this table's entry is the only one)
\c -
BEGIN;
SELECT from_balance, to_balance FROM transfer('accounts', 2, 1, 1);
ALTER TABLE accounts ADD COLUMN note text;
DO $$
BEGIN
	FOR i IN 1..3 LOOP
		PERFORM transfer('accounts', 1, 2, 1);
		PERFORM repeat('x', 1000) FROM generate_series(1, 1000);
	END LOOP;
END $$;
SELECT from_balance, to_balance FROM transfer('accounts', 2, 1, 1);
COMMIT;
SELECT from_balance, to_balance FROM transfer('accounts', 2, 1, 1);
ALTER TABLE accounts DROP COLUMN note;
SELECT unguard('accounts', 'balance');
SELECT * FROM tg_try($$SELECT * FROM transfer('accounts', 2, 1, 1)$$);
SELECT guard('accounts', 'balance');

DROP TABLE orders, players, shop, parts;
DROP SCHEMA audit_s CASCADE;
DROP FUNCTION fee(), skip();
