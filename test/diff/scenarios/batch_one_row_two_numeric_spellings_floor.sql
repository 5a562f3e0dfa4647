-- claim: a batch debiting row 1.00 in two legs, spelled 1.0 and 1.00, more than it holds: the second leg is judged on what the first left (23514), as the client's statements judge it
-- role: tgd_alice
-- @setup
CREATE TABLE t (id numeric PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1.00, 50), (2.00, 0), (3.00, 0);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer_batch('[{"from_table": "t", "from_key": 1.0, "to_key": 2.0, "amount": 30}, {"from_table": "t", "from_key": 1.00, "to_key": 3.00, "amount": 30}]');
-- @plain
BEGIN;
SELECT tgd.found(count(*), 3) FROM (SELECT FROM t WHERE id IN (1.0, 2.0, 3.00) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 30 WHERE id = 1.0 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30 WHERE id = 2.0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance - 30 WHERE id = 1.00 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30 WHERE id = 3.00 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
