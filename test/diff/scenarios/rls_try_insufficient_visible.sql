-- claim: try_transfer under policies that let alice see her rows: insufficient_funds is the WHERE-clause floor's refusal
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL, holder name NOT NULL);
INSERT INTO t VALUES (1, 100, 'tgd_alice'), (2, 50, 'tgd_bob'), (3, 70, 'tgd_alice');
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice, tgd_bypass;
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON t USING (holder = current_user);
-- @ext
SELECT tgd.status(status) FROM try_transfer('t', 3, 1, 80);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (3, 1) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 80 WHERE id = 3 AND balance - 80 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 80 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
