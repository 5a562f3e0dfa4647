-- claim: a foreign key on the balance column itself refuses a balance its table lacks (23503), for both
-- role: tgd_alice
-- @setup
CREATE TABLE levels (amount numeric PRIMARY KEY);
INSERT INTO levels VALUES (0), (50), (100), (70), (80);
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL REFERENCES levels);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1, 2, 25);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 25 WHERE id = 1 AND balance - 25 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 25 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
