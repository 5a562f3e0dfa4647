-- claim: try_transfer without nowait on a row another transaction holds raises lock_timeout's 55P03 (busy is for nowait only), as the client's lock does
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @hold
SELECT FROM t WHERE id = 1 FOR UPDATE;
-- @ext
SET lock_timeout = '200ms';
SELECT tgd.status(status) FROM try_transfer('t', 1, 2, 10);
-- @plain
SET lock_timeout = '200ms';
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
