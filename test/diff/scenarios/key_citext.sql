-- claim: citext keys given in another case reach the rows, as WHERE id = 'ALICE' does; the journal records the row's key
-- role: tgd_alice
-- @setup
CREATE TABLE t (id citext PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES ('Alice', 100), ('Bob', 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 'ALICE'::citext, 'bob'::citext, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN ('ALICE', 'bob') ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 'ALICE' AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 'bob' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
