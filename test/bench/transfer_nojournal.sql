-- transfer() on a table guarded with journal => false (after keys.sql)
SELECT * FROM transfer('accounts_nj', :a, :b, 1);
