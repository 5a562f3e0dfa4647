-- the careful PL/pgSQL function of setup.sql: rows locked in key order,
-- balance checked, two UPDATEs (after keys.sql)
SELECT * FROM bench_transfer_plpgsql(:a, :b, 1);
