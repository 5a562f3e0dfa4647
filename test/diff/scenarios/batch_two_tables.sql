-- claim: a batch of two independent legs is their two plain transactions in one
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50), (3, 0);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
CREATE TABLE u2 (code text PRIMARY KEY, stock int NOT NULL);
INSERT INTO u2 VALUES ('a', 5), ('b', 0);
SELECT guard('u2', 'stock');
GRANT SELECT, UPDATE ON u2 TO tgd_alice;
-- @ext
SELECT * FROM transfer_batch($$[
  {"from_table": "t", "from_key": 1, "to_key": 3, "amount": 25},
  {"from_table": "u2", "from_key": "a", "to_key": "b", "amount": 5}
]$$);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 3) ORDER BY id FOR NO KEY UPDATE) l;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM u2 WHERE code IN ('a', 'b') ORDER BY code FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 25 WHERE id = 1 AND balance - 25 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 25 WHERE id = 3 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE u2 SET stock = stock - 5 WHERE code = 'a' AND stock - 5 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE u2 SET stock = stock + 5 WHERE code = 'b' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
