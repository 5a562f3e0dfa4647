-- claim: a guarded partitioned table whose partition was attached with a dropped column (other attribute numbers than the parent): the move lands on the right columns
-- role: tgd_alice
-- @setup
CREATE TABLE p (id int PRIMARY KEY, balance numeric NOT NULL, version int NOT NULL DEFAULT 0) PARTITION BY RANGE (id);
CREATE TABLE p_old (junk text, id int NOT NULL, balance numeric NOT NULL, version int NOT NULL DEFAULT 0);
ALTER TABLE p_old DROP COLUMN junk;
ALTER TABLE p ATTACH PARTITION p_old FOR VALUES FROM (0) TO (100);
CREATE TABLE p_new PARTITION OF p FOR VALUES FROM (100) TO (200);
INSERT INTO p VALUES (1, 100, 0), (2, 50, 0), (150, 10, 0);
SELECT guard('p', 'balance', version_column => 'version');
GRANT SELECT, UPDATE ON p TO tgd_alice;
-- @ext
SELECT * FROM transfer('p', 1, 2, 30);
SELECT * FROM transfer('p', 2, 150, 60);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p SET balance = balance - 30, version = version + 1 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p SET balance = balance + 30, version = version + 1 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p WHERE id IN (2, 150) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p SET balance = balance - 60, version = version + 1 WHERE id = 2 AND balance - 60 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p SET balance = balance + 60, version = version + 1 WHERE id = 150 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
