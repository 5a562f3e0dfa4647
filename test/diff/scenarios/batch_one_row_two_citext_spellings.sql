-- claim: a batch debiting citext row 'Alice' in two legs, spelled 'ALICE' and 'alice': both debits land on the one row, as the client's statements do
-- role: tgd_alice
-- @setup
CREATE TABLE t (id citext PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES ('Alice', 100), ('Bob', 0), ('Carol', 0);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer_batch('[{"from_table": "t", "from_key": "ALICE", "to_key": "bob", "amount": 30}, {"from_table": "t", "from_key": "alice", "to_key": "carol", "amount": 30}]');
-- @plain
BEGIN;
SELECT tgd.found(count(*), 3) FROM (SELECT FROM t WHERE id IN ('ALICE', 'bob', 'carol') ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 30 WHERE id = 'ALICE' AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30 WHERE id = 'bob' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance - 30 WHERE id = 'alice' AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30 WHERE id = 'carol' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
