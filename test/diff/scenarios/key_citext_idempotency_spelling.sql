-- claim: a request replayed with the citext key spelled 'alice' instead of 'ALICE' is the same request (keys compared after conversion, equal in the key's type): it moves nothing; the client moves once
-- role: tgd_alice
-- @setup
CREATE TABLE t (id citext PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES ('Alice', 100), ('Bob', 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 'ALICE'::citext, 'BOB'::citext, 10, idempotency_key => 'order-1');
SELECT * FROM transfer('t', 'alice'::citext, 'bob'::citext, 10, idempotency_key => 'order-1');
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN ('ALICE', 'BOB') ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 'ALICE' AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 'BOB' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
