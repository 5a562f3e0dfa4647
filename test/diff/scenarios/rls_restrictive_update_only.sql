-- claim: a restrictive UPDATE-only policy hides row 2 from updates, not from reads: not found (P0002), for both
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL, holder name NOT NULL);
INSERT INTO t VALUES (1, 100, 'tgd_alice'), (2, 50, 'tgd_bob'), (3, 70, 'tgd_alice');
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice, tgd_bypass;
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON t USING (true);
CREATE POLICY no_two ON t AS RESTRICTIVE FOR UPDATE USING (id <> 2);
-- @ext
SELECT * FROM transfer('t', 1, 2, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
