-- claim: with FORCE ROW LEVEL SECURITY the owner is subject to the policies: not found (P0002), for both
-- role: tgd_owner
-- @setup
SET ROLE tgd_owner;
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL, holder name NOT NULL);
INSERT INTO t VALUES (1, 100, 'tgd_owner'), (2, 50, 'tgd_bob');
SELECT guard('t', 'balance');
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON t USING (holder = current_user);
ALTER TABLE t FORCE ROW LEVEL SECURITY;
-- @ext
SELECT * FROM transfer('t', 1, 2, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
