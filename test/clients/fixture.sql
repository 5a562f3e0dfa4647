--
-- test/clients/fixture.sql -- the tables the driver suites (psycopg, asyncpg,
-- node) work on, loaded by run.sh into each suite's own database.
--
-- Each table serves one group of cases of errors.json or the concurrent
-- workload; the tests reset the rows they change.
--
CREATE EXTENSION transfer_guard;

-- the concurrent workload and most error cases: floor 0, bigint keys
CREATE TABLE accounts (id bigint PRIMARY KEY, balance integer NOT NULL);
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 8) g;
INSERT INTO accounts VALUES (40000, 100), (3000000000, 100);
SELECT guard('accounts', 'balance');

-- the bot scenario: object1.field1 of one row into object2.field2 of another
CREATE TABLE object1 (id integer PRIMARY KEY, field1 integer NOT NULL);
CREATE TABLE object2 (id integer PRIMARY KEY, field2 integer NOT NULL);
INSERT INTO object1 SELECT g, 100 FROM generate_series(1, 4) g;
INSERT INTO object2 SELECT g, 0 FROM generate_series(1, 4) g;
SELECT guard('object1', 'field1');
SELECT guard('object2', 'field2');

-- a ceiling: gems between 0 and 100
CREATE TABLE capped (id integer PRIMARY KEY, gems integer NOT NULL);
INSERT INTO capped VALUES (1, 50), (2, 90);
SELECT guard('capped', 'gems', 0, 100);

-- two guarded columns (coins, gems) and one that is not (xp)
CREATE TABLE players (id integer PRIMARY KEY, coins integer NOT NULL,
					  gems integer NOT NULL, xp integer NOT NULL);
INSERT INTO players VALUES (1, 10, 10, 0), (2, 10, 10, 0);
SELECT guard('players', 'coins');
SELECT guard('players', 'gems');

-- a smallint column, for amounts and results out of its range
CREATE TABLE small (id integer PRIMARY KEY, balance smallint NOT NULL);
INSERT INTO small VALUES (1, 100), (2, 32700);
SELECT guard('small', 'balance', NULL, NULL);

-- a numeric balance stored as NaN, and a NULL balance
CREATE TABLE odd (id integer PRIMARY KEY, balance numeric);
INSERT INTO odd VALUES (1, 'NaN'), (2, 10), (3, NULL);
SELECT guard('odd', 'balance', NULL, NULL);

-- a BEFORE UPDATE trigger that skips the update of row 2
CREATE TABLE skipping (id integer PRIMARY KEY, balance integer NOT NULL);
INSERT INTO skipping VALUES (1, 10), (2, 10);
CREATE FUNCTION skip_row_2() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 2 THEN
		RETURN NULL;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER skip_row_2 BEFORE UPDATE ON skipping
	FOR EACH ROW EXECUTE FUNCTION skip_row_2();
SELECT guard('skipping', 'balance');

-- for guard() refusals: no usable key, a view
CREATE TABLE keyless (a integer, balance integer);
CREATE VIEW accounts_view AS SELECT * FROM accounts;

-- a role with no privilege on the tables (cluster-wide, so it may exist
-- already from another suite's database)
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tg_clients_nobody') THEN
		CREATE ROLE tg_clients_nobody;
	END IF;
END;
$$;
