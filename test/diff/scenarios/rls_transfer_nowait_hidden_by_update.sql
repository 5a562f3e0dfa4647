-- claim: transfer() with nowait: a row hidden by the UPDATE policy (locked by nobody) is not found (P0002), as the client's locked count says, not busy
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL, holder name NOT NULL);
INSERT INTO t VALUES (1, 100, 'tgd_alice'), (2, 50, 'tgd_bob'), (3, 70, 'tgd_alice');
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY sel ON t FOR SELECT USING (true);
CREATE POLICY upd ON t FOR UPDATE USING (holder = current_user);
-- @ext
SELECT * FROM transfer('t', 1, 2, 10, nowait => true);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE NOWAIT) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
