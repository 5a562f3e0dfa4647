--
-- try_transfer: business outcomes come back as a status, not an error;
-- invalid arguments still raise.
--
CREATE TABLE t_acc (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO t_acc VALUES (1, 100), (2, 0), (3, 95);
SELECT guard('t_acc', 'balance', 0, 100);

-- ok: moved, with the transfer id and the balances after
SELECT status, transfer_id IS NOT NULL AS has_id, from_balance, to_balance
  FROM try_transfer('t_acc', 1, 2, 10);
-- insufficient_funds: nothing moved, the current balances reported
SELECT status, transfer_id, from_balance, to_balance
  FROM try_transfer('t_acc', 2, 1, 11);
-- limit_exceeded: the ceiling of the destination
SELECT status, transfer_id, from_balance, to_balance
  FROM try_transfer('t_acc', 1, 3, 6);
-- not_found: on either side, and for a row hidden by a policy
SELECT status, transfer_id, from_balance, to_balance
  FROM try_transfer('t_acc', 9, 1, 1);
SELECT status FROM try_transfer('t_acc', 1, 9, 1);
-- busy needs another session: see the isolation tests
-- nowait with no lock held is simply ok
SELECT status FROM try_transfer('t_acc', 1, 2, 1, nowait => true);
SELECT * FROM t_acc ORDER BY id;

-- the untyped-parameter overload
PREPARE try_untyped AS SELECT status FROM try_transfer($1, $2, $3, $4);
EXECUTE try_untyped('t_acc', 1, 2, 1);
EXECUTE try_untyped('t_acc', 1, 2, 1000);
DEALLOCATE try_untyped;

-- a status is not an error: the caller's transaction goes on, and in
-- PL/pgSQL no exception block (no subtransaction) is needed to go on
DO $$
DECLARE
	r record;
	counts jsonb := '{}';
BEGIN
	FOR i IN 1..30 LOOP
		SELECT * INTO r FROM try_transfer('t_acc', 1 + i % 3, 1 + (i + 1) % 3, i * 7);
		counts := jsonb_set(counts, ARRAY[r.status],
							to_jsonb(coalesce((counts ->> r.status)::int, 0) + 1));
	END LOOP;
	RAISE NOTICE 'outcomes: %', counts;
END $$;
SELECT sum(balance) AS total, min(balance) >= 0 AS floor_kept,
	   max(balance) <= 100 AS ceiling_kept FROM t_acc;

-- invalid arguments still raise the errors of transfer()
SELECT * FROM tg_try($$SELECT * FROM try_transfer(NULL, 1, 2, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_acc', 1, NULL, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_acc', 1, 2, 0)$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_acc', 1, 2, 'NaN')$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_acc', 1, 2, 0.5)$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_acc', 1, 1, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_acc', 1, 2, 1e10)$$);
CREATE TABLE t_plain (id int PRIMARY KEY, balance int NOT NULL);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_plain', 1, 2, 1)$$);
-- the type's range is not a business limit: still an error
CREATE TABLE t_small (id int PRIMARY KEY, balance smallint NOT NULL);
INSERT INTO t_small VALUES (1, 10), (2, 32767);
SELECT guard('t_small', 'balance', 0, NULL);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_small', 1, 2, 1)$$);

-- privileges and row-level security apply as for transfer()
CREATE ROLE regress_tg_try;
SET ROLE regress_tg_try;
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_acc', 1, 2, 1)$$);
RESET ROLE;
GRANT SELECT, UPDATE ON t_acc TO regress_tg_try;
ALTER TABLE t_acc ENABLE ROW LEVEL SECURITY;
CREATE POLICY t_hide3 ON t_acc USING (id <> 3);
SET ROLE regress_tg_try;
SELECT status FROM try_transfer('t_acc', 1, 3, 1);
SELECT status FROM try_transfer('t_acc', 1, 2, 1);
RESET ROLE;
ALTER TABLE t_acc DISABLE ROW LEVEL SECURITY;
DROP POLICY t_hide3 ON t_acc;
REVOKE ALL ON t_acc FROM regress_tg_try;
DROP ROLE regress_tg_try;

DROP TABLE t_acc, t_plain, t_small;

-- nowait and a row the caller may read but not update (an UPDATE policy
-- hides it from a locking read): not_found, as without nowait and as a
-- plain UPDATE of the row (0 rows), never busy, which a client would retry
-- forever.  The locked and hidden case is in the isolation spec
-- try_busy_policy.
CREATE ROLE regress_tg_try_a;
CREATE TABLE t_owned (id int PRIMARY KEY, balance int NOT NULL, owner name NOT NULL);
INSERT INTO t_owned VALUES (1, 100, 'regress_tg_try_a'), (2, 100, 'someone_else'),
	(3, 100, 'regress_tg_try_a');
SELECT guard('t_owned', 'balance');
GRANT SELECT, UPDATE ON t_owned TO regress_tg_try_a;
ALTER TABLE t_owned ENABLE ROW LEVEL SECURITY;
CREATE POLICY t_see ON t_owned FOR SELECT USING (true);
CREATE POLICY t_mine ON t_owned FOR UPDATE USING (owner = current_user);
SET ROLE regress_tg_try_a;
SELECT id FROM t_owned ORDER BY id;
WITH u AS (UPDATE t_owned SET balance = balance WHERE id = 2 RETURNING id)
SELECT count(*) AS updated FROM u;
SELECT status FROM try_transfer('t_owned', 1, 2, 5);
SELECT status FROM try_transfer('t_owned', 1, 2, 5, nowait => true);
SELECT status FROM try_transfer('t_owned', 2, 1, 5, nowait => true);
SELECT * FROM tg_try($$SELECT * FROM transfer('t_owned', 1, 2, 5, nowait => true)$$);
SELECT status, from_balance, to_balance
  FROM try_transfer('t_owned', 1, 3, 5, nowait => true);
RESET ROLE;
SELECT * FROM t_owned ORDER BY id;
-- telling busy from not_found runs the locking read again, in a
-- subtransaction of its own: an error there other than 55P03 is raised as
-- it is, and the caller's transaction (here with PL/pgSQL's exception
-- block around the call) goes on
DROP POLICY t_mine ON t_owned;
CREATE FUNCTION t_second_look(id int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	IF id <> 2 THEN
		RETURN true;
	END IF;
	IF current_setting('t.looked', true) = 'yes' THEN
		RAISE EXCEPTION 'row % looked at twice', id;
	END IF;
	PERFORM set_config('t.looked', 'yes', true);
	RETURN false;
END $$;
CREATE POLICY t_look ON t_owned FOR UPDATE USING (t_second_look(id));
SET ROLE regress_tg_try_a;
BEGIN;
SELECT * FROM tg_try($$SELECT * FROM try_transfer('t_owned', 1, 2, 5, nowait => true)$$);
SELECT status, from_balance, to_balance
  FROM try_transfer('t_owned', 3, 1, 5, nowait => true);
COMMIT;
RESET ROLE;
SELECT * FROM t_owned ORDER BY id;
DROP TABLE t_owned;
DROP FUNCTION t_second_look(int);
DROP ROLE regress_tg_try_a;
