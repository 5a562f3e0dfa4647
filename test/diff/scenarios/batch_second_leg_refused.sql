-- claim: a batch whose second leg crosses the floor moves nothing (23514), as the client's transaction rolls back
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50), (3, 0);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer_batch($$[
  {"from_table": "t", "from_key": 1, "to_key": 3, "amount": 10},
  {"from_table": "t", "from_key": 2, "to_key": 3, "amount": 70}
]$$);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 3) FROM (SELECT FROM t WHERE id IN (1, 2, 3) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 3 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance - 70 WHERE id = 2 AND balance - 70 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 70 WHERE id = 3 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
