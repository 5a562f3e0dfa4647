-- one call of transfer(); parameters untyped under -M prepared (text overload)
\set a random(1, :n)
\set b 1 + (:a + random(0, :n - 2)) % :n
SELECT * FROM transfer('accounts', :a, :b, 1);
