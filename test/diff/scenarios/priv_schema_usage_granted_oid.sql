-- claim: with USAGE on the schema, the OID and the name reach the same table, for both
-- role: tgd_alice
-- @setup
CREATE SCHEMA s;
CREATE TABLE s.t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO s.t VALUES (1, 100), (2, 50);
SELECT guard('s.t', 'balance');
GRANT SELECT, UPDATE ON s.t TO tgd_alice;
-- no USAGE on schema s for tgd_alice
GRANT USAGE ON SCHEMA s TO tgd_alice;
-- @ext
RESET ROLE;
SELECT 's.t'::regclass::oid AS toid \gset
SET ROLE tgd_alice;
SELECT * FROM transfer(:'toid'::oid::regclass, 1, 2, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM s.t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE s.t SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE s.t SET balance = balance + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
