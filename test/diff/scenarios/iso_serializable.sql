-- claim: under serializable, after the transaction read the table, a move and a refused move behave as the statements do
-- role: tgd_alice
-- isolation: serializable
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50), (3, 0);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
BEGIN;
SELECT sum(balance) FROM t;
SELECT * FROM transfer('t', 1, 2, 30);
COMMIT;
BEGIN;
SELECT sum(balance) FROM t;
SELECT * FROM transfer('t', 3, 1, 1);
COMMIT;
-- @plain
BEGIN;
SELECT sum(balance) FROM t;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 30 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
BEGIN;
SELECT sum(balance) FROM t;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (3, 1) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 1 WHERE id = 3 AND balance - 1 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 1 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
