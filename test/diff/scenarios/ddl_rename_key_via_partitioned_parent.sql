-- claim: a guarded partition's key column renamed through its partitioned parent stays its key
-- role: tgd_alice
-- @setup
CREATE TABLE p (id int NOT NULL, balance numeric NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100);
ALTER TABLE p1 ADD PRIMARY KEY (id);
INSERT INTO p VALUES (1, 100), (2, 50);
SELECT guard('p1', 'balance');
GRANT SELECT, UPDATE ON p, p1 TO tgd_alice;
-- @ext
SELECT * FROM transfer('p1', 1, 2, 10);
RESET ROLE;
ALTER TABLE p RENAME COLUMN id TO account;
SET ROLE tgd_alice;
SELECT * FROM transfer('p1', 1, 2, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p1 WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p1 SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p1 SET balance = balance + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
RESET ROLE;
ALTER TABLE p RENAME COLUMN id TO account;
SET ROLE tgd_alice;
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p1 WHERE account IN (1, 2) ORDER BY account FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p1 SET balance = balance - 10 WHERE account = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p1 SET balance = balance + 10 WHERE account = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
