-- claim: a credit past integer's range fails with 22003, as the UPDATE's integer addition does
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 2147483600);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1, 2, 100);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 100 WHERE id = 1 AND balance - 100 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 100 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
