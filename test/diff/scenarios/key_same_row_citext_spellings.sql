-- claim: from 'ALICE' to 'alice' is one citext row: refused as from = to (22023), where the client's two UPDATEs of the row succeed (documented)
-- role: tgd_alice
-- @setup
CREATE TABLE t (id citext PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES ('Alice', 100), ('Bob', 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 'ALICE'::citext, 'alice'::citext, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM t WHERE id IN ('ALICE', 'alice') ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 'ALICE' AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 'alice' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
