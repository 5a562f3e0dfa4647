-- claim: a guarded partition's column renamed through its partitioned parent keeps its guard under the new name
-- role: tgd_alice
-- @setup
CREATE TABLE p (id int NOT NULL, note text, balance numeric NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100);
ALTER TABLE p1 ADD PRIMARY KEY (id);
INSERT INTO p VALUES (1, 'a', 100), (2, 'b', 50);
SELECT guard('p1', 'balance');
GRANT SELECT, UPDATE ON p, p1 TO tgd_alice;
-- @ext
SELECT * FROM transfer('p1', 1, 2, 10, balance_column => 'balance');
RESET ROLE;
ALTER TABLE p RENAME COLUMN balance TO credits;
SET ROLE tgd_alice;
SELECT * FROM transfer('p1', 1, 2, 10, balance_column => 'credits');
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p1 WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p1 SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p1 SET balance = balance + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
RESET ROLE;
ALTER TABLE p RENAME COLUMN balance TO credits;
SET ROLE tgd_alice;
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p1 WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p1 SET credits = credits - 10 WHERE id = 1 AND credits - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p1 SET credits = credits + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
