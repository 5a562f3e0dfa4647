-- claim: several transfers in one transaction, then a refused one, roll back together as the statements do
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50), (3, 0);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
BEGIN;
SELECT * FROM transfer('t', 1, 2, 30);
SELECT * FROM transfer('t', 2, 3, 70);
COMMIT;
BEGIN;
SELECT * FROM transfer('t', 3, 1, 50);
SELECT * FROM transfer('t', 3, 1, 50);
COMMIT;
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 30 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (2, 3) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 70 WHERE id = 2 AND balance - 70 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 70 WHERE id = 3 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (3, 1) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 50 WHERE id = 3 AND balance - 50 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 50 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (3, 1) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 50 WHERE id = 3 AND balance - 50 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 50 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
