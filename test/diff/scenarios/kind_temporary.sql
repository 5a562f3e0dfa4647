-- claim: a temporary table cannot be guarded (0A000), while plain SQL moves its balances (documented)
-- role: tgd_alice
-- @setup
-- @ext
CREATE TEMP TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
SELECT * FROM transfer('t', 1, 2, 30);
-- @plain
CREATE TEMP TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 30 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
