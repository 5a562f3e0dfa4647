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
