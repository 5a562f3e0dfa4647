--
-- limits: floors, overdrafts, ceilings, and the ranges of each balance type.
--
CREATE TABLE l_acc (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO l_acc VALUES (1, 0), (2, 0), (3, 2147483640), (4, -2147483640);

-- a negative floor allows an overdraft down to it
SELECT guard('l_acc', 'balance', -100);
SELECT from_balance, to_balance FROM transfer('l_acc', 1, 2, 100);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_acc', 1, 2, 1)$$);
-- a NULL floor: no floor but the type's own range
SELECT guard('l_acc', 'balance', NULL);
SELECT from_balance, to_balance FROM transfer('l_acc', 1, 2, 1000);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_acc', 4, 1, 9)$$);
-- the ceiling of the type: a credit that would overflow integer
SELECT * FROM tg_try($$SELECT * FROM transfer('l_acc', 1, 3, 8)$$);
SELECT from_balance, to_balance FROM transfer('l_acc', 1, 3, 7);
-- an amount beyond integer's range for an integer column
SELECT * FROM tg_try($$SELECT * FROM transfer('l_acc', 1, 2, 2147483648)$$);
-- a ceiling
SELECT guard('l_acc', 'balance', NULL, 1200);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_acc', 1, 2, 101)$$);
SELECT from_balance, to_balance FROM transfer('l_acc', 1, 2, 100);
-- a row already above a lowered ceiling may still be debited, and a row
-- below a raised floor may still be credited
SELECT guard('l_acc', 'balance', 0, 1000);
SELECT from_balance, to_balance FROM transfer('l_acc', 2, 1, 1);
SELECT * FROM l_acc ORDER BY id;

-- smallint
CREATE TABLE l_small (id int PRIMARY KEY, balance smallint NOT NULL);
INSERT INTO l_small VALUES (1, 32767), (2, 32760);
SELECT guard('l_small', 'balance', NULL);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_small', 1, 2, 8)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_small', 1, 2, 32768)$$);
SELECT from_balance, to_balance FROM transfer('l_small', 1, 2, 7);

-- bigint at its limits
CREATE TABLE l_big (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO l_big VALUES (1, 9223372036854775807), (2, 1), (3, -9223372036854775808);
SELECT guard('l_big', 'balance', NULL);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_big', 1, 2, 9223372036854775807)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_big', 2, 1, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_big', 3, 2, 1)$$);
SELECT from_balance, to_balance FROM transfer('l_big', 1, 3, 9223372036854775807);

-- numeric(p,s): never rounded, never overflowing the precision
CREATE TABLE l_num (id int PRIMARY KEY, balance numeric(6,2) NOT NULL);
INSERT INTO l_num VALUES (1, 100.00), (2, 9999.00);
SELECT guard('l_num', 'balance');
SELECT from_balance, to_balance FROM transfer('l_num', 1, 2, 0.99);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_num', 1, 2, 0.001)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_num', 1, 2, 1.01)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_num', 1, 2, 10000)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_num', 1, 2, 0.005)$$);
SELECT * FROM l_num ORDER BY id;
SELECT * FROM tg_try($$SELECT guard('l_num', 'balance', 0.001)$$);

-- unconstrained numeric: any finite amount, exactly
CREATE TABLE l_free (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO l_free VALUES (1, 1e30), (2, 0);
SELECT guard('l_free', 'balance');
SELECT from_balance, to_balance FROM transfer('l_free', 1, 2, 0.000000000000000000000000000001);
SELECT from_balance, to_balance FROM transfer('l_free', 1, 2, 1e29);
-- a non-finite balance is refused rather than used
INSERT INTO l_free VALUES (3, 'NaN'), (4, 'Infinity');
SELECT * FROM tg_try($$SELECT * FROM transfer('l_free', 3, 2, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_free', 4, 2, 1)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('l_free', 2, 4, 1)$$);

-- a domain's own CHECK still applies
CREATE DOMAIN l_capped AS int CHECK (VALUE <= 50);
CREATE TABLE l_dom (id int PRIMARY KEY, balance l_capped NOT NULL);
INSERT INTO l_dom VALUES (1, 50), (2, 45);
SELECT guard('l_dom', 'balance');
SELECT * FROM tg_try($$SELECT * FROM transfer('l_dom', 1, 2, 10)$$);
SELECT from_balance, to_balance FROM transfer('l_dom', 1, 2, 5);

DROP TABLE l_acc, l_small, l_big, l_num, l_free, l_dom;
DROP DOMAIN l_capped;
