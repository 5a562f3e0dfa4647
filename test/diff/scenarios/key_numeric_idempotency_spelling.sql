-- claim: a request replayed with the key spelled 1.00 instead of 1.0 is the same request (keys compared after conversion): it moves nothing, and the client moves once
-- role: tgd_alice
-- @setup
CREATE TABLE t (id numeric PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1.00, 100), (2.00, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1.0, 2.0, 10, idempotency_key => 'order-1');
SELECT * FROM transfer('t', 1.00, 2.00, 10, idempotency_key => 'order-1');
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1.0, 2.0) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1.0 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 2.0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
