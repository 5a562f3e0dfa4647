-- claim: an amount with more decimals than numeric(10,2) keeps is refused (22023); the UPDATE rounds it on assignment (documented)
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric(10,2) NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1, 2, 0.005);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 0.005 WHERE id = 1 AND balance - 0.005 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 0.005 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
