-- transfer() with bigint keys: the anycompatible overload (after keys.sql)
SELECT * FROM transfer('accounts', :a::bigint, :b::bigint, 1);
