-- claim: a FOR ALL policy on the holder lets alice move between her own rows, for both
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL, holder name NOT NULL);
INSERT INTO t VALUES (1, 100, 'tgd_alice'), (2, 50, 'tgd_bob'), (3, 70, 'tgd_alice');
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice, tgd_bypass;
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON t USING (holder = current_user);
-- @ext
SELECT * FROM transfer('t', 1, 3, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 3) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 3 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
