-- claim: a move between two tables (to_table) is the debit of one and the credit of the other, locked in table OID order
-- role: tgd_alice
-- @setup
CREATE TABLE wallets (id int PRIMARY KEY, coins bigint NOT NULL);
CREATE TABLE shop (item text PRIMARY KEY, stock bigint NOT NULL);
INSERT INTO wallets VALUES (7, 100);
INSERT INTO shop VALUES ('apple', 10);
SELECT guard('wallets', 'coins'), guard('shop', 'stock', 0, 50);
GRANT SELECT, UPDATE ON wallets, shop TO tgd_alice;
-- @ext
SELECT * FROM transfer('wallets', '7', 'apple', 30, to_table => 'shop');
SELECT * FROM transfer('wallets', '7', 'apple', 30, to_table => 'shop');
-- @plain
BEGIN;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM wallets WHERE id = 7 FOR NO KEY UPDATE) l;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM shop WHERE item = 'apple' FOR NO KEY UPDATE) l;
WITH u AS (UPDATE wallets SET coins = coins - 30 WHERE id = 7 AND coins - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE shop SET stock = stock + 30 WHERE item = 'apple' AND stock + 30 <= 50 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
BEGIN;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM wallets WHERE id = 7 FOR NO KEY UPDATE) l;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM shop WHERE item = 'apple' FOR NO KEY UPDATE) l;
WITH u AS (UPDATE wallets SET coins = coins - 30 WHERE id = 7 AND coins - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE shop SET stock = stock + 30 WHERE item = 'apple' AND stock + 30 <= 50 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
