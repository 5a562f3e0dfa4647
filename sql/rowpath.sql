--
-- rowpath: tables locked and updated without SQL statements (the row path)
-- keep every behaviour of a plain UPDATE: constraints, domains, typmods,
-- version columns, AFTER ROW triggers, and the composition with code the
-- call itself runs.  transfer_guard.row_path = off sends every table through
-- the statements, for comparison.
--
CREATE TABLE r_acc (id int PRIMARY KEY, balance numeric(12,2) NOT NULL,
					version int2, CHECK (balance <= 1000));
INSERT INTO r_acc VALUES (1, 100, 0), (2, 950, NULL), (3, 100, 32766);
SELECT guard('r_acc', 'balance', version_column => 'version');
SHOW transfer_guard.row_path;

-- the typmod's scale is kept; a version goes up by one, a NULL one stays NULL
SELECT from_balance, to_balance FROM transfer('r_acc', 1, 2, 2.5);
SELECT * FROM r_acc ORDER BY id;
-- the table's CHECK constraint still applies (no guard ceiling is set)
SELECT * FROM tg_try($$SELECT * FROM transfer('r_acc', 1, 2, 50)$$);
-- a version column reaching the top of its type: the next transfer is out
-- of range, and nothing moves
SELECT * FROM tg_try($$SELECT * FROM transfer('r_acc', 3, 1, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('r_acc', 3, 1, 1)$$);
SELECT * FROM r_acc ORDER BY id;

-- a domain's constraint is checked on the new value
CREATE DOMAIN r_small AS bigint CHECK (VALUE < 500);
CREATE TABLE r_dom (id int PRIMARY KEY, balance r_small NOT NULL);
INSERT INTO r_dom VALUES (1, 300), (2, 300);
SELECT guard('r_dom', 'balance');
SELECT * FROM tg_try($$SELECT * FROM transfer('r_dom', 1, 2, 250)$$);
SELECT from_balance, to_balance FROM transfer('r_dom', 1, 2, 150);
SELECT * FROM r_dom ORDER BY id;

-- AFTER ROW triggers fire once per changed row, with OLD and NEW, also
-- those limited to the balance column.  On the row path they fire when
-- both rows are updated (as for one UPDATE of both rows), so each sees the
-- other row changed; through the statements (one UPDATE per row) the first
-- fires before the second row changes.
CREATE TABLE r_log (n serial, id int, old_balance numeric, new_balance numeric,
					other_balance numeric);
CREATE FUNCTION r_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO r_log (id, old_balance, new_balance, other_balance)
	SELECT NEW.id, OLD.balance, NEW.balance,
		   (SELECT balance FROM r_acc WHERE id = 3 - NEW.id);
	RETURN NULL;
END $$;
CREATE TRIGGER r_audit AFTER UPDATE OF balance ON r_acc
	FOR EACH ROW EXECUTE FUNCTION r_audit();
SELECT from_balance, to_balance FROM transfer('r_acc', 1, 2, 10);
SET transfer_guard.row_path = off;
SELECT from_balance, to_balance FROM transfer('r_acc', 1, 2, 10);
RESET transfer_guard.row_path;
SELECT id, old_balance, new_balance, other_balance FROM r_log ORDER BY n;
DROP TRIGGER r_audit ON r_acc;

-- a deferred constraint trigger is queued by the row path and fires at
-- commit, as for a plain UPDATE: an odd balance is refused only then
CREATE TABLE r_def (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO r_def VALUES (1, 10), (2, 10);
SELECT guard('r_def', 'balance');
CREATE FUNCTION r_no_odd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT balance FROM r_def WHERE id = NEW.id) % 2 <> 0 THEN
		RAISE EXCEPTION 'odd balance in row %', NEW.id USING ERRCODE = 'check_violation';
	END IF;
	RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER r_no_odd AFTER UPDATE ON r_def
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION r_no_odd();
BEGIN;
SELECT from_balance, to_balance FROM transfer('r_def', 1, 2, 1);
SELECT from_balance, to_balance FROM transfer('r_def', 1, 2, 1);
COMMIT;
BEGIN;
SELECT from_balance, to_balance FROM transfer('r_def', 1, 2, 1);
COMMIT;
SELECT * FROM r_def ORDER BY id;

-- code the call runs between locking and updating (here a CHECK
-- constraint's function) may move a row the call has locked but not yet
-- updated: the row path then updates that row with a statement, adding to
-- its newest value, and the floor is checked on what was stored
CREATE TABLE r_nest (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO r_nest VALUES (1, 100), (2, 100), (3, 100);
SELECT guard('r_nest', 'balance');
CREATE FUNCTION r_meddle(id int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	IF id = 1 AND current_setting('r.meddle', true) = 'on' THEN
		SET LOCAL r.meddle = 'off';
		PERFORM transfer('r_nest', 2, 3, 60);
	END IF;
	RETURN true;
END $$;
ALTER TABLE r_nest ADD CHECK (r_meddle(id));
BEGIN;
SET LOCAL r.meddle = 'on';
SELECT from_balance, to_balance FROM transfer('r_nest', 2, 1, 30);
SELECT * FROM r_nest ORDER BY id;
ROLLBACK;
BEGIN;
SET LOCAL r.meddle = 'on';
SELECT * FROM tg_try($$SELECT * FROM transfer('r_nest', 2, 1, 50)$$);
ROLLBACK;
SELECT * FROM r_nest ORDER BY id;

-- the version column needs the caller's privileges too
CREATE ROLE regress_tg_rowpath;
GRANT SELECT (id, balance), UPDATE (balance) ON r_acc TO regress_tg_rowpath;
SET ROLE regress_tg_rowpath;
SELECT * FROM tg_try($$SELECT * FROM transfer('r_acc', 1, 2, 1)$$);
RESET ROLE;
GRANT SELECT (version), UPDATE (version) ON r_acc TO regress_tg_rowpath;
SET ROLE regress_tg_rowpath;
SELECT * FROM tg_try($$SELECT * FROM transfer('r_acc', 1, 2, 2)$$);
RESET ROLE;
REVOKE ALL ON r_acc FROM regress_tg_rowpath;
DROP ROLE regress_tg_rowpath;

DROP TABLE r_acc, r_dom, r_log, r_nest, r_def;
DROP DOMAIN r_small;
DROP FUNCTION r_audit(), r_no_odd(), r_meddle(int);

-- what else a plain UPDATE does, each on both paths (row path first)
CREATE FUNCTION r_both(stmt text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY SELECT 'row path: ' || t FROM tg_try(stmt) AS t;
	SET LOCAL transfer_guard.row_path = off;
	RETURN QUERY SELECT 'statements: ' || t FROM tg_try(stmt) AS t;
	SET LOCAL transfer_guard.row_path = on;
END $$;

-- a stored generated column is computed again from the new balance (such
-- a table takes the statements)
CREATE TABLE r_gen (id int PRIMARY KEY, balance bigint NOT NULL,
					cents bigint GENERATED ALWAYS AS (balance * 100) STORED);
INSERT INTO r_gen VALUES (1, 100), (2, 100);
SELECT guard('r_gen', 'balance');
SELECT * FROM r_both($$SELECT transfer('r_gen', 1, 2, 10)$$);
SELECT * FROM r_gen ORDER BY id;

-- a CHECK constraint on tableoid, and a dropped column
CREATE TABLE r_oid (id int PRIMARY KEY, gone text, balance bigint NOT NULL,
					CHECK (tableoid = 'r_oid'::regclass));
INSERT INTO r_oid VALUES (1, 'x', 100), (2, 'y', 100);
ALTER TABLE r_oid DROP COLUMN gone;
SELECT guard('r_oid', 'balance');
SELECT * FROM r_both($$SELECT transfer('r_oid', 1, 2, 10)$$);
SELECT * FROM r_oid ORDER BY id;

-- "AFTER UPDATE OF b" fires for the row whose b the call set, not for the
-- row whose a it set
CREATE TABLE r_two (id int PRIMARY KEY, a bigint NOT NULL, b bigint NOT NULL);
INSERT INTO r_two VALUES (1, 100, 100), (2, 100, 100);
SELECT guard('r_two', 'a'), guard('r_two', 'b');
CREATE TABLE r_fired (n serial, id int);
CREATE FUNCTION r_fired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO r_fired (id) VALUES (NEW.id);
	RETURN NULL;
END $$;
CREATE TRIGGER r_of_b AFTER UPDATE OF b ON r_two
	FOR EACH ROW EXECUTE FUNCTION r_fired();
SELECT * FROM r_both($$SELECT transfer('r_two', 1, 2, 10, balance_column => 'a', to_column => 'b')$$);
SELECT id FROM r_fired ORDER BY n;

-- "AFTER UPDATE OF version" fires for a row whose version is NULL too:
-- "version = version + 1" sets it (to NULL)
CREATE TABLE r_ver (id int PRIMARY KEY, balance bigint NOT NULL, version int);
INSERT INTO r_ver VALUES (1, 100, NULL), (2, 100, 7);
SELECT guard('r_ver', 'balance', version_column => 'version');
CREATE TRIGGER r_of_version AFTER UPDATE OF version ON r_ver
	FOR EACH ROW EXECUTE FUNCTION r_fired();
DELETE FROM r_fired;
SELECT * FROM r_both($$SELECT transfer('r_ver', 1, 2, 10)$$);
SELECT id FROM r_fired ORDER BY n;
SELECT * FROM r_ver ORDER BY id;

-- a constraint's function moves a row the call has read but not written:
-- the table's CHECK is judged on the row's newest value, not the old one
CREATE TABLE r_cap (id int PRIMARY KEY, balance bigint NOT NULL,
					CHECK (balance <= 1000));
INSERT INTO r_cap VALUES (1, 100), (2, 990), (3, 0);
SELECT guard('r_cap', 'balance');
CREATE FUNCTION r_meddle_cap(id int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	IF id = 1 AND current_setting('r.meddle', true) = 'on' THEN
		SET LOCAL r.meddle = 'off';
		PERFORM transfer('r_cap', 2, 3, 50);
	END IF;
	RETURN true;
END $$;
ALTER TABLE r_cap ADD CHECK (r_meddle_cap(id));
BEGIN;
SET LOCAL r.meddle = 'on';
SELECT from_balance, to_balance FROM transfer('r_cap', 1, 2, 20);
SELECT * FROM r_cap ORDER BY id;
ROLLBACK;
BEGIN;
SET LOCAL r.meddle = 'on';
SET LOCAL transfer_guard.row_path = off;
SELECT from_balance, to_balance FROM transfer('r_cap', 1, 2, 20);
ROLLBACK;

-- a table published without a replica identity: an update is refused
-- (55000), but only an update: a refusal for want of funds comes first
CREATE TABLE r_pub (id int NOT NULL, balance bigint NOT NULL);
CREATE UNIQUE INDEX r_pub_id ON r_pub (id);
INSERT INTO r_pub VALUES (1, 100), (2, 100);
SELECT guard('r_pub', 'balance');
SET client_min_messages = error;
CREATE PUBLICATION r_pub_p FOR TABLE r_pub;
RESET client_min_messages;
SELECT status FROM try_transfer('r_pub', 1, 2, 1000);
SET transfer_guard.row_path = off;
SELECT status FROM try_transfer('r_pub', 1, 2, 1000);
RESET transfer_guard.row_path;
SELECT * FROM r_both($$SELECT transfer('r_pub', 1, 2, 1)$$);
DROP PUBLICATION r_pub_p;

DROP TABLE r_gen, r_oid, r_two, r_fired, r_cap, r_pub, r_ver;
DROP FUNCTION r_both(text), r_fired(), r_meddle_cap(int);

-- a table through the statements (row-level security applies to the
-- caller) and one on the row path in one call, where the first table's
-- policy function updates the second table's row while rows are read and
-- updated: the row path sees and locks what a statement would, in either
-- lock order (r_mix_lo's OID sorts before r_mix_sec's, r_mix_hi's after),
-- with the results of transfer_guard.row_path = off
CREATE ROLE regress_tg_mix;
CREATE TABLE r_mix_lo (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE r_mix_sec (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE r_mix_hi (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT 'r_mix_lo'::regclass::oid < 'r_mix_sec'::regclass::oid
   AND 'r_mix_sec'::regclass::oid < 'r_mix_hi'::regclass::oid AS oids_ordered;
INSERT INTO r_mix_lo VALUES (1, 100), (2, 100);
INSERT INTO r_mix_sec VALUES (1, 100), (2, 100);
INSERT INTO r_mix_hi VALUES (1, 100), (2, 100);
SELECT guard('r_mix_lo', 'balance'), guard('r_mix_sec', 'balance'),
	   guard('r_mix_hi', 'balance');
GRANT SELECT, UPDATE ON r_mix_lo, r_mix_sec, r_mix_hi TO regress_tg_mix;
-- adds 1 to row 1 of the table named by r.meddle at every evaluation
CREATE FUNCTION r_mix_meddle(id int) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
BEGIN
	IF coalesce(current_setting('r.meddle', true), '') <> '' THEN
		EXECUTE format('UPDATE %I SET balance = balance + 1 WHERE id = 1',
					   current_setting('r.meddle'));
	END IF;
	RETURN true;
END $$;
ALTER TABLE r_mix_sec ENABLE ROW LEVEL SECURITY;
CREATE POLICY r_mix_all ON r_mix_sec USING (r_mix_meddle(id));
-- each call twice: on the row path, then with every table on statements
CREATE FUNCTION r_mix(meddle text, stmt text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	path text;
	r text;
BEGIN
	FOREACH path IN ARRAY ARRAY['on', 'off'] LOOP
		PERFORM set_config('transfer_guard.row_path', path, true);
		PERFORM set_config('r.meddle', meddle, true);
		BEGIN
			FOR r IN SELECT * FROM tg_try(stmt) LOOP
				RETURN NEXT 'row_path ' || path || ': ' || r;
			END LOOP;
			PERFORM set_config('r.meddle', '', true);
			RETURN NEXT 'row_path ' || path || ': lo '
				|| (SELECT string_agg(balance::text, ' ' ORDER BY id) FROM r_mix_lo)
				|| ', sec '
				|| (SELECT string_agg(balance::text, ' ' ORDER BY id) FROM r_mix_sec)
				|| ', hi '
				|| (SELECT string_agg(balance::text, ' ' ORDER BY id) FROM r_mix_hi);
			RAISE EXCEPTION 'undo' USING ERRCODE = 'TGX01';
		EXCEPTION WHEN SQLSTATE 'TGX01' THEN
			NULL;
		END;
	END LOOP;
	PERFORM set_config('transfer_guard.row_path', 'on', true);
END $$;
GRANT EXECUTE ON FUNCTION r_mix(text, text) TO regress_tg_mix;
SET ROLE regress_tg_mix;
-- the statements' table first in the order, then the row path's
SELECT * FROM r_mix('r_mix_hi', $$SELECT transfer('r_mix_sec', 1, 1, 10, to_table => 'r_mix_hi')$$);
SELECT * FROM r_mix('r_mix_hi', $$SELECT transfer('r_mix_hi', 1, 1, 10, to_table => 'r_mix_sec')$$);
SELECT * FROM r_mix('r_mix_hi', $$SELECT status FROM try_transfer('r_mix_sec', 1, 1, 10, to_table => 'r_mix_hi')$$);
SELECT * FROM r_mix('r_mix_hi', $$SELECT status FROM try_transfer('r_mix_sec', 1, 1, 10, to_table => 'r_mix_hi', nowait => true)$$);
SELECT * FROM r_mix('r_mix_hi', $$SELECT transfer('r_mix_sec', 1, 1, 10, to_table => 'r_mix_hi', nowait => true)$$);
-- the row path's table first, then the statements'
SELECT * FROM r_mix('r_mix_lo', $$SELECT transfer('r_mix_sec', 1, 1, 10, to_table => 'r_mix_lo')$$);
SELECT * FROM r_mix('r_mix_lo', $$SELECT transfer('r_mix_lo', 1, 1, 10, to_table => 'r_mix_sec')$$);
SELECT * FROM r_mix('r_mix_lo', $$SELECT status FROM try_transfer('r_mix_lo', 1, 1, 10, to_table => 'r_mix_sec', nowait => true)$$);
-- both, in a batch: row path, statements, row path
SELECT * FROM r_mix('r_mix_hi', $$SELECT count(*) FROM transfer_batch('[
	{"from_table": "r_mix_lo", "from_key": 1, "to_table": "r_mix_sec", "to_key": 2, "amount": 10},
	{"from_table": "r_mix_sec", "from_key": 1, "to_table": "r_mix_hi", "to_key": 1, "amount": 5},
	{"from_table": "r_mix_hi", "from_key": 2, "to_table": "r_mix_lo", "to_key": 2, "amount": 3}]')$$);
SELECT * FROM r_mix('r_mix_lo', $$SELECT count(*) FROM transfer_batch('[
	{"from_table": "r_mix_lo", "from_key": 1, "to_table": "r_mix_sec", "to_key": 2, "amount": 10},
	{"from_table": "r_mix_sec", "from_key": 1, "to_table": "r_mix_hi", "to_key": 1, "amount": 5},
	{"from_table": "r_mix_hi", "from_key": 2, "to_table": "r_mix_lo", "to_key": 1, "amount": 3}]')$$);
-- REPEATABLE READ: the table read after the statements sees their changes
-- too (the transaction's snapshot, with a later command id)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM r_mix('r_mix_hi', $$SELECT transfer('r_mix_sec', 1, 1, 10, to_table => 'r_mix_hi')$$);
SELECT * FROM r_mix('r_mix_lo', $$SELECT transfer('r_mix_sec', 1, 1, 10, to_table => 'r_mix_lo')$$);
COMMIT;
RESET ROLE;
SELECT * FROM r_mix_lo ORDER BY id;
SELECT * FROM r_mix_hi ORDER BY id;
DROP TABLE r_mix_lo, r_mix_sec, r_mix_hi;
DROP FUNCTION r_mix(text, text), r_mix_meddle(int);
DROP ROLE regress_tg_mix;
