-- transfer(), as a driver sends it: under -M prepared the keys are untyped
-- parameters, which resolve to the text overload (after keys.sql)
SELECT * FROM transfer('accounts', :a, :b, 1);
