-- claim: an UPDATE policy's WITH CHECK refusing the credited balance fails the call (42501), as it fails the credit's UPDATE
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY sel ON t FOR SELECT USING (true);
CREATE POLICY upd ON t FOR UPDATE USING (true) WITH CHECK (balance <= 70);
-- @ext
SELECT * FROM transfer('t', 1, 2, 30);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 30 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
